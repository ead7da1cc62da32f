/**
 * Orphaned jobs: Vertex jobs with our labels that are still running although no queue item owns them any more — the
 * item finished (its agent died before it could cancel the job, or someone finished it by hand), the item or its
 * queue was deleted, or the job is a second job of one launch. `vertex-launch jobs sweep` lists them and cancels them
 * on request. Pure: the caller lists the jobs and the items.
 */
import { LAUNCH_ID_LABEL, QUEUE_LABEL, sanitizeLabelValue } from '../config/labels.js';
import type { JobSnapshot } from '../launch/runner.js';
import type { QueueItem } from './store.js';

/** What the sweep concluded about one unfinished job. */
export type SweepVerdict =
  /** An unfinished queue item owns it: leave it alone. */
  | 'owned'
  /** Nothing owns it: a candidate for `--cancel`. */
  | 'orphan'
  /** Launched without a queue (`vertex-launch launch`, the SDK's `launch()`): whoever launched it owns it. */
  | 'direct'
  /** Its queue is not in this queue store (another team's store, or a queue deleted long ago): not judged. */
  | 'other_store';

/** One unfinished job and what the sweep concluded about it. */
export interface SweepEntry {
  job: JobSnapshot;
  verdict: SweepVerdict;
  /** Why, in one line. */
  reason: string;
  /** The queue named by the job's label, when it has one. */
  queue?: string;
  /** The item of the job's launch id, when the store has one. */
  item?: QueueItem;
}

/**
 * Judges every unfinished job of `jobs` (finished ones are left out) against the items of the store's queues.
 * `queues` are the store's queue names; `items` must hold every item of each queue a job's label names (any state).
 */
export function sweepJobs(
  jobs: readonly JobSnapshot[],
  queues: readonly string[],
  items: readonly QueueItem[],
): SweepEntry[] {
  const queueByLabel = new Map(queues.map((name) => [sanitizeLabelValue(name), name]));
  const itemsByLaunch = new Map<string, QueueItem[]>();
  for (const item of items) {
    const key = sanitizeLabelValue(item.launchId);
    itemsByLaunch.set(key, [...(itemsByLaunch.get(key) ?? []), item]);
  }
  const entries: SweepEntry[] = [];
  for (const job of jobs) {
    if (job.terminal) continue;
    const queueLabel = job.labels[QUEUE_LABEL];
    if (queueLabel === undefined) {
      entries.push({ job, verdict: 'direct', reason: 'launched without a queue: its launcher owns it' });
      continue;
    }
    const queue = queueByLabel.get(queueLabel);
    if (queue === undefined) {
      entries.push({
        job,
        verdict: 'other_store',
        reason: `queue "${queueLabel}" is not in this queue store: not judged (use --db for its store)`,
      });
      continue;
    }
    const launchId = job.labels[LAUNCH_ID_LABEL];
    const candidates = (launchId === undefined ? [] : (itemsByLaunch.get(launchId) ?? [])).filter(
      (item) => item.queue === queue,
    );
    const item = candidates[0];
    if (item === undefined) {
      entries.push({ job, queue, verdict: 'orphan', reason: `no item of queue "${queue}" has its launch id` });
      continue;
    }
    // By id: Vertex may spell the project as its number in one name and as its id in another.
    if (item.jobName !== undefined && item.jobName.split('/').at(-1) !== job.id) {
      entries.push({
        job,
        queue,
        item,
        verdict: 'orphan',
        reason: `a second job of launch ${item.launchId}: item ${item.id} tracks ${item.jobName}`,
      });
      continue;
    }
    if (item.state === 'finished') {
      entries.push({
        job,
        queue,
        item,
        verdict: 'orphan',
        reason: `item ${item.id} finished (${item.outcome ?? 'done'}${item.finishedAt ? ` at ${item.finishedAt}` : ''}) but its job still runs`,
      });
      continue;
    }
    entries.push({ job, queue, item, verdict: 'owned', reason: `item ${item.id} is ${item.state}` });
  }
  return entries;
}
