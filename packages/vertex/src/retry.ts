/**
 * Our retries (gax's are switched off so every attempt is ours and counted): exponential backoff with full jitter
 * on UNAVAILABLE, RESOURCE_EXHAUSTED, INTERNAL and DEADLINE_EXCEEDED; anything else surfaces at once.
 */
import { isRetryable } from './errors.js';

/** How failed calls are retried. */
export interface RetryPolicy {
  /** Attempts in all, the first included. Default 8. */
  maxAttempts: number;
  /** Upper bound of the first delay, ms. Default 500. */
  initialDelayMs: number;
  /** Largest delay, ms. Default 30 000. */
  maxDelayMs: number;
  /** Growth of the delay bound per attempt. Default 2. */
  multiplier: number;
}

/** The default {@link RetryPolicy}. */
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = {
  maxAttempts: 8,
  initialDelayMs: 500,
  maxDelayMs: 30_000,
  multiplier: 2,
};

/** Time and randomness, injectable so tests run without real sleeps. */
export interface Timing {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms` (rejects with the signal's reason when it aborts). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** A number in [0, 1). */
  random(): number;
}

/** Real time. */
export const realTiming: Timing = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
  random: () => Math.random(),
};

/** The delay before retry number `retry` (1 = the first retry): full jitter under an exponential bound. */
export function backoffDelay(policy: RetryPolicy, retry: number, random: () => number): number {
  const bound = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.multiplier ** (retry - 1));
  return Math.floor(random() * bound);
}

/** What {@link withRetry} tells its observer about each failed attempt. */
export interface RetryEvent {
  attempt: number;
  error: unknown;
  /** The delay before the next attempt; undefined when no attempt follows. */
  delayMs: number | undefined;
}

/**
 * Runs `call` until it succeeds, fails with a non-retryable error, or `policy.maxAttempts` attempts failed (the last
 * error is thrown). `call` receives the attempt number (1-based). `onFailure` runs after every failed attempt.
 */
export async function withRetry<T>(
  call: (attempt: number) => Promise<T>,
  options: {
    policy: RetryPolicy;
    timing: Timing;
    signal?: AbortSignal | undefined;
    onFailure?: (event: RetryEvent) => void;
  },
): Promise<T> {
  const { policy, timing } = options;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call(attempt);
    } catch (error) {
      const last = attempt >= policy.maxAttempts || !isRetryable(error) || options.signal?.aborted === true;
      const delayMs = last ? undefined : backoffDelay(policy, attempt, timing.random);
      options.onFailure?.({ attempt, error, delayMs });
      if (delayMs === undefined) throw error;
      await timing.sleep(delayMs, options.signal);
    }
  }
}
