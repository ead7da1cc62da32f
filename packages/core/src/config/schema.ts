/**
 * The queue config: the zod schema (every key described), its input and resolved types, and the seed default.
 *
 * A queue config has two snake_case sections mirroring Google's Python SDK (`google.cloud.aiplatform.CustomJob`):
 * `spec` holds the `CustomJob(...)` constructor arguments (plus the CustomJobSpec fields the constructor does not
 * take), `run` the `CustomJob.run()` / `submit()` arguments. Beside them, `template_variables` declares typed
 * `{{name}}` variables and `allowed_overrides` limits what a launch may override.
 */
import { z } from 'zod';
import { imageReferenceProblem } from '../image-ref.js';
import {
  DURATION_FORMS,
  DURATION_PATTERN,
  durationOutOfRange,
  formatSeconds,
  MAX_CREATE_REQUEST_TIMEOUT_SECONDS,
  MAX_RUN_TIMEOUT_SECONDS,
  MAX_WAIT_DURATION_SECONDS,
  parseDuration,
} from './durations.js';

/** True when a string still holds a `${macro}` or `{{variable}}` to be filled at launch (format checks wait). */
export function hasPlaceholder(value: string): boolean {
  return value.includes('${') || value.includes('{{');
}

/** Every `AcceleratorType` of the aiplatform v1 protos (`accelerator_type.proto`), in proto order. */
export const ACCELERATOR_TYPES = [
  'ACCELERATOR_TYPE_UNSPECIFIED',
  'NVIDIA_TESLA_K80',
  'NVIDIA_TESLA_P100',
  'NVIDIA_TESLA_V100',
  'NVIDIA_TESLA_P4',
  'NVIDIA_TESLA_T4',
  'NVIDIA_TESLA_A100',
  'NVIDIA_A100_80GB',
  'NVIDIA_L4',
  'NVIDIA_H100_80GB',
  'NVIDIA_H100_MEGA_80GB',
  'NVIDIA_H200_141GB',
  'NVIDIA_B200',
  'NVIDIA_GB200',
  'NVIDIA_RTX_PRO_6000',
  'TPU_V2',
  'TPU_V3',
  'TPU_V4_POD',
  'TPU_V5_LITEPOD',
] as const;

/** An accelerator type name. */
export type AcceleratorType = (typeof ACCELERATOR_TYPES)[number];

/** Accelerator types the protos mark deprecated (accepted, with a warning). */
export const DEPRECATED_ACCELERATOR_TYPES: readonly AcceleratorType[] = ['NVIDIA_TESLA_K80'];

/** `Scheduling.Strategy` values a queue config may use (the deprecated ON_DEMAND / LOW_COST are left out). */
export const SCHEDULING_STRATEGIES = ['STANDARD', 'SPOT', 'FLEX_START'] as const;

/** `ReservationAffinity.Type` values. */
export const RESERVATION_AFFINITY_TYPES = ['NO_RESERVATION', 'ANY_RESERVATION', 'SPECIFIC_RESERVATION'] as const;

/** Template variable types. */
export const TEMPLATE_VARIABLE_TYPES = ['integer', 'number', 'string'] as const;

/** Keys that exist in both `spec` and `run`; when both are set they must be equal. */
export const SHARED_SPEC_RUN_KEYS = [
  'service_account',
  'network',
  'tensorboard',
  'enable_web_access',
  'persistent_resource_id',
  'experiment',
  'experiment_run',
  'psc_interface_config',
] as const;

/** `<REQUIRED>`, `<your-bucket>`: a marker in a template that the user has to replace. */
export function isFillInMarker(value: string): boolean {
  return /^<[^<>]*>$/.test(value.trim());
}

/** `gs://bucket`, `bucket` or `gs://bucket/prefix`. */
export const STAGING_BUCKET_PATTERN = /^(?:gs:\/\/)?[a-z0-9][a-z0-9._-]{1,220}[a-z0-9](?:\/\S*)?$/;

/** `my-bucket/` -> `gs://my-bucket`; `gs://b/prefix/` -> `gs://b/prefix`. */
export function normalizeBucket(value: string): string {
  return `gs://${value
    .trim()
    .replace(/^gs:\/\//, '')
    .replace(/\/+$/, '')}`;
}

const nonEmpty = () => z.string().trim().min(1, { error: 'must not be empty' });

