import { describe, expect, test } from 'vitest';
import { DEFAULT_QUEUE_CONFIG } from './schema.js';
import { formatConfigIssues, validateQueueConfig } from './validate.js';

const pool = { machine_spec: { machine_type: 'n1-standard-4' }, container_spec: { image_uri: '${image_uri}' } };
const valid = (extra: Record<string, unknown> = {}, run: Record<string, unknown> = {}) => ({
  spec: { worker_pool_specs: [pool], staging_bucket: 'my-bucket', ...extra },
  run,
});
const lines = (raw: unknown) => formatConfigIssues(validateQueueConfig(raw).issues).split('\n');

describe('validateQueueConfig', () => {
  test('the seed default fails only on its placeholder bucket, with a clear fix', () => {
    const result = validateQueueConfig(DEFAULT_QUEUE_CONFIG);
    expect(result.ok).toBe(false);
    expect(result.issues).toEqual([
      {
        path: 'spec.staging_bucket',
        message:
          'still holds the placeholder `<REQUIRED>`: set `spec.staging_bucket` to your Cloud Storage bucket (`gs://my-bucket` or `my-bucket`)',
        severity: 'error',
      },
    ]);
  });

  test('a valid config resolves with a normalised bucket and durations in seconds', () => {
    const l4 = {
      ...pool,
      machine_spec: { machine_type: 'g2-standard-8', accelerator_type: 'NVIDIA_L4', accelerator_count: 1 },
    };
    const result = validateQueueConfig(
      valid(
        { worker_pool_specs: [l4] },
        { timeout: '1h30m', max_wait_duration: 600, scheduling_strategy: 'FLEX_START' },
      ),
    );
    expect(result.issues).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.value?.spec.staging_bucket).toBe('gs://my-bucket');
    expect(result.value?.run?.timeout).toBe(5400);
    expect(result.value?.run?.max_wait_duration).toBe(600);
  });

  test('reports every problem at once, each with its path, suggestions and allowed values', () => {
    expect(
      lines({
        spec: {
          workerPoolSpecs: [],
          stage_bucket: 'x',
          worker_pool_specs: [
            {
              machine_spec: { machine_type: 'n1-standard-4', accelerator_type: 'T4', acceleratorCount: 1 },
              replica_count: 'two',
              container_spec: { image_uri: '${imag_uri}', env: { A: 'b' } },
            },
          ],
        },
        run: { timeout: '2 hours', scheduling_strategy: 'spot', project: 'p' },
        worker_pool_specs: [],
      }),
    ).toMatchInlineSnapshot(`
      [
        "spec.worker_pool_specs[0].container_spec.image_uri: unknown macro \`\${imag_uri}\` (did you mean \`\${image_uri}\`?); known macros: \${image_uri}, \${run_id}, \${run_name}, \${queue_name}, \${project_name}, \${region}, \${launch_id} and \${env:NAME}. Write \`$\${\` for a literal \`\${\`",
        "spec.worker_pool_specs[0].machine_spec.accelerator_type: invalid value \`T4\` (did you mean \`NVIDIA_TESLA_T4\`?); allowed values: ACCELERATOR_TYPE_UNSPECIFIED, NVIDIA_TESLA_K80, NVIDIA_TESLA_P100, NVIDIA_TESLA_V100, NVIDIA_TESLA_P4, NVIDIA_TESLA_T4, NVIDIA_TESLA_A100, NVIDIA_A100_80GB, NVIDIA_L4, NVIDIA_H100_80GB, NVIDIA_H100_MEGA_80GB, NVIDIA_H200_141GB, NVIDIA_B200, NVIDIA_GB200, NVIDIA_RTX_PRO_6000, TPU_V2, TPU_V3, TPU_V4_POD, TPU_V5_LITEPOD",
        "spec.worker_pool_specs[0].machine_spec.acceleratorCount: unknown key \`acceleratorCount\`: queue configs use the Python SDK's snake_case names — use \`accelerator_count\`",
        "spec.worker_pool_specs[0].replica_count: must be a number, got a string",
        "spec.worker_pool_specs[0].container_spec.env: must be a list, got a mapping",
        "spec.staging_bucket: is required: set \`spec.staging_bucket\` to your Cloud Storage bucket (\`gs://my-bucket\` or \`my-bucket\`)",
        "spec.workerPoolSpecs: unknown key \`workerPoolSpecs\`: queue configs use the Python SDK's snake_case names — use \`worker_pool_specs\`",
        "spec.stage_bucket: unknown key \`stage_bucket\`: did you mean \`staging_bucket\`?",
        "run.timeout: must be a duration: seconds (3600) or a string like "3600s", "90m", "2h" or "1h30m"",
        "run.scheduling_strategy: invalid value \`spot\` (did you mean \`SPOT\`?); allowed values: STANDARD, SPOT, FLEX_START",
        "run.project: unknown key \`project\`: the GCP project comes from the launch (--project or the queue settings), not from the queue config",
        "worker_pool_specs: unknown key \`worker_pool_specs\`: \`worker_pool_specs\` belongs under \`spec\`",
      ]
    `);
  });

  test('camelCase keys are all reported in one pass, nested ones too, at their path as written', () => {
    // A gcloud-style config: zod stops at `workerPoolSpecs` (unknown), so the keys inside it are checked here.
    const result = validateQueueConfig({
      spec: {
        workerPoolSpecs: [
          {
            machineSpec: { machineType: 'n1-standard-4', acceleratorCount: 1 },
            replicaCount: 1,
            containerSpec: { imageUri: '${image_uri}', env: [{ name: 'A', value: 'b' }] },
          },
        ],
        stagingBucket: 'gs://b',
        baseOutputDirectory: 'gs://b/out',
        labels: { 'my-team': 'x' },
      },
      run: { enableWebAccess: true },
    });
    expect(result.ok).toBe(false);
    expect(formatConfigIssues(result.issues).split('\n')).toEqual([
      "spec.workerPoolSpecs: unknown key `workerPoolSpecs`: queue configs use the Python SDK's snake_case names — use `worker_pool_specs`",
      "spec.stagingBucket: unknown key `stagingBucket`: queue configs use the Python SDK's snake_case names — use `staging_bucket`",
      'spec.baseOutputDirectory: unknown key `baseOutputDirectory`: did you mean `base_output_dir`?',
      "spec.workerPoolSpecs[0].machineSpec: unknown key `machineSpec`: queue configs use the Python SDK's snake_case names — use `machine_spec`",
      "spec.workerPoolSpecs[0].machineSpec.machineType: unknown key `machineType`: queue configs use the Python SDK's snake_case names — use `machine_type`",
      "spec.workerPoolSpecs[0].machineSpec.acceleratorCount: unknown key `acceleratorCount`: queue configs use the Python SDK's snake_case names — use `accelerator_count`",
      "spec.workerPoolSpecs[0].replicaCount: unknown key `replicaCount`: queue configs use the Python SDK's snake_case names — use `replica_count`",
      "spec.workerPoolSpecs[0].containerSpec: unknown key `containerSpec`: queue configs use the Python SDK's snake_case names — use `container_spec`",
      "spec.workerPoolSpecs[0].containerSpec.imageUri: unknown key `imageUri`: queue configs use the Python SDK's snake_case names — use `image_uri`",
      "run.enableWebAccess: unknown key `enableWebAccess`: queue configs use the Python SDK's snake_case names — use `enable_web_access`",
    ]);
    // Not "spec.worker_pool_specs: is required" as well: the rename says it. Label names are the user's own.
    expect(result.issues.some((i) => i.message.startsWith('is required'))).toBe(false);
    expect(result.issues.some((i) => i.path.includes('my-team'))).toBe(false);
  });

  test('`run.sync` is refused with what to use instead (it was accepted and read by nothing)', () => {
    expect(lines(valid({}, { sync: false }))).toEqual([
      'run.sync: unknown key `sync`: whether to wait is chosen per launch, not in the queue config: `vertex-launch launch --wait` (or `--follow`), `await handle.wait()` in the SDK; the agent always follows its jobs. Remove `sync`',
    ]);
  });

  test('unwraps `vertex:` and `gcp-vertex:`, and refuses a wrapper with siblings', () => {
    expect(validateQueueConfig({ vertex: valid() }).ok).toBe(true);
    expect(validateQueueConfig({ 'gcp-vertex': valid() }).ok).toBe(true);
    expect(lines({ vertex: valid(), spec: {} })).toEqual([
      '(top level): a config wrapped under `vertex:` must have nothing else at the top level (found `spec`)',
    ]);
  });

  test('empty and non-mapping configs say what a queue config is', () => {
    expect(lines(null)).toEqual([
      '(top level): the queue config is empty: it needs `spec` (worker_pool_specs, staging_bucket) and optionally `run`',
    ]);
    expect(lines([1])).toEqual(['(top level): a queue config must be a mapping with `spec` and `run`, got a list']);
    expect(lines({ run: {} })).toEqual([
      'spec: is required: add a `spec:` section with `worker_pool_specs` and `staging_bucket`',
    ]);
  });

  test('worker pools: the first is required and complete, later ones may be {} placeholders', () => {
    expect(validateQueueConfig(valid({ worker_pool_specs: [pool, {}, {}, pool] })).ok).toBe(true);
    expect(lines(valid({ worker_pool_specs: [] }))).toEqual([
      'spec.worker_pool_specs: must list at least one worker pool',
    ]);
    expect(lines(valid({ worker_pool_specs: [{}, { machine_spec: { machine_type: 'n1-standard-4' } }] }))).toEqual([
      'spec.worker_pool_specs[0]: the first worker pool (the chief) must not be empty: set `machine_spec` and `container_spec` (or `python_package_spec`)',
      'spec.worker_pool_specs[1]: needs `container_spec` (a container image) or `python_package_spec` (a Python package)',
    ]);
    expect(
      lines(
        valid({
          worker_pool_specs: [
            {
              ...pool,
              replica_count: 2,
              python_package_spec: { executor_image_uri: 'img', package_uris: ['gs://b/p.tar.gz'], python_module: 'm' },
            },
          ],
        }),
      ),
    ).toEqual([
      'spec.worker_pool_specs[0].python_package_spec: set either `container_spec` or `python_package_spec`, not both',
      'spec.worker_pool_specs[0].replica_count: the first pool is the chief and must have exactly 1 replica, not 2: put the other 1 in pool 1 (the workers)',
    ]);
  });

  test('accelerators: type and count go together; deprecated types warn', () => {
    const machine = (m: Record<string, unknown>) =>
      valid({ worker_pool_specs: [{ ...pool, machine_spec: { machine_type: 'n1-standard-4', ...m } }] });
    expect(lines(machine({ accelerator_type: 'NVIDIA_TESLA_T4' }))).toEqual([
      'spec.worker_pool_specs[0].machine_spec.accelerator_count: must be at least 1 with `accelerator_type: NVIDIA_TESLA_T4`',
    ]);
    expect(lines(machine({ accelerator_count: 2 }))).toEqual([
      'spec.worker_pool_specs[0].machine_spec.accelerator_type: is required when `accelerator_count` is 2 (n1-standard-4: NVIDIA_TESLA_T4, NVIDIA_TESLA_V100, NVIDIA_TESLA_P100 or NVIDIA_TESLA_P4)',
    ]);
    expect(lines(machine({ accelerator_type: 'NVIDIA_TESLA_K80', accelerator_count: 1 }))).toEqual([
      'spec.worker_pool_specs[0].machine_spec.accelerator_type: `n1-standard-4` (N1 general purpose, takes T4, V100, P100 or P4 GPUs) takes NVIDIA_TESLA_T4, NVIDIA_TESLA_V100, NVIDIA_TESLA_P100 or NVIDIA_TESLA_P4, not `NVIDIA_TESLA_K80`',
      'spec.worker_pool_specs[0].machine_spec.accelerator_type: warning: NVIDIA_TESLA_K80 is deprecated by Vertex AI (end of support: https://cloud.google.com/compute/docs/eol/k80-eol); pick a newer GPU',
    ]);
    expect(lines(machine({ accelerator_type: 'a100', accelerator_count: 1 }))[0]).toContain(
      'invalid value `a100` (did you mean `NVIDIA_TESLA_A100` or `NVIDIA_A100_80GB`?); allowed values: ACCELERATOR_TYPE_UNSPECIFIED, NVIDIA_TESLA_K80,',
    );
  });

  test('keys in both spec and run must agree; run may repeat an equal value', () => {
    const sa = 'trainer@p.iam.gserviceaccount.com';
    expect(validateQueueConfig(valid({ service_account: sa }, { service_account: sa })).ok).toBe(true);
    expect(validateQueueConfig(valid({ service_account: sa })).ok).toBe(true);
    expect(validateQueueConfig(valid({}, { service_account: sa })).ok).toBe(true);
    expect(
      lines(
        valid(
          { service_account: sa, enable_web_access: true, psc_interface_config: { network_attachment: 'a' } },
          {
            service_account: 'other@p.iam.gserviceaccount.com',
            enable_web_access: false,
            psc_interface_config: { network_attachment: 'b' },
          },
        ),
      ),
    ).toEqual([
      'run.service_account: conflicts with `spec.service_account` (`trainer@p.iam.gserviceaccount.com` vs `other@p.iam.gserviceaccount.com`): set it in one place, or to the same value',
      'run.enable_web_access: conflicts with `spec.enable_web_access`: set it in one place, or to the same value',
      'run.psc_interface_config: conflicts with `spec.psc_interface_config`: set it in one place, or to the same value',
    ]);
  });

  test('formats: bucket, network, CMEK key, tensorboard, durations', () => {
    expect(
      lines(
        valid(
          {
            staging_bucket: 'My Bucket',
            network: 'training-vpc',
            encryption_spec_key_name: 'my-key',
            base_output_dir: '/tmp/out',
          },
          { tensorboard: '777', timeout: 0, max_wait_duration: '-5m', service_account: 'sa@p.iam.gserviceaccount.com' },
        ),
      ),
    ).toMatchInlineSnapshot(`
      [
        "spec.staging_bucket: must be a Cloud Storage bucket: \`gs://my-bucket\` or \`my-bucket\` (lowercase letters, digits, \`-\`, \`_\`, \`.\`)",
        "spec.base_output_dir: must be a \`gs://\` URI",
        "spec.encryption_spec_key_name: must be a Cloud KMS key name \`projects/<p>/locations/<l>/keyRings/<ring>/cryptoKeys/<key>\`",
        "spec.network: must be a full network name \`projects/<project-number>/global/networks/<network>\`",
        "run.tensorboard: must be a Tensorboard resource name \`projects/<p>/locations/<region>/tensorboards/<id>\`",
        "run.max_wait_duration: must be a duration: seconds (3600) or a string like "3600s", "90m", "2h" or "1h30m"",
        "run.timeout: must be greater than 0 (leave it out for the Vertex default of 7 days)",
        "run.max_wait_duration: warning: only applies with \`scheduling_strategy: FLEX_START\`",
      ]
    `);
  });

  test('labels: sent as written; what Vertex would refuse is an error naming it, international letters pass', () => {
    expect(
      validateQueueConfig(valid({ labels: { owner: 'josé', équipe: 'ml', チーム: 'ビジョン', env: '' } })).issues,
    ).toEqual([]);
    expect(
      lines(
        valid({
          labels: {
            Team: 'ml',
            cost: 'R&D 42',
            'vertex-launch-run-id': 'r',
            'aiplatform.googleapis.com/x': 'y',
            '1st': 'ok',
            long: 'x'.repeat(64),
            run: '${run_id}',
          },
        }),
      ),
    ).toEqual([
      'spec.labels.Team: label keys are lowercase: use `team`',
      'spec.labels.cost: label values may only hold lowercase letters (international ones too), digits, `_` and `-`, not `&` or a space',
      'spec.labels.vertex-launch-run-id: labels starting with `vertex-launch-` are set by Vertex Launch; pick another key',
      'spec.labels["aiplatform.googleapis.com/x"]: labels starting with `aiplatform.googleapis.com/` are reserved for Vertex\'s system labels',
      'spec.labels["1st"]: label keys start with a lowercase letter (international letters too)',
      'spec.labels.long: label values are at most 63 characters; this one has 64',
    ]);
    // The limit counts characters: 63 letters of 2 UTF-16 units each pass, 64 do not.
    expect(validateQueueConfig(valid({ labels: { script: '𝒶'.repeat(63) } })).issues).toEqual([]);
    expect(lines(valid({ labels: { script: '𝒶'.repeat(64) } }))).toEqual([
      'spec.labels.script: label values are at most 63 characters; this one has 64',
    ]);
    const many = Object.fromEntries(Array.from({ length: 61 }, (_, i) => [`k${i}`, 'v']));
    expect(lines(valid({ labels: many }))).toEqual([
      'spec.labels: has 61 labels; Vertex allows 64 and the launch adds 4, so at most 60',
    ]);
  });

  test('experiment and tensorboard exclude each other; experiment_run needs experiment', () => {
    expect(
      lines(
        valid(
          {},
          { experiment: 'exp', tensorboard: 'projects/p/locations/r/tensorboards/1', service_account: 'a@b.c' },
        ),
      ),
    ).toEqual([
      'run.tensorboard: `experiment` and `tensorboard` cannot be set together: an experiment uses its own backing TensorBoard',
    ]);
    expect(lines(valid({ experiment_run: 'r1' }))).toEqual(['spec.experiment_run: needs `experiment`']);
  });

  test('macros: known ones pass, unknown ones list the known ones, $${ is a literal', () => {
    const args = (a: string[]) =>
      valid({ worker_pool_specs: [{ ...pool, container_spec: { image_uri: 'img', args: a } }] });
    expect(validateQueueConfig(args(['${run_id}', '${env:TOKEN}', 'echo $${HOME}', '${ region }'])).ok).toBe(true);
    expect(lines(args(['${entity_name}', '${env:1BAD}', 'x ${run_id']))).toMatchInlineSnapshot(`
      [
        "spec.worker_pool_specs[0].container_spec.args[0]: unknown macro \`\${entity_name}\`; known macros: \${image_uri}, \${run_id}, \${run_name}, \${queue_name}, \${project_name}, \${region}, \${launch_id} and \${env:NAME}. Write \`$\${\` for a literal \`\${\`",
        "spec.worker_pool_specs[0].container_spec.args[1]: \`\${env:1BAD}\` is not a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*)",
        "spec.worker_pool_specs[0].container_spec.args[2]: unterminated macro \`\${run_id\`: close it with \`}\` (or write \`$\${\` for a literal \`\${\`)",
      ]
    `);
  });

  test('template variables: defaults fill `{{name}}` for checking; undeclared names and bad defaults are errors', () => {
    const config = {
      template_variables: {
        replicas: { type: 'integer', minimum: 1, maximum: 8, default: 2 },
        machine: { type: 'string', description: 'machine type' },
        bad: { type: 'integer', default: 'many', enum: [1, 'x'] },
      },
      spec: {
        worker_pool_specs: [
          { ...pool, machine_spec: { machine_type: '{{machine}}' }, replica_count: '{{ replicas }}' },
          { ...pool, replica_count: '{{replica}}' },
        ],
        staging_bucket: 'my-bucket',
      },
    };
    expect(lines(config)).toMatchInlineSnapshot(`
      [
        "template_variables.bad.enum[1]: variable \`bad\` must be an integer, got "x"",
        "template_variables.bad.default: the default is invalid: variable \`bad\` must be an integer, got "many"",
        "template_variables.machine: warning: has no default: every launch must set it (--set-var machine=...)",
        "spec.worker_pool_specs[1].replica_count: undeclared template variable \`{{replica}}\` (did you mean \`{{replicas}}\`?): declared variables: replicas, machine, bad",
        "spec.worker_pool_specs[1].replica_count: must be a number, got a string",
        "spec.worker_pool_specs[0].replica_count: the first pool is the chief and must have exactly 1 replica, not 2: put the other 1 in pool 1 (the workers)",
      ]
    `);
  });

  test('allowed_overrides entries must be queue config paths', () => {
    expect(
      lines({
        ...valid(),
        allowed_overrides: [
          'run.timeout',
          'spec.labels',
          'run.timout',
          'template_variables',
          'spec.worker_pool_specs[0]',
        ],
      }),
    ).toMatchInlineSnapshot(`
      [
        "allowed_overrides[2]: \`run.timout\` is not a queue config path: \`run\` has no key \`timout\` (did you mean \`timeout\`?)",
        "allowed_overrides[3]: \`template_variables\` must start with \`spec.\` or \`run.\`",
        "allowed_overrides[4]: \`spec.worker_pool_specs[0]\` must be a dotted path of keys without list indices (overrides replace lists whole)",
      ]
    `);
  });

  test('formatConfigIssues prefixes the file and marks warnings', () => {
    expect(
      formatConfigIssues(
        [
          { path: 'spec.staging_bucket', message: 'is required', severity: 'error' },
          { path: '', message: 'odd', severity: 'warning' },
        ],
        'queue.yaml',
      ),
    ).toBe('queue.yaml: spec.staging_bucket: is required\nqueue.yaml: (top level): warning: odd');
  });
});
