// Every key of the queue-config schema does something: changing its value changes the CreateCustomJobRequest, or
// changes a runtime behaviour its description documents (the CreateCustomJob deadline, template variables, allowed
// overrides). A key added to the schema without a row here fails the first test; a row whose key reaches nothing
// fails its own. (`run.create_request_timeout` and `run.sync` were once accepted, documented and read by nothing.)
import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import { CONTEXT, ENV } from '../__fixtures__/queue-configs.js';
import { planLaunch } from '../launch/pipeline.js';
import { admissionLimitsOf, applyRung, retryPolicyOf } from './fallback.js';
import { queueConfigJsonSchema } from './json-schema.js';
import { mergeOverrides } from './overrides.js';
import { resolveQueueConfigResult } from './resolve.js';
import { queueConfigSchema } from './schema.js';
import { isPlainObject } from './util.js';

const IMAGE = '${image_uri}';
const BASE = {
  spec: {
    worker_pool_specs: [{ machine_spec: { machine_type: 'n1-standard-4' }, container_spec: { image_uri: IMAGE } }],
    staging_bucket: 'gs://base-bucket',
  },
};
const pool = (extra: Record<string, unknown>) => ({
  spec: { worker_pool_specs: [{ ...BASE.spec.worker_pool_specs[0], ...extra }] },
});
const machine = (spec: Record<string, unknown>) => pool({ machine_spec: spec });
const SA = 'trainer@my-project.iam.gserviceaccount.com';
const TB = 'projects/my-project/locations/us-central1/tensorboards/1';
const RESERVATION = 'projects/my-project/zones/us-central1-a/reservations/r1';
const L4 = { machine_type: 'g2-standard-8', accelerator_type: 'NVIDIA_L4', accelerator_count: 1 };
const dns = { domain: 'corp.example.com.', target_project: 'host', target_network: 'vpc' };
const env = [{ name: 'A', value: '1' }];
const python = {
  executor_image_uri: 'us-docker.pkg.dev/vertex-ai/training/pytorch-gpu.2-4.py310:latest',
  package_uris: ['gs://b/trainer-0.1.tar.gz'],
  python_module: 'trainer.task',
  args: ['--a'],
  env,
};
const variable = (declaration: Record<string, unknown>) => ({
  template_variables: { n: declaration },
  ...pool({ container_spec: { image_uri: IMAGE, args: ['{{n}}'] } }),
});

/** What a launch of `config` produces: the request, or the problems when it does not resolve. */
function outcome(config: unknown, launch: { variables?: Record<string, string>; overrides?: unknown } = {}) {
  const result = resolveQueueConfigResult({ config, context: CONTEXT, env: ENV, ...launch });
  if (!result.ok) return { problems: result.issues.filter((i) => i.severity === 'error').map((i) => i.message) };
  return {
    request: planLaunch({
      config,
      ...launch,
      env: ENV,
      ...CONTEXT,
      projectId: CONTEXT.project,
      image: CONTEXT.imageUri,
    }).request,
  };
}

/** The request of rung 1 (the first `fallback` alternative) of `config`. */
function rungRequest(config: unknown) {
  return outcome(applyRung(config as Record<string, unknown>, 1).config);
}

interface Row {
  /** Deep-merged into BASE (arrays replace); the key must be set by it. */
  patch: unknown;
  /** Another value for the key. */
  other: unknown;
  /** What the key changes when it is not the request; its schema description must say so (`documented`). */
  runtime?: { probe: (config: unknown) => unknown; documented: string };
}

