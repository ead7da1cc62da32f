/**
 * `cloudBuild()`: builds on Google Cloud Build. The deterministic context (prepared once by `resolveImage()`, or here
 * for a direct `build()` call) is uploaded once per content
 * (`gs://<staging bucket>/vertex-launch/contexts/<fingerprint>.tar.gz`, streamed, resumable, skipped when the object
 * is there), the build runs a `docker build` and a `docker push` step, its log is streamed from the logs bucket
 * while it runs, and the digest comes from `results.images`. Aborting the request cancels the build.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { artifactRegistry } from '@vertex-launch/artifact-registry';
import {
  type AuthCredentials,
  BuildError,
  type BuildRequest,
  type BuildResult,
  backoff,
  buildEventEmitter,
  type Clock,
  ConfigError,
  defineBuilder,
  emulatorConnectionOf,
  endpointsOption,
  firstEnv,
  GrpcCode,
  grpcCodeOf,
  type ImageBuilder,
  PROJECT_ENV_VARS,
  preparedContextOf,
  type RetryPolicy,
  retry,
  type ServiceEndpoints,
  systemClock,
  VertexLaunchError,
} from '@vertex-launch/core';
import type { PackedContext } from '@vertex-launch/core/build';
import { z } from 'zod';
import {
  type CloudBuildConfig,
  cloudBuildConfig,
  type EndedBuild,
  infrastructureFailure,
  isTerminal,
  parseGcsUrl,
  statusName,
} from './build-config.js';
import { type CloudBuildClient, createCloudBuild, createStorage, type StorageClient } from './clients.js';

/** Looks up the digest of an image tag; `artifactRegistry()` from `@vertex-launch/artifact-registry` is one. */
export interface DigestLookup {
  getDigest(imageUri: string): Promise<string | undefined>;
}

const hasMethod = (value: unknown, method: string): boolean =>
  value !== null && typeof value === 'object' && typeof (value as Record<string, unknown>)[method] === 'function';

