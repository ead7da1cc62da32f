import { expect, test } from 'vitest';
import { checkMachineType, MACHINE_FAMILIES, machineFamilyOf } from './machine-types.js';

test('the families doctor knows, with an example of each that matches its own pattern', () => {
  expect(MACHINE_FAMILIES.map((f) => f.family)).toEqual([
    'n1',
    'n2',
    'n2d',
    'e2',
    'c2',
    'c2d',
    'c3',
    'm1',
    'a2',
    'a3',
    'a4',
    'g2',
    'cloud-tpu',
    'ct4p',
    'ct5lp',
  ]);
  for (const family of MACHINE_FAMILIES) expect(machineFamilyOf(family.example)?.family).toBe(family.family);
});

test('common machine types and accelerators pass', () => {
  expect(checkMachineType('n1-standard-4').problems).toEqual([]);
  expect(checkMachineType('n1-standard-8', 'NVIDIA_TESLA_T4', 1).problems).toEqual([]);
  expect(checkMachineType('n1-standard-4', 'ACCELERATOR_TYPE_UNSPECIFIED', 0).problems).toEqual([]);
  expect(checkMachineType('a2-highgpu-1g', 'NVIDIA_TESLA_A100', 1).problems).toEqual([]);
  expect(checkMachineType('g2-standard-8', 'NVIDIA_L4', 1).problems).toEqual([]);
  expect(checkMachineType('ct5lp-hightpu-4t', 'TPU_V5_LITEPOD', 4).problems).toEqual([]);
  expect(checkMachineType('${machine}').problems).toEqual([]);
});

test('an unknown machine type names the families and suggests one of its prefix', () => {
  expect(checkMachineType('n1-standart-4').problems).toEqual([
    '`n1-standart-4` is not a machine type Vertex AI custom training knows (families: n1, n2, n2d, e2, c2, c2d, c3, m1, a2, a3, a4, g2, cloud-tpu, ct4p, ct5lp); did you mean one like `n1-standard-4`?',
  ]);
  expect(checkMachineType('z9-mega-1').problems[0]).toMatch(/^`z9-mega-1` is not a machine type/);
});

test('accelerator mismatches say which accelerator the family takes', () => {
  expect(checkMachineType('e2-standard-4', 'NVIDIA_TESLA_T4', 1).problems).toEqual([
    '`e2-standard-4` (e2) takes no accelerator, but `NVIDIA_TESLA_T4` is set: use an n1 machine type for T4/V100/P100/P4, a2 for A100, g2 for L4, a3 for H100',
  ]);
  expect(checkMachineType('a2-highgpu-1g', 'NVIDIA_L4', 1).problems).toEqual([
    '`a2-highgpu-1g` (a2) comes with NVIDIA_TESLA_A100 or NVIDIA_A100_80GB, not `NVIDIA_L4`',
  ]);
  expect(checkMachineType('g2-standard-8').problems).toEqual([
    '`g2-standard-8` (g2) needs `accelerator_type: NVIDIA_L4` and `accelerator_count` set',
  ]);
  expect(checkMachineType('n1-standard-4', 'NVIDIA_TESLA_T4', 0).problems).toEqual([
    '`accelerator_type: NVIDIA_TESLA_T4` is set but `accelerator_count` is 0: set it to 1 or more',
  ]);
});
