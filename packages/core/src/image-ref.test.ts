import { describe, expect, test } from 'vitest';
import { artifactRegistryDockerLocation, splitImageReference } from './image-ref.js';

describe('splitImageReference', () => {
  test.each([
    ['busybox', { name: 'busybox', tag: undefined, digest: undefined }],
    ['busybox:1.36', { name: 'busybox', tag: '1.36', digest: undefined }],
    [
      'us-central1-docker.pkg.dev/p/r/team/app:v1',
      { name: 'us-central1-docker.pkg.dev/p/r/team/app', tag: 'v1', digest: undefined },
    ],
    // A registry port is not a tag.
    ['127.0.0.1:5000/img', { name: '127.0.0.1:5000/img', tag: undefined, digest: undefined }],
    ['127.0.0.1:5000/img:t', { name: '127.0.0.1:5000/img', tag: 't', digest: undefined }],
    ['h/i@sha256:abc', { name: 'h/i', tag: undefined, digest: 'sha256:abc' }],
    ['h/i:t@sha256:abc', { name: 'h/i', tag: 't', digest: 'sha256:abc' }],
    // Nothing is validated: odd input splits by the same two rules.
    ['h/i:', { name: 'h/i', tag: '', digest: undefined }],
    ['h/i:a:b', { name: 'h/i', tag: 'a:b', digest: undefined }],
    ['', { name: '', tag: undefined, digest: undefined }],
  ])('%s', (ref, parts) => {
    expect(splitImageReference(ref)).toEqual(parts);
  });
});

test('artifactRegistryDockerLocation names the location of <location>-docker.pkg.dev hosts only', () => {
  expect(artifactRegistryDockerLocation('us-central1-docker.pkg.dev')).toBe('us-central1');
  expect(artifactRegistryDockerLocation('europe-docker.pkg.dev')).toBe('europe');
  expect(artifactRegistryDockerLocation('gcr.io')).toBeUndefined();
  expect(artifactRegistryDockerLocation('us-central1-docker.pkg.dev.example.com')).toBeUndefined();
  expect(artifactRegistryDockerLocation('-docker.pkg.dev')).toBeUndefined();
  expect(artifactRegistryDockerLocation('127.0.0.1:5000')).toBeUndefined();
});
