/**
 * Waiting for a job to end: through the runner's `watch()` (batched tracking) when it has one, else by polling
 * `get()` with a growing interval. Every final state frees the waiter; an abort or a timeout stops waiting (the job
 * keeps running) and says so.
 */
import { MAX_TIMER_MS, timerDelay } from '../clock.js';
import { VertexLaunchError } from '../errors.js';
import type { JobRunner, JobSnapshot } from './runner.js';

/** Waiting stopped before the job ended. The job itself was not touched. */
export class WaitTimeoutError extends VertexLaunchError {
  override name = 'WaitTimeoutError';
  readonly jobName: string;
  /** The last state seen. */
  readonly lastState: string | undefined;
  constructor(jobName: string, timeoutMs: number, lastState: string | undefined, what = 'to end') {
    super(
      'API',
      `Timed out after ${formatElapsed(timeoutMs)} waiting for job ${jobName} ${what}; it is still ${lastState ?? 'in an unknown state'}.`,
      { hint: `The job was not changed. Check it with \`vertex-launch jobs describe ${jobName}\`.` },
    );
    this.jobName = jobName;
    this.lastState = lastState;
  }
}

/** States of a job that has not started running yet. */
const NOT_STARTED = new Set(['JOB_STATE_UNSPECIFIED', 'JOB_STATE_QUEUED', 'JOB_STATE_PENDING']);

/** Options of {@link waitForJob}. */
export interface WaitForJobOptions {
  /** Stop waiting when this aborts (rejects with the signal's reason). */
  signal?: AbortSignal;
  /** Stop waiting after this long (rejects with {@link WaitTimeoutError}). Default: no limit. */
  timeoutMs?: number;
  /** Called with the first snapshot seen and on every state change. */
  onChange?: (job: JobSnapshot, previous: JobSnapshot | undefined) => void;
  /** The snapshot the caller already has (not reported again). */
  initial?: JobSnapshot;
  /** Polling interval bounds for runners without `watch()`, ms. Default 1 000 .. 30 000. */
  pollIntervalMs?: { min: number; max: number };
  /** Words for the timeout message, e.g. `to be cancelled`. */
  goal?: string;
}

/** Resolves with the job's final snapshot once it has ended (succeeded, failed, cancelled, expired, ...). */
export function waitForJob(runner: JobRunner, jobName: string, options: WaitForJobOptions = {}): Promise<JobSnapshot> {
  if (options.initial?.terminal) return Promise.resolve(options.initial);
  return new Promise<JobSnapshot>((resolve, reject) => {
    let last = options.initial;
    let settled = false;
    let stop: () => void = () => {};
    let timer: NodeJS.Timeout | undefined;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      stop();
      if (timer) clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = () => finish(() => reject(options.signal?.reason));
    const onChange = (job: JobSnapshot, previous: JobSnapshot | undefined) => {
      if (settled) return;
      // A job that started and ended between two looks was RUNNING, and says so with its startTime: report that
      // state first, so a watcher sees every state the job was in (a short job must not jump from PENDING to FAILED).
      if (job.terminal && job.startTime && (previous === undefined || NOT_STARTED.has(previous.state))) {
        const running: JobSnapshot = {
          ...job,
          state: 'JOB_STATE_RUNNING',
          status: 'running',
          terminal: false,
          endTime: undefined,
          error: undefined,
        };
        options.onChange?.(running, previous);
        previous = running;
      }
      last = job;
      options.onChange?.(job, previous);
      if (job.terminal) finish(() => resolve(job));
    };
    if (options.signal?.aborted) {
      onAbort();
      return;
    }
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.timeoutMs !== undefined) {
      const ms = options.timeoutMs;
      const deadline = Date.now() + ms;
      // A wait longer than one timer can hold (about 24.8 days) re-arms until its deadline.
      const arm = () => {
        const left = deadline - Date.now();
        if (left > MAX_TIMER_MS) timer = setTimeout(arm, MAX_TIMER_MS);
        else
          timer = setTimeout(
            () => finish(() => reject(new WaitTimeoutError(jobName, ms, last?.state, options.goal))),
            timerDelay(left),
          );
      };
      arm();
    }
    if (runner.watch) {
      stop = runner.watch(jobName, { onChange, onError: (error) => finish(() => reject(error)) }, options.initial);
      return;
    }
    // No batched tracking: poll get() with a growing interval.
    const bounds = options.pollIntervalMs ?? { min: 1_000, max: 30_000 };
    let interval = bounds.min;
    let poll: NodeJS.Timeout | undefined;
    stop = () => {
      if (poll) clearTimeout(poll);
    };
    const tick = async () => {
      try {
        const job = await runner.get(jobName);
        const previous = last;
        if (previous?.state !== job.state || previous === undefined) {
          onChange(job, previous);
          interval = bounds.min;
        } else {
          last = job;
          interval = Math.min(bounds.max, Math.round(interval * 1.5));
        }
        if (!settled) poll = setTimeout(tick, timerDelay(interval));
      } catch (error) {
        finish(() => reject(error));
      }
    };
    void tick();
  });
}

/** `1h 2m 3s`, `4m 05s`, `12s`, `850ms`. */
export function formatElapsed(ms: number): string {
  if (ms < 1_000) return `${Math.max(0, Math.round(ms))}ms`;
  const total = Math.floor(ms / 1_000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h}h ${m}m ${String(s).padStart(2, '0')}s`;
  if (m > 0) return `${m}m ${String(s).padStart(2, '0')}s`;
  return `${s}s`;
}
