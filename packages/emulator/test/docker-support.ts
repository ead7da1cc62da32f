// Docker fixtures for the emulator's part-2 tests: the busybox base image in the emulator's registry, and
// cleanup of every image tag and container a test created.
import { type BusyboxBaseImage, buildBusyboxBaseImage, type Emulator } from '@vertex-launch/emulator';
import Docker from 'dockerode';
import { tagImage } from '../src/docker/client.js';

/** The Docker client the tests use (the daemon `.ci/run` starts). */
export const docker = new Docker({ socketPath: '/var/run/docker.sock' });

/** Image references to remove after the test file. */
const tags = new Set<string>();

/** Remembers `ref` for {@link removeTestImages}. */
export function trackImage(...refs: string[]): void {
  for (const ref of refs) tags.add(ref);
}

/** Tags the local image `source` as `ref` (`name:tag`) and tracks the new tag. */
export async function tagAs(source: string, ref: string): Promise<void> {
  await tagImage(docker, source, ref);
  trackImage(ref);
}

/** Builds the busybox base image, pushes it as `imageUri` and tracks its tags. */
export async function busyboxBase(emulator: Emulator, imageUri: string): Promise<BusyboxBaseImage> {
  const base = await buildBusyboxBaseImage({ emulator, imageUri });
  trackImage(base.imageUri, base.localRef);
  return base;
}

/** Removes every tracked tag (call in afterAll; the emulator removes its own containers, which tests assert). */
export async function removeTestImages(): Promise<void> {
  for (const ref of tags) {
    await docker
      .getImage(ref)
      .remove({ force: true })
      .catch(() => undefined);
  }
  tags.clear();
  // Parallel test files tag the same Artifact Registry names locally; a base image that lost its tags that way
  // is dangling now and used by nothing.
  await docker
    .pruneImages({ filters: { dangling: ['true'], label: ['vertex-launch-emulator.base=busybox'] } })
    .catch(() => undefined);
}

/** Authorization header value of Docker's Basic credentials. */
export function basic(password: string, user = 'oauth2accesstoken'): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/** The manifest media types a Docker client accepts. */
export const MANIFEST_ACCEPT = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
].join(', ');
