// Feeds mapped requests through the real aiplatform v1 protos (protobufjs, as the Node client uses them) and fails
// when any field would be dropped or changed: the client silently drops snake_case and unknown fields.
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { describe, expect, test } from 'vitest';
import { CONTEXT, ENV, RICH_YAML } from '../__fixtures__/queue-configs.js';
import { parseConfigText } from '../config/load.js';
import { resolveQueueConfig } from '../config/resolve.js';
import { DEFAULT_QUEUE_CONFIG } from '../config/schema.js';
import { type CreateCustomJobRequest, toCreateCustomJobRequest } from './custom-job.js';
import { toRestJson } from './rest-json.js';

// protobufjs and proto3-json-serializer are the ones google-gax (the client's transport) uses.
const requireFromCore = createRequire(import.meta.url);
const aiplatformDir = dirname(requireFromCore.resolve('@google-cloud/aiplatform/package.json'));
const requireFromAiplatform = createRequire(`${aiplatformDir}/package.json`);
const requireFromGax = createRequire(requireFromAiplatform.resolve('google-gax'));
/** The part of protobufjs this test uses (core does not depend on protobufjs, so no type import). */
interface ProtoType {
  fromObject(object: unknown): unknown;
  toObject(message: unknown, options: { enums: unknown; longs: unknown }): unknown;
  fieldsArray: Array<{ name: string }>;
}
const protobuf = requireFromGax('protobufjs') as {
  Root: { fromJSON(json: unknown): { lookupType(name: string): ProtoType } };
};
const { toProto3JSON, fromProto3JSON } = requireFromGax('proto3-json-serializer') as {
  toProto3JSON: (message: unknown) => unknown;
  fromProto3JSON: (type: unknown, json: unknown) => unknown;
};
const root = protobuf.Root.fromJSON(requireFromAiplatform('./build/protos/protos.json'));
const CreateCustomJobRequestType = root.lookupType('google.cloud.aiplatform.v1.CreateCustomJobRequest');

/** protobufjs gives every map field an empty object, which proto3 JSON then prints; an empty map means unset. */
function dropEmptyMaps(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropEmptyMaps);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const isEmptyObject =
      typeof item === 'object' && item !== null && !Array.isArray(item) && Object.keys(item).length === 0;
    if (isEmptyObject && key === 'webAccessUris') continue;
    out[key] = dropEmptyMaps(item);
  }
  return out;
}

function roundTrip(request: CreateCustomJobRequest) {
  const message = CreateCustomJobRequestType.fromObject(request);
  return {
    object: CreateCustomJobRequestType.toObject(message, { enums: String, longs: String }),
    json: dropEmptyMaps(toProto3JSON(message)),
  };
}

const requests: Record<string, () => CreateCustomJobRequest> = {
  'the default config': () =>
    toCreateCustomJobRequest(
      resolveQueueConfig({
        config: { ...DEFAULT_QUEUE_CONFIG, spec: { ...DEFAULT_QUEUE_CONFIG.spec, staging_bucket: 'my-bucket' } },
        context: CONTEXT,
      }),
      CONTEXT,
    ),
  'the rich config (FLEX_START, CMEK, PSC, NFS, Lustre, python package, placeholder pool)': () =>
    toCreateCustomJobRequest(
      resolveQueueConfig({ config: parseConfigText(RICH_YAML), context: CONTEXT, env: ENV }),
      CONTEXT,
    ),
  'the rich config overridden to SPOT with an experiment and a fractional timeout': () =>
    toCreateCustomJobRequest(
      resolveQueueConfig({
        config: parseConfigText(RICH_YAML),
        variables: { workers: '8', gpus: '4' },
        overrides: {
          run: {
            scheduling_strategy: 'SPOT',
            max_wait_duration: null,
            tensorboard: null,
            experiment: 'my-experiment',
            experiment_run: 'trial-1',
            timeout: 90.25,
          },
          spec: { labels: { team: 'research' } },
        },
        context: { ...CONTEXT, runName: undefined },
        env: ENV,
      }),
      { ...CONTEXT, runName: undefined },
    ),
  'a config with placeholder pools and zero max wait': () =>
    toCreateCustomJobRequest(
      resolveQueueConfig({
        config: {
          spec: {
            worker_pool_specs: [
              {
                machine_spec: { machine_type: 'g2-standard-8', accelerator_type: 'NVIDIA_L4', accelerator_count: 1 },
                container_spec: { image_uri: '${image_uri}' },
              },
              {},
              {},
              {
                machine_spec: { machine_type: 'g2-standard-8', accelerator_type: 'NVIDIA_L4', accelerator_count: 1 },
                container_spec: { image_uri: '${image_uri}', args: ['--eval'] },
              },
            ],
            staging_bucket: 'gs://b-bucket/prefix',
            base_output_dir: 'gs://other-bucket/out/${run_id}',
          },
          run: { scheduling_strategy: 'FLEX_START', max_wait_duration: 0, restart_job_on_worker_restart: false },
        },
        context: CONTEXT,
      }),
      CONTEXT,
    ),
  'a TPU v5e job in the Python SDK form (machine type and topology, no accelerator fields)': () =>
    toCreateCustomJobRequest(
      resolveQueueConfig({
        config: {
          spec: {
            worker_pool_specs: [
              {
                machine_spec: { machine_type: 'ct5lp-hightpu-4t', tpu_topology: '2x2' },
                container_spec: { image_uri: '${image_uri}' },
              },
            ],
            staging_bucket: 'gs://b-bucket',
          },
        },
        context: CONTEXT,
      }),
      CONTEXT,
    ),
};

describe('mapped requests survive the real aiplatform v1 protos', () => {
  for (const [name, make] of Object.entries(requests)) {
    test(name, () => {
      const request = make();
      const { object, json } = roundTrip(request);
      // Nothing dropped, renamed or re-typed by protobufjs.fromObject -> toObject.
      expect(object).toEqual(request);
      // toRestJson is exactly the proto3 JSON the REST transport would send.
      expect(toRestJson(request)).toEqual(json);
      // ...and that JSON reads back (as Vertex would parse it) to a message that prints the same JSON.
      const back = fromProto3JSON(CreateCustomJobRequestType, toRestJson(request));
      expect(dropEmptyMaps(toProto3JSON(back))).toEqual(toRestJson(request));
    });
  }

  test('the check itself catches a snake_case field the client would drop', () => {
    const request = requests['the default config']!();
    const broken = structuredClone(request) as unknown as { customJob: { jobSpec: Record<string, unknown> } };
    broken.customJob.jobSpec.service_account = 'dropped@example.com';
    expect(roundTrip(broken as unknown as CreateCustomJobRequest).object).not.toEqual(broken);
  });

  test('the rich config sets every CustomJobSpec field of the proto except the ones a create request must not set', () => {
    const spec = root.lookupType('google.cloud.aiplatform.v1.CustomJobSpec');
    const request =
      requests['the rich config (FLEX_START, CMEK, PSC, NFS, Lustre, python package, placeholder pool)']!();
    const setFields = new Set(Object.keys(request.customJob.jobSpec));
    const missing = spec.fieldsArray.map((f) => f.name).filter((f) => !setFields.has(f));
    // experiment/experimentRun are covered by the SPOT variant (Vertex refuses them together with tensorboard).
    expect(missing.sort()).toEqual(['experiment', 'experimentRun']);
  });
});
