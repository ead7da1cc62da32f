// Both sides of each rule Vertex applies to a CreateCustomJob request: the queue-config validation of
// @vertex-launch/core refuses it before anything is sent (or warns where it cannot be sure), and the emulator, sent
// the same request through the real @google-cloud/aiplatform client, refuses it with INVALID_ARGUMENT naming the
// field, as Vertex does. The valid twins pass both. Sources of the rules: core's machine-types.ts and
// config/vertex-rules.ts, next to each rule.
import { v1 } from '@google-cloud/aiplatform';
import type { LaunchContext, ResolvedQueueConfig } from '@vertex-launch/core';
import { queueConfigSchema, validateQueueConfig } from '@vertex-launch/core/config';
import { toCreateCustomJobRequest } from '@vertex-launch/core/mapping';
import { type Emulator, startEmulator } from '@vertex-launch/emulator';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { grpcError } from './support.js';

let emu: Emulator;
let client: InstanceType<typeof v1.JobServiceClient>;
let context: LaunchContext;

beforeAll(async () => {
  emu = await startEmulator({
    jobTimings: { queuedMs: 600_000, pendingMs: 600_000, runningMs: 600_000, cancellingMs: 100 },
    quotas: { vertexReadsPerMinute: 0, vertexCreatesPerMinute: 0 },
  });
  client = new v1.JobServiceClient(emu.jobServiceClientOptions());
  context = { project: emu.projectId, region: emu.region, runId: 'fidelity', launchId: 'fidelity-launch' };
});

afterAll(async () => {
  await client?.close();
  await emu?.stop();
});

const IMAGE = 'us-docker.pkg.dev/vxl-emulator/train/trainer:latest';
const pool = (
  machine: Record<string, unknown> = { machine_type: 'n1-standard-4' },
  extra: Record<string, unknown> = {},
) => ({
  machine_spec: machine,
  container_spec: { image_uri: IMAGE },
  ...extra,
});
const config = (spec: Record<string, unknown> = {}, run?: Record<string, unknown>) => ({
  spec: { worker_pool_specs: [pool()], staging_bucket: 'gs://vxl-bucket', ...spec },
  ...(run ? { run } : {}),
});
const L4 = { machine_type: 'g2-standard-8', accelerator_type: 'NVIDIA_L4', accelerator_count: 1 };
const T4 = { machine_type: 'n1-standard-8', accelerator_type: 'NVIDIA_TESLA_T4', accelerator_count: 1 };
const H200 = { machine_type: 'a3-ultragpu-8g', accelerator_type: 'NVIDIA_H200_141GB', accelerator_count: 8 };
const RESERVATION = 'projects/vxl-emulator/zones/us-central1-a/reservations/r1';

/** The CreateCustomJob the launch would send for `raw`, mapped without the Vertex rules of validation. */
function request(raw: unknown) {
  const parsed = queueConfigSchema.parse(raw) as ResolvedQueueConfig;
  const mapped = toCreateCustomJobRequest(parsed, context);
  return { parent: mapped.parent, customJob: mapped.customJob } as Parameters<typeof client.createCustomJob>[0];
}

interface Refusal {
  /** The queue config. */
  raw: unknown;
  /** What validation says: the path and part of the message; a warning where it cannot be sure. */
  validation: { path: string; message: string; severity?: 'warning' };
  /** The `Field:` of the emulator's INVALID_ARGUMENT, and part of its message. */
  emulator: { field: string; message: string };
}

