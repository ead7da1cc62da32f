/**
 * The Compute Engine machine type families Vertex AI custom training runs on, and which accelerators each carries.
 * Used by `vertex-launch doctor` to warn about a machine type Vertex is likely to refuse (a typo such as
 * `n1-standart-4`, or a family custom training does not offer) before a build and a job are spent on it. Pure.
 */
import type { AcceleratorType } from './config/schema.js';

/** One machine type family, e.g. `a2` (A100 GPUs built in). */
export interface MachineFamily {
  /** The prefix of its machine types, e.g. `n1`, `a2`, `ct5lp`. */
  family: string;
  /** What it is, for messages. */
  description: string;
  /** The shape of its machine type names, e.g. `/^n1-(standard|highmem|highcpu)-\d+$/`. */
  pattern: RegExp;
  /** An example machine type of the family. */
  example: string;
  /**
   * Accelerators the family carries: for GPU/TPU families (`a2`, `a3`, `g2`, `ct5lp`, ...) one of them is built in
   * and must be named; for `n1` they are optional; an empty list means no accelerator may be attached.
   */
  accelerators: readonly AcceleratorType[];
  /** True when the machine type always comes with an accelerator (it must be set). */
  acceleratorRequired: boolean;
}

const N1_GPUS: readonly AcceleratorType[] = [
  'NVIDIA_TESLA_T4',
  'NVIDIA_TESLA_V100',
  'NVIDIA_TESLA_P100',
  'NVIDIA_TESLA_P4',
];

/** Machine type families of Vertex AI custom training, most common first. */
export const MACHINE_FAMILIES: readonly MachineFamily[] = Object.freeze([
  {
    family: 'n1',
    description: 'general purpose (N1), the family that takes T4/V100/P100/P4 GPUs',
    pattern: /^n1-(standard|highmem|highcpu)-\d+$/,
    example: 'n1-standard-4',
    accelerators: N1_GPUS,
    acceleratorRequired: false,
  },
  {
    family: 'n2',
    description: 'general purpose (N2)',
    pattern: /^n2-(standard|highmem|highcpu)-\d+$/,
    example: 'n2-standard-8',
    accelerators: [],
    acceleratorRequired: false,
  },
  {
    family: 'n2d',
    description: 'general purpose (N2D, AMD)',
    pattern: /^n2d-(standard|highmem|highcpu)-\d+$/,
    example: 'n2d-standard-8',
    accelerators: [],
    acceleratorRequired: false,
  },
  {
    family: 'e2',
    description: 'cost-optimised (E2)',
    pattern: /^e2-(standard|highmem|highcpu)-\d+$/,
    example: 'e2-standard-4',
    accelerators: [],
    acceleratorRequired: false,
  },
  {
    family: 'c2',
    description: 'compute-optimised (C2)',
    pattern: /^c2-standard-\d+$/,
    example: 'c2-standard-8',
    accelerators: [],
    acceleratorRequired: false,
  },
  {
    family: 'c2d',
    description: 'compute-optimised (C2D, AMD)',
    pattern: /^c2d-(standard|highmem|highcpu)-\d+$/,
    example: 'c2d-standard-8',
    accelerators: [],
    acceleratorRequired: false,
  },
  {
    family: 'c3',
    description: 'compute-optimised (C3)',
    pattern: /^c3-(standard|highmem|highcpu)-\d+$/,
    example: 'c3-standard-8',
    accelerators: [],
    acceleratorRequired: false,
  },
  {
    family: 'm1',
    description: 'memory-optimised (M1)',
    pattern: /^m1-(ultramem|megamem)-\d+$/,
    example: 'm1-ultramem-40',
    accelerators: [],
    acceleratorRequired: false,
  },
  {
    family: 'a2',
    description: 'accelerator-optimised with NVIDIA A100 GPUs (A2)',
    pattern: /^a2-(highgpu-\d+g|megagpu-16g|ultragpu-\d+g)$/,
    example: 'a2-highgpu-1g',
    accelerators: ['NVIDIA_TESLA_A100', 'NVIDIA_A100_80GB'],
    acceleratorRequired: true,
  },
  {
    family: 'a3',
    description: 'accelerator-optimised with NVIDIA H100/H200 GPUs (A3)',
    pattern: /^a3-(highgpu|megagpu|ultragpu|edgegpu)-\d+g$/,
    example: 'a3-highgpu-8g',
    accelerators: ['NVIDIA_H100_80GB', 'NVIDIA_H100_MEGA_80GB', 'NVIDIA_H200_141GB'],
    acceleratorRequired: true,
  },
  {
    family: 'a4',
    description: 'accelerator-optimised with NVIDIA B200 GPUs (A4)',
    pattern: /^a4-highgpu-\d+g$/,
    example: 'a4-highgpu-8g',
    accelerators: ['NVIDIA_B200'],
    acceleratorRequired: true,
  },
  {
    family: 'g2',
    description: 'accelerator-optimised with NVIDIA L4 GPUs (G2)',
    pattern: /^g2-standard-\d+$/,
    example: 'g2-standard-8',
    accelerators: ['NVIDIA_L4'],
    acceleratorRequired: true,
  },
  {
    family: 'cloud-tpu',
    description: 'TPU VMs of the v2/v3 generation',
    pattern: /^cloud-tpu$/,
    example: 'cloud-tpu',
    accelerators: ['TPU_V2', 'TPU_V3'],
    acceleratorRequired: true,
  },
  {
    family: 'ct4p',
    description: 'TPU v4 pods',
    pattern: /^ct4p-hightpu-\d+t$/,
    example: 'ct4p-hightpu-4t',
    accelerators: ['TPU_V4_POD'],
    acceleratorRequired: true,
  },
  {
    family: 'ct5lp',
    description: 'TPU v5e (v5 lite pod)',
    pattern: /^ct5lp-hightpu-\d+t$/,
    example: 'ct5lp-hightpu-4t',
    accelerators: ['TPU_V5_LITEPOD'],
    acceleratorRequired: true,
  },
]);

