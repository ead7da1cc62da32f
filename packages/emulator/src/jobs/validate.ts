/**
 * CustomJob validation the way Vertex does it: every problem is collected and answered as one
 * INVALID_ARGUMENT whose message lists `Field: <path>; Message: <what is wrong>` entries. The machine types and the
 * limits come from @vertex-launch/core (machine-types.ts, config/vertex-rules.ts, config/labels.ts), where each rule
 * names its source (the v1 protos, google-cloud-aiplatform, the Vertex AI docs); the checks here are written against
 * the request, independently of the queue-config validation that refuses the same requests before they are sent.
 */
import {
  BOOT_DISK_SIZE_GB,
  BOOT_DISK_TYPES,
  checkMachineSpec,
  FLEX_START_ACCELERATORS,
  FLEX_START_MAX_TIMEOUT_SECONDS,
  LABEL_KEY_PATTERN,
  LABEL_VALUE_PATTERN,
  MAX_ENV_VARS,
  MAX_LABELS,
  MAX_PACKAGE_URIS,
  MAX_RUN_TIMEOUT_SECONDS,
  machineFamilyOf,
  NETWORK_PATTERN,
  NO_VPC_PEERING_ACCELERATORS,
  RESERVATION_NAME_PATTERN,
  SYSTEM_LABEL_PREFIX,
} from '@vertex-launch/core/config';
import type { CustomJobInput, ProtoSeconds, WorkerPoolSpecInput } from './types.js';

const MAX_TIMEOUT_SECONDS = MAX_RUN_TIMEOUT_SECONDS;

/** Seconds in a Duration as decoded (`seconds` may be a string). */
export function durationMs(d: ProtoSeconds | undefined): number | undefined {
  if (!d) return undefined;
  return Number(d.seconds ?? 0) * 1000 + Math.floor((d.nanos ?? 0) / 1e6);
}

/** The accelerator of a pool's VMs: the one set, or the one its machine type comes with. */
function acceleratorOf(machine: NonNullable<WorkerPoolSpecInput['machineSpec']>): string | undefined {
  const set = machine.acceleratorType;
  if (set && set !== 'ACCELERATOR_TYPE_UNSPECIFIED') return set;
  const family = machine.machineType ? machineFamilyOf(machine.machineType) : undefined;
  return family?.acceleratorRequired && family.accelerators.length === 1 ? family.accelerators[0] : undefined;
}

/** A pool that is only a placeholder (`{}`): Vertex skips it after the first. */
function isPlaceholder(pool: WorkerPoolSpecInput): boolean {
  return !pool.machineSpec && !pool.containerSpec && !pool.pythonPackageSpec && !pool.replicaCount;
}