const ROWS: Record<string, Row> = {
  'spec.display_name': { patch: { spec: { display_name: 'a' } }, other: 'b' },
  'spec.worker_pool_specs[].machine_spec.machine_type': { patch: {}, other: 'n1-standard-8' },
  'spec.worker_pool_specs[].machine_spec.accelerator_type': {
    patch: machine({ machine_type: 'n1-standard-8', accelerator_type: 'NVIDIA_TESLA_T4', accelerator_count: 1 }),
    other: 'NVIDIA_TESLA_P4',
  },
  'spec.worker_pool_specs[].machine_spec.accelerator_count': {
    patch: machine({ machine_type: 'n1-standard-8', accelerator_type: 'NVIDIA_TESLA_T4', accelerator_count: 1 }),
    other: 2,
  },
  'spec.worker_pool_specs[].machine_spec.gpu_partition_size': {
    patch: machine({
      machine_type: 'a2-highgpu-1g',
      accelerator_type: 'NVIDIA_TESLA_A100',
      accelerator_count: 1,
      gpu_partition_size: '1g.5gb',
    }),
    other: '2g.10gb',
  },
  'spec.worker_pool_specs[].machine_spec.tpu_topology': {
    patch: machine({ machine_type: 'ct5lp-hightpu-4t', tpu_topology: '2x2' }),
    other: '1x4',
  },
  'spec.worker_pool_specs[].machine_spec.reservation_affinity.reservation_affinity_type': {
    patch: machine({
      machine_type: 'n1-standard-4',
      reservation_affinity: { reservation_affinity_type: 'ANY_RESERVATION' },
    }),
    other: 'NO_RESERVATION',
  },
  'spec.worker_pool_specs[].machine_spec.reservation_affinity.key': {
    patch: machine({
      machine_type: 'n1-standard-4',
      reservation_affinity: {
        reservation_affinity_type: 'SPECIFIC_RESERVATION',
        key: 'compute.googleapis.com/reservation-name',
        values: [RESERVATION],
      },
    }),
    other: 'team',
  },
  'spec.worker_pool_specs[].machine_spec.reservation_affinity.values': {
    patch: machine({
      machine_type: 'n1-standard-4',
      reservation_affinity: {
        reservation_affinity_type: 'SPECIFIC_RESERVATION',
        key: 'compute.googleapis.com/reservation-name',
        values: [RESERVATION],
      },
    }),
    other: [`${RESERVATION}-b`],
  },
  'spec.worker_pool_specs[].replica_count': {
    // The chief has exactly one replica: the key is varied on pool 1 (`[]` is the last element).
    patch: {
      spec: {
        worker_pool_specs: [BASE.spec.worker_pool_specs[0], { ...BASE.spec.worker_pool_specs[0], replica_count: 2 }],
      },
    },
    other: 3,
  },
  'spec.worker_pool_specs[].container_spec.image_uri': { patch: {}, other: 'us-docker.pkg.dev/p/r/other:1' },
  'spec.worker_pool_specs[].container_spec.command': {
    patch: pool({ container_spec: { image_uri: IMAGE, command: ['python'] } }),
    other: ['bash'],
  },
  'spec.worker_pool_specs[].container_spec.args': {
    patch: pool({ container_spec: { image_uri: IMAGE, args: ['--a'] } }),
    other: ['--b'],
  },
  'spec.worker_pool_specs[].container_spec.env[].name': {
    patch: pool({ container_spec: { image_uri: IMAGE, env } }),
    other: 'B',
  },
  'spec.worker_pool_specs[].container_spec.env[].value': {
    patch: pool({ container_spec: { image_uri: IMAGE, env } }),
    other: '2',
  },
  ...Object.fromEntries(
    (['executor_image_uri', 'package_uris', 'python_module', 'args'] as const).map((key) => [
      `spec.worker_pool_specs[].python_package_spec.${key}`,
      {
        patch: {
          spec: {
            worker_pool_specs: [{ machine_spec: { machine_type: 'n1-standard-4' }, python_package_spec: python }],
          },
        },
        other: {
          executor_image_uri: 'exec:2',
          package_uris: ['gs://b/other.tar.gz'],
          python_module: 'other',
          args: ['--b'],
        }[key],
      },
    ]),
  ),
  'spec.worker_pool_specs[].python_package_spec.env[].name': {
    patch: {
      spec: { worker_pool_specs: [{ machine_spec: { machine_type: 'n1-standard-4' }, python_package_spec: python }] },
    },
    other: 'B',
  },
  'spec.worker_pool_specs[].python_package_spec.env[].value': {
    patch: {
      spec: { worker_pool_specs: [{ machine_spec: { machine_type: 'n1-standard-4' }, python_package_spec: python }] },
    },
    other: '2',
  },
  'spec.worker_pool_specs[].disk_spec.boot_disk_type': {
    patch: pool({ disk_spec: { boot_disk_type: 'pd-ssd', boot_disk_size_gb: 100 } }),
    other: 'pd-standard',
  },
  'spec.worker_pool_specs[].disk_spec.boot_disk_size_gb': {
    patch: pool({ disk_spec: { boot_disk_type: 'pd-ssd', boot_disk_size_gb: 100 } }),
    other: 200,
  },
  ...Object.fromEntries(
    (['server', 'path', 'mount_point'] as const).map((key) => [
      `spec.worker_pool_specs[].nfs_mounts[].${key}`,
      {
        patch: pool({ nfs_mounts: [{ server: '10.0.0.2', path: '/exports/a', mount_point: 'a' }] }),
        other: { server: '10.0.0.3', path: '/exports/b', mount_point: 'b' }[key],
      },
    ]),
  ),
  ...Object.fromEntries(
    (['instance_ip', 'volume_handle', 'filesystem', 'mount_point'] as const).map((key) => [
      `spec.worker_pool_specs[].lustre_mounts[].${key}`,
      {
        patch: pool({
          lustre_mounts: [
            { instance_ip: '10.0.0.9', volume_handle: 'p/z/l-1', filesystem: 'scratch', mount_point: 'a' },
          ],
        }),
        other: { instance_ip: '10.0.0.8', volume_handle: 'p/z/l-2', filesystem: 'fast', mount_point: 'b' }[key],
      },
    ]),
  ),
  'spec.staging_bucket': { patch: {}, other: 'gs://other-bucket' },
  'spec.base_output_dir': { patch: { spec: { base_output_dir: 'gs://b/out' } }, other: 'gs://b/out2' },
  'spec.labels': { patch: { spec: { labels: { team: 'a' } } }, other: { team: 'b' } },
  'spec.encryption_spec_key_name': {
    patch: { spec: { encryption_spec_key_name: 'projects/p/locations/us-central1/keyRings/r/cryptoKeys/a' } },
    other: 'projects/p/locations/us-central1/keyRings/r/cryptoKeys/b',
  },
  'spec.service_account': { patch: { spec: { service_account: SA } }, other: `other-${SA}` },
  'spec.persistent_resource_id': { patch: { spec: { persistent_resource_id: 'r1' } }, other: 'r2' },
  'spec.network': {
    patch: { spec: { network: 'projects/123/global/networks/a' } },
    other: 'projects/123/global/networks/b',
  },
  'spec.reserved_ip_ranges': {
    patch: { spec: { network: 'projects/123/global/networks/a', reserved_ip_ranges: ['r1'] } },
    other: ['r2'],
  },
  'spec.psc_interface_config.network_attachment': {
    patch: { spec: { psc_interface_config: { network_attachment: 'att-1' } } },
    other: 'att-2',
  },
  ...Object.fromEntries(
    (['domain', 'target_project', 'target_network'] as const).flatMap((key) =>
      (['spec', 'run'] as const).map((section) => [
        `${section}.psc_interface_config.dns_peering_configs[].${key}`,
        {
          patch: { [section]: { psc_interface_config: { dns_peering_configs: [dns] } } },
          other: { domain: 'other.example.com.', target_project: 'host-2', target_network: 'vpc-2' }[key],
        },
      ]),
    ),
  ),
  'spec.enable_web_access': { patch: { spec: { enable_web_access: true } }, other: false },
  'spec.enable_dashboard_access': { patch: { spec: { enable_dashboard_access: true } }, other: false },
  'spec.tensorboard': { patch: { spec: { tensorboard: TB, service_account: SA } }, other: `${TB}2` },
  'spec.experiment': { patch: { spec: { experiment: 'e1' } }, other: 'e2' },
  'spec.experiment_run': { patch: { spec: { experiment: 'e1', experiment_run: 'r1' } }, other: 'r2' },
  'spec.models': {
    patch: { spec: { models: ['projects/p/locations/us-central1/models/1'] } },
    other: ['projects/p/locations/us-central1/models/2'],
  },
  'spec.protected_artifact_location_id': {
    patch: { spec: { protected_artifact_location_id: 'us-central1' } },
    other: 'europe-west4',
  },
  'run.service_account': { patch: { run: { service_account: SA } }, other: `other-${SA}` },
  'run.network': {
    patch: { run: { network: 'projects/123/global/networks/a' } },
    other: 'projects/123/global/networks/b',
  },
  'run.timeout': { patch: { run: { timeout: '1h' } }, other: '2h' },
  'run.restart_job_on_worker_restart': { patch: { run: { restart_job_on_worker_restart: true } }, other: false },
  'run.enable_web_access': { patch: { run: { enable_web_access: true } }, other: false },
  'run.tensorboard': { patch: { run: { tensorboard: TB, service_account: SA } }, other: `${TB}2` },
  'run.experiment': { patch: { run: { experiment: 'e1' } }, other: 'e2' },
  'run.experiment_run': { patch: { run: { experiment: 'e1', experiment_run: 'r1' } }, other: 'r2' },
  'run.create_request_timeout': {
    patch: { run: { create_request_timeout: 30 } },
    other: '2m',
    runtime: {
      probe: (config) =>
        planLaunch({ config, env: ENV, ...CONTEXT, projectId: CONTEXT.project, image: CONTEXT.imageUri })
          .createRequestTimeoutMs,
      documented: 'Deadline of each CreateCustomJob call',
    },
  },
  'run.disable_retries': { patch: { run: { disable_retries: true } }, other: false },
  'run.persistent_resource_id': { patch: { run: { persistent_resource_id: 'r1' } }, other: 'r2' },
  'run.scheduling_strategy': { patch: { run: { scheduling_strategy: 'SPOT' } }, other: 'STANDARD' },
  'run.max_wait_duration': {
    patch: { ...machine(L4), run: { scheduling_strategy: 'FLEX_START', max_wait_duration: 60 } },
    other: 120,
  },
  'run.psc_interface_config.network_attachment': {
    patch: { run: { psc_interface_config: { network_attachment: 'att-1' } } },
    other: 'att-2',
  },
  'template_variables.<name>.type': {
    patch: variable({ type: 'integer', default: 3 }),
    other: 'number',
    runtime: { probe: (config) => outcome(config, { variables: { n: '2.5' } }), documented: 'Type of the value' },
  },
  'template_variables.<name>.description': {
    patch: variable({ type: 'integer', description: 'epochs to train' }),
    other: 'steps to train',
    runtime: { probe: (config) => outcome(config), documented: 'shown in help and errors' },
  },
  'template_variables.<name>.default': {
    patch: variable({ type: 'integer', default: 3 }),
    other: 4,
    runtime: { probe: (config) => outcome(config), documented: 'Value used when the launch does not set the variable' },
  },
  'template_variables.<name>.minimum': {
    patch: variable({ type: 'integer', default: 5, minimum: 1 }),
    other: 6,
    runtime: { probe: (config) => outcome(config), documented: 'Smallest allowed value' },
  },
  'template_variables.<name>.maximum': {
    patch: variable({ type: 'integer', default: 5, maximum: 10 }),
    other: 4,
    runtime: { probe: (config) => outcome(config), documented: 'Largest allowed value' },
  },
  'template_variables.<name>.enum': {
    patch: variable({ type: 'integer', default: 5, enum: [5, 6] }),
    other: [6, 7],
    runtime: { probe: (config) => outcome(config), documented: 'The only allowed values' },
  },
  'limits.max_timeout': {
    patch: { limits: { max_timeout: '2h' }, run: { timeout: '90m' } },
    other: '1h',
    runtime: {
      probe: (config) => outcome(config),
      documented: 'The longest `run.timeout` a launch of this queue may set',
    },
  },
  'limits.max_accelerator_hours': {
    patch: { ...machine(L4), limits: { max_accelerator_hours: 2 }, run: { timeout: '90m' } },
    other: 1,
    runtime: {
      probe: (config) => outcome(config),
      documented: 'The most accelerator-hours one launch may be able to spend',
    },
  },
  'limits.max_concurrent': {
    patch: { limits: { max_concurrent: 2 } },
    other: 3,
    runtime: {
      probe: (config) => admissionLimitsOf(config),
      documented: 'The most launches of this queue in flight at once',
    },
  },
  'limits.max_accelerators': {
    patch: { ...machine(L4), limits: { max_accelerators: 4 } },
    other: 8,
    runtime: { probe: (config) => admissionLimitsOf(config), documented: 'The most accelerators' },
  },
  'limits.daily_accelerator_hours': {
    patch: { ...machine(L4), limits: { daily_accelerator_hours: 100 } },
    other: 50,
    runtime: {
      probe: (config) => admissionLimitsOf(config),
      documented: 'Accelerator-hour budget of the queue per rolling 24 hours',
    },
  },
  'retry.on': {
    patch: { retry: { on: ['preempted'] } },
    other: ['stockout'],
    runtime: { probe: (config) => retryPolicyOf(config), documented: 'Failure classes that resubmit the launch' },
  },
  'retry.max_attempts': {
    patch: { retry: { max_attempts: 3 } },
    other: 5,
    runtime: { probe: (config) => retryPolicyOf(config), documented: 'Jobs a launch may make in all' },
  },
  'retry.backoff': {
    patch: { retry: { backoff: '30s' } },
    other: '2m',
    runtime: { probe: (config) => retryPolicyOf(config), documented: 'Wait before the first resubmission' },
  },
  'fallback[].region': {
    patch: { fallback: [{ region: 'europe-west4', staging_bucket: 'gs://eu-bucket' }] },
    other: 'us-east1',
    runtime: {
      probe: (config) => applyRung(config as Record<string, unknown>, 1).region,
      documented: 'Submit in this region instead',
    },
  },
  'fallback[].staging_bucket': {
    patch: { fallback: [{ staging_bucket: 'gs://other-bucket' }] },
    other: 'gs://third-bucket',
    runtime: { probe: (config) => rungRequest(config), documented: '`spec.staging_bucket` for this alternative' },
  },
  'fallback[].machine_spec.machine_type': {
    patch: { ...machine(L4), fallback: [{ machine_spec: { machine_type: 'g2-standard-12' } }] },
    other: 'g2-standard-16',
    runtime: {
      probe: (config) => rungRequest(config),
      documented: 'Machine type of the pools this alternative changes',
    },
  },
  'fallback[].machine_spec.accelerator_type': {
    patch: {
      ...machine({ machine_type: 'n1-standard-8', accelerator_type: 'NVIDIA_TESLA_T4', accelerator_count: 1 }),
      fallback: [{ machine_spec: { accelerator_type: 'NVIDIA_TESLA_P4' } }],
    },
    other: 'NVIDIA_TESLA_V100',
    runtime: { probe: (config) => rungRequest(config), documented: 'Accelerator of every worker pool that has one' },
  },
  'fallback[].machine_spec.accelerator_count': {
    patch: {
      ...machine({ machine_type: 'n1-standard-8', accelerator_type: 'NVIDIA_TESLA_T4', accelerator_count: 1 }),
      fallback: [{ machine_spec: { accelerator_count: 2 } }],
    },
    other: 4,
    runtime: { probe: (config) => rungRequest(config), documented: 'Accelerators per VM of those pools' },
  },
  'fallback[].scheduling_strategy': {
    patch: { fallback: [{ scheduling_strategy: 'SPOT' }] },
    other: 'STANDARD',
    runtime: { probe: (config) => rungRequest(config), documented: '`run.scheduling_strategy` for this alternative' },
  },
  'fallback[].max_wait_duration': {
    patch: { ...machine(L4), fallback: [{ scheduling_strategy: 'FLEX_START', max_wait_duration: '1h' }] },
    other: '2h',
    runtime: { probe: (config) => rungRequest(config), documented: '`run.max_wait_duration` for this alternative' },
  },
  'fallback[].reservation': {
    patch: { fallback: [{ reservation: RESERVATION }] },
    other: 'projects/my-project/zones/us-central1-a/reservations/r2',
    runtime: { probe: (config) => rungRequest(config), documented: 'Consume this Compute Engine reservation' },
  },
  allowed_overrides: {
    patch: { allowed_overrides: ['run.timeout'] },
    other: ['spec.labels'],
    runtime: {
      probe: (config) => outcome(config, { overrides: { run: { timeout: 60 } } }),
      documented: 'overrides of anything else are refused',
    },
  },
};

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (;;) {
    if (s instanceof z.ZodOptional || s instanceof z.ZodNullable || s instanceof z.ZodDefault)
      s = s.unwrap() as z.ZodType;
    else if (s instanceof z.ZodPipe) s = s.in as z.ZodType;
    else return s;
  }
}

