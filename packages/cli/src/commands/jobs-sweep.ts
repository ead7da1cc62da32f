import {
  QUEUE_LABEL,
  type QueueItem,
  type QueueStore,
  type SweepEntry,
  sanitizeLabelValue,
  sweepJobs,
} from '@vertex-launch/core';
import { ExitCode, UsageError } from '../exit-codes.js';
import type { GlobalOptions } from '../options.js';
import { dim, green, type Io, printJson, readLine, red, YES, yellow } from '../output.js';
import { jobJson, jobsRunner, shortTime, type VertexFlags } from './jobs-runner.js';
import { type QueueDbFlags, READ_ONLY, withQueueStore } from './queue-db.js';

export interface JobsSweepOptions extends GlobalOptions, VertexFlags, QueueDbFlags {
  cancel?: boolean;
  yes?: boolean;
  limit?: string;
}

/** Items of one queue, every page. */
async function allItems(store: QueueStore, queue: string): Promise<QueueItem[]> {
  const items: QueueItem[] = [];
  for (let before: string | undefined; ; ) {
    const page = await store.list({ queue, limit: 1000, ...(before ? { before } : {}) });
    items.push(...page);
    if (page.length < 1000) return items;
    before = page.at(-1)?.id;
  }
}

/**
 * `vertex-launch jobs sweep [--cancel]`: the unfinished jobs with our labels that no queue item owns (their item
 * finished or is gone, or they are a second job of one launch); with `--cancel`, asks Vertex to cancel them.
 */
export default async function jobsSweep(options: JobsSweepOptions, io: Io, env = process.env): Promise<number> {
  const limit = options.limit === undefined ? 1000 : Number(options.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
    throw new UsageError(`--limit ${options.limit}: expected a whole number from 1 to 10000.`);
  }
  const runner = await jobsRunner(options, env);
  try {
    const jobs = (await runner.list({ limit })).filter((job) => !job.terminal);
    const entries = await withQueueStore(
      options,
      env,
      async (store) => {
        const queues = (await store.listQueues()).map((q) => q.name);
        // Only the queues a job names are read (a label holds the queue's name made label-safe).
        const named = new Set(jobs.map((job) => job.labels[QUEUE_LABEL]));
        const items: QueueItem[] = [];
        for (const queue of queues) {
          if (named.has(sanitizeLabelValue(queue))) items.push(...(await allItems(store, queue)));
        }
        return sweepJobs(jobs, queues, items);
      },
      READ_ONLY,
    );
    const orphans = entries.filter((e) => e.verdict === 'orphan');

    // People see what would be cancelled before they are asked.
    if (!options.json) printTable(io, entries);
    const cancelled: { name: string; ok: boolean; message?: string }[] = [];
    if (options.cancel && orphans.length > 0) {
      if (!(await confirmed(options, io, orphans.length))) {
        io.stderr('Nothing cancelled.\n');
        return ExitCode.OK;
      }
      for (const entry of orphans) {
        try {
          await runner.cancel(entry.job.name, { wait: false });
          cancelled.push({ name: entry.job.name, ok: true });
        } catch (error) {
          cancelled.push({ name: entry.job.name, ok: false, message: (error as Error).message });
        }
      }
    }

    if (options.json) {
      printJson(io, {
        project: runner.projectId,
        region: runner.region,
        checked: jobs.length,
        jobs: entries.map((e) => ({
          verdict: e.verdict,
          reason: e.reason,
          queue: e.queue ?? null,
          itemId: e.item?.id ?? null,
          job: jobJson(e.job),
          ...(options.cancel && e.verdict === 'orphan'
            ? { cancel: cancelled.find((c) => c.name === e.job.name) ?? null }
            : {}),
        })),
      });
    } else {
      io.stderr(summaryLine(io, jobs.length, orphans.length, entries, options.cancel === true, cancelled));
    }
    return cancelled.some((c) => !c.ok) ? ExitCode.API : ExitCode.OK;
  } finally {
    await runner.close();
  }
}

function printTable(io: Io, entries: readonly SweepEntry[]): void {
  if (entries.length === 0) return;
  const w = {
    id: Math.max(2, ...entries.map((e) => e.job.id.length)),
    verdict: Math.max(7, ...entries.map((e) => e.verdict.length)),
    state: Math.max(5, ...entries.map((e) => e.job.state.replace('JOB_STATE_', '').length)),
  };
  io.stdout(
    `${dim(io, `${'ID'.padEnd(w.id)}  ${'VERDICT'.padEnd(w.verdict)}  ${'STATE'.padEnd(w.state)}  ${'CREATED'.padEnd(20)}  WHY`)}\n`,
  );
  for (const e of entries) {
    const verdict = e.verdict === 'orphan' ? red(io, e.verdict.padEnd(w.verdict)) : e.verdict.padEnd(w.verdict);
    io.stdout(
      `${e.job.id.padEnd(w.id)}  ${verdict}  ${e.job.state.replace('JOB_STATE_', '').padEnd(w.state)}  ${shortTime(e.job.createTime).padEnd(20)}  ${e.reason}\n`,
    );
  }
}

function summaryLine(
  io: Io,
  checked: number,
  orphanCount: number,
  entries: readonly SweepEntry[],
  cancel: boolean,
  cancelled: readonly { ok: boolean }[],
): string {
  const count = (verdict: string) => entries.filter((e) => e.verdict === verdict).length;
  const others = `${count('owned')} owned by a queue item, ${count('direct')} launched without a queue, ${count('other_store')} of queues not in this store`;
  if (orphanCount === 0) return `${green(io, '✓')} No orphaned jobs among ${checked} unfinished (${others}).\n`;
  if (!cancel) {
    return `${yellow(io, '!')} ${orphanCount} orphaned job${orphanCount === 1 ? '' : 's'} of ${checked} unfinished (${others}). Cancel ${orphanCount === 1 ? 'it' : 'them'} with \`vertex-launch jobs sweep --cancel\`.\n`;
  }
  const failed = cancelled.filter((c) => !c.ok).length;
  return failed === 0
    ? `${green(io, '✓')} Cancel requested for ${cancelled.length} orphaned job${cancelled.length === 1 ? '' : 's'} (${others}).\n`
    : `${red(io, '✗')} ${failed} of ${cancelled.length} cancel requests failed (see --json for each).\n`;
}

async function confirmed(options: JobsSweepOptions, io: Io, count: number): Promise<boolean> {
  if (options.yes) return true;
  if (!(io.isTTY && process.stdin.isTTY)) {
    throw new UsageError(
      `[vertex-launch] jobs sweep --cancel would cancel ${count} job${count === 1 ? '' : 's'} and there is no terminal to ask: pass --yes to cancel, or leave out --cancel to list them only.`,
    );
  }
  io.stderr(`Cancel ${count === 1 ? 'this job' : `these ${count} jobs`}? [y/N] `);
  return YES.test(await readLine());
}
