/**
 * A tiny base image for tests and examples, since no public registry is reachable: `FROM scratch` plus Debian's
 * static busybox with its applets linked into /bin, built on the local Docker daemon and pushed to the
 * emulator's registry under an Artifact Registry URI.
 */
import { readFile } from 'node:fs/promises';
import { pack } from 'tar-stream';
import { buildImage, connectDocker, type DockerProgressEvent, pushImage } from './docker/client.js';
import type { Emulator } from './emulator.js';
import { parseRegistryImage } from './registry/names.js';

/** Options of {@link buildBusyboxBaseImage}. */
export interface BusyboxBaseImageOptions {
  /** The running emulator whose registry receives the image. */
  emulator: Emulator;
  /** Artifact Registry URI to publish, e.g. `us-central1-docker.pkg.dev/<project>/base/busybox:1`. Its repository is created when missing. */
  imageUri: string;
  /** The static busybox binary to copy in. Default `/bin/busybox` (Debian's busybox-static). */
  busyboxPath?: string;
  /** Docker socket. Default: `DOCKER_HOST` or /var/run/docker.sock. */
  socketPath?: string;
  /** Receives the build and push progress. */
  onEvent?: (event: DockerProgressEvent) => void;
}

/** What {@link buildBusyboxBaseImage} produced. */
export interface BusyboxBaseImage {
  /** The Artifact Registry URI (also tagged locally, so `FROM <imageUri>` resolves without a pull). */
  imageUri: string;
  /** The same image in the emulator's registry (`127.0.0.1:<port>/<imageUri>`). */
  localRef: string;
  /** Manifest digest the registry reported. */
  digest: string;
  /** Local image id. */
  imageId: string;
}

/** The Dockerfile of the base image. Exec-form RUN: the image has no shell until busybox installs it. */
export const BUSYBOX_DOCKERFILE = [
  'FROM scratch',
  'COPY busybox /bin/busybox',
  'RUN ["/bin/busybox", "sh", "-c", "/bin/busybox --install -s /bin && mkdir -p /tmp /root /etc /usr/bin && chmod 1777 /tmp"]',
  'ENV PATH=/usr/local/bin:/usr/bin:/bin',
  'CMD ["/bin/sh"]',
  '',
].join('\n');

/**
 * Builds the busybox base image and pushes it to the emulator's registry as `imageUri` (creating the DOCKER
 * repository in the emulator's Artifact Registry when it does not exist).
 */
export async function buildBusyboxBaseImage(options: BusyboxBaseImageOptions): Promise<BusyboxBaseImage> {
  const { emulator, imageUri } = options;
  const parsed = parseRegistryImage(imageUri);
  if (!parsed) {
    throw new TypeError(
      `buildBusyboxBaseImage: "${imageUri}" is not an Artifact Registry image URI (<location>-docker.pkg.dev/<project>/<repository>/<image>[:tag]).`,
    );
  }
  emulator.createDockerRepository(parsed.location, parsed.repository);
  const busyboxPath = options.busyboxPath ?? '/bin/busybox';
  let busybox: Buffer;
  try {
    busybox = await readFile(busyboxPath);
  } catch (error) {
    throw new Error(
      `buildBusyboxBaseImage: cannot read the static busybox at ${busyboxPath} (${(error as Error).message}). Install Debian's busybox-static or pass busyboxPath.`,
    );
  }
  const context = pack();
  context.entry({ name: 'Dockerfile', mode: 0o644 }, BUSYBOX_DOCKERFILE);
  context.entry({ name: 'busybox', mode: 0o755 }, busybox);
  context.finalize();

  const docker = await connectDocker(options.socketPath);
  const localRef = emulator.toLocalImageRef(imageUri);
  const { imageId } = await buildImage(
    docker,
    context as unknown as NodeJS.ReadableStream,
    { tags: [localRef, imageUri], labels: { 'vertex-launch-emulator.base': 'busybox' } },
    options.onEvent,
  );
  const { digest } = await pushImage(docker, localRef, emulator.dockerAuth(), options.onEvent);
  return { imageUri, localRef, digest, imageId };
}
