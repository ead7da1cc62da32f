/**
 * A client-side limiter that keeps calls under a per-minute quota: a sliding one-minute window, like the quotas
 * Vertex enforces per project and region. `acquire()` waits until a call fits.
 */
import type { Clock } from '@vertex-launch/core';

/**
 * The window is a second longer than a minute: the server counts a call when it receives it, a little after we sent
 * it, so a window of exactly one minute would let the next call in just before the server's window has moved on.
 */
const WINDOW_MS = 61_000;

/** Limits calls to `perMinute` in any sliding minute. `perMinute` 0 or Infinity: unlimited. */
export class RateLimiter {
  readonly #perMinute: number;
  readonly #clock: Clock;
  /** Start times of the calls in the current window, oldest first. */
  #calls: number[] = [];
  /** Serialises waiters so they are served in order. */
  #queue: Promise<void> = Promise.resolve();

  constructor(perMinute: number, clock: Clock) {
    if (!(perMinute >= 0)) throw new RangeError(`A rate limit must be >= 0 per minute, got ${perMinute}.`);
    this.#perMinute = perMinute === 0 ? Number.POSITIVE_INFINITY : perMinute;
    this.#clock = clock;
  }

  /** The limit per minute (Infinity when unlimited). */
  get perMinute(): number {
    return this.#perMinute;
  }

  /** Resolves when one more call fits in the window, and counts it; rejects with the signal's reason when it aborts. */
  acquire(signal?: AbortSignal): Promise<void> {
    if (this.#perMinute === Number.POSITIVE_INFINITY) return Promise.resolve();
    const turn = this.#queue.then(() => this.#take(signal));
    this.#queue = turn.catch(() => undefined);
    return turn;
  }

  async #take(signal: AbortSignal | undefined): Promise<void> {
    for (;;) {
      const now = this.#clock.now();
      while (this.#calls.length > 0 && (this.#calls[0] as number) <= now - WINDOW_MS) this.#calls.shift();
      if (this.#calls.length < this.#perMinute) {
        this.#calls.push(now);
        return;
      }
      const wait = (this.#calls[0] as number) + WINDOW_MS - now;
      await this.#clock.sleep(Math.max(1, wait), signal);
      signal?.throwIfAborted();
    }
  }
}
