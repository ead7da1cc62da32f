/**
 * Thin helpers over dockerode shared by the base-image builder, Cloud Build and the Docker job executor:
 * connecting lazily, following progress streams (errors arrive as `{ error }` events, not exceptions), and
 * pushing/pulling with registry credentials. Pulls are only ever made from a loopback registry: the emulator
 * never sends traffic off the machine.
 */
import { splitImageReference } from '@vertex-launch/core';
import type Dockerode from 'dockerode';

/** The label every container and image the emulator creates carries. */
export const EMULATOR_LABEL = 'vertex-launch-emulator';

/** Docker registry credentials in the Engine API's `authconfig` form. */
export interface DockerAuth {
  username: string;
  password: string;
  serveraddress: string;
}

/** One event of a Docker progress stream (build, push, pull). */
export interface DockerProgressEvent {
  stream?: string;
  status?: string;
  progress?: string;
  id?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string; Tag?: string; Digest?: string; Size?: number };
}

/** A Docker operation failed; `message` is Docker's own (never containing credentials). */
export class DockerError extends Error {
  override name = 'DockerError';
}

/** Opens a client for the Docker daemon at `socketPath` (default `DOCKER_HOST`'s unix socket or /var/run/docker.sock). */
export async function connectDocker(socketPath?: string): Promise<Dockerode> {
  const { default: Docker } = await import('dockerode');
  const fromEnv = process.env.DOCKER_HOST?.startsWith('unix://') ? process.env.DOCKER_HOST.slice(7) : undefined;
  return new Docker({ socketPath: socketPath ?? fromEnv ?? '/var/run/docker.sock' });
}

/** True when the daemon answers a ping within `timeoutMs`. */
export async function dockerAnswers(docker: Dockerode, timeoutMs = 2000): Promise<boolean> {
  const signal = AbortSignal.timeout(timeoutMs);
  const ping = docker.ping as unknown as (opts: { abortSignal: AbortSignal }) => Promise<unknown>;
  try {
    await ping.call(docker, { abortSignal: signal });
    return true;
  } catch {
    return false;
  }
}

/**
 * Follows a progress stream to its end, calling `onEvent` for every event; rejects with the first `error`
 * event's message (Docker reports failed pushes and builds this way, with HTTP 200).
 */
export function followProgress(
  docker: Dockerode,
  stream: NodeJS.ReadableStream,
  onEvent: (event: DockerProgressEvent) => void = () => {},
  signal?: AbortSignal,
): Promise<DockerProgressEvent[]> {
  return new Promise((resolve, reject) => {
    let failure: string | undefined;
    if (signal) {
      const onAbort = () => {
        reject(new DockerError('The Docker operation was aborted.'));
        (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
    }
    docker.modem.followProgress(
      stream,
      (error: Error | null, events: DockerProgressEvent[]) => {
        if (error) return reject(new DockerError(error.message));
        if (failure !== undefined) return reject(new DockerError(failure));
        resolve(events);
      },
      (event: DockerProgressEvent) => {
        if (event.error !== undefined || event.errorDetail?.message !== undefined) {
          failure ??= event.errorDetail?.message ?? event.error;
        }
        onEvent(event);
      },
    );
  });
}

/**
 * The repository and tag the Engine API's push and tag calls take for `ref`: its name and tag (default `latest`). A
 * reference with a digest keeps it in the name and has no tag.
 */
export function splitTag(ref: string): { name: string; tag: string | undefined } {
  const { name, tag, digest } = splitImageReference(ref);
  if (digest !== undefined) return { name: ref, tag: undefined };
  return { name, tag: tag ?? 'latest' };
}

/** Tags the local image `source` (a reference or an id) as `target`. */
export async function tagImage(docker: Dockerode, source: string, target: string): Promise<void> {
  const { name, tag } = splitTag(target);
  await docker.getImage(source).tag({ repo: name, tag });
}

function isLoopbackRegistry(ref: string): boolean {
  const host = ref.split('/', 1)[0] ?? '';
  return ref.includes('/') && /^(127(?:\.\d{1,3}){3}|localhost)(:\d+)?$/.test(host);
}

/** Pushes `ref` (`127.0.0.1:P/...:tag`) with `auth`; resolves with the manifest digest Docker reports. */
export async function pushImage(
  docker: Dockerode,
  ref: string,
  auth: DockerAuth,
  onEvent?: (event: DockerProgressEvent) => void,
  signal?: AbortSignal,
): Promise<{ digest: string }> {
  const { name, tag } = splitTag(ref);
  const stream = await docker.getImage(name).push({ tag, authconfig: auth });
  const events = await followProgress(docker, stream, onEvent, signal);
  const digest = events.map((e) => e.aux?.Digest).find((d) => d !== undefined);
  if (!digest) throw new DockerError(`Docker reported no digest for the push of ${ref}.`);
  return { digest };
}

/**
 * Pulls `ref` from a loopback registry with `auth`. Refuses any other registry: no Docker Hub, no Google —
 * images come from the emulator's registry or must already be present locally.
 */
export async function pullImage(
  docker: Dockerode,
  ref: string,
  auth: DockerAuth,
  onEvent?: (event: DockerProgressEvent) => void,
  signal?: AbortSignal,
): Promise<void> {
  if (!isLoopbackRegistry(ref)) {
    throw new DockerError(`Refusing to pull ${ref}: the emulator only pulls from its loopback registry.`);
  }
  const stream = (await docker.pull(ref, { authconfig: auth })) as NodeJS.ReadableStream;
  await followProgress(docker, stream, onEvent, signal);
}

/** True when the daemon has an image with this reference or id. */
export async function hasImage(docker: Dockerode, ref: string): Promise<boolean> {
  try {
    await docker.getImage(ref).inspect();
    return true;
  } catch {
    return false;
  }
}

/** Options of {@link buildImage} (Engine API `/build` parameters). */
export interface BuildImageOptions {
  tags: readonly string[];
  dockerfile?: string | undefined;
  buildArgs?: Record<string, string> | undefined;
  labels?: Record<string, string> | undefined;
  cacheFrom?: readonly string[] | undefined;
  target?: string | undefined;
  noCache?: boolean | undefined;
  signal?: AbortSignal | undefined;
}

/** Builds an image from a tar stream of the context (host networking: dockerd runs without a bridge). */
export async function buildImage(
  docker: Dockerode,
  context: NodeJS.ReadableStream,
  options: BuildImageOptions,
  onEvent?: (event: DockerProgressEvent) => void,
): Promise<{ imageId: string }> {
  const [first, ...rest] = options.tags;
  const stream = await docker.buildImage(context, {
    t: first,
    dockerfile: options.dockerfile,
    buildargs: options.buildArgs,
    labels: { [EMULATOR_LABEL]: '1', ...(options.labels ?? {}) },
    networkmode: 'host',
    cachefrom: options.cacheFrom ? [...options.cacheFrom] : undefined,
    target: options.target,
    nocache: options.noCache,
    rm: true,
    forcerm: true,
    abortSignal: options.signal,
  } as Dockerode.ImageBuildOptions);
  const events = await followProgress(docker, stream, onEvent, options.signal);
  const imageId = events.map((e) => e.aux?.ID).find((id) => id !== undefined);
  if (!imageId) throw new DockerError('The Docker build reported no image id.');
  for (const tag of rest) await tagImage(docker, imageId, tag);
  return { imageId };
}
