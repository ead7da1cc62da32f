/**
 * Cloud Build (`google.devtools.cloudbuild.v1.CloudBuild`) over the emulator's TLS gRPC: CreateBuild as a
 * long-running operation, GetBuild, ListBuilds, CancelBuild, and the operations they return. A build fetches its
 * `source.storageSource` tarball from the emulator's Cloud Storage, runs its steps on the local Docker daemon
 * (see ./runner.ts), pushes `images` to the emulator's registry, and writes its log to the logs bucket
 * (`log-<id>.txt`) and to Cloud Logging (resource type `build`) while it runs.
 */
import { randomUUID } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import type { EmulatorClock } from '../clock.js';
import { EmulatorError, type ServiceContext } from '../context.js';
import { type LroOperation, type OperationOwner, packAny, wrapField } from '../grpc/operations.js';
import { loadClientProtos, lookup } from '../grpc/protos.js';
import { type GrpcServiceModule, unary } from '../grpc/server.js';
import { type BuildRunnerEnvironment, runBuild } from './runner.js';
import { substitute } from './steps.js';
import type { BuildInput, BuildRecord } from './types.js';

const PACKAGE = '@google-cloud/cloudbuild';
const PROTO = 'google/devtools/cloudbuild/v1/cloudbuild.proto';
const SERVICE = 'google.devtools.cloudbuild.v1.CloudBuild';
/** `Build.timeout` (cloudbuild.proto): "Default time is 60 minutes." */
const DEFAULT_TIMEOUT_MS = 60 * 60_000;
/**
 * `Build.service_account` (cloudbuild.proto): "Must be of the format `projects/{PROJECT_ID}/serviceAccounts/{ACCOUNT}`.
 * ACCOUNT can be email address or uniqueId of the service account."
 */
const SERVICE_ACCOUNT_NAME = /^projects\/[^/]+\/serviceAccounts\/([^/]+)$/;
const TERMINAL = new Set(['SUCCESS', 'FAILURE', 'INTERNAL_ERROR', 'TIMEOUT', 'CANCELLED', 'EXPIRED']);

/** Options of {@link CloudBuildService}. */
export interface CloudBuildServiceOptions {
  ctx: ServiceContext;
  clock: EmulatorClock;
  projectNumber: string;
  /** Resolves the caller (throws UNAUTHENTICATED). */
  authenticate(authorization: string | undefined): void;
  serviceAccountExists(email: string): boolean;
  serviceAccountResource(email: string): string;
  /** The default build service account (exists, with the usual grants). */
  defaultServiceAccount: string;
  /** What the runner needs (Docker, registry, storage, tokens). */
  runner: Omit<BuildRunnerEnvironment, 'log' | 'projectId' | 'projectNumber'>;
}

function timestamp(ms: number | undefined): { seconds: string; nanos: number } | undefined {
  if (ms === undefined) return undefined;
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 };
}

