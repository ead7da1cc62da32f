import { describe, expect, it } from 'vitest';
import { steppingClock } from '../../../test/helpers.js';
import { seededRandom, testSeed } from '../../../test/seed.js';
import type { Clock } from './clock.js';
import { GrpcCode } from './grpc-code.js';
import { backoff, type RetryEvent, retry } from './retry.js';

const seed = testSeed();

const grpcError = (code: number) => Object.assign(new Error(`code ${code}`), { code });

describe('backoff', () => {
  it('grows the bound by the multiplier up to the cap; full jitter falls in [0, bound)', () => {
    const policy = { initialDelayMs: 100, maxDelayMs: 1_000, multiplier: 2 };
    expect([1, 2, 3, 4, 5, 6].map((n) => backoff(policy, n, () => 0.999))).toEqual([99, 199, 399, 799, 999, 999]);
    expect(backoff(policy, 3, () => 0)).toBe(0);
  });

  it('equal jitter falls in [bound / 2, bound); none is the bound; no cap grows without end', () => {
    const equal = { initialDelayMs: 1_000, multiplier: 2, jitter: 'equal' as const };
    expect([1, 2, 3].map((n) => backoff(equal, n, () => 0))).toEqual([500, 1_000, 2_000]);
    expect([1, 2, 3].map((n) => backoff(equal, n, () => 0.999))).toEqual([999, 1_999, 3_998]);
    const none = { initialDelayMs: 250, multiplier: 2, jitter: 'none' as const };
    expect([1, 2, 3, 4, 10].map((n) => backoff(none, n, () => 0.5))).toEqual([250, 500, 1_000, 2_000, 128_000]);
  });

  it(`with a seeded random every delay is inside its bound and the same seed gives the same delays (seed ${seed})`, () => {
    const policy = { initialDelayMs: 200, maxDelayMs: 5_000, multiplier: 2 };
    const draw = () => {
      const random = seededRandom(seed, 'retry.backoff');
      return Array.from({ length: 12 }, (_, i) => backoff(policy, i + 1, random));
    };
    const delays = draw();
    delays.forEach((delay, i) => {
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(Math.min(5_000, 200 * 2 ** i));
    });
    expect(draw()).toEqual(delays);
  });
});

describe('retry', () => {
  it('retries transient gRPC codes with growing delays, then succeeds', async () => {
    const clock = steppingClock();
    const events: RetryEvent[] = [];
    const result = await retry(
      async (attempt) => {
        if (attempt < 3) throw grpcError(GrpcCode.UNAVAILABLE);
        return `ok after ${attempt}`;
      },
      {
        policy: { maxAttempts: 8, initialDelayMs: 500, maxDelayMs: 30_000, multiplier: 2 },
        clock,
        random: () => 0.5,
        onFailure: (event) => events.push(event),
      },
    );
    expect(result).toBe('ok after 3');
    expect(clock.slept).toEqual([250, 500]);
    expect(events.map((e) => [e.attempt, e.delayMs])).toEqual([
      [1, 250],
      [2, 500],
    ]);
  });

  it('throws a non-retryable error at once, and the last error after maxAttempts', async () => {
    const clock = steppingClock();
    const policy = { maxAttempts: 3, initialDelayMs: 10, multiplier: 2 };
    let calls = 0;
    const denied = await retry(
      async () => {
        calls += 1;
        throw grpcError(GrpcCode.PERMISSION_DENIED);
      },
      { policy, clock },
    ).catch((e: unknown) => e as { code: number });
    expect([denied.code, calls, clock.slept]).toEqual([GrpcCode.PERMISSION_DENIED, 1, []]);

    const events: RetryEvent[] = [];
    const last = await retry(
      async (attempt) => {
        throw Object.assign(grpcError(GrpcCode.INTERNAL), { attempt });
      },
      { policy, clock, random: () => 0, onFailure: (e) => events.push(e) },
    ).catch((e: unknown) => e as { attempt: number });
    expect(last.attempt).toBe(3);
    expect(events.map((e) => e.delayMs)).toEqual([0, 0, undefined]);
  });

  it('takes its own retryable predicate, and stops with the signal: the reason of an abort during a delay', async () => {
    const controller = new AbortController();
    const clock: Clock = {
      now: () => 0,
      sleep: async () => controller.abort(new Error('stopped while waiting')),
    };
    const error = await retry(
      async () => {
        throw new Error('busy');
      },
      {
        policy: { maxAttempts: 5, initialDelayMs: 10, multiplier: 2 },
        retryable: (e) => (e as Error).message === 'busy',
        clock,
        signal: controller.signal,
      },
    ).catch((e: unknown) => e as Error);
    expect(error.message).toBe('stopped while waiting');

    let calls = 0;
    const aborted = await retry(
      async () => {
        calls += 1;
        throw grpcError(GrpcCode.UNAVAILABLE);
      },
      { policy: { maxAttempts: 5, initialDelayMs: 10, multiplier: 2 }, signal: controller.signal },
    ).catch((e: unknown) => e as { code: number });
    expect([aborted.code, calls]).toEqual([GrpcCode.UNAVAILABLE, 1]);
  });

  it('by default retries UNAVAILABLE, RESOURCE_EXHAUSTED, INTERNAL and DEADLINE_EXCEEDED; never INVALID_ARGUMENT or PERMISSION_DENIED', async () => {
    const policy = { maxAttempts: 8, initialDelayMs: 500, maxDelayMs: 30_000, multiplier: 2 };
    const { UNAVAILABLE, RESOURCE_EXHAUSTED, INTERNAL, DEADLINE_EXCEEDED, INVALID_ARGUMENT, PERMISSION_DENIED } =
      GrpcCode;
    for (const code of [UNAVAILABLE, RESOURCE_EXHAUSTED, INTERNAL, DEADLINE_EXCEEDED]) {
      let calls = 0;
      const result = await retry(
        async () => {
          calls += 1;
          if (calls < 3) throw grpcError(code);
          return 'ok';
        },
        { policy, clock: steppingClock() },
      );
      expect([code, result, calls]).toEqual([code, 'ok', 3]);
    }
    for (const code of [INVALID_ARGUMENT, PERMISSION_DENIED]) {
      let calls = 0;
      const error = await retry(
        async () => {
          calls += 1;
          throw grpcError(code);
        },
        { policy, clock: steppingClock() },
      ).catch((e: { code: number }) => e);
      expect([error.code, calls]).toEqual([code, 1]);
    }
  });
});
