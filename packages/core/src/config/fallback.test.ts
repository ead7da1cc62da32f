// `retry` and `fallback`: what the next attempt of a launch that failed for want of capacity runs with, checked up
// front like the queue config itself.
import { describe, expect, test } from 'vitest';
import {
  applyRung,
  applyRungToOverrides,
  crossRegionImageNote,
  describeRung,
  retryDelayMs,
  retryPolicyOf,
  rungCount,
} from './fallback.js';
import { formatConfigIssues, validateQueueConfig } from './validate.js';

const pool = (accelerator: boolean, image = '${image_uri}') => ({
  machine_spec: accelerator
    ? { machine_type: 'a2-highgpu-1g', accelerator_type: 'NVIDIA_TESLA_A100', accelerator_count: 1 }
    : { machine_type: 'n1-standard-4' },
  replica_count: 1,
  container_spec: { image_uri: image },
});
const base = (extra: Record<string, unknown> = {}, pools = [pool(true), pool(false)]) => ({
  spec: { worker_pool_specs: pools, staging_bucket: 'gs://train-us-central1' },
  run: { timeout: '2h' },
  ...extra,
});
const issues = (raw: unknown, severity: 'error' | 'warning' = 'error') =>
  validateQueueConfig(raw)
    .issues.filter((i) => i.severity === severity)
    .map((i) => formatConfigIssues([i]));

describe('applyRung', () => {
  const config = base({
    fallback: [
      {
        region: 'europe-west4',
        staging_bucket: 'gs://train-europe-west4',
        machine_spec: { machine_type: 'g2-standard-8', accelerator_type: 'NVIDIA_L4', accelerator_count: 1 },
      },
      { scheduling_strategy: 'FLEX_START', max_wait_duration: '1h' },
      { reservation: 'projects/p/zones/us-central1-a/reservations/a100s' },
    ],
  });

  test('rung 0 is the config as written; N applies fallback[N-1] only (alternatives do not add up)', () => {
    expect(rungCount(config)).toBe(4);
    expect(applyRung(config, 0)).toEqual({ config });
    const one = applyRung(config, 1);
    expect(one.region).toBe('europe-west4');
    const spec = one.config.spec as { staging_bucket: string; worker_pool_specs: { machine_spec: unknown }[] };
    expect(spec.staging_bucket).toBe('gs://train-europe-west4');
    // The machine goes to the pool that had an accelerator; the CPU-only pool keeps its own.
    expect(spec.worker_pool_specs.map((p) => p.machine_spec)).toEqual([
      { machine_type: 'g2-standard-8', accelerator_type: 'NVIDIA_L4', accelerator_count: 1 },
      { machine_type: 'n1-standard-4' },
    ]);
    const two = applyRung(config, 2);
    expect(two.region).toBeUndefined();
    expect(two.config.run).toEqual({ timeout: '2h', scheduling_strategy: 'FLEX_START', max_wait_duration: '1h' });
    expect((two.config.spec as { staging_bucket: string }).staging_bucket).toBe('gs://train-us-central1');
    const three = applyRung(config, 3).config.spec as {
      worker_pool_specs: { machine_spec: Record<string, unknown> }[];
    };
    expect(three.worker_pool_specs[0]?.machine_spec.reservation_affinity).toEqual({
      reservation_affinity_type: 'SPECIFIC_RESERVATION',
      key: 'compute.googleapis.com/reservation-name',
      values: ['projects/p/zones/us-central1-a/reservations/a100s'],
    });
    expect(applyRung(config, 9)).toEqual({ config });
  });

  test('launch overrides of the pools or the strategy get the rung too, other overrides are left alone', () => {
    const overrides = {
      spec: { worker_pool_specs: [pool(true)] },
      run: { scheduling_strategy: 'SPOT', timeout: '1h' },
    };
    const one = applyRungToOverrides(overrides, config, 1) as typeof overrides;
    expect(one.spec.worker_pool_specs[0]?.machine_spec).toEqual({
      machine_type: 'g2-standard-8',
      accelerator_type: 'NVIDIA_L4',
      accelerator_count: 1,
    });
    expect(one.run).toEqual({ scheduling_strategy: 'SPOT', timeout: '1h' });
    expect((applyRungToOverrides(overrides, config, 2) as typeof overrides).run).toEqual({
      scheduling_strategy: 'FLEX_START',
      timeout: '1h',
    });
    expect(applyRungToOverrides({ run: { timeout: '1h' } }, config, 1)).toEqual({ run: { timeout: '1h' } });
    expect(applyRungToOverrides(overrides, config, 0)).toBe(overrides);
  });

  test('describeRung names what a rung runs on', () => {
    expect(describeRung(config, 0)).toBe('the queue config');
    expect(describeRung(config, 1)).toBe('fallback rung 1 (region europe-west4, g2-standard-8 with 1 NVIDIA_L4)');
    expect(describeRung(config, 2)).toBe('fallback rung 2 (FLEX_START)');
  });
});