/** A string that must match `pattern` once its macros and variables are filled. */
const formatted = (pattern: RegExp, expected: string) =>
  z.string().refine((value) => hasPlaceholder(value) || pattern.test(value), { error: `must be ${expected}` });

/** A duration, resolved to seconds; at most `max` seconds. */
const duration = (what: string, max: number) =>
  z
    .union(
      [
        z.number().nonnegative({ error: `must be a duration: ${DURATION_FORMS}` }),
        z
          .string()
          .trim()
          .regex(DURATION_PATTERN, { error: `must be a duration: ${DURATION_FORMS}` }),
      ],
      { error: `must be a duration: ${DURATION_FORMS}` },
    )
    .superRefine((value, ctx) => {
      const seconds = parseDuration(value) ?? 0;
      if (seconds > max) ctx.addIssue({ code: 'custom', message: durationOutOfRange(value, 0, max) });
    })
    .transform((value) => parseDuration(value) ?? 0)
    .describe(`${what} Accepts ${DURATION_FORMS}, at most ${formatSeconds(max)}.`);

/** An image reference (OCI distribution grammar) once its macros are filled. */
const imageReference = (what: string) =>
  nonEmpty()
    .superRefine((value, ctx) => {
      const problem = hasPlaceholder(value) ? undefined : imageReferenceProblem(value);
      if (problem) ctx.addIssue({ code: 'custom', message: `not an image reference: ${problem}` });
    })
    .describe(what);

const stringList = (what: string) => z.array(nonEmpty()).describe(what);

const envVar = z
  .strictObject({
    name: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'must be an environment variable name ([A-Za-z_][A-Za-z0-9_]*)' })
      .describe('Name of the environment variable.'),
    value: z
      .union([z.string(), z.number(), z.boolean()])
      .transform((v) => String(v))
      .describe(
        'Value of the environment variable. `${macros}` are filled at launch; numbers and booleans (`EPOCHS: 3`, or a typed `{{variable}}`) become strings.',
      ),
  })
  .describe('One environment variable, `{name, value}` (EnvVar).');

/** Command-line arguments; numbers and booleans (a typed `{{variable}}` such as `"{{epochs}}"`) become strings. */
const argList = (what: string) =>
  z
    .array(z.union([z.string(), z.number(), z.boolean()]).transform((v) => String(v)))
    .describe(`${what} Numbers and booleans (\`3\`, or a typed \`{{variable}}\`) become strings.`);

const envList = z
  .array(envVar)
  .describe('Environment variables for the container, as a list of `{name, value}` (not a map); at most 100.');

const reservationAffinity = z
  .strictObject({
    reservation_affinity_type: z
      .enum(RESERVATION_AFFINITY_TYPES)
      .describe('Which reservations the VMs may consume: NO_RESERVATION, ANY_RESERVATION or SPECIFIC_RESERVATION.'),
    key: z
      .string()
      .optional()
      .describe(
        'Label key of the reservation to consume. Required with SPECIFIC_RESERVATION: `compute.googleapis.com/reservation-name` to pick a reservation by name.',
      ),
    values: stringList(
      'Label values of the reservation. Required with SPECIFIC_RESERVATION: the full resource name of each reservation, `projects/<project>/zones/<zone>/reservations/<name>`.',
    ).optional(),
  })
  .describe('Consume Compute Engine reservations (ReservationAffinity).');

const machineSpec = z
  .strictObject({
    machine_type: nonEmpty().describe(
      'Machine type of each VM, one custom training lists (https://cloud.google.com/vertex-ai/docs/training/configure-compute#machine-types), e.g. `n1-standard-4`, `a2-highgpu-1g`, `g2-standard-8`, `ct5lp-hightpu-4t`.',
    ),
    accelerator_type: z
      .enum(ACCELERATOR_TYPES)
      .optional()
      .describe(
        'Accelerator of each VM (AcceleratorType enum name): one the machine type takes (N1: T4, V100, P100, P4; A2, A3, A4, A4X, G2 and G4 have theirs built in). Default: none.',
      ),
    accelerator_count: z
      .int()
      .nonnegative()
      .optional()
      .describe(
        'Number of accelerators per VM. Required (> 0) when `accelerator_type` is set; machine types with GPUs built in need their own count (`a2-highgpu-2g`: 2).',
      ),
    gpu_partition_size: z
      .string()
      .optional()
      .describe('NVIDIA GPU partition (MIG) size, e.g. `1g.10gb`; needs `accelerator_count: 1`.'),
    tpu_topology: z
      .string()
      .optional()
      .describe(
        'TPU topology, e.g. `2x2` or `2x2x1`; only for TPU machine types, and required with TPU v5e, v5p and v6e (`ct5lp-*`, `ct5p-*`, `ct6e-*`), which take no accelerator fields.',
      ),
    reservation_affinity: reservationAffinity.optional(),
  })
  .describe('The VM of each replica (MachineSpec).');