/** The leaf keys of a schema: `spec.worker_pool_specs[].machine_spec.machine_type`, `template_variables.<name>.type`. */
function leaves(schema: z.ZodType, path: string): string[] {
  const s = unwrap(schema);
  const at = (key: string) => (path === '' ? key : `${path}.${key}`);
  if (s instanceof z.ZodObject) {
    return Object.entries(s.shape as Record<string, z.ZodType>).flatMap(([key, child]) => leaves(child, at(key)));
  }
  if (s instanceof z.ZodArray) {
    const element = unwrap(s.element as z.ZodType);
    return element instanceof z.ZodObject ? leaves(element, `${path}[]`) : [path];
  }
  if (s instanceof z.ZodRecord) {
    const value = unwrap(s.valueType as z.ZodType);
    return value instanceof z.ZodObject ? leaves(value, `${path}.<name>`) : [path];
  }
  return [path];
}

/** `a.b[].c` -> segments; `[]` is the last element of the list, `<name>` the only entry of the record. */
function locate(root: Record<string, unknown>, path: string): { parent: Record<string, unknown>; key: string } {
  const segments = path.split('.');
  let current: unknown = root;
  for (const segment of segments.slice(0, -1)) {
    const name = segment.replace(/\[\]$/, '');
    let next =
      name === '<name>' && isPlainObject(current)
        ? Object.values(current)[0]
        : (current as Record<string, unknown>)[name];
    if (segment.endsWith('[]')) next = (next as unknown[]).at(-1);
    current = next;
  }
  return { parent: current as Record<string, unknown>, key: segments.at(-1) as string };
}

