/**
 * The CustomJob mapping: a pure function from a resolved queue config and a launch context to the
 * `CreateCustomJobRequest` message of `@google-cloud/aiplatform` v1 (camelCase fields, enum names as strings,
 * int64 as strings, Durations as `{seconds, nanos}`). These types describe the message; core never loads the
 * Google libraries. Default values (false, 0, unspecified enums, empty lists) are left out, as proto3 does.
 */
import { type DurationMessage, toDurationMessage } from '../config/durations.js';
import { LAUNCH_ID_LABEL, QUEUE_LABEL, RUN_ID_LABEL, sanitizeLabelValue } from '../config/labels.js';
import type { LaunchContext } from '../config/resolve.js';
import type {
  AcceleratorType,
  RESERVATION_AFFINITY_TYPES,
  ResolvedQueueConfig,
  SCHEDULING_STRATEGIES,
} from '../config/schema.js';

/** google.cloud.aiplatform.v1.EnvVar */
export interface EnvVarMessage {
  name: string;
  value: string;
}

/** google.cloud.aiplatform.v1.ReservationAffinity */
export interface ReservationAffinityMessage {
  reservationAffinityType: (typeof RESERVATION_AFFINITY_TYPES)[number];
  key?: string;
  values?: string[];
}

/** google.cloud.aiplatform.v1.MachineSpec */
export interface MachineSpecMessage {
  machineType: string;
  acceleratorType?: AcceleratorType;
  /** int32 */
  acceleratorCount?: number;
  gpuPartitionSize?: string;
  tpuTopology?: string;
  reservationAffinity?: ReservationAffinityMessage;
}

/** google.cloud.aiplatform.v1.ContainerSpec */
export interface ContainerSpecMessage {
  imageUri: string;
  command?: string[];
  args?: string[];
  env?: EnvVarMessage[];
}

/** google.cloud.aiplatform.v1.PythonPackageSpec */
export interface PythonPackageSpecMessage {
  executorImageUri: string;
  packageUris: string[];
  pythonModule: string;
  args?: string[];
  env?: EnvVarMessage[];
}

/** google.cloud.aiplatform.v1.DiskSpec */
export interface DiskSpecMessage {
  bootDiskType?: string;
  /** int32 */
  bootDiskSizeGb?: number;
}

/** google.cloud.aiplatform.v1.NfsMount */
export interface NfsMountMessage {
  server: string;
  path: string;
  mountPoint: string;
}

/** google.cloud.aiplatform.v1.LustreMount */
export interface LustreMountMessage {
  instanceIp: string;
  volumeHandle: string;
  filesystem: string;
  mountPoint: string;
}

/** google.cloud.aiplatform.v1.WorkerPoolSpec; `{}` is a placeholder pool that Vertex skips. */
export interface WorkerPoolSpecMessage {
  machineSpec?: MachineSpecMessage;
  /** int64, as a decimal string. */
  replicaCount?: string;
  containerSpec?: ContainerSpecMessage;
  pythonPackageSpec?: PythonPackageSpecMessage;
  diskSpec?: DiskSpecMessage;
  nfsMounts?: NfsMountMessage[];
  lustreMounts?: LustreMountMessage[];
}

/** google.cloud.aiplatform.v1.Scheduling */
export interface SchedulingMessage {
  timeout?: DurationMessage;
  restartJobOnWorkerRestart?: boolean;
  strategy?: (typeof SCHEDULING_STRATEGIES)[number];
  disableRetries?: boolean;
  maxWaitDuration?: DurationMessage;
}

/** google.cloud.aiplatform.v1.PscInterfaceConfig */
export interface PscInterfaceConfigMessage {
  networkAttachment?: string;
  dnsPeeringConfigs?: Array<{ domain: string; targetProject: string; targetNetwork: string }>;
}

/** google.cloud.aiplatform.v1.CustomJobSpec */
export interface CustomJobSpecMessage {
  persistentResourceId?: string;
  workerPoolSpecs: WorkerPoolSpecMessage[];
  scheduling?: SchedulingMessage;
  serviceAccount?: string;
  network?: string;
  reservedIpRanges?: string[];
  pscInterfaceConfig?: PscInterfaceConfigMessage;
  baseOutputDirectory: { outputUriPrefix: string };
  protectedArtifactLocationId?: string;
  tensorboard?: string;
  enableWebAccess?: boolean;
  enableDashboardAccess?: boolean;
  experiment?: string;
  experimentRun?: string;
  models?: string[];
}