const containerSpec = z
  .strictObject({
    image_uri: imageReference('Container image to run; usually `${image_uri}`, the image built or given at launch.'),
    command: stringList('Entrypoint override (the container ENTRYPOINT).').optional(),
    args: argList('Arguments passed to the command (the container CMD).').optional(),
    env: envList.optional(),
  })
  .describe('Run a custom container (ContainerSpec). Set this or `python_package_spec`.');

const pythonPackageSpec = z
  .strictObject({
    executor_image_uri: imageReference('Prebuilt training container that runs the package.'),
    package_uris: z
      .array(formatted(/^gs:\/\/.+/, 'a `gs://` URI'))
      .min(1, { error: 'must list at least one package (`gs://bucket/trainer-0.1.tar.gz`)' })
      .describe('Cloud Storage URIs of the Python source distributions to install (at most 100).'),
    python_module: nonEmpty().describe('Module to run after installing the packages, e.g. `trainer.task`.'),
    args: argList('Command-line arguments for the module.').optional(),
    env: envList.optional(),
  })
  .describe('Run a Python training package in a prebuilt container (PythonPackageSpec). Set this or `container_spec`.');

const diskSpec = z
  .strictObject({
    boot_disk_type: nonEmpty()
      .optional()
      .describe(
        'Boot disk type: `pd-ssd` (default; `hyperdisk-balanced` on A3 Ultra), `pd-standard` or `hyperdisk-balanced`.',
      ),
    boot_disk_size_gb: z.int().positive().optional().describe('Boot disk size in GB, 100 to 64000 (default 100).'),
  })
  .describe('Boot disk of each VM (DiskSpec).');

const nfsMount = z
  .strictObject({
    server: nonEmpty().describe('IP address or host name of the NFS server.'),
    path: nonEmpty().describe('Source path exported by the NFS server; must start with `/`.'),
    mount_point: nonEmpty().describe('Mount directory name: the share appears at `/mnt/nfs/<mount_point>`.'),
  })
  .describe('One NFS share to mount (NfsMount).');

const lustreMount = z
  .strictObject({
    instance_ip: nonEmpty().describe('IP address of the Lustre instance.'),
    volume_handle: nonEmpty().describe('Unique identifier of the Lustre volume.'),
    filesystem: nonEmpty().describe('Name of the Lustre filesystem.'),
    mount_point: nonEmpty().describe('Mount directory name: the volume appears at `/mnt/lustre/<mount_point>`.'),
  })
  .describe('One Managed Lustre volume to mount (LustreMount).');

/** One worker pool; `{}` is a placeholder that Vertex skips (allowed after the first pool). */
const workerPoolSpec = z
  .strictObject({
    machine_spec: machineSpec.optional(),
    replica_count: z
      .int()
      .positive()
      .optional()
      .describe('Number of VMs in this pool. Default 1. The first pool (the chief) must have exactly 1.'),
    container_spec: containerSpec.optional(),
    python_package_spec: pythonPackageSpec.optional(),
    disk_spec: diskSpec.optional(),
    nfs_mounts: z.array(nfsMount).optional().describe('NFS shares to mount on every VM of the pool.'),
    lustre_mounts: z.array(lustreMount).optional().describe('Managed Lustre volumes to mount on every VM of the pool.'),
  })
  .describe(
    'A worker pool (WorkerPoolSpec): pool 0 is the chief, 1 the workers, 2 the parameter or reduction servers, 3 the evaluators. ' +
      'Needs `machine_spec` and `container_spec` or `python_package_spec`; pools after the first may be `{}` placeholders.',
  );

const dnsPeeringConfig = z
  .strictObject({
    domain: nonEmpty().describe('DNS domain suffix to forward, ending with a dot, e.g. `corp.example.com.`.'),
    target_project: nonEmpty().describe('Project that hosts the target network.'),
    target_network: nonEmpty().describe('VPC network name in `target_project`.'),
  })
  .describe('Forward one DNS domain to a VPC network (DnsPeeringConfig).');