/** The JSON Schema node of a leaf (its `description` is what docs/config-reference.md shows). */
function jsonSchemaNode(path: string): { description?: string } {
  let node = queueConfigJsonSchema() as Record<string, unknown>;
  for (const segment of path.split('.')) {
    const name = segment.replace(/\[\]$/, '');
    node = (
      name === '<name>' ? node.additionalProperties : (node.properties as Record<string, unknown>)[name]
    ) as Record<string, unknown>;
    if (segment.endsWith('[]')) node = node.items as Record<string, unknown>;
  }
  return node;
}

describe('every schema key reaches the request or a documented runtime behaviour', () => {
  test('each key of the schema has a row here', () => {
    const keys = leaves(queueConfigSchema, '').sort();
    const missing = keys.filter((k) => !(k in ROWS));
    expect(missing, 'map these keys into the request, or give them a documented runtime behaviour and a row').toEqual(
      [],
    );
    expect(Object.keys(ROWS).sort()).toEqual(keys);
  });

  test.each(Object.entries(ROWS))('%s', (path, row) => {
    const config = mergeOverrides(BASE, row.patch) as Record<string, unknown>;
    const { parent, key } = locate(config, path);
    expect(parent[key], `the row's patch sets ${path}`).toBeDefined();
    const changed = structuredClone(config);
    const target = locate(changed, path);
    target.parent[target.key] = row.other;
    if (row.runtime) {
      expect(jsonSchemaNode(path).description).toContain(row.runtime.documented);
      expect(row.runtime.probe(changed)).not.toEqual(row.runtime.probe(config));
      return;
    }
    const before = outcome(config);
    const after = outcome(changed);
    expect(before.problems, 'the row config is valid').toBeUndefined();
    expect(after.problems, 'the changed config is valid').toBeUndefined();
    expect(after.request).not.toEqual(before.request);
  });
});