describe('validation of retry and fallback', () => {
  test('a valid ladder and retry budget validate', () => {
    const config = base({
      retry: { on: ['preempted', 'stockout'], max_attempts: 4, backoff: '1m' },
      fallback: [
        {
          region: 'europe-west4',
          staging_bucket: 'gs://train-europe-west4',
          machine_spec: { machine_type: 'g2-standard-8', accelerator_type: 'NVIDIA_L4', accelerator_count: 1 },
        },
      ],
    });
    expect(issues(config)).toEqual([]);
    expect(retryPolicyOf(config)).toEqual({ on: ['preempted', 'stockout'], maxAttempts: 4, backoffMs: 60_000 });
  });

  test('an alternative is checked like the config: its problems are reported under fallback[i]', () => {
    const bad = base({
      fallback: [
        { region: 'europe-west4' },
        { machine_spec: { machine_type: 'g2-standard-8', accelerator_type: 'NVIDIA_TESLA_T4', accelerator_count: 1 } },
        { scheduling_strategy: 'FLEX_START', max_wait_duration: '8d' },
      ],
    });
    const found = issues(bad);
    expect(found).toContain(
      "fallback[0].staging_bucket: is required with `region: europe-west4`: Vertex wants the staging bucket in the job's region; set a bucket in europe-west4 (or a multi-region covering it)",
    );
    expect(
      found.some((line) =>
        /^fallback\[1\]: with this alternative applied, spec\.worker_pool_specs\[0\]\.machine_spec/.test(line),
      ),
    ).toBe(true);
    expect(found.some((line) => line.startsWith('fallback[2].max_wait_duration:'))).toBe(true);
  });

  test('unknown keys, classes and counts name the key and the allowed values', () => {
    const found = issues(
      base({ retry: { on: ['user_code'], max_attempts: 0 }, fallback: [{ regoin: 'europe-west4' }] }),
    );
    expect(found.some((line) => line.startsWith('retry.on[0]:') && line.includes('preempted'))).toBe(true);
    expect(found.some((line) => line.startsWith('retry.max_attempts:'))).toBe(true);
    expect(found.some((line) => line.startsWith('fallback[0]') && line.includes('region'))).toBe(true);
    expect(issues(base({ fallback: [] }))[0]).toContain('fallback: must list at least one alternative');
  });

  test('a regional image tried in another region is a warning that says so', () => {
    const image = 'us-central1-docker.pkg.dev/proj/train/trainer:1';
    const config = base({ fallback: [{ region: 'europe-west4', staging_bucket: 'gs://train-europe-west4' }] }, [
      pool(true, image),
    ]);
    expect(issues(config)).toEqual([]);
    expect(issues(config, 'warning')).toEqual([
      `fallback[0].region: warning: the image ${image} is in Artifact Registry in us-central1; a job in europe-west4 pulls it across regions (it works, but starts slower and pays egress): push a copy to europe-west4-docker.pkg.dev for this alternative`,
    ]);
    expect(crossRegionImageNote('us-docker.pkg.dev/p/r/i:1', 'us-east1')).toBeUndefined();
    expect(crossRegionImageNote('ghcr.io/p/i:1', 'europe-west4')).toBeUndefined();
  });

  test('retry defaults and the doubling backoff, capped at 10 minutes', () => {
    const policy = retryPolicyOf(base({ retry: {} }));
    expect(policy).toEqual({ on: ['preempted', 'stockout'], maxAttempts: 3, backoffMs: 30_000 });
    expect([1, 2, 3, 6].map((n) => retryDelayMs(policy!, n))).toEqual([30_000, 60_000, 120_000, 600_000]);
    expect(retryPolicyOf(base())).toBeUndefined();
  });
});
