import { describe, expect, test } from 'vitest';
import type { CreateCustomJobRequest, WorkerPoolSpecMessage } from './custom-job.js';
import { describeSpendBound, spendBound, VERTEX_DEFAULT_TIMEOUT_SECONDS } from './spend.js';

const request = (pools: WorkerPoolSpecMessage[], timeout?: string): CreateCustomJobRequest => ({
  parent: 'projects/p/locations/us-central1',
  customJob: {
    displayName: 'x',
    labels: {},
    jobSpec: {
      workerPoolSpecs: pools,
      baseOutputDirectory: { outputUriPrefix: 'gs://b/x' },
      ...(timeout ? { scheduling: { timeout: { seconds: timeout } } } : {}),
    },
  },
});

describe('spendBound', () => {
  test('replicas x accelerators x the timeout, over every pool', () => {
    const bound = spendBound(
      request(
        [
          {
            machineSpec: { machineType: 'g2-standard-8', acceleratorType: 'NVIDIA_L4', acceleratorCount: 1 },
            replicaCount: '1',
          },
          {
            machineSpec: { machineType: 'g2-standard-8', acceleratorType: 'NVIDIA_L4', acceleratorCount: 2 },
            replicaCount: '3',
          },
          { machineSpec: { machineType: 'n1-standard-4' }, replicaCount: '1' },
        ],
        '14400',
      ),
    );
    expect(bound).toMatchObject({
      acceleratorHours: 4 + 24,
      replicaHours: 20,
      timeoutSeconds: 14400,
      timeoutFrom: 'run.timeout',
    });
    expect(bound.pools.map((p) => p.acceleratorHours)).toEqual([4, 24, 0]);
    expect(describeSpendBound(bound)).toBe(
      'at most 28 accelerator-hours (1 x 1 NVIDIA_L4 + 3 x 2 NVIDIA_L4 for 4h of run.timeout)',
    );
  });

  test("without run.timeout the bound is Vertex's 7-day default, and says so", () => {
    const bound = spendBound(
      request([
        {
          machineSpec: { machineType: 'a2-highgpu-1g', acceleratorType: 'NVIDIA_TESLA_A100', acceleratorCount: 1 },
          replicaCount: '1',
        },
      ]),
    );
    expect(bound.timeoutSeconds).toBe(VERTEX_DEFAULT_TIMEOUT_SECONDS);
    expect(bound.acceleratorHours).toBe(168);
    expect(describeSpendBound(bound)).toBe(
      "at most 168 accelerator-hours (1 x 1 NVIDIA_TESLA_A100 for 168h of Vertex's default timeout (no run.timeout set))",
    );
  });

  test('a CPU-only job spends no accelerator-hours; a fractional timeout is kept', () => {
    const bound = spendBound(request([{ machineSpec: { machineType: 'n1-standard-4' }, replicaCount: '2' }], '5400'));
    expect(bound.acceleratorHours).toBe(0);
    expect(describeSpendBound(bound)).toBe('no accelerators; at most 3 replica-hours (1.5h of run.timeout)');
  });
});
