/**
 * Splitting Docker image references, pure and without validation: the one place the emulator, the Artifact Registry
 * plugin and core's emulator rewrite take a reference apart. Validating the parts (Artifact Registry's rules, with
 * errors that name them) is `@vertex-launch/artifact-registry`'s `parseImageUri`.
 */

/** A Docker image reference split into its parts, as written (nothing checked). */
export interface ImageReferenceParts {
  /** Everything before the tag and digest: `[host[:port]/]path`. */
  name: string;
  /** The tag, when the reference has one (`''` for a trailing colon). */
  tag: string | undefined;
  /** What follows the `@`, when the reference pins a digest (e.g. `sha256:...`). */
  digest: string | undefined;
}

/**
 * Splits `[host[:port]/]path[:tag][@digest]`: the digest is what follows the first `@`; the tag what follows the first
 * colon of the last path segment (a registry port sits before a slash, so it is never taken for a tag). This is the
 * grammar of Docker references (distribution's `reference` package: `name[:tag][@digest]`, no colon in a path
 * component).
 */
export function splitImageReference(ref: string): ImageReferenceParts {
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  const lastSegment = rest.lastIndexOf('/') + 1;
  const colon = rest.indexOf(':', lastSegment);
  if (colon < 0) return { name: rest, tag: undefined, digest };
  return { name: rest.slice(0, colon), tag: rest.slice(colon + 1), digest };
}

const ARTIFACT_REGISTRY_DOCKER_HOST = /^([a-z][a-z0-9-]*[a-z0-9])-docker\.pkg\.dev$/;

/**
 * The location of an Artifact Registry Docker host (`us-central1-docker.pkg.dev` -> `us-central1`, `europe-docker.pkg.dev`
 * -> `europe`), or undefined when `host` is not one.
 */
export function artifactRegistryDockerLocation(host: string): string | undefined {
  return ARTIFACT_REGISTRY_DOCKER_HOST.exec(host)?.[1];
}
