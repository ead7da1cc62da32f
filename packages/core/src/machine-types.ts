/**
 * The machine types Vertex AI custom training ("serverless training" in the Gemini Enterprise Agent Platform docs)
 * runs on, and which accelerators each carries. The one list used by queue-config validation, the emulator's
 * CreateCustomJob validation and `vertex-launch doctor`. Pure.
 *
 * Sources:
 * - the machine types: "Configure compute resources for custom training", section Machine types
 *   (https://cloud.google.com/vertex-ai/docs/training/configure-compute#machine-types, the page the
 *   `MachineSpec.machine_type` comment of google/cloud/aiplatform/v1/machine_resources.proto links to);
 * - the GPUs built into each accelerator-optimised series (A4X GB200, A4 B200, A3 Ultra H200, A3 Mega H100 Mega,
 *   A3 High H100, A2 Ultra A100 80GB, A2 A100 40GB, G4 RTX PRO 6000, G2 L4) and the GPU counts of N1:
 *   https://cloud.google.com/compute/docs/gpus and https://cloud.google.com/compute/docs/accelerator-optimized-machines;
 * - TPU v5 machine types need `tpu_topology` and take no accelerator fields in the Python SDK's canonical form
 *   (`CustomJob.from_local_script(machine_type="ct5lp-hightpu-4t", tpu_topology="2x2")`): google-cloud-aiplatform
 *   `jobs.py` ("tpu_topology ... This field is required for TPU v5 versions") and
 *   `tests/unit/aiplatform/test_training_jobs.py::test_training_job_tpu_v5e`;
 * - `gpu_partition_size`: machine_resources.proto ("If set, the accelerator_count should be set to 1").
 */
import type { AcceleratorType } from './config/schema.js';
import { nearestByEditDistance } from './config/suggest.js';

/** One series of machine types with the same accelerator rules, e.g. `a2-ultragpu` (A100 80GB built in). */
export interface MachineFamily {
  /** The prefix of its machine types, e.g. `n1`, `a2-ultragpu`, `ct5lp`. */
  family: string;
  /** What it is, for messages. */
  description: string;
  /** The shape of its machine type names (a name of this shape that is not listed is probably a typo). */
  pattern: RegExp;
  /** The machine types of the series that custom training lists, smallest first. */
  machineTypes: readonly string[];
  /** Accelerators the series takes: one built in (`a2`, `g2`, ...), a choice (`n1`), or none (`e2`). */
  accelerators: readonly AcceleratorType[];
  /** True when `accelerator_type` and `accelerator_count` must be set (GPU series, TPU v2/v3). */
  acceleratorRequired: boolean;
  /** False when the accelerator fields must be left out (TPU v5p and v6e have no `AcceleratorType` value). */
  acceleratorFields: boolean;
  /** The number of GPUs a machine type comes with, for series with GPUs built in. */
  builtInCount?: (machineType: string) => number | undefined;
  /** The accelerator counts each accelerator allows (N1 GPUs). */
  allowedCounts?: Readonly<Partial<Record<AcceleratorType, readonly number[]>>>;
  /** True for TPU machine types. */
  tpu: boolean;
  /** True when `tpu_topology` must be set (TPU v5e, v5p, v6e). */
  tpuTopologyRequired: boolean;
}

const sizes = (prefix: string, list: readonly (number | string)[], suffix = '') =>
  list.map((n) => `${prefix}${n}${suffix}`);
/** `a2-highgpu-4g` -> 4. */
const gpusInName = (machineType: string) => Number(/-(\d+)g$/.exec(machineType)?.[1]) || undefined;
const byName =
  (counts: Readonly<Record<string, number>>) =>
  (machineType: string): number | undefined =>
    counts[machineType];

