// Issue #11, part 1: property-based fuzzing of the launch-time inputs of a queue config — overrides (`--override`)
// and template variable values (`--set-var name=value`). Every combination resolves or throws a ConfigError whose
// issues each carry a path — never another exception, never a hang.
import { resolveQueueConfig } from '@vertex-launch/core/config';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  anyKey,
  anyShortString,
  expectConfigErrorWithIssues,
  fuzzOptions,
  mutated,
  pathologicalString,
  Tally,
  validQueueConfig,
  weirdObject,
  weirdValue,
} from './arbitraries.js';

const TOP_LEVEL = /queue config|wrapped under|nested more than|too large/;

/** Allowed override paths a queue may list. */
const OVERRIDE_PATHS = [
  'spec',
  'run',
  'run.timeout',
  'run.scheduling_strategy',
  'run.restart_job_on_worker_restart',
  'spec.labels',
  'spec.worker_pool_specs',
  'spec.base_output_dir',
  'spec.display_name',
  'spec.staging_bucket',
] as const;

const baseConfig = fc.record({
  config: validQueueConfig,
  allowed: fc.option(fc.subarray([...OVERRIDE_PATHS]), { nil: undefined }),
  workersMax: fc.integer({ min: 1, max: 64 }),
});

/** The queue config with typed template variables used in `spec` and `run`, and maybe `allowed_overrides`. */
function withVariables({
  config,
  allowed,
  workersMax,
}: {
  config: Record<string, unknown>;
  allowed?: string[];
  workersMax: number;
}) {
  const spec = structuredClone(config.spec) as Record<string, unknown> & {
    worker_pool_specs: Record<string, unknown>[];
  };
  spec.display_name = 'train-{{ name }}-{{lr}}';
  spec.worker_pool_specs[0]!.replica_count = 1;
  spec.worker_pool_specs.push({
    machine_spec: { machine_type: 'n1-standard-4' },
    replica_count: '{{workers}}',
    container_spec: { image_uri: '${image_uri}', args: ['--lr={{lr}}', '--mode', '{{mode}}'] },
  });
  return {
    spec,
    run: { ...(config.run as object), timeout: '{{timeout}}' },
    template_variables: {
      workers: { type: 'integer', minimum: 1, maximum: workersMax, default: 1 },
      lr: { type: 'number', minimum: 0, maximum: 1, default: 0.1 },
      name: { type: 'string', default: 'x' },
      mode: { type: 'string', enum: ['fast', 'slow'], default: 'fast' },
      timeout: { type: 'string', default: '2h' },
    },
    ...(allowed === undefined ? {} : { allowed_overrides: allowed }),
  };
}

/** Launch values: declared and unknown names, numbers, ranges, `${env:..}`, pathological text. */
const variableValue = fc.oneof(
  fc.integer({ min: -100, max: 100 }).map(String),
  fc.double().map(String),
  fc.constantFrom(
    '',
    ' ',
    '1e308',
    '-0',
    '0x10',
    '1.0',
    'Infinity',
    'NaN',
    'fast',
    'slow',
    '2h',
    '${env:HOME}',
    '{env:HOME}',
    '${run_id}',
    '{{workers}}',
  ),
  anyShortString,
  pathologicalString,
);
const variables = fc.dictionary(
  fc.oneof(fc.constantFrom('workers', 'lr', 'name', 'mode', 'timeout'), anyKey),
  variableValue,
  { maxKeys: 5 },
);

/** Overrides: well-formed partial configs (mutated), random trees, non-objects. */
const overrides = fc.oneof(
  {
    weight: 4,
    arbitrary: mutated(validQueueConfig).map((v) =>
      v && typeof v === 'object' && !Array.isArray(v)
        ? { run: (v as { run?: unknown }).run, spec: (v as { spec?: unknown }).spec }
        : v,
    ),
  },
  { weight: 2, arbitrary: fc.record({ spec: weirdObject(), run: weirdObject() }, { requiredKeys: [] }) },
  { weight: 1, arbitrary: weirdObject() },
  { weight: 1, arbitrary: weirdValue },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

describe('overrides and template variable values fuzz', () => {
  test('every launch resolves or gives config errors with paths', () => {
    const tally = new Tally('overrides + template values fuzz');
    let refusedOverrides = 0;
    let refusedValues = 0;
    fc.assert(
      fc.property(baseConfig, variables, overrides, (base, vars, over) => {
        tally.generated++;
        const config = withVariables(base as never);
        const out = tally.run(() =>
          resolveQueueConfig({
            config,
            variables: vars,
            overrides: over,
            context: { project: 'my-project', region: 'us-central1', runId: 'r1', launchId: 'l1', imageUri: 'img:1' },
            env: { HOME: '/home/secret-home' },
          }),
        );
        if (out.ok) {
          tally.valid++;
          // Nothing of the environment crossed over from a launch value or an override.
          expect(JSON.stringify(out.value)).not.toContain('/home/secret-home');
          return;
        }
        expectConfigErrorWithIssues(out.error, TOP_LEVEL);
        if (out.error.issues.some((i) => i.path.startsWith('overrides'))) refusedOverrides++;
        if (out.error.issues.some((i) => i.path.startsWith('template_variables'))) refusedValues++;
        expect(out.error.message).not.toContain('/home/secret-home');
        tally.configErrors++;
      }),
      fuzzOptions(2000),
    );
    tally.print({ 'with override issues': refusedOverrides, 'with variable issues': refusedValues });
    expect(tally.crashes + tally.slow).toBe(0);
  });
});