/** google.cloud.aiplatform.v1.CustomJob (the fields a create request sets). */
export interface CustomJobMessage {
  displayName: string;
  jobSpec: CustomJobSpecMessage;
  labels: Record<string, string>;
  encryptionSpec?: { kmsKeyName: string };
}

/** google.cloud.aiplatform.v1.CreateCustomJobRequest, as `JobServiceClient.createCustomJob` takes it. */
export interface CreateCustomJobRequest {
  /** `projects/<project>/locations/<region>` */
  parent: string;
  customJob: CustomJobMessage;
}

/** Longest display name Vertex accepts. */
export const MAX_DISPLAY_NAME_LENGTH = 128;

type Pool = ResolvedQueueConfig['spec']['worker_pool_specs'][number];
type Env = NonNullable<NonNullable<Pool['container_spec']>['env']>;

/** Copy the entries whose value is not undefined / empty (proto3 leaves default values out). */
function compact<T extends object>(value: T): T {
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (item === undefined || item === '' || item === false) continue;
    if (Array.isArray(item) && item.length === 0) continue;
    out[key] = item;
  }
  return out as T;
}

const mapEnv = (env: Env | undefined): EnvVarMessage[] | undefined => env?.map(({ name, value }) => ({ name, value }));

function mapPool(pool: Pool): WorkerPoolSpecMessage {
  if (Object.keys(pool).length === 0) return {};
  const machine = pool.machine_spec;
  const hasAccelerator =
    machine?.accelerator_type !== undefined && machine.accelerator_type !== 'ACCELERATOR_TYPE_UNSPECIFIED';
  const affinity = machine?.reservation_affinity;
  return compact<WorkerPoolSpecMessage>({
    machineSpec:
      machine &&
      compact<MachineSpecMessage>({
        machineType: machine.machine_type,
        acceleratorType: hasAccelerator ? machine.accelerator_type : undefined,
        acceleratorCount: hasAccelerator && machine.accelerator_count ? machine.accelerator_count : undefined,
        gpuPartitionSize: machine.gpu_partition_size,
        tpuTopology: machine.tpu_topology,
        reservationAffinity:
          affinity &&
          compact<ReservationAffinityMessage>({
            reservationAffinityType: affinity.reservation_affinity_type,
            key: affinity.key,
            values: affinity.values,
          }),
      }),
    replicaCount: String(pool.replica_count ?? 1),
    containerSpec:
      pool.container_spec &&
      compact<ContainerSpecMessage>({
        imageUri: pool.container_spec.image_uri,
        command: pool.container_spec.command,
        args: pool.container_spec.args,
        env: mapEnv(pool.container_spec.env),
      }),
    pythonPackageSpec:
      pool.python_package_spec &&
      compact<PythonPackageSpecMessage>({
        executorImageUri: pool.python_package_spec.executor_image_uri,
        packageUris: pool.python_package_spec.package_uris,
        pythonModule: pool.python_package_spec.python_module,
        args: pool.python_package_spec.args,
        env: mapEnv(pool.python_package_spec.env),
      }),
    diskSpec:
      pool.disk_spec &&
      compact<DiskSpecMessage>({
        bootDiskType: pool.disk_spec.boot_disk_type,
        bootDiskSizeGb: pool.disk_spec.boot_disk_size_gb,
      }),
    nfsMounts: pool.nfs_mounts?.map((m) => ({ server: m.server, path: m.path, mountPoint: m.mount_point })),
    lustreMounts: pool.lustre_mounts?.map((m) => ({
      instanceIp: m.instance_ip,
      volumeHandle: m.volume_handle,
      filesystem: m.filesystem,
      mountPoint: m.mount_point,
    })),
  });
}

const contextName = (context: LaunchContext, id: string) =>
  `projects/${context.project}/locations/${context.region}/metadataStores/default/contexts/${id}`;

