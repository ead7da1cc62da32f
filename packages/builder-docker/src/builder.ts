/**
 * `dockerBuilder()`: builds with the local Docker daemon from the deterministic context stream, for
 * `linux/amd64` unless told otherwise, pushes to Artifact Registry (or to the emulator's registry when the
 * `endpoints` are the emulator's) as `oauth2accesstoken`, and returns the digest the registry reported.
 * Whether the content tag is already pushed is `resolveImage()`'s question (answered with {@link ImageBuilder.digestOf}).
 */
import { Transform, type TransformCallback } from 'node:stream';
import {
  BuildError,
  type BuildEvent,
  type BuilderCredentials,
  type BuildRequest,
  type BuildResult,
  buildEventEmitter,
  defineBuilder,
  emulatorConnectionOf,
  endpointsOption,
  type ImageBuilder,
  preparedContextOf,
  type ServiceEndpoints,
  toEmulatorImageRef,
  VertexLaunchError,
} from '@vertex-launch/core';
import type Dockerode from 'dockerode';
import { z } from 'zod';
import { type DockerMessage, LogTail, ProgressTranslator } from './progress.js';

/** Docker Engine `authconfig` for a push: `oauth2accesstoken` and an access token. Never logged. */
export interface DockerRegistryAuth {
  username: string;
  password: string;
  serveraddress: string;
}

/** Anything that hands out push credentials for an image, e.g. `artifactRegistry()` from `@vertex-launch/artifact-registry`. */
export interface PushCredentialSource {
  pushCredentials(imageUri: string): Promise<DockerRegistryAuth>;
}

const hasMethod = (value: unknown, method: string): boolean =>
  value !== null && typeof value === 'object' && typeof (value as Record<string, unknown>)[method] === 'function';

/** The options of {@link dockerBuilder}. */
export const dockerBuilderOptions = z
  .object({
    socketPath: z
      .string()
      .min(1)
      .optional()
      .describe('Docker daemon socket. Default: `DOCKER_HOST` (unix://...) or /var/run/docker.sock.'),
    credentials: z
      .custom<BuilderCredentials>((v) => hasMethod(v, 'accessToken'), { message: 'must have an accessToken() method' })
      .optional()
      .describe(
        "Registry credentials used when a request brings none, e.g. `await resolveCredentials(auto())` from @vertex-launch/auth: pushes as oauth2accesstoken with `accessToken()`. Default: the runtime's credentials.",
      ),
    registry: z
      .custom<PushCredentialSource>((v) => hasMethod(v, 'pushCredentials'), {
        message: 'must have a pushCredentials(uri) method',
      })
      .optional()
      .describe(
        'A registry plugin (e.g. artifactRegistry()) asked for push credentials when no `credentials` are given.',
      ),
    labels: z.record(z.string(), z.string()).default({}).describe('Labels added to every image this builder makes.'),
    cacheFrom: z
      .array(z.string())
      .default([])
      .describe('Images (already on the daemon) whose layers may be reused (`--cache-from`).'),
    noCache: z
      .boolean()
      .default(false)
      .describe("Build without the daemon's layer cache (`docker build --no-cache`): every instruction runs again."),
    pull: z
      .boolean()
      .default(false)
      .describe('Pull newer versions of the base images before building (`docker build --pull`).'),
    compression: z
      .number()
      .int()
      .min(0)
      .max(9)
      .optional()
      .describe(
        'gzip level of the context sent to the daemon, 0-9, for requests that set none. Default 6; 0 (no compression) is fastest for a local daemon, which reads the context over a socket.',
      ),
    removeLocalImage: z
      .boolean()
      .default(false)
      .describe('Remove the local tag after a successful push (the layers stay cached in the daemon).'),
    endpoints: z
      .custom<ServiceEndpoints>((v) => typeof v === 'object' && v !== null, 'must be ServiceEndpoints')
      .optional()
      .describe(
        "Where the Google APIs are (the runtime's `endpoints`, from resolveRuntime() or resolveServiceEndpoints()): with the emulator's, images are pushed to its registry. Default: the runtime's, else those of `env`.",
      ),
    env: z
      // A custom check, not z.record: process.env is not a plain object.
      .custom<Record<string, string | undefined>>((v) => typeof v === 'object' && v !== null, 'must be an object')
      .optional()
      .describe(
        'Environment to read DOCKER_HOST (and, without `endpoints`, the endpoints) from. Default `process.env`.',
      ),
  })
  .strict();

