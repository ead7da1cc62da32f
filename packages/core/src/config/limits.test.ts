// `limits`: the queue's cost guardrails, judged wherever a config is resolved — overrides and variables included.
import { describe, expect, test } from 'vitest';
import { CONTEXT } from '../__fixtures__/queue-configs.js';
import { resolveQueueConfigResult } from './resolve.js';
import { formatConfigIssues, validateQueueConfig } from './validate.js';

const gpuPool = (replicas: number | string, count: 1 | 2) => ({
  machine_spec: {
    machine_type: count === 1 ? 'g2-standard-8' : 'g2-standard-24',
    accelerator_type: 'NVIDIA_L4',
    accelerator_count: count,
  },
  replica_count: replicas,
  container_spec: { image_uri: '${image_uri}' },
});
const config = (limits: Record<string, unknown>, run: Record<string, unknown> = {}, pools = [gpuPool(1, 1)]) => ({
  template_variables: { replicas: { type: 'integer', minimum: 1, maximum: 16, default: 1 } },
  allowed_overrides: ['run.timeout'],
  spec: { worker_pool_specs: pools, staging_bucket: 'gs://my-bucket' },
  run,
  limits,
});
const errors = (raw: unknown) =>
  validateQueueConfig(raw)
    .issues.filter((i) => i.severity === 'error')
    .map((i) => formatConfigIssues([i]));

describe('limits', () => {
  test('max_timeout: a launch without run.timeout, or above the limit, is refused naming both', () => {
    expect(errors(config({ max_timeout: '4h' }))).toEqual([
      'run.timeout: is required by `limits.max_timeout` (4h): set `run.timeout` to at most that',
    ]);
    expect(errors(config({ max_timeout: '4h' }, { timeout: '5h' }))).toEqual([
      'run.timeout: 5h is above `limits.max_timeout` (4h): lower it, or raise the limit',
    ]);
    expect(errors(config({ max_timeout: '4h' }, { timeout: '4h' }))).toEqual([]);
  });

  test('max_accelerator_hours: replicas x accelerators x timeout over every pool', () => {
    // The chief's 1 x 1 + the workers' 2 x 2 = 5 accelerators for 2 h = 10 accelerator-hours.
    const pools = [gpuPool(1, 1), gpuPool(2, 2)];
    expect(errors(config({ max_accelerator_hours: 10 }, { timeout: '2h' }, pools))).toEqual([]);
    expect(errors(config({ max_accelerator_hours: 9.5 }, { timeout: '2h' }, pools))).toEqual([
      'limits.max_accelerator_hours: this launch could spend 10 accelerator-hours (5 accelerators for `run.timeout` 2h), above the limit of 9.5: lower `run.timeout`, the replicas or the accelerators',
    ]);
    // Without run.timeout, Vertex's 7 days count.
    expect(errors(config({ max_accelerator_hours: 100 }))).toEqual([
      "limits.max_accelerator_hours: this launch could spend 168 accelerator-hours (1 accelerator for without `run.timeout`, Vertex's 7 days), above the limit of 100: lower `run.timeout`, the replicas or the accelerators",
    ]);
  });

  test('judged after variables and overrides are applied, so a launch cannot step around them', () => {
    const raw = config({ max_timeout: '4h', max_accelerator_hours: 8 }, { timeout: '1h' }, [
      gpuPool(1, 1),
      gpuPool('{{replicas}}', 1),
    ]);
    // As written ({{replicas}} unfilled) nothing is judged about the hours.
    expect(errors(raw)).toEqual([]);
    const launch = (variables: Record<string, string>, overrides?: unknown) =>
      resolveQueueConfigResult({ config: raw, variables, overrides, context: CONTEXT })
        .issues.filter((i) => i.severity === 'error')
        .map((i) => String(i.path));
    // 1 + 7 accelerators for 1 h = 8: at the limit; one replica more is over it.
    expect(launch({ replicas: '7' })).toEqual([]);
    expect(launch({ replicas: '8' })).toEqual(['limits.max_accelerator_hours']);
    // An override above max_timeout: refused, and its hours (2 accelerators for 5 h) are over the limit too.
    expect(launch({ replicas: '1' }, { run: { timeout: '5h' } })).toEqual([
      'run.timeout',
      'limits.max_accelerator_hours',
    ]);
  });

  test('the limits themselves are validated', () => {
    expect(errors(config({ max_timeout: 'soon' }, { timeout: '1h' }))[0]).toMatch(
      /^limits\.max_timeout: must be a duration/,
    );
    expect(errors(config({ max_accelerator_hours: 0 }, { timeout: '1h' }))).toEqual([
      'limits.max_accelerator_hours: must be a number of hours greater than 0',
    ]);
    expect(errors(config({ max_gpus: 1 }, { timeout: '1h' }))[0]).toMatch(/^limits\.max_gpus: /);
  });
});
