/**
 * The rules Vertex AI applies to a CreateCustomJob request beyond its field types, checked on a queue config before
 * anything is built or submitted: an error where Vertex refuses the request, a warning where it is legal but almost
 * surely a mistake. Each rule names its source next to it. The emulator's job validation
 * (packages/emulator/src/jobs/validate.ts) refuses the same requests, using the same constants.
 */
import type { ConfigIssue } from '../errors.js';
import {
  checkMachineSpec,
  FLEX_START_ACCELERATORS,
  machineFamilyOf,
  NO_VPC_PEERING_ACCELERATORS,
} from '../machine-types.js';
import { parseDuration } from './durations.js';
import { ACCELERATOR_TYPES, hasPlaceholder } from './schema.js';
import type { PathSegments } from './schema-paths.js';
import { nearestByEditDistance } from './suggest.js';
import { error, isPlainObject, warning } from './util.js';

/** `DiskSpec.boot_disk_type` (machine_resources.proto): "Valid values: "pd-ssd" ..., "pd-standard" ... or "hyperdisk-balanced"". */
export const BOOT_DISK_TYPES = ['pd-ssd', 'pd-standard', 'hyperdisk-balanced'] as const;
/**
 * `boot_disk_size_gb` range: google-cloud-aiplatform `training_jobs.py` / `utils/worker_spec_utils.py` ("boot disk size
 * must be within the range of [100, 64000]").
 */
export const BOOT_DISK_SIZE_GB = { min: 100, max: 64_000 } as const;
/** `ContainerSpec.env`, `PythonPackageSpec.env` (custom_job.proto): "Maximum limit is 100." */
export const MAX_ENV_VARS = 100;
/** `PythonPackageSpec.package_uris` (custom_job.proto): "The maximum number of package URIs is 100." */
export const MAX_PACKAGE_URIS = 100;
/**
 * FLEX_START: "Your custom training job has a maximum timeout of 7 days or less"
 * (https://cloud.google.com/vertex-ai/docs/training/schedule-jobs-dws#requirements).
 */
export const FLEX_START_MAX_TIMEOUT_SECONDS = 7 * 24 * 3600;
/** `ReservationAffinity.key` (reservation_affinity.proto): the key that targets a SPECIFIC_RESERVATION by name. */
export const RESERVATION_NAME_KEY = 'compute.googleapis.com/reservation-name';
/**
 * `ReservationAffinity.values` (reservation_affinity.proto): "must be the full resource name of the reservation",
 * resource pattern `projects/{project_id_or_number}/zones/{zone}/reservations/{reservation_name}`.
 */
export const RESERVATION_NAME_PATTERN = /^projects\/[^/\s]+\/zones\/[^/\s]+\/reservations\/[^/\s]+$/;
/**
 * `CustomJobSpec.network` (custom_job.proto): "of the form `projects/{project}/global/networks/{network}`. Where
 * {project} is a project number, as in `12345`".
 */
export const NETWORK_PATTERN = /^projects\/\d+\/global\/networks\/[^/\s]+$/;

type Issues = ConfigIssue[];
const isFilled = (value: unknown): value is string => typeof value === 'string' && !hasPlaceholder(value);

/** Checks of one worker pool's machine spec (see `checkMachineSpec`), as config issues. */
export function machineSpecIssues(machine: unknown, at: PathSegments): ConfigIssue[] {
  if (!isPlainObject(machine) || typeof machine.machine_type !== 'string') return [];
  const text = (key: string) => (typeof machine[key] === 'string' ? (machine[key] as string) : undefined);
  const accelerator = text('accelerator_type');
  // A value that is no AcceleratorType is the schema's error already (with its allowed values): the accelerator
  // fields are not judged against it.
  const valid =
    accelerator === undefined ||
    hasPlaceholder(accelerator) ||
    (ACCELERATOR_TYPES as readonly string[]).includes(accelerator);
  return checkMachineSpec({
    machine_type: machine.machine_type,
    ...(valid
      ? {
          accelerator_type: accelerator,
          accelerator_count: typeof machine.accelerator_count === 'number' ? machine.accelerator_count : undefined,
          gpu_partition_size: text('gpu_partition_size'),
        }
      : {}),
    tpu_topology: text('tpu_topology'),
  }).map((problem) =>
    (problem.severity === 'error' ? error : warning)([...at, 'machine_spec', problem.field], problem.message),
  );
}

