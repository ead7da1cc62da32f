/**
 * The launch pipeline: queue config + overrides + variables -> image (given, or built from source with an
 * {@link ImageBuilder}, skipped when its content tag exists) -> macros -> the CreateCustomJobRequest -> a
 * {@link JobRunner} -> a {@link LaunchHandle}. Pure orchestration: every I/O is a plugin's.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { contextTag, fingerprintContext } from '../build/context.js';
import type { BuildContextInput, BuilderCredentials, ImageBuilder } from '../build/contract.js';
import { type LaunchContext, resolveQueueConfig } from '../config/resolve.js';
import type { ResolvedQueueConfig } from '../config/schema.js';
import { ConfigError, VertexLaunchError } from '../errors.js';
import { type CreateCustomJobRequest, toCreateCustomJobRequest } from '../mapping/custom-job.js';
import type { LaunchEvent } from './events.js';
import type { CancelOptions, JobLogEntry, JobLogsOptions, JobRunner, JobSnapshot } from './runner.js';
import { type WaitForJobOptions, waitForJob } from './wait.js';

/** A registry plugin: answers whether an image tag already exists (so a content-addressed build can be skipped). */
export interface ImageRegistry {
  /** Short kebab-case name used in messages, e.g. `artifact-registry`. */
  readonly name: string;
  /** True when `imageUri` (`host/path:tag`) exists. */
  tagExists(imageUri: string): Promise<boolean>;
}

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
  /** Values of the declared template variables. */
  variables?: Record<string, string>;
  /** Launch-time overrides `{ spec?, run? }`. */
  overrides?: unknown;
  /** Environment for `${env:NAME}`. Default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Google Cloud project of the job (`${project_name}`). */
  project: string;
  /** Vertex AI region of the job, e.g. `us-central1` (`${region}`). */
  region: string;
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
  /** Checks whether the content-addressed tag already exists (else the builder's own `exists()`, if any). */
  registry?: ImageRegistry;
  /** Registry credentials for the builder's push. */
  builderCredentials?: BuilderCredentials;
  /** Submits and tracks the job. */
  runner: JobRunner;
  /** Receives progress events. Errors it throws are ignored. */
  onEvent?: (event: LaunchEvent) => void;
  /** Aborts a build and retries between submit attempts (a job already created is not cancelled). */
  signal?: AbortSignal;
}

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
  /** Deadline of the CreateCustomJob call, from `run.create_request_timeout`; the runner's default when unset. */
  createRequestTimeoutMs?: number;
}

/** A new run id: 8 lowercase letters and digits starting with a letter (valid in labels and resource names). */
export function newRunId(): string {
  let id = '';
  for (const b of randomBytes(8)) id += (b % 36).toString(36);
  return /^[a-z]/.test(id) ? id : `r${id.slice(1)}`;
}

/**
 * Resolve and map a launch with a known image: no I/O. Throws {@link ConfigError} listing every problem of the queue
 * config, variables and overrides.
 */
export function planLaunch(
  options: Omit<LaunchOptions, 'runner' | 'source' | 'builder' | 'registry'> & { runId: string; launchId: string },
): LaunchPlan {
  const context: LaunchContext = {
    project: options.project,
    region: options.region,
    runId: options.runId,
    launchId: options.launchId,
    runName: options.runName ?? options.runId,
    ...(options.image === undefined ? {} : { imageUri: options.image }),
    ...(options.queueName === undefined ? {} : { queueName: options.queueName }),
  };
  const config = resolveQueueConfig({
    config: options.config,
    ...(options.variables ? { variables: options.variables } : {}),
    overrides: options.overrides,
    context,
    env: options.env ?? process.env,
    ...(options.file === undefined ? {} : { file: options.file }),
  });
  const timeout = config.run?.create_request_timeout;
  return {
    context,
    config,
    request: toCreateCustomJobRequest(config, context),
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

/** Builds `source` (or finds its content tag already pushed) and returns the image to run. */
async function imageFromSource(options: LaunchOptions, emit: (event: LaunchEvent) => void): Promise<string> {
  const { source, builder } = options;
  if (!source || !builder) {
    throw new ConfigError('[vertex-launch] [launch] Building from source needs a builder plugin.', [], {
      hint: 'Pass `builder` (e.g. dockerBuilder() or cloudBuild()), or an `image` to run as is.',
    });
  }
  const { image, ...context } = source;
  const manifest = await fingerprintContext(context);
  const imageUri = contextTag(image, manifest);
  const exists = options.registry
    ? await options.registry.tagExists(imageUri)
    : builder.exists
      ? await builder.exists(imageUri)
      : false;
  if (exists) {
    emit({
      type: 'build-skipped',
      imageUri,
      reason: `${imageUri} already exists (same sources, same content tag)`,
    });
    return imageUri;
  }
  emit({ type: 'build-started', builder: builder.name, imageUri, contextDir: source.contextDir });
  const result = await builder.build({
    ...context,
    destination: imageUri,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.builderCredentials ? { credentials: options.builderCredentials } : {}),
    onEvent: (event) => {
      if (event.type === 'log') emit({ type: 'build-log', line: event.line });
      else if (event.type === 'skipped')
        emit({ type: 'build-skipped', imageUri: event.imageUri, reason: event.reason });
    },
  });
  emit({ type: 'build-pushed', imageUri: result.imageUri, digest: result.digest });
  return result.imageUri;
}

/**
 * Launch a job: resolve, build (when from source), map, submit once per launch id, and return a handle to follow it.
 * Config problems throw {@link ConfigError} before anything is built or submitted.
 */
export async function launch(options: LaunchOptions): Promise<LaunchHandle> {
  const emit = emitter(options.onEvent);
  if ((options.image === undefined) === (options.source === undefined)) {
    throw new ConfigError(
      options.image === undefined
        ? '[vertex-launch] [launch] Nothing to run: give an image or a source to build.'
        : '[vertex-launch] [launch] Give either an image or a source to build, not both.',
      [],
      { hint: 'CLI: --image <uri> or --source <dir> --image-repo <repo>.' },
    );
  }
  const runId = options.runId ?? newRunId();
  const launchId = options.launchId ?? randomUUID();
  // Check the config before building anything: a build can take minutes.
  const probe = planLaunch({
    ...options,
    runId,
    launchId,
    image: options.image ?? `${options.source?.image ?? 'image'}:ctx-000000000000`,
  });
  emit({
    type: 'resolved',
    runId,
    launchId,
    project: options.project,
    region: options.region,
    imageUri: options.image,
  });
  const imageUri = options.image ?? (await imageFromSource(options, emit));
  const plan = options.image === undefined ? planLaunch({ ...options, runId, launchId, image: imageUri }) : probe;
  if (options.signal?.aborted) throw options.signal.reason;
  const submitted = await options.runner.submit(plan.request, {
    launchId,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(plan.createRequestTimeoutMs ? { timeoutMs: plan.createRequestTimeoutMs } : {}),
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
