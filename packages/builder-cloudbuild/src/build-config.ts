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
