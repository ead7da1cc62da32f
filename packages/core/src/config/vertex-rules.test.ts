import { describe, expect, test } from 'vitest';
import { formatConfigIssues, validateQueueConfig } from './validate.js';

const IMAGE = 'us-docker.pkg.dev/p/r/trainer:1';
const pool = (
  machine: Record<string, unknown> = { machine_type: 'n1-standard-4' },
  extra: Record<string, unknown> = {},
) => ({
  machine_spec: machine,
  container_spec: { image_uri: IMAGE },
  ...extra,
});
const L4 = { machine_type: 'g2-standard-8', accelerator_type: 'NVIDIA_L4', accelerator_count: 1 };
const config = (spec: Record<string, unknown>, run?: Record<string, unknown>) => ({
  spec: { worker_pool_specs: [pool()], staging_bucket: 'gs://b-bucket', ...spec },
  ...(run ? { run } : {}),
});
const lines = (raw: unknown) => {
  const text = formatConfigIssues(validateQueueConfig(raw).issues);
  return text === '' ? [] : text.split('\n');
};

describe('the rules Vertex applies beyond field types', () => {
  test('the chief has exactly one replica', () => {
    expect(lines(config({ worker_pool_specs: [pool(undefined, { replica_count: 3 })] }))).toEqual([
      'spec.worker_pool_specs[0].replica_count: the first pool is the chief and must have exactly 1 replica, not 3: put the other 2 in pool 1 (the workers)',
    ]);
    expect(lines(config({ worker_pool_specs: [pool(), pool(undefined, { replica_count: 3 })] }))).toEqual([]);
  });

  test('FLEX_START: the DWS GPUs, at most 7 days, the same machine in every pool', () => {
    expect(
      lines(config({ worker_pool_specs: [pool(L4), {}, pool(L4)] }, { scheduling_strategy: 'FLEX_START' })),
    ).toEqual([]);
    expect(
      lines(
        config(
          {
            worker_pool_specs: [
              pool({ machine_type: 'n1-standard-8', accelerator_type: 'NVIDIA_TESLA_T4', accelerator_count: 1 }),
              pool(L4),
            ],
          },
          { scheduling_strategy: 'FLEX_START', timeout: '192h' },
        ),
      ),
    ).toEqual([
      'run.timeout: FLEX_START (Dynamic Workload Scheduler) jobs run at most 7 days (604800 s), not 691200 s: lower `run.timeout` or use STANDARD',
      'spec.worker_pool_specs[0].machine_spec.accelerator_type: FLEX_START (Dynamic Workload Scheduler) serves only L4, A100, H100, H200 and B200 GPUs (NVIDIA_L4, NVIDIA_TESLA_A100, NVIDIA_A100_80GB, NVIDIA_H100_80GB, NVIDIA_H100_MEGA_80GB, NVIDIA_H200_141GB, NVIDIA_B200), not NVIDIA_TESLA_T4: pick one, or use STANDARD or SPOT',
      'spec.worker_pool_specs[1].machine_spec: FLEX_START (Dynamic Workload Scheduler) needs the same machine configuration in every pool: g2-standard-8 + 1x NVIDIA_L4 here, n1-standard-8 + 1x NVIDIA_TESLA_T4 in pool 0',
    ]);
    // A machine type with its GPU built in counts as that GPU.
    expect(
      lines(
        config({ worker_pool_specs: [pool({ machine_type: 'a3-highgpu-8g' })] }, { scheduling_strategy: 'FLEX_START' }),
      ),
    ).toEqual([
      'spec.worker_pool_specs[0].machine_spec.accelerator_type: `a3-highgpu-8g` (A3 High, NVIDIA H100 80GB built in) needs `accelerator_type: NVIDIA_H100_80GB` and `accelerator_count: 8`',
    ]);
  });

  test('boot disk type and size, NFS path, env and package limits', () => {
    const env = Array.from({ length: 101 }, (_, i) => ({ name: `V${i}`, value: 'x' }));
    expect(
      lines(
        config({
          worker_pool_specs: [
            {
              ...pool(undefined, {
                disk_spec: { boot_disk_type: 'pd-balanced', boot_disk_size_gb: 50 },
                nfs_mounts: [{ server: '10.0.0.2', path: 'exports/data', mount_point: 'data' }],
              }),
              container_spec: { image_uri: IMAGE, env },
            },
            {
              machine_spec: { machine_type: 'n1-standard-4' },
              python_package_spec: {
                executor_image_uri: IMAGE,
                package_uris: Array.from({ length: 101 }, (_, i) => `gs://b/p${i}.tar.gz`),
                python_module: 'trainer.task',
              },
            },
          ],
        }),
      ),
    ).toEqual([
      'spec.worker_pool_specs[0].disk_spec.boot_disk_type: `pd-balanced` is not a boot disk type Vertex takes; allowed: pd-ssd, pd-standard, hyperdisk-balanced',
      'spec.worker_pool_specs[0].disk_spec.boot_disk_size_gb: must be 100 to 64000 (GB), not 50',
      'spec.worker_pool_specs[0].container_spec.env: has 101 variables; Vertex takes at most 100',
      'spec.worker_pool_specs[0].nfs_mounts[0].path: must start with `/` (the path the NFS server exports, as in `server:/exports/data`): `/exports/data`?',
      'spec.worker_pool_specs[1].python_package_spec.package_uris: has 101 packages; Vertex takes at most 100',
    ]);
  });

  test('a boot disk type typo gets a did-you-mean', () => {
    expect(
      lines(config({ worker_pool_specs: [pool(undefined, { disk_spec: { boot_disk_type: 'pd-sdd' } })] })),
    ).toEqual([
      'spec.worker_pool_specs[0].disk_spec.boot_disk_type: `pd-sdd` is not a boot disk type Vertex takes (did you mean `pd-ssd`?); allowed: pd-ssd, pd-standard, hyperdisk-balanced',
    ]);
  });

  test('SPECIFIC_RESERVATION needs the key and full reservation names', () => {
    const reserve = (affinity: Record<string, unknown>) =>
      config({ worker_pool_specs: [pool({ machine_type: 'n1-standard-4', reservation_affinity: affinity })] });
    expect(lines(reserve({ reservation_affinity_type: 'SPECIFIC_RESERVATION', values: ['my-reservation'] }))).toEqual([
      'spec.worker_pool_specs[0].machine_spec.reservation_affinity.key: is required with SPECIFIC_RESERVATION: `key: compute.googleapis.com/reservation-name`',
      'spec.worker_pool_specs[0].machine_spec.reservation_affinity.values[0]: `my-reservation` is not a full reservation name: write `projects/<project>/zones/<zone>/reservations/my-reservation`',
    ]);
    expect(
      lines(
        reserve({
          reservation_affinity_type: 'SPECIFIC_RESERVATION',
          key: 'compute.googleapis.com/reservation-name',
          values: ['projects/p/zones/us-central1-a/reservations/r'],
        }),
      ),
    ).toEqual([]);
    expect(lines(reserve({ reservation_affinity_type: 'ANY_RESERVATION', values: ['x'] }))).toEqual([
      'spec.worker_pool_specs[0].machine_spec.reservation_affinity: warning: `key` and `values` only pick a reservation with `reservation_affinity_type: SPECIFIC_RESERVATION`; ANY_RESERVATION ignores them',
    ]);
  });

  test('networks: the project number; no VPC peering with H100 Mega, H200 or B200; DNS domains end with a dot', () => {
    expect(lines(config({ network: 'projects/my-project/global/networks/vpc' }))).toEqual([
      'spec.network: names the project by its id `my-project`; Vertex needs its number (custom_job.proto: "{project} is a project number, as in 12345"): gcloud projects describe my-project --format="value(projectNumber)"',
    ]);
    const h200 = pool({ machine_type: 'a3-ultragpu-8g', accelerator_type: 'NVIDIA_H200_141GB', accelerator_count: 8 });
    expect(lines(config({ worker_pool_specs: [h200] }, { network: 'projects/123/global/networks/vpc' }))).toEqual([
      'run.network: VPC peering is not supported with NVIDIA_H200_141GB (pool 0): Vertex AI Training offers H100 Mega, H200 and B200 GPUs only through a Private Service Connect interface — drop `network` and set `psc_interface_config.network_attachment`',
    ]);
    expect(
      lines(
        config({
          worker_pool_specs: [h200],
          psc_interface_config: {
            network_attachment: 'psc-att',
            dns_peering_configs: [{ domain: 'corp.example.com', target_project: 'host', target_network: 'vpc' }],
          },
        }),
      ),
    ).toEqual(['spec.psc_interface_config.dns_peering_configs[0].domain: must end with a dot: `corp.example.com.`']);
  });

  test('values filled at launch are checked at launch, not before', () => {
    expect(
      lines(
        config(
          {
            worker_pool_specs: [
              pool({ machine_type: '${env:MACHINE}', accelerator_type: 'NVIDIA_TESLA_T4', accelerator_count: 1 }),
            ],
            network: 'projects/${env:PROJECT_NUMBER}/global/networks/vpc',
          },
          { scheduling_strategy: 'FLEX_START' },
        ),
      ),
    ).toEqual([
      'spec.worker_pool_specs[0].machine_spec.accelerator_type: FLEX_START (Dynamic Workload Scheduler) serves only L4, A100, H100, H200 and B200 GPUs (NVIDIA_L4, NVIDIA_TESLA_A100, NVIDIA_A100_80GB, NVIDIA_H100_80GB, NVIDIA_H100_MEGA_80GB, NVIDIA_H200_141GB, NVIDIA_B200), not NVIDIA_TESLA_T4: pick one, or use STANDARD or SPOT',
    ]);
  });
});
