/**
 * CustomJob validation the way Vertex does it: every problem is collected and answered as one
 * INVALID_ARGUMENT whose message lists `Field: <path>; Message: <what is wrong>` entries.
 */
import type { CustomJobInput, ProtoSeconds } from './types.js';

/** Machine families and sizes Vertex custom training accepts, with the accelerators each can carry. */
const MACHINE_FAMILIES: { pattern: RegExp; accelerators: readonly string[]; fixedCount?: (m: string) => number }[] = [
  {
    pattern: /^n1-standard-(4|8|16|32|64|96)$/,
    accelerators: ['NVIDIA_TESLA_T4', 'NVIDIA_TESLA_V100', 'NVIDIA_TESLA_P100', 'NVIDIA_TESLA_P4'],
  },
  {
    pattern: /^n1-highmem-(2|4|8|16|32|64|96)$/,
    accelerators: ['NVIDIA_TESLA_T4', 'NVIDIA_TESLA_V100', 'NVIDIA_TESLA_P100', 'NVIDIA_TESLA_P4'],
  },
  {
    pattern: /^n1-highcpu-(16|32|64|96)$/,
    accelerators: ['NVIDIA_TESLA_T4', 'NVIDIA_TESLA_V100', 'NVIDIA_TESLA_P100', 'NVIDIA_TESLA_P4'],
  },
  { pattern: /^n2-(standard|highmem|highcpu)-(2|4|8|16|32|48|64|80)$/, accelerators: [] },
  { pattern: /^e2-(standard|highmem)-(4|8|16|32)$/, accelerators: [] },
  { pattern: /^e2-highcpu-(16|32)$/, accelerators: [] },
  { pattern: /^c2-standard-(4|8|16|30|60)$/, accelerators: [] },
  { pattern: /^m1-ultramem-(40|80|160)$/, accelerators: [] },
  {
    pattern: /^a2-highgpu-(1|2|4|8)g$/,
    accelerators: ['NVIDIA_TESLA_A100'],
    fixedCount: (m) => Number(/-(\d+)g$/.exec(m)?.[1]),
  },
  { pattern: /^a2-megagpu-16g$/, accelerators: ['NVIDIA_TESLA_A100'], fixedCount: () => 16 },
  {
    pattern: /^a2-ultragpu-(1|2|4|8)g$/,
    accelerators: ['NVIDIA_A100_80GB'],
    fixedCount: (m) => Number(/-(\d+)g$/.exec(m)?.[1]),
  },
  { pattern: /^a3-highgpu-8g$/, accelerators: ['NVIDIA_H100_80GB'], fixedCount: () => 8 },
  { pattern: /^a3-megagpu-8g$/, accelerators: ['NVIDIA_H100_MEGA_80GB'], fixedCount: () => 8 },
  { pattern: /^a3-ultragpu-8g$/, accelerators: ['NVIDIA_H200_141GB'], fixedCount: () => 8 },
  { pattern: /^g2-standard-(4|8|12|16|24|32|48|96)$/, accelerators: ['NVIDIA_L4'] },
  { pattern: /^cloud-tpu$/, accelerators: ['TPU_V2', 'TPU_V3'] },
  { pattern: /^ct5lp-hightpu-(1|4|8)t$/, accelerators: ['TPU_V5_LITEPOD'] },
];

/** Accelerator counts Vertex accepts for the N1 GPUs (other families fix the count by machine type). */
const N1_GPU_COUNTS = [1, 2, 4, 8];

/** True for a machine type Vertex custom training knows. */
export function isKnownMachineType(machineType: string): boolean {
  return MACHINE_FAMILIES.some((f) => f.pattern.test(machineType));
}

const LABEL_KEY = /^[\p{Ll}\p{Lo}][\p{Ll}\p{Lo}\p{N}_-]{0,62}$/u;
const LABEL_VALUE = /^[\p{Ll}\p{Lo}\p{N}_-]{0,63}$/u;
const MAX_TIMEOUT_SECONDS = 30 * 24 * 3600;