/** The options of {@link cloudBuild}. */
export const cloudBuildOptions = z
  .object({
    credentials: z
      .custom<AuthCredentials>(
        (v) => hasMethod(v, 'accessToken') && hasMethod((v as AuthCredentials).authClient, 'getRequestHeaders'),
        {
          message: 'must be AuthCredentials from @vertex-launch/auth (with authClient and accessToken())',
        },
      )
      .optional()
      .describe(
        "Credentials for Cloud Build, Cloud Storage and Artifact Registry, e.g. `await resolveCredentials(auto())` from @vertex-launch/auth. Default: the runtime's (one of the two is required).",
      ),
    projectId: z
      .string()
      .min(1)
      .optional()
      .describe(
        "Project that runs the build. Default: the runtime's, else the credentials' project, else GOOGLE_CLOUD_PROJECT (or GCLOUD_PROJECT, CLOUDSDK_CORE_PROJECT).",
      ),
    location: z
      .string()
      .regex(/^[a-z0-9-]+$/)
      .default('global')
      .describe('Cloud Build location (`global` or a region such as `us-central1`).'),
    stagingBucket: z
      .string()
      .regex(/^(gs:\/\/)?[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]\/?$/, 'must be a bucket name or gs://bucket')
      .optional()
      .describe(
        'Bucket for the build contexts. Default `<project>_cloudbuild` (created when missing, as gcloud does).',
      ),
    logsBucket: z
      .string()
      .regex(/^gs:\/\/[a-z0-9][a-z0-9._-]+[a-z0-9](\/.*)?$/, 'must be gs://bucket[/path]')
      .optional()
      .describe(
        'Where Cloud Build writes the build log. Default `gs://<staging bucket>` (the log is `log-<build id>.txt`).',
      ),
    machineType: z
      .string()
      .min(1)
      .optional()
      .describe("Build machine type, e.g. `E2_HIGHCPU_8`. Default: Cloud Build's default machine."),
    timeoutSeconds: z
      .number()
      .int()
      .positive()
      .default(1200)
      .describe('Build timeout in seconds. Default 1200 (20 minutes).'),
    serviceAccount: z
      .string()
      // Build.service_account (cloudbuild.proto): "Must be of the format
      // `projects/{PROJECT_ID}/serviceAccounts/{ACCOUNT}`. ACCOUNT can be email address or uniqueId".
      .regex(
        /^projects\/[^/\s]+\/serviceAccounts\/[^/\s]+$/,
        'must be a service account resource name, `projects/<project>/serviceAccounts/<email>` (not the bare email)',
      )
      .optional()
      .describe("Service account the build runs as (`projects/<p>/serviceAccounts/<email>`). Default: Cloud Build's."),
    cacheFrom: z
      .array(z.string())
      .default([])
      .describe('Images to reuse layers from (`--cache-from`, with BuildKit inline cache metadata written on push).'),
    labels: z.record(z.string(), z.string()).default({}).describe('Labels added to every image this builder makes.'),
    uploadChunkBytes: z
      .number()
      .int()
      .positive()
      .multipleOf(256 * 1024, 'must be a multiple of 256 KiB (262144), as Cloud Storage requires')
      .default(8 * 1024 * 1024)
      .describe(
        'Size of each request of the resumable context upload, a multiple of 256 KiB. A request that fails is sent again from the offset Cloud Storage reports, so at most one chunk is sent twice. Default 8 MiB.',
      ),
    compression: z
      .number()
      .int()
      .min(0)
      .max(9)
      .optional()
      .describe(
        "gzip level of the uploaded context, 0-9, for requests that set none. Default 6. A lower level packs faster and uploads more bytes (the object's name is the fingerprint, which the level does not change).",
      ),
    pollIntervalMs: z
      .number()
      .int()
      .positive()
      .default(2000)
      .describe('How often the build status and log are read while the build runs. Default 2000 ms.'),
    dockerImage: z
      .string()
      .default('gcr.io/cloud-builders/docker')
      .describe('The builder image of the build and push steps.'),
    registry: z
      .custom<DigestLookup>((v) => hasMethod(v, 'getDigest'), { message: 'must have a getDigest(uri) method' })
      .optional()
      .describe('Answers whether the content tag is already pushed. Default: artifactRegistry({ credentials }).'),
    endpoints: z
      .custom<ServiceEndpoints>((v) => typeof v === 'object' && v !== null, 'must be ServiceEndpoints')
      .optional()
      .describe("Where the Google APIs are (Google or the emulator). Default: the runtime's, else those of `env`."),
    env: z
      // A custom check, not z.record: process.env is not a plain object.
      .custom<Record<string, string | undefined>>((v) => typeof v === 'object' && v !== null, 'must be an object')
      .optional()
      .describe(
        'Environment to read the default project (and, without `endpoints`, the endpoints) from. Default `process.env`.',
      ),
    clientOptions: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('Extra options for `new CloudBuildClient(...)`, e.g. `apiEndpoint` of a private endpoint.'),
    clock: z
      .custom<Clock>((v) => hasMethod(v, 'now') && hasMethod(v, 'sleep'), {
        message: 'must be a Clock from @vertex-launch/core (with now() and sleep(ms, signal))',
      })
      .optional()
      .describe('Sleeps between polls and retries. Default: the system clock.'),
    random: z
      .custom<() => number>((v) => typeof v === 'function', { message: 'must be a function returning [0, 1)' })
      .optional()
      .describe('Jitter of the retry delays, numbers in [0, 1). Default `Math.random`; tests pass a seeded one.'),
  })
  .strict();

/** Input of {@link cloudBuild}. */
export type CloudBuildOptions = z.input<typeof cloudBuildOptions>;

const NAME = 'cloudbuild';
const DEFAULT_PLATFORM = 'linux/amd64';
const UPLOAD_EVENT_BYTES = 256 * 1024;
/**
 * Upload attempts on one resumable session before the build fails (each resumes at the stored offset), 250 ms apart,
 * doubling.
 */
