/**
 * The queue store contract: durable launch queues that one or many launch agents drain.
 *
 * A store keeps queues (a name, a queue config, a default project/region) and their items (launch requests). Agents
 * `claim` items under a lease, `heartbeat` to keep it, and persist every step of a launch with `recordPhase` before
 * and after each side effect. When an agent dies its lease runs out and another agent re-claims the item, seeing the
 * phase, image and job name the first one persisted — so it re-attaches to a submitted job instead of submitting
 * twice. Writes are fenced: an agent that lost its lease can no longer change the item.
 *
 * Agents also report themselves (`recordAgent`) with each heartbeat, so `listAgents` shows who drains what.
 *
 * This file holds types and constants only; the state machine every store shares is in `transitions.ts`.
 * Implementations: `memoryQueueStore()` (core, for tests) and `sqliteQueueStore()` (`@vertex-launch/queue-sqlite`).
 */
import type { FailureClass } from '../failure.js';
import type { LaunchStatus } from '../job-state.js';

/** The compute resource a queue launches on. Only Vertex AI CustomJobs for now. */
export type QueueResource = 'gcp-vertex';

/** Every queue resource. */
export const QUEUE_RESOURCES: readonly QueueResource[] = ['gcp-vertex'];

/** Queue names: lowercase letters, digits, `-` and `_`, starting with a letter or digit, at most 63 characters. */
export const QUEUE_NAME_PATTERN = /^[a-z0-9][a-z0-9-_]{0,62}$/;

/** A saved queue. */
export interface QueueDefinition {
  /** Unique name (see `QUEUE_NAME_PATTERN`). */
  readonly name: string;
  /** The compute resource, `gcp-vertex`. */
  readonly resource: QueueResource;
  /** The queue config (`spec`, `run`, `template_variables`, `allowed_overrides`) as written; it validates. */
  readonly config: Readonly<Record<string, unknown>>;
  /** GCP project launches use unless the launch sets one. */
  readonly project?: string;
  /** Vertex AI region launches use unless the launch sets one, e.g. `us-central1`. */
  readonly region?: string;
  /** Free text shown by `queue list`. */
  readonly description?: string;
  /** ISO 8601 time the queue was created. */
  readonly createdAt: string;
  /** ISO 8601 time of the last change. */
  readonly updatedAt: string;
}

/** Input of `QueueStore.createQueue`. */
export interface CreateQueueInput {
  /** Unique queue name (see `QUEUE_NAME_PATTERN`). */
  name: string;
  /** Defaults to `gcp-vertex`. */
  resource?: QueueResource;
  /**
   * The queue config. Defaults to `DEFAULT_QUEUE_CONFIG`, which does not validate until `spec.staging_bucket` is set:
   * start from `seedQueueConfig({ spec: { staging_bucket: 'gs://my-bucket' } })`.
   */
  config?: unknown;
  /** Default GCP project of the queue's launches. */
  project?: string;
  /** Default Vertex AI region of the queue's launches. */
  region?: string;
  /** Free text shown by `queue list`. */
  description?: string;
}

/** Input of `QueueStore.updateQueue`: what to change. `null` removes an optional value. */
export interface UpdateQueueInput {
  /** The new queue config (replaces the old one; it must validate). */
  config?: unknown;
  project?: string | null;
  region?: string | null;
  description?: string | null;
}

/** Options of `QueueStore.deleteQueue`. */
export interface DeleteQueueOptions {
  /**
   * Delete even when items are queued or claimed; they are marked failed (phase `agent`) with a message naming the
   * deleted queue. Without it, deleting a queue with unfinished items is refused.
   */
  force?: boolean;
}

/** What to launch: the request an item carries. */
export interface LaunchRequest {
  /** A ready image URI (`${image_uri}`); mutually exclusive with `source`. */
  image?: string;
  /** A source directory or archive the agent builds an image from; mutually exclusive with `image`. */
  source?: string;
  /** Launch values of the queue's `template_variables`. */
  variables?: Record<string, string>;
  /** Launch overrides `{ spec?: {...}, run?: {...} }`, limited by the queue's `allowed_overrides`. */
  overrides?: unknown;
  /** The run id (`${run_id}`); generated when not given. Lowercase letters, digits, `-`, `_`, at most 63. */
  runId?: string;
  /** Who enqueued it (user, CI job), shown in `queue items`. */
  submitter?: string;
}