/** Machine type series of Vertex AI custom training, in the order of the docs' list (CPU first, then GPU, TPU). */
export const MACHINE_FAMILIES: readonly MachineFamily[] = Object.freeze([
  {
    family: 'e2',
    description: 'E2 cost-optimised',
    pattern: /^e2-(standard|highmem|highcpu)-\d+$/,
    machineTypes: [
      ...sizes('e2-standard-', [4, 8, 16, 32]),
      ...sizes('e2-highmem-', [2, 4, 8, 16]),
      ...sizes('e2-highcpu-', [16, 32]),
    ],
    accelerators: [],
    acceleratorRequired: false,
    acceleratorFields: true,
    tpu: false,
    tpuTopologyRequired: false,
  },
  {
    family: 'n2',
    description: 'N2 general purpose',
    pattern: /^n2-(standard|highmem|highcpu)-\d+$/,
    machineTypes: [
      ...sizes('n2-standard-', [4, 8, 16, 32, 48, 64, 80]),
      ...sizes('n2-highmem-', [2, 4, 8, 16, 32, 48, 64, 80]),
      ...sizes('n2-highcpu-', [16, 32, 48, 64, 80]),
    ],
    accelerators: [],
    acceleratorRequired: false,
    acceleratorFields: true,
    tpu: false,
    tpuTopologyRequired: false,
  },
  {
    family: 'n1',
    description: 'N1 general purpose, takes T4, V100, P100 or P4 GPUs',
    pattern: /^n1-(standard|highmem|highcpu)-\d+$/,
    machineTypes: [
      ...sizes('n1-standard-', [4, 8, 16, 32, 64, 96]),
      ...sizes('n1-highmem-', [2, 4, 8, 16, 32, 64, 96]),
      ...sizes('n1-highcpu-', [16, 32, 64, 96]),
    ],
    accelerators: ['NVIDIA_TESLA_T4', 'NVIDIA_TESLA_V100', 'NVIDIA_TESLA_P100', 'NVIDIA_TESLA_P4'],
    acceleratorRequired: false,
    acceleratorFields: true,
    // https://cloud.google.com/compute/docs/gpus: N1 takes 1, 2 or 4 T4, P4 or P100 GPUs, and 1, 2, 4 or 8 V100.
    allowedCounts: {
      NVIDIA_TESLA_T4: [1, 2, 4],
      NVIDIA_TESLA_P4: [1, 2, 4],
      NVIDIA_TESLA_P100: [1, 2, 4],
      NVIDIA_TESLA_V100: [1, 2, 4, 8],
    },
    tpu: false,
    tpuTopologyRequired: false,
  },
  {
    family: 'c2',
    description: 'C2 compute-optimised',
    pattern: /^c2-standard-\d+$/,
    machineTypes: sizes('c2-standard-', [4, 8, 16, 30, 60]),
    accelerators: [],
    acceleratorRequired: false,
    acceleratorFields: true,
    tpu: false,
    tpuTopologyRequired: false,
  },
  {
    family: 'm1',
    description: 'M1 memory-optimised',
    pattern: /^m1-(ultramem|megamem)-\d+$/,
    machineTypes: [...sizes('m1-ultramem-', [40, 80, 160]), 'm1-megamem-96'],
    accelerators: [],
    acceleratorRequired: false,
    acceleratorFields: true,
    tpu: false,
    tpuTopologyRequired: false,
  },
  {
    family: 'a4x-highgpu',
    description: 'A4X, NVIDIA GB200 built in; Arm CPUs, so the image must be built for arm64',
    pattern: /^a4x-highgpu-\d+g$/,
    machineTypes: ['a4x-highgpu-4g'],
    accelerators: ['NVIDIA_GB200'],
    acceleratorRequired: true,
    acceleratorFields: true,
    builtInCount: gpusInName,
    tpu: false,
    tpuTopologyRequired: false,
  },
  {
    family: 'a4-highgpu',
    description: 'A4, NVIDIA B200 built in',
    pattern: /^a4-highgpu-\d+g$/,
    machineTypes: ['a4-highgpu-8g'],
    accelerators: ['NVIDIA_B200'],
    acceleratorRequired: true,
    acceleratorFields: true,
    builtInCount: gpusInName,
    tpu: false,
    tpuTopologyRequired: false,
  },
  {
    family: 'a3-ultragpu',
    description: 'A3 Ultra, NVIDIA H200 built in',
    pattern: /^a3-ultragpu-\d+g$/,
    machineTypes: ['a3-ultragpu-8g'],
    accelerators: ['NVIDIA_H200_141GB'],
    acceleratorRequired: true,
    acceleratorFields: true,
    builtInCount: gpusInName,
    tpu: false,
    tpuTopologyRequired: false,
  },
  {
    family: 'a3-megagpu',
    description: 'A3 Mega, NVIDIA H100 Mega built in',
    pattern: /^a3-megagpu-\d+g$/,
    machineTypes: ['a3-megagpu-8g'],
    accelerators: ['NVIDIA_H100_MEGA_80GB'],
    acceleratorRequired: true,
    acceleratorFields: true,
    builtInCount: gpusInName,
    tpu: false,
    tpuTopologyRequired: false,
  },
  {
    family: 'a3-highgpu',
    description: 'A3 High, NVIDIA H100 80GB built in',
    pattern: /^a3-highgpu-\d+g$/,
    machineTypes: sizes('a3-highgpu-', [1, 2, 4, 8], 'g'),
    accelerators: ['NVIDIA_H100_80GB'],
    acceleratorRequired: true,
    acceleratorFields: true,
    builtInCount: gpusInName,
    tpu: false,
    tpuTopologyRequired: false,
  },
  {
    family: 'a2-ultragpu',
    description: 'A2 Ultra, NVIDIA A100 80GB built in',
    pattern: /^a2-ultragpu-\d+g$/,
    machineTypes: sizes('a2-ultragpu-', [1, 2, 4, 8], 'g'),
    accelerators: ['NVIDIA_A100_80GB'],
    acceleratorRequired: true,
    acceleratorFields: true,
    builtInCount: gpusInName,
    tpu: false,
    tpuTopologyRequired: false,
  },
  {
    family: 'a2-highgpu',
    description: 'A2, NVIDIA A100 40GB built in',
    pattern: /^a2-(highgpu|megagpu)-\d+g$/,
    machineTypes: [...sizes('a2-highgpu-', [1, 2, 4, 8], 'g'), 'a2-megagpu-16g'],
    accelerators: ['NVIDIA_TESLA_A100'],
    acceleratorRequired: true,
    acceleratorFields: true,
    builtInCount: gpusInName,
    tpu: false,
    tpuTopologyRequired: false,
  },
  {
    family: 'g4',
    description: 'G4, NVIDIA RTX PRO 6000 built in',
    pattern: /^g4-standard-\d+$/,
    machineTypes: sizes('g4-standard-', [48, 96, 192, 384]),
    accelerators: ['NVIDIA_RTX_PRO_6000'],
    acceleratorRequired: true,
    acceleratorFields: true,
    builtInCount: byName({ 'g4-standard-48': 1, 'g4-standard-96': 2, 'g4-standard-192': 4, 'g4-standard-384': 8 }),
    tpu: false,
    tpuTopologyRequired: false,
  },
  {
    family: 'g2',
    description: 'G2, NVIDIA L4 built in',
    pattern: /^g2-standard-\d+$/,
    machineTypes: sizes('g2-standard-', [4, 8, 12, 16, 24, 32, 48, 96]),
    accelerators: ['NVIDIA_L4'],
    acceleratorRequired: true,
    acceleratorFields: true,
    builtInCount: byName({
      'g2-standard-4': 1,
      'g2-standard-8': 1,
      'g2-standard-12': 1,
      'g2-standard-16': 1,
      'g2-standard-24': 2,
      'g2-standard-32': 1,
      'g2-standard-48': 4,
      'g2-standard-96': 8,
    }),
    tpu: false,
    tpuTopologyRequired: false,
  },
  {
    family: 'cloud-tpu',
    description: 'TPU v2 and v3',
    pattern: /^cloud-tpu$/,
    machineTypes: ['cloud-tpu'],
    accelerators: ['TPU_V2', 'TPU_V3'],
    acceleratorRequired: true,
    acceleratorFields: true,
    tpu: true,
    tpuTopologyRequired: false,
  },
  {
    family: 'ct4p',
    description: 'TPU v4 pods',
    pattern: /^ct4p-hightpu-\d+t$/,
    machineTypes: ['ct4p-hightpu-4t'],
    accelerators: ['TPU_V4_POD'],
    acceleratorRequired: false,
    acceleratorFields: true,
    tpu: true,
    tpuTopologyRequired: false,
  },
  {
    family: 'ct5lp',
    description: 'TPU v5e',
    pattern: /^ct5lp-hightpu-\d+t$/,
    machineTypes: sizes('ct5lp-hightpu-', [1, 4, 8], 't'),
    accelerators: ['TPU_V5_LITEPOD'],
    acceleratorRequired: false,
    acceleratorFields: true,
    tpu: true,
    tpuTopologyRequired: true,
  },
  {
    family: 'ct5p',
    description: 'TPU v5p',
    pattern: /^ct5p-hightpu-\d+t$/,
    machineTypes: sizes('ct5p-hightpu-', [1, 2, 4], 't'),
    accelerators: [],
    acceleratorRequired: false,
    acceleratorFields: false,
    tpu: true,
    tpuTopologyRequired: true,
  },
  {
    family: 'ct6e',
    description: 'TPU v6e',
    pattern: /^ct6e-standard-\d+t$/,
    machineTypes: sizes('ct6e-standard-', [1, 4, 8], 't'),
    accelerators: [],
    acceleratorRequired: false,
    acceleratorFields: false,
    tpu: true,
    tpuTopologyRequired: true,
  },
] satisfies MachineFamily[]);

