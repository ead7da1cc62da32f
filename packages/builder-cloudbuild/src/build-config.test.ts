import { describe, expect, it } from 'vitest';
import { cloudBuildConfig, isTerminal, parseGcsUrl, statusName } from './build-config.js';

describe('cloudBuildConfig', () => {
  it('maps a context to a docker build + push with images, timeout, machine type and logs bucket', () => {
    const config = cloudBuildConfig({
      destination: 'us-docker.pkg.dev/p/r/trainer:ctx-0123456789ab',
      manifest: { dockerfilePath: 'docker/Dockerfile', fingerprint: 'f'.repeat(64), tag: 'ctx-0123456789ab' },
      bucket: 'p_cloudbuild',
      object: `vertex-launch/contexts/${'f'.repeat(64)}.tar.gz`,
      logsBucket: 'gs://p_cloudbuild/vertex-launch/logs',
      platform: 'linux/amd64',
      buildArgs: { Z: '1', A: 'two words' },
      target: 'train',
      labels: { team: 'ml' },
      cacheFrom: ['us-docker.pkg.dev/p/r/trainer:cache'],
      timeoutSeconds: 900,
      machineType: 'E2_HIGHCPU_8',
      serviceAccount: undefined,
      dockerImage: 'gcr.io/cloud-builders/docker',
    });
    expect(config).toMatchInlineSnapshot(`
      {
        "images": [
          "us-docker.pkg.dev/p/r/trainer:ctx-0123456789ab",
        ],
        "logsBucket": "gs://p_cloudbuild/vertex-launch/logs",
        "options": {
          "logging": "GCS_ONLY",
          "machineType": "E2_HIGHCPU_8",
        },
        "source": {
          "storageSource": {
            "bucket": "p_cloudbuild",
            "object": "vertex-launch/contexts/ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff.tar.gz",
          },
        },
        "steps": [
          {
            "args": [
              "build",
              "--network=cloudbuild",
              "--platform=linux/amd64",
              "-t",
              "us-docker.pkg.dev/p/r/trainer:ctx-0123456789ab",
              "-f",
              "docker/Dockerfile",
              "--cache-from",
              "us-docker.pkg.dev/p/r/trainer:cache",
              "--build-arg",
              "A=two words",
              "--build-arg",
              "Z=1",
              "--build-arg",
              "BUILDKIT_INLINE_CACHE=1",
              "--target",
              "train",
              "--label",
              "dev.vertex-launch.fingerprint=ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
              "--label",
              "team=ml",
              ".",
            ],
            "env": [
              "DOCKER_BUILDKIT=1",
            ],
            "id": "build",
            "name": "gcr.io/cloud-builders/docker",
          },
          {
            "args": [
              "push",
              "us-docker.pkg.dev/p/r/trainer:ctx-0123456789ab",
            ],
            "id": "push",
            "name": "gcr.io/cloud-builders/docker",
          },
        ],
        "tags": [
          "vertex-launch",
          "ctx-0123456789ab",
        ],
        "timeout": {
          "seconds": 900,
        },
      }
    `);
  });

  it('reads statuses given as names or numbers, and splits gs:// URLs', () => {
    expect(statusName(3)).toBe('SUCCESS');
    expect(statusName('WORKING')).toBe('WORKING');
    expect(statusName(undefined)).toBe('STATUS_UNKNOWN');
    expect(isTerminal('SUCCESS')).toBe(true);
    expect(isTerminal(statusName(2))).toBe(false);
    expect(parseGcsUrl('gs://b/a/b/')).toEqual({ bucket: 'b', path: 'a/b' });
    expect(parseGcsUrl('b')).toEqual({ bucket: 'b', path: '' });
  });
});
