import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { fromGcloudCustomJobSpec } from './gcloud.js';
import { validateQueueConfig } from './validate.js';

// The form `gcloud ai custom-jobs create --config` takes: a CustomJobSpec, camelCase as in the REST API.
const GCLOUD_CONFIG = `
workerPoolSpecs:
  - machineSpec:
      machineType: n1-standard-8
      acceleratorType: NVIDIA_TESLA_T4
      acceleratorCount: 2
    replicaCount: 1
    diskSpec:
      bootDiskType: pd-ssd
      bootDiskSizeGb: "200"
    containerSpec:
      imageUri: us-central1-docker.pkg.dev/my-proj/train/trainer:v3
      args: [--epochs=5]
      env:
        - name: WANDB_MODE
          value: offline
  - machineSpec:
      machineType: n1-standard-4
    replicaCount: "2"
    containerSpec:
      imageUri: us-central1-docker.pkg.dev/my-proj/train/trainer:v3
scheduling:
  timeout: 7200s
  restartJobOnWorkerRestart: true
  strategy: SPOT
serviceAccount: trainer@my-proj.iam.gserviceaccount.com
network: projects/123456789012/global/networks/vpc
baseOutputDirectory:
  outputUriPrefix: gs://my-proj-out/runs
enableWebAccess: true
`;

describe('fromGcloudCustomJobSpec', () => {
  test('a gcloud --config file becomes a valid snake_case queue config, the image a ${image_uri}', () => {
    const { config, notes } = fromGcloudCustomJobSpec(parse(GCLOUD_CONFIG));
    expect(config).toEqual({
      spec: {
        worker_pool_specs: [
          {
            machine_spec: { machine_type: 'n1-standard-8', accelerator_type: 'NVIDIA_TESLA_T4', accelerator_count: 2 },
            replica_count: 1,
            disk_spec: { boot_disk_type: 'pd-ssd', boot_disk_size_gb: 200 },
            container_spec: {
              image_uri: '${image_uri}',
              args: ['--epochs=5'],
              env: [{ name: 'WANDB_MODE', value: 'offline' }],
            },
          },
          {
            machine_spec: { machine_type: 'n1-standard-4' },
            replica_count: 2,
            container_spec: { image_uri: '${image_uri}' },
          },
        ],
        staging_bucket: 'gs://my-proj-out',
        base_output_dir: 'gs://my-proj-out/runs',
        service_account: 'trainer@my-proj.iam.gserviceaccount.com',
        network: 'projects/123456789012/global/networks/vpc',
        enable_web_access: true,
      },
      run: { timeout: '7200s', restart_job_on_worker_restart: true, scheduling_strategy: 'SPOT' },
    });
    expect(notes).toEqual([
      'the image us-central1-docker.pkg.dev/my-proj/train/trainer:v3 is now ${image_uri}: launch with --image us-central1-docker.pkg.dev/my-proj/train/trainer:v3 (or any other build)',
      'staging_bucket gs://my-proj-out is the bucket of baseOutputDirectory (gcloud has no staging bucket)',
    ]);
    const result = validateQueueConfig(config);
    expect(result.issues.filter((i) => i.severity === 'error')).toEqual([]);
    expect(result.ok).toBe(true);
  });

  test('a whole CustomJob (jobSpec) keeps its display name, labels and key; unknown keys are named, not dropped silently', () => {
    const { config, notes } = fromGcloudCustomJobSpec(
      {
        displayName: 'nightly',
        labels: { teamName: 'vision' },
        encryptionSpec: { kmsKeyName: 'projects/p/locations/us-central1/keyRings/r/cryptoKeys/k' },
        jobSpec: {
          workerPoolSpecs: [{ machineSpec: { machineType: 'n1-standard-4' }, containerSpec: { imageUri: 'x:1' } }],
          scheduling: { timeout: '3600s', notAKey: 1 },
          somethingNew: true,
        },
      },
      { stagingBucket: 'gs://b', keepImage: true },
    );
    expect(config.spec).toMatchObject({
      display_name: 'nightly',
      staging_bucket: 'gs://b',
      labels: { teamName: 'vision' },
      encryption_spec_key_name: 'projects/p/locations/us-central1/keyRings/r/cryptoKeys/k',
      worker_pool_specs: [{ container_spec: { image_uri: 'x:1' } }],
    });
    expect(notes).toEqual([
      'scheduling.notAKey has no queue config key: left out',
      'somethingNew has no queue config key: left out',
    ]);
  });

  test('no bucket anywhere: a marker to fill in; not a CustomJobSpec: a TypeError that says what it expected', () => {
    const { config } = fromGcloudCustomJobSpec({ workerPoolSpecs: [{ containerSpec: { imageUri: 'x:1' } }] });
    expect(config.spec.staging_bucket).toBe('<your-bucket>');
    expect(() => fromGcloudCustomJobSpec({ spec: { worker_pool_specs: [] } })).toThrow(
      /no `workerPoolSpecs` list: a gcloud --config file is a CustomJobSpec/,
    );
    expect(() => fromGcloudCustomJobSpec({ worker_pool_specs: [] })).toThrow(
      /snake_case already: it may be a queue config/,
    );
    expect(() => fromGcloudCustomJobSpec('text')).toThrow(/not a YAML mapping/);
  });
});
