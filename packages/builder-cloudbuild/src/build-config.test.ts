import { describe, expect, it } from 'vitest';
import {
  cloudBuildConfig,
  failureTypeName,
  infrastructureFailure,
  isTerminal,
  parseGcsUrl,
  statusName,
} from './build-config.js';

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

describe('infrastructureFailure', () => {
  const ts = { seconds: '1700000000', nanos: 0 };
  const queued = [{ status: 'QUEUED' }, { status: 'QUEUED' }];

  it('names the failures of Cloud Build itself: INTERNAL_ERROR, FETCH_SOURCE_FAILED, LOGGING_FAILURE', () => {
    expect(infrastructureFailure({ status: 'INTERNAL_ERROR' })).toBe(
      'Cloud Build failed for an internal cause (INTERNAL_ERROR)',
    );
    // Through an operation the enums are numbers: INTERNAL_ERROR = 5, FAILURE = 4, FETCH_SOURCE_FAILED = 6.
    expect(infrastructureFailure({ status: 5, failureInfo: { type: 0, detail: 'backend' } })).toBe(
      'Cloud Build failed for an internal cause (INTERNAL_ERROR, FAILURE_TYPE_UNSPECIFIED: backend)',
    );
    expect(
      infrastructureFailure({
        status: 4,
        failureInfo: { type: 6, detail: 'failed to fetch source gs://b/o: HTTP 503' },
        steps: queued,
      }),
    ).toBe(
      'Cloud Build could not fetch the uploaded context (FETCH_SOURCE_FAILED: failed to fetch source gs://b/o: HTTP 503)',
    );
    expect(infrastructureFailure({ status: 'FAILURE', failureInfo: { type: 'LOGGING_FAILURE' } })).toBe(
      "Cloud Build's logging failed (LOGGING_FAILURE)",
    );
  });

  it("treats a TIMEOUT as Cloud Build's own only while the source was fetched, before any step", () => {
    const fetchTimeout = 'Cloud Build timed out fetching the uploaded context, before any step ran (TIMEOUT)';
    expect(
      infrastructureFailure({ status: 'TIMEOUT', steps: queued, timing: { FETCHSOURCE: { startTime: ts } } }),
    ).toBe(fetchTimeout);
    expect(infrastructureFailure({ status: 6, steps: queued })).toBe(fetchTimeout);
    expect(
      infrastructureFailure({ status: 'TIMEOUT', failureInfo: { type: 'FETCH_SOURCE_FAILED' }, steps: queued }),
    ).toBe(fetchTimeout);
    // A step ran (its timing, or a status past QUEUED): the build itself was too slow.
    expect(
      infrastructureFailure({
        status: 'TIMEOUT',
        steps: [{ status: 'TIMEOUT', timing: { startTime: ts } }, { status: 'QUEUED' }],
        timing: { FETCHSOURCE: { startTime: ts, endTime: ts }, BUILD: { startTime: ts } },
      }),
    ).toBeUndefined();
    expect(infrastructureFailure({ status: 'TIMEOUT', steps: [{ status: 'WORKING' }] })).toBeUndefined();
  });

  it('leaves failing steps, pushes, cancels and successes alone', () => {
    expect(
      infrastructureFailure({ status: 'FAILURE', failureInfo: { type: 'USER_BUILD_STEP', detail: 'exit 3' } }),
    ).toBeUndefined();
    expect(infrastructureFailure({ status: 4, failureInfo: { type: 5 } })).toBeUndefined();
    expect(infrastructureFailure({ status: 'FAILURE', failureInfo: { type: 'PUSH_NOT_AUTHORIZED' } })).toBeUndefined();
    expect(infrastructureFailure({ status: 'FAILURE' })).toBeUndefined();
    for (const status of ['SUCCESS', 'CANCELLED', 'EXPIRED', 'WORKING']) {
      expect(infrastructureFailure({ status, steps: queued })).toBeUndefined();
    }
    expect(failureTypeName(undefined)).toBeUndefined();
    expect(failureTypeName(1)).toBe('PUSH_FAILED');
    expect(failureTypeName(42)).toBe('42');
  });
});