/** Returns every problem with `job` as `Field: ...; Message: ...` entries (empty when valid). */
export function validateCustomJob(job: CustomJobInput | undefined): string[] {
  const errors: string[] = [];
  const add = (field: string, message: string) => errors.push(`Field: ${field}; Message: ${message}`);
  if (!job) {
    add('custom_job', 'Required field is not set.');
    return errors;
  }
  // custom_job.proto: "The name can be up to 128 characters long and can consist of any UTF-8 characters."
  if (!job.displayName) add('custom_job.display_name', 'Required field is not set.');
  else if ([...job.displayName].length > 128)
    add('custom_job.display_name', 'The display name must be at most 128 characters long.');

  // custom_job.proto `labels`: lowercase letters, numeric characters, underscores and dashes; international
  // characters allowed (the patterns of core's config/labels.ts).
  const labels = job.labels ?? {};
  const keys = Object.keys(labels);
  if (keys.length > MAX_LABELS)
    add('custom_job.labels', `At most ${MAX_LABELS} labels are allowed; got ${keys.length}.`);
  for (const key of keys) {
    const value = labels[key] ?? '';
    if (key.startsWith(SYSTEM_LABEL_PREFIX)) {
      add(
        `custom_job.labels[${key}]`,
        `Label keys with the prefix "${SYSTEM_LABEL_PREFIX}" are reserved for system labels.`,
      );
    } else if (!LABEL_KEY_PATTERN.test(key)) {
      add(
        `custom_job.labels[${key}]`,
        'Label keys must start with a lowercase letter or an international character, be 1-63 characters long and contain only lowercase letters, international characters, digits, underscores and dashes.',
      );
    }
    if (!LABEL_VALUE_PATTERN.test(value)) {
      add(
        `custom_job.labels[${key}]`,
        `Label value "${value}" is invalid: values must be at most 63 characters of lowercase letters, international characters, digits, underscores and dashes.`,
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
    if (isPlaceholder(pool) && i > 0) return; // custom_job.proto: pools after the first "can be skipped by providing an empty value".
    const replicas = Number(pool.replicaCount ?? 0);
    // The chief (google-cloud-aiplatform worker_spec_utils.py: "Chief spec replica count cannot be greater than 1").
    if (i === 0 && replicas !== 1) {
      add(`${path}.replica_count`, `The first worker pool must have exactly 1 replica; got ${replicas}.`);
    } else if (replicas < 1) {
      add(`${path}.replica_count`, `Replica count must be at least 1; got ${replicas}.`);
    }
    const envs: [string, { name?: string }[] | undefined][] = [];
    if (pool.containerSpec) {
      if (!pool.containerSpec.imageUri) add(`${path}.container_spec.image_uri`, 'Required field is not set.');
      envs.push([`${path}.container_spec.env`, pool.containerSpec.env]);
    } else if (pool.pythonPackageSpec) {
      const p = pool.pythonPackageSpec;
      if (!p.executorImageUri) add(`${path}.python_package_spec.executor_image_uri`, 'Required field is not set.');
      if (!p.packageUris?.length) add(`${path}.python_package_spec.package_uris`, 'Required field is not set.');
      else if (p.packageUris.length > MAX_PACKAGE_URIS) {
        // custom_job.proto: "The maximum number of package URIs is 100."
        add(
          `${path}.python_package_spec.package_uris`,
          `The maximum number of package URIs is ${MAX_PACKAGE_URIS}; got ${p.packageUris.length}.`,
        );
      }
      if (!p.pythonModule) add(`${path}.python_package_spec.python_module`, 'Required field is not set.');
      envs.push([`${path}.python_package_spec.env`, p.env]);
    } else {
      add(`${path}.task`, 'Set either container_spec or python_package_spec.');
    }
    for (const [field, env] of envs) {
      // custom_job.proto ContainerSpec.env / PythonPackageSpec.env: "Maximum limit is 100."
      if ((env?.length ?? 0) > MAX_ENV_VARS) {
        add(field, `The maximum number of environment variables is ${MAX_ENV_VARS}; got ${env?.length}.`);
      }
      if (env?.some((e) => !e.name)) add(`${field}.name`, 'Environment variable names must not be empty.');
    }
    // DiskSpec (machine_resources.proto): the three boot disk types; size [100, 64000] (google-cloud-aiplatform).
    const disk = pool.diskSpec;
    if (disk?.bootDiskType && !(BOOT_DISK_TYPES as readonly string[]).includes(disk.bootDiskType)) {
      add(
        `${path}.disk_spec.boot_disk_type`,
        `Boot disk type "${disk.bootDiskType}" is not supported; use ${BOOT_DISK_TYPES.join(', ')}.`,
      );
    }
    const size = Number(disk?.bootDiskSizeGb ?? 0);
    if (size !== 0 && (size < BOOT_DISK_SIZE_GB.min || size > BOOT_DISK_SIZE_GB.max)) {
      add(
        `${path}.disk_spec.boot_disk_size_gb`,
        `Boot disk size must be between ${BOOT_DISK_SIZE_GB.min} and ${BOOT_DISK_SIZE_GB.max} GB; got ${size}.`,
      );
    }
    // NfsMount.path (machine_resources.proto): "Has to start with '/'".
    (pool.nfsMounts ?? []).forEach((mount, m) => {
      if (!mount.path?.startsWith('/')) {
        add(`${path}.nfs_mounts[${m}].path`, `NFS path "${mount.path ?? ''}" must start with "/".`);
      }
    });
    const machine = pool.machineSpec;
    if (!machine?.machineType) {
      add(`${path}.machine_spec.machine_type`, 'Required field is not set.');
      return;
    }
    const accelerator = machine.acceleratorType;
    if (accelerator && /^\d+$/.test(accelerator)) {
      add(`${path}.machine_spec.accelerator_type`, `Unknown accelerator type ${accelerator}.`);
      return;
    }
    // The machine type list, accelerators, counts, TPU topology and GPU partitions (core machine-types.ts). Vertex
    // refuses a machine type it does not offer for training: core only warns about one (its list may lag).
    for (const problem of checkMachineSpec({
      machine_type: machine.machineType,
      accelerator_type: accelerator,
      accelerator_count: machine.acceleratorCount,
      tpu_topology: machine.tpuTopology,
      gpu_partition_size: machine.gpuPartitionSize,
    })) {
      if (problem.severity === 'error' || problem.code === 'unknown-machine-type') {
        add(`${path}.machine_spec.${problem.field}`, problem.message);
      }
    }
    // ReservationAffinity (reservation_affinity.proto): SPECIFIC_RESERVATION "must be identified via the `key` and
    // `values` fields"; values "must be the full resource name of the reservation".
    const affinity = machine.reservationAffinity;
    if (affinity?.reservationAffinityType === 'SPECIFIC_RESERVATION') {
      const at = `${path}.machine_spec.reservation_affinity`;
      if (!affinity.key) add(`${at}.key`, 'Required field is not set for SPECIFIC_RESERVATION.');
      if (!affinity.values?.length) add(`${at}.values`, 'Required field is not set for SPECIFIC_RESERVATION.');
      for (const value of affinity.values ?? []) {
        if (!RESERVATION_NAME_PATTERN.test(value)) {
          add(
            `${at}.values`,
            `"${value}" is not a reservation resource name: projects/{project}/zones/{zone}/reservations/{reservation}.`,
          );
        }
      }
    }
  });

  const timeout = durationMs(spec.scheduling?.timeout);
  if (timeout !== undefined && (timeout <= 0 || timeout > MAX_TIMEOUT_SECONDS * 1000)) {
    add(
      'custom_job.job_spec.scheduling.timeout',
      `Timeout must be positive and at most ${MAX_TIMEOUT_SECONDS / 86400} days.`,
    );
  }
  // Dynamic Workload Scheduler (https://cloud.google.com/vertex-ai/docs/training/schedule-jobs-dws#requirements):
  // L4, A100, H100, H200 or B200 GPUs, a timeout of 7 days or less, the same machine configuration in every pool.
  if (spec.scheduling?.strategy === 'FLEX_START') {
    if (timeout !== undefined && timeout > FLEX_START_MAX_TIMEOUT_SECONDS * 1000) {
      add('custom_job.job_spec.scheduling.timeout', 'FLEX_START jobs must have a timeout of 7 days or less.');
    }
    const machines = pools.flatMap((pool, i) => (pool.machineSpec ? [{ i, m: pool.machineSpec }] : []));
    const shape = (m: NonNullable<WorkerPoolSpecInput['machineSpec']>) =>
      `${m.machineType}/${m.acceleratorType ?? ''}/${m.acceleratorCount ?? 0}`;
    for (const { i, m } of machines) {
      const accelerator = acceleratorOf(m);
      if (!accelerator || !(FLEX_START_ACCELERATORS as readonly string[]).includes(accelerator)) {
        add(
          `custom_job.job_spec.worker_pool_specs[${i}].machine_spec.accelerator_type`,
          `FLEX_START supports only L4, A100, H100, H200 and B200 GPUs; got ${accelerator ?? 'no accelerator'}.`,
        );
      }
      const first = machines[0];
      if (first && i !== first.i && shape(m) !== shape(first.m)) {
        add(
          `custom_job.job_spec.worker_pool_specs[${i}].machine_spec`,
          'FLEX_START requires the same machine configuration in every worker pool.',
        );
      }
    }
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
  // custom_job.proto `network`: "projects/{project}/global/networks/{network}. Where {project} is a project number".
  if (spec.network) {
    if (!NETWORK_PATTERN.test(spec.network)) {
      add(
        'custom_job.job_spec.network',
        `Network "${spec.network}" must be of the form projects/{project_number}/global/networks/{network}.`,
      );
    }
    // "Vertex AI Training doesn't support VPC Peering with H100-mega, H200 and B200 accelerators"
    // (https://cloud.google.com/vertex-ai/docs/training/using-private-ip).
    const peerless = pools
      .map((pool) => (pool.machineSpec ? acceleratorOf(pool.machineSpec) : undefined))
      .find((a) => a !== undefined && (NO_VPC_PEERING_ACCELERATORS as readonly string[]).includes(a));
    if (peerless) {
      add(
        'custom_job.job_spec.network',
        `VPC Network Peering is not supported with ${peerless}; use psc_interface_config.network_attachment (Private Service Connect interface).`,
      );
    }
  }
  // DnsPeeringConfig.domain (service_networking.proto): "Must end with a dot."
  (spec.pscInterfaceConfig?.dnsPeeringConfigs ?? []).forEach((dns, i) => {
    if (!dns.domain?.endsWith('.')) {
      add(
        `custom_job.job_spec.psc_interface_config.dns_peering_configs[${i}].domain`,
        `DNS peering domain "${dns.domain ?? ''}" must end with a dot.`,
      );
    }
  });
  return errors;
}

/** Formats collected problems the way Vertex does. */
export function formatValidationErrors(errors: readonly string[]): string {
  return `List of found errors:\t${errors.map((e, i) => `${i + 1}.${e}`).join('\t')}\t`;
}