/** Item states: `queued` -> `claimed` (by an agent, with a phase) -> `finished` (with an outcome). */
export type QueueItemState = 'queued' | 'claimed' | 'finished';

/** Every item state. */
export const QUEUE_ITEM_STATES: readonly QueueItemState[] = ['queued', 'claimed', 'finished'];

/** How far a launch got; persisted before and after every side effect. Phases only move forward. */
export type LaunchPhase = 'claimed' | 'building' | 'built' | 'submitting' | 'submitted' | 'running';

/** Every launch phase, in order. */
export const LAUNCH_PHASES: readonly LaunchPhase[] = [
  'claimed',
  'building',
  'built',
  'submitting',
  'submitted',
  'running',
];

/** Where a launch failed: in the agent itself, while building the image, or while running the job. */
export type FailurePhase = 'agent' | 'build' | 'run';

/** Every failure phase. */
export const FAILURE_PHASES: readonly FailurePhase[] = ['agent', 'build', 'run'];

/** The outcome of a finished item. */
export type QueueItemOutcome = 'succeeded' | 'failed' | 'cancelled';

/** The final statuses a job can end in (terminal `LaunchStatus` values). */
export type FinalLaunchStatus = Extract<
  LaunchStatus,
  'succeeded' | 'failed' | 'cancelled' | 'expired' | 'partially_succeeded'
>;

/** Every final launch status. */
export const FINAL_LAUNCH_STATUSES: readonly FinalLaunchStatus[] = [
  'succeeded',
  'failed',
  'cancelled',
  'expired',
  'partially_succeeded',
];

/** Kinds of item events. */
export type QueueItemEventType =
  | 'enqueued'
  | 'claimed'
  | 'lease_expired'
  | 'phase'
  | 'requeued'
  | 'deferred'
  | 'admitted'
  | 'retried'
  | 'cancel_requested'
  | 'completed'
  | 'failed'
  | 'cancelled';

/** One entry of an item's history. */
export interface QueueItemEvent {
  /** ISO 8601 time. */
  readonly at: string;
  readonly type: QueueItemEventType;
  /** The agent that caused it, when an agent did. */
  readonly agentId?: string;
  /** The launch phase reached (or, for `failed`, the failure phase). */
  readonly phase?: LaunchPhase | FailurePhase;
  /** Human text, e.g. `submitted projects/p/locations/r/customJobs/123`. */
  readonly message: string;
}

/** Why a finished item failed. */
export interface QueueItemFailure {
  readonly phase: FailurePhase;
  readonly message: string;
  /** The failure class (`classifyFailure`), when the job (or its create call) ended it. */
  readonly class?: FailureClass;
  /** The replica's exit code, when Vertex or the logs name one. */
  readonly exitCode?: number;
  /** What to do about it, in one line. */
  readonly fix?: string;
}

/** What a launch was admitted with under its queue's `limits` (`QueueStore.admit`). */
export interface QueueItemAdmission {
  /** ISO 8601 time of the latest admission. */
  readonly at: string;
  /** Accelerators the current attempt holds while it is in flight. */
  readonly accelerators: number;
  /**
   * Accelerator-hours the launch can spend at most, summed over its attempts admitted within a day of each other:
   * what the queue's daily budget counts.
   */
  readonly acceleratorHours: number;
}

