import { describe, expect, test } from 'vitest';
import { CONTEXT, ENV, RICH_YAML } from '../__fixtures__/queue-configs.js';
import { parseConfigText } from '../config/load.js';
import { resolveQueueConfig } from '../config/resolve.js';
import { DEFAULT_QUEUE_CONFIG } from '../config/schema.js';
import { toCreateCustomJobRequest } from './custom-job.js';
import { toRestJson } from './rest-json.js';

const withBucket = (bucket: string) => ({
  ...DEFAULT_QUEUE_CONFIG,
  spec: { ...DEFAULT_QUEUE_CONFIG.spec, staging_bucket: bucket },
});

describe('toCreateCustomJobRequest', () => {
  test('maps the default config (with a bucket set)', () => {
    const config = resolveQueueConfig({ config: withBucket('my-bucket'), context: CONTEXT });
    expect(toCreateCustomJobRequest(config, CONTEXT)).toMatchInlineSnapshot(`
      {
        "customJob": {
          "displayName": "gpu-queue-run-20261129-a1b2",
          "jobSpec": {
            "baseOutputDirectory": {
              "outputUriPrefix": "gs://my-bucket/vertex-launch/run-20261129-a1b2",
            },
            "workerPoolSpecs": [
              {
                "containerSpec": {
                  "imageUri": "us-central1-docker.pkg.dev/my-project/train/trainer@sha256:0123abcd0123abcd0123abcd0123abcd0123abcd0123abcd0123abcd0123abcd",
                },
                "machineSpec": {
                  "machineType": "n1-standard-4",
                },
                "replicaCount": "1",
              },
            ],
          },
          "labels": {
            "vertex-launch-launch-id": "launch-7f3e",
            "vertex-launch-queue": "gpu-queue",
            "vertex-launch-run-id": "run-20261129-a1b2",
          },
        },
        "parent": "projects/my-project/locations/us-central1",
      }
    `);
  });

  test('maps the rich config: run wins for shared keys, labels as written, variables typed, macros filled', () => {
    const config = resolveQueueConfig({ config: parseConfigText(RICH_YAML), context: CONTEXT, env: ENV });
    expect(toCreateCustomJobRequest(config, CONTEXT)).toMatchInlineSnapshot(`
      {
        "customJob": {
          "displayName": "gpu-queue-baseline",
          "encryptionSpec": {
            "kmsKeyName": "projects/my-project/locations/us-central1/keyRings/ring/cryptoKeys/key",
          },
          "jobSpec": {
            "baseOutputDirectory": {
              "outputUriPrefix": "gs://my-bucket/vertex-launch/run-20261129-a1b2",
            },
            "enableDashboardAccess": true,
            "enableWebAccess": true,
            "models": [
              "projects/my-project/locations/us-central1/models/42@3",
            ],
            "network": "projects/123456789/global/networks/training-vpc",
            "persistentResourceId": "a100-cluster",
            "protectedArtifactLocationId": "us-central1",
            "pscInterfaceConfig": {
              "dnsPeeringConfigs": [
                {
                  "domain": "corp.example.com.",
                  "targetNetwork": "shared-vpc",
                  "targetProject": "host-project",
                },
              ],
              "networkAttachment": "projects/my-project/regions/us-central1/networkAttachments/psc-att",
            },
            "reservedIpRanges": [
              "training-range-a",
            ],
            "scheduling": {
              "disableRetries": true,
              "maxWaitDuration": {
                "seconds": "5400",
              },
              "restartJobOnWorkerRestart": true,
              "strategy": "FLEX_START",
              "timeout": {
                "seconds": "9000",
              },
            },
            "serviceAccount": "trainer@my-project.iam.gserviceaccount.com",
            "tensorboard": "projects/my-project/locations/us-central1/tensorboards/777",
            "workerPoolSpecs": [
              {
                "containerSpec": {
                  "args": [
                    "--epochs",
                    "10",
                    "--run-id",
                    "run-20261129-a1b2",
                    "--home",
                    "\${HOME}",
                  ],
                  "command": [
                    "python",
                    "-m",
                    "trainer.task",
                  ],
                  "env": [
                    {
                      "name": "WANDB_ENTITY",
                      "value": "research-team",
                    },
                    {
                      "name": "VERTEX_LAUNCH_PROJECT",
                      "value": "my-project/us-central1/launch-7f3e",
                    },
                  ],
                  "imageUri": "us-central1-docker.pkg.dev/my-project/train/trainer@sha256:0123abcd0123abcd0123abcd0123abcd0123abcd0123abcd0123abcd0123abcd",
                },
                "diskSpec": {
                  "bootDiskSizeGb": 200,
                  "bootDiskType": "pd-ssd",
                },
                "machineSpec": {
                  "acceleratorCount": 2,
                  "acceleratorType": "NVIDIA_TESLA_A100",
                  "machineType": "a2-highgpu-2g",
                  "reservationAffinity": {
                    "key": "compute.googleapis.com/reservation-name",
                    "reservationAffinityType": "SPECIFIC_RESERVATION",
                    "values": [
                      "projects/my-project/zones/us-central1-a/reservations/a100-reservation",
                    ],
                  },
                },
                "nfsMounts": [
                  {
                    "mountPoint": "datasets",
                    "path": "/exports/datasets",
                    "server": "10.0.0.2",
                  },
                ],
                "replicaCount": "1",
              },
              {
                "containerSpec": {
                  "imageUri": "us-central1-docker.pkg.dev/my-project/train/trainer@sha256:0123abcd0123abcd0123abcd0123abcd0123abcd0123abcd0123abcd0123abcd",
                },
                "lustreMounts": [
                  {
                    "filesystem": "scratch",
                    "instanceIp": "10.0.0.9",
                    "mountPoint": "scratch",
                    "volumeHandle": "my-project/us-central1-a/lustre-1",
                  },
                ],
                "machineSpec": {
                  "acceleratorCount": 2,
                  "acceleratorType": "NVIDIA_TESLA_A100",
                  "machineType": "a2-highgpu-2g",
                },
                "replicaCount": "3",
              },
              {},
              {
                "machineSpec": {
                  "acceleratorCount": 2,
                  "acceleratorType": "NVIDIA_TESLA_A100",
                  "machineType": "a2-highgpu-2g",
                },
                "pythonPackageSpec": {
                  "args": [
                    "--split",
                    "test",
                  ],
                  "env": [
                    {
                      "name": "MODE",
                      "value": "eval",
                    },
                  ],
                  "executorImageUri": "us-docker.pkg.dev/vertex-ai/training/pytorch-gpu.2-4.py310:latest",
                  "packageUris": [
                    "gs://my-bucket/dist/trainer-0.1.tar.gz",
                  ],
                  "pythonModule": "trainer.evaluate",
                },
                "replicaCount": "1",
              },
            ],
          },
          "labels": {
            "cost-center": "r_d-42",
            "owner": "josé",
            "team": "ml",
            "vertex-launch-launch-id": "launch-7f3e",
            "vertex-launch-queue": "gpu-queue",
            "vertex-launch-run-id": "run-20261129-a1b2",
          },
        },
        "parent": "projects/my-project/locations/us-central1",
      }
    `);
  });

  test('toRestJson prints durations as proto3 JSON strings', () => {
    const config = resolveQueueConfig({
      config: {
        spec: {
          ...withBucket('b-bucket').spec,
          worker_pool_specs: [
            {
              machine_spec: { machine_type: 'g2-standard-8', accelerator_type: 'NVIDIA_L4', accelerator_count: 1 },
              container_spec: { image_uri: '${image_uri}' },
            },
          ],
        },
        run: { timeout: '1h30m', max_wait_duration: 0.5, scheduling_strategy: 'FLEX_START' },
      },
      context: CONTEXT,
    });
    const request = toCreateCustomJobRequest(config, CONTEXT);
    expect(request.customJob.jobSpec.scheduling).toEqual({
      timeout: { seconds: '5400' },
      maxWaitDuration: { seconds: '0', nanos: 500_000_000 },
      strategy: 'FLEX_START',
    });
    expect(toRestJson(request).customJob.jobSpec).toMatchObject({
      scheduling: { timeout: '5400s', maxWaitDuration: '0.500s', strategy: 'FLEX_START' },
    });
  });

  test('default display name is <queue>-<run id>, or vertex-launch-<run id>, cut to 128 characters', () => {
    const config = resolveQueueConfig({ config: withBucket('b-bucket'), context: CONTEXT });
    const { queueName: _queue, ...noQueue } = CONTEXT;
    expect(toCreateCustomJobRequest(config, noQueue).customJob.displayName).toBe('vertex-launch-run-20261129-a1b2');
    expect(toCreateCustomJobRequest(config, noQueue).customJob.labels).not.toHaveProperty('vertex-launch-queue');
    const long = { ...CONTEXT, queueName: 'q'.repeat(200) };
    const name = toCreateCustomJobRequest(config, long).customJob.displayName;
    expect(name).toHaveLength(128);
    expect(name).toBe('q'.repeat(128));
    // 128 characters, not UTF-16 units: a name of astral characters is never cut inside a surrogate pair.
    const astral = toCreateCustomJobRequest(config, { ...CONTEXT, queueName: `x${'🚀'.repeat(200)}` }).customJob
      .displayName;
    expect([...astral]).toHaveLength(128);
    expect(astral).toBe(`x${'🚀'.repeat(127)}`);
    expect(/\p{Cs}/u.test(astral)).toBe(false);
  });

  test('base output dir defaults to a per-run folder under the staging bucket, prefix kept', () => {
    const config = resolveQueueConfig({ config: withBucket('gs://my-bucket/team-a/'), context: CONTEXT });
    expect(toCreateCustomJobRequest(config, CONTEXT).customJob.jobSpec.baseOutputDirectory).toEqual({
      outputUriPrefix: 'gs://my-bucket/team-a/vertex-launch/run-20261129-a1b2',
    });
  });

  test('user labels are sent as written; the labels the launch adds are sanitised, international letters kept', () => {
    const config = resolveQueueConfig({
      config: { ...withBucket('b-bucket'), spec: { ...withBucket('b-bucket').spec, labels: { owner: 'josé' } } },
      context: CONTEXT,
    });
    const context = { ...CONTEXT, runId: 'Run.2026/11', queueName: 'Équipe GPU', launchId: 'L'.repeat(80) };
    expect(toCreateCustomJobRequest(config, context).customJob.labels).toEqual({
      owner: 'josé',
      'vertex-launch-run-id': 'run_2026_11',
      'vertex-launch-launch-id': 'l'.repeat(63),
      'vertex-launch-queue': 'équipe_gpu',
    });
  });
});