/** Every machine type custom training lists. */
export const KNOWN_MACHINE_TYPES: readonly string[] = Object.freeze(MACHINE_FAMILIES.flatMap((f) => f.machineTypes));

/**
 * GPUs Dynamic Workload Scheduler (`scheduling_strategy: FLEX_START`) serves: "Your custom training job requests L4,
 * A100, H100, H200, or B200 GPUs" (https://cloud.google.com/vertex-ai/docs/training/schedule-jobs-dws#requirements).
 */
export const FLEX_START_ACCELERATORS: readonly AcceleratorType[] = Object.freeze([
  'NVIDIA_L4',
  'NVIDIA_TESLA_A100',
  'NVIDIA_A100_80GB',
  'NVIDIA_H100_80GB',
  'NVIDIA_H100_MEGA_80GB',
  'NVIDIA_H200_141GB',
  'NVIDIA_B200',
]);

/**
 * Accelerators VPC Network Peering (`network`) does not work with: "Vertex AI Training doesn't support VPC Peering with
 * H100-mega, H200 and B200 accelerators. A network attachment with PSC-I can be used as an alternative"
 * (https://cloud.google.com/vertex-ai/docs/training/using-private-ip).
 */
export const NO_VPC_PEERING_ACCELERATORS: readonly AcceleratorType[] = Object.freeze([
  'NVIDIA_H100_MEGA_80GB',
  'NVIDIA_H200_141GB',
  'NVIDIA_B200',
]);