/** One launch request in a queue, with everything agents persisted about it. */
export interface QueueItem {
  /** Store-wide unique id. */
  readonly id: string;
  /** The queue it was enqueued to. */
  readonly queue: string;
  /** Id of this launch request (uuid); the `vertex-launch-launch-id` label of the job. */
  readonly launchId: string;
  /** Id of the run (`${run_id}`); the `vertex-launch-run-id` label of the job. */
  readonly runId: string;
  /** What to launch. */
  readonly request: Readonly<LaunchRequest>;
  readonly state: QueueItemState;
  /** How far the launch got; set once claimed, kept when re-claimed or requeued. */
  readonly phase?: LaunchPhase;
  /** Someone asked to cancel it; the agent holding it cancels the job and finishes it as `cancelled`. */
  readonly cancelRequested: boolean;
  /** Outcome, once `finished`. */
  readonly outcome?: QueueItemOutcome;
  /** Last known job status. */
  readonly status?: LaunchStatus;
  /** The image built or used. */
  readonly imageUri?: string;
  /** Resource name of the CustomJob, once submitted. */
  readonly jobName?: string;
  /** Why it failed, for `outcome: failed`. */
  readonly failure?: QueueItemFailure;
  /** The agent holding (or that last held) the lease, while `claimed`. */
  readonly agentId?: string;
  /** ISO 8601 end of the current lease, while `claimed`. */
  readonly leaseExpiresAt?: string;
  /** How many times it was claimed (since its last resubmission); a deferral does not count. */
  readonly attempts: number;
  /** How many times the launch was resubmitted after a retryable failure (`retry`); 0 on its first job. */
  readonly retries: number;
  /** The fallback rung the current attempt runs on: 0 is the queue config, N the queue's `fallback[N-1]`. */
  readonly rung: number;
  /** ISO 8601 time before which a queued item is not claimed (a retry's backoff, a deferral). */
  readonly notBefore?: string;
  /** Set once the launch was admitted under its queue's limits; kept after it finishes (the daily budget). */
  readonly admission?: QueueItemAdmission;
  /** ISO 8601 times. */
  readonly enqueuedAt: string;
  readonly updatedAt: string;
  readonly finishedAt?: string;
  /** History, oldest first. */
  readonly events: readonly QueueItemEvent[];
}

/** Input of `QueueStore.claim`. */
export interface ClaimOptions {
  /** Stable id of the claiming agent (e.g. `host:pid:random`). */
  agentId: string;
  /** Queues to take work from. The one served least recently goes first (round-robin across agents). */
  queues: readonly string[];
  /** Lease length in milliseconds; renew it with `heartbeat` before it runs out. */
  leaseMs: number;
  /**
   * An item whose lease ran out this many times (its agents died or hung each time) is not handed out again but
   * finished as failed (phase `agent`), so one poisonous launch cannot take down agent after agent. Default
   * `DEFAULT_MAX_ATTEMPTS`.
   */
  maxAttempts?: number;
}

/** Default of `ClaimOptions.maxAttempts`. */
export const DEFAULT_MAX_ATTEMPTS = 5;

/** Input of `QueueStore.recordPhase`. */
export interface PhaseUpdate {
  /** The phase reached; must not go back. */
  phase: LaunchPhase;
  imageUri?: string;
  jobName?: string;
  status?: LaunchStatus;
  /** Extra text for the event history. */
  message?: string;
}

/** The failure class of an ended job, as the agent classified it. */
export interface FailureClassUpdate {
  class: FailureClass;
  exitCode?: number;
  /** One line; at most 1,000 characters are kept. */
  fix?: string;
  /** Vertex's words, appended to the failure message (at most 2,000 characters are kept). */
  summary?: string;
}

/** Input of `QueueStore.complete`: the job ended. */
export interface CompletionUpdate {
  /** The final job status; `succeeded` -> outcome `succeeded`, `cancelled` -> `cancelled`, others `failed`. */
  status: FinalLaunchStatus;
  jobName: string;
  /** Why it did not succeed, when it did not. Ignored for `succeeded`. */
  failure?: FailureClassUpdate;
}

/** Input of `QueueStore.fail`. */
export interface FailureUpdate {
  phase: FailurePhase;
  /** What went wrong and what to do about it. */
  message: string;
  /** The failure class, when one applies (e.g. a create call refused for `quota`). */
  class?: FailureClass;
  exitCode?: number;
  fix?: string;
}

/** Input of `QueueStore.requeue`. */
export interface RequeueOptions {
  /** Not claimable again for this long (milliseconds, at most a day). */
  delayMs?: number;
  /**
   * A deferral: the agent gave the item back without working on it (its queue's limits are reached). The claim does
   * not count as an attempt and the event is `deferred` instead of `requeued`.
   */
  deferred?: boolean;
}

/**
 * Input of `QueueStore.retry`: resubmit a launch whose job ended with a retryable failure as a new attempt. The item
 * goes back to `queued` with `retries + 1`, the given rung, no phase and no job name (the ended job stays in the
 * history), keeping its image so it is not built again.
 */
