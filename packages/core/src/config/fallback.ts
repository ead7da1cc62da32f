/**
 * `retry` and `fallback` of a queue config: what the next attempt of a launch that failed for want of capacity
 * runs with. Pure: no I/O.
 *
 * Rung 0 is the queue config as written; rung N is the queue config with `fallback[N-1]` applied (each alternative
 * replaces the queue config's keys it sets; alternatives do not add up).
 */
import type { FailureClass } from '../failure.js';
import { artifactRegistryDockerLocation } from '../image-ref.js';
import type { AdmissionLimits } from '../queue/store.js';
import { parseDuration } from './durations.js';
import { FALLBACK_FAILURE_CLASSES, RETRYABLE_FAILURE_CLASSES } from './schema.js';
import { isPlainObject } from './util.js';
import { RESERVATION_NAME_KEY } from './vertex-rules.js';

/** One `fallback` alternative as written. */
export interface FallbackRung {
  region?: string;
  staging_bucket?: string;
  machine_spec?: { machine_type?: string; accelerator_type?: string; accelerator_count?: number };
  scheduling_strategy?: string;
  max_wait_duration?: string | number;
  reservation?: string;
}

/** A queue config with a rung applied, and the region that rung runs in (when it names one). */
export interface RungConfig {
  config: Record<string, unknown>;
  region?: string;
}

/** Default of `retry.on`. */
export const DEFAULT_RETRY_ON: readonly FailureClass[] = ['preempted', 'stockout'];
/** Default of `retry.max_attempts`. */
export const DEFAULT_RETRY_MAX_ATTEMPTS = 3;
/** Default of `retry.backoff`: 30 seconds. */
export const DEFAULT_RETRY_BACKOFF_MS = 30_000;
/** The longest wait between attempts: 10 minutes. */
export const MAX_RETRY_BACKOFF_MS = 600_000;

/** A queue's `retry`, with defaults filled; `undefined` when the queue has none (launches are not resubmitted). */
export interface RetryPolicyOfQueue {
  on: readonly FailureClass[];
  maxAttempts: number;
  backoffMs: number;
}

/** The alternatives of a raw queue config (`[]` without `fallback`). */
export function fallbackRungs(config: unknown): FallbackRung[] {
  const list = isPlainObject(config) ? config.fallback : undefined;
  return Array.isArray(list) ? list.filter(isPlainObject).map((rung) => rung as FallbackRung) : [];
}

/** How many rungs the queue config has: 1 + its `fallback` alternatives. */
export function rungCount(config: unknown): number {
  return 1 + fallbackRungs(config).length;
}

/** The failure classes that move a launch to the next rung. */
export function fallbackTriggers(): readonly FailureClass[] {
  return FALLBACK_FAILURE_CLASSES;
}

/** The queue's `retry` with its defaults, or `undefined` when it has none. */
export function retryPolicyOf(config: unknown): RetryPolicyOfQueue | undefined {
  const retry = isPlainObject(config) ? config.retry : undefined;
  if (!isPlainObject(retry)) return undefined;
  const on = Array.isArray(retry.on)
    ? retry.on.filter((c): c is FailureClass => (RETRYABLE_FAILURE_CLASSES as readonly string[]).includes(c as string))
    : DEFAULT_RETRY_ON;
  const maxAttempts =
    typeof retry.max_attempts === 'number' && Number.isInteger(retry.max_attempts) && retry.max_attempts >= 1
      ? retry.max_attempts
      : DEFAULT_RETRY_MAX_ATTEMPTS;
  const seconds = retry.backoff === undefined ? undefined : parseDuration(retry.backoff);
  const backoffMs = seconds === undefined ? DEFAULT_RETRY_BACKOFF_MS : Math.min(seconds * 1000, MAX_RETRY_BACKOFF_MS);
  return { on, maxAttempts, backoffMs };
}

/** The wait before resubmission number `n` (1 for the first): `backoff` doubled each time, at most 10 minutes. */
export function retryDelayMs(policy: RetryPolicyOfQueue, n: number): number {
  return Math.min(policy.backoffMs * 2 ** Math.max(0, n - 1), MAX_RETRY_BACKOFF_MS);
}

const hasAccelerator = (machine: unknown) =>
  isPlainObject(machine) &&
  typeof machine.accelerator_type === 'string' &&
  machine.accelerator_type !== 'ACCELERATOR_TYPE_UNSPECIFIED' &&
  machine.accelerator_count !== 0;

/** `worker_pool_specs` with a rung's machine and reservation applied; other values unchanged. */
function applyToPools(pools: unknown, rung: FallbackRung): unknown {
  if (!Array.isArray(pools) || (rung.machine_spec === undefined && rung.reservation === undefined)) return pools;
  const anyAccelerator = pools.some((pool) => isPlainObject(pool) && hasAccelerator(pool.machine_spec));
  return pools.map((pool) => {
    if (!isPlainObject(pool)) return pool;
    const machine: Record<string, unknown> = isPlainObject(pool.machine_spec) ? { ...pool.machine_spec } : {};
    const wanted = rung.machine_spec ?? {};
    // The machine goes to the pools that have an accelerator (every pool when none has one): CPU-only pools, such
    // as a reduction server, keep theirs.
    if (!anyAccelerator || hasAccelerator(pool.machine_spec)) {
      if (wanted.machine_type !== undefined) machine.machine_type = wanted.machine_type;
      if (wanted.accelerator_type !== undefined) machine.accelerator_type = wanted.accelerator_type;
      if (wanted.accelerator_count !== undefined) machine.accelerator_count = wanted.accelerator_count;
    }
    if (rung.reservation !== undefined) {
      machine.reservation_affinity = {
        reservation_affinity_type: 'SPECIFIC_RESERVATION',
        key: RESERVATION_NAME_KEY,
        values: [rung.reservation],
      };
    }
    return { ...pool, machine_spec: machine };
  });
}

