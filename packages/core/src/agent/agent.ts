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
 *
 * This file is the loop (claim, heartbeat, release, stop); each claimed item is run by a `LaunchWorker` (worker.ts)
 * through one handler per phase (phases.ts).
 */
import { hostname } from 'node:os';
import type { BuilderCredentials, ImageBuilder, ImageRegistry } from '../build/contract.js';
import { type Clock, systemClock } from '../clock.js';
import { ConfigError } from '../errors.js';
import type { LaunchStatus } from '../job-state.js';
import type { JobRunner } from '../launch/runner.js';
import { isLeaseLost, isStoreUnavailable, QueueError } from '../queue/errors.js';
import type { LaunchPhase, QueueItem, QueueStore } from '../queue/store.js';
import { backoff, type RetryPolicy } from '../retry.js';
import { ApiOutageLog } from './outage.js';
import { Wakeup } from './wakeup.js';
import { type AgentContext, API_RELEASE_POLICY, formatMs, LaunchWorker, leaseLostMessage, message } from './worker.js';

export { API_RELEASE_POLICY } from './worker.js';

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
   * one region). A runner's own `projectId` / `region` properties, when it has them, are the default target.
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
  clock?: Clock;
  /** Jitter of the retries of queue-store calls, numbers in [0, 1). Default `Math.random`; tests pass a seeded one. */
  random?: () => number;
  /**
   * How a launch that hit a transient API failure (UNAVAILABLE, INTERNAL, a rate quota, DEADLINE_EXCEEDED of a call
   * that makes no job) before a job exists is given back to its queue. Default {@link API_RELEASE_POLICY}.
   */
  apiRelease?: RetryPolicy;
  /** The outage log (one line per API outage); the CLI shares it with its runners' retry hooks. Default: a new one. */
  apiOutage?: ApiOutageLog;
  /** Receives the agent's structured log lines (a pino logger fits as is). */
  logger?: AgentLogger;
  /** Environment for `${env:NAME}` macros of queue configs. Default `process.env`. */
  env?: Record<string, string | undefined>;
  /**
   * The environment variables queue configs may read with `${env:NAME}` (`allowed_env` in launch-config.yaml).
   * Default none: a queue config is data from whoever may write the queue, so it reads nothing of the agent's
   * environment unless listed here; credential names (`*_TOKEN`, `*_KEY`, ...) only when listed, too.
   */
  allowedEnv?: readonly string[];
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

/** Leases renewed at once in a heartbeat round. */
const HEARTBEAT_CONCURRENCY = 16;