export interface RetryUpdate {
  /** The job that ended; absent when no job was made (the create call was refused for `quota`). */
  jobName?: string;
  /** Its final status (`failed` for a refused create). */
  status: FinalLaunchStatus;
  /** Why it ended. */
  failure: FailureClassUpdate;
  /** The fallback rung the next attempt runs on (0: the queue config). */
  rung: number;
  /** The backoff before the next attempt may be claimed, in milliseconds (at most a day). */
  delayMs: number;
  /** Human text for the `retried` event, e.g. `retry 1 of 3: job … was preempted; attempt 2 in 30s`. */
  message: string;
}

/** Which of a queue's `limits` an admission checks. Absent limits are not checked. */
export interface AdmissionLimits {
  /** Launches of the queue in flight (admitted and claimed) at once. */
  maxConcurrent?: number;
  /** Accelerators of the queue's launches in flight at once. */
  maxAccelerators?: number;
  /** Accelerator-hours (each launch's bound) admitted within the last 24 hours. */
  dailyAcceleratorHours?: number;
}

/** Input of `QueueStore.admit`. */
export interface AdmitRequest {
  /** Accelerators this launch holds while in flight (replicas x accelerators over its pools). */
  accelerators: number;
  /** The most accelerator-hours this attempt can spend (`spendBound`). */
  acceleratorHours: number;
  limits: AdmissionLimits;
}

/** The limit an admission was refused for. */
export type AdmissionLimit = 'max_concurrent' | 'max_accelerators' | 'daily_accelerator_hours';

/** Every admission limit. */
export const ADMISSION_LIMITS: readonly AdmissionLimit[] = [
  'max_concurrent',
  'max_accelerators',
  'daily_accelerator_hours',
];

/** The answer of `QueueStore.admit`. */
export type AdmitResult =
  | { readonly admitted: true; readonly item: QueueItem }
  | {
      readonly admitted: false;
      readonly item: QueueItem;
      readonly limit: AdmissionLimit;
      /** Why, with the figures: `3 launches in flight, the limit is 3`. */
      readonly reason: string;
      /** This launch alone exceeds the limit: it can never be admitted (fail it instead of waiting). */
      readonly never: boolean;
    };

/** Input of `QueueStore.list`. */
export interface ListItemsOptions {
  /** Only items of this queue. */
  queue?: string;
  /** Only items in these states. */
  states?: readonly QueueItemState[];
  /** At most this many (default 100). */
  limit?: number;
  /** Page cursor: only items enqueued before the item with this id. */
  before?: string;
}

/** Default page size of `QueueStore.list`. */
export const DEFAULT_LIST_LIMIT = 100;

/** What an agent says about itself: one of its states. */
export type AgentState = 'running' | 'stopping' | 'stopped';

/** Every agent state. */
export const AGENT_STATES: readonly AgentState[] = ['running', 'stopping', 'stopped'];

/**
 * What an agent reports with each of its heartbeats (`QueueStore.recordAgent`), so a dashboard or `queue agents`
 * can show who drains which queues. Never holds a secret.
 */
export interface AgentHeartbeat {
  /** The agent's id, as in leases and item histories. */
  agentId: string;
  /** The machine it runs on (`os.hostname()`), at most 255 characters. */
  host: string;
  /** Its process id, when it is a process of its own. */
  pid?: number;
  /** The queues it drains. */
  queues: readonly string[];
  /** Launches it works on at once; `-1`: no limit. */
  maxJobs: number;
  /** Launches it works on now. */
  active: number;
  state: AgentState;
  /** How often it reports, in milliseconds: a record older than a few of these belongs to an agent that died. */
  heartbeatIntervalMs: number;
}

/** An agent as the store last heard of it. */
export interface AgentRecord extends Readonly<Omit<AgentHeartbeat, 'queues'>> {
  readonly queues: readonly string[];
  /** ISO 8601 time of its first report. */
  readonly startedAt: string;
  /** ISO 8601 time of its last report (the store's clock). */
  readonly heartbeatAt: string;
}

/** Agent records not heard from for this long (7 days) are dropped when any agent reports. */
export const AGENT_RECORD_RETENTION_MS = 7 * 86_400_000;