/** The family of a machine type (by the shape of its name), or undefined when none matches. */
export function machineFamilyOf(machineType: string): MachineFamily | undefined {
  return MACHINE_FAMILIES.find((f) => f.pattern.test(machineType.trim()));
}

/** True for a machine type custom training lists. */
export function isKnownMachineType(machineType: string): boolean {
  return KNOWN_MACHINE_TYPES.includes(machineType);
}

/** The listed machine types closest to `machineType` (a typo such as `n1-standrd-4`), at most 3. */
export function closestMachineTypes(machineType: string): string[] {
  const wanted = machineType.trim().toLowerCase();
  if (wanted === '') return [];
  return nearestByEditDistance(wanted, KNOWN_MACHINE_TYPES);
}

/** `a, b or c`. */
const either = (values: readonly string[]) =>
  values.length <= 1 ? values.join('') : `${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}`;

/** The machine types that come with an accelerator, for "use X for Y" hints. */
function machinesFor(accelerator: string): string | undefined {
  const families = MACHINE_FAMILIES.filter((f) => (f.accelerators as readonly string[]).includes(accelerator));
  if (families.length === 0) return undefined;
  return either(
    families.map((f) =>
      f.machineTypes.length === 1 ? (f.machineTypes[0] as string) : `${f.family}-* (e.g. ${f.machineTypes[0]})`,
    ),
  );
}

