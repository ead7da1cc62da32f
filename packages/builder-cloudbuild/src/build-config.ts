/**
 * The Cloud Build request for a packed context: a `docker build` step and a `docker push` step, the pushed image in
 * `images` (so `results.images` carries its digest), the timeout, machine type and logs bucket. Pure.
 */
import type { ContextManifest } from '@vertex-launch/core';

/** The CreateBuild `build` message (camelCase, as the Node client takes it). */
export interface CloudBuildConfig {
  source: { storageSource: { bucket: string; object: string; generation?: string } };
  steps: { id: string; name: string; args: string[]; env?: string[] }[];
  images: string[];
  timeout: { seconds: number };
  logsBucket: string;
  options: { machineType?: string; logging: 'GCS_ONLY'; env?: string[] };
  tags: string[];
  serviceAccount?: string;
}

/** What {@link cloudBuildConfig} needs. */
export interface CloudBuildConfigInput {
  destination: string;
  manifest: Pick<ContextManifest, 'dockerfilePath' | 'fingerprint' | 'tag'>;
  bucket: string;
  object: string;
  /** `gs://bucket[/path]` receiving `log-<build id>.txt`. */
  logsBucket: string;
  platform: string;
  buildArgs?: Record<string, string> | undefined;
  target?: string | undefined;
  labels: Record<string, string>;
  cacheFrom: readonly string[];
  timeoutSeconds: number;
  machineType?: string | undefined;
  serviceAccount?: string | undefined;
  dockerImage: string;
}