const pscInterfaceConfig = z
  .strictObject({
    network_attachment: z
      .string()
      .optional()
      .describe(
        'Network attachment, `projects/<p>/regions/<r>/networkAttachments/<name>` or its name. The private connection for H100 Mega, H200 and B200 GPUs, which VPC peering (`network`) does not serve.',
      ),
    dns_peering_configs: z.array(dnsPeeringConfig).optional().describe('DNS peering for private domains.'),
  })
  .describe('Private Service Connect interface for the job (PscInterfaceConfig).');

const serviceAccount = () =>
  formatted(/^[^@\s]+@[^@\s]+$/, 'a service account email (`name@project.iam.gserviceaccount.com`)').describe(
    'Service account the job runs as. The launcher needs `iam.serviceAccounts.actAs` on it. Default: the Vertex AI Custom Code Service Agent.',
  );
const network = () =>
  formatted(
    /^projects\/[^/]+\/global\/networks\/[^/]+$/,
    'a full network name `projects/<project-number>/global/networks/<network>`',
  ).describe(
    'VPC network to peer the job with: `projects/<project-number>/global/networks/<network>` (the project number, not its id). Not with H100 Mega, H200 or B200 GPUs: use `psc_interface_config` there.',
  );
const tensorboard = () =>
  formatted(
    /^projects\/[^/]+\/locations\/[^/]+\/tensorboards\/[^/]+$/,
    'a Tensorboard resource name `projects/<p>/locations/<region>/tensorboards/<id>`',
  ).describe(
    'Vertex AI TensorBoard instance to upload logs to (`projects/<p>/locations/<region>/tensorboards/<id>`); needs `service_account` and `base_output_dir`.',
  );
const enableWebAccess = () =>
  z.boolean().describe('Allow an interactive shell into the training containers (Vertex "web access").');
const persistentResourceId = () =>
  formatted(/^[^/\s]+$/, 'a persistent resource ID (the last part of its name, not the full resource name)').describe(
    'Run on this existing persistent resource (its ID in the launch region) instead of on-demand VMs.',
  );
const experiment = () =>
  nonEmpty().describe(
    'Vertex AI Experiment to associate: its name, or the full Context name `projects/<p>/locations/<r>/metadataStores/default/contexts/<name>`.',
  );
const experimentRun = () =>
  nonEmpty().describe(
    'Experiment run to associate (needs `experiment`): its name, or the full Context name. A name maps to the context `<experiment>-<run>`.',
  );

