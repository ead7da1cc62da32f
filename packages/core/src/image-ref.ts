/**
 * Splitting Docker image references, pure: the one place the emulator, the Artifact Registry plugin and core's
 * emulator rewrite take a reference apart. {@link imageReferenceProblem} checks a reference against the grammar of
 * the OCI distribution spec; Artifact Registry's stricter rules (with errors that name them) are
 * `@vertex-launch/artifact-registry`'s `parseImageUri`.
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

// The grammar of the OCI distribution spec and of distribution's `reference` package (docker/distribution
// reference/regexp.go): a name is `[domain/]component(/component)*`, a tag `[\w][\w.-]{0,127}`, a digest
// `algorithm:encoded`.
const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const PORT = /^[0-9]+$/;
const IPV6_HOST = /^\[[0-9A-Fa-f:.]+\]$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
/** An image tag: a word character, then up to 127 word characters, dots and dashes. */
export const IMAGE_TAG_PATTERN = /^[\w][\w.-]{0,127}$/;
const DIGEST_ALGORITHM = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*$/;
const DIGEST_ENCODED = /^[a-zA-Z0-9=_-]+$/;
const MAX_NAME_LENGTH = 255;

/** The first path component is a registry host when it has a dot or a port, or is `localhost` (as docker decides). */
function splitDomain(name: string): { domain: string | undefined; path: string } {
  const slash = name.indexOf('/');
  if (slash < 0) return { domain: undefined, path: name };
  const first = name.slice(0, slash);
  const isDomain = first.includes('.') || first.includes(':') || first === 'localhost' || /[A-Z]/.test(first);
  return isDomain ? { domain: first, path: name.slice(slash + 1) } : { domain: undefined, path: name };
}

function domainProblem(domain: string): string | undefined {
  const colon = domain.startsWith('[') ? domain.indexOf(':', domain.indexOf(']')) : domain.lastIndexOf(':');
  const host = colon < 0 ? domain : domain.slice(0, colon);
  const port = colon < 0 ? undefined : domain.slice(colon + 1);
  const hostOk = IPV6_HOST.test(host) || host.split('.').every((part) => DOMAIN_COMPONENT.test(part));
  if (!hostOk) return `registry host \`${host}\` is not a host name (letters, digits, \`-\` and \`.\`)`;
  if (port !== undefined && !PORT.test(port)) return `registry port \`${port}\` is not a number`;
  return undefined;
}

function digestProblem(digest: string): string | undefined {
  const colon = digest.indexOf(':');
  const algorithm = colon < 0 ? '' : digest.slice(0, colon);
  const encoded = colon < 0 ? '' : digest.slice(colon + 1);
  if (!DIGEST_ALGORITHM.test(algorithm) || !DIGEST_ENCODED.test(encoded)) {
    return `digest \`${digest}\` is not \`<algorithm>:<hex>\` (e.g. \`sha256:<64 hex digits>\`)`;
  }
  if (algorithm === 'sha256' && !/^[a-f0-9]{64}$/.test(encoded)) {
    return `digest \`${digest}\`: a sha256 digest is 64 lowercase hex digits`;
  }
  if (algorithm === 'sha512' && !/^[a-f0-9]{128}$/.test(encoded)) {
    return `digest \`${digest}\`: a sha512 digest is 128 lowercase hex digits`;
  }
  return undefined;
}

/**
 * What is wrong with an image reference by the OCI distribution spec (`[host[:port]/]path[:tag][@digest]`), naming
 * the offending part; `undefined` when it is valid. Pure: it says nothing about whether the image exists.
 */
export function imageReferenceProblem(ref: string): string | undefined {
  if (ref.trim() === '') return 'is empty';
  const { name, tag, digest } = splitImageReference(ref);
  if (name.length > MAX_NAME_LENGTH) return `name is ${name.length} characters long; at most ${MAX_NAME_LENGTH}`;
  const { domain, path } = splitDomain(name);
  if (domain !== undefined) {
    const problem = domainProblem(domain);
    if (problem) return problem;
  }
  if (path === '') return 'has no image name after the registry host';
  for (const component of path.split('/')) {
    if (!PATH_COMPONENT.test(component)) {
      return `name component \`${component}\` is not lowercase letters and digits separated by \`.\`, \`_\`, \`__\` or \`-\``;
    }
  }
  if (tag !== undefined && !IMAGE_TAG_PATTERN.test(tag)) {
    return `tag \`${tag}\` is not a tag: up to 128 letters, digits, \`_\`, \`.\` and \`-\`, not starting with \`.\` or \`-\``;
  }
  if (digest !== undefined) return digestProblem(digest);
  return undefined;
}
