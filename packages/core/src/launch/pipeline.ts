/**
 * The launch pipeline, one way through: queue config + overrides + variables and the runtime's project and region ->
 * the image (given, or {@link prepareImage}: the source scanned and fingerprinted once, so its content-tagged URI is
 * known before anything is built) -> the config resolved and mapped once to a CreateCustomJobRequest -> the image
 * built unless its tag is already pushed -> a {@link JobRunner} submit -> a {@link LaunchHandle} that tracks the job.
 * Orchestration only: the source is read from disk here (build context, stat cache), every network call is a
 * plugin's (builder, registry, runner).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { checkImageExists } from '../build/check-image.js';
import type { BuildContextInput, BuilderCredentials, ImageBuilder, ImageRegistry } from '../build/contract.js';
import { prepareImage } from '../build/resolve-image.js';
import { type LaunchContext, resolveQueueConfig, resolveQueueConfigResult } from '../config/resolve.js';
import type { ResolvedQueueConfig } from '../config/schema.js';
import type { LaunchValue } from '../config/variables.js';
import { ConfigError, type ConfigIssue, VertexLaunchError } from '../errors.js';
import { imageReferenceProblem } from '../image-ref.js';
import { type CreateCustomJobRequest, toCreateCustomJobRequest } from '../mapping/custom-job.js';
import { optionsError, unknownOptions } from '../plugins.js';
import type { Runtime } from '../runtime/resolve.js';
import { describeSource } from '../runtime/sources.js';
import type { LaunchEvent } from './events.js';
import type { CancelOptions, JobLogEntry, JobLogsOptions, JobRunner, JobSnapshot } from './runner.js';
import { type WaitForJobOptions, waitForJob } from './wait.js';

/** Source to build the image from: the build context and the image repository (no tag: the tag is the content's). */
export interface LaunchSource extends BuildContextInput {
  /** Repository of the image without tag, e.g. `europe-docker.pkg.dev/my-project/train/trainer`. */
  image: string;
}

/** What a launch needs. Exactly one of `image` and `source` must be given. */
export interface LaunchOptions {
  /** The raw queue config (as parsed from its file). */
  config: unknown;
  /** The file the config came from, named in errors. */
  file?: string;
  /**
   * Values of the declared template variables: strings (as `--set-var` gives them) or numbers, e.g.
   * `{ epochs: 5 }`; each is checked against its declaration.
   */
  variables?: Readonly<Record<string, LaunchValue>>;
  /** Launch-time overrides `{ spec?, run? }`. */
  overrides?: unknown;
  /** Environment for `${env:NAME}`. Default `process.env`. */
  env?: Record<string, string | undefined>;
  /**
   * The environment variables the config's `${env:NAME}` may read, credential names included. Default: any name that
   * does not look like a credential (`*_TOKEN`, `*_KEY`, `GOOGLE_APPLICATION_CREDENTIALS`, ...), which fits a config
   * of your own; pass a list when the config comes from others (a shared queue), e.g. `allowedEnv: []`.
   */
  allowedEnv?: readonly string[];
  /** Where `allowedEnv` is configured, named in the refusal of a `${env:NAME}`. Default "the `allowedEnv` option". */
  allowedEnvFrom?: string;
  /**
   * Google Cloud project of the job (`${project_name}`). Default: the `runtime`'s, else the runner's `projectId`.
   */
  projectId?: string;
  /** Vertex AI region of the job, e.g. `us-central1` (`${region}`). Default: the `runtime`'s, else the runner's. */
  region?: string;
  /** The resolved runtime (`resolveRuntime()`): its project and region, named with their sources in errors. */
  runtime?: Pick<Runtime, 'projectId' | 'region'>;
  /** Default: a new random id of 8 lowercase letters and digits. */
  runId?: string;
  /** Default: the run id. */
  runName?: string;
  /** Default: a new UUID. Reuse the launch id of an earlier attempt to make sure it is not launched twice. */
  launchId?: string;
  /** The queue the launch came from: `${queue_name}`, the `vertex-launch-queue` label and the display name prefix. */
  queueName?: string;
  /** The image to run (`${image_uri}`). */
  image?: string;
  /** Build the image from source instead. Needs `builder`. */
  source?: LaunchSource;
  /** Builds `source`. */
  builder?: ImageBuilder;
  /**
   * Checks whether the content-addressed tag already exists (else the builder's own `digestOf()` / `exists()`), and
   * that a given `image` exists before anything is submitted ({@link checkImageExists}: a missing repository or tag is
   * a ConfigError; no tag is looked up as `latest`, with a warning). Without it a given image is not checked.
   */
  registry?: ImageRegistry;
  /** Registry credentials for the builder's push. */
  builderCredentials?: BuilderCredentials;
  /** Submits and tracks the job. */
  runner: JobRunner;
  /** Receives progress events (see {@link LaunchProgress} for an EventEmitter). Errors it throws are ignored. */
  onEvent?: (event: LaunchEvent) => void;
  /** Aborts a build and retries between submit attempts (a job already created is not cancelled). */
  signal?: AbortSignal;
}