/** Input of {@link dockerBuilder}. */
export type DockerBuilderOptions = z.input<typeof dockerBuilderOptions>;

const NAME = 'docker';
const DEFAULT_PLATFORM = 'linux/amd64';
const UPLOAD_EVENT_BYTES = 256 * 1024;

function splitTag(ref: string): { repo: string; tag: string } {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > slash) return { repo: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { repo: ref, tag: 'latest' };
}

function registryHost(ref: string): string {
  return ref.split('/', 1)[0] ?? ref;
}

function interrupted(destination: string, cause?: unknown): VertexLaunchError {
  return new VertexLaunchError(
    'INTERRUPTED',
    `[vertex-launch] [builder:docker] The build of ${destination} was aborted.`,
    {
      ...(cause === undefined ? {} : { cause }),
    },
  );
}

/** Counts the bytes flowing to the daemon and reports them (every 256 KiB and at the end). */
function uploadCounter(emit: (event: BuildEvent) => void): Transform {
  let bytes = 0;
  let reported = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      bytes += chunk.length;
      if (bytes - reported >= UPLOAD_EVENT_BYTES) {
        reported = bytes;
        emit({ type: 'upload', bytes, totalBytes: undefined });
      }
      callback(null, chunk);
    },
    flush(callback: TransformCallback) {
      emit({ type: 'upload', bytes, totalBytes: bytes });
      callback();
    },
  });
}

/** Follows a Docker progress stream to its end, feeding every message to `translator`. */
function follow(docker: Dockerode, stream: NodeJS.ReadableStream, translator: ProgressTranslator): Promise<void> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (error: Error | null) => {
        translator.end();
        if (error) reject(error);
        else resolve();
      },
      (message: DockerMessage) => translator.accept(message),
    );
  });
}

/**
 * A builder that uses the local Docker daemon (Engine API through dockerode, loaded on first use).
 *
 * - The context is {@link packContext}'s deterministic tar.gz stream: `.dockerignore` honoured, `.git` left out,
 *   credential-like files and escaping symlinks refused before a byte is sent.
 * - Builds for `linux/amd64` (what Vertex AI runs) unless the request names another platform.
 * - Pushes as `oauth2accesstoken` with an access token from the request's `credentials`, the `credentials`
 *   option or the `registry` plugin. Push failures that Docker reports as stream messages (a refused token)
 *   reject with a {@link BuildError}.
 * - Builds the context `resolveImage()` prepared (`request.context`), without scanning again; `digestOf()`
 *   answers `resolveImage()`'s question whether the content tag is already pushed.
 *
 * @example
 * const builder = dockerBuilder({ credentials: await resolveCredentials(auto()) }); // from @vertex-launch/auth
 * const { digest } = await builder.build({ contextDir: './trainer', destination: 'us-docker.pkg.dev/p/r/trainer:v1' });
 */
