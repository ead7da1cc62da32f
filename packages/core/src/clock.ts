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
      // setTimeout fires at once for delays above 2^31 - 1 ms (with a TimeoutOverflowWarning): cap them.
      const timer = setTimeout(done, Math.min(Math.max(0, ms), 2 ** 31 - 1));
      signal?.addEventListener('abort', done, { once: true });
    }),
};
