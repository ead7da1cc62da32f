/**
 * The launch agent: drains queues of a {@link QueueStore} into jobs of a {@link JobRunner}. Pure orchestration: the
 * store, the runner, the builder, the clock and the logger are all injected.
 *
 * Crash safety comes from the store. Every step is persisted before and after its side effect
 * (`claimed -> [building -> built] -> submitting -> submitted(jobName) -> running -> complete | fail`), and an agent
 * that dies leaves its items leased; once a lease runs out another agent (or the restarted one) claims the item again
 * and resumes from the persisted phase: with a job name it re-attaches to the job; in phase `submitting` (it died
 * between the create call and persisting the name) it looks the job up by its launch-id label before submitting, so a
 * launch never makes two jobs.
 *
 * Stopping (`stop()`, SIGTERM in the CLI) stops claiming, stops following jobs (they keep running) and gives every
 * item back to its queue with `requeue`, keeping its phase and job name, so the next agent re-attaches at once. An
 * item whose create call is still in flight when the grace period ends is not given back: its lease runs out instead,
 * long after the call has settled, so the next agent's lookup by launch id sees the job.
 */
import { hostname } from 'node:os';
import { contextTag, fingerprintContext } from '../build/context.js';
import type { BuilderCredentials, ImageBuilder } from '../build/contract.js';
import { LAUNCH_ID_LABEL, sanitizeLabelValue } from '../config/labels.js';
import { ConfigError, isVertexLaunchError } from '../errors.js';
import type { LaunchStatus } from '../job-state.js';
import { type ImageRegistry, planLaunch } from '../launch/pipeline.js';
import type { JobRunner, JobSnapshot } from '../launch/runner.js';
import { isLeaseLost, QueueError } from '../queue/errors.js';
import {
  type FailurePhase,
  type FinalLaunchStatus,
  LAUNCH_PHASES,
  type LaunchPhase,
  type PhaseUpdate,
  type QueueDefinition,
  type QueueItem,
  type QueueStore,
} from '../queue/store.js';
import { type AgentClock, systemClock } from './clock.js';

/** Structured logging: pino's `(fields, message)` shape, so a pino logger fits as is. */
export interface AgentLogger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** A logger that drops everything. */
export const silentAgentLogger: AgentLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** Where a launch runs. */
export interface RunnerTarget {
  project: string;
  region: string;
}

/** Options of {@link createAgent}. */
export interface AgentOptions {
  /** The queues and their items. */
  store: QueueStore;
  /**
   * Submits and tracks jobs: one runner, or a factory called once per project and region (a Vertex runner is bound to
   * one region). A runner's own `project` / `region` properties, when it has them, are the default target.
   */
  runner: JobRunner | ((target: RunnerTarget) => JobRunner);
  /** Queues to drain, served round-robin. Each must exist when the agent starts. */
  queues: readonly string[];
  /** Launches worked on at once (building, submitting or running). `-1`: no limit. Default 1. */
  maxJobs?: number;
  /** Project of launches whose queue sets none (`environment.project`). */
  project?: string;
  /** Region of launches whose queue sets none (`environment.region`). */
  region?: string;
  /** Builds launches enqueued with a source directory. Without it, such launches fail (phase `build`). */
  builder?: ImageBuilder;
  /** Answers whether a content-tagged image exists, so its build is skipped. */
  registry?: ImageRegistry;
  /** Image repository (no tag) that source builds are pushed to (`registry.uri`). */
  imageRepository?: string;
  /** Registry credentials for the builder's push. */
  builderCredentials?: BuilderCredentials;
  /** A job still QUEUED or PENDING this long after its creation is cancelled and its item failed. Default 30 min. */
  startTimeoutMs?: number;
  /** How often to look for work and (for runners without `watch`) poll jobs, ms. Default 5 000. */
  pollIntervalMs?: number;
  /** Lease length, ms; heartbeats go every third of it. Default 60 000. */
  leaseMs?: number;
  /** See `ClaimOptions.maxAttempts`. */
  maxAttempts?: number;
  /** How often to log the status line (running and queued counts), ms. 0: never. Default 60 000. */
  statusIntervalMs?: number;
  /** On `stop()`, how long to wait for calls in flight (a create, a build step) before giving up on them, ms. Default 5 000. */
  stopGraceMs?: number;
  /** This agent's id in leases and item histories. Default `<host>:<pid>:<random>`. */
  agentId?: string;
  /** Time and sleeps; tests inject one to drive timeouts without waiting. Default: the system clock. */
  clock?: AgentClock;
  /** Receives the agent's structured log lines (a pino logger fits as is). */
  logger?: AgentLogger;
  /** Environment for `${env:NAME}` macros of queue configs. Default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Called whenever the agent finishes an item (completed, failed or cancelled). Errors it throws are ignored. */
  onItemFinished?: (item: QueueItem) => void;
}

