import { describe, expect, test } from 'vitest';
import { ConfigError } from '../errors.js';
import { checkImageExists } from './check-image.js';
import type { ImageRegistry } from './contract.js';

/** A registry plugin over a fixed set of repositories and tags (the plugin interface, not a Google client). */
function registry(tags: string[], repositories: string[]): ImageRegistry & { asked: string[] } {
  const asked: string[] = [];
  return {
    name: 'fixed',
    asked,
    tagExists: async (uri) => {
      asked.push(uri);
      return tags.includes(uri);
    },
    repositoryExists: async (uri) => repositories.some((r) => uri.startsWith(`${r}/`)),
  };
}

const REPO = 'us-central1-docker.pkg.dev/my-proj/train';

describe('checkImageExists', () => {
  test('an existing tag passes without warnings; an untagged image is looked up as :latest, with a warning', async () => {
    const r = registry([`${REPO}/app:1`, `${REPO}/app:latest`], [REPO]);
    expect(await checkImageExists(r, `${REPO}/app:1`)).toEqual({
      checked: `${REPO}/app:1`,
      skipped: false,
      warnings: [],
    });
    const untagged = await checkImageExists(r, `${REPO}/app`);
    expect(untagged.checked).toBe(`${REPO}/app:latest`);
    expect(untagged.warnings).toEqual([
      {
        path: 'image',
        severity: 'warning',
        message: `\`${REPO}/app\` has no tag: Vertex AI pulls \`${REPO}/app:latest\`, as Docker does. Name a tag (or a digest) so a job runs the image you built.`,
      },
    ]);
    expect(r.asked).toEqual([`${REPO}/app:1`, `${REPO}/app:latest`]);
  });

  test('a missing repository and a missing tag are ConfigErrors naming the image and the fix', async () => {
    const r = registry([], [REPO]);
    const noRepo = await checkImageExists(r, 'us-central1-docker.pkg.dev/my-proj/other/app:1').catch((e) => e);
    expect(noRepo).toBeInstanceOf(ConfigError);
    expect(noRepo.message).toBe(
      'Image `us-central1-docker.pkg.dev/my-proj/other/app:1` cannot exist: the Artifact Registry repository us-central1-docker.pkg.dev/my-proj/other does not exist. Nothing was submitted.',
    );
    expect(noRepo.hint).toContain(
      'gcloud artifacts repositories create other --repository-format=docker --location=us-central1 --project=my-proj',
    );
    const noTag = await checkImageExists(r, `${REPO}/app:2`).catch((e) => e);
    expect(noTag).toBeInstanceOf(ConfigError);
    expect(noTag.message).toBe(
      `Image \`${REPO}/app:2\` does not exist: ${REPO}/app has no tag \`2\` in Artifact Registry. Nothing was submitted.`,
    );
    expect(noTag.hint).toContain(`vertex-launch build --source DIR --destination ${REPO}/app`);
  });

  test('an invalid reference is refused; images outside Artifact Registry are not looked up', async () => {
    const r = registry([], []);
    await expect(checkImageExists(r, `${REPO}/App:1`)).rejects.toThrow(/is not an image reference/);
    expect(await checkImageExists(r, 'docker.io/library/python:3.12')).toMatchObject({ skipped: true, warnings: [] });
    expect(r.asked).toEqual([]);
  });
});
