/**
 * The most a CustomJob request can spend, in accelerator-hours: for each worker pool, replicas x accelerators x the
 * job's timeout (Vertex stops a job at `scheduling.timeout`, 7 days when none is set). Pure; what `launch --dry-run`
 * prints and the cost guardrails compare against.
 */
import type { CreateCustomJobRequest } from './custom-job.js';

/** Vertex's timeout of a CustomJob whose `scheduling.timeout` is not set: 7 days. */
export const VERTEX_DEFAULT_TIMEOUT_SECONDS = 7 * 24 * 3600;

/** The spend bound of one worker pool. */
export interface PoolSpend {
  /** Index in `worker_pool_specs`. */
  pool: number;
  machineType: string;
  replicas: number;
  acceleratorType?: string;
  acceleratorCount: number;
  /** replicas x acceleratorCount x timeout hours. */
  acceleratorHours: number;
}

/** The most a request can spend: see {@link spendBound}. */
export interface SpendBound {
  /** The sum over the pools. 0 for a job without accelerators. */
  acceleratorHours: number;
  /** Replica-hours over every pool (replicas x timeout hours): what machine prices multiply. */
  replicaHours: number;
  timeoutSeconds: number;
  /** Where the timeout came from: the request's `scheduling.timeout`, or Vertex's 7-day default. */
  timeoutFrom: 'run.timeout' | 'vertex_default';
  pools: PoolSpend[];
}

/** The spend bound of a create request (see the module's comment). */
export function spendBound(request: CreateCustomJobRequest): SpendBound {
  const spec = request.customJob.jobSpec;
  const set = spec.scheduling?.timeout;
  const timeoutSeconds = set ? Number(set.seconds) + (set.nanos ?? 0) / 1e9 : VERTEX_DEFAULT_TIMEOUT_SECONDS;
  const hours = timeoutSeconds / 3600;
  const pools = spec.workerPoolSpecs.map((pool, index): PoolSpend => {
    const replicas = Number(pool.replicaCount ?? '0');
    const acceleratorCount = pool.machineSpec?.acceleratorCount ?? 0;
    return {
      pool: index,
      machineType: pool.machineSpec?.machineType ?? '',
      replicas,
      ...(pool.machineSpec?.acceleratorType ? { acceleratorType: pool.machineSpec.acceleratorType } : {}),
      acceleratorCount,
      acceleratorHours: replicas * acceleratorCount * hours,
    };
  });
  return {
    acceleratorHours: pools.reduce((sum, p) => sum + p.acceleratorHours, 0),
    replicaHours: pools.reduce((sum, p) => sum + p.replicas * hours, 0),
    timeoutSeconds,
    timeoutFrom: set ? 'run.timeout' : 'vertex_default',
    pools,
  };
}

/** `at most 8 accelerator-hours (2 x 1 NVIDIA_L4 for 4h of run.timeout)`, for people. */
export function describeSpendBound(bound: SpendBound): string {
  const hours = (h: number) => (Number.isInteger(h) ? String(h) : h.toFixed(2).replace(/\.?0+$/, ''));
  const limit = `${hours(bound.timeoutSeconds / 3600)}h of ${bound.timeoutFrom === 'run.timeout' ? 'run.timeout' : "Vertex's default timeout (no run.timeout set)"}`;
  const gpus = bound.pools.filter((p) => p.acceleratorCount > 0 && p.replicas > 0);
  if (gpus.length === 0) {
    return `no accelerators; at most ${hours(bound.replicaHours)} replica-hours (${limit})`;
  }
  const parts = gpus.map((p) => `${p.replicas} x ${p.acceleratorCount} ${p.acceleratorType ?? 'accelerator'}`);
  return `at most ${hours(bound.acceleratorHours)} accelerator-hours (${parts.join(' + ')} for ${limit})`;
}
