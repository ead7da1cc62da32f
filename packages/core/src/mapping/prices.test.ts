// A price table of the user's own, and what a spend bound costs at its prices.
import { describe, expect, test } from 'vitest';
import { describePricedSpend, parsePriceTable, priceSpend } from './prices.js';
import type { SpendBound } from './spend.js';

const bound = (pools: SpendBound['pools'], hours = 2): SpendBound => ({
  acceleratorHours: pools.reduce((sum, p) => sum + p.acceleratorHours, 0),
  replicaHours: pools.reduce((sum, p) => sum + p.replicas * hours, 0),
  timeoutSeconds: hours * 3600,
  timeoutFrom: 'run.timeout',
  pools,
});

describe('priceSpend', () => {
  test('replica-hours x machine price + accelerator-hours x accelerator price, per pool and in all', () => {
    const priced = priceSpend(
      bound([
        {
          pool: 0,
          machineType: 'a2-highgpu-2g',
          replicas: 1,
          acceleratorType: 'NVIDIA_TESLA_A100',
          acceleratorCount: 2,
          acceleratorHours: 4,
        },
        {
          pool: 1,
          machineType: 'a2-highgpu-2g',
          replicas: 3,
          acceleratorType: 'NVIDIA_TESLA_A100',
          acceleratorCount: 2,
          acceleratorHours: 12,
        },
        { pool: 2, machineType: 'n1-highmem-16', replicas: 0, acceleratorCount: 0, acceleratorHours: 0 },
      ]),
      parsePriceTable({ machines: { 'a2-highgpu-2g': 1.1 }, accelerators: { NVIDIA_TESLA_A100: 2.9 } }),
    );
    // Pool 0: 1 x 2 h x 1.1 + 4 x 2.9 = 13.8; pool 1: 3 x 2 x 1.1 + 12 x 2.9 = 41.4; pool 2 has no replicas.
    expect(priced).toEqual({
      currency: 'USD',
      total: 55.2,
      pools: [
        { pool: 0, cost: 13.8 },
        { pool: 1, cost: 41.4 },
        { pool: 2, cost: 0 },
      ],
      missing: [],
    });
    expect(describePricedSpend(priced)).toBe('at most 55.20 USD at the prices given');
  });

  test('a pool whose machine or accelerator has no price is left out and named, never counted as free', () => {
    const priced = priceSpend(
      bound([
        {
          pool: 0,
          machineType: 'g2-standard-8',
          replicas: 1,
          acceleratorType: 'NVIDIA_L4',
          acceleratorCount: 1,
          acceleratorHours: 2,
        },
        { pool: 1, machineType: 'n1-standard-4', replicas: 1, acceleratorCount: 0, acceleratorHours: 0 },
      ]),
      parsePriceTable({ currency: 'EUR', machines: { 'g2-standard-8': 0.8, 'n1-standard-4': 0.2 } }),
    );
    expect(priced).toMatchObject({
      total: 0.4,
      pools: [
        { pool: 0, cost: undefined },
        { pool: 1, cost: 0.4 },
      ],
      missing: ['NVIDIA_L4'],
    });
    expect(describePricedSpend(priced)).toBe(
      'at most 0.40 EUR at the prices given, without the pools of NVIDIA_L4 (no price in the table)',
    );
  });

  test('a bad table names the file, every key and the format', () => {
    expect(() => parsePriceTable({ currency: 'dollars', accelerators: { l4: 1 }, zone: 'a' }, 'prices.yaml')).toThrow(
      /^prices\.yaml: 3 problems: currency: must be a three-letter currency code such as USD or EUR; accelerators\.l4: accelerator names are AcceleratorType names such as NVIDIA_L4; zone: unknown key/,
    );
    expect(parsePriceTable(undefined)).toEqual({});
  });
});