/** `spec`: the `CustomJob(...)` constructor arguments plus the other CustomJobSpec fields. */
export const specSchema = z
  .strictObject({
    display_name: z
      .string()
      .min(1, { error: 'must not be empty' })
      // custom_job.proto: "up to 128 characters long and can consist of any UTF-8 characters" (code points).
      .refine((value) => [...value].length <= 128, { error: 'must be at most 128 characters' })
      .optional()
      .describe('Display name of the job (at most 128 characters). Default: `<queue name or vertex-launch>-<run id>`.'),
    worker_pool_specs: z
      .array(workerPoolSpec)
      .min(1, { error: 'must list at least one worker pool' })
      .max(4, { error: 'must have at most 4 worker pools (chief, workers, servers, evaluators)' })
      .describe('Worker pools of the job, in Vertex order: chief, workers, parameter/reduction servers, evaluators.'),
    staging_bucket: z
      .string()
      .refine((value) => hasPlaceholder(value) || isFillInMarker(value) || STAGING_BUCKET_PATTERN.test(value.trim()), {
        error:
          'must be a Cloud Storage bucket: `gs://my-bucket` or `my-bucket` (lowercase letters, digits, `-`, `_`, `.`)',
      })
      .transform((value) => (hasPlaceholder(value) || isFillInMarker(value) ? value : normalizeBucket(value)))
      .describe(
        'Cloud Storage bucket for job outputs and staged code: `gs://my-bucket`, `my-bucket` or `gs://my-bucket/prefix`. Required.',
      ),
    base_output_dir: formatted(/^gs:\/\/[^/]+(\/.*)?$/, 'a `gs://` URI')
      .optional()
      .describe(
        'Cloud Storage folder for the job outputs (AIP_MODEL_DIR, checkpoints, logs). Default: `gs://<bucket>/vertex-launch/<run_id>` under `staging_bucket`.',
      ),
    labels: z
      .record(z.string(), z.string())
      .optional()
      .describe(
        'Labels of the job, sent as written: lowercase letters (international ones too), digits, `_` and `-`, at most 63 characters, keys start with a letter; at most 61 labels. ' +
          '`vertex-launch-run-id`, `vertex-launch-launch-id` and `vertex-launch-queue` are added.',
      ),
    encryption_spec_key_name: formatted(
      /^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/,
      'a Cloud KMS key name `projects/<p>/locations/<l>/keyRings/<ring>/cryptoKeys/<key>`',
    )
      .optional()
      .describe(
        'Customer-managed encryption key (CMEK) for the job: `projects/<p>/locations/<l>/keyRings/<ring>/cryptoKeys/<key>`.',
      ),
    service_account: serviceAccount().optional(),
    persistent_resource_id: persistentResourceId().optional(),
    network: network().optional(),
    reserved_ip_ranges: stringList('Names of reserved IP ranges in `network` to deploy the job into.').optional(),
    psc_interface_config: pscInterfaceConfig.optional(),
    enable_web_access: enableWebAccess().optional(),
    enable_dashboard_access: z
      .boolean()
      .optional()
      .describe('Allow access to dashboards served by the training containers (e.g. a Ray dashboard).'),
    tensorboard: tensorboard().optional(),
    experiment: experiment().optional(),
    experiment_run: experimentRun().optional(),
    models: stringList(
      'Model resource names (`projects/<p>/locations/<r>/models/<id>[@version]`) the job may download via the Vertex model API.',
    ).optional(),
    protected_artifact_location_id: z
      .string()
      .optional()
      .describe('Region where the job keeps protected artifacts (e.g. `us-central1`); default: the job region.'),
  })
  .describe('Arguments of `aiplatform.CustomJob(...)`: what to run and where (snake_case, as in the Python SDK).');

/** `run`: the `CustomJob.run()` / `submit()` arguments. */
export const runSchema = z
  .strictObject({
    service_account: serviceAccount().optional(),
    network: network().optional(),
    timeout: duration(
      'Maximum run time of the job; Vertex cancels it after that (Scheduling.timeout). Default: 7 days, which is also the most FLEX_START allows.',
      MAX_RUN_TIMEOUT_SECONDS,
    ).optional(),
    restart_job_on_worker_restart: z
      .boolean()
      .optional()
      .describe('Restart the whole job when one worker restarts (for distributed training that cannot tolerate it).'),
    enable_web_access: enableWebAccess().optional(),
    tensorboard: tensorboard().optional(),
    experiment: experiment().optional(),
    experiment_run: experimentRun().optional(),
    create_request_timeout: duration(
      'Deadline of each CreateCustomJob call (the Python SDK passes it as the `timeout` of `create_custom_job`). Default: 60 seconds.',
      MAX_CREATE_REQUEST_TIMEOUT_SECONDS,
    ).optional(),
    disable_retries: z
      .boolean()
      .optional()
      .describe('Fail the job on the first error instead of letting Vertex retry it (Scheduling.disable_retries).'),
    persistent_resource_id: persistentResourceId().optional(),
    scheduling_strategy: z
      .enum(SCHEDULING_STRATEGIES)
      .optional()
      .describe(
        'How VMs are obtained: STANDARD (on demand), SPOT (preemptible, cheaper) or FLEX_START (Dynamic Workload Scheduler: L4, A100, H100, H200 or B200 GPUs, the same machine in every pool, `timeout` at most 7 days).',
      ),
    max_wait_duration: duration(
      'How long a FLEX_START job may wait for resources before it fails (Scheduling.max_wait_duration); 0 means no limit.',
      MAX_WAIT_DURATION_SECONDS,
    ).optional(),
    psc_interface_config: pscInterfaceConfig.optional(),
  })
  .describe('Arguments of `CustomJob.run()` / `submit()`: how to run it (snake_case, as in the Python SDK).');

/** Failure classes `retry.on` accepts: the ones a resubmission can cure. */
export const RETRYABLE_FAILURE_CLASSES = ['preempted', 'stockout', 'quota', 'flex_wait_expired', 'timeout'] as const;