/** The accelerator of a pool's VMs: the one set, or the one its machine type comes with. */
function acceleratorOf(machine: Record<string, unknown>): string | undefined {
  const set = machine.accelerator_type;
  if (typeof set === 'string' && set !== 'ACCELERATOR_TYPE_UNSPECIFIED') return set;
  if (typeof machine.machine_type !== 'string') return undefined;
  const family = machineFamilyOf(machine.machine_type);
  return family?.acceleratorRequired && family.accelerators.length === 1 ? family.accelerators[0] : undefined;
}

function checkDisk(disk: unknown, at: PathSegments, issues: Issues): void {
  if (!isPlainObject(disk)) return;
  const type = disk.boot_disk_type;
  if (isFilled(type) && !(BOOT_DISK_TYPES as readonly string[]).includes(type)) {
    const near = nearestByEditDistance(type.trim().toLowerCase(), BOOT_DISK_TYPES);
    issues.push(
      error(
        [...at, 'disk_spec', 'boot_disk_type'],
        `\`${type.slice(0, 60)}\` is not a boot disk type Vertex takes${near.length > 0 ? ` (did you mean \`${near[0]}\`?)` : ''}; allowed: ${BOOT_DISK_TYPES.join(', ')}`,
      ),
    );
  }
  const size = disk.boot_disk_size_gb;
  if (typeof size === 'number' && (size < BOOT_DISK_SIZE_GB.min || size > BOOT_DISK_SIZE_GB.max)) {
    issues.push(
      error(
        [...at, 'disk_spec', 'boot_disk_size_gb'],
        `must be ${BOOT_DISK_SIZE_GB.min} to ${BOOT_DISK_SIZE_GB.max} (GB), not ${size}`,
      ),
    );
  }
}

function checkReservation(affinity: unknown, at: PathSegments, issues: Issues): void {
  if (!isPlainObject(affinity)) return;
  const where = [...at, 'machine_spec', 'reservation_affinity'];
  const values = Array.isArray(affinity.values) ? affinity.values : undefined;
  if (affinity.reservation_affinity_type !== 'SPECIFIC_RESERVATION') {
    // reservation_affinity.proto: SPECIFIC_RESERVATION is the type whose reservation "must be identified via the
    // `key` and `values` fields"; the other types pick no reservation by name.
    if (affinity.key !== undefined || (values?.length ?? 0) > 0) {
      issues.push(
        warning(
          where,
          `\`key\` and \`values\` only pick a reservation with \`reservation_affinity_type: SPECIFIC_RESERVATION\`; ${String(affinity.reservation_affinity_type)} ignores them`,
        ),
      );
    }
    return;
  }
  // reservation_affinity.proto: "SPECIFIC_RESERVATION ... the reservation must be identified via the `key` and
  // `values` fields"; values "must be the full resource name of the reservation".
  if (typeof affinity.key !== 'string' || affinity.key.trim() === '') {
    issues.push(error([...where, 'key'], `is required with SPECIFIC_RESERVATION: \`key: ${RESERVATION_NAME_KEY}\``));
  } else if (isFilled(affinity.key) && affinity.key !== RESERVATION_NAME_KEY) {
    issues.push(
      warning(
        [...where, 'key'],
        `to pick a reservation by name the key is \`${RESERVATION_NAME_KEY}\` (reservation_affinity.proto), not \`${affinity.key.slice(0, 60)}\``,
      ),
    );
  }
  if (values === undefined || values.length === 0) {
    issues.push(
      error(
        [...where, 'values'],
        'is required with SPECIFIC_RESERVATION: the full resource name of the reservation, `projects/<project>/zones/<zone>/reservations/<name>`',
      ),
    );
    return;
  }
  values.forEach((value, i) => {
    if (isFilled(value) && !RESERVATION_NAME_PATTERN.test(value)) {
      issues.push(
        error(
          [...where, 'values', i],
          `\`${value.slice(0, 80)}\` is not a full reservation name: write \`projects/<project>/zones/<zone>/reservations/${/^[^/\s]+$/.test(value) ? value : '<name>'}\``,
        ),
      );
    }
  });
}

