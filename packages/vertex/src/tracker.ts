/**
 * One tracker for every watched job of a project and region. Each cycle costs a handful of calls however many jobs
 * are tracked: one paginated `ListCustomJobs` (pages of 1000) of our unfinished jobs (`labels.vertex-launch-run-id:*`,
 * created since the oldest tracked job, not in a final state); tracked jobs missing from it have ended and are read
 * back with one more list — by their launch-id labels when a few ended, or everything we launched since the oldest of
 * them when many did. Only jobs without our labels are read one by one. Other unfinished jobs with a tracked job's
 * launch id (duplicates) are reported to its watchers (`onDuplicate`), each once. The
 * interval adapts: short after a change, growing while nothing changes (core's `backoff()`, no jitter), within bounds.
 */
import {
  backoff,
  type Clock,
  GrpcCode,
  grpcCodeOf,
  isTransientGrpcError,
  type JobSnapshot,
  type JobWatchListener,
  LAUNCH_ID_LABEL,
  RUN_ID_LABEL,
  systemClock,
} from '@vertex-launch/core';
import type { KnownSnapshot } from './job.js';

/** Final Vertex states, excluded from the list of unfinished jobs. */
export const FINAL_STATES = [
  'JOB_STATE_SUCCEEDED',
  'JOB_STATE_FAILED',
  'JOB_STATE_CANCELLED',
  'JOB_STATE_EXPIRED',
  'JOB_STATE_PARTIALLY_SUCCEEDED',
] as const;

/** How often the tracker polls. */
export interface TrackerOptions {
  /** Interval after a change (and for new jobs), ms. Default 2 000. */
  minIntervalMs: number;
  /** Longest interval while nothing changes, ms. Default 30 000. */
  maxIntervalMs: number;
  /** Growth of the interval per quiet cycle. Default 1.5. */
  backoffFactor: number;
  /** Launch ids per lookup list of ended jobs. Default 50. */
  launchIdsPerCall: number;
  /** Cycles in a row that may fail (after the call's own retries) before watchers get the error. Default 3. */
  maxFailedCycles: number;
}

/** The default {@link TrackerOptions}. */
export const DEFAULT_TRACKER_OPTIONS: Readonly<TrackerOptions> = {
  minIntervalMs: 2_000,
  maxIntervalMs: 30_000,
  backoffFactor: 1.5,
  launchIdsPerCall: 50,
  maxFailedCycles: 3,
};

/** The calls the tracker makes (the runner's, with retries and quota limits). */
export interface TrackerBackend {
  /**
   * Every job matching `filter` (all pages) and how many calls that took. `known` gives the snapshot the tracker
   * holds for a job whose state and update time have not changed: the backend returns it instead of a new one.
   */
  list(filter: string, known?: KnownSnapshot): Promise<{ jobs: JobSnapshot[]; calls: number }>;
  get(name: string): Promise<JobSnapshot>;
}

/** What one cycle did. */
export interface TrackerCycle {
  /** 1-based cycle number. */
  cycle: number;
  /** Jobs tracked when the cycle started. */
  tracked: number;
  listCalls: number;
  getCalls: number;
  /** Jobs whose state changed. */
  changes: number;
  /** The delay before the next cycle, ms (undefined when nothing is tracked any more). */
  nextIntervalMs: number | undefined;
}

interface Entry {
  id: string;
  name: string;
  last: JobSnapshot | undefined;
  listeners: Set<JobWatchListener>;
  /** Ids of other unfinished jobs with this job's launch id, already reported. */
  duplicates?: Set<string>;
}

const sameTime = (a: Date | undefined, b: Date | undefined) => a?.getTime() === b?.getTime();

const quote = (value: string) => `"${value.replace(/["\\]/g, '\\$&')}"`;

