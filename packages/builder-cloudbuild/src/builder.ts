/**
 * `cloudBuild()`: builds on Google Cloud Build. The deterministic context is uploaded once per content
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
  buildEventEmitter,
  ConfigError,
  defineBuilder,
  type EmulatorConnection,
  packContext,
  readEmulatorConnection,
  VertexLaunchError,
} from '@vertex-launch/core';
import { z } from 'zod';
import { cloudBuildConfig, isTerminal, parseGcsUrl, statusName } from './build-config.js';
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
      .describe(
        'Credentials for Cloud Build, Cloud Storage and Artifact Registry, e.g. `await resolveCredentials(auto())` from @vertex-launch/auth.',
      ),
    projectId: z
      .string()
      .min(1)
      .optional()
      .describe("Project that runs the build. Default: the credentials' project, else GOOGLE_CLOUD_PROJECT."),
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
      .min(1)
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
    emulator: z
      .custom<EmulatorConnection | null>((v) => v === null || (typeof v === 'object' && v !== undefined))
      .optional()
      .describe('The Vertex Launch emulator. Default: read from `env`; `null` forces Google.'),
    env: z
      // A custom check, not z.record: process.env is not a plain object.
      .custom<Record<string, string | undefined>>((v) => typeof v === 'object' && v !== null, 'must be an object')
      .optional()
      .describe('Environment to read the emulator connection and the default project from. Default `process.env`.'),
    clientOptions: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('Extra options for `new CloudBuildClient(...)`, e.g. `apiEndpoint` of a private endpoint.'),
  })
  .strict();

/** Input of {@link cloudBuild}. */
export type CloudBuildOptions = z.input<typeof cloudBuildOptions>;

const NAME = 'cloudbuild';
const DEFAULT_PLATFORM = 'linux/amd64';
const UPLOAD_EVENT_BYTES = 256 * 1024;
/** Upload attempts on one resumable session before the build fails (each resumes at the stored offset). */
const UPLOAD_ATTEMPTS = 5;
/** gRPC codes worth trying a Cloud Build call again for: UNAVAILABLE, INTERNAL, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED. */
const TRANSIENT_CODES = new Set([14, 13, 8, 4]);
/** Attempts of CreateBuild; before each retry the build is looked up by its content tag, so none runs twice. */
const CREATE_ATTEMPTS = 5;
/** Status reads in a row that may fail transiently before the build is given up on. */
const STATUS_READ_FAILURES = 10;
/** HTTP statuses (and network errors without one) worth resuming the upload session after. */
const RETRYABLE_UPLOAD = new Set([408, 429, 500, 502, 503, 504]);
const STEP = /Step (\d+)\/(\d+) : (.*)$/;

