import { describe, expect, test } from 'vitest';
import {
  checkMachineSpec,
  closestMachineTypes,
  isKnownMachineType,
  KNOWN_MACHINE_TYPES,
  MACHINE_FAMILIES,
  type MachineSpecFields,
  machineFamilyOf,
} from './machine-types.js';

const problems = (spec: MachineSpecFields) =>
  checkMachineSpec(spec).map((p) => `${p.severity} ${p.field}: ${p.message}`);

describe('MACHINE_FAMILIES', () => {
  test('lists the current training series, each machine type under the series its name belongs to, once', () => {
    expect(MACHINE_FAMILIES.map((f) => f.family)).toEqual([
      'e2',
      'n2',
      'n1',
      'c2',
      'm1',
      'a4x-highgpu',
      'a4-highgpu',
      'a3-ultragpu',
      'a3-megagpu',
      'a3-highgpu',
      'a2-ultragpu',
      'a2-highgpu',
      'g4',
      'g2',
      'cloud-tpu',
      'ct4p',
      'ct5lp',
      'ct5p',
      'ct6e',
    ]);
    expect(new Set(KNOWN_MACHINE_TYPES).size).toBe(KNOWN_MACHINE_TYPES.length);
    for (const family of MACHINE_FAMILIES) {
      for (const type of family.machineTypes) expect(machineFamilyOf(type)?.family, type).toBe(family.family);
    }
    expect(KNOWN_MACHINE_TYPES).toEqual(
      expect.arrayContaining([
        'a4-highgpu-8g',
        'a4x-highgpu-4g',
        'g4-standard-48',
        'ct4p-hightpu-4t',
        'ct6e-standard-4t',
      ]),
    );
  });

  test('every GPU series names its built-in count for each of its machine types', () => {
    for (const family of MACHINE_FAMILIES.filter((f) => f.acceleratorRequired && !f.tpu)) {
      for (const type of family.machineTypes) expect(family.builtInCount?.(type), type).toBeGreaterThan(0);
    }
    const g2 = MACHINE_FAMILIES.find((f) => f.family === 'g2');
    expect(g2?.builtInCount?.('g2-standard-24')).toBe(2);
    expect(g2?.builtInCount?.('g2-standard-96')).toBe(8);
  });
});