/** The fields of one `MachineSpec` that {@link checkMachineSpec} looks at (queue-config names). */
export interface MachineSpecFields {
  machine_type: string;
  accelerator_type?: string | undefined;
  accelerator_count?: number | undefined;
  tpu_topology?: string | undefined;
  gpu_partition_size?: string | undefined;
}

/** One problem {@link checkMachineSpec} found. */
export interface MachineSpecProblem {
  /** The `MachineSpec` field it is about. */
  field: keyof MachineSpecFields;
  /**
   * `error`: Vertex refuses the request. `warning`: uncertain — an unlisted machine type (a typo, or a type newer
   * than this list); the emulator refuses it.
   */
  severity: 'error' | 'warning';
  /** Stable id of the rule. */
  code:
    | 'unknown-machine-type'
    | 'accelerator-not-allowed'
    | 'accelerator-required'
    | 'accelerator-count'
    | 'accelerator-fields'
    | 'tpu-topology-required'
    | 'tpu-topology-format'
    | 'tpu-topology-not-tpu'
    | 'gpu-partition';
  /** A sentence with the fix. */
  message: string;
}

const hasPlaceholder = (value: string) => value.includes('${') || value.includes('{{');
const isSet = (accelerator: string | undefined): accelerator is string =>
  accelerator !== undefined && accelerator !== '' && accelerator !== 'ACCELERATOR_TYPE_UNSPECIFIED';

/**
 * Checks one machine spec (machine type, accelerator, TPU topology, GPU partition) against
 * {@link MACHINE_FAMILIES}. A value holding a `${macro}` or `{{variable}}` is filled at launch and not checked.
 */
