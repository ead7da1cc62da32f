/**
 * Vertex AI JobService (CustomJobs) over gRPC: create, get, list (filters, pagination), cancel, delete,
 * with Vertex-like validation and a lifecycle QUEUED -> PENDING -> RUNNING -> SUCCEEDED / FAILED / CANCELLED
 * on the emulator clock. Running is delegated to a {@link JobExecutor}.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import type { ClockTimer, EmulatorClock } from '../clock.js';
import { EmulatorError, type ServiceContext } from '../context.js';
import { loadClientProtos, lookup } from '../grpc/protos.js';
import { type GrpcServiceModule, unary } from '../grpc/server.js';
import type { CapacityModel } from './capacity.js';
import type { JobExecutor, JobRun, JobRunServices } from './executor.js';
import { compileJobFilter } from './filter.js';
import type { CustomJobInput, CustomJobSpecInput, JobError, JobRecord } from './types.js';
import { durationMs, formatValidationErrors, validateCustomJob } from './validate.js';

/** Durations of the lifecycle phases the JobService itself controls (the executor decides RUNNING). */
export interface JobTimings {
  queuedMs: number;
  pendingMs: number;
  cancellingMs: number;
}

/** Options of {@link JobService}. */
export interface JobServiceOptions {
  ctx: ServiceContext;
  clock: EmulatorClock;
  projectNumber: string;
  timings: JobTimings;
  executor: JobExecutor;
  /** Resolves the caller (throws UNAUTHENTICATED); used where no permission applies (operations). */
  authenticate(authorization: string | undefined): void;
  /** True when the service account exists in the emulator's IAM model. */
  serviceAccountExists(email: string): boolean;
  /** The resource name `iam.serviceAccounts.actAs` is checked on. */
  serviceAccountResource(email: string): string;
  onChange(): void;
  /** Handed to the executor with every run. */
  runServices?: JobRunServices;
  /** Every region served (the context's region among them). Default: the context's region only. */
  regions?: readonly string[];
  /** Simulated capacity and GPU quota per region. */
  capacity?: CapacityModel;
}

const TERMINAL = new Set(['JOB_STATE_SUCCEEDED', 'JOB_STATE_FAILED', 'JOB_STATE_CANCELLED']);
const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;
const ABORT_CANCEL = Symbol('cancel');
const ABORT_TIMEOUT = Symbol('timeout');

interface Operation {
  name: string;
  done: boolean;
  metadata?: { typeUrl: string; value: Buffer };
  response?: { typeUrl: string; value: Buffer };
}

/** The proto3 Timestamp for `ms`. */
function timestamp(ms: number | undefined): { seconds: string; nanos: number } | undefined {
  if (ms === undefined) return undefined;
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 };
}

function formatDuration(ms: number): string {
  return `${ms / 1000}s`;
}

/** A 19-digit numeric id, like Vertex's. */
function numericId(): string {
  return `${randomInt(100_000_000, 1_000_000_000)}${String(randomInt(0, 10_000_000_000)).padStart(10, '0')}`;
}

/** The Vertex AI JobService (CustomJob methods) and the long-running Operations it answers with. */
export class JobService {
  private readonly jobs = new Map<string, JobRecord>();
  private readonly timers = new Map<string, ClockTimer[]>();
  private readonly runs = new Map<string, AbortController>();
  private readonly operations = new Map<string, Operation>();
  /** Creates answered with an error whose commit is still to come (`phase: 'late'` faults). */
  private readonly lateCommits = new Set<NodeJS.Timeout>();
  private readonly ctx: ServiceContext;

  constructor(private readonly options: JobServiceOptions) {
    this.ctx = options.ctx;
  }