/** Failure classes that move a launch to the next `fallback` alternative. */
export const FALLBACK_FAILURE_CLASSES = ['stockout', 'quota', 'flex_wait_expired'] as const;

/** The most alternatives `fallback` may list. */
export const MAX_FALLBACK_RUNGS = 10;

/** The most attempts `retry.max_attempts` allows. */
export const MAX_RETRY_ATTEMPTS = 20;

/** `retry`: resubmit a launch whose job ended for a reason a new attempt can cure. */
export const retrySchema = z
  .strictObject({
    on: z
      .array(z.enum(RETRYABLE_FAILURE_CLASSES))
      .min(1, { error: 'must list at least one failure class' })
      .optional()
      .describe(
        `Failure classes that resubmit the launch: any of ${RETRYABLE_FAILURE_CLASSES.join(', ')}. Default: [preempted, stockout].`,
      ),
    max_attempts: z
      .int()
      .min(1, { error: 'must be at least 1 (1: never resubmit)' })
      .max(MAX_RETRY_ATTEMPTS, { error: `must be at most ${MAX_RETRY_ATTEMPTS}` })
      .optional()
      .describe(
        'Jobs a launch may make in all for the failure classes in `on`, the first included (3: the first job and two resubmissions). Moves down the `fallback` list do not count. Default: 3.',
      ),
    backoff: duration(
      'Wait before the first resubmission, doubled for each next one (at most 10 minutes). Default: 30s.',
      600,
    ).optional(),
  })
  .describe(
    'Resubmit a launch whose job ended `preempted` or `stockout` (or another class in `on`) as a new attempt of the same launch, with its history kept.',
  );

/** One `fallback` alternative: what it changes in the queue config. */
export const fallbackRungSchema = z
  .strictObject({
    region: formatted(/^[a-z]+-[a-z]+\d+$/, 'a region such as europe-west4')
      .optional()
      .describe('Submit in this region instead. Needs `staging_bucket` in (or usable from) that region.'),
    staging_bucket: nonEmpty()
      .optional()
      .describe(
        '`spec.staging_bucket` for this alternative (required with `region`: Vertex wants it in the job region).',
      ),
    machine_spec: z
      .strictObject({
        machine_type: nonEmpty()
          .optional()
          .describe('Machine type of the pools this alternative changes, e.g. `g2-standard-8`.'),
        accelerator_type: z
          .enum(ACCELERATOR_TYPES)
          .optional()
          .describe('Accelerator of every worker pool that has one, e.g. `NVIDIA_L4`.'),
        accelerator_count: z.int().positive().optional().describe('Accelerators per VM of those pools.'),
      })
      .optional()
      .describe(
        'Changes the `machine_spec` of the worker pools that have an accelerator (of every pool when none has one); CPU-only pools keep theirs.',
      ),
    scheduling_strategy: z
      .enum(SCHEDULING_STRATEGIES)
      .optional()
      .describe('`run.scheduling_strategy` for this alternative, e.g. `FLEX_START` or `SPOT`.'),
    max_wait_duration: duration(
      '`run.max_wait_duration` for this alternative (with FLEX_START).',
      MAX_WAIT_DURATION_SECONDS,
    ).optional(),
    reservation: formatted(
      /^projects\/[^/]+\/zones\/[^/]+\/reservations\/[^/]+$/,
      'projects/<project>/zones/<zone>/reservations/<name>',
    )
      .optional()
      .describe('Consume this Compute Engine reservation (SPECIFIC_RESERVATION on every worker pool).'),
  })
  .describe("One alternative of `fallback`: the keys it sets replace the queue config's for that attempt.");

/** One declared template variable. */
export const templateVariableSchema = z
  .strictObject({
    type: z.enum(TEMPLATE_VARIABLE_TYPES).describe('Type of the value: integer, number or string.'),
    description: z.string().optional().describe('What the variable is for (shown in help and errors).'),
    default: z
      .union([z.number(), z.string()])
      .optional()
      .describe('Value used when the launch does not set the variable. Without a default the variable is required.'),
    minimum: z.number().optional().describe('Smallest allowed value (integer and number variables).'),
    maximum: z.number().optional().describe('Largest allowed value (integer and number variables).'),
    enum: z
      .array(z.union([z.number(), z.string()]))
      .min(1, { error: 'must list at least one value' })
      .optional()
      .describe('The only allowed values.'),
  })
  .describe('A typed `{{name}}` variable filled at launch (`--set-var name=value`).');