/** Experiment and run as Vertex ML Metadata Context names (a bare run name maps to `<experiment>-<run>`). */
function experimentNames(
  experiment: string | undefined,
  run: string | undefined,
  context: LaunchContext,
): { experiment?: string; experimentRun?: string } {
  if (experiment === undefined) return {};
  const experimentName = experiment.startsWith('projects/') ? experiment : contextName(context, experiment);
  if (run === undefined) return { experiment: experimentName };
  const experimentId = experimentName.slice(experimentName.lastIndexOf('/') + 1);
  return {
    experiment: experimentName,
    experimentRun: run.startsWith('projects/') ? run : contextName(context, `${experimentId}-${run}`),
  };
}

/**
 * The labels of the job: the user's as written (validation refuses one Vertex would not take) plus
 * `vertex-launch-run-id`, `-launch-id` and `-queue` (sanitised to the label rules).
 */
export function jobLabels(config: ResolvedQueueConfig, context: LaunchContext): Record<string, string> {
  const labels: Record<string, string> = { ...config.spec.labels };
  labels[RUN_ID_LABEL] = sanitizeLabelValue(context.runId);
  labels[LAUNCH_ID_LABEL] = sanitizeLabelValue(context.launchId);
  if (context.queueName !== undefined) labels[QUEUE_LABEL] = sanitizeLabelValue(context.queueName);
  return labels;
}

/**
 * The default display name: `<queue or vertex-launch>-<run id>`, at most 128 characters. custom_job.proto:
 * "The name can be up to 128 characters long and can consist of any UTF-8 characters" — counted in code points, so
 * the cut never leaves half a surrogate pair.
 */
export function defaultDisplayName(context: LaunchContext): string {
  return [...`${context.queueName ?? 'vertex-launch'}-${context.runId}`].slice(0, MAX_DISPLAY_NAME_LENGTH).join('');
}

/**
 * Map a resolved queue config to the `CreateCustomJobRequest` for `JobServiceClient.createCustomJob`.
 * Keys set in both `spec` and `run` take the `run` value (validation guarantees they are equal).
 */
export function toCreateCustomJobRequest(config: ResolvedQueueConfig, context: LaunchContext): CreateCustomJobRequest {
  const { spec } = config;
  const run = config.run ?? {};
  const scheduling = compact<SchedulingMessage>({
    timeout: run.timeout !== undefined ? toDurationMessage(run.timeout) : undefined,
    restartJobOnWorkerRestart: run.restart_job_on_worker_restart,
    strategy: run.scheduling_strategy,
    disableRetries: run.disable_retries,
    maxWaitDuration: run.max_wait_duration !== undefined ? toDurationMessage(run.max_wait_duration) : undefined,
  });
  const psc = run.psc_interface_config ?? spec.psc_interface_config;
  const jobSpec = compact<CustomJobSpecMessage>({
    persistentResourceId: run.persistent_resource_id ?? spec.persistent_resource_id,
    workerPoolSpecs: spec.worker_pool_specs.map(mapPool),
    scheduling: Object.keys(scheduling).length > 0 ? scheduling : undefined,
    serviceAccount: run.service_account ?? spec.service_account,
    network: run.network ?? spec.network,
    reservedIpRanges: spec.reserved_ip_ranges,
    pscInterfaceConfig:
      psc &&
      compact<PscInterfaceConfigMessage>({
        networkAttachment: psc.network_attachment,
        dnsPeeringConfigs: psc.dns_peering_configs?.map((d) => ({
          domain: d.domain,
          targetProject: d.target_project,
          targetNetwork: d.target_network,
        })),
      }),
    baseOutputDirectory: {
      outputUriPrefix: spec.base_output_dir ?? `${spec.staging_bucket}/vertex-launch/${context.runId}`,
    },
    protectedArtifactLocationId: spec.protected_artifact_location_id,
    tensorboard: run.tensorboard ?? spec.tensorboard,
    enableWebAccess: run.enable_web_access ?? spec.enable_web_access,
    enableDashboardAccess: spec.enable_dashboard_access,
    ...experimentNames(run.experiment ?? spec.experiment, run.experiment_run ?? spec.experiment_run, context),
    models: spec.models,
  });
  const customJob: CustomJobMessage = {
    displayName: spec.display_name ?? defaultDisplayName(context),
    jobSpec,
    labels: jobLabels(config, context),
  };
  if (spec.encryption_spec_key_name !== undefined) {
    customJob.encryptionSpec = { kmsKeyName: spec.encryption_spec_key_name };
  }
  return { parent: `projects/${context.project}/locations/${context.region}`, customJob };
}