const UPLOAD_RETRY: RetryPolicy = {
  maxAttempts: 8,
  initialDelayMs: 250,
  multiplier: 2,
  maxDelayMs: 4000,
  jitter: 'none',
};
/**
 * Attempts of CreateBuild while it fails with a transient gRPC code (core's `TRANSIENT_GRPC_CODES`), full jitter under
 * 250 ms doubling; before each retry the build is looked up by its content tag, so none runs twice.
 */
const CREATE_RETRY: RetryPolicy = { maxAttempts: 5, initialDelayMs: 250, multiplier: 2 };
/**
 * Cloud Builds run for one build() when they end with an infrastructure failure (`INTERNAL_ERROR`, a failed or
 * timed-out source fetch: see `infrastructureFailure`): the first and up to two more, under the same content tag.
 * The wait before the second is 1 s, doubled before the third (each 50-100 % of it).
 */
const BUILD_RETRY: RetryPolicy = { maxAttempts: 3, initialDelayMs: 1000, multiplier: 2, jitter: 'equal' };
/** Status reads in a row that may fail transiently before the build is given up on (one poll interval apart). */
const STATUS_READ_FAILURES = 10;
/** HTTP statuses (and network errors without one) worth resuming the upload session after. */
const RETRYABLE_UPLOAD = new Set([408, 429, 500, 502, 503, 504]);
const STEP = /Step (\d+)\/(\d+) : (.*)$/;

/** The fields of a Build read while following it. */
interface FollowedBuild extends EndedBuild {
  statusDetail?: string | null;
  results?: { images?: { name?: string | null; digest?: string | null }[] | null } | null;
  failureInfo?: { type?: unknown; detail?: string | null } | null;
}

/** Resolves once `stream` has emitted 'close' (at once when it has). */
function closed(stream: NodeJS.WritableStream & { closed?: boolean }): Promise<void> {
  if (stream.closed) return Promise.resolve();
  return new Promise((resolve) => stream.once('close', () => resolve()));
}

interface GrpcLikeError {
  details?: string;
  message?: string;
}

function interrupted(destination: string, cause?: unknown): VertexLaunchError {
  return new VertexLaunchError(
    'INTERRUPTED',
    `[vertex-launch] [builder:cloudbuild] The build of ${destination} was aborted; the Cloud Build was cancelled.`,
    cause === undefined ? {} : { cause },
  );
}

/** The tag of an image reference (`undefined` for a digest reference or none). */
function tagOf(uri: string): string | undefined {
  const last = uri.slice(uri.lastIndexOf('/') + 1);
  const colon = last.lastIndexOf(':');
  return colon < 0 || last.includes('@') ? undefined : last.slice(colon + 1);
}

function httpStatus(error: unknown): number | undefined {
  const { code, status, response } = error as { code?: unknown; status?: unknown; response?: { status?: unknown } };
  for (const value of [code, status, response?.status]) if (typeof value === 'number') return value;
  return undefined;
}

/** True for an upload or log read worth another attempt: a retryable HTTP status, or a network error without one. */
function retryableHttp(error: unknown): boolean {
  const status = httpStatus(error);
  return status === undefined || RETRYABLE_UPLOAD.has(status);
}

/** The id of a build of `destination` tagged with the content tag that is queued, running or done, if any. */
async function findBuild(
  client: CloudBuildClient,
  projectId: string,
  parent: string,
  contentTag: string,
  destination: string,
): Promise<string | undefined> {
  const [builds] = await client.listBuilds({ projectId, parent, filter: `tags="${contentTag}"` });
  const alive = new Set(['QUEUED', 'PENDING', 'WORKING', 'SUCCESS']);
  const found = builds.find(
    (b) => alive.has(statusName(b.status)) && (b.images ?? []).includes(destination) && typeof b.id === 'string',
  );
  return found?.id ?? undefined;
}

/**
 * A builder that runs the build on Google Cloud Build (clients loaded on first use).
 *
 * @example
 * const credentials = await resolveCredentials(auto()); // from @vertex-launch/auth
 * const builder = cloudBuild({ credentials, stagingBucket: 'my-project-builds', machineType: 'E2_HIGHCPU_8' });
 * const { digest } = await builder.build({ contextDir: './trainer', destination: 'us-docker.pkg.dev/p/r/trainer:v1' });
 */
