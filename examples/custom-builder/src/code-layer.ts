/**
 * A third-party builder plugin: `codeLayerBuilder()` reuses a prebuilt base image (with the heavy dependencies —
 * CUDA, PyTorch — already installed) and adds only the code layer on top: `FROM <base>`, `COPY . <workdir>`,
 * `ENTRYPOINT`. The build sends only the project's sources, never runs `pip install`, and takes seconds.
 *
 * It is written against the public contract of `@vertex-launch/core` only: `defineBuilder` validates the options
 * with the zod schema below (and hands over the runtime: endpoints, credentials), `packContext` produces the
 * deterministic context (`.dockerignore`, no `.git`, credential files and escaping symlinks refused), `digestOf`
 * answers `resolveImage()`'s question whether the content tag is already pushed, and failures are `BuildError`s
 * carrying the log tail.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BuildError,
  type BuildEvent,
  type BuilderCredentials,
  type BuildRequest,
  defineBuilder,
  emulatorConnectionOf,
  endpointsOption,
  type ImageBuilder,
  toEmulatorImageRef,
} from '@vertex-launch/core';
import { packContext } from '@vertex-launch/core/build';
import type Dockerode from 'dockerode';
import { z } from 'zod';

const NAME = 'code-layer';

/** The options of {@link codeLayerBuilder}. */
export const codeLayerOptions = z
  .object({
    baseImage: z
      .string()
      .min(1)
      .describe('The prebuilt base image with the dependencies, e.g. `us-docker.pkg.dev/p/base/torch:2.3-cu121`.'),
    entrypoint: z.array(z.string()).min(1).describe('The entrypoint of the image, e.g. `["python", "train.py"]`.'),
    workdir: z.string().startsWith('/').default('/app').describe('Where the sources go in the image. Default `/app`.'),
    credentials: z
      .custom<BuilderCredentials>(
        (v) => typeof (v as BuilderCredentials | undefined)?.accessToken === 'function',
        'must have an accessToken() method',
      )
      .describe('Registry credentials: pulls the base and pushes as `oauth2accesstoken` with `accessToken()`.'),
    socketPath: z.string().default('/var/run/docker.sock').describe('The Docker daemon socket.'),
    env: z
      // A custom check, not z.record: process.env is not a plain object.
      .custom<Record<string, string | undefined>>((v) => typeof v === 'object' && v !== null, 'must be an object')
      .optional()
      .describe(
        "Environment to read the endpoints (the Vertex Launch emulator's) from when the runtime gives none. Default `process.env`.",
      ),
  })
  .strict();

/** Input of {@link codeLayerBuilder}. */
export type CodeLayerOptions = z.input<typeof codeLayerOptions>;

/** One message of a Docker progress stream. Errors arrive as messages on a successful HTTP response. */
interface DockerMessage {
  stream?: string;
  status?: string;
  id?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string; Digest?: string };
}

/** The generated Dockerfile: the base image plus one layer with the sources. */
export function codeLayerDockerfile(options: { baseImage: string; workdir: string; entrypoint: string[] }): string {
  return [
    `FROM ${options.baseImage}`,
    `COPY . ${options.workdir}`,
    `WORKDIR ${options.workdir}`,
    `ENTRYPOINT ${JSON.stringify(options.entrypoint)}`,
    '',
  ].join('\n');
}

/**
 * Reuse a prebuilt base image and add only the code layer, with the local Docker daemon.
 *
 * @example
 * const builder = codeLayerBuilder({
 *   baseImage: 'us-docker.pkg.dev/my-project/base/torch:2.3',
 *   entrypoint: ['python', 'train.py'],
 *   credentials: await resolveCredentials(auto()),
 * });
 */
