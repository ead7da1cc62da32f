import { describe, expect, test } from 'vitest';
import { CONTEXT, ENV, RICH_YAML } from '../__fixtures__/queue-configs.js';
import { ConfigError } from '../errors.js';
import { parseConfigText } from './load.js';
import { type ResolveQueueConfigInput, resolveQueueConfig, resolveQueueConfigResult } from './resolve.js';
import { formatConfigIssues } from './validate.js';

const pool = { machine_spec: { machine_type: 'n1-standard-4' }, container_spec: { image_uri: '${image_uri}' } };
const base = {
  template_variables: {
    replicas: { type: 'integer', minimum: 1, maximum: 8, default: 1 },
    lr: { type: 'number', minimum: 0, maximum: 1 },
    size: { type: 'string', enum: ['small', 'large'], default: 'small' },
  },
  spec: {
    worker_pool_specs: [
      { ...pool, container_spec: { image_uri: '${image_uri}', args: ['--lr={{lr}}', '--size', '{{size}}'] } },
      { ...pool, replica_count: '{{replicas}}' },
    ],
    staging_bucket: 'my-bucket',
    labels: { run: '${run_name}', queue: '${queue_name}' },
  },
  run: { timeout: '1h' },
};
const errors = (input: Partial<ResolveQueueConfigInput>) =>
  formatConfigIssues(
    resolveQueueConfigResult({ config: base, context: CONTEXT, env: ENV, ...input }).issues.filter(
      (i) => i.severity === 'error',
    ),
  ).split('\n');