export function checkMachineSpec(spec: MachineSpecFields): MachineSpecProblem[] {
  const problems: MachineSpecProblem[] = [];
  const add = (
    field: MachineSpecProblem['field'],
    code: MachineSpecProblem['code'],
    message: string,
    severity: MachineSpecProblem['severity'] = 'error',
  ) => problems.push({ field, severity, code, message });
  const machineType = spec.machine_type.trim();
  if (machineType === '' || hasPlaceholder(machineType)) return problems;
  const accelerator = isSet(spec.accelerator_type) ? spec.accelerator_type : undefined;
  const acceleratorKnown = accelerator === undefined || !hasPlaceholder(accelerator);
  const count = spec.accelerator_count ?? 0;
  const family = machineFamilyOf(machineType);

  if (!isKnownMachineType(machineType)) {
    const closest = closestMachineTypes(machineType);
    const hint =
      closest.length > 0
        ? `did you mean ${closest.map((c) => `\`${c}\``).join(' or ')}?`
        : family
          ? `the ${family.family} machine types it lists: ${family.machineTypes.join(', ')}`
          : `its series: ${MACHINE_FAMILIES.map((f) => f.family).join(', ')}`;
    add(
      'machine_type',
      'unknown-machine-type',
      `\`${machineType}\` is not a machine type Vertex AI custom training lists (https://cloud.google.com/vertex-ai/docs/training/configure-compute#machine-types); ${hint}`,
      'warning',
    );
  }
  if (!family) {
    // Unknown series: only the rules that hold for every machine.
    if (accelerator !== undefined && acceleratorKnown && count <= 0) {
      add('accelerator_count', 'accelerator-count', `must be at least 1 with \`accelerator_type: ${accelerator}\``);
    }
    if (accelerator === undefined && count > 0) {
      add('accelerator_type', 'accelerator-required', `is required when \`accelerator_count\` is ${count}`);
    }
    if (spec.tpu_topology) {
      add(
        'tpu_topology',
        'tpu-topology-not-tpu',
        'only applies to TPU machine types (e.g. `ct5lp-hightpu-4t`)',
        'warning',
      );
    }
    return problems;
  }
  const label = `\`${machineType}\` (${family.description})`;

  if (accelerator !== undefined && acceleratorKnown) {
    if (!family.acceleratorFields) {
      add(
        'accelerator_type',
        'accelerator-fields',
        `${label} takes no \`accelerator_type\` or \`accelerator_count\` (the v1 AcceleratorType has no value for it): leave them out and set \`tpu_topology\``,
      );
    } else if (!(family.accelerators as readonly string[]).includes(accelerator)) {
      const other = machinesFor(accelerator);
      add(
        'accelerator_type',
        'accelerator-not-allowed',
        family.accelerators.length === 0
          ? `${label} takes no accelerator, but \`${accelerator}\` is set${other ? `: ${accelerator} comes with ${other}` : ''}`
          : `${label} takes ${either(family.accelerators)}, not \`${accelerator}\`${other ? `; ${accelerator} comes with ${other}` : ''}`,
      );
    } else if (count <= 0) {
      add(
        'accelerator_count',
        'accelerator-count',
        `must be at least 1 with \`accelerator_type: ${accelerator}\`${family.builtInCount?.(machineType) ? ` (${machineType} comes with ${family.builtInCount(machineType)})` : ''}`,
      );
    } else {
      const builtIn = family.builtInCount?.(machineType);
      const allowed = family.allowedCounts?.[accelerator as AcceleratorType];
      if (builtIn !== undefined && count !== builtIn) {
        add(
          'accelerator_count',
          'accelerator-count',
          `${machineType} comes with exactly ${builtIn} ${accelerator}: set \`accelerator_count: ${builtIn}\`, or pick the machine type with ${count} (${family.machineTypes.join(', ')})`,
        );
      } else if (allowed !== undefined && !allowed.includes(count)) {
        add(
          'accelerator_count',
          'accelerator-count',
          `${accelerator} on ${family.family} comes in ${allowed.join(', ')} per VM, not ${count}`,
        );
      }
    }
  } else if (accelerator === undefined && count > 0 && family.acceleratorFields && family.accelerators.length === 0) {
    add(
      'accelerator_count',
      'accelerator-not-allowed',
      `${label} takes no accelerator: leave \`accelerator_count\` out`,
    );
  } else if (accelerator === undefined && count > 0 && family.acceleratorFields) {
    add(
      'accelerator_type',
      'accelerator-required',
      `is required when \`accelerator_count\` is ${count}${family.accelerators.length > 0 ? ` (${machineType}: ${either(family.accelerators)})` : ''}`,
    );
  } else if (accelerator === undefined && count > 0 && !family.acceleratorFields) {
    add(
      'accelerator_count',
      'accelerator-fields',
      `${label} takes no \`accelerator_count\`: leave it out and set \`tpu_topology\``,
    );
  }
  if (accelerator === undefined && count === 0 && family.acceleratorRequired) {
    const builtIn = family.builtInCount?.(machineType);
    add(
      'accelerator_type',
      'accelerator-required',
      `${label} needs \`accelerator_type: ${family.accelerators[0]}\` and \`accelerator_count: ${builtIn ?? 1}\`${family.accelerators.length > 1 ? ` (or ${family.accelerators.slice(1).join(', ')})` : ''}`,
    );
  }

  const topology = spec.tpu_topology?.trim();
  if (family.tpu) {
    if (family.tpuTopologyRequired && !topology) {
      add(
        'tpu_topology',
        'tpu-topology-required',
        `is required with ${label}, e.g. \`tpu_topology: ${family.family === 'ct5p' ? '2x2x1' : '2x2'}\` (the chips of the slice; see https://cloud.google.com/tpu/docs/v5e)`,
      );
    }
    if (topology && !hasPlaceholder(topology) && !/^\d+x\d+(x\d+)?$/.test(topology)) {
      add(
        'tpu_topology',
        'tpu-topology-format',
        `\`${topology}\` is not a TPU topology: write it as \`2x2\` or \`2x2x1\``,
      );
    }
  } else if (topology) {
    add('tpu_topology', 'tpu-topology-not-tpu', `only applies to TPU machine types, not ${label}`, 'warning');
  }

  const partition = spec.gpu_partition_size?.trim();
  if (partition) {
    if (accelerator === undefined || family.tpu) {
      add(
        'gpu_partition_size',
        'gpu-partition',
        'partitions an NVIDIA GPU (MIG): set `accelerator_type` to a GPU and `accelerator_count: 1`',
      );
    } else if (count !== 1) {
      add(
        'gpu_partition_size',
        'gpu-partition',
        `needs \`accelerator_count: 1\` (machine_resources.proto: "If set, the accelerator_count should be set to 1"), not ${count}`,
      );
    }
  }
  return problems;
}
