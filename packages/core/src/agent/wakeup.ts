import type { Clock } from '../clock.js';

/** Wakes one or many waiters early; a wake with nobody waiting makes the next wait return at once. */
export class Wakeup {
  #waiters = new Set<AbortController>();
  #pending = false;
  constructor(private readonly clock: Clock) {}

  wake(): void {
    if (this.#waiters.size === 0) this.#pending = true;
    for (const waiter of this.#waiters) waiter.abort();
    this.#waiters.clear();
  }

  /** Resolves after `ms`, or at the next `wake()` (at once when one came while nobody waited). */
  async wait(ms: number): Promise<void> {
    if (this.#pending) {
      this.#pending = false;
      return;
    }
    const waiter = new AbortController();
    this.#waiters.add(waiter);
    await this.clock.sleep(ms, waiter.signal);
    this.#waiters.delete(waiter);
  }
}