/** The `spec` and `run` sections of a config or of launch overrides with a rung applied (absent sections stay absent). */
function applySections(target: Record<string, unknown>, rung: FallbackRung, create: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = { ...target };
  if (isPlainObject(target.spec) || (create && target.spec === undefined)) {
    const spec: Record<string, unknown> = { ...(isPlainObject(target.spec) ? target.spec : {}) };
    if (rung.staging_bucket !== undefined && (create || spec.staging_bucket !== undefined)) {
      spec.staging_bucket = rung.staging_bucket;
    }
    if (spec.worker_pool_specs !== undefined) spec.worker_pool_specs = applyToPools(spec.worker_pool_specs, rung);
    if (create || Object.keys(spec).length > 0) out.spec = spec;
  }
  const runChanges: Record<string, unknown> = {};
  if (rung.scheduling_strategy !== undefined) runChanges.scheduling_strategy = rung.scheduling_strategy;
  if (rung.max_wait_duration !== undefined) runChanges.max_wait_duration = rung.max_wait_duration;
  const run = isPlainObject(target.run) ? target.run : undefined;
  if (run !== undefined) {
    // Overrides: replace only what they set; the config: set what the rung sets.
    const changed = { ...run };
    for (const [key, value] of Object.entries(runChanges)) if (create || key in run) changed[key] = value;
    out.run = changed;
  } else if (create && Object.keys(runChanges).length > 0) {
    out.run = runChanges;
  }
  return out;
}

/**
 * The queue config of `rung` (0: the config as written, N: with `fallback[N-1]` applied; `limits`, `retry` and
 * `fallback` kept, so every rung is held to the same limits) and the region the rung names. An unknown rung gives
 * the config as written.
 */
export function applyRung(config: Readonly<Record<string, unknown>>, rung: number): RungConfig {
  const alternative = rung > 0 ? fallbackRungs(config)[rung - 1] : undefined;
  if (alternative === undefined) return { config: { ...config } };
  const applied = applySections(config, alternative, true);
  return { config: applied, ...(alternative.region === undefined ? {} : { region: alternative.region }) };
}

/**
 * Launch overrides with a rung applied, so an override of `spec.worker_pool_specs` or `run.scheduling_strategy`
 * does not undo the rung's machine or strategy. Overrides that are not a mapping are returned unchanged.
 */
export function applyRungToOverrides(
  overrides: unknown,
  config: Readonly<Record<string, unknown>>,
  rung: number,
): unknown {
  const alternative = rung > 0 ? fallbackRungs(config)[rung - 1] : undefined;
  if (alternative === undefined || !isPlainObject(overrides)) return overrides;
  return applySections(overrides, alternative, false);
}

/** One line naming what a rung runs on, e.g. `rung 1 (region europe-west4, g2-standard-8 with 1 NVIDIA_L4)`. */
export function describeRung(config: Readonly<Record<string, unknown>>, rung: number): string {
  if (rung === 0) return 'the queue config';
  const alternative = fallbackRungs(config)[rung - 1];
  if (alternative === undefined) return `fallback rung ${rung}`;
  const parts: string[] = [];
  if (alternative.region) parts.push(`region ${alternative.region}`);
  const machine = alternative.machine_spec;
  if (machine?.machine_type || machine?.accelerator_type) {
    const accelerator = machine.accelerator_type
      ? `${machine.accelerator_count ?? ''} ${machine.accelerator_type}`.trim()
      : '';
    parts.push([machine.machine_type, accelerator].filter(Boolean).join(' with '));
  }
  if (alternative.scheduling_strategy) parts.push(alternative.scheduling_strategy);
  if (alternative.reservation) parts.push(`reservation ${alternative.reservation}`);
  return `fallback rung ${rung}${parts.length > 0 ? ` (${parts.join(', ')})` : ''}`;
}

const MULTI_REGION_PREFIX: Record<string, string> = { us: 'us-', europe: 'europe-', asia: 'asia-' };

/**
 * What to say when a job in `region` runs an image from a regional Artifact Registry elsewhere: Vertex pulls it
 * across regions (it works, slower to start, with egress charges). `undefined` when the image is not in Artifact
 * Registry, or is in (or in a multi-region covering) `region`.
 */
export function crossRegionImageNote(imageUri: string, region: string): string | undefined {
  const host = imageUri.split('/')[0] ?? '';
  const location = artifactRegistryDockerLocation(host);
  if (location === undefined || location === region) return undefined;
  const prefix = MULTI_REGION_PREFIX[location];
  if (prefix !== undefined && region.startsWith(prefix)) return undefined;
  return `the image ${imageUri} is in Artifact Registry in ${location}; a job in ${region} pulls it across regions (it works, but starts slower and pays egress): push a copy to ${region}-docker.pkg.dev for this alternative`;
}

/** The queue's `limits` an agent checks against the queue store before each submit (`QueueStore.admit`). */
export function admissionLimitsOf(config: unknown): AdmissionLimits {
  const limits = isPlainObject(config) && isPlainObject(config.limits) ? config.limits : {};
  const num = (value: unknown) =>
    typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
  const maxConcurrent = num(limits.max_concurrent);
  const maxAccelerators = num(limits.max_accelerators);
  const dailyAcceleratorHours = num(limits.daily_accelerator_hours);
  return {
    ...(maxConcurrent === undefined ? {} : { maxConcurrent }),
    ...(maxAccelerators === undefined ? {} : { maxAccelerators }),
    ...(dailyAcceleratorHours === undefined ? {} : { dailyAcceleratorHours }),
  };
}
