/**
 * One launch of the agent: the item, its lease-bound state, and the phase handlers of `phases.ts` run one after the
 * other. Every store write goes through {@link LaunchWorker.write}: a lost lease stops the worker, and a store that
 * cannot answer now (SQLITE_BUSY, a connection lost) is retried with core's `retry()` and then left to the lease —
 * never turned into a failed launch.
 */

import type { Clock } from '../clock.js';
import { applyRung, describeRung } from '../config/fallback.js';
import { LAUNCH_ID_LABEL, sanitizeLabelValue } from '../config/labels.js';
import { type Failure as ClassifiedFailure, classifyFailure } from '../failure.js';
import type { JobRunner, JobSnapshot } from '../launch/runner.js';
import { isLeaseLost, isStoreUnavailable } from '../queue/errors.js';
import type {
  FailurePhase,
  FinalLaunchStatus,
  LaunchPhase,
  PhaseUpdate,
  QueueDefinition,
  QueueItem,
  QueueStore,
  RetryUpdate,
} from '../queue/store.js';
import { backoff, type RetryPolicy, retry } from '../retry.js';
import type { AgentLogger, AgentOptions, RunnerTarget } from './agent.js';
import { JobFeed } from './follow.js';
import { type ApiOutageLog, isTransientApiError } from './outage.js';
import { failure, type HandlerPhase, type Next, PHASE_HANDLERS, type Release } from './phases.js';
import { Wakeup } from './wakeup.js';

/**
 * How a queue-store call that failed because the store could not answer (`isStoreUnavailable`) is tried again: 6
 * attempts, full jitter under a bound of 200 ms doubling up to 5 s — a few seconds in all, well inside a lease.
 */
export const STORE_RETRY_POLICY: Readonly<RetryPolicy> = {
  maxAttempts: 6,
  initialDelayMs: 200,
  maxDelayMs: 5_000,
  multiplier: 2,
};

/**
 * How a launch that hit a transient API failure before a job exists is given back to its queue: before release
 * number N (N = the item's claims so far) the worker waits a backoff under a bound of 2 s doubling up to 2 min
 * ("equal" jitter: at least half the bound), holding the lease, then requeues the item with its phase kept. The
 * 12th attempt that fails fails the launch: the API was out for 10 minutes or more (at least ~5.5 min of backoff).
 */
export const API_RELEASE_POLICY: Readonly<RetryPolicy> = {
  maxAttempts: 12,
  initialDelayMs: 2_000,
  maxDelayMs: 120_000,
  multiplier: 2,
  jitter: 'equal',
};

/** What every worker of one agent shares: its settings and services. */
export interface AgentContext {
  readonly options: AgentOptions;
  readonly store: QueueStore;
  readonly agentId: string;
  readonly log: AgentLogger;
  readonly clock: Clock;
  readonly random: () => number;
  readonly env: Record<string, string | undefined>;
  readonly startTimeoutMs: number;
  readonly pollMs: number;
  readonly leaseMs: number;
  /** See {@link API_RELEASE_POLICY}. */
  readonly releasePolicy: Readonly<RetryPolicy>;
  /** One log line per API outage, not one per failed call. */
  readonly outage: ApiOutageLog;
  /** The runner of a project and region. */
  runnerFor(target: RunnerTarget): JobRunner;
  /** The project and region of the runner given as an object, if it names them. */
  defaultTarget(): Partial<RunnerTarget>;
  /** Counts a finished item and tells `onItemFinished`. */
  onFinished(item: QueueItem): void;
}

/** How many of an ended job's last log lines the failure class is read from. */
export const LOG_TAIL_LINES = 20;

/** Thrown inside a worker when the agent stops or no longer holds the item: not an error of the launch. */
export class Stopped extends Error {}