/**
 * Durable launch queues. Every method is atomic. Methods that take an `agentId` are fenced: they throw a `QueueError`
 * with reason `lease_lost` when that agent no longer holds the item's lease (expired, re-claimed, requeued,
 * finished).
 */
export interface QueueStore {
  /** Driver name, e.g. `memory` or `sqlite`. */
  readonly name: string;

  /** Save a new queue. @throws ConfigError (every problem of name, config, project, region); QueueError `queue_exists`. */
  createQueue(input: CreateQueueInput): Promise<QueueDefinition>;
  /** The queue, or `undefined`. */
  getQueue(name: string): Promise<QueueDefinition | undefined>;
  /** Every queue, by name. */
  listQueues(): Promise<QueueDefinition[]>;
  /** Change a queue. @throws ConfigError; QueueError `queue_not_found`. */
  updateQueue(name: string, patch: UpdateQueueInput): Promise<QueueDefinition>;
  /**
   * Delete a queue. Its finished items stay in the history.
   * @throws QueueError `queue_not_found`; `queue_not_empty` when items are unfinished and `force` is not set.
   */
  deleteQueue(name: string, options?: DeleteQueueOptions): Promise<void>;

  /** Add a launch request; generates `launchId` and (unless given) `runId`. @throws ConfigError; QueueError. */
  enqueue(queue: string, request: LaunchRequest): Promise<QueueItem>;
  /**
   * Atomically take the oldest claimable item (queued and past its `notBefore`, or claimed with an expired lease) of the least recently
   * served queue among `queues`. Two agents never get the same item. A re-claimed item keeps its phase, image and
   * job name. Expired items that used up `maxAttempts` are finished as failed instead. `undefined` when there is no
   * work.
   */
  claim(options: ClaimOptions): Promise<QueueItem | undefined>;
  /** Extend the lease to `leaseMs` from now. Returns the item (check `cancelRequested`). Fenced. */
  heartbeat(itemId: string, agentId: string, leaseMs: number): Promise<QueueItem>;
  /** Persist a phase (and image, job name, status). Fenced. */
  recordPhase(itemId: string, agentId: string, update: PhaseUpdate): Promise<QueueItem>;
  /** Finish the item with the job's final status. Fenced. */
  complete(itemId: string, agentId: string, update: CompletionUpdate): Promise<QueueItem>;
  /** Finish the item as failed. Fenced. */
  fail(itemId: string, agentId: string, update: FailureUpdate): Promise<QueueItem>;
  /** Give the item back to the queue (keeping its phase and job name), at once or after `delayMs`. Fenced. */
  requeue(itemId: string, agentId: string, reason: string, options?: RequeueOptions): Promise<QueueItem>;
  /** Resubmit the launch as a new attempt after a retryable failure (see `RetryUpdate`). Fenced. */
  retry(itemId: string, agentId: string, update: RetryUpdate): Promise<QueueItem>;
  /**
   * Atomically check the queue's limits against the launches of the same queue in flight (claimed and admitted)
   * and admitted within the last day, and admit this one (record `admission`) when it fits. A refusal changes
   * nothing. Agents on many machines share one answer: two admissions never both take the last slot. Fenced.
   */
  admit(itemId: string, agentId: string, request: AdmitRequest): Promise<AdmitResult>;
  /**
   * Ask to cancel. A queued item that cannot have a job yet is cancelled at once; otherwise `cancelRequested` is set
   * for the agent. Finished items are returned unchanged.
   */
  requestCancel(itemId: string): Promise<QueueItem>;
  /** The item, or `undefined`. */
  get(itemId: string): Promise<QueueItem | undefined>;
  /** Items, newest first. */
  list(options?: ListItemsOptions): Promise<QueueItem[]>;
  /**
   * Save what an agent reports about itself (insert, or replace its last report keeping `startedAt`), and drop the
   * records of agents not heard from for `AGENT_RECORD_RETENTION_MS`. @throws QueueError `invalid_argument`.
   */
  recordAgent(heartbeat: AgentHeartbeat): Promise<AgentRecord>;
  /** The agents that reported within `AGENT_RECORD_RETENTION_MS`, the most recently heard from first. */
  listAgents(): Promise<AgentRecord[]>;
  /** Release resources (file handles). The store is unusable afterwards. */
  close(): Promise<void>;
}
