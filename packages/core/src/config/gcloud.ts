/**
 * Converting the `--config` file of `gcloud ai custom-jobs create` — a CustomJobSpec in the REST API's camelCase
 * (`workerPoolSpecs`, `machineSpec`, `containerSpec`, `scheduling`, `serviceAccount`, `baseOutputDirectory`, ...) —
 * into a queue config: `spec` with the arguments of the Python SDK's `aiplatform.CustomJob(...)` and `run` with those
 * of `CustomJob.run()`, snake_case. Pure: no file or network access.
 */

import { toSnakeCase } from './suggest.js';
import { isPlainObject } from './util.js';

/** What {@link fromGcloudCustomJobSpec} made: the queue config and notes on what it changed or could not carry. */
export interface GcloudConversion {
  config: { spec: Record<string, unknown>; run?: Record<string, unknown> };
  /** What the user should know: the image became `${image_uri}`, the staging bucket was derived, keys left out. */
  notes: string[];
}

/** Options of {@link fromGcloudCustomJobSpec}. */
export interface GcloudConversionOptions {
  /** `spec.staging_bucket`. Default: the bucket of `baseOutputDirectory`, else a `<your-bucket>` marker to fill in. */
  stagingBucket?: string;
  /** `spec.display_name` (gcloud takes it as `--display-name`, not in the file). Default: none (Vertex Launch's). */
  displayName?: string;
  /** Keep the image of the file in the config instead of `${image_uri}` (then every launch runs that image). */
  keepImage?: boolean;
}

/** `scheduling.*` of the REST API -> the `run` key of the Python SDK. */
const SCHEDULING_KEYS: Readonly<Record<string, string>> = {
  timeout: 'timeout',
  restartJobOnWorkerRestart: 'restart_job_on_worker_restart',
  disableRetries: 'disable_retries',
  strategy: 'scheduling_strategy',
  maxWaitDuration: 'max_wait_duration',
};

/** CustomJobSpec keys that keep their (snake_case) name under `spec`. */
const SPEC_KEYS = [
  'workerPoolSpecs',
  'serviceAccount',
  'network',
  'reservedIpRanges',
  'pscInterfaceConfig',
  'enableWebAccess',
  'enableDashboardAccess',
  'tensorboard',
  'experiment',
  'experimentRun',
  'models',
  'persistentResourceId',
  'protectedArtifactLocationId',
];

/** Keys whose values are the user's own names, never renamed. */
const NAMED_MAPS = new Set(['labels']);

/** int64 fields arrive as strings in the REST form (`replicaCount: "2"`); the queue config takes numbers. */
const INTEGER_KEYS = new Set(['replica_count', 'accelerator_count', 'boot_disk_size_gb']);

/**
 * Converts a gcloud `--config` CustomJobSpec (as parsed from its YAML) into a queue config. The chief pool's image
 * becomes `${image_uri}` (the image is given per launch) unless `keepImage`. A file wrapped as `jobSpec:` (a whole
 * CustomJob) is taken too, with its `displayName`, `labels` and `encryptionSpec`.
 *
 * @throws TypeError when `raw` is not a mapping with `workerPoolSpecs`.
 */