const REFUSALS: Record<string, Refusal> = {
  'the chief with 2 replicas': {
    raw: config({ worker_pool_specs: [pool(undefined, { replica_count: 2 })] }),
    validation: { path: 'spec.worker_pool_specs[0].replica_count', message: 'must have exactly 1 replica' },
    emulator: { field: 'custom_job.job_spec.worker_pool_specs[0].replica_count', message: 'exactly 1 replica' },
  },
  'FLEX_START with a T4 (not a Dynamic Workload Scheduler GPU)': {
    raw: config({ worker_pool_specs: [pool(T4)] }, { scheduling_strategy: 'FLEX_START' }),
    validation: {
      path: 'spec.worker_pool_specs[0].machine_spec.accelerator_type',
      message: 'serves only L4, A100, H100, H200 and B200 GPUs',
    },
    emulator: {
      field: 'custom_job.job_spec.worker_pool_specs[0].machine_spec.accelerator_type',
      message: 'FLEX_START supports only L4, A100, H100, H200 and B200 GPUs',
    },
  },
  'FLEX_START for 8 days': {
    raw: config({ worker_pool_specs: [pool(L4)] }, { scheduling_strategy: 'FLEX_START', timeout: '192h' }),
    validation: { path: 'run.timeout', message: 'run at most 7 days' },
    emulator: { field: 'custom_job.job_spec.scheduling.timeout', message: 'timeout of 7 days or less' },
  },
  'FLEX_START with two machine configurations': {
    raw: config(
      { worker_pool_specs: [pool(L4), pool({ ...L4, machine_type: 'g2-standard-24', accelerator_count: 2 })] },
      { scheduling_strategy: 'FLEX_START' },
    ),
    validation: {
      path: 'spec.worker_pool_specs[1].machine_spec',
      message: 'the same machine configuration in every pool',
    },
    emulator: {
      field: 'custom_job.job_spec.worker_pool_specs[1].machine_spec',
      message: 'the same machine configuration in every worker pool',
    },
  },
  'TPU v5e without a topology': {
    raw: config({ worker_pool_specs: [pool({ machine_type: 'ct5lp-hightpu-4t' })] }),
    validation: {
      path: 'spec.worker_pool_specs[0].machine_spec.tpu_topology',
      message: 'is required with `ct5lp-hightpu-4t`',
    },
    emulator: { field: 'custom_job.job_spec.worker_pool_specs[0].machine_spec.tpu_topology', message: 'is required' },
  },
  'TPU v6e with accelerator fields': {
    raw: config({
      worker_pool_specs: [
        pool({
          machine_type: 'ct6e-standard-4t',
          accelerator_type: 'TPU_V5_LITEPOD',
          accelerator_count: 4,
          tpu_topology: '2x2',
        }),
      ],
    }),
    validation: {
      path: 'spec.worker_pool_specs[0].machine_spec.accelerator_type',
      message: 'takes no `accelerator_type`',
    },
    emulator: {
      field: 'custom_job.job_spec.worker_pool_specs[0].machine_spec.accelerator_type',
      message: 'takes no `accelerator_type`',
    },
  },
  'a machine type typo': {
    raw: config({ worker_pool_specs: [pool({ machine_type: 'n1-standrd-4' })] }),
    validation: {
      path: 'spec.worker_pool_specs[0].machine_spec.machine_type',
      message: 'did you mean `n1-standard-4`?',
      severity: 'warning',
    },
    emulator: {
      field: 'custom_job.job_spec.worker_pool_specs[0].machine_spec.machine_type',
      message: 'did you mean `n1-standard-4`?',
    },
  },
  'an H100 on an N1 machine': {
    raw: config({ worker_pool_specs: [pool({ ...T4, accelerator_type: 'NVIDIA_H100_80GB' })] }),
    validation: { path: 'spec.worker_pool_specs[0].machine_spec.accelerator_type', message: 'comes with a3-highgpu-*' },
    emulator: {
      field: 'custom_job.job_spec.worker_pool_specs[0].machine_spec.accelerator_type',
      message: 'not `NVIDIA_H100_80GB`',
    },
  },
  'a G2 machine with the wrong number of L4s': {
    raw: config({ worker_pool_specs: [pool({ ...L4, accelerator_count: 2 })] }),
    validation: {
      path: 'spec.worker_pool_specs[0].machine_spec.accelerator_count',
      message: 'comes with exactly 1 NVIDIA_L4',
    },
    emulator: {
      field: 'custom_job.job_spec.worker_pool_specs[0].machine_spec.accelerator_count',
      message: 'comes with exactly 1 NVIDIA_L4',
    },
  },
  'a GPU partition of two GPUs': {
    raw: config({
      worker_pool_specs: [
        pool({
          machine_type: 'a2-highgpu-2g',
          accelerator_type: 'NVIDIA_TESLA_A100',
          accelerator_count: 2,
          gpu_partition_size: '1g.5gb',
        }),
      ],
    }),
    validation: {
      path: 'spec.worker_pool_specs[0].machine_spec.gpu_partition_size',
      message: 'needs `accelerator_count: 1`',
    },
    emulator: {
      field: 'custom_job.job_spec.worker_pool_specs[0].machine_spec.gpu_partition_size',
      message: 'needs `accelerator_count: 1`',
    },
  },
  'a 50 GB boot disk': {
    raw: config({ worker_pool_specs: [pool(undefined, { disk_spec: { boot_disk_size_gb: 50 } })] }),
    validation: { path: 'spec.worker_pool_specs[0].disk_spec.boot_disk_size_gb', message: 'must be 100 to 64000' },
    emulator: {
      field: 'custom_job.job_spec.worker_pool_specs[0].disk_spec.boot_disk_size_gb',
      message: 'between 100 and 64000',
    },
  },
  'a pd-balanced boot disk': {
    raw: config({ worker_pool_specs: [pool(undefined, { disk_spec: { boot_disk_type: 'pd-balanced' } })] }),
    validation: { path: 'spec.worker_pool_specs[0].disk_spec.boot_disk_type', message: 'is not a boot disk type' },
    emulator: {
      field: 'custom_job.job_spec.worker_pool_specs[0].disk_spec.boot_disk_type',
      message: 'is not supported',
    },
  },
  'an NFS path without the leading slash': {
    raw: config({
      worker_pool_specs: [
        pool(undefined, { nfs_mounts: [{ server: '10.0.0.2', path: 'exports/data', mount_point: 'data' }] }),
      ],
    }),
    validation: { path: 'spec.worker_pool_specs[0].nfs_mounts[0].path', message: 'must start with `/`' },
    emulator: { field: 'custom_job.job_spec.worker_pool_specs[0].nfs_mounts[0].path', message: 'must start with "/"' },
  },
  '101 environment variables': {
    raw: config({
      worker_pool_specs: [
        {
          ...pool(),
          container_spec: {
            image_uri: IMAGE,
            env: Array.from({ length: 101 }, (_, i) => ({ name: `V${i}`, value: 'x' })),
          },
        },
      ],
    }),
    validation: { path: 'spec.worker_pool_specs[0].container_spec.env', message: 'at most 100' },
    emulator: { field: 'custom_job.job_spec.worker_pool_specs[0].container_spec.env', message: 'is 100; got 101' },
  },
  '101 package URIs': {
    raw: config({
      worker_pool_specs: [
        {
          machine_spec: { machine_type: 'n1-standard-4' },
          python_package_spec: {
            executor_image_uri: IMAGE,
            package_uris: Array.from({ length: 101 }, (_, i) => `gs://vxl-bucket/p${i}.tar.gz`),
            python_module: 'trainer.task',
          },
        },
      ],
    }),
    validation: { path: 'spec.worker_pool_specs[0].python_package_spec.package_uris', message: 'at most 100' },
    emulator: {
      field: 'custom_job.job_spec.worker_pool_specs[0].python_package_spec.package_uris',
      message: 'is 100; got 101',
    },
  },
  'SPECIFIC_RESERVATION by a short name and without a key': {
    raw: config({
      worker_pool_specs: [
        pool({
          machine_type: 'n1-standard-4',
          reservation_affinity: { reservation_affinity_type: 'SPECIFIC_RESERVATION', values: ['r1'] },
        }),
      ],
    }),
    validation: { path: 'spec.worker_pool_specs[0].machine_spec.reservation_affinity.key', message: 'is required' },
    emulator: {
      field: 'custom_job.job_spec.worker_pool_specs[0].machine_spec.reservation_affinity.key',
      message: 'Required field is not set',
    },
  },
  'a DNS peering domain without the final dot': {
    raw: config({
      psc_interface_config: {
        network_attachment: 'psc-att',
        dns_peering_configs: [{ domain: 'corp.example.com', target_project: 'host', target_network: 'vpc' }],
      },
    }),
    validation: { path: 'spec.psc_interface_config.dns_peering_configs[0].domain', message: 'must end with a dot' },
    emulator: {
      field: 'custom_job.job_spec.psc_interface_config.dns_peering_configs[0].domain',
      message: 'must end with a dot',
    },
  },
  'VPC peering with H200 GPUs': {
    raw: config({ worker_pool_specs: [pool(H200)], network: 'projects/123456/global/networks/vpc' }),
    validation: { path: 'spec.network', message: 'VPC peering is not supported with NVIDIA_H200_141GB' },
    emulator: {
      field: 'custom_job.job_spec.network',
      message: 'VPC Network Peering is not supported with NVIDIA_H200_141GB',
    },
  },
  'a network named by project id': {
    raw: config({ network: 'projects/vxl-emulator/global/networks/vpc' }),
    validation: { path: 'spec.network', message: 'Vertex needs its number' },
    emulator: { field: 'custom_job.job_spec.network', message: 'projects/{project_number}/global/networks/{network}' },
  },
  'a label value in upper case': {
    raw: config({ labels: { team: 'ML' } }),
    validation: { path: 'spec.labels.team', message: 'label values are lowercase: use `ml`' },
    emulator: { field: 'custom_job.labels[team]', message: 'Label value "ML" is invalid' },
  },
};