function durationMs(d: { seconds?: string | number; nanos?: number } | undefined): number | undefined {
  if (!d) return undefined;
  const ms = Number(d.seconds ?? 0) * 1000 + Math.floor((d.nanos ?? 0) / 1e6);
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

/** The Cloud Build surface. */
export class CloudBuildService implements OperationOwner {
  private readonly builds = new Map<string, BuildRecord>();
  private readonly runs = new Map<string, AbortController>();
  private readonly pending = new Set<Promise<void>>();
  private readonly ctx: ServiceContext;
  private serializeBuild: ((value: unknown) => Buffer) | undefined;
  private closed = false;

  constructor(private readonly options: CloudBuildServiceOptions) {
    this.ctx = options.ctx;
  }

  /** The gRPC module for `google.devtools.cloudbuild.v1.CloudBuild`. */
  grpcModules(): GrpcServiceModule[] {
    const root = loadClientProtos(PACKAGE, [PROTO]);
    const service = lookup<grpc.ServiceClientConstructor>(root, SERVICE);
    this.serializeBuild = service.service.GetBuild?.responseSerialize as (value: unknown) => Buffer;
    const impl: grpc.UntypedServiceImplementation = {};
    for (const method of Object.keys(service.service)) {
      impl[method] = unary(async () => {
        throw new EmulatorError(
          'UNIMPLEMENTED',
          `The emulator does not implement CloudBuild.${method}; CreateBuild, GetBuild, ListBuilds and CancelBuild are served.`,
        );
      });
    }
    Object.assign(impl, {
      CreateBuild: unary((req: { projectId?: string; parent?: string; build?: BuildInput }, call) =>
        this.create(req, call.authorization),
      ),
      GetBuild: unary((req: { projectId?: string; id?: string; name?: string }, call) =>
        this.get(req, call.authorization),
      ),
      ListBuilds: unary(
        (req: { projectId?: string; parent?: string; pageSize?: number; pageToken?: string; filter?: string }, call) =>
          this.list(req, call.authorization),
      ),
      CancelBuild: unary((req: { projectId?: string; id?: string; name?: string }, call) =>
        this.cancel(req, call.authorization),
      ),
    });
    return [{ name: SERVICE, definition: service.service, implementation: impl }];
  }

  /** The build's operation (`projects/*\/locations/*\/operations/<id>` or `operations/build/<project>/<id>`). */
  async findOperation(name: string, authorization: string | undefined): Promise<LroOperation | undefined> {
    const build = [...this.builds.values()].find((b) => b.operationName === this.canonicalOperationName(name));
    if (!build) return undefined;
    await this.ctx.beforeCall('cloudbuild.operations.get');
    this.options.authenticate(authorization);
    return this.operation(build);
  }

  private canonicalOperationName(name: string): string {
    return name
      .replace(/^projects\/[^/]+\//, `projects/${this.ctx.projectId}/`)
      .replace(/^operations\/build\/[^/]+\//, `operations/build/${this.ctx.projectId}/`);
  }

  // ---- calls -----------------------------------------------------------------------------------

  private scope(req: { projectId?: string; parent?: string }): { project: string; location: string; resource: string } {
    let project = req.projectId ?? '';
    let location = 'global';
    if (req.parent) {
      const m = /^projects\/([^/]+)\/locations\/([^/]+)$/.exec(req.parent);
      if (!m) {
        throw new EmulatorError(
          'INVALID_ARGUMENT',
          `Invalid parent "${req.parent}": expected projects/{project}/locations/{location}.`,
        );
      }
      project = m[1] as string;
      location = m[2] as string;
    }
    if (!project) throw new EmulatorError('INVALID_ARGUMENT', 'project_id (or parent) is required.');
    if (project !== this.ctx.projectId && project !== this.options.projectNumber) {
      throw new EmulatorError(
        'NOT_FOUND',
        `Project "${project}" is not served by this emulator (${this.ctx.projectId}).`,
      );
    }
    return { project: this.ctx.projectId, location, resource: `projects/${this.ctx.projectId}` };
  }

  private async create(
    req: { projectId?: string; parent?: string; build?: BuildInput },
    authorization: string | undefined,
  ) {
    const method = 'cloudbuild.builds.create';
    await this.ctx.beforeCall(method);
    const { location, resource } = this.scope(req);
    await this.ctx.authorize(authorization, method, resource);
    if (this.closed) throw new EmulatorError('UNAVAILABLE', 'The emulator is shutting down.');
    const input = req.build ?? {};
    const id = randomUUID();
    const values: Record<string, string> = {
      PROJECT_ID: this.ctx.projectId,
      PROJECT_NUMBER: this.options.projectNumber,
      BUILD_ID: id,
      LOCATION: location,
      ...(input.substitutions ?? {}),
    };
    const problems: string[] = [];
    for (const key of Object.keys(input.substitutions ?? {})) {
      if (!/^_[A-Z0-9_]+$/.test(key)) problems.push(`substitution key "${key}" must start with _ and use A-Z, 0-9, _`);
    }
    const missing = new Set<string>();
    const used = new Set<string>();
    const sub = (text: string) => substitute(text, values, missing, used);
    const steps = (input.steps ?? []).map((step, i) => {
      if (!step.name) problems.push(`build step ${i} must specify name`);
      return {
        ...step,
        name: sub(step.name ?? ''),
        args: (step.args ?? []).map(sub),
        env: (step.env ?? []).map(sub),
        ...(step.dir ? { dir: sub(step.dir) } : {}),
      };
    });
    if (steps.length === 0) problems.push('invalid build: build does not specify any steps');
    const images = (input.images ?? []).map(sub);
    // BuildOptions.SubstitutionOption (cloudbuild.proto): MUST_MATCH, the default, "Fails the build if error in
    // substitutions checks, like missing a substitution in the template or in the map"; ALLOW_LOOSE does not.
    const option = input.options?.substitutionOption;
    if (option !== 'ALLOW_LOOSE' && option !== 1) {
      for (const name of missing) {
        problems.push(`key in the template "${name}" is not matched in the substitution list`);
      }
      for (const name of Object.keys(input.substitutions ?? {})) {
        if (!used.has(name)) problems.push(`key "${name}" in the substitution data is not matched in the template`);
      }
    }
    const storage = input.source?.storageSource;
    if (input.source && !storage) problems.push('only source.storage_source is supported by the emulator');
    if (storage && (!storage.bucket || !storage.object)) problems.push('source.storage_source needs bucket and object');
    if (problems.length > 0) throw new EmulatorError('INVALID_ARGUMENT', `invalid build: ${problems.join('; ')}.`);

    const serviceAccount = await this.buildServiceAccount(input.serviceAccount, authorization);
    const logsBucket = (
      input.logsBucket || `gs://${this.options.projectNumber}.cloudbuild-logs.googleusercontent.com`
    ).replace(/\/+$/, '');
    const now = this.ctx.now();
    const build: BuildRecord = {
      id,
      location,
      input,
      steps,
      images,
      status: 'QUEUED',
      statusDetail: '',
      createTime: now,
      timeoutMs: durationMs(input.timeout) ?? DEFAULT_TIMEOUT_MS,
      logsBucket: logsBucket.startsWith('gs://') ? logsBucket : `gs://${logsBucket}`,
      serviceAccount,
      results: { images: [], buildStepImages: steps.map(() => '') },
      stepStatus: steps.map(() => ({ status: 'QUEUED' })),
      phases: {},
      operationName:
        location === 'global'
          ? `operations/build/${this.ctx.projectId}/${Buffer.from(id).toString('base64url')}`
          : `projects/${this.ctx.projectId}/locations/${location}/operations/${id}`,
    };
    this.builds.set(id, build);
    this.start(build);
    await this.ctx.afterCall(method);
    return this.operation(build);
  }

  /** The email the build runs as; a named one must exist and the caller must be able to act as it. */
  private async buildServiceAccount(name: string | undefined, authorization: string | undefined): Promise<string> {
    if (!name) return this.options.defaultServiceAccount;
    const email = SERVICE_ACCOUNT_NAME.exec(name)?.[1];
    if (email === undefined) {
      throw new EmulatorError(
        'INVALID_ARGUMENT',
        `invalid build: service_account "${name}" must be of the format projects/{PROJECT_ID}/serviceAccounts/{ACCOUNT}.`,
      );
    }
    if (!this.options.serviceAccountExists(email)) {
      throw new EmulatorError('INVALID_ARGUMENT', `invalid build: service account ${email} does not exist.`);
    }
    await this.ctx.authorize(authorization, 'iam.serviceAccounts.actAs', this.options.serviceAccountResource(email));
    return email;
  }

  private findBuild(req: { projectId?: string; id?: string; name?: string }): BuildRecord {
    let id = req.id;
    if (req.name) {
      const m = /^projects\/([^/]+)\/locations\/([^/]+)\/builds\/([^/]+)$/.exec(req.name);
      if (!m) {
        throw new EmulatorError(
          'INVALID_ARGUMENT',
          `Invalid build name "${req.name}": expected projects/{project}/locations/{location}/builds/{id}.`,
        );
      }
      this.scope({ projectId: m[1] as string });
      id = m[3];
    } else {
      this.scope(req);
    }
    const build = id ? this.builds.get(id) : undefined;
    if (!build)
      throw new EmulatorError('NOT_FOUND', `Build "${id ?? ''}" does not exist in project ${this.ctx.projectId}.`);
    return build;
  }

  private async get(req: { projectId?: string; id?: string; name?: string }, authorization: string | undefined) {
    const method = 'cloudbuild.builds.get';
    await this.ctx.beforeCall(method);
    await this.ctx.authorize(authorization, method, `projects/${this.ctx.projectId}`);
    const build = this.findBuild(req);
    await this.ctx.afterCall(method);
    return this.toBuild(build);
  }

  private async list(
    req: { projectId?: string; parent?: string; pageSize?: number; pageToken?: string; filter?: string },
    authorization: string | undefined,
  ) {
    const method = 'cloudbuild.builds.list';
    await this.ctx.beforeCall(method);
    const { location, resource } = this.scope(req);
    await this.ctx.authorize(authorization, method, resource);
    const predicate = compileBuildFilter(req.filter ?? '');
    const all = [...this.builds.values()]
      .filter((b) => (req.parent ? b.location === location : true))
      .filter(predicate)
      .sort((a, b) => b.createTime - a.createTime || (a.id < b.id ? -1 : 1));
    const size = req.pageSize && req.pageSize > 0 ? Math.min(req.pageSize, 1000) : 100;
    const offset = req.pageToken ? Number(Buffer.from(req.pageToken, 'base64url').toString('utf8')) : 0;
    if (!Number.isInteger(offset) || offset < 0) {
      throw new EmulatorError(
        'INVALID_ARGUMENT',
        'Invalid page_token: pass the next_page_token of the previous response.',
      );
    }
    const page = all.slice(offset, offset + size);
    await this.ctx.afterCall(method);
    return {
      builds: page.map((b) => this.toBuild(b)),
      nextPageToken: offset + size < all.length ? Buffer.from(String(offset + size)).toString('base64url') : '',
    };
  }

  private async cancel(req: { projectId?: string; id?: string; name?: string }, authorization: string | undefined) {
    const method = 'cloudbuild.builds.cancel';
    await this.ctx.beforeCall(method);
    await this.ctx.authorize(authorization, 'cloudbuild.builds.update', `projects/${this.ctx.projectId}`);
    const build = this.findBuild(req);
    if (TERMINAL.has(build.status)) {
      throw new EmulatorError(
        'FAILED_PRECONDITION',
        `Build ${build.id} has already ended with status ${build.status}; only queued and working builds can be cancelled.`,
      );
    }
    build.abortReason = 'CANCELLED';
    this.runs.get(build.id)?.abort('CANCELLED');
    this.finish(build, 'CANCELLED', 'Build was cancelled.');
    await this.ctx.afterCall(method);
    return this.toBuild(build);
  }

  // ---- running ---------------------------------------------------------------------------------

  private start(build: BuildRecord): void {
    const controller = new AbortController();
    this.runs.set(build.id, controller);
    const timer = this.options.clock.schedule(build.timeoutMs, () => {
      if (TERMINAL.has(build.status)) return;
      build.abortReason = 'TIMEOUT';
      controller.abort('TIMEOUT');
    });
    const run = (async () => {
      await new Promise((r) => setImmediate(r));
      if (controller.signal.aborted) return;
      build.status = 'WORKING';
      build.startTime = this.ctx.now();
      const outcome = await runBuild(build, controller.signal, {
        ...this.options.runner,
        projectId: this.ctx.projectId,
        projectNumber: this.options.projectNumber,
        log: (text, severity) => this.log(build, text, severity),
      });
      // The whole log is in its bucket before the build is seen to end: a client's last read after the final status
      // gets every line (DONE included).
      await outcome.flushLog();
      if (build.abortReason === 'TIMEOUT') {
        this.finish(build, 'TIMEOUT', `Build timed out after ${build.timeoutMs / 1000}s.`);
      } else if (build.abortReason === 'CANCELLED') {
        this.finish(build, 'CANCELLED', 'Build was cancelled.');
      } else if (outcome.ok) {
        build.results.images = outcome.images;
        this.finish(build, 'SUCCESS', '');
      } else {
        build.results.images = outcome.images;
        if (outcome.failureInfo) build.failureInfo = outcome.failureInfo;
        this.finish(build, outcome.internal ? 'INTERNAL_ERROR' : 'FAILURE', outcome.detail);
      }
    })()
      .catch((error: unknown) => {
        this.finish(build, 'INTERNAL_ERROR', `The emulator could not run the build: ${(error as Error).message}`);
      })
      .finally(() => {
        timer.cancel();
        this.runs.delete(build.id);
        this.pending.delete(run);
      });
    this.pending.add(run);
  }

  private finish(build: BuildRecord, status: string, detail: string): void {
    if (TERMINAL.has(build.status)) return;
    build.status = status;
    build.statusDetail = detail;
    build.finishTime = this.ctx.now();
    for (const step of build.stepStatus) {
      if (step.status !== 'WORKING') continue;
      step.status = status;
      step.end ??= build.finishTime;
    }
  }

  private log(build: BuildRecord, text: string, severity: 'INFO' | 'ERROR' = 'INFO'): void {
    this.ctx.logs.append({
      logName: `projects/${this.ctx.projectId}/logs/cloudbuild`,
      resource: {
        type: 'build',
        labels: { build_id: build.id, build_trigger_id: '', project_id: this.ctx.projectId },
      },
      timestamp: new Date(this.ctx.now()).toISOString(),
      severity,
      textPayload: text,
    });
  }

  // ---- messages --------------------------------------------------------------------------------

  private toBuild(b: BuildRecord) {
    const { source, ...rest } = b.input;
    return {
      ...rest,
      ...(source ? { source } : {}),
      name: `projects/${this.ctx.projectId}/locations/${b.location}/builds/${b.id}`,
      id: b.id,
      projectId: this.ctx.projectId,
      status: b.status,
      statusDetail: b.statusDetail,
      steps: b.steps.map((step, i) => {
        const s = b.stepStatus[i];
        return {
          ...step,
          status: s?.status ?? 'QUEUED',
          ...(s?.start !== undefined ? { timing: { startTime: timestamp(s.start), endTime: timestamp(s.end) } } : {}),
        };
      }),
      images: b.images,
      results: {
        images: b.results.images,
        buildStepImages: b.results.buildStepImages,
      },
      createTime: timestamp(b.createTime),
      startTime: timestamp(b.startTime),
      finishTime: timestamp(b.finishTime),
      timeout: { seconds: String(Math.floor(b.timeoutMs / 1000)), nanos: (b.timeoutMs % 1000) * 1e6 },
      logsBucket: b.logsBucket,
      logUrl: `https://console.cloud.google.com/cloud-build/builds${b.location === 'global' ? '' : `;region=${b.location}`}/${b.id}?project=${this.options.projectNumber}`,
      serviceAccount: `projects/${this.ctx.projectId}/serviceAccounts/${b.serviceAccount}`,
      timing: Object.fromEntries(
        Object.entries(b.phases).map(([name, span]) => [
          name,
          { startTime: timestamp(span.start), ...(span.end === undefined ? {} : { endTime: timestamp(span.end) }) },
        ]),
      ),
      ...(b.failureInfo ? { failureInfo: b.failureInfo } : {}),
    };
  }

  private operation(b: BuildRecord): LroOperation {
    const serialize = this.serializeBuild;
    if (!serialize) throw new EmulatorError('INTERNAL', 'The Build encoder is not loaded.');
    const encoded = serialize(this.toBuild(b));
    const op: LroOperation = {
      name: b.operationName,
      done: TERMINAL.has(b.status),
      metadata: packAny('google.devtools.cloudbuild.v1.BuildOperationMetadata', wrapField(1, encoded)),
    };
    if (b.status === 'SUCCESS') op.response = packAny('google.devtools.cloudbuild.v1.Build', encoded);
    else if (b.status === 'CANCELLED') op.error = { code: 1, message: 'Build was cancelled' };
    else if (b.status === 'TIMEOUT') op.error = { code: 4, message: `Build timed out: ${b.statusDetail}` };
    else if (TERMINAL.has(b.status)) {
      op.error = { code: 2, message: `Build failed; check build logs for details. ${b.statusDetail}` };
    }
    return op;
  }

  /** Cancels every running build and waits (briefly) for them to stop. */
  async close(): Promise<void> {
    this.closed = true;
    for (const [id, controller] of this.runs) {
      const build = this.builds.get(id);
      if (build) build.abortReason = 'CANCELLED';
      controller.abort('CANCELLED');
    }
    // Bounded: a build stuck in Docker must not hold stop() forever; the timer is cleared (not left to keep the
    // process alive for 10 s) as soon as the builds have stopped.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([...this.pending]),
      new Promise((r) => {
        timer = setTimeout(r, 10_000);
      }),
    ]);
    clearTimeout(timer);
  }
}

/** ListBuilds filters: `status="SUCCESS"`, `id="..."`, `tags="t"`, `images="..."`, joined by AND. */
function compileBuildFilter(filter: string): (b: BuildRecord) => boolean {
  if (!filter.trim()) return () => true;
  const terms = filter.split(/\s+AND\s+/i).map((term) => {
    const m = /^\s*(status|id|tags|images)\s*=\s*"?([^"]*)"?\s*$/.exec(term);
    if (!m) {
      throw new EmulatorError(
        'INVALID_ARGUMENT',
        `Unsupported filter term "${term.trim()}": the emulator supports status, id, tags and images equality, joined by AND.`,
      );
    }
    return { key: m[1] as string, value: m[2] as string };
  });
  return (b) =>
    terms.every(({ key, value }) => {
      if (key === 'status') return b.status === value;
      if (key === 'id') return b.id === value;
      if (key === 'tags') return (b.input.tags ?? []).includes(value);
      return b.images.includes(value);
    });
}
