/**
 * Time for everything that waits: the agent's polls and leases, the retries of every client, the rate limiter and
 * the job tracker. Injected so tests drive timeouts without waiting.
 */

/**
 * What waiting code needs of a clock. `sleep` has one abort behaviour everywhere: it resolves early when the signal
 * aborts and never rejects, so a sleep doubles as a wait that can be woken; whoever sleeps decides what an abort
 * means (the agent wakes up, `retry()` throws the signal's reason).
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Resolves after `ms` milliseconds, or as soon as `signal` aborts (at once when it already has); never rejects. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The longest delay `setTimeout` honours: 2^31 - 1 ms (about 24.8 days); longer ones fire at once with a warning. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A delay `setTimeout` honours: `ms` clamped to 0..{@link MAX_TIMER_MS}; NaN is 0. Every timer the code sets goes
 * through it, so a huge duration from a config never becomes a TimeoutOverflowWarning and a timer that fires at once.
 */
export function timerDelay(ms: number): number {
  if (Number.isNaN(ms)) return 0;
  return Math.min(Math.max(0, ms), MAX_TIMER_MS);
}

/** The real clock: `Date.now` and `setTimeout`. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) {
        resolve();
        return;
      }
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, timerDelay(ms));
      signal?.addEventListener('abort', done, { once: true });
    }),
};
