import { ConfigError } from '@vertex-launch/core';
import { describe, expect, it } from 'vitest';
import {
  formatImageUri,
  isArtifactRegistryUri,
  packageResourceName,
  parseImageUri,
  repositoryResourceName,
  tagResourceName,
  withTag,
} from './image-uri.js';

describe('parseImageUri', () => {
  it('splits a plain tagged image', () => {
    expect(parseImageUri('us-central1-docker.pkg.dev/my-proj/train/hello:1')).toEqual({
      host: 'us-central1-docker.pkg.dev',
      location: 'us-central1',
      project: 'my-proj',
      repository: 'train',
      image: 'hello',
      tag: '1',
      digest: undefined,
    });
  });

  it('keeps nested image paths with dots, underscores and dashes', () => {
    const ref = parseImageUri('europe-docker.pkg.dev/my-proj/ml-images/team/sub.team/app_v2-gpu:ctx-0123456789ab');
    expect(ref).toMatchObject({ location: 'europe', repository: 'ml-images', image: 'team/sub.team/app_v2-gpu' });
    expect(ref.tag).toBe('ctx-0123456789ab');
  });

  it('reads digests, with or without a tag', () => {
    const digest = `sha256:${'ab'.repeat(32)}`;
    expect(parseImageUri(`us-docker.pkg.dev/my-proj/r/img@${digest}`)).toMatchObject({ tag: undefined, digest });
    expect(parseImageUri(`us-docker.pkg.dev/my-proj/r/img:v1@${digest}`)).toMatchObject({ tag: 'v1', digest });
  });

  it('maps a domain-scoped project to its colon form and back', () => {
    const uri = 'us-central1-docker.pkg.dev/example.com/my-proj/repo/img:1';
    const ref = parseImageUri(uri);
    expect(ref.project).toBe('example.com:my-proj');
    expect(ref.image).toBe('img');
    expect(formatImageUri(ref)).toBe(uri);
    expect(repositoryResourceName(ref)).toBe('projects/example.com:my-proj/locations/us-central1/repositories/repo');
  });

  it('round-trips through formatImageUri', () => {
    for (const uri of [
      'us-central1-docker.pkg.dev/my-proj/train/hello',
      'asia-northeast1-docker.pkg.dev/my-proj/train/a/b/c:latest',
      `us-docker.pkg.dev/my-proj/r/img:v1@sha256:${'0'.repeat(64)}`,
    ]) {
      expect(formatImageUri(parseImageUri(uri))).toBe(uri);
    }
  });

  it.each([
    ['docker.io/library/python:3.12', 'is not an Artifact Registry Docker host'],
    ['us-central1-docker.pkg.dev/my-proj/train', 'image path "" is missing'],
    ['us-central1-docker.pkg.dev/My_Proj/train/img', 'project "My_Proj" is not a valid project id'],
    ['us-central1-docker.pkg.dev/my-proj/Train/img', 'repository "Train"'],
    ['us-central1-docker.pkg.dev/my-proj/train/Img', 'image path "Img"'],
    ['us-central1-docker.pkg.dev/my-proj/train/img:-bad', 'tag "-bad" is not valid'],
    ['us-central1-docker.pkg.dev/my-proj/train/img@sha256:xyz', 'digest "sha256:xyz"'],
    [' us-central1-docker.pkg.dev/my-proj/train/img', 'surrounding spaces'],
    // Found by the image-URI fuzz (VXL_TEST_SEED=1247451447): a colon in the project segment skipped the domain check.
    ['us-docker.pkg.dev/-sha256:a0a000-0a/repo/img', 'project "-sha256:a0a000-0a" contains a colon'],
    ['us-docker.pkg.dev/example.com:my-proj/repo/img', 'written <domain>/<project> in an image URI'],
  ])('refuses %s, saying what is wrong', (uri, problem) => {
    let error: unknown;
    try {
      parseImageUri(uri);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(problem);
    expect((error as Error).message).toContain('Expected <location>-docker.pkg.dev/<project>/<repository>/<image>');
  });
});

describe('resource names', () => {
  const ref = parseImageUri('us-central1-docker.pkg.dev/my-proj/train/team/app:ctx-abc');

  it('URL-encodes nested package names', () => {
    expect(packageResourceName(ref)).toBe(
      'projects/my-proj/locations/us-central1/repositories/train/packages/team%2Fapp',
    );
    expect(tagResourceName(ref)).toBe(
      'projects/my-proj/locations/us-central1/repositories/train/packages/team%2Fapp/tags/ctx-abc',
    );
  });

  it('needs a tag for a tag name', () => {
    expect(() => tagResourceName({ ...ref, tag: undefined })).toThrow(/has no tag to look up/);
  });

  it('replaces the tag and drops the digest', () => {
    const pinned = parseImageUri(`us-central1-docker.pkg.dev/my-proj/train/app:v1@sha256:${'1'.repeat(64)}`);
    expect(formatImageUri(withTag(pinned, 'v2'))).toBe('us-central1-docker.pkg.dev/my-proj/train/app:v2');
  });
});

describe('isArtifactRegistryUri', () => {
  it('tells Artifact Registry hosts from others', () => {
    expect(isArtifactRegistryUri('us-docker.pkg.dev/p/r/i')).toBe(true);
    expect(isArtifactRegistryUri('gcr.io/p/i')).toBe(false);
    expect(isArtifactRegistryUri('127.0.0.1:5000/p/r/i')).toBe(false);
  });
});
