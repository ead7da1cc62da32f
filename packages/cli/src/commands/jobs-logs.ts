import { parseDuration } from '@vertex-launch/core/config';
import { ExitCode, UsageError } from '../exit-codes.js';
import type { GlobalOptions } from '../options.js';
import type { Io } from '../output.js';
import { jobReference, jobsRunner, logJson, logLine, type VertexFlags } from './jobs-runner.js';

export interface JobsLogsOptions extends GlobalOptions, VertexFlags {
  job: string;
  follow?: boolean;
  /** A duration back from now (`10m`, `2h`, `90s`, `1h30m`) or an RFC 3339 time. */
  since?: string;
  /** Start with the last n entries. */
  tail?: string;
  /** Only the entries of this replica, e.g. `workerpool0-0`. */
  task?: string;
}

/**
 * `vertex-launch jobs logs JOB [--follow] [--since D|T] [--tail N] [--task NAME]`: the job's log entries from Cloud
 * Logging (JSON lines with --json).
 */
export default async function jobsLogs(options: JobsLogsOptions, io: Io, env = process.env): Promise<number> {
  const since = parseSince(options.since);
  const tail = parseTail(options.tail);
  const task = parseTask(options.task);
  const runner = await jobsRunner(options, env, options.job);
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  try {
    for await (const entry of runner.logs(jobReference(runner, options.job), {
      follow: options.follow === true,
      signal: controller.signal,
      ...(since ? { since } : {}),
      ...(tail === undefined ? {} : { tail }),
      ...(task === undefined ? {} : { task }),
    })) {
      io.stdout(options.json ? logJson(entry) : logLine(io, entry));
    }
    return ExitCode.OK;
  } catch (error) {
    // Ctrl-C: reading stops with the signal's reason (as waiting does); the job is left as it is.
    if (controller.signal.aborted) return ExitCode.INTERRUPTED;
    throw error;
  } finally {
    process.off('SIGINT', onSigint);
    await runner.close();
  }
}

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:[Zz]|[+-]\d{2}:?\d{2})?$/;

/** `--since 10m` (back from `now`) or `--since 2026-12-04T10:00:00Z`; a date without a zone is UTC. */
export function parseSince(value: string | undefined, now = Date.now()): Date | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  const seconds = /^\d+(\.\d+)?$/.test(text) ? undefined : parseDuration(text);
  if (seconds !== undefined) return new Date(now - seconds * 1000);
  if (TIMESTAMP.test(text)) {
    const zoned = /([Zz]|[+-]\d{2}:?\d{2})$/.test(text) || !/[Tt ]/.test(text) ? text : `${text}Z`;
    const ms = Date.parse(zoned.replace(' ', 'T'));
    if (!Number.isNaN(ms)) return new Date(ms);
  }
  throw new UsageError(
    `--since ${JSON.stringify(value)}: expected a duration back from now (90s, 10m, 2h, 1h30m, 1d) or a time (2026-12-04T10:00:00Z, 2026-12-04).`,
  );
}

/** `--tail N`: a whole number of entries, 0 or more. */
export function parseTail(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value.trim())) {
    throw new UsageError(`--tail ${JSON.stringify(value)}: expected a number of entries, e.g. --tail 100.`);
  }
  return Number(value.trim());
}

/** `--task workerpool0-0`: the replica name Vertex writes in `resource.labels.task_name`. */
export function parseTask(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const task = value.trim();
  if (!/^workerpool\d+-\d+$/.test(task)) {
    throw new UsageError(
      `--task ${JSON.stringify(value)}: expected a replica name workerpool<pool>-<replica>, e.g. --task workerpool0-0 (the chief) or --task workerpool1-3.`,
    );
  }
  return task;
}