/** A new agent id: `<host>:<pid>:<random>`. */
export function newAgentId(): string {
  return `${hostname().slice(0, 60)}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
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
  return new AgentLoop(options, maxJobs);
}

/** The loop of an agent: claims items, keeps their leases, gives them back on stop. */
class AgentLoop implements Agent {
  readonly id: string;
  readonly #options: AgentOptions;
  readonly #ctx: AgentContext;
  readonly #maxJobs: number;
  readonly #capacity: number;
  readonly #queues: string[];
  /** Queues deleted while the agent runs: not claimed from (the rest are still drained) until created again. */
  readonly #deletedQueues = new Set<string>();
  readonly #heartbeatMs: number;
  readonly #statusMs: number;
  readonly #stopGraceMs: number;
  readonly #active = new Map<string, LaunchWorker>();
  /** Workers that lost their lease but have not returned yet (a call of theirs may still be in flight). */
  readonly #lingering = new Map<string, Promise<void>>();
  readonly #totals = { claimed: 0, succeeded: 0, failed: 0, cancelled: 0, released: 0 };
  readonly #loopWake: Wakeup;
  readonly #heartbeatWake: Wakeup;
  readonly #runners = new Map<string, JobRunner>();
  #state: AgentStatus['state'] = 'idle';
  #stopping = false;
  #stopPromise: Promise<void> | undefined;
  #started: Promise<void> | undefined;
  #lastStatusAt = 0;
  /** The store has a record of this agent (so stopping updates it). */
  #reported = false;

  constructor(options: AgentOptions, maxJobs: number) {
    this.#options = options;
    this.id = options.agentId ?? newAgentId();
    this.#maxJobs = maxJobs;
    this.#capacity = maxJobs === -1 ? Number.POSITIVE_INFINITY : maxJobs;
    this.#queues = [...new Set(options.queues)];
    const leaseMs = options.leaseMs ?? DEFAULT_AGENT_LEASE_MS;
    this.#heartbeatMs = Math.max(10, Math.floor(leaseMs / 3));
    this.#statusMs = options.statusIntervalMs ?? 60_000;
    this.#stopGraceMs = options.stopGraceMs ?? 5_000;
    const clock = options.clock ?? systemClock;
    const log = options.logger ?? silentAgentLogger;
    this.#loopWake = new Wakeup(clock);
    this.#heartbeatWake = new Wakeup(clock);
    this.#ctx = {
      options,
      store: options.store,
      agentId: this.id,
      log,
      clock,
      random: options.random ?? Math.random,
      env: options.env ?? process.env,
      startTimeoutMs: options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS,
      pollMs: options.pollIntervalMs ?? DEFAULT_AGENT_POLL_INTERVAL_MS,
      leaseMs,
      releasePolicy: options.apiRelease ?? API_RELEASE_POLICY,
      outage: options.apiOutage ?? new ApiOutageLog(log, { agentId: this.id }, clock),
      runnerFor: (target) => this.#runnerFor(target),
      defaultTarget: () => this.#defaultTarget(),
      onFinished: (item) => this.#onFinished(item),
    };
  }

  start(): Promise<void> {
    this.#started ??= this.#run();
    return this.#started;
  }

  stop(reason = 'stop requested'): Promise<void> {
    if (!this.#stopPromise) {
      this.#stopping = true;
      if (this.#state !== 'stopped') this.#state = 'stopping';
      this.#stopPromise = this.#stop(reason);
    }
    return this.#stopPromise;
  }

  status(): AgentStatus {
    return {
      agentId: this.id,
      state: this.#state,
      maxJobs: this.#maxJobs,
      queues: this.#queues,
      active: [...this.#active.values()].map((w) => ({
        itemId: w.item.id,
        queue: w.item.queue,
        runId: w.item.runId,
        launchId: w.item.launchId,
        phase: w.item.phase ?? 'claimed',
        jobName: w.item.jobName,
        status: w.item.status,
        cancelRequested: w.cancelRequested,
      })),
      totals: { ...this.#totals },
    };
  }

  async #run(): Promise<void> {
    if (!(await this.#whenStoreAnswers(() => this.#checkQueues()))) return;
    this.#state = 'running';
    const { agentId, log, leaseMs, pollMs, startTimeoutMs } = this.#ctx;
    log.info(
      { agentId, queues: this.#queues, maxJobs: this.#maxJobs, leaseMs, pollMs, startTimeoutMs },
      `agent ${agentId} started: queues ${this.#queues.join(', ')}, max_jobs ${this.#maxJobs}`,
    );
    await this.#report('running');
    const beating = this.#heartbeats();
    while (!this.#stopping) {
      await this.#claimMore();
      if (this.#statusMs > 0 && this.#ctx.clock.now() - this.#lastStatusAt >= this.#statusMs) {
        this.#lastStatusAt = this.#ctx.clock.now();
        await this.#logStatus();
      }
      await this.#loopWake.wait(pollMs);
    }
    this.#heartbeatWake.wake();
    await beating;
    if (this.#stopPromise) await this.#stopPromise;
  }

  /**
   * Runs `call`, waiting while the queue store cannot answer (a database restarting, unreachable): one warning, then
   * a line each time the wait grows, with backoff up to 30 s, until it answers or the agent is stopped. Never gives
   * up on its own: an agent started during an outage starts when the store is back. False when stopped first.
   */
  async #whenStoreAnswers(call: () => Promise<void>): Promise<boolean> {
    const { log, agentId, clock, random } = this.#ctx;
    const policy = { initialDelayMs: 500, multiplier: 2, maxDelayMs: 30_000, jitter: 'equal' as const };
    const startedAt = clock.now();
    for (let attempt = 1; ; attempt++) {
      try {
        await call();
        if (attempt > 1) {
          log.info(
            { agentId, event: 'store_available', waitedMs: clock.now() - startedAt },
            `the queue store answers again after ${formatMs(clock.now() - startedAt)}`,
          );
        }
        return true;
      } catch (error) {
        if (!isStoreUnavailable(error) || this.#stopping) throw error;
        const delayMs = backoff(policy, attempt, random);
        log.warn(
          { agentId, event: 'store_unavailable', attempt, delayMs, error: message(error) },
          `the queue store does not answer (${message(error)}); waiting for it, next try in ${formatMs(delayMs)}`,
        );
        await this.#loopWake.wait(delayMs); // stop() wakes it
        if (this.#stopping) {
          this.#state = 'stopped';
          return false;
        }
      }
    }
  }

  /** Rejects with a ConfigError naming every queue of `queues` that does not exist. */
  async #checkQueues(): Promise<void> {
    const missing: string[] = [];
    for (const name of this.#queues) if (!(await this.#ctx.store.getQueue(name))) missing.push(name);
    if (missing.length === 0) return;
    this.#state = 'stopped';
    throw new ConfigError(
      `The agent cannot start: queue${missing.length === 1 ? '' : 's'} ${missing.map((n) => `\`${n}\``).join(', ')} ${missing.length === 1 ? 'does' : 'do'} not exist.`,
      missing.map((name) => ({
        path: `queues[${this.#queues.indexOf(name)}]`,
        message: `queue \`${name}\` does not exist`,
        severity: 'error' as const,
      })),
      {
        hint: `Create ${missing.length === 1 ? 'it' : 'them'} with \`vertex-launch queue create <name> --queue-config <file>\`, or fix \`queues\` in launch-config.yaml.`,
      },
    );
  }

  #runnerFor(target: RunnerTarget): JobRunner {
    const factory = this.#options.runner;
    if (typeof factory !== 'function') return factory;
    const key = `${target.project}/${target.region}`;
    let runner = this.#runners.get(key);
    if (!runner) {
      runner = factory(target);
      this.#runners.set(key, runner);
    }
    return runner;
  }

  #defaultTarget(): Partial<RunnerTarget> {
    const given = this.#options.runner;
    const runner = typeof given === 'function' ? undefined : given;
    return {
      ...(typeof runner?.projectId === 'string' ? { project: runner.projectId } : {}),
      ...(typeof runner?.region === 'string' ? { region: runner.region } : {}),
    };
  }

  #onFinished(item: QueueItem): void {
    if (item.outcome === 'succeeded') this.#totals.succeeded += 1;
    else if (item.outcome === 'cancelled') this.#totals.cancelled += 1;
    else this.#totals.failed += 1;
    try {
      this.#options.onItemFinished?.(item);
    } catch {
      // A listener's failure must not stop the agent.
    }
  }

  /** Claims items while there is room, each run by a worker of its own. */
  async #claimMore(): Promise<void> {
    if (this.#deletedQueues.size > 0) await this.#recheckDeletedQueues();
    const { store, agentId, leaseMs, log } = this.#ctx;
    const maxAttempts = this.#options.maxAttempts;
    while (!this.#stopping && this.#active.size < this.#capacity) {
      const claimable = this.#queues.filter((name) => !this.#deletedQueues.has(name));
      if (claimable.length === 0) return;
      let item: QueueItem | undefined;
      try {
        item = await store.claim({
          agentId,
          queues: claimable,
          leaseMs,
          ...(maxAttempts === undefined ? {} : { maxAttempts }),
        });
      } catch (error) {
        if (this.#queueDeleted(error, claimable)) continue;
        log.warn({ agentId, error: message(error) }, `could not claim from the queue store: ${message(error)}`);
        return;
      }
      if (!item) return;
      if (this.#stopping) {
        await store.requeue(item.id, agentId, `agent ${agentId} is stopping`).catch(() => undefined);
        return;
      }
      this.#startWorker(item);
    }
  }

  /** True (and the queue set aside) when a claim failed because one of `claimable` was deleted. */
  #queueDeleted(error: unknown, claimable: string[]): boolean {
    const gone = error instanceof QueueError && error.reason === 'queue_not_found' ? error.queue : undefined;
    if (gone === undefined || !claimable.includes(gone)) return false;
    // One deleted queue must not stop the agent from draining the others.
    this.#deletedQueues.add(gone);
    const rest = claimable.filter((name) => name !== gone);
    this.#ctx.log.error(
      { agentId: this.id, queue: gone, event: 'queue_deleted' },
      `queue \`${gone}\` was deleted; no longer claiming from it${rest.length > 0 ? `, still draining ${rest.map((n) => `\`${n}\``).join(', ')}` : ' and no other queue is left: recreate it or restart the agent with other `queues`'}`,
    );
    return true;
  }

  /** Takes back a deleted queue once it exists again. */
  async #recheckDeletedQueues(): Promise<void> {
    for (const name of this.#deletedQueues) {
      if (await this.#ctx.store.getQueue(name).catch(() => undefined)) {
        this.#deletedQueues.delete(name);
        this.#ctx.log.info(
          { agentId: this.id, queue: name, event: 'queue_created' },
          `queue \`${name}\` exists again; draining it`,
        );
      }
    }
  }

  #startWorker(item: QueueItem): void {
    const worker = new LaunchWorker(this.#ctx, item);
    this.#active.set(item.id, worker);
    this.#totals.claimed += 1;
    this.#ctx.log.info(
      worker.fields({ launchId: item.launchId, attempt: item.attempts, phase: item.phase }),
      item.attempts > 1 ? `resumed item ${item.id} at phase ${item.phase}` : `claimed item ${item.id}`,
    );
    // This agent lost the lease of this item earlier and claimed it again: the old worker's call settles first, so a
    // create still in flight is seen by the lookup by launch id.
    const previous = this.#lingering.get(item.id);
    const done = worker.run(previous).finally(() => {
      if ((worker.finished || worker.lost || !this.#stopping) && this.#active.get(item.id) === worker) {
        this.#active.delete(item.id);
      }
      this.#loopWake.wake();
    });
    worker.done = done;
    // Kept until settled, in case the item comes back to this agent after a lost lease.
    this.#lingering.set(item.id, done);
    void done.then(() => {
      if (this.#lingering.get(item.id) === done) this.#lingering.delete(item.id);
    });
  }

  async #heartbeats(): Promise<void> {
    while (!this.#stopping) {
      await this.#heartbeatWake.wait(this.#heartbeatMs);
      if (this.#stopping) break;
      await this.#report('running');
      // A few at a time: an in-process store (SQLite) answers each call at once, so renewing every lease in one
      // Promise.all would hold every renewed item (with its history) alive at the same moment, 1,000 of them for
      // 1,000 launches; a remote store still renews HEARTBEAT_CONCURRENCY leases per round trip.
      const workers = [...this.#active.values()];
      for (let i = 0; i < workers.length; i += HEARTBEAT_CONCURRENCY) {
        await Promise.all(workers.slice(i, i + HEARTBEAT_CONCURRENCY).map((worker) => this.#heartbeat(worker)));
      }
    }
  }

  /** Tells the store who this agent is and how busy (for `listAgents`); a failure is logged, never fatal. */
  async #report(state: 'running' | 'stopping' | 'stopped'): Promise<void> {
    const { store, agentId, log } = this.#ctx;
    try {
      await store.recordAgent({
        agentId,
        host: hostname().slice(0, 255),
        pid: process.pid,
        queues: this.#queues,
        maxJobs: this.#maxJobs,
        active: [...this.#active.values()].filter((worker) => !worker.finished && !worker.lost).length,
        state,
        heartbeatIntervalMs: this.#heartbeatMs,
      });
      this.#reported = true;
    } catch (error) {
      log.warn({ agentId, error: message(error) }, `could not report this agent to the queue store: ${message(error)}`);
    }
  }

  /** Renews one lease; passes a cancel request on, and stops a worker whose lease is lost. */
  async #heartbeat(worker: LaunchWorker): Promise<void> {
    if (worker.finished || worker.lost) return;
    const { store, agentId, leaseMs, log } = this.#ctx;
    try {
      const item = await store.heartbeat(worker.item.id, agentId, leaseMs);
      if (item.cancelRequested && !worker.cancelRequested) {
        worker.cancelRequested = true;
        worker.wake.wake();
      }
    } catch (error) {
      if (isLeaseLost(error)) {
        if (worker.finished) return;
        worker.lost = true;
        worker.controller.abort();
        log.warn(worker.fields({ reason: message(error) }), leaseLostMessage(error));
      } else {
        log.warn(worker.fields({ error: message(error) }), `heartbeat failed: ${message(error)}`);
      }
    }
  }

  async #logStatus(): Promise<void> {
    let queued = 0;
    for (const name of this.#queues) {
      const items = await this.#ctx.store.list({ queue: name, states: ['queued'], limit: 10_000 }).catch(() => []);
      queued += items.length;
    }
    const launches = [...this.#active.values()];
    const running = launches.filter((w) => w.item.status === 'running').length;
    const t = this.#totals;
    this.#ctx.log.info(
      {
        agentId: this.id,
        event: 'status',
        active: launches.length,
        running,
        starting: launches.length - running,
        queued,
        maxJobs: this.#maxJobs,
        ...t,
      },
      `status: ${launches.length} active (${running} running), ${queued} queued, ${t.succeeded} succeeded, ${t.failed} failed, ${t.cancelled} cancelled`,
    );
  }

  async #stop(reason: string): Promise<void> {
    const { log, clock } = this.#ctx;
    log.info({ agentId: this.id, reason, active: this.#active.size }, `agent stopping (${reason})`);
    if (this.#reported) await this.#report('stopping');
    this.#loopWake.wake();
    this.#heartbeatWake.wake();
    const workers = [...this.#active.values()];
    for (const worker of workers) worker.controller.abort();
    const settled = new Set<LaunchWorker>();
    const grace = new AbortController();
    await Promise.race([
      Promise.all(workers.map((worker) => worker.done.then(() => settled.add(worker)))),
      clock.sleep(this.#stopGraceMs, grace.signal),
    ]);
    // Ends the grace timer, which would otherwise keep the process alive.
    grace.abort();
    for (const worker of workers) {
      if (worker.finished || worker.lost) continue;
      if (!settled.has(worker) || worker.inFlight) {
        log.warn(
          worker.fields({ phase: worker.item.phase }),
          `item ${worker.item.id} had a call in flight; its lease runs out in ${formatMs(this.#ctx.leaseMs)} and another agent resumes it`,
        );
        continue;
      }
      await this.#release(worker, reason);
      this.#active.delete(worker.item.id);
    }
    this.#state = 'stopped';
    if (this.#reported) await this.#report('stopped');
    log.info({ agentId: this.id, ...this.#totals }, 'agent stopped');
  }

  /** Gives an item back to its queue, keeping its phase and job name, so the next agent resumes it at once. */
  async #release(worker: LaunchWorker, reason: string): Promise<void> {
    const { store, agentId, log } = this.#ctx;
    const { id, phase, jobName } = worker.item;
    try {
      await store.requeue(
        id,
        agentId,
        `agent ${agentId} stopped (${reason}); the next agent resumes at phase ${phase}${jobName ? ` with job ${jobName}` : ''}`,
      );
      this.#totals.released += 1;
      log.info(worker.fields({ phase }), `released item ${id} (phase ${phase})`);
    } catch (error) {
      log.warn(worker.fields({ error: message(error) }), `could not release item ${id}: ${message(error)}`);
    }
  }
}