  /** gRPC modules to mount: `google.cloud.aiplatform.v1.JobService` and `google.longrunning.Operations`. */
  grpcModules(): GrpcServiceModule[] {
    const root = loadClientProtos('@google-cloud/aiplatform', ['google/cloud/aiplatform/v1/job_service.proto']);
    const jobService = lookup<grpc.ServiceClientConstructor>(root, 'google.cloud.aiplatform.v1.JobService');
    const operations = lookup<grpc.ServiceClientConstructor>(root, 'google.longrunning.Operations');
    const unimplemented = (method: string) =>
      unary(async () => {
        throw new EmulatorError(
          'UNIMPLEMENTED',
          `The emulator does not implement JobService.${method}; only CustomJob methods are served.`,
        );
      });
    const jobImpl: grpc.UntypedServiceImplementation = {};
    for (const method of Object.keys(jobService.service)) jobImpl[method] = unimplemented(method);
    Object.assign(jobImpl, {
      CreateCustomJob: unary((req: { parent?: string; customJob?: CustomJobInput }, call) =>
        this.create(req, call.authorization),
      ),
      GetCustomJob: unary((req: { name?: string }, call) => this.get(req, call.authorization)),
      ListCustomJobs: unary((req: { parent?: string; filter?: string; pageSize?: number; pageToken?: string }, call) =>
        this.list(req, call.authorization),
      ),
      CancelCustomJob: unary((req: { name?: string }, call) => this.cancel(req, call.authorization)),
      DeleteCustomJob: unary((req: { name?: string }, call) => this.delete(req, call.authorization)),
    });
    const opsImpl: grpc.UntypedServiceImplementation = {};
    for (const method of Object.keys(operations.service)) opsImpl[method] = unimplemented(`Operations.${method}`);
    opsImpl.GetOperation = unary((req: { name?: string }, call) => this.getOperation(req, call.authorization));
    return [
      { name: 'google.cloud.aiplatform.v1.JobService', definition: jobService.service, implementation: jobImpl },
      { name: 'google.longrunning.Operations', definition: operations.service, implementation: opsImpl },
    ];
  }

  private get projectId(): string {
    return this.ctx.projectId;
  }

  private jobName(job: JobRecord): string {
    return `projects/${this.options.projectNumber}/locations/${this.locationOf(job)}/customJobs/${job.id}`;
  }

  private locationOf(job: JobRecord): string {
    return job.location ?? this.ctx.region;
  }

  private get served(): readonly string[] {
    return [...new Set([this.ctx.region, ...(this.options.regions ?? [])])];
  }

  /** Checks `projects/{p}/locations/{l}` and returns the canonical parent. */
  private parseParent(parent: string | undefined): string {
    const m = /^projects\/([^/]+)\/locations\/([^/]+)$/.exec(parent ?? '');
    if (!m) {
      throw new EmulatorError(
        'INVALID_ARGUMENT',
        `Invalid parent "${parent ?? ''}": expected projects/{project}/locations/{location}, e.g. projects/${this.projectId}/locations/${this.ctx.region}.`,
      );
    }
    return parent as string;
  }

  private checkLocation(location: string): void {
    const served = this.served;
    if (!served.includes(location)) {
      const list = served.map((r) => `"${r}"`).join(', ');
      throw new EmulatorError(
        'INVALID_ARGUMENT',
        `Location "${location}" is not served by this endpoint, which serves ${list}. Use locations/${this.ctx.region} or start the emulator with that region (option \`regions\`).`,
      );
    }
  }

  /** Parses a job name; returns the job id. */
  private parseName(name: string | undefined): { id: string; location: string } {
    const m = /^projects\/([^/]+)\/locations\/([^/]+)\/customJobs\/([^/]+)$/.exec(name ?? '');
    if (!m) {
      throw new EmulatorError(
        'INVALID_ARGUMENT',
        `Invalid CustomJob name "${name ?? ''}": expected projects/{project}/locations/{location}/customJobs/{custom_job}.`,
      );
    }
    return { location: m[2] as string, id: m[3] as string };
  }

  private isOurProject(project: string): boolean {
    return project === this.projectId || project === this.options.projectNumber;
  }

  private findJob(name: string): JobRecord {
    const { id } = this.parseName(name);
    const project = name.split('/')[1] as string;
    const { location } = this.parseName(name);
    const found = this.isOurProject(project) ? this.jobs.get(id) : undefined;
    const job = found && this.locationOf(found) === location ? found : undefined;
    if (!job || !/^\d+$/.test(id)) throw new EmulatorError('NOT_FOUND', `The CustomJob "${name}" does not exist.`);
    return job;
  }