const ACCEPTED: Record<string, unknown> = {
  'FLEX_START with L4s in every pool and a placeholder pool': config(
    { worker_pool_specs: [pool(L4), {}, pool(L4)] },
    { scheduling_strategy: 'FLEX_START', timeout: '168h' },
  ),
  'TPU v5e in the Python SDK form (machine type and topology only)': config({
    worker_pool_specs: [pool({ machine_type: 'ct5lp-hightpu-4t', tpu_topology: '2x2' })],
  }),
  'TPU v6e with its topology': config({
    worker_pool_specs: [pool({ machine_type: 'ct6e-standard-4t', tpu_topology: '2x2' })],
  }),
  'the current GPU series: A4X, A4, G4': config({
    worker_pool_specs: [
      pool({ machine_type: 'a4x-highgpu-4g', accelerator_type: 'NVIDIA_GB200', accelerator_count: 4 }),
      pool({ machine_type: 'a4-highgpu-8g', accelerator_type: 'NVIDIA_B200', accelerator_count: 8 }),
      pool({ machine_type: 'g4-standard-48', accelerator_type: 'NVIDIA_RTX_PRO_6000', accelerator_count: 1 }),
    ],
  }),
  'H200 GPUs over a Private Service Connect interface': config({
    worker_pool_specs: [pool(H200)],
    psc_interface_config: {
      network_attachment: 'psc-att',
      dns_peering_configs: [{ domain: 'corp.example.com.', target_project: 'host', target_network: 'vpc' }],
    },
  }),
  'a reservation by its full name, a large boot disk, an NFS share': config({
    worker_pool_specs: [
      pool(
        {
          machine_type: 'n1-standard-4',
          reservation_affinity: {
            reservation_affinity_type: 'SPECIFIC_RESERVATION',
            key: 'compute.googleapis.com/reservation-name',
            values: [RESERVATION],
          },
        },
        {
          disk_spec: { boot_disk_type: 'hyperdisk-balanced', boot_disk_size_gb: 64_000 },
          nfs_mounts: [{ server: '10.0.0.2', path: '/exports/data', mount_point: 'data' }],
        },
      ),
    ],
    network: 'projects/123456/global/networks/vpc',
  }),
  'international labels and a display name of 128 characters outside the BMP': config({
    labels: { owner: 'josé', équipe: 'ビジョン' },
    display_name: '🚀'.repeat(128),
  }),
};

