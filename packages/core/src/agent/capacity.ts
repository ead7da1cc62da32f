/**
 * What the agent does when Vertex has no capacity, and what a queue may hold at once:
 *
 * - admission: before a launch's first create, its demand (accelerators in flight, its accelerator-hour bound) is
 *   checked against the queue's `limits.max_concurrent`, `max_accelerators` and `daily_accelerator_hours` in the
 *   queue store (`QueueStore.admit`: one answer for every agent of the queue). A launch that does not fit now is
 *   deferred — given back to its queue with a backoff — and one that can never fit fails.
 * - the next attempt: a job that ended (or a create refused) for `stockout`, `quota` or `flex_wait_expired` moves
 *   to the next `fallback` alternative at once; a class in `retry.on` is resubmitted after a backoff while the
 *   queue's retry budget lasts — on the same alternative for `preempted`, from the queue config again for capacity.
 */
import {
  admissionLimitsOf,
  describeRung,
  fallbackTriggers,
  retryDelayMs,
  retryPolicyOf,
  rungCount,
} from '../config/fallback.js';
import type { FailureClass, Failure as FailureClassOf } from '../failure.js';
import type { CreateCustomJobRequest } from '../mapping/custom-job.js';
import { spendBound } from '../mapping/spend.js';
import type { AdmissionLimits, QueueItem, RetryUpdate } from '../queue/store.js';
import { type Failure, failure } from './phases.js';
import { formatMs, type LaunchWorker } from './worker.js';

/** True when the queue has a limit that needs an admission. */
export function hasAdmissionLimits(limits: AdmissionLimits): boolean {
  return (
    limits.maxConcurrent !== undefined ||
    limits.maxAccelerators !== undefined ||
    limits.dailyAcceleratorHours !== undefined
  );
}

/** Accelerators a request holds while in flight, and the most accelerator-hours it can spend. */
export function demandOf(request: CreateCustomJobRequest): { accelerators: number; acceleratorHours: number } {
  const bound = spendBound(request);
  const accelerators = bound.pools.reduce((sum, pool) => sum + pool.replicas * pool.acceleratorCount, 0);
  return { accelerators, acceleratorHours: bound.acceleratorHours };
}

/** The longest wait between two admission checks of a deferred launch. */
export const MAX_DEFER_DELAY_MS = 120_000;

/** True when this attempt of the item was admitted already (an earlier claim admitted it, then its agent died). */
function admittedThisAttempt(item: QueueItem): boolean {
  const admitted = item.events.findLastIndex((e) => e.type === 'admitted');
  return admitted >= 0 && admitted > item.events.findLastIndex((e) => e.type === 'retried');
}

/** Deferrals of the item since it was last admitted or resubmitted: the backoff doubles with each. */
function deferralsOf(item: QueueItem): number {
  let count = 0;
  for (let i = item.events.length - 1; i >= 0; i--) {
    const type = item.events[i]?.type;
    if (type === 'admitted' || type === 'retried' || type === 'enqueued') break;
    if (type === 'deferred') count++;
  }
  return count;
}

/**
 * Admits the launch under its queue's limits before its first create: `admitted` (or no limits), `deferred` (given
 * back to the queue; the worker stops) or a failure (it alone exceeds a limit).
 */
export async function admit(
  w: LaunchWorker,
  request: CreateCustomJobRequest,
): Promise<'admitted' | 'deferred' | Failure> {
  const limits = admissionLimitsOf(w.queue.config);
  if (!hasAdmissionLimits(limits) || admittedThisAttempt(w.item)) return 'admitted';
  const demand = demandOf(request);
  const result = await w.call(() => w.ctx.store.admit(w.item.id, w.ctx.agentId, { ...demand, limits }));
  w.item = result.item;
  if (result.admitted) {
    w.ctx.log.debug(w.fields({ event: 'admitted', ...demand }), 'admitted under the queue limits');
    return 'admitted';
  }
  const key = `limits.${result.limit}`;
  if (result.never) {
    return failure(
      'agent',
      `this launch alone exceeds \`${key}\` of queue \`${w.queue.name}\` (${result.reason}): it can never start; lower its replicas, accelerators or \`run.timeout\`, or raise the limit`,
    );
  }
  const delayMs = Math.min(Math.max(w.ctx.pollMs, 50) * 2 ** deferralsOf(w.item), MAX_DEFER_DELAY_MS);
  const text = `waiting for capacity of queue \`${w.queue.name}\` (${key}): ${result.reason}; tried again in ${formatMs(delayMs)}`;
  w.ctx.log.info(w.fields({ event: 'deferred', limit: result.limit, delayMs }), text);
  await w.giveBack(text, delayMs);
  return 'deferred';
}

/** Resubmissions the retry budget counted so far (fallback moves are not counted). */
function retriesSoFar(item: QueueItem): number {
  return item.events.filter((e) => e.type === 'retried' && e.message.startsWith('retry ')).length;
}

/** The job (or the refused create) that ended, for messages. */
function endedText(jobName: string | undefined, status: string, classified: FailureClassOf): string {
  const what = jobName ? `job ${jobName} ended ${status}` : 'the create call was refused';
  return `${what} (${classified.class}: ${classified.summary})`;
}

/**
 * What comes after a launch ended without success: the resubmission (next fallback alternative, or a retry), or
 * `undefined` when the launch is finished with its failure.
 */
export function nextAttempt(
  w: LaunchWorker,
  classified: FailureClassOf,
  ended: { jobName?: string; status: RetryUpdate['status'] },
): RetryUpdate | undefined {
  const config = w.queue.config;
  const item = w.item;
  const attempt = item.retries + 2;
  const failureUpdate = {
    class: classified.class,
    summary: classified.summary,
    ...(classified.exitCode === undefined ? {} : { exitCode: classified.exitCode }),
    ...(classified.fix === undefined ? {} : { fix: classified.fix }),
  };
  const base = { ...(ended.jobName ? { jobName: ended.jobName } : {}), status: ended.status, failure: failureUpdate };
  if (w.cancelRequested) return undefined;
  const capacity = (fallbackTriggers() as readonly FailureClass[]).includes(classified.class);
  if (capacity && item.rung + 1 < rungCount(config)) {
    const rung = item.rung + 1;
    return {
      ...base,
      rung,
      delayMs: 0,
      message: `fallback to rung ${rung}: ${endedText(ended.jobName, ended.status, classified)}; attempt ${attempt} on ${describeRung(config, rung)}`,
    };
  }
  const policy = retryPolicyOf(config);
  if (policy === undefined || !policy.on.includes(classified.class)) return undefined;
  const n = retriesSoFar(item) + 1;
  if (n >= policy.maxAttempts) return undefined;
  const rung = capacity ? 0 : item.rung;
  const delayMs = retryDelayMs(policy, n);
  return {
    ...base,
    rung,
    delayMs,
    message: `retry ${n} of ${policy.maxAttempts - 1}: ${endedText(ended.jobName, ended.status, classified)}; attempt ${attempt} on ${describeRung(config, rung)} in ${formatMs(delayMs)}`,
  };
}