  async create(req: { parent?: string; customJob?: CustomJobInput }, authorization: string | undefined) {
    const method = 'aiplatform.customJobs.create';
    await this.ctx.beforeCall(method);
    const parent = this.parseParent(req.parent);
    const principal = await this.ctx.authorize(authorization, method, parent);
    this.checkLocation(parent.split('/')[3] as string);
    this.ctx.consumeQuota('vertex.creates');
    const errors = validateCustomJob(req.customJob);
    if (errors.length > 0) throw new EmulatorError('INVALID_ARGUMENT', formatValidationErrors(errors));
    const input = req.customJob as CustomJobInput;
    const spec = input.jobSpec ?? {};
    const location = parent.split('/')[3] as string;
    const quota = this.options.capacity?.quotaRefusal({ jobSpec: spec }, location, this.unfinishedIn(location));
    if (quota !== undefined) throw new EmulatorError('RESOURCE_EXHAUSTED', quota);
    if (spec.serviceAccount) {
      if (!this.options.serviceAccountExists(spec.serviceAccount)) {
        throw new EmulatorError(
          'INVALID_ARGUMENT',
          formatValidationErrors([
            `Field: custom_job.job_spec.service_account; Message: Service account ${spec.serviceAccount} does not exist in project ${this.projectId}.`,
          ]),
        );
      }
      await this.ctx.authorize(
        authorization,
        'iam.serviceAccounts.actAs',
        this.options.serviceAccountResource(spec.serviceAccount),
      );
    }
    const late = await this.ctx.lateCommit?.(method);
    if (late) {
      // The server commits after the client's deadline: the client gets the error now, the job appears later.
      const timer = setTimeout(() => {
        this.lateCommits.delete(timer);
        this.commit(input, spec, principal.member, location);
      }, late.commitDelayMs);
      this.lateCommits.add(timer);
      throw late.error;
    }
    const job = this.commit(input, spec, principal.member, location);
    await this.ctx.afterCall(method);
    return this.toProto(job);
  }

  /** Stores a new job (created now) and starts its lifecycle. */
  private commit(input: CustomJobInput, spec: CustomJobSpecInput, creator: string, location: string): JobRecord {
    const now = this.ctx.now();
    let id = numericId();
    while (this.jobs.has(id)) id = numericId();
    const job: JobRecord = {
      id,
      ...(location === this.ctx.region ? {} : { location }),
      displayName: input.displayName as string,
      jobSpec: spec,
      labels: { ...(input.labels ?? {}) },
      encryptionSpec: input.encryptionSpec,
      state: 'JOB_STATE_QUEUED',
      createTime: now,
      updateTime: now,
      creator,
    };
    this.jobs.set(id, job);
    this.options.onChange();
    this.advanceLifecycle(job, false);
    return job;
  }

  async get(req: { name?: string }, authorization: string | undefined) {
    const method = 'aiplatform.customJobs.get';
    await this.ctx.beforeCall(method);
    const { location } = this.parseName(req.name);
    await this.ctx.authorize(authorization, method, req.name as string);
    this.checkLocation(location);
    this.ctx.consumeQuota('vertex.reads');
    const job = this.findJob(req.name as string);
    await this.ctx.afterCall(method);
    return this.toProto(job);
  }