/** Builds the Cloud Build request. Build args are sorted by name so equal requests are equal. */
export function cloudBuildConfig(input: CloudBuildConfigInput): CloudBuildConfig {
  const args = ['build', '--network=cloudbuild', `--platform=${input.platform}`, '-t', input.destination];
  args.push('-f', input.manifest.dockerfilePath);
  for (const image of input.cacheFrom) args.push('--cache-from', image);
  const buildArgs = Object.entries(input.buildArgs ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (input.cacheFrom.length > 0) buildArgs.push(['BUILDKIT_INLINE_CACHE', '1']);
  for (const [key, value] of buildArgs) args.push('--build-arg', `${key}=${value}`);
  if (input.target !== undefined) args.push('--target', input.target);
  const labels = { 'dev.vertex-launch.fingerprint': input.manifest.fingerprint, ...input.labels };
  for (const [key, value] of Object.entries(labels)) args.push('--label', `${key}=${value}`);
  args.push('.');
  return {
    source: { storageSource: { bucket: input.bucket, object: input.object } },
    steps: [
      {
        id: 'build',
        name: input.dockerImage,
        args,
        ...(input.cacheFrom.length > 0 ? { env: ['DOCKER_BUILDKIT=1'] } : {}),
      },
      { id: 'push', name: input.dockerImage, args: ['push', input.destination] },
    ],
    images: [input.destination],
    timeout: { seconds: input.timeoutSeconds },
    logsBucket: input.logsBucket,
    options: { logging: 'GCS_ONLY', ...(input.machineType ? { machineType: input.machineType } : {}) },
    tags: ['vertex-launch', input.manifest.tag],
    ...(input.serviceAccount ? { serviceAccount: input.serviceAccount } : {}),
  };
}

/** Terminal build statuses by name (the gRPC answer) and number (results decoded through an operation). */
const STATUS_NAMES: Record<number, string> = {
  0: 'STATUS_UNKNOWN',
  10: 'PENDING',
  1: 'QUEUED',
  2: 'WORKING',
  3: 'SUCCESS',
  4: 'FAILURE',
  5: 'INTERNAL_ERROR',
  6: 'TIMEOUT',
  7: 'CANCELLED',
  9: 'EXPIRED',
};

/** The status name of a build, whether the client gave a name or a number. */
export function statusName(status: unknown): string {
  if (typeof status === 'number') return STATUS_NAMES[status] ?? String(status);
  return typeof status === 'string' && status !== '' ? status : 'STATUS_UNKNOWN';
}

/** True once a build has ended. */
export function isTerminal(status: string): boolean {
  return ['SUCCESS', 'FAILURE', 'INTERNAL_ERROR', 'TIMEOUT', 'CANCELLED', 'EXPIRED'].includes(status);
}

/** Splits `gs://bucket/path` (or `bucket`) into bucket and path (without slashes at either end). */
export function parseGcsUrl(url: string): { bucket: string; path: string } {
  const rest = url.replace(/^gs:\/\//, '');
  const slash = rest.indexOf('/');
  if (slash < 0) return { bucket: rest, path: '' };
  return { bucket: rest.slice(0, slash), path: rest.slice(slash + 1).replace(/^\/+|\/+$/g, '') };
}

/**
 * `Build.FailureInfo.FailureType` by number (results decoded through an operation carry numbers), from
 * google/devtools/cloudbuild/v1/cloudbuild.proto as shipped in @google-cloud/cloudbuild (build/protos).
 */
const FAILURE_TYPE_NAMES: Record<number, string> = {
  0: 'FAILURE_TYPE_UNSPECIFIED',
  1: 'PUSH_FAILED',
  2: 'PUSH_IMAGE_NOT_FOUND',
  3: 'PUSH_NOT_AUTHORIZED',
  4: 'LOGGING_FAILURE',
  5: 'USER_BUILD_STEP',
  6: 'FETCH_SOURCE_FAILED',
};

/** The name of a `failureInfo.type`, whether the client gave a name or a number; undefined when absent. */
export function failureTypeName(type: unknown): string | undefined {
  if (typeof type === 'number') return FAILURE_TYPE_NAMES[type] ?? String(type);
  return typeof type === 'string' && type !== '' ? type : undefined;
}

/** The parts of an ended Build that tell whose failure it was (camelCase, as the Node client returns them). */
export interface EndedBuild {
  status?: unknown;
  failureInfo?: { type?: unknown; detail?: string | null } | null;
  steps?: { status?: unknown; timing?: { startTime?: unknown } | null }[] | null;
  timing?: Record<string, { startTime?: unknown; endTime?: unknown } | null | undefined> | null;
}

/**
 * Why an ended build failed for a cause of Cloud Build's own (so that the same build, run again, may well succeed),
 * or undefined when it did not — it succeeded, a step of the build failed, the push failed, or it was cancelled.
 * The rules follow google/devtools/cloudbuild/v1/cloudbuild.proto (as shipped in @google-cloud/cloudbuild):
 *
 * - `Build.Status` `INTERNAL_ERROR`: "Build or step failed due to an internal cause".
 * - `Build.FailureInfo.FailureType` `FETCH_SOURCE_FAILED`: "The source fetching has failed" (Cloud Build could not
 *   read the uploaded context; the build ends `FAILURE`), and `LOGGING_FAILURE`: "Backend logging failures. Should
 *   retry."
 * - `TIMEOUT` ("Build or step took longer than was allowed") before any step began: the time went on fetching the
 *   source. Told by `failureInfo.type` `FETCH_SOURCE_FAILED`, by a `timing` entry `FETCHSOURCE` ("time to fetch
 *   source") without an end, or by no step having started (`BuildStep.timing` unset and `BuildStep.status` still
 *   `QUEUED`; step status "is only updated on build completion").
 *
 * `FAILURE` with `USER_BUILD_STEP` ("A build step has failed") or a `PUSH_*` type, `FAILURE` without a failure
 * type, a `TIMEOUT` once a step ran, `CANCELLED` and `EXPIRED` are not Cloud Build's fault: undefined.
 */
export function infrastructureFailure(build: EndedBuild): string | undefined {
  const status = statusName(build.status);
  const type = failureTypeName(build.failureInfo?.type);
  const detail = build.failureInfo?.detail ? `: ${build.failureInfo.detail}` : '';
  if (status === 'INTERNAL_ERROR')
    return `Cloud Build failed for an internal cause (INTERNAL_ERROR${type ? `, ${type}` : ''}${detail})`;
  if (status === 'FAILURE' && type === 'FETCH_SOURCE_FAILED') {
    return `Cloud Build could not fetch the uploaded context (FETCH_SOURCE_FAILED${detail})`;
  }
  if (status === 'FAILURE' && type === 'LOGGING_FAILURE')
    return `Cloud Build's logging failed (LOGGING_FAILURE${detail})`;
  if (status !== 'TIMEOUT') return undefined;
  const fetch = build.timing?.FETCHSOURCE;
  const fetching = type === 'FETCH_SOURCE_FAILED' || (fetch != null && fetch.endTime == null);
  const stepStarted = (build.steps ?? []).some(
    (step) =>
      step.timing?.startTime != null || !['QUEUED', 'PENDING', 'STATUS_UNKNOWN'].includes(statusName(step.status)),
  );
  return fetching || !stepStarted
    ? 'Cloud Build timed out fetching the uploaded context, before any step ran (TIMEOUT)'
    : undefined;
}