describe('checkMachineSpec', () => {
  test.each<[string, MachineSpecFields]>([
    ['a CPU machine', { machine_type: 'n1-standard-4' }],
    [
      'no accelerator, spelled out',
      { machine_type: 'e2-standard-8', accelerator_type: 'ACCELERATOR_TYPE_UNSPECIFIED' },
    ],
    ['N1 with T4s', { machine_type: 'n1-standard-8', accelerator_type: 'NVIDIA_TESLA_T4', accelerator_count: 4 }],
    ['N1 with 8 V100s', { machine_type: 'n1-highmem-96', accelerator_type: 'NVIDIA_TESLA_V100', accelerator_count: 8 }],
    ['A2', { machine_type: 'a2-highgpu-2g', accelerator_type: 'NVIDIA_TESLA_A100', accelerator_count: 2 }],
    ['A2 Ultra', { machine_type: 'a2-ultragpu-1g', accelerator_type: 'NVIDIA_A100_80GB', accelerator_count: 1 }],
    ['A3 Mega', { machine_type: 'a3-megagpu-8g', accelerator_type: 'NVIDIA_H100_MEGA_80GB', accelerator_count: 8 }],
    ['A4X', { machine_type: 'a4x-highgpu-4g', accelerator_type: 'NVIDIA_GB200', accelerator_count: 4 }],
    ['G2 with 2 L4s', { machine_type: 'g2-standard-24', accelerator_type: 'NVIDIA_L4', accelerator_count: 2 }],
    ['G4', { machine_type: 'g4-standard-48', accelerator_type: 'NVIDIA_RTX_PRO_6000', accelerator_count: 1 }],
    ['TPU v3', { machine_type: 'cloud-tpu', accelerator_type: 'TPU_V3', accelerator_count: 8 }],
    // The Python SDK's canonical v5e form: machine type and topology, no accelerator fields.
    ['TPU v5e, the SDK form', { machine_type: 'ct5lp-hightpu-4t', tpu_topology: '2x2' }],
    [
      'TPU v5e with its accelerator',
      {
        machine_type: 'ct5lp-hightpu-4t',
        accelerator_type: 'TPU_V5_LITEPOD',
        accelerator_count: 4,
        tpu_topology: '2x2',
      },
    ],
    ['TPU v5p', { machine_type: 'ct5p-hightpu-4t', tpu_topology: '2x2x1' }],
    ['TPU v6e', { machine_type: 'ct6e-standard-4t', tpu_topology: '2x2' }],
    [
      'a GPU partition of one A100',
      {
        machine_type: 'a2-highgpu-1g',
        accelerator_type: 'NVIDIA_TESLA_A100',
        accelerator_count: 1,
        gpu_partition_size: '1g.5gb',
      },
    ],
    ['a machine type filled at launch', { machine_type: '${env:MACHINE}', accelerator_type: 'NVIDIA_L4' }],
  ])('%s passes', (_, spec) => {
    expect(problems(spec)).toEqual([]);
  });

  test('a typo gets a did-you-mean, as a warning (the list may lag behind Vertex)', () => {
    expect(problems({ machine_type: 'n1-standrd-4' })).toEqual([
      'warning machine_type: `n1-standrd-4` is not a machine type Vertex AI custom training lists (https://cloud.google.com/vertex-ai/docs/training/configure-compute#machine-types); did you mean `n1-standard-4`?',
    ]);
    expect(closestMachineTypes('A2-HIGHGPU-1G')).toEqual(['a2-highgpu-1g']);
    expect(isKnownMachineType('n1-standard-5')).toBe(false);
    expect(problems({ machine_type: 'zz-hyper-1' })[0]).toMatch(/its series: e2, n2, n1, c2, m1, a4x-highgpu, /);
  });

  test('an accelerator the machine type does not take is an error naming the machines that come with it', () => {
    expect(
      problems({ machine_type: 'n1-standard-4', accelerator_type: 'NVIDIA_H100_80GB', accelerator_count: 1 }),
    ).toEqual([
      'error accelerator_type: `n1-standard-4` (N1 general purpose, takes T4, V100, P100 or P4 GPUs) takes NVIDIA_TESLA_T4, NVIDIA_TESLA_V100, NVIDIA_TESLA_P100 or NVIDIA_TESLA_P4, not `NVIDIA_H100_80GB`; NVIDIA_H100_80GB comes with a3-highgpu-* (e.g. a3-highgpu-1g)',
    ]);
    expect(
      problems({ machine_type: 'e2-standard-4', accelerator_type: 'NVIDIA_TESLA_T4', accelerator_count: 1 }),
    ).toEqual([
      'error accelerator_type: `e2-standard-4` (E2 cost-optimised) takes no accelerator, but `NVIDIA_TESLA_T4` is set: NVIDIA_TESLA_T4 comes with n1-* (e.g. n1-standard-4)',
    ]);
    expect(
      problems({ machine_type: 'a2-highgpu-1g', accelerator_type: 'NVIDIA_A100_80GB', accelerator_count: 1 }),
    ).toEqual([
      'error accelerator_type: `a2-highgpu-1g` (A2, NVIDIA A100 40GB built in) takes NVIDIA_TESLA_A100, not `NVIDIA_A100_80GB`; NVIDIA_A100_80GB comes with a2-ultragpu-* (e.g. a2-ultragpu-1g)',
    ]);
  });

  test('counts: a built-in GPU count, the N1 counts, and a count without a type', () => {
    expect(
      problems({ machine_type: 'a2-highgpu-2g', accelerator_type: 'NVIDIA_TESLA_A100', accelerator_count: 1 }),
    ).toEqual([
      'error accelerator_count: a2-highgpu-2g comes with exactly 2 NVIDIA_TESLA_A100: set `accelerator_count: 2`, or pick the machine type with 1 (a2-highgpu-1g, a2-highgpu-2g, a2-highgpu-4g, a2-highgpu-8g, a2-megagpu-16g)',
    ]);
    expect(
      problems({ machine_type: 'n1-standard-8', accelerator_type: 'NVIDIA_TESLA_T4', accelerator_count: 8 }),
    ).toEqual(['error accelerator_count: NVIDIA_TESLA_T4 on n1 comes in 1, 2, 4 per VM, not 8']);
    expect(
      problems({ machine_type: 'n1-standard-8', accelerator_type: 'NVIDIA_TESLA_T4', accelerator_count: 0 }),
    ).toEqual(['error accelerator_count: must be at least 1 with `accelerator_type: NVIDIA_TESLA_T4`']);
    expect(problems({ machine_type: 'n1-standard-8', accelerator_count: 2 })).toEqual([
      'error accelerator_type: is required when `accelerator_count` is 2 (n1-standard-8: NVIDIA_TESLA_T4, NVIDIA_TESLA_V100, NVIDIA_TESLA_P100 or NVIDIA_TESLA_P4)',
    ]);
    expect(problems({ machine_type: 'g2-standard-8' })).toEqual([
      'error accelerator_type: `g2-standard-8` (G2, NVIDIA L4 built in) needs `accelerator_type: NVIDIA_L4` and `accelerator_count: 1`',
    ]);
  });

  test('TPU v5e, v5p and v6e need a topology; v5p and v6e take no accelerator fields', () => {
    expect(problems({ machine_type: 'ct5lp-hightpu-4t' })).toEqual([
      'error tpu_topology: is required with `ct5lp-hightpu-4t` (TPU v5e), e.g. `tpu_topology: 2x2` (the chips of the slice; see https://cloud.google.com/tpu/docs/v5e)',
    ]);
    expect(
      problems({
        machine_type: 'ct6e-standard-4t',
        accelerator_type: 'TPU_V5_LITEPOD',
        accelerator_count: 4,
        tpu_topology: '2x2',
      }),
    ).toEqual([
      'error accelerator_type: `ct6e-standard-4t` (TPU v6e) takes no `accelerator_type` or `accelerator_count` (the v1 AcceleratorType has no value for it): leave them out and set `tpu_topology`',
    ]);
    expect(problems({ machine_type: 'ct5p-hightpu-4t', tpu_topology: '2-2-1' })).toEqual([
      'error tpu_topology: `2-2-1` is not a TPU topology: write it as `2x2` or `2x2x1`',
    ]);
    expect(problems({ machine_type: 'n1-standard-4', tpu_topology: '2x2' })).toEqual([
      'warning tpu_topology: only applies to TPU machine types, not `n1-standard-4` (N1 general purpose, takes T4, V100, P100 or P4 GPUs)',
    ]);
  });

  test('a GPU partition needs one GPU', () => {
    expect(
      problems({
        machine_type: 'a2-highgpu-2g',
        accelerator_type: 'NVIDIA_TESLA_A100',
        accelerator_count: 2,
        gpu_partition_size: '1g.5gb',
      }),
    ).toEqual([
      'error gpu_partition_size: needs `accelerator_count: 1` (machine_resources.proto: "If set, the accelerator_count should be set to 1"), not 2',
    ]);
    expect(problems({ machine_type: 'n1-standard-8', gpu_partition_size: '1g.5gb' })).toEqual([
      'error gpu_partition_size: partitions an NVIDIA GPU (MIG): set `accelerator_type` to a GPU and `accelerator_count: 1`',
    ]);
  });
});