  async list(
    req: { parent?: string; filter?: string; pageSize?: number; pageToken?: string },
    authorization: string | undefined,
  ) {
    const method = 'aiplatform.customJobs.list';
    await this.ctx.beforeCall(method);
    const parent = this.parseParent(req.parent);
    await this.ctx.authorize(authorization, method, parent);
    this.checkLocation(parent.split('/')[3] as string);
    this.ctx.consumeQuota('vertex.reads');
    const filter = req.filter ?? '';
    const predicate = compileJobFilter(filter);
    const pageSize = req.pageSize && req.pageSize > 0 ? Math.min(req.pageSize, MAX_PAGE_SIZE) : DEFAULT_PAGE_SIZE;
    if (req.pageSize !== undefined && req.pageSize < 0) {
      throw new EmulatorError('INVALID_ARGUMENT', `page_size must not be negative; got ${req.pageSize}.`);
    }
    const after = req.pageToken ? this.decodePageToken(req.pageToken, filter) : undefined;
    const sorted = [...this.jobs.values()].sort(
      (a, b) => b.createTime - a.createTime || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0),
    );
    const location = parent.split('/')[3] as string;
    const matching = sorted.filter((job) => this.locationOf(job) === location && predicate(job));
    const start = after
      ? matching.findIndex((j) => j.createTime < after.t || (j.createTime === after.t && j.id < after.id))
      : 0;
    const page = start < 0 ? [] : matching.slice(start, start + pageSize);
    const last = page[page.length - 1];
    const more = start >= 0 && start + pageSize < matching.length;
    await this.ctx.afterCall(method);
    return {
      customJobs: page.map((j) => this.toProto(j)),
      nextPageToken: more && last ? this.encodePageToken(last, filter) : '',
    };
  }

  private encodePageToken(last: JobRecord, filter: string): string {
    return Buffer.from(JSON.stringify({ t: last.createTime, id: last.id, f: filter })).toString('base64url');
  }

  private decodePageToken(token: string, filter: string): { t: number; id: string } {
    let decoded: { t?: unknown; id?: unknown; f?: unknown };
    try {
      decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    } catch {
      decoded = {};
    }
    if (typeof decoded.t !== 'number' || typeof decoded.id !== 'string') {
      throw new EmulatorError(
        'INVALID_ARGUMENT',
        'Invalid page_token: pass the next_page_token of the previous response unchanged.',
      );
    }
    if (decoded.f !== filter) {
      throw new EmulatorError(
        'INVALID_ARGUMENT',
        'Invalid page_token: it was issued for a different filter; keep the filter the same while paging.',
      );
    }
    return { t: decoded.t, id: decoded.id };
  }

  async cancel(req: { name?: string }, authorization: string | undefined) {
    const method = 'aiplatform.customJobs.cancel';
    await this.ctx.beforeCall(method);
    const { location } = this.parseName(req.name);
    await this.ctx.authorize(authorization, method, req.name as string);
    this.checkLocation(location);
    const job = this.findJob(req.name as string);
    if (TERMINAL.has(job.state)) {
      throw new EmulatorError(
        'FAILED_PRECONDITION',
        `Cannot cancel CustomJob "${req.name}" because it is in state ${job.state}; only queued, pending and running jobs can be cancelled.`,
      );
    }
    if (job.state !== 'JOB_STATE_CANCELLING') {
      this.clearTimers(job.id);
      this.runs.get(job.id)?.abort(ABORT_CANCEL);
      this.runs.delete(job.id);
      this.setState(job, 'JOB_STATE_CANCELLING');
      this.advanceLifecycle(job, false);
    }
    await this.ctx.afterCall(method);
    return {};
  }

  async delete(req: { name?: string }, authorization: string | undefined) {
    const method = 'aiplatform.customJobs.delete';
    await this.ctx.beforeCall(method);
    const { location } = this.parseName(req.name);
    await this.ctx.authorize(authorization, method, req.name as string);
    this.checkLocation(location);
    const job = this.findJob(req.name as string);
    if (!TERMINAL.has(job.state)) {
      throw new EmulatorError(
        'FAILED_PRECONDITION',
        `CustomJob "${req.name}" is in state ${job.state}; cancel it and wait until it has ended before deleting it.`,
      );
    }
    this.jobs.delete(job.id);
    this.options.onChange();
    const operation: Operation = {
      name: `${this.jobName(job)}/operations/${numericId()}`,
      done: true,
      metadata: {
        typeUrl: 'type.googleapis.com/google.cloud.aiplatform.v1.DeleteOperationMetadata',
        value: Buffer.alloc(0),
      },
      response: { typeUrl: 'type.googleapis.com/google.protobuf.Empty', value: Buffer.alloc(0) },
    };
    this.operations.set(operation.name, operation);
    await this.ctx.afterCall(method);
    return operation;
  }

  async getOperation(req: { name?: string }, authorization: string | undefined) {
    await this.ctx.beforeCall('aiplatform.operations.get');
    const name = req.name ?? '';
    this.options.authenticate(authorization);
    const operation = this.operations.get(
      name.replace(/^projects\/[^/]+\//, `projects/${this.options.projectNumber}/`),
    );
    if (!operation) throw new EmulatorError('NOT_FOUND', `Operation "${name}" does not exist.`);
    return operation;
  }

  // ---- lifecycle -------------------------------------------------------------------------------

  private setState(job: JobRecord, state: string, patch: Partial<JobRecord> = {}): void {
    Object.assign(job, patch);
    job.state = state;
    job.updateTime = this.ctx.now();
    if (TERMINAL.has(state)) job.endTime = job.updateTime;
    this.options.onChange();
  }

  private addTimer(id: string, delayMs: number, fn: () => void): void {
    const list = this.timers.get(id) ?? [];
    list.push(this.options.clock.schedule(delayMs, fn));
    this.timers.set(id, list);
  }

  private clearTimers(id: string): void {
    for (const t of this.timers.get(id) ?? []) t.cancel();
    this.timers.delete(id);
  }

  /** Schedules the next transition of `job` from its current state. */
  private advanceLifecycle(job: JobRecord, resumed: boolean): void {
    const { timings } = this.options;
    this.clearTimers(job.id);
    switch (job.state) {
      case 'JOB_STATE_QUEUED':
        this.addTimer(job.id, timings.queuedMs, () => {
          this.setState(job, 'JOB_STATE_PENDING');
          this.advanceLifecycle(job, false);
        });
        break;
      case 'JOB_STATE_PENDING':
        this.addTimer(job.id, timings.pendingMs, () => {
          const refusal = this.failureBeforeRun(job);
          if (refusal) {
            this.log(job, refusal.message, 'ERROR');
            this.setState(job, 'JOB_STATE_FAILED', { error: refusal });
            return;
          }
          if (!this.hasCapacity(job)) {
            if (job.jobSpec.scheduling?.strategy === 'FLEX_START') {
              this.waitForCapacity(job);
              return;
            }
            const stockout = this.stockout(job);
            this.log(job, stockout.message, 'ERROR');
            this.setState(job, 'JOB_STATE_FAILED', { error: stockout });
            return;
          }
          const patch: Partial<JobRecord> = { startTime: this.ctx.now() };
          if (job.jobSpec.enableWebAccess) {
            patch.webAccessUris = {
              'workerpool0-0': `https://${randomBytes(8).toString('hex')}-dot-${this.locationOf(job)}.aiplatform-training.googleusercontent.com`,
            };
          }
          this.setState(job, 'JOB_STATE_RUNNING', patch);
          this.startRun(job, false);
        });
        break;
      case 'JOB_STATE_RUNNING':
        this.startRun(job, resumed);
        break;
      case 'JOB_STATE_CANCELLING':
        this.addTimer(job.id, timings.cancellingMs, () => {
          this.log(job, 'Job was cancelled', 'WARNING');
          this.setState(job, 'JOB_STATE_CANCELLED', { error: { code: 1, message: 'CANCELED' } });
        });
        break;
      default:
        break;
    }
  }

  /** The region's unfinished jobs. */
  private unfinishedIn(region: string): JobRecord[] {
    return [...this.jobs.values()].filter((job) => !TERMINAL.has(job.state) && this.locationOf(job) === region);
  }

  /** True when the job's machines fit the region's simulated capacity next to its running jobs. */
  private hasCapacity(job: JobRecord): boolean {
    const capacity = this.options.capacity;
    if (!capacity) return true;
    const running = [...this.jobs.values()]
      .filter((other) => other.state === 'JOB_STATE_RUNNING')
      .map((other) => ({ job: other, region: this.locationOf(other) }));
    return capacity.fits(job, this.locationOf(job), running);
  }

  private stockout(job: JobRecord): JobError {
    return {
      code: 8,
      message: `The resources are insufficient in region: ${this.locationOf(job)}. Please try a different region. If you use K80, please consider using P100 or V100 instead.`,
    };
  }

  /**
   * A FLEX_START job without capacity waits in PENDING (checked again every PENDING interval) until capacity frees,
   * and fails after its `max_wait_duration` (unset: 24 hours; 0: never) with Vertex's words.
   */
  private waitForCapacity(job: JobRecord): void {
    const waitedSince = job.updateTime;
    const set = durationMs(job.jobSpec.scheduling?.maxWaitDuration);
    // Unset: 24 hours; 0: wait indefinitely (the Scheduling proto's words).
    const maxWaitMs = set === undefined ? 86_400_000 : set === 0 ? Number.POSITIVE_INFINITY : set;
    const tick = Math.max(this.options.timings.pendingMs, 10);
    const check = () => {
      if (job.state !== 'JOB_STATE_PENDING') return;
      if (this.hasCapacity(job)) {
        this.setState(job, 'JOB_STATE_RUNNING', { startTime: this.ctx.now() });
        this.startRun(job, false);
        return;
      }
      if (this.ctx.now() - waitedSince >= maxWaitMs) {
        const error = {
          code: 4,
          message: `The job could not obtain the requested resources within its max_wait_duration of ${formatDuration(maxWaitMs)}.`,
        };
        this.log(job, error.message, 'ERROR');
        this.setState(job, 'JOB_STATE_FAILED', { error });
        return;
      }
      this.addTimer(job.id, Math.min(tick, maxWaitMs - (this.ctx.now() - waitedSince)), check);
    };
    this.addTimer(job.id, 0, check);
  }

  /**
   * `VXL_EMULATOR_FAILURE` in the first pool's env: the failures Vertex reports before a job runs, with its words —
   * `stockout` (no capacity in the region), `image_pull` (the image cannot be pulled) and, for a FLEX_START job,
   * `flex_wait_expired` (no capacity within max_wait_duration). `preempted` and `out_of_memory` happen while it runs.
   */
  private failureBeforeRun(job: JobRecord): JobError | undefined {
    const failure = emulatedFailure(job);
    const image = job.jobSpec.workerPoolSpecs?.[0]?.containerSpec?.imageUri ?? '';
    if (failure === 'stockout') return this.stockout(job);
    if (failure === 'image_pull') {
      return {
        code: 9,
        message: `Unable to pull the image ${image} for workerpool0-0: the Vertex AI service agent has no read access to the repository, or the image does not exist.`,
      };
    }
    if (failure === 'flex_wait_expired') {
      const wait = formatDuration(durationMs(job.jobSpec.scheduling?.maxWaitDuration) ?? 0);
      return {
        code: 4,
        message: `The job could not obtain the requested resources within its max_wait_duration of ${wait}.`,
      };
    }
    return undefined;
  }

  private log(job: JobRecord, text: string, severity: 'INFO' | 'ERROR' | 'WARNING' = 'INFO'): void {
    this.ctx.logs.append({
      logName: `projects/${this.projectId}/logs/workerpool0-0`,
      resource: {
        type: 'ml_job',
        labels: { job_id: job.id, project_id: this.projectId, task_name: 'workerpool0-0' },
      },
      timestamp: new Date(this.ctx.now()).toISOString(),
      severity,
      textPayload: text,
      labels: { 'ml.googleapis.com/display_name': job.displayName },
    });
  }

  private startRun(job: JobRecord, resumed: boolean): void {
    const pool = job.jobSpec.workerPoolSpecs?.[0] ?? {};
    const container = pool.containerSpec;
    const python = pool.pythonPackageSpec;
    const env: Record<string, string> = {};
    for (const e of container?.env ?? python?.env ?? []) if (e.name) env[e.name] = e.value ?? '';
    const run: JobRun = {
      id: job.id,
      name: this.jobName(job),
      displayName: job.displayName,
      imageUri: container?.imageUri ?? python?.executorImageUri ?? '',
      command: container?.command ?? (python ? ['python3', '-m', python.pythonModule ?? ''] : []),
      args: container?.args ?? python?.args ?? [],
      env,
      serviceAccount: job.jobSpec.serviceAccount || undefined,
      startedAt: job.startTime ?? this.ctx.now(),
      resumed,
      spec: job.jobSpec,
    };
    const controller = new AbortController();
    this.runs.set(job.id, controller);
    const timeoutMs = durationMs(job.jobSpec.scheduling?.timeout);
    if (timeoutMs !== undefined) {
      this.addTimer(job.id, run.startedAt + timeoutMs - this.ctx.now(), () => controller.abort(ABORT_TIMEOUT));
    }
    const finish = (state: string, error?: JobError) => {
      if (this.runs.get(job.id) !== controller) return; // cancelled or replaced meanwhile
      this.runs.delete(job.id);
      this.clearTimers(job.id);
      if (job.state !== 'JOB_STATE_RUNNING') return;
      this.setState(job, state, error ? { error } : {});
    };
    this.options.executor
      .run(run, {
        signal: controller.signal,
        clock: this.options.clock,
        log: (text, severity) => this.log(job, text, severity),
        ...(this.options.runServices ? { services: this.options.runServices } : {}),
      })
      .then(
        ({ exitCode, error }) => {
          if (controller.signal.aborted) return this.afterAbort(job, controller, finish, timeoutMs);
          if (error) return finish('JOB_STATE_FAILED', error);
          const failure = emulatedFailure(job);
          if (failure === 'preempted') {
            this.log(job, 'The Spot VM of workerpool0-0 was reclaimed by Compute Engine', 'ERROR');
            return finish('JOB_STATE_FAILED', {
              code: 14,
              message: 'The replica workerpool0-0 was preempted: its Spot VM was reclaimed by Compute Engine.',
            });
          }
          const code = failure === 'out_of_memory' ? 137 : exitCode;
          if (code === 0) return finish('JOB_STATE_SUCCEEDED');
          finish('JOB_STATE_FAILED', {
            code: 3,
            message: `The replica workerpool0-0 exited with a non-zero status of ${code}. Termination reason: ${code === 137 ? 'OOMKilled' : 'Error'}. To find out more about why your job exited please check the logs: https://console.cloud.google.com/logs/viewer?project=${this.options.projectNumber}&resource=ml_job%2Fjob_id%2F${job.id}&advancedFilter=resource.type%3D%22ml_job%22%0Aresource.labels.job_id%3D%22${job.id}%22`,
          });
        },
        (error: unknown) => {
          if (controller.signal.aborted) return this.afterAbort(job, controller, finish, timeoutMs);
          const message = error instanceof Error ? error.message : String(error);
          this.log(job, `The emulator could not run the job: ${message}`, 'ERROR');
          finish('JOB_STATE_FAILED', { code: 13, message: `Internal error while running the job: ${message}` });
        },
      );
  }

  private afterAbort(
    job: JobRecord,
    controller: AbortController,
    finish: (state: string, error?: JobError) => void,
    timeoutMs: number | undefined,
  ): void {
    if (controller.signal.reason !== ABORT_TIMEOUT) return;
    const limit = formatDuration(timeoutMs ?? 0);
    this.log(job, `Job exceeded its timeout of ${limit} and was stopped`, 'ERROR');
    finish('JOB_STATE_FAILED', {
      code: 4,
      message: `The job was stopped because it ran longer than its scheduling.timeout of ${limit}. Raise job_spec.scheduling.timeout if the job needs more time.`,
    });
  }

  toProto(job: JobRecord) {
    return {
      name: this.jobName(job),
      displayName: job.displayName,
      jobSpec: job.jobSpec,
      state: job.state,
      createTime: timestamp(job.createTime),
      startTime: timestamp(job.startTime),
      endTime: timestamp(job.endTime),
      updateTime: timestamp(job.updateTime),
      error: job.error,
      labels: job.labels,
      encryptionSpec: job.encryptionSpec,
      webAccessUris: job.webAccessUris ?? {},
    };
  }

  /** All jobs (for persistence and tests). */
  toJSON(): JobRecord[] {
    return [...this.jobs.values()];
  }

  /** Restores jobs saved by {@link toJSON} and resumes the ones that had not ended. */
  load(jobs: readonly JobRecord[]): void {
    for (const job of jobs) this.jobs.set(job.id, job);
    for (const job of jobs) if (!TERMINAL.has(job.state)) this.advanceLifecycle(job, true);
  }

  /** Stops every timer and run (state stays as it is). */
  close(): void {
    for (const timer of this.lateCommits) clearTimeout(timer);
    this.lateCommits.clear();
    for (const id of this.timers.keys()) this.clearTimers(id);
    for (const controller of this.runs.values()) controller.abort(ABORT_CANCEL);
    this.runs.clear();
  }
}

/** The failures `VXL_EMULATOR_FAILURE` (first pool's env) asks for. */
export const EMULATED_FAILURES = ['stockout', 'image_pull', 'flex_wait_expired', 'preempted', 'out_of_memory'] as const;

function emulatedFailure(job: JobRecord): (typeof EMULATED_FAILURES)[number] | undefined {
  const pool = job.jobSpec.workerPoolSpecs?.[0];
  const value = (pool?.containerSpec?.env ?? pool?.pythonPackageSpec?.env ?? []).find(
    (e) => e.name === 'VXL_EMULATOR_FAILURE',
  )?.value;
  return (EMULATED_FAILURES as readonly string[]).includes(value ?? '')
    ? (value as (typeof EMULATED_FAILURES)[number])
    : undefined;
}