/** What {@link checkMachineType} found for one machine type (and its accelerator). */
export interface MachineTypeCheck {
  machineType: string;
  /** The family it belongs to, when it is known. */
  family?: MachineFamily;
  /** Problems, each a sentence with the fix; empty when the pair looks right. */
  problems: string[];
}

/** The family of a machine type, or undefined when none matches. */
export function machineFamilyOf(machineType: string): MachineFamily | undefined {
  return MACHINE_FAMILIES.find((f) => f.pattern.test(machineType.trim()));
}

/** The known family whose prefix is closest to an unknown machine type's, for a "did you mean". */
function closestExample(machineType: string): string | undefined {
  const prefix = machineType.split('-')[0] ?? '';
  const byPrefix = MACHINE_FAMILIES.find((f) => f.family === prefix);
  if (byPrefix) return byPrefix.example;
  return MACHINE_FAMILIES.find((f) => f.family.startsWith(prefix.slice(0, 1)))?.example;
}

/**
 * Checks a machine type (and the accelerator set with it) against {@link MACHINE_FAMILIES}. A type with a `${macro}`
 * or `{{variable}}` is filled at launch and not checked.
 */
export function checkMachineType(
  machineType: string,
  acceleratorType?: string,
  acceleratorCount = 0,
): MachineTypeCheck {
  const problems: string[] = [];
  if (machineType.includes('${') || machineType.includes('{{')) return { machineType, problems };
  const family = machineFamilyOf(machineType);
  const accelerator =
    acceleratorType && acceleratorType !== 'ACCELERATOR_TYPE_UNSPECIFIED' ? acceleratorType : undefined;
  if (!family) {
    const example = closestExample(machineType);
    problems.push(
      `\`${machineType}\` is not a machine type Vertex AI custom training knows (families: ${MACHINE_FAMILIES.map((f) => f.family).join(', ')})${example ? `; did you mean one like \`${example}\`?` : ''}`,
    );
    return { machineType, problems };
  }
  if (accelerator && !(family.accelerators as readonly string[]).includes(accelerator)) {
    problems.push(
      family.accelerators.length === 0
        ? `\`${machineType}\` (${family.family}) takes no accelerator, but \`${accelerator}\` is set: use an n1 machine type for T4/V100/P100/P4, a2 for A100, g2 for L4, a3 for H100`
        : `\`${machineType}\` (${family.family}) comes with ${family.accelerators.join(' or ')}, not \`${accelerator}\``,
    );
  }
  if (family.acceleratorRequired && !accelerator) {
    problems.push(
      `\`${machineType}\` (${family.family}) needs \`accelerator_type: ${family.accelerators[0]}\` and \`accelerator_count\` set`,
    );
  }
  if (accelerator && acceleratorCount <= 0) {
    problems.push(
      `\`accelerator_type: ${accelerator}\` is set but \`accelerator_count\` is ${acceleratorCount}: set it to 1 or more`,
    );
  }
  return { machineType, family, problems };
}