describe('what Vertex refuses, validation refuses first and the emulator refuses too', () => {
  test.each(Object.entries(REFUSALS))('%s', async (_, refusal) => {
    const found = validateQueueConfig(refusal.raw).issues.filter((i) => i.path === refusal.validation.path);
    expect(found.map((i) => i.message).join('\n')).toContain(refusal.validation.message);
    expect(found.find((i) => i.message.includes(refusal.validation.message))?.severity).toBe(
      refusal.validation.severity ?? 'error',
    );
    const message = await grpcError(client.createCustomJob(request(refusal.raw)), 3);
    expect(message).toMatch(/^List of found errors:/);
    const entry = message.split('\t').find((e) => e.includes(`Field: ${refusal.emulator.field};`));
    expect(entry, message).toBeDefined();
    expect(entry).toContain(refusal.emulator.message);
  });
});

describe('what Vertex accepts passes both', () => {
  test.each(Object.entries(ACCEPTED))('%s', async (_, raw) => {
    expect(validateQueueConfig(raw).issues).toEqual([]);
    const [job] = await client.createCustomJob(request(raw));
    expect(job.state).toBe('JOB_STATE_QUEUED');
    expect(job.labels).toMatchObject(request(raw).customJob?.labels ?? {});
    expect(job.displayName).toBe(request(raw).customJob?.displayName);
  });
});