/** Polls many jobs with batched list calls and tells watchers about state changes. */
export class JobTracker {
  readonly #backend: TrackerBackend;
  readonly #options: TrackerOptions;
  readonly #onCycle: ((cycle: TrackerCycle) => void) | undefined;
  readonly #clock: Clock;
  readonly #entries = new Map<string, Entry>();
  /** The snapshot held for a tracked job whose state and update time a list answer repeats. */
  readonly #known: KnownSnapshot = (name, state, updateTimeMs) => {
    const last = this.#entries.get(name.slice(name.lastIndexOf('/') + 1))?.last;
    return last !== undefined &&
      last.name === name &&
      last.state === state &&
      last.updateTime?.getTime() === updateTimeMs
      ? last
      : undefined;
  };
  /** Cycles in a row that saw no change: the interval grows with them. */
  #quietCycles = 0;
  /** Ends the sleep before the next cycle (a sooner one is due, or the tracker closed). */
  #timer: AbortController | undefined;
  #due = 0;
  #running = false;
  #cycles = 0;
  #failedCycles = 0;
  #closed = false;

  constructor(
    backend: TrackerBackend,
    options: Partial<TrackerOptions> = {},
    onCycle?: (cycle: TrackerCycle) => void,
    clock: Clock = systemClock,
  ) {
    this.#backend = backend;
    this.#options = { ...DEFAULT_TRACKER_OPTIONS, ...options };
    this.#onCycle = onCycle;
    this.#clock = clock;
  }

  /** The interval after the current run of quiet cycles. */
  #interval(): number {
    const { minIntervalMs, maxIntervalMs, backoffFactor } = this.#options;
    const policy = { initialDelayMs: minIntervalMs, maxDelayMs: maxIntervalMs, multiplier: backoffFactor };
    return backoff({ ...policy, jitter: 'none' }, this.#quietCycles + 1);
  }

  /** How many jobs are tracked. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Watch `name` (a full job name). With `initial`, that snapshot is the starting point (a terminal one is reported
   * at once); without it, the listener hears the job's current snapshot first. Returns a function that stops watching.
   */
  track(name: string, listener: JobWatchListener, initial?: JobSnapshot): () => void {
    if (this.#closed) throw new Error('[vertex-launch] [runner:vertex] The tracker is closed.');
    const id = name.slice(name.lastIndexOf('/') + 1);
    if (initial?.terminal) {
      queueMicrotask(() => safe(() => listener.onChange(initial, undefined)));
      return () => {};
    }
    let entry = this.#entries.get(id);
    if (!entry) {
      entry = { id, name, last: initial, listeners: new Set() };
      this.#entries.set(id, entry);
    } else if (initial && newer(initial, entry.last)) {
      // Someone read a newer state than the tracker had (a get() before watching): the watchers already here hear
      // it too, so none of them misses a state (e.g. RUNNING between PENDING and FAILED).
      const before = entry.last;
      entry.last = initial;
      for (const other of entry.listeners) queueMicrotask(() => safe(() => other.onChange(initial, before)));
    }
    entry.listeners.add(listener);
    const known = entry.last;
    if (known && !initial) queueMicrotask(() => safe(() => listener.onChange(known, undefined)));
    this.#quietCycles = 0;
    this.#schedule(this.#options.minIntervalMs);
    const tracked = entry;
    return () => {
      tracked.listeners.delete(listener);
      if (tracked.listeners.size === 0 && this.#entries.get(tracked.id) === tracked) this.#entries.delete(tracked.id);
      if (this.#entries.size === 0) this.#clearTimer();
    };
  }

  /** Stops every timer; watchers hear nothing more. */
  close(): void {
    this.#closed = true;
    this.#clearTimer();
    this.#entries.clear();
  }

  #clearTimer(): void {
    this.#timer?.abort();
    this.#timer = undefined;
  }

  /** Schedules the next cycle in `delayMs` unless one is due sooner (or running). */
  #schedule(delayMs: number): void {
    if (this.#closed || this.#running || this.#entries.size === 0) return;
    const due = this.#clock.now() + delayMs;
    if (this.#timer && this.#due <= due) return;
    this.#clearTimer();
    this.#due = due;
    const timer = new AbortController();
    this.#timer = timer;
    void this.#clock.sleep(delayMs, timer.signal).then(() => {
      if (timer.signal.aborted) return;
      this.#timer = undefined;
      void this.#runCycle();
    });
  }

  async #runCycle(): Promise<void> {
    this.#running = true;
    const stats = { listCalls: 0, getCalls: 0, changes: 0, tracked: this.#entries.size };
    try {
      await this.#cycle(stats);
      this.#failedCycles = 0;
    } catch (error) {
      this.#failedCycles += 1;
      if (this.#failedCycles >= this.#options.maxFailedCycles || !isTransientGrpcError(error)) {
        this.#failedCycles = 0;
        for (const entry of [...this.#entries.values()]) this.#fail(entry, error);
      }
    } finally {
      this.#running = false;
    }
    this.#cycles += 1;
    this.#quietCycles = stats.changes > 0 ? 0 : this.#quietCycles + 1;
    const next = this.#entries.size > 0 && !this.#closed ? this.#interval() : undefined;
    safe(() => this.#onCycle?.({ cycle: this.#cycles, ...stats, nextIntervalMs: next }));
    if (next !== undefined) this.#schedule(next);
  }

  async #cycle(stats: { listCalls: number; getCalls: number; changes: number }): Promise<void> {
    const entries = [...this.#entries.values()];
    const labelled = entries.filter((e) => e.last?.labels[RUN_ID_LABEL] !== undefined && e.last.createTime);
    const isLabelled = new Set(labelled);
    const others = entries.filter((e) => !isLabelled.has(e));
    const seen = new Map<string, JobSnapshot>();

    if (labelled.length > 0) {
      const oldest = Math.min(...labelled.map((e) => createdAt(e)));
      // One second of slack: create_time is compared at full precision, our copy at milliseconds.
      const since = new Date(oldest - 1_000).toISOString();
      const unfinished = await this.#backend.list(
        [
          `labels.${RUN_ID_LABEL}:*`,
          `create_time>=${quote(since)}`,
          ...FINAL_STATES.map((s) => `state!=${quote(s)}`),
        ].join(' AND '),
        this.#known,
      );
      stats.listCalls += unfinished.calls;
      for (const job of unfinished.jobs) seen.set(job.id, job);
      this.#reportDuplicates(labelled, unfinished.jobs);
      const ended = labelled.filter((e) => !seen.has(e.id));
      const byLaunchId = ended.filter((e) => e.last?.labels[LAUNCH_ID_LABEL]);
      if (byLaunchId.length > this.#options.launchIdsPerCall) {
        // Many ended at once: one list of everything we launched since the oldest of them (pages of 1000) is
        // cheaper than a lookup per 50 launch ids.
        const from = Math.min(...byLaunchId.map((e) => createdAt(e)));
        const window = await this.#backend.list(
          `labels.${RUN_ID_LABEL}:* AND create_time>=${quote(new Date(from - 1_000).toISOString())}`,
          this.#known,
        );
        stats.listCalls += window.calls;
        for (const job of window.jobs) seen.set(job.id, job);
        byLaunchId.length = 0;
      }
      for (let i = 0; i < byLaunchId.length; i += this.#options.launchIdsPerCall) {
        const chunk = byLaunchId.slice(i, i + this.#options.launchIdsPerCall);
        const ids = [...new Set(chunk.map((e) => e.last?.labels[LAUNCH_ID_LABEL] as string))];
        const found = await this.#backend.list(
          ids.map((id) => `labels.${LAUNCH_ID_LABEL}=${quote(id)}`).join(' OR '),
          this.#known,
        );
        stats.listCalls += found.calls;
        for (const job of found.jobs) seen.set(job.id, job);
      }
      others.push(...ended.filter((e) => !seen.has(e.id)));
    }

    for (const entry of others) {
      stats.getCalls += 1;
      try {
        seen.set(entry.id, await this.#backend.get(entry.name));
      } catch (error) {
        if (isTransientGrpcError(error)) throw error;
        // NOT_FOUND (deleted), PERMISSION_DENIED, ...: this job cannot be tracked.
        this.#fail(entry, error);
      }
    }

    for (const [id, job] of seen) {
      const entry = this.#entries.get(id);
      if (!entry) continue;
      const previous = entry.last;
      // An unchanged job keeps the snapshot it has: the new one dies young instead of 1,000 of them a cycle living
      // until the next (promoted to the old generation, then garbage there).
      if (previous !== undefined && previous.state === job.state && sameTime(previous.updateTime, job.updateTime)) {
        continue;
      }
      entry.last = job;
      if (previous?.state === job.state && previous !== undefined) continue;
      stats.changes += 1;
      for (const listener of [...entry.listeners]) safe(() => listener.onChange(job, previous));
      if (job.terminal) this.#entries.delete(id);
    }
  }

  /** Tells the watchers of each tracked job about other unfinished jobs with its launch id (once per job). */
  #reportDuplicates(entries: Entry[], unfinished: JobSnapshot[]): void {
    const byLaunchId = new Map<string, JobSnapshot[]>();
    for (const job of unfinished) {
      const launchId = job.labels[LAUNCH_ID_LABEL];
      if (launchId) byLaunchId.set(launchId, [...(byLaunchId.get(launchId) ?? []), job]);
    }
    for (const entry of entries) {
      const launchId = entry.last?.labels[LAUNCH_ID_LABEL];
      const others = (launchId ? (byLaunchId.get(launchId) ?? []) : []).filter(
        (job) => job.id !== entry.id && !entry.duplicates?.has(job.id),
      );
      if (others.length === 0 || !entry.last) continue;
      entry.duplicates ??= new Set();
      for (const job of others) entry.duplicates.add(job.id);
      const tracked = entry.last;
      for (const listener of [...entry.listeners]) safe(() => listener.onDuplicate?.(others, tracked));
    }
  }

  #fail(entry: Entry, error: unknown): void {
    this.#entries.delete(entry.id);
    for (const listener of [...entry.listeners]) safe(() => listener.onError(error));
  }
}

/** When the entry's job was created (ms); only called for entries whose snapshot has a create time. */
function createdAt(entry: Entry): number {
  return entry.last?.createTime?.getTime() ?? 0;
}

/** True when `a` is a later snapshot than `b`. */
function newer(a: JobSnapshot, b: JobSnapshot | undefined): boolean {
  if (!b) return true;
  return (a.updateTime?.getTime() ?? 0) >= (b.updateTime?.getTime() ?? 0);
}

function safe(fn: () => void): void {
  try {
    fn();
  } catch {
    // A listener's failure must not stop the tracker or the other listeners.
  }
}

/** True when `error` says the job does not exist. */
export function isNotFound(error: unknown): boolean {
  return grpcCodeOf(error) === GrpcCode.NOT_FOUND;
}