/** Every option of {@link launch}, for the check of plain-JS callers. */
const LAUNCH_OPTIONS: readonly (keyof LaunchOptions)[] = [
  'config',
  'file',
  'variables',
  'overrides',
  'env',
  'allowedEnv',
  'allowedEnvFrom',
  'projectId',
  'region',
  'runtime',
  'runId',
  'runName',
  'launchId',
  'queueName',
  'image',
  'source',
  'builder',
  'registry',
  'builderCredentials',
  'runner',
  'onEvent',
  'signal',
];

/** Names other libraries use for launch options (google-cloud: `projectId`; Vertex jobs run in a `region`). */
const RENAMED: Readonly<Record<string, string>> = { project: 'projectId', location: 'region', projectID: 'projectId' };

/** A launched job. */
export interface LaunchHandle {
  /** Full resource name of the job. */
  readonly jobName: string;
  readonly consoleUrl: string;
  readonly runId: string;
  readonly launchId: string;
  readonly imageUri: string;
  /** The request that was submitted. */
  readonly request: CreateCustomJobRequest;
  /** The job as submitted. */
  readonly job: JobSnapshot;
  /** True when an earlier attempt of this launch had created the job already. */
  readonly existing: boolean;
  /** The job's current snapshot. */
  status(): Promise<JobSnapshot>;
  /** Resolves with the final snapshot once the job has ended; emits `state-changed` and `finished` events. */
  wait(options?: Omit<WaitForJobOptions, 'initial'>): Promise<JobSnapshot>;
  /** Cancel the job; by default waits until it is CANCELLED. */
  cancel(options?: CancelOptions): Promise<JobSnapshot>;
  /** The job's logs; with `follow`, until it ends. */
  logs(options?: JobLogsOptions): AsyncIterable<JobLogEntry>;
}

/** The resolved, mapped launch before anything is submitted (what `--dry-run` prints). */
export interface LaunchPlan {
  context: LaunchContext;
  config: ResolvedQueueConfig;
  request: CreateCustomJobRequest;
  /** The config's warnings: legal, but almost surely a mistake (what `queue validate` shows as warnings). */
  warnings: ConfigIssue[];
  /** Deadline of the CreateCustomJob call, from `run.create_request_timeout`; the runner's default when unset. */
  createRequestTimeoutMs?: number;
}

/** A new run id: 8 lowercase letters and digits starting with a letter (valid in labels and resource names). */
export function newRunId(): string {
  let id = '';
  for (const b of randomBytes(8)) id += (b % 36).toString(36);
  return /^[a-z]/.test(id) ? id : `r${id.slice(1)}`;
}

/** What {@link planLaunch} needs: the launch options without the plugins, and the ids. */
export type PlanLaunchOptions = Omit<LaunchOptions, 'runner' | 'source' | 'builder' | 'registry' | 'runtime'> & {
  projectId: string;
  region: string;
  runId: string;
  launchId: string;
};

/**
 * Resolve and map a launch with a known image: no I/O. Throws {@link ConfigError} listing every problem of the queue
 * config, variables and overrides.
 */
export function planLaunch(options: PlanLaunchOptions): LaunchPlan {
  const imageProblem = options.image === undefined ? undefined : imageReferenceProblem(options.image);
  if (imageProblem) {
    throw new ConfigError(`Image \`${options.image}\` is not an image reference: ${imageProblem}.`, [], {
      hint: 'Give a reference like `us-docker.pkg.dev/<project>/<repo>/<image>:<tag>` (CLI: --image).',
    });
  }
  const context: LaunchContext = {
    project: options.projectId,
    region: options.region,
    runId: options.runId,
    launchId: options.launchId,
    runName: options.runName ?? options.runId,
    ...(options.image === undefined ? {} : { imageUri: options.image }),
    ...(options.queueName === undefined ? {} : { queueName: options.queueName }),
  };
  const input = {
    config: options.config,
    ...(options.variables ? { variables: options.variables } : {}),
    overrides: options.overrides,
    context,
    env: options.env ?? process.env,
    envAccess: {
      ...(options.allowedEnv === undefined ? {} : { allowed: options.allowedEnv }),
      ...(options.allowedEnvFrom === undefined ? {} : { from: options.allowedEnvFrom }),
    },
    ...(options.file === undefined ? {} : { file: options.file }),
  };
  const result = resolveQueueConfigResult(input);
  // Invalid: resolveQueueConfig throws the ConfigError listing every problem (and the warnings).
  const config = result.ok && result.value !== undefined ? result.value : resolveQueueConfig(input);
  const warnings = result.issues.filter((issue) => issue.severity === 'warning');
  const timeout = config.run?.create_request_timeout;
  return {
    context,
    config,
    request: toCreateCustomJobRequest(config, context),
    warnings,
    ...(timeout ? { createRequestTimeoutMs: timeout * 1000 } : {}),
  };
}

