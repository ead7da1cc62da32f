/**
 * Simulated capacity and GPU quota per region: what lets a test walk a fallback ladder end to end. Capacity rules
 * say how many replicas of matching machines may RUN at once in a region (0: a stockout, as Vertex's "The resources
 * are insufficient in region"); accelerator quota rules refuse a create whose accelerators, with those of the
 * region's unfinished jobs, exceed the limit (RESOURCE_EXHAUSTED, as Vertex's quota error). In memory only: rules are
 * not persisted with the emulator's state.
 */
import { ConfigError } from '@vertex-launch/core';
import type { JobRecord, WorkerPoolSpecInput } from './types.js';

/** How many replicas of matching machines may run at once in a region. */
export interface CapacityRule {
  region: string;
  /** Only pools of this machine type (any when absent). */
  machineType?: string;
  /** Only pools with this accelerator (any when absent). */
  acceleratorType?: string;
  /** Replicas that may run at once; 0: none (a stockout). */
  available: number;
}

/** The most accelerators of a type the jobs of a region may hold (custom_model_training_<type>_gpus). */
export interface AcceleratorQuotaRule {
  region: string;
  /** AcceleratorType enum name, e.g. `NVIDIA_L4`. */
  acceleratorType: string;
  limit: number;
}

const REGION = /^[a-z]+-[a-z]+\d+$/;

const replicas = (pool: WorkerPoolSpecInput) => Number(pool.replicaCount ?? 1) || 0;

function matches(rule: CapacityRule, pool: WorkerPoolSpecInput): boolean {
  const machine = pool.machineSpec ?? {};
  return (
    (rule.machineType === undefined || rule.machineType === machine.machineType) &&
    (rule.acceleratorType === undefined || rule.acceleratorType === machine.acceleratorType)
  );
}

const specificity = (rule: CapacityRule) => (rule.machineType ? 1 : 0) + (rule.acceleratorType ? 1 : 0);

function invalid(what: string, issues: { path: string; message: string }[]): ConfigError {
  return new ConfigError(
    `[vertex-launch] [emulator] Invalid ${what}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}.`,
    issues.map((i) => ({ ...i, severity: 'error' as const })),
  );
}

/** The capacity and quota rules of one emulator. */
export class CapacityModel {
  #capacity: CapacityRule[] = [];
  #quota: AcceleratorQuotaRule[] = [];

  /** Replaces every capacity rule (`[]`: unlimited everywhere). @throws ConfigError naming each bad rule. */
  setCapacity(rules: readonly CapacityRule[]): void {
    const issues: { path: string; message: string }[] = [];
    if (!Array.isArray(rules)) throw invalid('capacity rules', [{ path: 'rules', message: 'must be a list' }]);
    rules.forEach((rule, i) => {
      if (typeof rule?.region !== 'string' || !REGION.test(rule.region)) {
        issues.push({ path: `rules[${i}].region`, message: 'must be a region such as us-central1' });
      }
      if (!Number.isInteger(rule?.available) || rule.available < 0) {
        issues.push({ path: `rules[${i}].available`, message: 'must be a whole number of replicas, 0 or more' });
      }
    });
    if (issues.length > 0) throw invalid('capacity rules', issues);
    this.#capacity = rules.map((rule) => ({ ...rule }));
  }

  /** Replaces every accelerator quota rule (`[]`: unlimited). @throws ConfigError naming each bad rule. */
  setAcceleratorQuota(rules: readonly AcceleratorQuotaRule[]): void {
    const issues: { path: string; message: string }[] = [];
    if (!Array.isArray(rules)) throw invalid('quota rules', [{ path: 'rules', message: 'must be a list' }]);
    rules.forEach((rule, i) => {
      if (typeof rule?.region !== 'string' || !REGION.test(rule.region)) {
        issues.push({ path: `rules[${i}].region`, message: 'must be a region such as us-central1' });
      }
      if (typeof rule?.acceleratorType !== 'string' || !/^[A-Z0-9_]+$/.test(rule.acceleratorType)) {
        issues.push({ path: `rules[${i}].acceleratorType`, message: 'must be an AcceleratorType such as NVIDIA_L4' });
      }
      if (!Number.isInteger(rule?.limit) || rule.limit < 0) {
        issues.push({ path: `rules[${i}].limit`, message: 'must be a whole number of accelerators, 0 or more' });
      }
    });
    if (issues.length > 0) throw invalid('quota rules', issues);
    this.#quota = rules.map((rule) => ({ ...rule }));
  }

  /**
   * True when `job` (in `region`) fits next to the `running` jobs: for every rule that governs one of its pools (the
   * most specific rule matching the pool), the replicas of running jobs governed by that rule plus the job's own stay
   * within `available`.
   */
  fits(job: JobRecord, region: string, running: readonly { job: JobRecord; region: string }[]): boolean {
    const rules = this.#capacity.filter((rule) => rule.region === region);
    if (rules.length === 0) return true;
    const governing = (pool: WorkerPoolSpecInput) =>
      rules.filter((rule) => matches(rule, pool)).sort((a, b) => specificity(b) - specificity(a))[0];
    const demand = new Map<CapacityRule, number>();
    for (const pool of job.jobSpec.workerPoolSpecs ?? []) {
      const rule = governing(pool);
      if (rule) demand.set(rule, (demand.get(rule) ?? 0) + replicas(pool));
    }
    for (const [rule, wanted] of demand) {
      let used = 0;
      for (const other of running) {
        if (other.region !== region || other.job.id === job.id) continue;
        for (const pool of other.job.jobSpec.workerPoolSpecs ?? [])
          if (governing(pool) === rule) used += replicas(pool);
      }
      if (used + wanted > rule.available) return false;
    }
    return true;
  }

  /**
   * Vertex's quota refusal of a create of `job` in `region`, when its accelerators of a type with a quota rule, with
   * those of the region's `unfinished` jobs, exceed the rule's limit; else undefined.
   */
  quotaRefusal(job: Pick<JobRecord, 'jobSpec'>, region: string, unfinished: readonly JobRecord[]): string | undefined {
    for (const rule of this.#quota) {
      if (rule.region !== region) continue;
      const count = (spec: JobRecord['jobSpec']) =>
        (spec.workerPoolSpecs ?? [])
          .filter((pool) => pool.machineSpec?.acceleratorType === rule.acceleratorType)
          .reduce((sum, pool) => sum + replicas(pool) * (pool.machineSpec?.acceleratorCount ?? 0), 0);
      const requested = count(job.jobSpec);
      if (requested === 0) continue;
      const inUse = unfinished.reduce((sum, other) => sum + count(other.jobSpec), 0);
      if (requested + inUse > rule.limit) {
        return `The following quota metrics exceed quota limits: aiplatform.googleapis.com/custom_model_training_${rule.acceleratorType.toLowerCase()}_gpus (region ${region}: ${requested} requested, ${inUse} in use, limit ${rule.limit}). Request a quota increase in the Google Cloud console.`;
      }
    }
    return undefined;
  }
}
