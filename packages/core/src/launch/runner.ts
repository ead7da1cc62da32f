/**
 * The runner contract: how the launch pipeline talks to a job backend. A {@link JobRunner} is a plain object made
 * by a factory (`vertexRunner(options)` in `@vertex-launch/vertex`); core never imports Google libraries, it only
 * calls these methods. Runners submit idempotently per launch id, retry transient failures themselves, and may
 * offer `watch()` so many jobs are tracked with a few batched calls instead of one poll per job.
 */
import type { LaunchStatus } from '../job-state.js';
import type { CreateCustomJobRequest } from '../mapping/custom-job.js';

/** The error Vertex reported for a job (google.rpc.Status). */
export interface JobErrorInfo {
  /** Canonical gRPC code, e.g. 3 for a replica that exited non-zero, 1 for a cancelled job. */
  code: number;
  /** Vertex's message, unchanged. */
  message: string;
}

/** One worker pool of a job, as the backend reports it (`jobSpec.workerPoolSpecs[i]`). */
export interface JobWorkerPool {
  /** e.g. `n1-standard-4`; `''` for a placeholder pool (an empty spec that skips a pool index). */
  machineType: string;
  /** e.g. `NVIDIA_TESLA_T4`; undefined without accelerators. */
  acceleratorType: string | undefined;
  /** Accelerators per replica; 0 without accelerators. */
  acceleratorCount: number;
  replicaCount: number;
  /** The container image, or the executor image of a Python package. */
  imageUri: string | undefined;
  /** The container's command (empty: the image's entrypoint). */
  command: readonly string[];
  /** The arguments of the container or Python module. */
  args: readonly string[];
  /** The Python module run, for a Python package pool. */
  pythonModule: string | undefined;
}

/** What a runner knows about one job at one moment. */
export interface JobSnapshot {
  /** Full resource name, `projects/<project>/locations/<region>/customJobs/<id>`. */
  name: string;
  /** The numeric job id (last segment of `name`). */
  id: string;
  /** The region (location) of the job. */
  region: string;
  displayName: string;
  /** The Vertex state name, e.g. `JOB_STATE_RUNNING`. */
  state: string;
  /** The launch status of `state` (see `jobStateToStatus`). */
  status: LaunchStatus;
  /** True once the job will not change any more (succeeded, failed, cancelled, expired, partially succeeded). */
  terminal: boolean;
  createTime: Date | undefined;
  startTime: Date | undefined;
  endTime: Date | undefined;
  updateTime: Date | undefined;
  /** Set when the job failed or was cancelled. */
  error: JobErrorInfo | undefined;
  labels: Readonly<Record<string, string>>;
  /** Image of the first worker pool (container or Python executor image), when it has one. */
  imageUri: string | undefined;
  /** The worker pools of the job's spec, in order, when the runner reports them. */
  workerPools?: readonly JobWorkerPool[];
  /** Where to see the job in the Google Cloud console. */
  consoleUrl: string;
}

/** Options of {@link JobRunner.submit}. */
export interface SubmitOptions {
  /**
   * The id of this launch. The runner makes at most one job per launch id: after an ambiguous failure it looks the
   * id up (the `vertex-launch-launch-id` label) before creating again.
   */
  launchId: string;
  /**
   * The attempt of the launch (1 for its first job). A launch resubmitted after a retryable failure (preempted,
   * stockout) makes one job per attempt: the runner labels attempt 2 and later with `vertex-launch-attempt` and looks
   * up only the jobs of this attempt, so the job of an earlier attempt is never mistaken for this one.
   */
  attempt?: number;
  /** Aborts waiting between retries (a create already sent is not undone). */
  signal?: AbortSignal;
  /**
   * Deadline of each CreateCustomJob call in milliseconds: the queue config's `run.create_request_timeout` (the
   * Python SDK passes it as the `timeout` of `create_custom_job`). Default: the runner's own call timeout.
   */
  timeoutMs?: number;
  /**
   * A create of this launch may already have been sent at this time (an earlier attempt died between the create
   * call and recording its answer): the runner looks the launch id up — until its lookup window from then has
   * passed — before it creates anything.
   */
  unknownSince?: Date;
  /**
   * Told when the submit turned "submit unknown": a create's answer was lost, and the runner keeps looking the launch
   * id up until `until` before any second create. The runner awaits it (the agent records the phase).
   */
  onUnknown?: (event: SubmitUnknownEvent) => void | Promise<void>;
}

/** A submit whose create may or may not have happened (see {@link SubmitOptions.onUnknown}). */
export interface SubmitUnknownEvent {
  launchId: string;
  /** The ListCustomJobs filter that finds the job, e.g. `labels.vertex-launch-launch-id="…"`. */
  filter: string;
  /** Why the create's outcome is unknown (the error of the create call). */
  reason: string;
  /** When the lookups stop: no second create before then. */
  until: Date;
}