/** One launch the agent is working on. */
export interface ActiveLaunch {
  itemId: string;
  queue: string;
  runId: string;
  launchId: string;
  phase: LaunchPhase;
  jobName: string | undefined;
  status: LaunchStatus | undefined;
  cancelRequested: boolean;
}

/** What {@link Agent.status} reports. */
export interface AgentStatus {
  agentId: string;
  state: 'idle' | 'running' | 'stopping' | 'stopped';
  /** `-1`: no limit. */
  maxJobs: number;
  queues: readonly string[];
  active: ActiveLaunch[];
  /** Since start: items claimed, and items finished by outcome. */
  totals: { claimed: number; succeeded: number; failed: number; cancelled: number; released: number };
}

/** A launch agent. */
export interface Agent {
  readonly id: string;
  /**
   * Start draining. Resolves once the agent has stopped (after `stop()`); rejects when it cannot start (a queue in
   * `queues` does not exist).
   */
  start(): Promise<void>;
  /** Stop claiming, stop following jobs (they keep running) and give unfinished items back. Idempotent. */
  stop(reason?: string): Promise<void>;
  status(): AgentStatus;
}

/** Default `maxJobs`. */
export const DEFAULT_AGENT_MAX_JOBS = 1;
/** Default `startTimeoutMs`: 30 minutes. */
export const DEFAULT_START_TIMEOUT_MS = 30 * 60_000;
/** Default `pollIntervalMs`. */
export const DEFAULT_AGENT_POLL_INTERVAL_MS = 5_000;
/** Default `leaseMs`. */
export const DEFAULT_AGENT_LEASE_MS = 60_000;

/** A new agent id: `<host>:<pid>:<random>`. */
export function newAgentId(): string {
  return `${hostname().slice(0, 60)}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
}

const NOT_STARTED = new Set<LaunchStatus>(['queued', 'pending', 'unknown']);
const PHASE_INDEX = (phase: LaunchPhase | undefined) => (phase === undefined ? 0 : LAUNCH_PHASES.indexOf(phase));

/** Wakes one or many waiters early; a wake with nobody waiting makes the next wait return at once. */
class Wakeup {
  #waiters = new Set<AbortController>();
  #pending = false;
  constructor(private readonly clock: AgentClock) {}
  wake(): void {
    if (this.#waiters.size === 0) this.#pending = true;
    for (const waiter of this.#waiters) waiter.abort();
    this.#waiters.clear();
  }
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

/** Thrown inside a worker when the agent stops or loses the lease: not an error of the launch. */
class Stopped extends Error {}

interface Work {
  item: QueueItem;
  controller: AbortController;
  wake: Wakeup;
  cancelRequested: boolean;
  /** A create (or build) call is in flight: giving the item back now could let another agent create again. */
  inFlight: boolean;
  lost: boolean;
  finished: boolean;
  done: Promise<void>;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** What the agent logs when a store write says it no longer holds an item. */
function leaseLostMessage(error: unknown): string {
  // Finished while this agent held it: its queue was deleted (`queue delete --force`) or someone else ended it.
  return /already finished/.test(message(error))
    ? 'the item was finished elsewhere (was its queue deleted?); stopped following it, its job keeps running'
    : 'lost the lease; another agent continues this launch';
}

function grpcCode(error: unknown): number | undefined {
  const code = (error as { grpcCode?: unknown } | undefined)?.grpcCode;
  return typeof code === 'number' ? code : undefined;
}

function formatMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${Math.round(ms / 100) / 10}s`;
}

