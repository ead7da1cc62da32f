import { describe, expect, it } from 'vitest';
import { RateLimiter } from './limiter.js';
import { backoffDelay, DEFAULT_RETRY_POLICY, type Timing, withRetry } from './retry.js';

/** A clock that only moves when something sleeps on it. */
function fakeTiming(): Timing & { slept: number[] } {
  let now = 0;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
    random: () => 0.5,
  };
}

describe('RateLimiter', () => {
  it('lets `perMinute` calls through, then waits for the window to move', async () => {
    const timing = fakeTiming();
    const limiter = new RateLimiter(3, timing);
    const starts: number[] = [];
    for (let i = 0; i < 7; i++) {
      await limiter.acquire();
      starts.push(timing.now());
    }
    expect(starts).toEqual([0, 0, 0, 61_000, 61_000, 61_000, 122_000]);
  });

  it('serves concurrent callers in order, and 0 means unlimited', async () => {
    const timing = fakeTiming();
    const limiter = new RateLimiter(2, timing);
    const order: number[] = [];
    await Promise.all([0, 1, 2, 3].map((i) => limiter.acquire().then(() => order.push(i))));
    expect(order).toEqual([0, 1, 2, 3]);
    const free = new RateLimiter(0, timing);
    await Promise.all(Array.from({ length: 1000 }, () => free.acquire()));
    expect(free.perMinute).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('retries', () => {
  it('backs off exponentially with jitter under a cap', () => {
    const policy = { ...DEFAULT_RETRY_POLICY, initialDelayMs: 100, maxDelayMs: 1_000 };
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(policy, n, () => 0.999))).toEqual([99, 199, 399, 799, 999, 999]);
    expect(backoffDelay(policy, 3, () => 0)).toBe(0);
  });

  it('retries UNAVAILABLE, RESOURCE_EXHAUSTED, INTERNAL and DEADLINE_EXCEEDED; never INVALID_ARGUMENT or PERMISSION_DENIED', async () => {
    for (const code of [14, 8, 13, 4]) {
      let calls = 0;
      const result = await withRetry(
        async () => {
          calls += 1;
          if (calls < 3) throw Object.assign(new Error('transient'), { code });
          return 'ok';
        },
        { policy: DEFAULT_RETRY_POLICY, timing: fakeTiming() },
      );
      expect([code, result, calls]).toEqual([code, 'ok', 3]);
    }
    for (const code of [3, 7]) {
      let calls = 0;
      const error = await withRetry(
        async () => {
          calls += 1;
          throw Object.assign(new Error('refused'), { code });
        },
        { policy: DEFAULT_RETRY_POLICY, timing: fakeTiming() },
      ).catch((e: { code: number }) => e);
      expect([error.code, calls]).toEqual([code, 1]);
    }
  });
});