/** The whole queue config. */
export const queueConfigSchema = z
  .strictObject({
    spec: specSchema,
    run: runSchema.optional(),
    template_variables: z
      .record(
        z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'variable names must match [A-Za-z_][A-Za-z0-9_]*' }),
        templateVariableSchema,
      )
      .optional()
      .describe(
        'Typed variables used as `{{name}}` inside `spec` and `run` strings. A value that is exactly `{{name}}` becomes the typed value.',
      ),
    allowed_overrides: z
      .array(z.string().min(1))
      .optional()
      .describe(
        'Dotted paths a launch may override, e.g. `run.timeout` or `spec.worker_pool_specs`. When set, overrides of anything else are refused.',
      ),
    limits: z
      .strictObject({
        max_timeout: duration(
          'The longest `run.timeout` a launch of this queue may set. A launch without `run.timeout` is refused too (Vertex would let it run 7 days).',
          7 * 24 * 3600,
        ).optional(),
        max_accelerator_hours: z
          .number()
          .positive({ error: 'must be a number of hours greater than 0' })
          .optional()
          .describe(
            "The most accelerator-hours one launch may be able to spend: replicas x accelerators x `run.timeout` (Vertex's 7 days without one), summed over the worker pools. `launch --dry-run` prints the figure.",
          ),
        max_concurrent: z
          .int()
          .positive({ error: 'must be a whole number of at least 1' })
          .optional()
          .describe(
            'The most launches of this queue in flight at once, across every agent that drains it; the agent defers the others (checked against the queue store, so agents on many machines share it).',
          ),
        max_accelerators: z
          .int()
          .positive({ error: 'must be a whole number of at least 1' })
          .optional()
          .describe(
            'The most accelerators (replicas x accelerators per VM, over every pool) the launches of this queue hold at once; the agent defers a launch that would go above it, and fails one that alone needs more.',
          ),
        daily_accelerator_hours: z
          .number()
          .positive({ error: 'must be a number of hours greater than 0' })
          .optional()
          .describe(
            'Accelerator-hour budget of the queue per rolling 24 hours: the sum of the most each launch admitted in the last 24 hours can spend (its spend bound, every attempt counted). A launch that would go above it waits.',
          ),
      })
      .optional()
      .describe(
        'Cost guardrails checked wherever the config is resolved (`queue validate`, `launch`, `--dry-run`, the agent), overrides included.',
      ),
    retry: retrySchema.optional(),
    fallback: z
      .array(fallbackRungSchema)
      .min(1, { error: 'must list at least one alternative (or leave `fallback` out)' })
      .max(MAX_FALLBACK_RUNGS, { error: `lists at most ${MAX_FALLBACK_RUNGS} alternatives` })
      .optional()
      .describe(
        'Alternatives tried in order when a job fails for want of capacity (`stockout`, `quota`, `flex_wait_expired`): each one changes the queue config for the next attempt (region, machine, accelerator, scheduling strategy, reservation). Validated up front like the queue config itself.',
      ),
  })
  .describe(
    'A Vertex Launch queue config: `spec` (CustomJob constructor arguments) and `run` (run()/submit() arguments). ' +
      'Macros `${image_uri}`, `${run_id}`, `${run_name}`, `${queue_name}`, `${project_name}`, `${region}`, `${launch_id}` and `${env:NAME}` are filled at launch.',
  );

/** A queue config as users write it (zod input type). */
export type UserQueueConfig = z.input<typeof queueConfigSchema>;

/** A validated queue config with durations in seconds and `staging_bucket` as `gs://...` (zod output type). */
export type ResolvedQueueConfig = Readonly<z.output<typeof queueConfigSchema>>;

/** The seed queue config. `staging_bucket` is the placeholder `<REQUIRED>` and must be set before it validates. */
export const DEFAULT_QUEUE_CONFIG: UserQueueConfig = {
  spec: {
    worker_pool_specs: [
      {
        machine_spec: {
          machine_type: 'n1-standard-4',
          accelerator_type: 'ACCELERATOR_TYPE_UNSPECIFIED',
          accelerator_count: 0,
        },
        replica_count: 1,
        container_spec: {
          image_uri: '${image_uri}',
        },
      },
    ],
    staging_bucket: '<REQUIRED>',
  },
  run: {
    restart_job_on_worker_restart: false,
  },
};
