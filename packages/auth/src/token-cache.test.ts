import { describe, expect, test } from 'vitest';
import { type FetchedToken, TokenCache } from './token-cache.js';

function fakeClock(start = 1_700_000_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

/** A source that mints `tok-N` valid for `lifetimeMs` on the fake clock, counting calls. */
function source(clock: { now(): number }, lifetimeMs = 3_600_000) {
  let n = 0;
  const fetches: number[] = [];
  const fetch = async (): Promise<FetchedToken> => {
    n += 1;
    fetches.push(clock.now());
    await new Promise((r) => setTimeout(r, 5));
    return { token: `tok-${n}`, expiresAt: clock.now() + lifetimeMs };
  };
  return { fetch, fetches };
}

describe('TokenCache', () => {
  test('serves the cached token until 5 minutes before expiry, then refreshes', async () => {
    const clock = fakeClock();
    const src = source(clock);
    const cache = new TokenCache({ fetch: src.fetch, now: clock.now });
    expect((await cache.get()).token).toBe('tok-1');
    clock.advance(54 * 60_000);
    expect((await cache.get()).token).toBe('tok-1');
    clock.advance(60_001); // 55 min + 1 ms: inside the 5-minute margin
    expect((await cache.get()).token).toBe('tok-2');
    expect(cache.refreshCount).toBe(2);
  });

  test('concurrent callers share one refresh', async () => {
    const clock = fakeClock();
    const src = source(clock);
    const cache = new TokenCache({ fetch: src.fetch, now: clock.now });
    const tokens = await Promise.all(Array.from({ length: 25 }, () => cache.get()));
    expect(new Set(tokens.map((t) => t.token))).toEqual(new Set(['tok-1']));
    clock.advance(3_600_000);
    const again = await Promise.all(Array.from({ length: 25 }, () => cache.get()));
    expect(new Set(again.map((t) => t.token))).toEqual(new Set(['tok-2']));
    expect(src.fetches).toHaveLength(2);
  });

  test('an agent running for a week never receives an expired token', async () => {
    const clock = fakeClock();
    const src = source(clock);
    const cache = new TokenCache({ fetch: src.fetch, now: clock.now });
    for (let minute = 0; minute < 7 * 24 * 60; minute += 7) {
      const { expiresAt } = await cache.get();
      expect(expiresAt! - clock.now()).toBeGreaterThan(4 * 60_000);
      clock.advance(7 * 60_000);
    }
    // one token per ~55 minutes
    expect(cache.refreshCount).toBeGreaterThan(170);
    expect(cache.refreshCount).toBeLessThan(200);
  });

  test('short-lived tokens refresh at three quarters of their lifetime', async () => {
    const clock = fakeClock();
    const src = source(clock, 4_000);
    const cache = new TokenCache({ fetch: src.fetch, now: clock.now });
    await cache.get();
    clock.advance(2_999);
    expect((await cache.get()).token).toBe('tok-1');
    clock.advance(2);
    expect((await cache.get()).token).toBe('tok-2');
  });

  test('a failed refresh falls back to the still-valid token, and fails once it is about to expire', async () => {
    const clock = fakeClock();
    let fail = false;
    let n = 0;
    const cache = new TokenCache({
      now: clock.now,
      fetch: async () => {
        if (fail) throw new Error('token endpoint down');
        n += 1;
        return { token: `tok-${n}`, expiresAt: clock.now() + 3_600_000 };
      },
    });
    await cache.get();
    fail = true;
    clock.advance(57 * 60_000); // due for refresh, 3 minutes left
    expect((await cache.get()).token).toBe('tok-1');
    clock.advance(3 * 60_000 - 5_000); // 5 s left: below the 10 s minimum
    await expect(cache.get()).rejects.toThrow('token endpoint down');
    fail = false;
    expect((await cache.get()).token).toBe('tok-2');
  });

  test('tokens without an expiry are kept until invalidated', async () => {
    let n = 0;
    const cache = new TokenCache({ fetch: async () => ({ token: `raw-${++n}`, expiresAt: undefined }) });
    expect((await cache.get()).token).toBe('raw-1');
    expect((await cache.get()).token).toBe('raw-1');
    cache.invalidate();
    expect((await cache.get()).token).toBe('raw-2');
    expect(cache.expiresAt).toBeUndefined();
  });

  test('a failed first fetch rejects every waiter and the next call retries', async () => {
    let calls = 0;
    const cache = new TokenCache({
      fetch: async () => {
        calls += 1;
        if (calls === 1) throw new Error('boom');
        return { token: 'ok', expiresAt: Date.now() + 3_600_000 };
      },
    });
    const results = await Promise.allSettled([cache.get(), cache.get(), cache.get()]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(calls).toBe(1);
    expect((await cache.get()).token).toBe('ok');
  });
});
