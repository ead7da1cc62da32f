/**
 * The one retry loop and backoff of Vertex Launch: the Vertex runner, the Artifact Registry client, the Cloud Build
 * builder and the agent's queue-store writes all retry through {@link retry}. Delays grow exponentially under a cap,
 * with jitter drawn from an injectable `random` (tests pass a seeded one) so that many clients failing at once do not
 * come back at once (the "full jitter" of https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/).
 */
import { type Clock, systemClock } from './clock.js';
import { isTransientGrpcError } from './grpc-code.js';

/** How the delay between attempts grows. */
export interface BackoffPolicy {
  /** Bound of the delay before the first retry, ms. */
  initialDelayMs: number;
  /** Largest bound, ms. Default: no cap. */
  maxDelayMs?: number;
  /** Growth of the bound per retry (1: a constant delay). */
  multiplier: number;
  /**
   * Where the delay falls under its bound: `full` anywhere in [0, bound), `equal` in [bound / 2, bound), `none` the
   * bound itself. Default `full`.
   */
  jitter?: 'full' | 'equal' | 'none';
}

/** A {@link BackoffPolicy} and how many attempts there are in all. */
export interface RetryPolicy extends BackoffPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
}

/**
 * The delay before retry number `retry` (1 = the first retry), ms: `initialDelayMs * multiplier^(retry - 1)`, capped
 * at `maxDelayMs`, then jittered with `random` (a number in [0, 1); default `Math.random`).
 */
export function backoff(policy: BackoffPolicy, retry: number, random: () => number = Math.random): number {
  const bound = Math.min(
    policy.maxDelayMs ?? Number.POSITIVE_INFINITY,
    policy.initialDelayMs * policy.multiplier ** Math.max(0, retry - 1),
  );
  switch (policy.jitter ?? 'full') {
    case 'none':
      return Math.floor(bound);
    case 'equal':
      return Math.floor(bound / 2 + (random() * bound) / 2);
    default:
      return Math.floor(random() * bound);
  }
}

/** What {@link retry} tells its observer about each failed attempt. */
export interface RetryEvent {
  /** 1-based number of the attempt that failed. */
  attempt: number;
  error: unknown;
  /** The delay before the next attempt; undefined when no attempt follows (the error is thrown). */
  delayMs: number | undefined;
}

/** Options of {@link retry}. */
export interface RetryOptions {
  /** How many attempts, and the delays between them. */
  policy: RetryPolicy;
  /** Whether a failure is worth another attempt. Default: a transient gRPC code (`isTransientGrpcError`). */
  retryable?: (error: unknown, attempt: number) => boolean;
  /** Sleeps between attempts. Default: the system clock. */
  clock?: Clock;
  /** Jitter source, numbers in [0, 1). Default `Math.random`; tests pass a seeded one. */
  random?: () => number;
  /** Stops retrying: no attempt starts once it has aborted (an abort during a delay throws the signal's reason). */
  signal?: AbortSignal | undefined;
  /** Runs after every failed attempt, before the delay. */
  onFailure?: (event: RetryEvent) => void;
}

/**
 * Runs `call` until it succeeds, fails with an error that is not `retryable`, or `policy.maxAttempts` attempts
 * failed; the last error is thrown. `call` receives the attempt number (1-based), so it can do something else on a
 * retry (look up what an ambiguous first attempt may have made).
 *
 * @example
 * const tag = await retry(() => client.getTag({ name }), { policy: { maxAttempts: 5, initialDelayMs: 200, multiplier: 2 } });
 */
export async function retry<T>(call: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const { policy, signal } = options;
  const retryable = options.retryable ?? isTransientGrpcError;
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call(attempt);
    } catch (error) {
      const last = attempt >= policy.maxAttempts || signal?.aborted === true || !retryable(error, attempt);
      const delayMs = last ? undefined : backoff(policy, attempt, random);
      options.onFailure?.({ attempt, error, delayMs });
      if (delayMs === undefined) throw error;
      await clock.sleep(delayMs, signal);
      signal?.throwIfAborted();
    }
  }
}