/** The answer of {@link JobRunner.submit}. */
export interface SubmitResult {
  /** Full resource name of the job. */
  jobName: string;
  /** The job as the create (or the lookup) returned it. */
  job: JobSnapshot;
  /** True when the job had already been created by an earlier attempt of the same launch and was found by its launch id. */
  existing: boolean;
}

/** Options of {@link JobRunner.list}. */
export interface ListJobsOptions {
  /**
   * A ListCustomJobs filter, e.g. `state="JOB_STATE_RUNNING"`. It is ANDed with the runner's own restriction to jobs
   * launched by Vertex Launch (`labels.vertex-launch-run-id:*`) unless `all` is set.
   */
  filter?: string;
  /** List every job of the project and region, not only those Vertex Launch launched. */
  all?: boolean;
  /** Stop after this many jobs (newest first). Default: 100. */
  limit?: number;
}

/** Options of {@link JobRunner.cancel}. */
export interface CancelOptions {
  /** Wait until Vertex reports the job CANCELLED (or another final state). Default true. */
  wait?: boolean;
  /** How long to wait for the final state. Default 10 minutes. */
  timeoutMs?: number;
  /** Stops waiting for the final state when aborted (the cancel request itself is already sent). */
  signal?: AbortSignal;
}

/** One log line of a job. */
export interface JobLogEntry {
  /** RFC 3339 timestamp. */
  timestamp: string;
  /** Cloud Logging severity (`INFO`, `ERROR`, ...). */
  severity: string;
  /** The text of the entry (textPayload, or jsonPayload.message). */
  text: string;
  /** Cloud Logging's id of the entry (unique per timestamp). */
  insertId: string;
  /** The replica that wrote it, e.g. `workerpool0-0`, when known. */
  task: string | undefined;
}

/** Options of {@link JobRunner.logs}. */
export interface JobLogsOptions {
  /** Keep reading new entries until the job ends (then read the last ones and stop). */
  follow?: boolean;
  /** Only entries at or after this time. */
  since?: Date;
  /** Only the entries of this replica (`resource.labels.task_name` in Cloud Logging), e.g. `workerpool0-0`. */
  task?: string;
  /** Start with only the last `tail` entries there are (then, with `follow`, the new ones). */
  tail?: number;
  /** Stops following (and reading). */
  signal?: AbortSignal;
}

/** Receives the changes of a watched job. */
export interface JobWatchListener {
  /**
   * Called with the first snapshot the watcher sees and then on every state change; the last call has a terminal
   * job, after which the listener is removed.
   */
  onChange(job: JobSnapshot, previous: JobSnapshot | undefined): void;
  /** Called when the job can no longer be tracked (it was deleted, or the API refused). The listener is removed. */
  onError(error: unknown): void;
  /**
   * Called when the watcher sees other unfinished jobs with this job's launch id (the `vertex-launch-launch-id`
   * label) — jobs that should not exist, since a launch makes one. Each such job is reported once.
   */
  onDuplicate?(duplicates: JobSnapshot[], job: JobSnapshot): void;
}

/** A job backend: submits CreateCustomJobRequests and reads, cancels and tails the jobs it made. */
export interface JobRunner {
  /** Short kebab-case name used in messages, e.g. `vertex`. */
  readonly name: string;
  /** The project jobs are submitted to, when the runner is bound to one (`launch()` uses it by default). */
  readonly projectId?: string;
  /** The region jobs are submitted to, when the runner is bound to one (`launch()` uses it by default). */
  readonly region?: string;
  /** The full resource name of a job given as a name or a bare numeric id. */
  jobName(nameOrId: string): string;
  /** Submit once per launch id (idempotent across retries). */
  submit(request: CreateCustomJobRequest, options: SubmitOptions): Promise<SubmitResult>;
  /** The job's current snapshot. */
  get(jobName: string): Promise<JobSnapshot>;
  /** Jobs, newest first. */
  list(options?: ListJobsOptions): Promise<JobSnapshot[]>;
  /** Ask the backend to cancel the job; by default resolves once it is CANCELLED (or ended otherwise). */
  cancel(jobName: string, options?: CancelOptions): Promise<JobSnapshot>;
  /** The job's log entries, oldest first; with `follow`, until the job ends. */
  logs(jobName: string, options?: JobLogsOptions): AsyncIterable<JobLogEntry>;
  /** Where to see the job in a browser. */
  consoleUrl(jobName: string): string;
  /**
   * Watch a job's state changes. Runners that track many jobs with batched calls implement this; without it, the
   * pipeline polls `get()`. Returns a function that stops watching.
   */
  watch?(jobName: string, listener: JobWatchListener, initial?: JobSnapshot): () => void;
  /** Releases clients and timers. */
  close?(): Promise<void>;
}