/** Seconds in a Duration as decoded (`seconds` may be a string). */
export function durationMs(d: ProtoSeconds | undefined): number | undefined {
  if (!d) return undefined;
  return Number(d.seconds ?? 0) * 1000 + Math.floor((d.nanos ?? 0) / 1e6);
}

/** Returns every problem with `job` as `Field: ...; Message: ...` entries (empty when valid). */
export function validateCustomJob(job: CustomJobInput | undefined): string[] {
  const errors: string[] = [];
  const add = (field: string, message: string) => errors.push(`Field: ${field}; Message: ${message}`);
  if (!job) {
    add('custom_job', 'Required field is not set.');
    return errors;
  }
  if (!job.displayName) add('custom_job.display_name', 'Required field is not set.');
  else if ([...job.displayName].length > 128)
    add('custom_job.display_name', 'The display name must be at most 128 characters long.');

  const labels = job.labels ?? {};
  const keys = Object.keys(labels);
  if (keys.length > 64) add('custom_job.labels', `At most 64 labels are allowed; got ${keys.length}.`);
  for (const key of keys) {
    const value = labels[key] ?? '';
    if (key.startsWith('aiplatform.googleapis.com/')) {
      add(
        `custom_job.labels[${key}]`,
        'Label keys with the prefix "aiplatform.googleapis.com/" are reserved for system labels.',
      );
    } else if (!LABEL_KEY.test(key)) {
      add(
        `custom_job.labels[${key}]`,
        'Label keys must start with a lowercase letter, be 1-63 characters long and contain only lowercase letters, digits, underscores and dashes.',
      );
    }
    if (!LABEL_VALUE.test(value)) {
      add(
        `custom_job.labels[${key}]`,
        `Label value "${value}" is invalid: values must be at most 63 characters of lowercase letters, digits, underscores and dashes.`,
      );
    }
  }

  const spec = job.jobSpec;
  if (!spec) {
    add('custom_job.job_spec', 'Required field is not set.');
    return errors;
  }
  const pools = spec.workerPoolSpecs ?? [];
  if (pools.length === 0) add('custom_job.job_spec.worker_pool_specs', 'Required field is not set.');
  if (pools.length > 4)
    add('custom_job.job_spec.worker_pool_specs', `At most 4 worker pools are allowed; got ${pools.length}.`);
  pools.forEach((pool, i) => {
    const path = `custom_job.job_spec.worker_pool_specs[${i}]`;
    const empty = !pool.machineSpec && !pool.containerSpec && !pool.pythonPackageSpec && !pool.replicaCount;
    if (empty && i > 0) return; // Vertex allows empty placeholder pools after the first.
    const replicas = Number(pool.replicaCount ?? 0);
    if (i === 0 && replicas !== 1) {
      add(`${path}.replica_count`, `The first worker pool must have exactly 1 replica; got ${replicas}.`);
    } else if (replicas < 1) {
      add(`${path}.replica_count`, `Replica count must be at least 1; got ${replicas}.`);
    }
    if (pool.containerSpec) {
      if (!pool.containerSpec.imageUri) add(`${path}.container_spec.image_uri`, 'Required field is not set.');
    } else if (pool.pythonPackageSpec) {
      const p = pool.pythonPackageSpec;
      if (!p.executorImageUri) add(`${path}.python_package_spec.executor_image_uri`, 'Required field is not set.');
      if (!p.packageUris?.length) add(`${path}.python_package_spec.package_uris`, 'Required field is not set.');
      if (!p.pythonModule) add(`${path}.python_package_spec.python_module`, 'Required field is not set.');
    } else {
      add(`${path}.task`, 'Set either container_spec or python_package_spec.');
    }
    for (const env of [...(pool.containerSpec?.env ?? []), ...(pool.pythonPackageSpec?.env ?? [])]) {
      if (!env.name) add(`${path}.container_spec.env.name`, 'Environment variable names must not be empty.');
    }
    const machine = pool.machineSpec;
    if (!machine?.machineType) {
      add(`${path}.machine_spec.machine_type`, 'Required field is not set.');
      return;
    }
    const family = MACHINE_FAMILIES.find((f) => f.pattern.test(machine.machineType as string));
    if (!family) {
      add(
        `${path}.machine_spec.machine_type`,
        `Machine type "${machine.machineType}" is not supported for custom training (e.g. n1-standard-4, e2-standard-8, a2-highgpu-1g, g2-standard-8).`,
      );
      return;
    }
    const accel =
      machine.acceleratorType && machine.acceleratorType !== 'ACCELERATOR_TYPE_UNSPECIFIED'
        ? machine.acceleratorType
        : undefined;
    const count = machine.acceleratorCount ?? 0;
    if (!accel) {
      if (count > 0)
        add(`${path}.machine_spec.accelerator_type`, `accelerator_count is ${count} but no accelerator_type is set.`);
      if (family.fixedCount) {
        add(
          `${path}.machine_spec.accelerator_type`,
          `Machine type "${machine.machineType}" requires accelerator_type ${family.accelerators.join(' or ')}.`,
        );
      }
      return;
    }
    if (/^\d+$/.test(accel)) {
      add(`${path}.machine_spec.accelerator_type`, `Unknown accelerator type ${accel}.`);
      return;
    }
    if (!family.accelerators.includes(accel)) {
      add(
        `${path}.machine_spec.accelerator_type`,
        family.accelerators.length === 0
          ? `Machine type "${machine.machineType}" does not support accelerators; use an n1, a2, a3 or g2 machine type for ${accel}.`
          : `Accelerator ${accel} is not supported with machine type "${machine.machineType}"; use ${family.accelerators.join(' or ')}.`,
      );
      return;
    }
    const fixed = family.fixedCount?.(machine.machineType);
    if (count < 1)
      add(
        `${path}.machine_spec.accelerator_count`,
        `accelerator_count must be at least 1 when accelerator_type ${accel} is set.`,
      );
    else if (fixed !== undefined && count !== fixed) {
      add(
        `${path}.machine_spec.accelerator_count`,
        `Machine type "${machine.machineType}" comes with exactly ${fixed} ${accel}; got accelerator_count ${count}.`,
      );
    } else if (machine.machineType.startsWith('n1-') && !N1_GPU_COUNTS.includes(count)) {
      add(
        `${path}.machine_spec.accelerator_count`,
        `accelerator_count for ${accel} must be 1, 2, 4 or 8; got ${count}.`,
      );
    }
  });

  const timeout = durationMs(spec.scheduling?.timeout);
  if (timeout !== undefined && (timeout <= 0 || timeout > MAX_TIMEOUT_SECONDS * 1000)) {
    add(
      'custom_job.job_spec.scheduling.timeout',
      `Timeout must be positive and at most ${MAX_TIMEOUT_SECONDS / 86400} days.`,
    );
  }
  if (spec.baseOutputDirectory?.outputUriPrefix && !spec.baseOutputDirectory.outputUriPrefix.startsWith('gs://')) {
    add('custom_job.job_spec.base_output_directory.output_uri_prefix', 'The output URI prefix must start with gs://.');
  }
  if (
    spec.serviceAccount !== undefined &&
    spec.serviceAccount !== '' &&
    !/^[^@\s]+@[^@\s]+\.gserviceaccount\.com$/.test(spec.serviceAccount)
  ) {
    add('custom_job.job_spec.service_account', `"${spec.serviceAccount}" is not a service account email.`);
  }
  return errors;
}

/** Formats collected problems the way Vertex does. */
export function formatValidationErrors(errors: readonly string[]): string {
  return `List of found errors:\t${errors.map((e, i) => `${i + 1}.${e}`).join('\t')}\t`;
}