export const dockerBuilder = defineBuilder(NAME, dockerBuilderOptions, (options, runtime): ImageBuilder => {
  const env = options.env ?? process.env;
  const emulator = emulatorConnectionOf(endpointsOption(options.endpoints ?? runtime.endpoints, env));
  const defaultCredentials = options.credentials ?? runtime.credentials;
  let dockerPromise: Promise<Dockerode> | undefined;
  const docker = (): Promise<Dockerode> => {
    dockerPromise ??= (async () => {
      const { default: Docker } = await import('dockerode');
      const host = env.DOCKER_HOST;
      const fromEnv = host?.startsWith('unix://') ? host.slice('unix://'.length) : undefined;
      return new Docker({ socketPath: options.socketPath ?? fromEnv ?? '/var/run/docker.sock' });
    })();
    return dockerPromise;
  };

  /** Where Docker pushes `uri`: the emulator's registry when it serves one, else the URI itself. */
  const localRef = (uri: string): string => toEmulatorImageRef(uri, emulator);

  const registryAuth = async (
    uri: string,
    credentials: BuilderCredentials | undefined,
  ): Promise<DockerRegistryAuth | undefined> => {
    const ref = localRef(uri);
    const source = credentials ?? defaultCredentials;
    try {
      if (source) {
        const { token } = await source.accessToken();
        return { username: 'oauth2accesstoken', password: token, serveraddress: registryHost(ref) };
      }
      if (options.registry) return await options.registry.pushCredentials(uri);
    } catch (cause) {
      throw new BuildError(NAME, `Could not get registry credentials for ${uri}: ${(cause as Error).message}`, {
        cause,
        hint: 'Check your Google credentials (`vertex-launch auth check`).',
      });
    }
    return undefined;
  };

  /** The digest of `uri` in its registry (asked through the daemon), or undefined when the tag does not exist. */
  const remoteDigest = async (uri: string, credentials?: BuilderCredentials): Promise<string | undefined> => {
    const auth = await registryAuth(uri, credentials);
    const image = (await docker()).getImage(localRef(uri));
    try {
      const info = (await image.distribution(auth ? { authconfig: auth } : {})) as {
        Descriptor?: { digest?: string };
      };
      return info.Descriptor?.digest;
    } catch (error) {
      const status = (error as { statusCode?: number }).statusCode;
      const text = String((error as { json?: { message?: string } }).json?.message ?? (error as Error).message);
      if (status === 401 || status === 404 || /manifest unknown|not found|no such image/i.test(text)) return undefined;
      throw new BuildError(NAME, `Could not check whether ${uri} exists in its registry: ${text}`, {
        cause: error,
        hint: 'Check that the registry is reachable and the credentials may read the repository.',
      });
    }
  };

  return {
    name: NAME,

    async exists(imageUri) {
      return (await remoteDigest(imageUri)) !== undefined;
    },

    digestOf: (imageUri) => remoteDigest(imageUri),

    async build(request: BuildRequest): Promise<BuildResult> {
      const { destination, signal } = request;
      const emit = buildEventEmitter(request);
      if (signal?.aborted) throw interrupted(destination, signal.reason);
      const platform = request.platform ?? DEFAULT_PLATFORM;
      const context = await preparedContextOf(request, platform);
      const { manifest } = context;
      const target = splitTag(localRef(destination));

      const auth = await registryAuth(destination, request.credentials);
      if (auth === undefined) {
        throw new BuildError(NAME, `No registry credentials to push ${destination}.`, {
          hint: 'Pass `credentials` (e.g. `await resolveCredentials(auto())` from @vertex-launch/auth) or `registry: artifactRegistry(...)` to dockerBuilder(), or `credentials` with the build request.',
        });
      }
      if (platform !== DEFAULT_PLATFORM) {
        emit({
          type: 'log',
          line: `warning: building for ${platform}; Vertex AI runs linux/amd64 images only.`,
          stream: 'stderr',
        });
      }

      const client = await docker();
      const tail = new LogTail();
      const build = new ProgressTranslator(emit, tail);
      const ref = `${target.repo}:${target.tag}`;
      // Packed only now: the bytes are produced as the daemon reads them.
      const tarball = context.pack({ compression: request.compression ?? options.compression });
      try {
        const body = tarball.stream.pipe(uploadCounter(emit));
        const stream = await client.buildImage(
          body as unknown as NodeJS.ReadableStream,
          {
            t: ref,
            dockerfile: manifest.dockerfilePath,
            buildargs: request.buildArgs ?? {},
            labels: { 'dev.vertex-launch.fingerprint': manifest.fingerprint, ...options.labels },
            platform,
            networkmode: 'host',
            rm: true,
            forcerm: true,
            ...(request.target === undefined ? {} : { target: request.target }),
            ...(options.cacheFrom.length > 0 ? { cachefrom: options.cacheFrom } : {}),
            ...(options.noCache ? { nocache: true } : {}),
            ...(options.pull ? { pull: true } : {}),
            ...(signal ? { abortSignal: signal } : {}),
          } as Dockerode.ImageBuildOptions,
        );
        await follow(client, stream, build);
      } catch (error) {
        // Stop packing and wait until no file of the context is read any more before build() settles.
        await tarball.close();
        if (signal?.aborted) throw interrupted(destination, error);
        if (error instanceof VertexLaunchError) throw error;
        throw new BuildError(NAME, `The Docker build of ${destination} failed: ${(error as Error).message}`, {
          cause: error,
          logTail: tail.toArray(),
          hint: 'Check that the Docker daemon runs (`docker info`).',
        });
      }
      if (signal?.aborted) throw interrupted(destination);
      if (build.outcome.error !== undefined || build.outcome.imageId === undefined) {
        throw new BuildError(
          NAME,
          `The Docker build of ${destination} failed: ${build.outcome.error ?? 'Docker reported no image id'}.`,
          {
            logTail: tail.toArray(),
            hint: `Fix ${manifest.dockerfilePath} in ${request.contextDir} (the last lines of the build log are in the error's logTail).`,
          },
        );
      }

      // A failed push leaves nothing behind in the daemon: the image (and its untagged parents) is removed, so a
      // build that was never published does not linger where other users of the daemon can run or push it.
      let digest: string;
      try {
        const push = new ProgressTranslator(emit, tail);
        try {
          const stream = (await client.getImage(target.repo).push({
            tag: target.tag,
            authconfig: auth,
            ...(signal ? { abortSignal: signal } : {}),
          })) as NodeJS.ReadableStream;
          await follow(client, stream, push);
        } catch (error) {
          if (signal?.aborted) throw interrupted(destination, error);
          throw new BuildError(NAME, `Pushing ${destination} failed: ${(error as Error).message}`, {
            cause: error,
            logTail: tail.toArray(),
            hint: 'Check that the registry is reachable.',
          });
        }
        if (push.outcome.error !== undefined || push.outcome.digest === undefined) {
          const reason = push.outcome.error ?? 'Docker reported no digest';
          const denied = /denied|unauthorized|authentication required|forbidden/i.test(reason);
          // A 5xx answer or a dropped connection: the registry failed, not the image or the credentials.
          const unavailable =
            /HTTP status: 5\d\d|\b50[0-4]\b|connection (refused|reset)|broken pipe|\bEOF\b|unavailable|timeout/i.test(
              reason,
            );
          throw new BuildError(NAME, `Pushing ${destination} failed: ${reason}.`, {
            logTail: tail.toArray(),
            hint: denied
              ? `The credentials may not push to ${registryHost(destination)}: grant roles/artifactregistry.writer on the repository, or refresh them (\`gcloud auth login\`).`
              : unavailable
                ? `The registry ${registryHost(destination)} failed or could not be reached during the push; retry the build (layers it already has are not uploaded again).`
                : 'Check that the repository exists (`gcloud artifacts repositories list`) and retry.',
          });
        }
        digest = push.outcome.digest;
      } catch (error) {
        await removeImage(client, ref, false);
        throw error;
      }
      if (options.removeLocalImage) await removeImage(client, ref, true);
      return { imageUri: destination, digest };
    },
  };
});

/** Remove `ref` from the daemon (its untagged parents too unless `keepParents`); failing to remove is not the build's. */
async function removeImage(client: Dockerode, ref: string, keepParents: boolean): Promise<void> {
  await client
    .getImage(ref)
    .remove({ noprune: keepParents })
    .catch(() => undefined);
}
