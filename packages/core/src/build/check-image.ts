/**
 * The check a launch of a given image makes before it submits anything: the image must exist in Artifact Registry
 * (Google's or the emulator's), as Vertex AI would only find out when the job starts and fails to pull it.
 */
import { ConfigError, type ConfigIssue } from '../errors.js';
import { artifactRegistryDockerLocation, imageReferenceProblem, splitImageReference } from '../image-ref.js';
import type { ImageRegistry } from './contract.js';

/** What {@link checkImageExists} found: the reference it checked and warnings (a missing tag). */
export interface ImageCheck {
  /** The reference looked up: the image as given, with `:latest` when it has neither tag nor digest. */
  checked: string;
  /** True when the image is not in Artifact Registry, so it was not checked (public registries, Docker Hub). */
  skipped: boolean;
  warnings: ConfigIssue[];
}

/**
 * Checks that `imageUri` exists before a launch submits it. An Artifact Registry image (`<location>-docker.pkg.dev/...`)
 * is looked up with `registry`; without a tag or digest it is looked up as `:latest` — what Docker and Vertex AI pull —
 * with a warning. Other registries are not checked (`skipped`).
 *
 * @throws ConfigError naming the image and the fix when the reference is invalid, the repository does not exist or
 *   the tag (or digest) is not in it. Errors of the registry itself (credentials, API) are thrown as they come.
 */
export async function checkImageExists(registry: ImageRegistry, imageUri: string): Promise<ImageCheck> {
  const problem = imageReferenceProblem(imageUri);
  if (problem) {
    throw new ConfigError(`Image \`${imageUri}\` is not an image reference: ${problem}.`, [], {
      hint: 'Give a reference like `us-central1-docker.pkg.dev/<project>/<repository>/<image>:<tag>` (CLI: --image).',
    });
  }
  const { name, tag, digest } = splitImageReference(imageUri);
  const host = name.slice(0, name.indexOf('/'));
  if (artifactRegistryDockerLocation(host) === undefined) return { checked: imageUri, skipped: true, warnings: [] };
  const warnings: ConfigIssue[] = [];
  let checked = imageUri;
  if (tag === undefined && digest === undefined) {
    checked = `${imageUri}:latest`;
    warnings.push({
      path: 'image',
      message: `\`${imageUri}\` has no tag: Vertex AI pulls \`${checked}\`, as Docker does. Name a tag (or a digest) so a job runs the image you built.`,
      severity: 'warning',
    });
  }
  const found = registry.getDigest
    ? (await registry.getDigest(checked)) !== undefined
    : await registry.tagExists(checked);
  if (found) return { checked, skipped: false, warnings };

  const parts = name.split('/');
  const repositoryPath = parts.slice(0, 3).join('/');
  const location = artifactRegistryDockerLocation(host) as string;
  const repositoryMissing = registry.repositoryExists ? !(await registry.repositoryExists(checked)) : false;
  if (repositoryMissing) {
    throw new ConfigError(
      `Image \`${imageUri}\` cannot exist: the Artifact Registry repository ${repositoryPath} does not exist. Nothing was submitted.`,
      [],
      {
        hint: `Create the repository (\`vertex-launch setup\`, or gcloud artifacts repositories create ${parts[2]} --repository-format=docker --location=${location} --project=${parts[1]}), push the image to it (\`vertex-launch build --source DIR --destination ${name}\`), or fix the name in --image.`,
      },
    );
  }
  const what = digest === undefined ? `tag \`${tag ?? 'latest'}\`` : `digest ${digest}`;
  throw new ConfigError(
    `Image \`${checked}\` does not exist: ${name} has no ${what} in Artifact Registry. Nothing was submitted.`,
    warnings,
    {
      hint: `Build and push it (\`vertex-launch build --source DIR --destination ${name}\`), or name one that exists (gcloud artifacts docker images list ${name} --include-tags).`,
    },
  );
}
