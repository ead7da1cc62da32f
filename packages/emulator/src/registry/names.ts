/**
 * How Artifact Registry image names map onto the emulator's local Docker registry. The registry stores every
 * image under its full Artifact Registry path, so `us-central1-docker.pkg.dev/proj/repo/img:tag` is pushed as
 * `127.0.0.1:<port>/us-central1-docker.pkg.dev/proj/repo/img:tag` — a reversible prefix (see
 * {@link toLocalImageRef}). The pure rewrite lives in `@vertex-launch/core` so builders need not import the emulator.
 */
import {
  artifactRegistryDockerLocation,
  fromEmulatorImageRef,
  splitImageReference,
  toEmulatorImageRef,
} from '@vertex-launch/core';

/** The Artifact Registry parts of a registry repository name (`<loc>-docker.pkg.dev/<project>/<repo>/<image>`). */
export interface RegistryImageName {
  /** Repository location, e.g. `us-central1`. */
  location: string;
  /** Project id as written in the path; domain-scoped projects become `example.com:proj`. */
  project: string;
  repository: string;
  /** Image path inside the repository (may be nested: `team/app`). */
  image: string;
}

/** Parses a distribution repository name; undefined when it is not an Artifact Registry Docker path. */
export function parseRegistryName(name: string): RegistryImageName | undefined {
  const parts = name.split('/');
  const location = artifactRegistryDockerLocation(parts.shift() ?? '');
  if (location === undefined) return undefined;
  let project = parts.shift() ?? '';
  if (project.includes('.')) project = `${project}:${parts.shift() ?? ''}`;
  const repository = parts.shift() ?? '';
  if (project === '' || repository === '' || parts.length === 0 || parts.some((p) => p === '')) return undefined;
  return { location, project, repository, image: parts.join('/') };
}

/**
 * The Artifact Registry parts of an image reference (`<loc>-docker.pkg.dev/<project>/<repo>/<image>[:tag][@digest]`,
 * tag and digest ignored); undefined for any other reference.
 */
export function parseRegistryImage(ref: string): RegistryImageName | undefined {
  return parseRegistryName(splitImageReference(ref).name);
}

/** The registry path (`<loc>-docker.pkg.dev/<project>/<repo>/<image>`) of an image. */
export function registryName(ref: RegistryImageName): string {
  return `${ref.location}-docker.pkg.dev/${ref.project.replace(':', '/')}/${ref.repository}/${ref.image}`;
}

/**
 * `us-central1-docker.pkg.dev/p/r/i:t` -> `<registry>/us-central1-docker.pkg.dev/p/r/i:t` (what Docker pushes
 * and pulls). Other references are returned unchanged.
 */
export function toLocalImageRef(uri: string, registry: string): string {
  return toEmulatorImageRef(uri, { registry });
}

/** The inverse of {@link toLocalImageRef}: strips the loopback registry prefix from a local reference. */
export function fromLocalImageRef(ref: string): string {
  return fromEmulatorImageRef(ref);
}