export const codeLayerBuilder = defineBuilder(NAME, codeLayerOptions, (options, runtime): ImageBuilder => {
  // The runtime's endpoints (Google or the emulator), else those of `env`.
  const emulator = emulatorConnectionOf(endpointsOption(runtime.endpoints, options.env));
  // Docker talks to the emulator's registry when one runs; the URIs stay Artifact Registry URIs.
  const local = (uri: string) => toEmulatorImageRef(uri, emulator);
  let docker: Promise<Dockerode> | undefined;
  const connect = () => {
    docker ??= import('dockerode').then(({ default: Docker }) => new Docker({ socketPath: options.socketPath }));
    return docker;
  };
  const auth = async (uri: string) => ({
    username: 'oauth2accesstoken',
    password: (await options.credentials.accessToken()).token,
    serveraddress: local(uri).split('/')[0] as string,
  });

  /** Feeds every message of a progress stream to `onMessage`; resolves once the stream ends. */
  const follow = async (stream: NodeJS.ReadableStream, onMessage: (m: DockerMessage) => void) => {
    const client = await connect();
    await new Promise<void>((resolve, reject) =>
      client.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve()), onMessage),
    );
  };

  const digestOf = async (uri: string): Promise<string | undefined> => {
    const image = (await connect()).getImage(local(uri));
    try {
      const info = (await image.distribution({ authconfig: await auth(uri) })) as { Descriptor?: { digest?: string } };
      return info.Descriptor?.digest;
    } catch {
      return undefined; // the registry does not know the tag
    }
  };

  return {
    name: NAME,

    digestOf,

    async build(request: BuildRequest) {
      const emit = (event: BuildEvent) => {
        try {
          request.onEvent?.(event);
        } catch {
          // listeners must not break the build
        }
      };
      const { destination } = request;

      const scratch = await mkdtemp(join(tmpdir(), 'vxl-code-layer-'));
      const tail: string[] = [];
      let failure: string | undefined;
      let imageId: string | undefined;
      let digest: string | undefined;
      const onMessage = (m: DockerMessage) => {
        const error = m.errorDetail?.message ?? m.error;
        if (error !== undefined) failure ??= error;
        const text = (error ?? m.stream ?? (m.id ? `${m.id}: ${m.status ?? ''}` : m.status) ?? '').trim();
        if (text !== '') {
          tail.push(text);
          if (tail.length > 40) tail.shift();
          emit({ type: 'log', line: text });
        }
        if (m.aux?.ID) imageId = m.aux.ID;
        if (m.aux?.Digest) digest = m.aux.Digest;
      };
      try {
        // The generated Dockerfile lies outside the context; packContext adds it as Dockerfile.vertex-launch.
        const dockerfile = join(scratch, 'Dockerfile');
        await writeFile(dockerfile, codeLayerDockerfile(options));
        const { stream, manifest } = await packContext({ ...request, dockerfile, platform: 'linux/amd64' });
        const client = await connect();
        const baseAuth = await auth(options.baseImage);
        const target = local(destination);
        const build = await client.buildImage(
          stream as unknown as NodeJS.ReadableStream,
          {
            t: target,
            dockerfile: manifest.dockerfilePath,
            platform: 'linux/amd64',
            networkmode: 'host',
            rm: true,
            forcerm: true,
            labels: { 'dev.vertex-launch.base-image': options.baseImage },
            // Credentials for pulling a private base image (docker build's X-Registry-Config).
            registryconfig: { [baseAuth.serveraddress]: { username: baseAuth.username, password: baseAuth.password } },
          } as Dockerode.ImageBuildOptions,
        );
        await follow(build, onMessage);
        if (failure !== undefined || imageId === undefined) {
          throw new BuildError(
            NAME,
            `Adding the code layer to ${options.baseImage} failed: ${failure ?? 'no image id'}.`,
            {
              logTail: [...tail],
              hint: `Check that the base image ${options.baseImage} exists and the credentials may pull it.`,
            },
          );
        }
        const colon = target.lastIndexOf(':');
        const push = await client
          .getImage(target.slice(0, colon))
          .push({ tag: target.slice(colon + 1), authconfig: await auth(destination) });
        await follow(push as NodeJS.ReadableStream, onMessage);
        if (failure !== undefined || digest === undefined) {
          throw new BuildError(NAME, `Pushing ${destination} failed: ${failure ?? 'no digest reported'}.`, {
            logTail: [...tail],
            hint: 'Grant roles/artifactregistry.writer on the repository to the credentials.',
          });
        }
        return { imageUri: destination, digest };
      } catch (error) {
        if (error instanceof BuildError) throw error;
        throw new BuildError(NAME, `Building ${destination} failed: ${(error as Error).message}`, {
          cause: error,
          logTail: [...tail],
          hint: 'Check that the Docker daemon runs (`docker info`).',
        });
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
    },
  };
});
