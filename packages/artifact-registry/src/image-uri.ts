import { artifactRegistryDockerLocation, ConfigError, splitImageReference } from '@vertex-launch/core';

/** An Artifact Registry Docker image reference, split into its parts. */
export interface ArtifactImageRef {
  /** Registry host, e.g. `us-central1-docker.pkg.dev`. */
  readonly host: string;
  /** Repository location (region or multi-region), e.g. `us-central1`, `europe`. */
  readonly location: string;
  /** Project id; domain-scoped projects keep their colon form, e.g. `example.com:proj`. */
  readonly project: string;
  /** Repository id. */
  readonly repository: string;
  /** Image path inside the repository; may contain `/` (nested) and dots. */
  readonly image: string;
  readonly tag: string | undefined;
  /** `sha256:<64 hex>` when the reference pins a digest. */
  readonly digest: string | undefined;
}

const PROJECT = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const DOMAIN = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/;
const REPOSITORY = /^[a-z]([a-z0-9-]*[a-z0-9])?$/;
const IMAGE_COMPONENT = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

const EXPECTED = '<location>-docker.pkg.dev/<project>/<repository>/<image>[:tag][@sha256:digest]';

/** True when `uri` names an Artifact Registry Docker host (`*-docker.pkg.dev`), whether or not the rest is valid. */
export function isArtifactRegistryUri(uri: string): boolean {
  return artifactRegistryDockerLocation(uri.split('/', 1)[0] ?? '') !== undefined;
}

/**
 * Parses an Artifact Registry image URI, including nested image paths, tags, digests and domain-scoped
 * projects (`us-docker.pkg.dev/example.com/proj/repo/img` is project `example.com:proj`). Throws a
 * ConfigError naming the URI, the part that is wrong, and the expected form.
 */
export function parseImageUri(uri: string): ArtifactImageRef {
  const fail = (problem: string): never => {
    throw new ConfigError(`Image URI ${JSON.stringify(uri)}: ${problem}. Expected ${EXPECTED}.`);
  };
  if (uri.trim() !== uri || uri === '') fail('it is empty or has surrounding spaces');

  const { name, tag, digest } = splitImageReference(uri);
  if (digest !== undefined && !DIGEST.test(digest)) {
    fail(`the digest ${JSON.stringify(digest)} is not sha256:<64 lowercase hex>`);
  }
  const segments = name.split('/');
  const host = segments.shift() ?? '';
  const location = artifactRegistryDockerLocation(host);
  if (location === undefined)
    fail(`the host ${JSON.stringify(host)} is not an Artifact Registry Docker host (<location>-docker.pkg.dev)`);
  if (tag !== undefined && !TAG.test(tag))
    fail(`the tag ${JSON.stringify(tag)} is not valid (letters, digits, _ . -; at most 128; not starting with . or -)`);

  let project = segments.shift() ?? '';
  // The colon form (`example.com:proj`) is the project's API name; in a Docker path a colon is not allowed, and
  // Artifact Registry writes a domain-scoped project as `<domain>/<project>` there.
  if (project.includes(':')) {
    fail(
      `the project ${JSON.stringify(project)} contains a colon; a domain-scoped project is written <domain>/<project> in an image URI (e.g. us-docker.pkg.dev/example.com/my-project/repo/image)`,
    );
  }
  // Project ids never contain dots, so a first segment with a dot is the domain of a domain-scoped project.
  if (project.includes('.')) {
    if (!DOMAIN.test(project)) fail(`the project domain ${JSON.stringify(project)} is not a valid domain`);
    project = `${project}:${segments.shift() ?? ''}`;
  }
  const bareProject = project.includes(':') ? project.slice(project.indexOf(':') + 1) : project;
  if (!PROJECT.test(bareProject)) {
    fail(`the project ${JSON.stringify(project)} is not a valid project id (6-30 lowercase letters, digits, hyphens)`);
  }
  const repository = segments.shift() ?? '';
  if (!REPOSITORY.test(repository)) fail(`the repository ${JSON.stringify(repository)} is missing or not valid`);
  if (segments.length === 0 || segments.some((s) => !IMAGE_COMPONENT.test(s))) {
    fail(
      `the image path ${JSON.stringify(segments.join('/'))} is missing or not valid (lowercase letters, digits, . _ -, nested with /)`,
    );
  }
  return { host, location: location ?? '', project, repository, image: segments.join('/'), tag, digest };
}

/** Builds the URI of a reference. Domain-scoped projects become `domain/project` in the path. */
export function formatImageUri(ref: Omit<ArtifactImageRef, 'host'> & { host?: string }): string {
  const host = ref.host ?? `${ref.location}-docker.pkg.dev`;
  const project = ref.project.replace(':', '/');
  let uri = `${host}/${project}/${ref.repository}/${ref.image}`;
  if (ref.tag !== undefined) uri += `:${ref.tag}`;
  if (ref.digest !== undefined) uri += `@${ref.digest}`;
  return uri;
}

/** The same image with another tag (and no digest). */
export function withTag(ref: ArtifactImageRef, tag: string): ArtifactImageRef {
  return { ...ref, tag, digest: undefined };
}

/** `projects/<p>/locations/<l>/repositories/<r>`: the Artifact Registry API name of the repository. */
export function repositoryResourceName(ref: Pick<ArtifactImageRef, 'project' | 'location' | 'repository'>): string {
  return `projects/${ref.project}/locations/${ref.location}/repositories/${ref.repository}`;
}

/** The API name of the image's package; a nested image path is URL-encoded (`team%2Fapp`). */
export function packageResourceName(ref: ArtifactImageRef): string {
  return `${repositoryResourceName(ref)}/packages/${encodeURIComponent(ref.image)}`;
}

/** The API name of the image's tag. Throws when the reference has no tag. */
export function tagResourceName(ref: ArtifactImageRef): string {
  if (ref.tag === undefined) throw new ConfigError(`Image ${formatImageUri(ref)} has no tag to look up.`);
  return `${packageResourceName(ref)}/tags/${encodeURIComponent(ref.tag)}`;
}