export function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function formatMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${Math.round(ms / 100) / 10}s`;
}

/** What the agent logs when a store write says it no longer holds an item. */
export function leaseLostMessage(error: unknown): string {
  // Finished while this agent held it: its queue was deleted (`queue delete --force`) or someone else ended it.
  return /already finished/.test(message(error))
    ? 'the item was finished elsewhere (was its queue deleted?); stopped following it, its job keeps running'
    : 'lost the lease; another agent continues this launch';
}

/** The phase a claimed item's handlers start at, from what an earlier attempt persisted. */
function firstPhase(item: QueueItem): HandlerPhase {
  if (item.jobName !== undefined) return item.phase === 'running' ? 'running' : 'submitted';
  if (item.phase === 'submitting' || item.phase === 'built') return item.phase;
  // Claimed, or a build cut short (`building`): start over; the build's content tag makes a finished push count.
  return 'claimed';
}

/** One launch the agent works on, from claim to finish (or until it stops or loses the item). */
export class LaunchWorker {
  item: QueueItem;
  readonly controller = new AbortController();
  readonly wake: Wakeup;
  cancelRequested: boolean;
  /** A create call is in flight: giving the item back now could let another agent create again. */
  inFlight = false;
  /** This agent no longer holds the item (lease lost, or left to its lease because the store did not answer). */
  lost = false;
  finished = false;
  /** Settles when the worker has returned. */
  done: Promise<void> = Promise.resolve();

  // Set by the handlers as the launch goes on.
  queue!: QueueDefinition;
  /** The queue config of the rung this attempt runs on (`applyRung`). */
  config!: Record<string, unknown>;
  target!: RunnerTarget;
  runner!: JobRunner;
  /** The item was claimed at `submitting` without a job name: look the job up by launch id before creating one. */
  lookUpFirst = false;
  /** When the create whose outcome is unknown was sent (set once no lookup answered within the runner's window). */
  unknownSince: Date | undefined;
  /** The job's last snapshot. */
  job: JobSnapshot | undefined;
  /** The job status last persisted. */
  lastRecorded: QueueItem['status'];
  /** A cancel the runner accepted. */
  cancelSent = false;
  /** The cross-region image note of a fallback alternative was logged. */
  noted = false;
  /** Why the job is being cancelled for not starting in time; the launch fails with it once the job has ended. */
  timedOut: string | undefined;
  #feed: JobFeed | undefined;

  constructor(
    readonly ctx: AgentContext,
    item: QueueItem,
  ) {
    this.item = item;
    this.cancelRequested = item.cancelRequested;
    this.wake = new Wakeup(ctx.clock);
    this.controller.signal.addEventListener('abort', () => this.wake.wake(), { once: true });
  }

  /** Log fields naming this launch. */
  fields(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      agentId: this.ctx.agentId,
      itemId: this.item.id,
      queue: this.item.queue,
      runId: this.item.runId,
      ...(this.item.jobName ? { jobName: this.item.jobName } : {}),
      ...extra,
    };
  }

  /** Throws {@link Stopped} once the agent stops or no longer holds the item. */
  checkStop(): void {
    if (this.controller.signal.aborted || this.lost) throw new Stopped();
  }

  /**
   * Runs the launch: waits for `previous` (the worker of an earlier claim of this item by this agent, whose create
   * call may still be in flight), then the handlers from the persisted phase on. Never rejects.
   */
  async run(previous: Promise<void> | undefined): Promise<void> {
    try {
      if (previous) await previous;
      let next: Next = await this.#resolve();
      while (next !== 'finished') {
        if (typeof next === 'object') {
          if ('release' in next) await this.#release(next.release);
          else await this.fail(next.fail.phase, next.fail.message, next.classified);
          return;
        }
        this.checkStop();
        next = await PHASE_HANDLERS[next](this);
      }
    } catch (error) {
      if (!(error instanceof Stopped)) await this.#unexpected(error);
    } finally {
      this.#feed?.close();
    }
  }

  /** The job's snapshots (created on first use, for the job name the item has now). */
  feed(): JobFeed {
    if (!this.#feed) {
      this.lastRecorded = this.item.status;
      this.#feed = new JobFeed({
        runner: this.runner,
        jobName: this.item.jobName as string,
        initial: this.job,
        wake: this.wake,
        pollMs: this.ctx.pollMs,
        checkStop: () => this.checkStop(),
        onReadError: (text, error) => {
          // During an outage every failed read would log: the outage log has one line for it all.
          if (isTransientApiError(error, { jobMayExist: true }))
            this.ctx.outage.failed(error, `reading ${this.item.jobName}`);
          else this.ctx.log.warn(this.fields({ error: message(error) }), text);
        },
      });
    }
    return this.#feed;
  }

  /** The queue, project, region and runner of the launch; then the phase to start at. */
  async #resolve(): Promise<Next> {
    const { item, ctx } = this;
    const queue = await this.call(() => ctx.store.getQueue(item.queue));
    if (!queue) return failure('agent', `queue \`${item.queue}\` no longer exists`);
    const defaults = ctx.defaultTarget();
    const rung = applyRung(queue.config, item.rung);
    const project = queue.project ?? ctx.options.project ?? defaults.project;
    const region = rung.region ?? queue.region ?? ctx.options.region ?? defaults.region;
    if (!project || !region) {
      const key = !project ? 'project' : 'region';
      return failure(
        'agent',
        `no ${key} for queue \`${queue.name}\`: set \`environment.${key}\` in launch-config.yaml or \`vertex-launch queue update ${queue.name} --${key} ...\``,
      );
    }
    this.queue = queue;
    this.config = rung.config;
    this.target = { project, region };
    if (item.rung > 0 && item.phase === 'claimed' && item.jobName === undefined) {
      ctx.log.info(
        this.fields({ event: 'fallback', rung: item.rung, region }),
        `attempt ${item.retries + 1} runs on ${describeRung(queue.config, item.rung)}`,
      );
    }
    this.runner = ctx.runnerFor(this.target);
    const phase = firstPhase(item);
    if (item.jobName !== undefined) {
      ctx.log.info(this.fields({ jobName: item.jobName, phase: item.phase }), `re-attached to ${item.jobName}`);
    }
    this.lookUpFirst = phase === 'submitting';
    return phase;
  }

  /**
   * A store call, tried again while the store cannot answer; a lost lease, or a store that still cannot answer,
   * stops the worker (the item is left to its lease, and the next claim resumes it at its persisted phase).
   */
  async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await retry(fn, {
        policy: STORE_RETRY_POLICY,
        retryable: isStoreUnavailable,
        clock: this.ctx.clock,
        random: this.ctx.random,
        onFailure: ({ attempt, error, delayMs }) => {
          if (delayMs === undefined) return;
          this.ctx.log.warn(
            this.fields({ event: 'store_retry', attempt, delayMs, error: message(error) }),
            `the queue store did not answer (${message(error)}); trying again in ${delayMs} ms`,
          );
        },
      });
    } catch (error) {
      if (isLeaseLost(error)) {
        this.lost = true;
        this.ctx.log.warn(this.fields({ reason: message(error) }), leaseLostMessage(error));
        throw new Stopped();
      }
      if (isStoreUnavailable(error)) {
        this.#leaveToLease(
          `the queue store did not answer after ${STORE_RETRY_POLICY.maxAttempts} attempts (${message(error)})`,
        );
        throw new Stopped();
      }
      throw error;
    }
  }

  /** A store write for this item (see `call`); keeps the item it returns. */
  async write(fn: () => Promise<QueueItem>): Promise<QueueItem> {
    const item = await this.call(fn);
    this.item = item;
    if (item.cancelRequested) this.cancelRequested = true;
    return item;
  }

  /** Persists a phase. */
  record(update: PhaseUpdate): Promise<QueueItem> {
    return this.write(() => this.ctx.store.recordPhase(this.item.id, this.ctx.agentId, update));
  }

  /** Finishes the item as failed (with the failure class, when one applies). */
  async fail(phase: FailurePhase, text: string, classified?: ClassifiedFailure): Promise<void> {
    const item = await this.write(() =>
      this.ctx.store.fail(this.item.id, this.ctx.agentId, {
        phase,
        message: text,
        ...(classified
          ? {
              class: classified.class,
              ...(classified.exitCode === undefined ? {} : { exitCode: classified.exitCode }),
              ...(classified.fix === undefined ? {} : { fix: classified.fix }),
            }
          : {}),
      }),
    );
    this.ctx.log.warn(
      this.fields({
        phase,
        error: text,
        ...(classified ? { failureClass: classified.class, ...(classified.fix ? { fix: classified.fix } : {}) } : {}),
      }),
      `launch failed: ${text}`,
    );
    this.#finished(item);
  }

  /**
   * Gives the item back to its queue without working on it (a deferral: its queue's limits are reached); it is not
   * claimed again for `delayMs`. The worker stops.
   */
  async giveBack(text: string, delayMs: number): Promise<void> {
    await this.write(() =>
      this.ctx.store.requeue(this.item.id, this.ctx.agentId, text, { delayMs: Math.round(delayMs), deferred: true }),
    );
    this.lost = true;
  }

  /** Resubmits the launch as a new attempt (next fallback alternative, or a retry): the item goes back queued. */
  async resubmit(update: RetryUpdate): Promise<void> {
    const item = await this.write(() => this.ctx.store.retry(this.item.id, this.ctx.agentId, update));
    this.ctx.log.warn(
      this.fields({
        event: 'retried',
        failureClass: update.failure.class,
        rung: update.rung,
        attempt: item.retries + 1,
        delayMs: update.delayMs,
        ...(update.jobName ? { jobName: update.jobName } : {}),
      }),
      update.message,
    );
    // No longer held: the next claim (of any agent) makes the new attempt's job.
    this.lost = true;
  }

  /** The failure class of an ended job (undefined when it succeeded). */
  classify(job: JobSnapshot, logTail?: readonly string[]): ClassifiedFailure | undefined {
    const strategy = (this.config?.run as { scheduling_strategy?: string } | undefined)?.scheduling_strategy;
    return classifyFailure({
      status: job.status,
      error: job.error,
      region: job.region,
      ...(strategy ? { schedulingStrategy: strategy } : {}),
      ...(logTail ? { logTail } : {}),
    });
  }

  /**
   * The failure class of an ended job, reading its last log lines when Vertex's error alone says only "non-zero
   * status" (`user_code`) or nothing known (`unknown`): "CUDA out of memory" in them makes it `out_of_memory`. A log
   * read that fails or takes more than 5 s is skipped (the class from the error stands).
   */
  async classifyEnded(job: JobSnapshot): Promise<ClassifiedFailure | undefined> {
    const first = this.classify(job);
    if (first === undefined || (first.class !== 'user_code' && first.class !== 'unknown')) return first;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 5_000);
    const lines: string[] = [];
    try {
      for await (const entry of this.runner.logs(job.name, { tail: LOG_TAIL_LINES, signal: controller.signal })) {
        lines.push(entry.text);
        if (lines.length >= LOG_TAIL_LINES) break;
      }
    } catch {
      // The class from Vertex's error stands.
    } finally {
      clearTimeout(timer);
    }
    return lines.length === 0 ? first : (this.classify(job, lines) ?? first);
  }

  /** Finishes the item with the ended job's status and failure class. */
  async complete(job: JobSnapshot, classified = this.classify(job)): Promise<void> {
    const status = job.status as FinalLaunchStatus;
    const failure = classified;
    const attempts = this.item.retries > 0 ? ` after ${this.item.retries + 1} attempts` : '';
    const item = await this.write(() =>
      this.ctx.store.complete(this.item.id, this.ctx.agentId, {
        status,
        jobName: job.name,
        ...(failure && status !== 'succeeded'
          ? {
              failure: {
                class: failure.class,
                // Vertex's words, when it gave any (the summary of an error-less end only repeats the status).
                ...(job.error?.message || attempts
                  ? { summary: `${job.error?.message ? failure.summary : ''}${attempts}`.trim() }
                  : {}),
                ...(failure.exitCode === undefined ? {} : { exitCode: failure.exitCode }),
                ...(failure.fix === undefined ? {} : { fix: failure.fix }),
              },
            }
          : {}),
      }),
    );
    const level = item.outcome === 'succeeded' ? 'info' : 'warn';
    this.ctx.log[level](
      this.fields({
        jobName: job.name,
        state: job.state,
        outcome: item.outcome,
        ...(job.error ? { jobError: job.error.message } : {}),
        ...(failure
          ? {
              failureClass: failure.class,
              ...(failure.exitCode === undefined ? {} : { exitCode: failure.exitCode }),
              ...(failure.fix ? { fix: failure.fix } : {}),
            }
          : {}),
      }),
      `job ${job.name} ended ${job.state.replace(/^JOB_STATE_/, '')}${failure ? ` (${failure.class})${failure.fix ? `: ${failure.fix}` : ''}` : ''}`,
    );
    this.#finished(item);
  }

  /**
   * A transient API failure before a job exists: waits a backoff holding the lease (see {@link API_RELEASE_POLICY}),
   * then gives the item back to its queue with its phase kept, saying why in its history; fails it once it used up
   * its attempts. The next claim (of any agent) tries again.
   */
  async #release({ phase, what, error }: Release['release']): Promise<void> {
    const { ctx } = this;
    const policy = ctx.releasePolicy;
    const attempt = this.item.attempts;
    const why = `${what} failed with a transient API error (${message(error)})`;
    if (attempt >= policy.maxAttempts) {
      const mayExist =
        this.item.phase === 'submitting'
          ? ` A create call went out: a job may exist, find it with \`gcloud ai custom-jobs list --region=${this.target.region} --filter='labels.${LAUNCH_ID_LABEL}=${sanitizeLabelValue(this.item.launchId)}'\` before enqueueing again.`
          : ' Enqueue it again once the API answers.';
      await this.fail(phase, `${why}; gave up after ${attempt} attempts.${mayExist}`);
      return;
    }
    const delayMs = backoff(policy, attempt, ctx.random);
    ctx.log.debug(
      this.fields({ event: 'api_release', attempt, delayMs }),
      `${why}; releasing after ${formatMs(delayMs)}`,
    );
    const until = ctx.clock.now() + delayMs;
    // Woken early by a stop (then the stop gives it back) or a cancel request (the next claim handles it).
    while (ctx.clock.now() < until && !this.cancelRequested) {
      this.checkStop();
      await this.wake.wait(until - ctx.clock.now());
    }
    this.checkStop();
    const kept = this.item.phase === undefined ? '' : `, phase ${this.item.phase} kept`;
    await this.write(() =>
      ctx.store.requeue(
        this.item.id,
        ctx.agentId,
        `attempt ${attempt} of ${policy.maxAttempts}: ${why}; no job is known yet, given back to the queue after a backoff of ${formatMs(delayMs)}${kept}`,
      ),
    );
    // No longer held: the heartbeats and a stop leave it alone.
    this.lost = true;
  }

  #finished(item: QueueItem): void {
    this.finished = true;
    this.ctx.onFinished(item);
  }

  /** True when a job of this launch may exist: it has a job name, or a create call may have gone out. */
  #mayHaveJob(): boolean {
    return this.item.jobName !== undefined || this.item.phase === 'submitting' || this.inFlight;
  }

  /**
   * Stops working on the item without finishing it: no more heartbeats, so its lease runs out and the next claim
   * (of this agent or another) resumes it at its persisted phase, as after a crash.
   */
  #leaveToLease(why: string): void {
    this.lost = true;
    this.controller.abort();
    const phase: LaunchPhase | undefined = this.item.phase;
    this.ctx.log.error(
      this.fields({ event: 'left_to_lease', phase, reason: why }),
      `${why}; left item ${this.item.id} to its lease: in ${formatMs(this.ctx.leaseMs)} the next claim resumes it at phase ${phase ?? 'claimed'}${this.item.jobName ? ` with job ${this.item.jobName}` : ''}`,
    );
  }

  async #unexpected(error: unknown): Promise<void> {
    this.ctx.log.error(this.fields({ error: message(error) }), `unexpected error: ${message(error)}`);
    if (this.controller.signal.aborted || this.lost || this.finished) return;
    if (this.#mayHaveJob()) {
      // A job may run: failing the item would leave it untracked. The next claim re-attaches (or looks it up).
      this.#leaveToLease('a job of this launch may exist');
      return;
    }
    // Fail it rather than retry at once: a launch that breaks the agent must not loop. When even that write fails
    // (the store is down), the lease runs out and a later attempt resumes it.
    await this.fail('agent', `the agent hit an unexpected error: ${message(error)}; enqueue it again`).catch(
      () => undefined,
    );
  }
}