/**
 * Create a launch agent over a queue store and a job runner.
 *
 * @example
 * const agent = createAgent({ store: sqliteQueueStore(), runner: vertexRunner({ credentials }), queues: ['gpu'], maxJobs: 2 });
 * process.once('SIGTERM', () => void agent.stop('SIGTERM'));
 * await agent.start();
 */
export function createAgent(options: AgentOptions): Agent {
  const store = options.store;
  const clock = options.clock ?? systemClock;
  const log = options.logger ?? silentAgentLogger;
  const agentId = options.agentId ?? newAgentId();
  const maxJobs = options.maxJobs ?? DEFAULT_AGENT_MAX_JOBS;
  if (!Number.isInteger(maxJobs) || (maxJobs < 1 && maxJobs !== -1)) {
    throw new ConfigError(`Invalid maxJobs ${maxJobs}: use a whole number of at least 1, or -1 for no limit.`, [
      { path: 'max_jobs', message: 'must be at least 1, or -1 for no limit', severity: 'error' },
    ]);
  }
  if (options.queues.length === 0) {
    throw new ConfigError('The agent has no queue to drain: pass at least one queue name in `queues`.', [
      { path: 'queues', message: 'list at least one queue', severity: 'error' },
    ]);
  }
  const capacity = maxJobs === -1 ? Number.POSITIVE_INFINITY : maxJobs;
  const queues = [...new Set(options.queues)];
  /** Queues deleted while the agent runs: not claimed from (the rest are still drained) until created again. */
  const deletedQueues = new Set<string>();
  const startTimeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  const pollMs = options.pollIntervalMs ?? DEFAULT_AGENT_POLL_INTERVAL_MS;
  const leaseMs = options.leaseMs ?? DEFAULT_AGENT_LEASE_MS;
  const heartbeatMs = Math.max(10, Math.floor(leaseMs / 3));
  const statusMs = options.statusIntervalMs ?? 60_000;
  const stopGraceMs = options.stopGraceMs ?? 5_000;
  const env = options.env ?? process.env;

  const active = new Map<string, Work>();
  /** Workers that lost their lease but have not returned yet (a call of theirs may still be in flight). */
  const lingering = new Map<string, Promise<void>>();
  const totals = { claimed: 0, succeeded: 0, failed: 0, cancelled: 0, released: 0 };
  const loopWake = new Wakeup(clock);
  const heartbeatWake = new Wakeup(clock);
  let state: AgentStatus['state'] = 'idle';
  let stopping = false;
  let stopPromise: Promise<void> | undefined;
  let started: Promise<void> | undefined;
  let lastStatusAt = 0;
  /** The store has a record of this agent (so stopping updates it). */
  let reported = false;

  const runners = new Map<string, JobRunner>();
  const runnerFor = (target: RunnerTarget): JobRunner => {
    if (typeof options.runner !== 'function') return options.runner;
    const key = `${target.project}/${target.region}`;
    let runner = runners.get(key);
    if (!runner) {
      runner = options.runner(target);
      runners.set(key, runner);
    }
    return runner;
  };
  const defaultTarget = (): Partial<RunnerTarget> => {
    const runner = typeof options.runner === 'function' ? undefined : (options.runner as Partial<RunnerTarget>);
    return {
      ...(typeof runner?.project === 'string' ? { project: runner.project } : {}),
      ...(typeof runner?.region === 'string' ? { region: runner.region } : {}),
    };
  };

  const fields = (work: Work, extra: Record<string, unknown> = {}) => ({
    agentId,
    itemId: work.item.id,
    queue: work.item.queue,
    runId: work.item.runId,
    ...(work.item.jobName ? { jobName: work.item.jobName } : {}),
    ...extra,
  });

  /** Runs a store write for `work`; a lost lease turns into {@link Stopped}. */
  async function write(work: Work, fn: () => Promise<QueueItem>): Promise<QueueItem> {
    try {
      const item = await fn();
      work.item = item;
      if (item.cancelRequested) work.cancelRequested = true;
      return item;
    } catch (error) {
      if (isLeaseLost(error)) {
        work.lost = true;
        log.warn(fields(work, { reason: message(error) }), leaseLostMessage(error));
        throw new Stopped();
      }
      throw error;
    }
  }

  const record = (work: Work, update: PhaseUpdate) =>
    write(work, () => store.recordPhase(work.item.id, agentId, update));

  function finished(work: Work, item: QueueItem): void {
    work.finished = true;
    if (item.outcome === 'succeeded') totals.succeeded += 1;
    else if (item.outcome === 'cancelled') totals.cancelled += 1;
    else totals.failed += 1;
    try {
      options.onItemFinished?.(item);
    } catch {
      // A listener's failure must not stop the agent.
    }
  }

  async function fail(work: Work, phase: FailurePhase, text: string): Promise<void> {
    const item = await write(work, () => store.fail(work.item.id, agentId, { phase, message: text }));
    log.warn(fields(work, { phase, error: text }), `launch failed: ${text}`);
    finished(work, item);
  }

  async function complete(work: Work, job: JobSnapshot): Promise<void> {
    const status = job.status as FinalLaunchStatus;
    const item = await write(work, () => store.complete(work.item.id, agentId, { status, jobName: job.name }));
    const level = item.outcome === 'succeeded' ? 'info' : 'warn';
    log[level](
      fields(work, {
        jobName: job.name,
        state: job.state,
        outcome: item.outcome,
        ...(job.error ? { jobError: job.error.message } : {}),
      }),
      `job ${job.name} ended ${job.state.replace(/^JOB_STATE_/, '')}`,
    );
    finished(work, item);
  }

  const checkStop = (work: Work) => {
    if (work.controller.signal.aborted || work.lost) throw new Stopped();
  };

  /** The job an earlier attempt of this launch created, found by its launch-id label. */
  async function findJob(runner: JobRunner, launchId: string): Promise<JobSnapshot | undefined> {
    const jobs = await runner.list({
      filter: `labels.${LAUNCH_ID_LABEL}="${sanitizeLabelValue(launchId)}"`,
      limit: 10,
    });
    // Newest first; the oldest is the one the launch made first.
    return jobs.at(-1);
  }

  async function buildImage(work: Work): Promise<string | undefined> {
    const source = work.item.request.source as string;
    if (!options.builder || !options.imageRepository) {
      await fail(
        work,
        'build',
        `launch ${work.item.id} needs an image built from ${source}, but this agent has no builder: set \`builder: { type: docker }\` and \`registry: { uri: <repo> }\` in its launch-config.yaml, or enqueue with --image`,
      );
      return undefined;
    }
    await record(work, { phase: 'building', message: `building ${source}` });
    log.info(fields(work, { source }), `building ${source}`);
    try {
      const manifest = await fingerprintContext({ contextDir: source });
      const imageUri = contextTag(options.imageRepository, manifest);
      const exists = options.registry
        ? await options.registry.tagExists(imageUri)
        : options.builder.exists
          ? await options.builder.exists(imageUri)
          : false;
      checkStop(work);
      if (!exists) {
        await options.builder.build({
          contextDir: source,
          destination: imageUri,
          signal: work.controller.signal,
          ...(options.builderCredentials ? { credentials: options.builderCredentials } : {}),
        });
      }
      checkStop(work);
      await record(work, {
        phase: 'built',
        imageUri,
        message: exists ? 'content tag exists; build skipped' : 'pushed',
      });
      return imageUri;
    } catch (error) {
      if (error instanceof Stopped || work.controller.signal.aborted) throw new Stopped();
      await fail(work, 'build', `building ${source} failed: ${message(error)}`);
      return undefined;
    }
  }

  /** Submits the launch (or finds the job an earlier attempt made) and returns the job, or undefined when it failed. */
  async function submit(work: Work, queue: QueueDefinition, runner: JobRunner, target: RunnerTarget) {
    const item = work.item;
    if (item.phase === 'submitting') {
      // The last agent died between the create call and persisting the job name: the job may exist.
      const found = await findJob(runner, item.launchId);
      if (found) {
        await record(work, {
          phase: 'submitted',
          jobName: found.name,
          status: found.status,
          message: 'found by launch id',
        });
        log.info(fields(work, { jobName: found.name }), `re-attached to ${found.name} (found by launch id)`);
        return found;
      }
    }
    if (work.cancelRequested) {
      await fail(work, 'agent', 'cancelled on request before a job was submitted');
      return undefined;
    }
    let image = item.imageUri ?? item.request.image;
    if (image === undefined && item.request.source !== undefined) {
      image = await buildImage(work);
      if (image === undefined) return undefined;
    }
    let plan: ReturnType<typeof planLaunch>;
    try {
      plan = planLaunch({
        config: queue.config,
        ...(item.request.variables ? { variables: item.request.variables } : {}),
        overrides: item.request.overrides,
        env,
        project: target.project,
        region: target.region,
        runId: item.runId,
        launchId: item.launchId,
        queueName: queue.name,
        ...(image === undefined ? {} : { image }),
      });
    } catch (error) {
      const issues = error instanceof ConfigError && error.issues.length > 0 ? error.issues : undefined;
      const detail = issues ? issues.map((i) => `${i.path || '(top level)'}: ${i.message}`).join('; ') : message(error);
      await fail(
        work,
        'agent',
        `queue \`${queue.name}\` config does not resolve for this launch: ${detail}. Fix it with \`vertex-launch queue update ${queue.name} --config FILE\`, then enqueue again`,
      );
      return undefined;
    }
    checkStop(work);
    await record(work, { phase: 'submitting', ...(image === undefined ? {} : { imageUri: image }) });
    work.inFlight = true;
    let result: Awaited<ReturnType<JobRunner['submit']>>;
    try {
      result = await runner.submit(plan.request, { launchId: item.launchId });
    } catch (error) {
      work.inFlight = false;
      const hint = isVertexLaunchError(error) && error.hint ? ` (${error.hint})` : '';
      await fail(work, 'run', `could not submit the job: ${message(error)}${hint}`);
      return undefined;
    }
    await record(work, { phase: 'submitted', jobName: result.jobName, status: result.job.status });
    work.inFlight = false;
    log.info(
      fields(work, { jobName: result.jobName, existing: result.existing, consoleUrl: result.job.consoleUrl }),
      `submitted ${result.jobName}`,
    );
    return result.job;
  }

  /** Follows the job until it ends (then finishes the item) or the agent stops. */
  async function follow(work: Work, runner: JobRunner, jobName: string, initial: JobSnapshot | undefined) {
    let latest = initial;
    let watchError: unknown;
    let stopWatch: (() => void) | undefined;
    let cancelSent = false;
    let timedOut: string | undefined;
    let lastRecorded = work.item.status;
    const startWatch = (from: JobSnapshot | undefined) => {
      if (!runner.watch) return;
      stopWatch = runner.watch(
        jobName,
        {
          onChange: (job) => {
            latest = job;
            work.wake.wake();
          },
          onError: (error) => {
            watchError = error;
            work.wake.wake();
          },
        },
        from,
      );
    };
    const onAbort = () => work.wake.wake();
    work.controller.signal.addEventListener('abort', onAbort);
    try {
      if (!latest) latest = await runner.get(jobName);
      startWatch(latest);
      for (;;) {
        checkStop(work);
        if (watchError !== undefined) {
          const error = watchError;
          watchError = undefined;
          stopWatch?.();
          if (grpcCode(error) === 5) {
            await fail(work, 'run', `job ${jobName} no longer exists (${message(error)}); enqueue the launch again`);
            return;
          }
          log.warn(fields(work, { error: message(error) }), `lost track of ${jobName}; retrying`);
          await work.wake.wait(pollMs);
          checkStop(work);
          try {
            latest = await runner.get(jobName);
          } catch (getError) {
            watchError = getError;
            continue;
          }
          startWatch(latest);
        }
        const job = latest;
        if (job) {
          if (job.terminal) {
            if (timedOut !== undefined) await fail(work, 'run', timedOut);
            else await complete(work, job);
            return;
          }
          if (job.status !== lastRecorded) {
            lastRecorded = job.status;
            const current = work.item.phase ?? 'submitted';
            const next: LaunchPhase =
              job.status === 'running' && PHASE_INDEX(current) < PHASE_INDEX('running') ? 'running' : current;
            await record(work, { phase: next, jobName, status: job.status });
            log.info(
              fields(work, { jobName, state: job.state }),
              `${jobName} is ${job.state.replace(/^JOB_STATE_/, '')}`,
            );
          }
          if (timedOut === undefined && NOT_STARTED.has(job.status) && job.createTime) {
            const waited = clock.now() - job.createTime.getTime();
            if (waited >= startTimeoutMs) {
              timedOut = `job ${jobName} did not start within the start timeout of ${formatMs(startTimeoutMs)} (still ${job.state.replace(/^JOB_STATE_/, '')}); it was cancelled. Raise \`start_timeout\` in launch-config.yaml or check the region's quota for the machine type`;
              log.warn(
                fields(work, { event: 'start_timeout', jobName, state: job.state, waitedMs: waited }),
                `start timeout: cancelling ${jobName}`,
              );
            }
          }
        }
        if ((work.cancelRequested || timedOut !== undefined) && !cancelSent) {
          if (timedOut === undefined)
            log.info(fields(work, { event: 'cancel', jobName }), `cancel requested: cancelling ${jobName}`);
          cancelSent = await cancelJob(work, runner, jobName);
        }
        await work.wake.wait(pollMs);
        if (!runner.watch) {
          try {
            latest = await runner.get(jobName);
          } catch (error) {
            if (grpcCode(error) === 5) watchError = error;
            else log.warn(fields(work, { error: message(error) }), `could not read ${jobName}; retrying`);
          }
        }
      }
    } finally {
      work.controller.signal.removeEventListener('abort', onAbort);
      stopWatch?.();
    }
  }

  /** Asks the runner to cancel; true when it accepted (a failure is logged and retried on the next round). */
  async function cancelJob(work: Work, runner: JobRunner, jobName: string): Promise<boolean> {
    try {
      await runner.cancel(jobName, { wait: false });
      return true;
    } catch (error) {
      log.warn(fields(work, { jobName, error: message(error) }), `could not cancel ${jobName}; will retry`);
      return false;
    }
  }

  async function runLaunch(work: Work): Promise<void> {
    const item = work.item;
    const queue = await store.getQueue(item.queue);
    if (!queue) {
      await fail(work, 'agent', `queue \`${item.queue}\` no longer exists`);
      return;
    }
    const defaults = defaultTarget();
    const project = queue.project ?? options.project ?? defaults.project;
    const region = queue.region ?? options.region ?? defaults.region;
    if (!project || !region) {
      await fail(
        work,
        'agent',
        `no ${!project ? 'project' : 'region'} for queue \`${queue.name}\`: set \`environment.${!project ? 'project' : 'region'}\` in launch-config.yaml or \`vertex-launch queue update ${queue.name} --${!project ? 'project' : 'region'} ...\``,
      );
      return;
    }
    const target = { project, region };
    const runner = runnerFor(target);
    let job: JobSnapshot | undefined;
    const jobName = item.jobName;
    if (jobName === undefined) {
      job = await submit(work, queue, runner, target);
      if (!job) return;
    } else {
      log.info(fields(work, { jobName, phase: item.phase }), `re-attached to ${jobName}`);
    }
    await follow(work, runner, job?.name ?? (jobName as string), job);
  }

  function startWork(item: QueueItem): void {
    const work: Work = {
      item,
      controller: new AbortController(),
      wake: new Wakeup(clock),
      cancelRequested: item.cancelRequested,
      inFlight: false,
      lost: false,
      finished: false,
      done: Promise.resolve(),
    };
    active.set(item.id, work);
    totals.claimed += 1;
    log.info(
      fields(work, { launchId: item.launchId, attempt: item.attempts, phase: item.phase }),
      item.attempts > 1 ? `resumed item ${item.id} at phase ${item.phase}` : `claimed item ${item.id}`,
    );
    const previous = lingering.get(item.id);
    work.done = (async () => {
      try {
        // This agent lost the lease of this item earlier and claimed it again: let the old worker's call settle
        // first, so a create still in flight is seen by the lookup by launch id.
        if (previous) await previous;
        await runLaunch(work);
      } catch (error) {
        if (!(error instanceof Stopped)) {
          log.error(fields(work, { error: message(error) }), `unexpected error: ${message(error)}`);
          if (!work.controller.signal.aborted && !work.lost && !work.finished && !work.inFlight) {
            // Fail it rather than retry at once: a launch that breaks the agent must not loop. When even that write
            // fails (the store is down), the lease runs out and a later attempt resumes it.
            await fail(work, 'agent', `the agent hit an unexpected error: ${message(error)}; enqueue it again`).catch(
              () => undefined,
            );
          }
        }
      } finally {
        if ((work.finished || work.lost || !stopping) && active.get(item.id) === work) active.delete(item.id);
        loopWake.wake();
      }
    })();
    // Kept until settled, in case the item comes back to this agent after a lost lease.
    const done = work.done;
    lingering.set(item.id, done);
    void done.then(() => {
      if (lingering.get(item.id) === done) lingering.delete(item.id);
    });
  }

  /** Takes back a deleted queue once it exists again. */
  async function recheckDeletedQueues(): Promise<void> {
    for (const name of deletedQueues) {
      if (await store.getQueue(name).catch(() => undefined)) {
        deletedQueues.delete(name);
        log.info({ agentId, queue: name, event: 'queue_created' }, `queue \`${name}\` exists again; draining it`);
      }
    }
  }

  async function claimMore(): Promise<void> {
    if (deletedQueues.size > 0) await recheckDeletedQueues();
    while (!stopping && active.size < capacity) {
      const claimable = queues.filter((name) => !deletedQueues.has(name));
      if (claimable.length === 0) return;
      let item: QueueItem | undefined;
      try {
        item = await store.claim({
          agentId,
          queues: claimable,
          leaseMs,
          ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
        });
      } catch (error) {
        const gone = error instanceof QueueError && error.reason === 'queue_not_found' ? error.queue : undefined;
        if (gone !== undefined && claimable.includes(gone)) {
          // One deleted queue must not stop the agent from draining the others.
          deletedQueues.add(gone);
          const rest = claimable.filter((name) => name !== gone);
          log.error(
            { agentId, queue: gone, event: 'queue_deleted' },
            `queue \`${gone}\` was deleted; no longer claiming from it${rest.length > 0 ? `, still draining ${rest.map((n) => `\`${n}\``).join(', ')}` : ' and no other queue is left: recreate it or restart the agent with other `queues`'}`,
          );
          continue;
        }
        log.warn({ agentId, error: message(error) }, `could not claim from the queue store: ${message(error)}`);
        return;
      }
      if (!item) return;
      if (stopping) {
        await store.requeue(item.id, agentId, `agent ${agentId} is stopping`).catch(() => undefined);
        return;
      }
      startWork(item);
    }
  }

  /** Tells the store who this agent is and how busy (for `listAgents`); a failure is logged, never fatal. */
  async function report(reportState: 'running' | 'stopping' | 'stopped'): Promise<void> {
    try {
      await store.recordAgent({
        agentId,
        host: hostname().slice(0, 255),
        pid: process.pid,
        queues,
        maxJobs,
        active: [...active.values()].filter((work) => !work.finished && !work.lost).length,
        state: reportState,
        heartbeatIntervalMs: heartbeatMs,
      });
      reported = true;
    } catch (error) {
      log.warn({ agentId, error: message(error) }, `could not report this agent to the queue store: ${message(error)}`);
    }
  }

  async function heartbeats(): Promise<void> {
    while (!stopping) {
      await heartbeatWake.wait(heartbeatMs);
      if (stopping) break;
      await report('running');
      await Promise.all(
        [...active.values()].map(async (work) => {
          if (work.finished || work.lost) return;
          try {
            const item = await store.heartbeat(work.item.id, agentId, leaseMs);
            if (item.cancelRequested && !work.cancelRequested) {
              work.cancelRequested = true;
              work.wake.wake();
            }
          } catch (error) {
            if (isLeaseLost(error)) {
              if (work.finished) return;
              work.lost = true;
              work.controller.abort();
              log.warn(fields(work, { reason: message(error) }), leaseLostMessage(error));
            } else {
              log.warn(fields(work, { error: message(error) }), `heartbeat failed: ${message(error)}`);
            }
          }
        }),
      );
    }
  }

  async function logStatus(): Promise<void> {
    let queued = 0;
    for (const name of queues) {
      queued += (await store.list({ queue: name, states: ['queued'], limit: 10_000 }).catch(() => [])).length;
    }
    const launches = [...active.values()];
    const running = launches.filter((w) => w.item.status === 'running').length;
    log.info(
      {
        agentId,
        event: 'status',
        active: launches.length,
        running,
        starting: launches.length - running,
        queued,
        maxJobs,
        ...totals,
      },
      `status: ${launches.length} active (${running} running), ${queued} queued, ${totals.succeeded} succeeded, ${totals.failed} failed, ${totals.cancelled} cancelled`,
    );
  }

  async function loop(): Promise<void> {
    const beating = heartbeats();
    while (!stopping) {
      await claimMore();
      if (statusMs > 0 && clock.now() - lastStatusAt >= statusMs) {
        lastStatusAt = clock.now();
        await logStatus();
      }
      await loopWake.wait(pollMs);
    }
    heartbeatWake.wake();
    await beating;
  }

  return {
    id: agentId,

    start() {
      if (started) return started;
      started = (async () => {
        const missing: string[] = [];
        for (const name of queues) if (!(await store.getQueue(name))) missing.push(name);
        if (missing.length > 0) {
          state = 'stopped';
          throw new ConfigError(
            `The agent cannot start: queue${missing.length === 1 ? '' : 's'} ${missing.map((n) => `\`${n}\``).join(', ')} ${missing.length === 1 ? 'does' : 'do'} not exist.`,
            missing.map((name) => ({
              path: `queues[${queues.indexOf(name)}]`,
              message: `queue \`${name}\` does not exist`,
              severity: 'error' as const,
            })),
            {
              hint: `Create ${missing.length === 1 ? 'it' : 'them'} with \`vertex-launch queue create <name> --config <file>\`, or fix \`queues\` in launch-config.yaml.`,
            },
          );
        }
        state = 'running';
        await report('running');
        log.info(
          { agentId, queues, maxJobs, leaseMs, pollMs, startTimeoutMs },
          `agent ${agentId} started: queues ${queues.join(', ')}, max_jobs ${maxJobs}`,
        );
        await loop();
        if (stopPromise) await stopPromise;
      })();
      return started;
    },

    stop(reason = 'stop requested') {
      if (stopPromise) return stopPromise;
      stopping = true;
      if (state !== 'stopped') state = 'stopping';
      stopPromise = (async () => {
        log.info({ agentId, reason, active: active.size }, `agent stopping (${reason})`);
        if (reported) await report('stopping');
        loopWake.wake();
        heartbeatWake.wake();
        const works = [...active.values()];
        for (const work of works) work.controller.abort();
        const settled = new Set<Work>();
        const grace = new AbortController();
        await Promise.race([
          Promise.all(works.map((work) => work.done.then(() => settled.add(work)))),
          clock.sleep(stopGraceMs, grace.signal),
        ]);
        // Ends the grace timer, which would otherwise keep the process alive.
        grace.abort();
        for (const work of works) {
          if (work.finished || work.lost) continue;
          if (!settled.has(work) || work.inFlight) {
            log.warn(
              fields(work, { phase: work.item.phase }),
              `item ${work.item.id} had a call in flight; its lease runs out in ${formatMs(leaseMs)} and another agent resumes it`,
            );
            continue;
          }
          try {
            await store.requeue(
              work.item.id,
              agentId,
              `agent ${agentId} stopped (${reason}); the next agent resumes at phase ${work.item.phase}${work.item.jobName ? ` with job ${work.item.jobName}` : ''}`,
            );
            totals.released += 1;
            log.info(
              fields(work, { phase: work.item.phase }),
              `released item ${work.item.id} (phase ${work.item.phase})`,
            );
          } catch (error) {
            log.warn(
              fields(work, { error: message(error) }),
              `could not release item ${work.item.id}: ${message(error)}`,
            );
          }
          active.delete(work.item.id);
        }
        state = 'stopped';
        if (reported) await report('stopped');
        log.info({ agentId, ...totals }, 'agent stopped');
      })();
      return stopPromise;
    },

    status() {
      return {
        agentId,
        state,
        maxJobs,
        queues,
        active: [...active.values()].map((work) => ({
          itemId: work.item.id,
          queue: work.item.queue,
          runId: work.item.runId,
          launchId: work.item.launchId,
          phase: work.item.phase ?? 'claimed',
          jobName: work.item.jobName,
          status: work.item.status,
          cancelRequested: work.cancelRequested,
        })),
        totals: { ...totals },
      };
    },
  };
}