function emitter(onEvent: LaunchOptions['onEvent']): (event: LaunchEvent) => void {
  return (event) => {
    try {
      onEvent?.(event);
    } catch {
      // A renderer's failure must not fail the launch.
    }
  };
}

/** Loose on purpose (Vertex checks the id): a non-empty name without spaces or slashes, never `undefined`. */
const PROJECT_ID = /^(?!undefined$|null$)[^\s/]+$/;
const REGION = /^[a-z]+(?:-[a-z0-9]+)+$/;

/**
 * The project and region of a launch: the option, else the runtime's, else the runner's. Checked here so a request
 * for `projects/undefined/...` is never made: a missing or malformed value is a ConfigError naming where it came from.
 */
function placeOf(options: LaunchOptions): { projectId: string; region: string } {
  const runner = options.runner as Partial<Pick<JobRunner, 'projectId' | 'region'>>;
  const pick = (name: 'projectId' | 'region') =>
    options[name] !== undefined
      ? { value: options[name], where: `option \`${name}\`` }
      : options.runtime?.[name]
        ? { value: options.runtime[name].value, where: describeSource(options.runtime[name].source) }
        : runner[name] !== undefined
          ? { value: runner[name], where: `the runner's ${name}` }
          : undefined;
  const issues: { path: string; message: string }[] = [];
  const check = (name: 'projectId' | 'region', pattern: RegExp, example: string) => {
    const found = pick(name);
    if (found === undefined) {
      issues.push({
        path: name,
        message: `No ${name === 'projectId' ? 'project' : 'region'}: pass \`${name}\` (e.g. ${example}), a \`runtime\` from resolveRuntime(), or a runner that has one.`,
      });
      return '';
    }
    if (typeof found.value !== 'string' || !pattern.test(found.value)) {
      issues.push({
        path: name,
        message: `${name} ${JSON.stringify(found.value)} (from ${found.where}) is not a ${name === 'projectId' ? 'project id' : 'Vertex AI region'} like ${example}.`,
      });
      return '';
    }
    return found.value;
  };
  const projectId = check('projectId', PROJECT_ID, 'my-project');
  const region = check('region', REGION, 'us-central1');
  if (issues.length > 0)
    throw optionsError(
      '[vertex-launch] [launch]',
      issues,
      'SDK: launch({ projectId, region, ... }) or launch({ runtime: await resolveRuntime(), ... }); CLI: --project and --region.',
    );
  return { projectId, region };
}

/** Checks the options a plain-JS caller may get wrong: unknown or misnamed keys, and exactly one of image/source. */
function checkOptions(options: LaunchOptions): void {
  if (options === null || typeof options !== 'object') {
    throw new ConfigError('[vertex-launch] [launch] launch() takes an options object: { config, image, runner, ... }.');
  }
  const issues = unknownOptions(options, LAUNCH_OPTIONS, RENAMED);
  if (typeof options.runner?.submit !== 'function') {
    issues.push({ path: 'runner', message: 'Missing required option `runner` (a JobRunner, e.g. vertexRunner()).' });
  }
  if (issues.length > 0) throw optionsError('[vertex-launch] [launch]', issues, 'See the LaunchOptions of launch().');
  if ((options.image === undefined) === (options.source === undefined)) {
    throw new ConfigError(
      options.image === undefined
        ? '[vertex-launch] [launch] Nothing to run: give an image or a source to build.'
        : '[vertex-launch] [launch] Give either an image or a source to build, not both.',
      [],
      { hint: 'CLI: --image <uri> or --source <dir> --image-repo <repo>.' },
    );
  }
}

/**
 * Launch a job: resolve, build (when from source), map, submit once per launch id, and return a handle to follow it.
 * The config is resolved and mapped once, with the image's final URI (a source's content tag is known as soon as it
 * is fingerprinted), so config problems throw {@link ConfigError} before anything is built or submitted.
 */