export const cloudBuild = defineBuilder(NAME, cloudBuildOptions, (options, runtime): ImageBuilder => {
  const env = options.env ?? process.env;
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const sleep = (ms: number, signal: AbortSignal | undefined) => clock.sleep(ms, signal);
  const endpoints = endpointsOption(options.endpoints ?? runtime.endpoints, env);
  const emulator = emulatorConnectionOf(endpoints);
  const credentials = options.credentials ?? runtime.credentials;
  if (!credentials) {
    throw new ConfigError(
      `[vertex-launch] [builder:${NAME}] Missing required option \`credentials\`.`,
      [{ path: 'credentials', message: 'required (or a runtime with credentials)', severity: 'error' }],
      { hint: 'Pass `credentials`, e.g. `await resolveCredentials(auto())` from @vertex-launch/auth.' },
    );
  }
  let token = '';
  const refreshToken = async (): Promise<void> => {
    try {
      token = (await credentials.accessToken()).token;
    } catch (cause) {
      throw new BuildError(NAME, `Could not get an access token for Cloud Build: ${(cause as Error).message}`, {
        cause,
        hint: 'Check your Google credentials (`vertex-launch auth check`).',
      });
    }
  };
  const project = (): string => {
    const id =
      options.projectId ?? runtime.projectId ?? credentials.projectId ?? firstEnv(env, PROJECT_ENV_VARS)?.value;
    if (!id) {
      throw new ConfigError(
        `[vertex-launch] [builder:${NAME}] Missing required option \`projectId\`.`,
        [{ path: 'projectId', message: 'required: the credentials name no project', severity: 'error' }],
        { hint: 'Pass `projectId`, or set GOOGLE_CLOUD_PROJECT.' },
      );
    }
    return id;
  };
  let storagePromise: Promise<StorageClient> | undefined;
  const storage = () => {
    storagePromise ??= createStorage(project(), () => token, emulator).catch((error: unknown) => {
      storagePromise = undefined;
      throw error;
    });
    return storagePromise;
  };
  // The build log and the context upload go through a client with storage's own retries off; the poll loop and the
  // upload's resume loop below are the retries. (storage 7 retries a stream download through retry-request, which on
  // Node 24 makes teeny-request pipe into the stream it just discarded: an unhandled ERR_STREAM_UNABLE_TO_PIPE,
  // googleapis/google-cloud-node#8670. Its resumable upload, when the offset query of a retry fails, both schedules
  // another retry and goes on from offset 0: a RangeError emitted on a stream nobody listens to any more, and a
  // second writer on the same session.)
  let unretriedStoragePromise: Promise<StorageClient> | undefined;
  const unretriedStorage = () => {
    unretriedStoragePromise ??= createStorage(project(), () => token, emulator, { retry: false }).catch(
      (error: unknown) => {
        unretriedStoragePromise = undefined;
        throw error;
      },
    );
    return unretriedStoragePromise;
  };
  let buildClientPromise: Promise<CloudBuildClient> | undefined;
  const buildClient = () => {
    buildClientPromise ??= createCloudBuild(credentials.authClient, emulator, options.clientOptions).catch(
      (error: unknown) => {
        buildClientPromise = undefined;
        throw error;
      },
    );
    return buildClientPromise;
  };
  const registry: DigestLookup = options.registry ?? artifactRegistry({ credentials, endpoints });

  const bucketName = (): string => parseGcsUrl(options.stagingBucket ?? `${project()}_cloudbuild`).bucket;

  const ensureBucket = async (name: string): Promise<void> => {
    const bucket = (await storage()).bucket(name);
    const [exists] = await bucket.exists();
    if (exists) return;
    if (options.stagingBucket !== undefined) {
      throw new ConfigError(
        `[vertex-launch] [builder:${NAME}] The staging bucket gs://${name} does not exist.`,
        [{ path: 'stagingBucket', message: 'bucket not found', severity: 'error' }],
        {
          hint: `Create it (\`gcloud storage buckets create gs://${name} --project=${project()}\`) or leave \`stagingBucket\` unset to use ${project()}_cloudbuild.`,
        },
      );
    }
    try {
      await (await storage()).createBucket(name);
    } catch (error) {
      if (httpStatus(error) !== 409) throw error;
    }
  };

  const cloudError = (error: unknown, action: string, tail: string[] = []): BuildError => {
    if (error instanceof VertexLaunchError) return error as BuildError;
    const e = error as GrpcLikeError;
    const detail = e.details ?? e.message ?? String(error);
    // A gRPC PERMISSION_DENIED, or an HTTP 403 of Cloud Storage (grpcCodeOf maps it to the same code).
    const permission = grpcCodeOf(error) === GrpcCode.PERMISSION_DENIED;
    return new BuildError(NAME, `Could not ${action}: ${detail}`, {
      cause: error,
      logTail: tail,
      hint: permission
        ? 'Grant the caller roles/cloudbuild.builds.editor and roles/storage.objectAdmin on the staging bucket.'
        : 'Retry; if it persists, check the Cloud Build and Cloud Storage APIs are enabled for the project.',
    });
  };

  // Builds in flight by what they build: a second request for the same image waits for the first (and gets a
  // `skipped` event) instead of starting an identical Cloud Build.
  const inFlight = new Map<string, Promise<BuildResult>>();
  const buildKey = (r: BuildRequest) =>
    JSON.stringify([r.destination, r.contextDir, r.dockerfile, r.buildArgs, r.target, r.platform]);

  const build = async (request: BuildRequest): Promise<BuildResult> => {
    const key = buildKey(request);
    const shared = inFlight.get(key);
    if (shared) {
      const { signal } = request;
      if (signal?.aborted) throw interrupted(request.destination, signal.reason);
      let onAbort: (() => void) | undefined;
      try {
        const result = await Promise.race([
          shared,
          new Promise<never>((_, reject) => {
            onAbort = () => reject(interrupted(request.destination, signal?.reason));
            signal?.addEventListener('abort', onAbort, { once: true });
          }),
        ]);
        buildEventEmitter(request)({
          type: 'skipped',
          imageUri: request.destination,
          reason: `${request.destination} was built by a build of the same sources that was already running`,
        });
        return result;
      } catch (error) {
        if (signal?.aborted) throw error;
        // The shared build failed (or its caller aborted it): build on our own.
      } finally {
        if (onAbort) signal?.removeEventListener('abort', onAbort);
      }
    }
    const own = buildOnce(request);
    inFlight.set(key, own);
    try {
      return await own;
    } finally {
      if (inFlight.get(key) === own) inFlight.delete(key);
    }
  };

  async function buildOnce(request: BuildRequest): Promise<BuildResult> {
    const { destination, signal } = request;
    const emit = buildEventEmitter(request);
    if (signal?.aborted) throw interrupted(destination, signal.reason);
    const platform = request.platform ?? DEFAULT_PLATFORM;
    // The context was scanned once (by resolveImage, or here): each retried upload packs it again without a scan.
    // Every pack is closed, and its file reads awaited, before build() settles, so a caller that removes the
    // context directory once the build has failed or been aborted meets no late read.
    const context = await preparedContextOf(request, platform);
    const compression = request.compression ?? options.compression;
    const packs: PackedContext[] = [];
    const pack = (): PackedContext => {
      const packed = context.pack({ compression });
      packs.push(packed);
      return packed;
    };
    const first = pack();
    const { manifest } = first;
    const contentTagged = tagOf(destination) === manifest.tag;
    /** Before a retry: another builder (another agent) may have pushed the same content meanwhile. */
    const alreadyPushed = async (): Promise<BuildResult | undefined> => {
      const digest = await registry.getDigest(destination);
      if (digest === undefined) return undefined;
      emit({
        type: 'skipped',
        imageUri: destination,
        reason: `${destination} already exists (same sources, same content tag)`,
      });
      return { imageUri: destination, digest };
    };
    try {
      await refreshToken();
      const projectId = project();
      const bucket = bucketName();
      const object = `vertex-launch/contexts/${manifest.fingerprint}.tar.gz`;
      const logs = parseGcsUrl(options.logsBucket ?? `gs://${bucket}`);
      await ensureBucket(bucket).catch((error: unknown) => {
        throw error instanceof VertexLaunchError ? error : cloudError(error, `check the staging bucket gs://${bucket}`);
      });
      const parent = `projects/${projectId}/locations/${options.location}`;

      /** Uploads the context once per content (skipped when the object is there); `packed` is sent first. */
      const uploadContext = async (packed: PackedContext | undefined): Promise<void> => {
        const [present] = await (await storage())
          .bucket(bucket)
          .file(object)
          .exists()
          .catch((error: unknown) => {
            throw cloudError(error, `look up gs://${bucket}/${object}`);
          });
        if (present) {
          emit({ type: 'log', line: `Context gs://${bucket}/${object} is already uploaded.`, stream: 'stdout' });
          return;
        }
        // One resumable session. When a request of it fails, the context (deterministic) is packed again and the
        // same session resumed: the new stream asks the server for its offset and skips the bytes it has, so no
        // byte stored is sent again.
        const file = (await unretriedStorage()).bucket(bucket).file(object);
        let uri: string | undefined;
        let bytes = 0;
        const uploadOnce = async (attempt: number): Promise<void> => {
          // Deterministic: packed again (no new scan), the context gives the same bytes.
          const source = attempt === 1 && packed ? packed : pack();
          bytes = 0;
          let reported = 0;
          const counter = new Transform({
            transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
              bytes += chunk.length;
              if (bytes - reported >= UPLOAD_EVENT_BYTES) {
                reported = bytes;
                emit({ type: 'upload', bytes, totalBytes: undefined });
              }
              callback(null, chunk);
            },
          });
          const target = file.createWriteStream({
            resumable: true,
            gzip: false,
            chunkSize: options.uploadChunkBytes,
            contentType: 'application/gzip',
            preconditionOpts: { ifGenerationMatch: 0 },
            metadata: { metadata: { 'vertex-launch-fingerprint': manifest.fingerprint } },
            ...(uri === undefined ? {} : { uri }),
          });
          target.on('uri', (link: string) => {
            uri = link;
          });
          // The pipeline reports the first error; a late one from a request still in flight after it has let go
          // of the stream must not become an uncaught exception.
          target.on('error', () => undefined);
          try {
            await pipeline(source.stream, counter, target, ...(signal ? [{ signal }] : []));
          } catch (error) {
            // 412: another upload of the same content won the race; the object is what we would have sent.
            if (signal?.aborted || httpStatus(error) !== 412) throw error;
          } finally {
            // The upload stopped (pipeline destroys every stream on failure): wait until it has let go of the
            // context's files and of the upload stream before going on or settling.
            await Promise.all([source.close(), closed(target)]);
          }
        };
        try {
          await retry(uploadOnce, {
            policy: UPLOAD_RETRY,
            // Our own errors (a refused context file) are final. Before the session exists only an HTTP answer
            // worth another attempt is retried (a new session, nothing stored yet); once it exists, network errors
            // too (the session is resumed).
            retryable: (error) =>
              !(error instanceof VertexLaunchError) &&
              (uri === undefined ? RETRYABLE_UPLOAD.has(httpStatus(error) ?? 0) : retryableHttp(error)),
            clock,
            signal,
            onFailure: ({ attempt, error, delayMs }) => {
              if (delayMs === undefined) return;
              emit({
                type: 'log',
                line: `Upload of the context interrupted (${(error as Error).message}); resuming (attempt ${attempt + 1} of ${UPLOAD_RETRY.maxAttempts}).`,
                stream: 'stderr',
              });
            },
          });
        } catch (error) {
          if (signal?.aborted) throw interrupted(destination, error);
          if (error instanceof VertexLaunchError) throw error;
          throw cloudError(error, `upload the build context to gs://${bucket}/${object}`);
        }
        emit({ type: 'upload', bytes, totalBytes: bytes });
      };

      /** Starts the Cloud Build; a create that failed transiently is retried, or the build it made is followed. */
      const startBuild = async (client: CloudBuildClient, config: CloudBuildConfig): Promise<string> => {
        try {
          return await retry(
            async (attempt) => {
              if (attempt > 1) {
                // The create may have gone through (DEADLINE_EXCEEDED, a lost answer): follow that build rather than
                // start a second.
                const found = await findBuild(client, projectId, parent, manifest.tag, destination).catch(
                  () => undefined,
                );
                if (found) return found;
              }
              const [operation] = await client.createBuild({ projectId, parent, build: config as never });
              const id = (operation.metadata as { build?: { id?: string | null } } | null)?.build?.id ?? undefined;
              if (!id) throw new BuildError(NAME, `Cloud Build returned no build id for ${destination}.`);
              return id;
            },
            {
              policy: CREATE_RETRY,
              clock,
              random,
              signal,
              onFailure: ({ error, delayMs }) => {
                if (delayMs === undefined) return;
                emit({
                  type: 'log',
                  line: `Starting the Cloud Build failed (${(error as GrpcLikeError).details ?? (error as Error).message}); trying again.`,
                  stream: 'stderr',
                });
              },
            },
          );
        } catch (error) {
          if (signal?.aborted) throw interrupted(destination, error);
          throw cloudError(error, `start a Cloud Build for ${destination} in ${parent}`);
        }
      };

      /** Follows build `id` (status and the log object) until it ends; cancels it when the signal aborts. */
      const follow = async (
        client: CloudBuildClient,
        id: string,
      ): Promise<{ result: FollowedBuild; tail: string[] }> => {
        const name = `${parent}/builds/${id}`;
        const logObject = (await unretriedStorage())
          .bucket(logs.bucket)
          .file(`${logs.path ? `${logs.path}/` : ''}log-${id}.txt`);
        const tail: string[] = [];
        let offset = 0;
        let partial = '';
        const line = (text: string) => {
          if (text.trim() === '') return;
          tail.push(text);
          if (tail.length > 40) tail.shift();
          emit({ type: 'log', line: text, stream: 'stdout' });
          const step = STEP.exec(text);
          if (step) emit({ type: 'step', current: Number(step[1]), total: Number(step[2]), text: step[3] ?? '' });
        };
        let logReadFailures = 0;
        const readLog = async (final: boolean) => {
          let chunk: Buffer | undefined;
          for (;;) {
            try {
              [chunk] = await logObject.download({ start: offset, validation: false } as never);
              logReadFailures = 0;
              break;
            } catch (error) {
              const status = httpStatus(error);
              if (status === 404 || status === 416) break; // no log yet, or nothing new
              // A transient failure is read again: at the next poll, or (for the last read) after a pause.
              logReadFailures += 1;
              if (!retryableHttp(error) || logReadFailures >= STATUS_READ_FAILURES) {
                throw cloudError(error, `read the build log gs://${logs.bucket}`);
              }
              if (!final) return;
              await sleep(options.pollIntervalMs, signal);
            }
          }
          if (chunk && chunk.length > 0) {
            offset += chunk.length;
            const parts = (partial + chunk.toString('utf8')).split('\n');
            partial = parts.pop() ?? '';
            for (const part of parts) line(part.replace(/\r$/, ''));
          }
          if (final && partial !== '') {
            line(partial);
            partial = '';
          }
        };
        const cancelled = async () => {
          await client.cancelBuild({ projectId, id, name }).catch(() => undefined);
          return interrupted(destination, signal?.reason);
        };
        // A status read failing transiently is read again a poll interval later, up to STATUS_READ_FAILURES in a row.
        const readStatus = () =>
          retry(async () => (await client.getBuild({ projectId, id, name })) as unknown as [FollowedBuild], {
            policy: {
              maxAttempts: STATUS_READ_FAILURES,
              initialDelayMs: options.pollIntervalMs,
              multiplier: 1,
              jitter: 'none',
            },
            clock,
            signal,
          });
        for (;;) {
          if (signal?.aborted) throw await cancelled();
          let result: FollowedBuild;
          try {
            [result] = await readStatus();
          } catch (error) {
            if (signal?.aborted) throw await cancelled();
            throw cloudError(error, `read the status of Cloud Build ${id}`, tail);
          }
          const terminal = isTerminal(statusName(result.status));
          await readLog(terminal);
          if (terminal) return { result, tail };
          await sleep(options.pollIntervalMs, signal);
          await refreshToken();
        }
      };

      const config = cloudBuildConfig({
        destination,
        manifest,
        bucket,
        object,
        logsBucket: `gs://${logs.bucket}${logs.path ? `/${logs.path}` : ''}`,
        platform,
        buildArgs: request.buildArgs,
        target: request.target,
        labels: options.labels,
        cacheFrom: options.cacheFrom,
        timeoutSeconds: options.timeoutSeconds,
        machineType: options.machineType,
        serviceAccount: options.serviceAccount,
        dockerImage: options.dockerImage,
      });
      // A build that ends with an infrastructure failure (see infrastructureFailure) is run again under the same
      // content tag, at most BUILD_RETRY.maxAttempts builds in all; a failing step never is.
      for (let attempt = 1; ; attempt += 1) {
        // Again on a retry: the failed fetch may have found the object gone (then it is uploaded again).
        await uploadContext(attempt === 1 ? first : undefined);
        if (signal?.aborted) throw interrupted(destination);
        const client = await buildClient();
        const id = await startBuild(client, config);
        const consoleUrl = `https://console.cloud.google.com/cloud-build/builds;region=${options.location}/${id}?project=${projectId}`;
        emit({ type: 'log', line: `Cloud Build ${id} started: ${consoleUrl}`, stream: 'stdout' });
        const { result, tail } = await follow(client, id);
        const status = statusName(result.status);
        if (status === 'SUCCESS') {
          const image = (result.results?.images ?? []).find((i) => i.name === destination && i.digest);
          if (!image?.digest) {
            throw new BuildError(NAME, `Cloud Build ${id} succeeded but reported no digest for ${destination}.`, {
              logTail: [...tail],
              hint: 'Check that the build pushed the image (its `images` list).',
            });
          }
          return { imageUri: destination, digest: image.digest };
        }
        const detail = result.failureInfo?.detail || result.statusDetail || 'no detail';
        const infrastructure = infrastructureFailure(result);
        if (infrastructure === undefined || attempt >= BUILD_RETRY.maxAttempts) {
          const tries = attempt > 1 ? ` (${attempt} Cloud Builds, each ended by a failure of Cloud Build's own)` : '';
          throw new BuildError(NAME, `Cloud Build ${id} for ${destination} ended ${status}${tries}: ${detail}`, {
            logTail: [...tail],
            hint:
              infrastructure !== undefined
                ? `Cloud Build kept failing for reasons of its own; try again later, and check https://status.cloud.google.com (last build: ${consoleUrl}).`
                : status === 'TIMEOUT'
                  ? `Raise \`timeoutSeconds\` (now ${options.timeoutSeconds}) or use a larger \`machineType\`.`
                  : `Fix the failing step (the last lines of the log are in the error's logTail; full log: ${consoleUrl}).`,
          });
        }
        const delay = backoff(BUILD_RETRY, attempt, random);
        emit({
          type: 'log',
          line: `${infrastructure}; Cloud Build ${id} ended ${status} without a failing step, so the build runs again under the same content tag ${manifest.tag} in ${(delay / 1000).toFixed(1)} s (build ${attempt + 1} of ${BUILD_RETRY.maxAttempts}).`,
          stream: 'stderr',
        });
        await sleep(delay, signal);
        if (signal?.aborted) throw interrupted(destination, signal.reason);
        // Another builder (another agent) may have pushed the same content meanwhile.
        if (contentTagged) {
          const pushed = await alreadyPushed().catch(() => undefined);
          if (pushed) return pushed;
        }
      }
    } finally {
      await Promise.all(packs.map((packed) => packed.close()));
    }
  }

  return {
    name: NAME,

    async exists(imageUri) {
      return (await registry.getDigest(imageUri)) !== undefined;
    },

    digestOf: (imageUri) => registry.getDigest(imageUri),

    build,
  };
});