function checkTask(pool: Record<string, unknown>, at: PathSegments, issues: Issues): void {
  for (const task of ['container_spec', 'python_package_spec'] as const) {
    const spec = pool[task];
    if (!isPlainObject(spec)) continue;
    if (Array.isArray(spec.env) && spec.env.length > MAX_ENV_VARS) {
      issues.push(
        error([...at, task, 'env'], `has ${spec.env.length} variables; Vertex takes at most ${MAX_ENV_VARS}`),
      );
    }
    if (Array.isArray(spec.package_uris) && spec.package_uris.length > MAX_PACKAGE_URIS) {
      issues.push(
        error(
          [...at, task, 'package_uris'],
          `has ${spec.package_uris.length} packages; Vertex takes at most ${MAX_PACKAGE_URIS}`,
        ),
      );
    }
  }
}

function checkMounts(pool: Record<string, unknown>, at: PathSegments, issues: Issues): void {
  if (!Array.isArray(pool.nfs_mounts)) return;
  pool.nfs_mounts.forEach((mount, i) => {
    // NfsMount.path (machine_resources.proto): "Has to start with '/'".
    if (isPlainObject(mount) && isFilled(mount.path) && !mount.path.startsWith('/')) {
      issues.push(
        error(
          [...at, 'nfs_mounts', i, 'path'],
          `must start with \`/\` (the path the NFS server exports, as in \`server:/exports/data\`): \`/${mount.path.slice(0, 60)}\`?`,
        ),
      );
    }
  });
}

/** Rules of one non-empty worker pool. */
export function checkPoolRules(pool: Record<string, unknown>, index: number, issues: Issues): void {
  const at = ['spec', 'worker_pool_specs', index];
  // The chief: google-cloud-aiplatform utils/worker_spec_utils.py ("Chief spec replica count cannot be greater than
  // 1."), and "Primary replica: Exactly one replica is designated the primary replica"
  // (https://cloud.google.com/vertex-ai/docs/training/distributed-training).
  if (index === 0 && typeof pool.replica_count === 'number' && pool.replica_count > 1) {
    issues.push(
      error(
        [...at, 'replica_count'],
        `the first pool is the chief and must have exactly 1 replica, not ${pool.replica_count}: put the other ${pool.replica_count - 1} in pool 1 (the workers)`,
      ),
    );
  }
  issues.push(...machineSpecIssues(pool.machine_spec, at));
  if (isPlainObject(pool.machine_spec)) checkReservation(pool.machine_spec.reservation_affinity, at, issues);
  checkDisk(pool.disk_spec, at, issues);
  checkTask(pool, at, issues);
  checkMounts(pool, at, issues);
}

/** The non-empty pools with their index. */
function machinePools(spec: Record<string, unknown>): Array<{ index: number; machine: Record<string, unknown> }> {
  const pools = Array.isArray(spec.worker_pool_specs) ? spec.worker_pool_specs : [];
  const out: Array<{ index: number; machine: Record<string, unknown> }> = [];
  pools.forEach((pool, index) => {
    if (isPlainObject(pool) && isPlainObject(pool.machine_spec)) out.push({ index, machine: pool.machine_spec });
  });
  return out;
}

/**
 * Dynamic Workload Scheduler (https://cloud.google.com/vertex-ai/docs/training/schedule-jobs-dws#requirements):
 * "requests L4, A100, H100, H200, or B200 GPUs", "a maximum timeout of 7 days or less", "uses the same machine
 * configuration for all worker pools".
 */