export async function launch(options: LaunchOptions): Promise<LaunchHandle> {
  checkOptions(options);
  const emit = emitter(options.onEvent);
  const { projectId, region } = placeOf(options);
  const runId = options.runId ?? newRunId();
  const launchId = options.launchId ?? randomUUID();
  let image = options.image;
  let build: (() => Promise<string>) | undefined;
  if (options.source !== undefined) {
    const { image: repository, ...context } = options.source;
    const prepared = await prepareImage({
      ...context,
      image: repository,
      builder: options.builder as ImageBuilder,
      ...(options.registry ? { registry: options.registry } : {}),
      ...(options.builderCredentials ? { credentials: options.builderCredentials } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      onEvent: (event) => {
        if (event.type === 'started')
          emit({
            type: 'build-started',
            builder: event.builder,
            imageUri: event.imageUri,
            contextDir: context.contextDir,
          });
        else if (event.type === 'log') emit({ type: 'build-log', line: event.line });
        else if (event.type === 'step' || event.type === 'upload' || event.type === 'push')
          emit({ type: 'build-progress', event });
        else if (event.type === 'skipped')
          emit({ type: 'build-skipped', imageUri: event.imageUri, reason: event.reason });
      },
    });
    image = prepared.imageUri;
    build = async () => {
      const result = await prepared.ensure();
      if (result.built) emit({ type: 'build-pushed', imageUri: result.imageUri, digest: result.digest ?? '' });
      return result.imageUri;
    };
  }
  // Resolved and mapped once, before a build that can take minutes.
  const plan = planLaunch({
    ...options,
    projectId,
    region,
    runId,
    launchId,
    ...(image === undefined ? {} : { image }),
  });
  // A given image must exist before the job is submitted (Vertex would only fail to pull it when the job starts).
  if (build === undefined && options.registry !== undefined && image !== undefined) {
    try {
      const check = await checkImageExists(options.registry, image);
      plan.warnings.push(...check.warnings);
    } catch (error) {
      // Only a missing repository or tag (or a bad name) stops the launch. A caller that may not read the registry
      // (Vertex's service agent pulls the image, not the caller) or a registry that does not answer is no proof
      // that the image is missing: the job is submitted, and the warning says what was not checked.
      const code = (error as { code?: unknown }).code;
      if (!(error instanceof VertexLaunchError && (code === 'PERMISSION' || code === 'API'))) throw error;
      plan.warnings.push({
        path: 'image',
        message: `could not check that \`${image}\` exists (${error.message.replace(/^\[vertex-launch\] (\[[^\]]+\] )?/, '')}); submitting anyway: Vertex AI's service agent pulls it when the job starts`,
        severity: 'warning',
      });
    }
  }
  emit({ type: 'resolved', runId, launchId, projectId, region, imageUri: image, warnings: plan.warnings });
  const imageUri = build ? await build() : (image as string);
  if (options.signal?.aborted) throw options.signal.reason;
  const submitted = await options.runner.submit(plan.request, {
    launchId,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(plan.createRequestTimeoutMs ? { timeoutMs: plan.createRequestTimeoutMs } : {}),
    onUnknown: (event) => emit({ type: 'submit-unknown', ...event }),
  });
  const { jobName } = submitted;
  const consoleUrl = submitted.job.consoleUrl || options.runner.consoleUrl(jobName);
  emit({ type: 'submitted', jobName, consoleUrl, existing: submitted.existing, request: plan.request });
  const submittedAt = Date.now();
  let last: JobSnapshot = submitted.job;

  const handle: LaunchHandle = {
    jobName,
    consoleUrl,
    runId,
    launchId,
    imageUri,
    request: plan.request,
    job: submitted.job,
    existing: submitted.existing,
    status: async () => {
      last = await options.runner.get(jobName);
      return last;
    },
    wait: async (waitOptions = {}) => {
      const final = await waitForJob(options.runner, jobName, {
        ...waitOptions,
        initial: last,
        onChange: (job, previous) => {
          last = job;
          emit({
            type: 'state-changed',
            jobName,
            state: job.state,
            status: job.status,
            previousState: previous?.state,
            elapsedMs: Date.now() - submittedAt,
          });
          waitOptions.onChange?.(job, previous);
        },
      });
      emit({
        type: 'finished',
        jobName,
        state: final.state,
        status: final.status,
        error: final.error,
        elapsedMs: Date.now() - submittedAt,
      });
      return final;
    },
    cancel: (cancelOptions) => options.runner.cancel(jobName, cancelOptions),
    logs: (logOptions) => options.runner.logs(jobName, logOptions),
  };
  return handle;
}

/** Thrown when a waited-for job ended without succeeding; carries the final snapshot. */
export class JobFailedError extends VertexLaunchError {
  override name = 'JobFailedError';
  readonly job: JobSnapshot;
  constructor(job: JobSnapshot) {
    super('JOB_FAILED', `Job ${job.name} ended ${job.state}${job.error?.message ? `: ${job.error.message}` : ''}`, {
      hint: `Read its logs with \`vertex-launch jobs logs ${job.name}\`, or open ${job.consoleUrl}`,
    });
    this.job = job;
  }
}
