/**
 * The job of a launch as the agent sees it: through the runner's `watch` when it has one (the Vertex runner's batched
 * tracker), else by polling `get`. Read failures are the feed's business: it logs them and reads again a poll interval
 * later, so the phase handlers only see snapshots, or {@link JobGone} when the job no longer exists.
 */
import { GrpcCode } from '../grpc-code.js';
import type { JobRunner, JobSnapshot } from '../launch/runner.js';
import type { Wakeup } from './wakeup.js';

/** The job a launch followed no longer exists (NOT_FOUND): it was deleted. */
export class JobGone extends Error {
  constructor(
    readonly jobName: string,
    cause: unknown,
  ) {
    super(`job ${jobName} no longer exists`, { cause });
  }
}

/** The gRPC code a runner's error carries (`ApiError.grpcCode`), if any. */
function grpcCodeOfApiError(error: unknown): number | undefined {
  const code = (error as { grpcCode?: unknown } | undefined)?.grpcCode;
  return typeof code === 'number' ? code : undefined;
}

/** What a {@link JobFeed} needs around it. */
export interface JobFeedOptions {
  runner: JobRunner;
  jobName: string;
  /** The snapshot the submit returned, when there is one (else the job is read first). */
  initial: JobSnapshot | undefined;
  /** Woken by watch events, cancel requests and stops. */
  wake: Wakeup;
  pollMs: number;
  /** Throws when the launch must stop (checked after every wait). */
  checkStop: () => void;
  /** Told about a failure to read the job that is retried. */
  onReadError: (message: string, error: unknown) => void;
}

/** Snapshots of one job, one per `next()`. */
export class JobFeed {
  #latest: JobSnapshot | undefined;
  #error: unknown;
  #stopWatch: (() => void) | undefined;
  #begun = false;
  #duplicates: JobSnapshot[] = [];

  constructor(private readonly options: JobFeedOptions) {
    this.#latest = options.initial;
  }

  /** The last snapshot seen. */
  get latest(): JobSnapshot | undefined {
    return this.#latest;
  }

  /**
   * The job's latest snapshot: at once the first time, after a wait (a change, a wake-up or the poll interval) after
   * that; `watchedWaitMs` replaces the poll interval while the runner watches the job (it wakes the wait on changes). Read failures are logged and read again; throws {@link JobGone} when the job no longer exists.
   */
  async next(watchedWaitMs?: number): Promise<JobSnapshot> {
    const { wake, pollMs, checkStop, runner } = this.options;
    if (!this.#begun) {
      this.#begun = true;
      if (this.#latest !== undefined || (await this.#read())) this.#watch();
    } else {
      // A watched job wakes its waiter on every change, so the caller may wait longer than a poll between looks.
      await wake.wait(runner.watch && this.#stopWatch && watchedWaitMs !== undefined ? watchedWaitMs : pollMs);
      checkStop();
      if (!runner.watch) await this.#poll();
    }
    while (this.#error !== undefined || this.#latest === undefined) {
      const error = this.#error;
      this.#error = undefined;
      this.close();
      if (grpcCodeOfApiError(error) === GrpcCode.NOT_FOUND) throw new JobGone(this.options.jobName, error);
      this.options.onReadError(`lost track of ${this.options.jobName}; retrying`, error);
      await wake.wait(pollMs);
      checkStop();
      if (await this.#read()) this.#watch();
    }
    return this.#latest;
  }

  /** Other unfinished jobs with this job's launch id the watcher reported since the last call (see `onDuplicate`). */
  takeDuplicates(): JobSnapshot[] {
    const found = this.#duplicates;
    this.#duplicates = [];
    return found;
  }

  /** Stops watching. */
  close(): void {
    this.#stopWatch?.();
    this.#stopWatch = undefined;
  }

  /** Reads the job; false (and the error kept for `next()`) when that failed. */
  async #read(): Promise<boolean> {
    try {
      this.#latest = await this.options.runner.get(this.options.jobName);
      return true;
    } catch (error) {
      this.#error = error;
      return false;
    }
  }

  /** One poll of a runner without `watch`: a failure other than NOT_FOUND is logged, and the next poll tries again. */
  async #poll(): Promise<void> {
    try {
      this.#latest = await this.options.runner.get(this.options.jobName);
    } catch (error) {
      if (grpcCodeOfApiError(error) === GrpcCode.NOT_FOUND) this.#error = error;
      else this.options.onReadError(`could not read ${this.options.jobName}; retrying`, error);
    }
  }

  #watch(): void {
    const { runner, jobName, wake } = this.options;
    if (!runner.watch) return;
    this.#stopWatch = runner.watch(
      jobName,
      {
        onChange: (job) => {
          this.#latest = job;
          wake.wake();
        },
        onError: (error) => {
          this.#error = error;
          wake.wake();
        },
        onDuplicate: (duplicates) => {
          this.#duplicates.push(...duplicates);
          wake.wake();
        },
      },
      this.#latest,
    );
  }
}
