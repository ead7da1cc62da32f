/**
 * Following the logs of many jobs with one Cloud Logging query per poll. Cloud Logging allows about 60 `entries:list`
 * reads per minute per project; a follower per job reading every 2 s would use that up with two jobs. A feed per
 * project polls once per interval for every job followed through it: the filter is one clause per job,
 * `(resource.labels.job_id="<id>" AND timestamp>="<that job's cursor minus the lag window>")`, OR-ed, at most
 * {@link LogFeedOptions.jobsPerQuery} jobs per query (the filter stays far below Logging's 20,000 characters), and each
 * entry goes to the follower of its `resource.labels.job_id`. Each follower keeps its own cursor and drops entries it
 * already yielded (by insertId), as a single follower does; a job's entries come in timestamp order.
 */
import type { Clock, JobLogEntry } from '@vertex-launch/core';
import { type RestLogEntry, toJobLogEntry } from './logs.js';

/** What a feed needs. */
export interface LogFeedOptions {
  /** One page of `entries:list` (with the caller's retries and rate limit). */
  fetchPage(body: Record<string, unknown>): Promise<{ entries: RestLogEntry[]; nextPageToken: string | undefined }>;
  /** `projects/<project id>`. */
  resourceName: string;
  /** Pause between polls, ms. */
  pollIntervalMs: number;
  /** Re-read this far back for entries ingested late, ms. */
  lagMs: number;
  clock: Clock;
  /** Jobs per query (a poll with more makes one query per this many). Default 50. */
  jobsPerQuery?: number;
}

/** One job followed through a feed. */
export interface FollowOptions {
  /** The numeric CustomJob id. */
  jobId: string;
  since: Date | undefined;
  signal: AbortSignal | undefined;
  /** True once the job has ended; the poll after the first true is the job's last read. */
  isDone(): boolean | Promise<boolean>;
}

interface Follower {
  readonly jobId: string;
  readonly sinceMs: number | undefined;
  cursorMs: number | undefined;
  /** insertId -> timestamp (ms) of entries yielded inside the re-read window. */
  readonly yielded: Map<string, number>;
  readonly queue: JobLogEntry[];
  ended: boolean;
  error: unknown;
  wake: (() => void) | undefined;
}

/** A feed of one project's job logs, polled while anyone follows. */
export class LogFeed {
  readonly #options: LogFeedOptions;
  readonly #followers = new Set<Follower>();
  #dones = new Map<Follower, FollowOptions['isDone']>();
  #polling: Promise<void> | undefined;
  /** Ends the current pause early: a new follower gets its first read at once. */
  #pause: AbortController | undefined;
  /** Queries made (for tests and benchmarks). */
  queries = 0;

  constructor(options: LogFeedOptions) {
    this.#options = options;
  }

  /** Jobs followed now. */
  get size(): number {
    return this.#followers.size;
  }

  /** The entries of one job, oldest first, until the job has ended and its last entries were read. */
  async *follow(options: FollowOptions): AsyncGenerator<JobLogEntry> {
    const follower: Follower = {
      jobId: options.jobId,
      sinceMs: options.since?.getTime(),
      cursorMs: undefined,
      yielded: new Map(),
      queue: [],
      ended: false,
      error: undefined,
      wake: undefined,
    };
    this.#followers.add(follower);
    this.#dones.set(follower, options.isDone);
    this.#pause?.abort();
    this.#polling ??= this.#poll().finally(() => {
      this.#polling = undefined;
    });
    const onAbort = () => follower.wake?.();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        while (follower.queue.length > 0) {
          if (options.signal?.aborted) return;
          yield follower.queue.shift() as JobLogEntry;
        }
        if (options.signal?.aborted) return;
        if (follower.error !== undefined) throw follower.error;
        if (follower.ended) return;
        await new Promise<void>((resolve) => {
          follower.wake = resolve;
        });
        follower.wake = undefined;
      }
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      this.#followers.delete(follower);
      this.#dones.delete(follower);
    }
  }

  async #poll(): Promise<void> {
    const { clock, pollIntervalMs } = this.#options;
    // Followers that start together (a dashboard opening, an agent resuming) share the first query too.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.#followers.size > 0) {
      const active = [...this.#followers].filter((f) => !f.ended && f.error === undefined);
      // A job found ended before this read: this read is its last.
      const last = new Set<Follower>();
      await Promise.all(
        active.map(async (follower) => {
          try {
            if (await (this.#dones.get(follower) ?? (() => true))()) last.add(follower);
          } catch (error) {
            follower.error = error;
          }
        }),
      );
      const reading = active.filter((f) => f.error === undefined);
      const size = this.#options.jobsPerQuery ?? 50;
      for (let i = 0; i < reading.length; i += size) await this.#read(reading.slice(i, i + size));
      for (const follower of reading) {
        if (last.has(follower) && follower.error === undefined) follower.ended = true;
        this.#prune(follower);
      }
      for (const follower of active) follower.wake?.();
      if (this.#followers.size === 0) return;
      this.#pause = new AbortController();
      await clock.sleep(pollIntervalMs, this.#pause.signal);
      this.#pause = undefined;
    }
  }

  /** One query for `followers` (all its pages); entries are queued to their follower. */
  async #read(followers: Follower[]): Promise<void> {
    const { lagMs, resourceName } = this.#options;
    const byJob = new Map(followers.map((f) => [f.jobId, f]));
    const clauses = followers.map((f) => {
      // Re-read a lag window behind the newest entry seen (entries can be ingested late), never before `since`.
      const fromMs = f.cursorMs === undefined ? f.sinceMs : Math.max(f.cursorMs - lagMs, f.sinceMs ?? 0);
      const job = `resource.labels.job_id="${f.jobId}"`;
      return fromMs === undefined ? job : `(${job} AND timestamp>="${new Date(fromMs).toISOString()}")`;
    });
    const filter = `resource.type="ml_job" AND (${clauses.join(' OR ')})`;
    let pageToken: string | undefined;
    try {
      do {
        this.queries += 1;
        const page = await this.#options.fetchPage({
          resourceNames: [resourceName],
          filter,
          orderBy: 'timestamp asc',
          pageSize: 1000,
          ...(pageToken ? { pageToken } : {}),
        });
        for (const raw of page.entries) {
          const follower = byJob.get(raw.resource?.labels?.job_id ?? '');
          if (follower === undefined) continue;
          const entry = toJobLogEntry(raw);
          if (entry.insertId && follower.yielded.has(entry.insertId)) continue;
          const at = Date.parse(entry.timestamp);
          if (entry.insertId) follower.yielded.set(entry.insertId, Number.isNaN(at) ? 0 : at);
          if (!Number.isNaN(at)) follower.cursorMs = Math.max(follower.cursorMs ?? at, at);
          follower.queue.push(entry);
        }
        for (const follower of followers) if (follower.queue.length > 0) follower.wake?.();
        pageToken = page.nextPageToken;
      } while (pageToken && followers.some((f) => this.#followers.has(f)));
    } catch (error) {
      for (const follower of followers) follower.error = error;
    }
  }

  /** Forgets ids that fell out of the follower's re-read window. */
  #prune(follower: Follower): void {
    if (follower.cursorMs === undefined) return;
    const floor = follower.cursorMs - this.#options.lagMs - 1_000;
    for (const [id, at] of follower.yielded) if (at < floor) follower.yielded.delete(id);
  }
}
