import { describe, expect, test } from 'vitest';
import { artifactRegistryDockerLocation, imageReferenceProblem, splitImageReference } from './image-ref.js';

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

describe('imageReferenceProblem (OCI distribution grammar)', () => {
  test.each([
    'busybox',
    'busybox:1.36',
    'library/busybox:latest',
    'localhost/app',
    'localhost:5000/team/app:v1.2_rc-3',
    '127.0.0.1:5000/img:t',
    '[::1]:5000/img',
    'us-central1-docker.pkg.dev/my-proj/repo/a__b.c-d--e:W0rd',
    `gcr.io/p/i@sha256:${'a'.repeat(64)}`,
    `gcr.io/p/i:t@sha256:${'0'.repeat(64)}`,
    `h/i:${'x'.repeat(128)}`,
  ])('%s is valid', (ref) => {
    expect(imageReferenceProblem(ref)).toBeUndefined();
  });

  test.each([
    ['hello:${env:X}', 'tag `${env:X}` is not a tag'],
    ['h/i:', 'tag `` is not a tag'],
    ['h/i:-x', 'tag `-x` is not a tag'],
    [`h/i:${'x'.repeat(129)}`, 'is not a tag'],
    ['h/i:a:b', 'tag `a:b` is not a tag'],
    ['gcr.io/Team/app', 'name component `Team`'],
    ['gcr.io/p//app', 'name component ``'],
    ['gcr.io/p/app-', 'name component `app-`'],
    ['gcr.io/p/a___b', 'name component `a___b`'],
    ['bad_host.io/app', 'registry host `bad_host.io`'],
    ['gcr.io:port/app', 'registry port `port`'],
    ['gcr.io/', 'no image name'],
    ['h/i@sha256:abc', 'a sha256 digest is 64 lowercase hex digits'],
    ['h/i@nonsense', 'digest `nonsense` is not'],
    ['', 'is empty'],
    ['h/i :t', 'name component `i `'],
    [`h/${'a'.repeat(300)}`, 'at most 255'],
  ])('%s: %s', (ref, problem) => {
    expect(imageReferenceProblem(ref)).toContain(problem);
  });
});
