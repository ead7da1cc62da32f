/**
 * The emulator's clock: wall time plus an offset that tests can advance. Timers scheduled on it fire
 * when the clock reaches their due time, either because real time passed or because `advance()` moved it.
 */

/** A timer scheduled on the {@link EmulatorClock}. */
export interface ClockTimer {
  readonly due: number;
  cancel(): void;
}

/** Time source and scheduler shared by every emulator surface. */
export interface EmulatorClock {
  /** Milliseconds since epoch on the emulator's clock. */
  now(): number;
  /** Runs `fn` once the clock reaches `now() + delayMs`. */
  schedule(delayMs: number, fn: () => void): ClockTimer;
  /** Sleeps `ms` on the emulator clock; rejects with the signal's reason when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Moves the clock forward by `ms`, fires every timer that became due (in due order) and lets their work settle. */
  advance(ms: number): Promise<void>;
  /** How far the clock is ahead of wall time, in ms (persisted so the clock never goes back across restarts). */
  offset(): number;
  /** Cancels every pending timer. */
  close(): void;
}

interface Entry {
  due: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** Creates a clock that follows wall time plus an offset (`initialOffsetMs`, default 0). */
export function createClock(initialOffsetMs = 0): EmulatorClock {
  let offset = Math.max(0, initialOffsetMs);
  let seq = 0;
  let entries: Entry[] = [];
  let realTimer: NodeJS.Timeout | undefined;
  let closed = false;
  let last = 0;
  // Monotonic even if the wall clock steps back.
  const now = () => {
    const t = Date.now() + offset;
    if (t > last) last = t;
    return last;
  };

  const arm = () => {
    if (realTimer) clearTimeout(realTimer);
    realTimer = undefined;
    if (closed) return;
    const next = entries[0];
    if (!next) return;
    // Clamp so very long timers (timeouts of days) do not overflow setTimeout's 32-bit delay.
    const delay = Math.min(Math.max(0, next.due - now()), 2 ** 30);
    realTimer = setTimeout(fire, delay);
    realTimer.unref();
  };

  const fire = () => {
    const t = now();
    while (entries.length > 0 && (entries[0] as Entry).due <= t) {
      const entry = entries.shift() as Entry;
      if (!entry.cancelled) entry.fn();
    }
    arm();
  };

  const schedule = (delayMs: number, fn: () => void): ClockTimer => {
    const entry: Entry = { due: now() + Math.max(0, delayMs), seq: seq++, fn, cancelled: false };
    entries.push(entry);
    entries.sort((a, b) => a.due - b.due || a.seq - b.seq);
    arm();
    return {
      due: entry.due,
      cancel: () => {
        entry.cancelled = true;
        entries = entries.filter((e) => e !== entry);
      },
    };
  };

  const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

  return {
    now,
    schedule,
    sleep(ms, signal) {
      return new Promise<void>((resolve, reject) => {
        if (signal?.aborted) {
          reject(signal.reason);
          return;
        }
        const onAbort = () => {
          timer.cancel();
          reject(signal?.reason);
        };
        const timer = schedule(ms, () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        });
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
    async advance(ms) {
      if (!(ms >= 0)) throw new RangeError(`clock.advance(ms) needs a non-negative number of milliseconds, got ${ms}.`);
      const target = now() + ms;
      // Step through due timers one at a time so work they schedule (the next job state) also fires in order.
      for (;;) {
        await settle();
        const next = entries[0];
        if (!next || next.due > target) break;
        offset += Math.max(0, next.due - now());
        fire();
      }
      offset += Math.max(0, target - now());
      fire();
      await settle();
    },
    offset: () => offset,
    close() {
      closed = true;
      entries = [];
      if (realTimer) clearTimeout(realTimer);
      realTimer = undefined;
    },
  };
}
