import { expect, test } from 'vitest';
import { parseRegistryImage, registryName } from './names.js';

test('parseRegistryImage takes the Artifact Registry parts of a reference, whatever its tag or digest', () => {
  const parts = { location: 'us-central1', project: 'proj', repository: 'train', image: 'team/app' };
  for (const suffix of ['', ':v1', '@sha256:abc', ':v1@sha256:abc']) {
    expect(parseRegistryImage(`us-central1-docker.pkg.dev/proj/train/team/app${suffix}`)).toEqual(parts);
  }
  // A domain-scoped project is `<domain>/<project>` in the path and `<domain>:<project>` in the parts.
  const scoped = parseRegistryImage('europe-docker.pkg.dev/example.com/proj/repo/img:1');
  expect(scoped).toEqual({ location: 'europe', project: 'example.com:proj', repository: 'repo', image: 'img' });
  expect(registryName(scoped as NonNullable<typeof scoped>)).toBe('europe-docker.pkg.dev/example.com/proj/repo/img');
});

test('parseRegistryImage is undefined for references that are not Artifact Registry Docker images', () => {
  for (const ref of [
    'busybox:1',
    'gcr.io/cloud-builders/docker',
    '127.0.0.1:5000/us-central1-docker.pkg.dev/proj/train/app:v1',
    'us-central1-docker.pkg.dev/proj/train',
    'us-central1-docker.pkg.dev/proj//app',
  ]) {
    expect(parseRegistryImage(ref)).toBeUndefined();
  }
});