export function fromGcloudCustomJobSpec(raw: unknown, options: GcloudConversionOptions = {}): GcloudConversion {
  if (!isPlainObject(raw)) throw new TypeError('not a YAML mapping: a gcloud --config file is a CustomJobSpec');
  const notes: string[] = [];
  let job: Record<string, unknown> = raw;
  const outer: Record<string, unknown> = {};
  if (isPlainObject(raw.jobSpec)) {
    job = raw.jobSpec;
    for (const [k, v] of Object.entries(raw)) if (k !== 'jobSpec') outer[k] = v;
  }
  if (!Array.isArray(job.workerPoolSpecs)) {
    throw new TypeError(
      `no \`workerPoolSpecs\` list: a gcloud --config file is a CustomJobSpec (workerPoolSpecs, scheduling, serviceAccount, ...)${Array.isArray(job.worker_pool_specs) ? '; this one is snake_case already: it may be a queue config' : ''}`,
    );
  }
  const spec: Record<string, unknown> = {};
  const run: Record<string, unknown> = {};
  const displayName = options.displayName ?? (typeof outer.displayName === 'string' ? outer.displayName : undefined);
  if (displayName !== undefined) spec.display_name = displayName;

  for (const [key, value] of Object.entries(job)) {
    if (SPEC_KEYS.includes(key)) {
      spec[toSnakeCase(key)] = snakeKeys(value, toSnakeCase(key));
    } else if (key === 'scheduling' && isPlainObject(value)) {
      for (const [k, v] of Object.entries(value)) {
        const target = SCHEDULING_KEYS[k];
        if (target === undefined) notes.push(`scheduling.${k} has no queue config key: left out`);
        else run[target] = v;
      }
    } else if (key === 'baseOutputDirectory' && isPlainObject(value) && typeof value.outputUriPrefix === 'string') {
      spec.base_output_dir = value.outputUriPrefix;
    } else {
      notes.push(`${key} has no queue config key: left out`);
    }
  }
  if (isPlainObject(outer.labels)) spec.labels = outer.labels;
  const kms = isPlainObject(outer.encryptionSpec) ? outer.encryptionSpec.kmsKeyName : undefined;
  if (typeof kms === 'string') spec.encryption_spec_key_name = kms;
  for (const k of Object.keys(outer)) {
    if (!['displayName', 'labels', 'encryptionSpec'].includes(k)) notes.push(`${k} (outside jobSpec) is left out`);
  }

  // The image: given per launch (`--image`), so one queue serves every build of it.
  const pools = spec.worker_pool_specs as unknown[];
  const chief = pools[0];
  const image =
    isPlainObject(chief) && isPlainObject(chief.container_spec) ? chief.container_spec.image_uri : undefined;
  if (typeof image === 'string' && !options.keepImage) {
    for (const pool of pools) {
      if (isPlainObject(pool) && isPlainObject(pool.container_spec) && pool.container_spec.image_uri === image) {
        pool.container_spec.image_uri = '${image_uri}';
      }
    }
    notes.push(`the image ${image} is now \${image_uri}: launch with --image ${image} (or any other build)`);
  }

  if (options.stagingBucket !== undefined) spec.staging_bucket = options.stagingBucket;
  else if (typeof spec.base_output_dir === 'string' && /^gs:\/\/[^/]+/.test(spec.base_output_dir)) {
    spec.staging_bucket = (/^gs:\/\/[^/]+/.exec(spec.base_output_dir) as RegExpExecArray)[0];
    notes.push(
      `staging_bucket ${spec.staging_bucket} is the bucket of baseOutputDirectory (gcloud has no staging bucket)`,
    );
  } else {
    spec.staging_bucket = '<your-bucket>';
    notes.push(
      'staging_bucket: gcloud has none; set it to a gs:// bucket in the job region (or pass --staging-bucket)',
    );
  }

  const ordered: Record<string, unknown> = {};
  for (const k of ['display_name', 'worker_pool_specs', 'staging_bucket', 'base_output_dir']) {
    if (spec[k] !== undefined) ordered[k] = spec[k];
  }
  for (const [k, v] of Object.entries(spec)) if (!(k in ordered)) ordered[k] = v;
  return { config: Object.keys(run).length > 0 ? { spec: ordered, run } : { spec: ordered }, notes };
}

/** The value with every mapping key in snake_case (not the names inside `labels`); int64 strings as numbers. */
function snakeKeys(value: unknown, key: string): unknown {
  if (Array.isArray(value)) return value.map((item) => snakeKeys(item, key));
  if (INTEGER_KEYS.has(key) && typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  if (!isPlainObject(value) || NAMED_MAPS.has(key)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const snake = toSnakeCase(k);
    out[snake] = snakeKeys(v, snake);
  }
  return out;
}