describe('resolveQueueConfig', () => {
  test('fills typed variables, then macros; a whole `{{n}}` becomes the typed value', () => {
    const config = resolveQueueConfig({ config: base, variables: { lr: '0.01', replicas: '4' }, context: CONTEXT });
    expect(config.spec.worker_pool_specs[1]?.replica_count).toBe(4);
    expect(config.spec.worker_pool_specs[0]?.container_spec).toEqual({
      image_uri: CONTEXT.imageUri,
      args: ['--lr=0.01', '--size', 'small'],
    });
    expect(config.spec.labels).toEqual({ run: 'baseline', queue: 'gpu-queue' });
    expect(config.run?.timeout).toBe(3600);
  });

  test('a typed variable that is a whole arg becomes a string arg', () => {
    const config = resolveQueueConfig({
      config: {
        ...base,
        spec: {
          ...base.spec,
          worker_pool_specs: [
            { ...pool, container_spec: { image_uri: 'i', args: ['--replicas', '{{replicas}}', 3, true] } },
          ],
        },
      },
      variables: { lr: '0.1', replicas: '4' },
      context: CONTEXT,
    });
    expect(config.spec.worker_pool_specs[0]?.container_spec?.args).toEqual(['--replicas', '4', '3', 'true']);
  });

  test('a bad variable value names the variable and the rule; missing required and unknown ones are named', () => {
    expect(errors({ variables: { lr: '2', replicas: '2.5', size: 'huge', lrr: '1' } })).toMatchInlineSnapshot(`
      [
        "template_variables.lr: variable \`lr\` must be at most 1 (maximum), got 2",
        "template_variables.replicas: variable \`replicas\` must be an integer, got "2.5"",
        "template_variables.size: variable \`size\` must be one of "small", "large" (enum), got "huge"",
        "template_variables: launch value for unknown variable \`lrr\` (did you mean \`lr\`?); declared variables: replicas, lr, size",
        "spec.worker_pool_specs[1].replica_count: must be a number, got a string",
      ]
    `);
    expect(errors({ variables: {} })).toEqual([
      'template_variables.lr: variable `lr` has no default and no launch value: set it (--set-var lr=...)',
    ]);
  });

  test('typed launch values from plain JS: numbers work, wrong types are named (never a crash)', () => {
    // `variables: { epochs: 5 }` from JavaScript: a number for a number variable is the value itself.
    const config = resolveQueueConfig({ config: base, variables: { lr: 0.01, replicas: 4 }, context: CONTEXT });
    expect(config.spec.worker_pool_specs[1]?.replica_count).toBe(4);
    expect(config.spec.worker_pool_specs[0]?.container_spec?.args).toEqual(['--lr=0.01', '--size', 'small']);
    // The rules still hold for numbers, and other types are refused with the variable's name.
    const bad = { lr: 5, replicas: true, size: { big: 1 } } as unknown as Record<string, string>;
    expect(errors({ variables: bad })).toEqual([
      'template_variables.lr: variable `lr` must be at most 1 (maximum), got 5',
      'template_variables.replicas: variable `replicas` (integer) must be given as a number or a numeric string, got boolean true',
      'template_variables.size: variable `size` (string) must be given as a string, got an object',
      // The refused value leaves `{{replicas}}` unfilled, as a refused string does.
      'spec.worker_pool_specs[1].replica_count: must be a number, got a string',
    ]);
    expect(errors({ variables: 'lr=1' as never })[0]).toBe(
      'template_variables: the launch values must be an object of name: value, got a string',
    );
  });

  test('overrides deep-merge into spec/run: objects merge, arrays replace, null removes', () => {
    const config = resolveQueueConfig({
      config: base,
      variables: { lr: '0.1' },
      overrides: {
        spec: { labels: { team: 'ml' }, worker_pool_specs: [{ ...pool, replica_count: 1 }] },
        run: { timeout: null, scheduling_strategy: 'SPOT', service_account: 'sa-${run_id}@p.iam.gserviceaccount.com' },
      },
      context: CONTEXT,
    });
    expect(config.spec.labels).toEqual({ run: 'baseline', queue: 'gpu-queue', team: 'ml' });
    expect(config.spec.worker_pool_specs).toHaveLength(1);
    expect(config.run).toEqual({
      scheduling_strategy: 'SPOT',
      service_account: 'sa-run-20261129-a1b2@p.iam.gserviceaccount.com',
    });
  });

  test('overrides are validated after the merge and limited to allowed_overrides', () => {
    expect(
      errors({
        variables: { lr: '0.1' },
        overrides: { run: { timeout: 'soon' }, spec: { workerPoolSpecs: [] } },
      }),
    ).toMatchInlineSnapshot(`
      [
        "spec.workerPoolSpecs: unknown key \`workerPoolSpecs\`: queue configs use the Python SDK's snake_case names — use \`worker_pool_specs\`",
        "run.timeout: must be a duration: seconds (3600) or a string like "3600s", "90m", "2h" or "1h30m"",
      ]
    `);
    expect(
      errors({
        config: { ...base, allowed_overrides: ['run.timeout', 'spec.labels'] },
        variables: { lr: '0.1' },
        overrides: {
          run: { timeout: '2h', scheduling_strategy: 'SPOT' },
          spec: { labels: { a: 'b' }, staging_bucket: 'x' },
          template_variables: {},
        },
      }),
    ).toMatchInlineSnapshot(`
      [
        "overrides.template_variables: launch overrides may only change \`spec\` and \`run\`, not \`template_variables\`",
        "overrides.run.scheduling_strategy: this queue does not allow overriding \`run.scheduling_strategy\`; allowed_overrides: run.timeout, spec.labels",
        "overrides.spec.staging_bucket: this queue does not allow overriding \`spec.staging_bucket\`; allowed_overrides: run.timeout, spec.labels",
      ]
    `);
  });

  test('${env:...} reads the environment in the queue config, but never from overrides or variable values', () => {
    const config = { ...base, spec: { ...base.spec, labels: { entity: '${env:WANDB_ENTITY}' } } };
    const resolved = resolveQueueConfig({ config, variables: { lr: '0.1' }, context: CONTEXT, env: ENV });
    expect(resolved.spec.labels).toEqual({ entity: 'research-team' });
    expect(
      errors({
        config: {
          ...base,
          template_variables: { ...base.template_variables, prefix: { type: 'string' } },
          spec: { ...base.spec, display_name: 'x{{prefix}}{env:HOME}' },
        },
        variables: { lr: '0.1', prefix: '$' },
        overrides: { spec: { labels: { token: '${env:WANDB_ENTITY}' } } },
      }),
    ).toMatchInlineSnapshot(`
      [
        "spec.display_name: template variable values may not form an \`\${env:...}\` macro",
        "overrides.spec.labels.token: \`\${env:WANDB_ENTITY}\` is not allowed in launch overrides: only the queue config may read the launcher's environment",
      ]
    `);
    expect(errors({ variables: { lr: '${env:HOME}' } })[0]).toBe(
      'template_variables.lr: variable `lr`: `${env:...}` is not allowed in launch values',
    );
    const missing = errors({
      config: { ...base, spec: { ...base.spec, labels: { x: '${env:NOPE}' } } },
      variables: { lr: '0' },
    });
    expect(missing).toEqual([
      'spec.labels.x: `${env:NOPE}`: environment variable NOPE is not set where the launch runs',
    ]);
  });

  test('macros without a value in the context are named with the fix', () => {
    const { imageUri: _image, queueName: _queue, ...context } = CONTEXT;
    expect(errors({ variables: { lr: '0' }, context })).toEqual([
      'spec.worker_pool_specs[0].container_spec.image_uri: `${image_uri}` cannot be filled: this launch has no image: pass one (--image) or let the launch build it',
      'spec.worker_pool_specs[1].container_spec.image_uri: `${image_uri}` cannot be filled: this launch has no image: pass one (--image) or let the launch build it',
      'spec.labels.queue: `${queue_name}` cannot be filled: this launch has no queue name: launch through a queue or stop using ${queue_name}',
    ]);
  });

  test('throws one ConfigError with every issue, naming the file', () => {
    let thrown: unknown;
    try {
      resolveQueueConfig({ config: { spec: { staging_bucket: '<REQUIRED>' } }, context: CONTEXT, file: 'queue.yaml' });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    const error = thrown as ConfigError;
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.file).toBe('queue.yaml');
    expect(error.message).toMatchInlineSnapshot(`
      "Invalid queue config queue.yaml (2 problems):
      queue.yaml: spec.worker_pool_specs: is required: add \`spec.worker_pool_specs\` with at least one pool (machine_spec + container_spec)
      queue.yaml: spec.staging_bucket: still holds the placeholder \`<REQUIRED>\`: set \`spec.staging_bucket\` to your Cloud Storage bucket (\`gs://my-bucket\` or \`my-bucket\`)"
    `);
    expect(error.issues.map((i) => i.path)).toEqual(['spec.worker_pool_specs', 'spec.staging_bucket']);
  });

  test('the rich fixture resolves without a warning', () => {
    const result = resolveQueueConfigResult({ config: parseConfigText(RICH_YAML), context: CONTEXT, env: ENV });
    expect(result.ok).toBe(true);
    expect(result.issues).toEqual([]);
  });
});