interface GrpcLikeError {
  code?: number;
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

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

function tagOf(uri: string): string | undefined {
  const last = uri.slice(uri.lastIndexOf('/') + 1);
  const colon = last.lastIndexOf(':');
  return colon < 0 || last.includes('@') ? undefined : last.slice(colon + 1);
}

function httpStatus(error: unknown): number | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
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
export const cloudBuild = defineBuilder(NAME, cloudBuildOptions, (options) => {
  const env = options.env ?? process.env;
  const emulator = options.emulator === null ? undefined : (options.emulator ?? readEmulatorConnection(env));
  const credentials = options.credentials;
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
    const id = options.projectId ?? credentials.projectId ?? env.GOOGLE_CLOUD_PROJECT ?? env.GCLOUD_PROJECT;
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
  const registry: DigestLookup = options.registry ?? artifactRegistry({ credentials, emulator: emulator ?? null });

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
    const permission = e.code === 7 || e.code === 403;
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
    const compression = request.compression ?? options.compression;
    const packed = await packContext({ ...request, platform, compression });
    const { manifest } = packed;
    try {
      if (tagOf(destination) === manifest.tag) {
        const digest = await registry.getDigest(destination);
        if (digest !== undefined) {
          packed.stream.destroy();
          emit({
            type: 'skipped',
            imageUri: destination,
            reason: `${destination} already exists (same sources, same content tag)`,
          });
          return { imageUri: destination, digest };
        }
      }
      await refreshToken();
      const projectId = project();
      const bucket = bucketName();
      const object = `vertex-launch/contexts/${manifest.fingerprint}.tar.gz`;
      const logs = parseGcsUrl(options.logsBucket ?? `gs://${bucket}`);
      await ensureBucket(bucket).catch((error: unknown) => {
        throw error instanceof VertexLaunchError ? error : cloudError(error, `check the staging bucket gs://${bucket}`);
      });

      // Upload the context once per content.
      const file = (await storage()).bucket(bucket).file(object);
      const [present] = await file.exists().catch((error: unknown) => {
        throw cloudError(error, `look up gs://${bucket}/${object}`);
      });
      if (present) {
        packed.stream.destroy();
        emit({ type: 'log', line: `Context gs://${bucket}/${object} is already uploaded.`, stream: 'stdout' });
      } else {
        // One resumable session. Each chunk request the client retries itself from the offset the server reports;
        // when the client gives up, the context (deterministic) is packed again and the same session resumed at the
        // stored offset (the client skips the bytes the server has), so no byte stored is sent again.
        let uri: string | undefined;
        let bytes = 0;
        for (let attempt = 1; ; attempt += 1) {
          const source =
            attempt === 1 ? packed.stream : (await packContext({ ...request, platform, compression })).stream;
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
          try {
            await pipeline(source, counter, target, ...(signal ? [{ signal }] : []));
            break;
          } catch (error) {
            if (signal?.aborted) throw interrupted(destination, error);
            // 412: another upload of the same content won the race; the object is what we would have sent.
            if (httpStatus(error) === 412) break;
            if (error instanceof VertexLaunchError) throw error;
            const status = httpStatus(error);
            const retryable = status === undefined || RETRYABLE_UPLOAD.has(status);
            if (uri === undefined || !retryable || attempt >= UPLOAD_ATTEMPTS) {
              throw cloudError(error, `upload the build context to gs://${bucket}/${object}`);
            }
            emit({
              type: 'log',
              line: `Upload of the context interrupted (${(error as Error).message}); resuming (attempt ${attempt + 1} of ${UPLOAD_ATTEMPTS}).`,
              stream: 'stderr',
            });
            await sleep(250 * 2 ** (attempt - 1), signal);
          } finally {
            source.destroy();
          }
        }
        emit({ type: 'upload', bytes, totalBytes: bytes });
      }
      if (signal?.aborted) throw interrupted(destination);

      const client = await buildClient();
      const build = cloudBuildConfig({
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
      const parent = `projects/${projectId}/locations/${options.location}`;
      let id: string | undefined;
      for (let attempt = 1; id === undefined; attempt += 1) {
        try {
          const [operation] = await client.createBuild({ projectId, parent, build: build as never });
          id = (operation.metadata as { build?: { id?: string | null } } | null)?.build?.id ?? undefined;
          break;
        } catch (error) {
          const code = (error as GrpcLikeError).code;
          if (signal?.aborted || attempt >= CREATE_ATTEMPTS || code === undefined || !TRANSIENT_CODES.has(code)) {
            throw cloudError(error, `start a Cloud Build for ${destination} in ${parent}`);
          }
          emit({
            type: 'log',
            line: `Starting the Cloud Build failed (${(error as GrpcLikeError).details ?? (error as Error).message}); trying again.`,
            stream: 'stderr',
          });
          await sleep(Math.random() * 250 * 2 ** (attempt - 1), signal);
          // The create may have gone through (DEADLINE_EXCEEDED, a lost answer): follow that build rather than start a second.
          id = await findBuild(client, projectId, parent, manifest.tag, destination).catch(() => undefined);
        }
      }
      if (!id) throw new BuildError(NAME, `Cloud Build returned no build id for ${destination}.`);
      const name = `${parent}/builds/${id}`;
      const consoleUrl = `https://console.cloud.google.com/cloud-build/builds;region=${options.location}/${id}?project=${projectId}`;
      emit({ type: 'log', line: `Cloud Build ${id} started: ${consoleUrl}`, stream: 'stdout' });

      // Follow the build: status and the log object, until it ends.
      const logObject = (await storage()).bucket(logs.bucket).file(`${logs.path ? `${logs.path}/` : ''}log-${id}.txt`);
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
      const readLog = async (final: boolean) => {
        let chunk: Buffer | undefined;
        try {
          [chunk] = await logObject.download({ start: offset, validation: false } as never);
        } catch (error) {
          const status = httpStatus(error);
          if (status !== 404 && status !== 416) throw cloudError(error, `read the build log gs://${logs.bucket}`);
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
      let result: {
        status?: unknown;
        statusDetail?: string | null;
        results?: { images?: { name?: string | null; digest?: string | null }[] | null } | null;
        failureInfo?: { detail?: string | null } | null;
      };
      let readFailures = 0;
      for (;;) {
        if (signal?.aborted) {
          await client.cancelBuild({ projectId, id, name }).catch(() => undefined);
          throw interrupted(destination, signal.reason);
        }
        try {
          [result] = await client.getBuild({ projectId, id, name });
          readFailures = 0;
        } catch (error) {
          const code = (error as GrpcLikeError).code;
          readFailures += 1;
          if (code === undefined || !TRANSIENT_CODES.has(code) || readFailures >= STATUS_READ_FAILURES) {
            throw cloudError(error, `read the status of Cloud Build ${id}`, tail);
          }
          await sleep(options.pollIntervalMs, signal);
          continue;
        }
        const status = statusName(result.status);
        await readLog(isTerminal(status));
        if (isTerminal(status)) break;
        await sleep(options.pollIntervalMs, signal);
        await refreshToken();
      }
      const status = statusName(result.status);
      if (status !== 'SUCCESS') {
        const detail = result.failureInfo?.detail || result.statusDetail || 'no detail';
        throw new BuildError(NAME, `Cloud Build ${id} for ${destination} ended ${status}: ${detail}`, {
          logTail: [...tail],
          hint:
            status === 'TIMEOUT'
              ? `Raise \`timeoutSeconds\` (now ${options.timeoutSeconds}) or use a larger \`machineType\`.`
              : `Fix the failing step (the last lines of the log are in the error's logTail; full log: ${consoleUrl}).`,
        });
      }
      const image = (result.results?.images ?? []).find((i) => i.name === destination && i.digest);
      if (!image?.digest) {
        throw new BuildError(NAME, `Cloud Build ${id} succeeded but reported no digest for ${destination}.`, {
          logTail: [...tail],
          hint: 'Check that the build pushed the image (its `images` list).',
        });
      }
      return { imageUri: destination, digest: image.digest };
    } finally {
      packed.stream.destroy();
    }
  }

  return {
    name: NAME,

    async exists(imageUri) {
      return (await registry.getDigest(imageUri)) !== undefined;
    },

    build,
  };
});