function checkFlexStart(spec: Record<string, unknown>, run: Record<string, unknown>, issues: Issues): void {
  if (run.scheduling_strategy !== 'FLEX_START') return;
  const timeout = run.timeout === undefined ? undefined : parseDuration(run.timeout);
  if (timeout !== undefined && timeout > FLEX_START_MAX_TIMEOUT_SECONDS) {
    issues.push(
      error(
        ['run', 'timeout'],
        `FLEX_START (Dynamic Workload Scheduler) jobs run at most 7 days (604800 s), not ${timeout} s: lower \`run.timeout\` or use STANDARD`,
      ),
    );
  }
  const pools = machinePools(spec);
  const gpus = FLEX_START_ACCELERATORS.join(', ');
  const pending = (m: Record<string, unknown>) =>
    Object.values(m).some((value) => typeof value === 'string' && hasPlaceholder(value));
  for (const { index, machine } of pools) {
    const accelerator = acceleratorOf(machine);
    // Filled at launch: checked then (an unset accelerator may still come with a machine type filled at launch).
    if (accelerator !== undefined ? hasPlaceholder(accelerator) : pending(machine)) continue;
    if (accelerator === undefined || !(FLEX_START_ACCELERATORS as readonly string[]).includes(accelerator)) {
      issues.push(
        error(
          ['spec', 'worker_pool_specs', index, 'machine_spec', 'accelerator_type'],
          `FLEX_START (Dynamic Workload Scheduler) serves only L4, A100, H100, H200 and B200 GPUs (${gpus}), ${accelerator === undefined ? 'and this pool has none' : `not ${accelerator}`}: pick one, or use STANDARD or SPOT`,
        ),
      );
    }
  }
  const first = pools[0];
  if (first === undefined) return;
  const shape = (m: Record<string, unknown>) =>
    `${String(m.machine_type)} + ${String(m.accelerator_count ?? 0)}x ${String(m.accelerator_type ?? 'no accelerator')}`;
  for (const { index, machine } of pools.slice(1)) {
    if (pending(machine) || pending(first.machine)) continue;
    if (shape(machine) !== shape(first.machine)) {
      issues.push(
        error(
          ['spec', 'worker_pool_specs', index, 'machine_spec'],
          `FLEX_START (Dynamic Workload Scheduler) needs the same machine configuration in every pool: ${shape(machine)} here, ${shape(first.machine)} in pool ${first.index}`,
        ),
      );
    }
  }
}

function checkNetwork(spec: Record<string, unknown>, run: Record<string, unknown>, issues: Issues): void {
  const section = run.network !== undefined ? 'run' : 'spec';
  const network = run.network ?? spec.network;
  if (!isFilled(network)) return;
  const project = /^projects\/([^/\s]+)\/global\/networks\/[^/\s]+$/.exec(network)?.[1];
  if (project !== undefined && !NETWORK_PATTERN.test(network)) {
    issues.push(
      error(
        [section, 'network'],
        `names the project by its id \`${project}\`; Vertex needs its number (custom_job.proto: "{project} is a project number, as in 12345"): gcloud projects describe ${project} --format="value(projectNumber)"`,
      ),
    );
  }
  for (const { index, machine } of machinePools(spec)) {
    const accelerator = acceleratorOf(machine);
    if (accelerator !== undefined && (NO_VPC_PEERING_ACCELERATORS as readonly string[]).includes(accelerator)) {
      issues.push(
        error(
          [section, 'network'],
          `VPC peering is not supported with ${accelerator} (pool ${index}): Vertex AI Training offers H100 Mega, H200 and B200 GPUs only through a Private Service Connect interface — drop \`network\` and set \`psc_interface_config.network_attachment\``,
        ),
      );
      break;
    }
  }
}

function checkPsc(spec: Record<string, unknown>, run: Record<string, unknown>, issues: Issues): void {
  const section = run.psc_interface_config !== undefined ? 'run' : 'spec';
  const psc = run.psc_interface_config ?? spec.psc_interface_config;
  if (!isPlainObject(psc) || !Array.isArray(psc.dns_peering_configs)) return;
  psc.dns_peering_configs.forEach((dns, i) => {
    // DnsPeeringConfig.domain (service_networking.proto): "e.g., "my-internal-domain.corp.". Must end with a dot."
    if (isPlainObject(dns) && isFilled(dns.domain) && !dns.domain.endsWith('.')) {
      issues.push(
        error(
          [section, 'psc_interface_config', 'dns_peering_configs', i, 'domain'],
          `must end with a dot: \`${dns.domain.slice(0, 80)}.\``,
        ),
      );
    }
  });
}

/** Every rule of this module on a (possibly invalid) raw config's `spec` and `run`. */
export function checkVertexRules(spec: Record<string, unknown>, run: Record<string, unknown>, issues: Issues): void {
  checkFlexStart(spec, run, issues);
  checkNetwork(spec, run, issues);
  checkPsc(spec, run, issues);
}
