import { JOB_STATES } from '@vertex-launch/core';
import { ExitCode, UsageError } from '../exit-codes.js';
import { type ListFlags, type ListSpec, listOptions, printRows, selectRows } from '../list-format.js';
import type { GlobalOptions } from '../options.js';
import { dim, type Io } from '../output.js';
import { JOB_FIELDS, jobJson, jobsRunner, shortTime, stateText, type VertexFlags } from './jobs-runner.js';

export interface JobsListOptions extends GlobalOptions, VertexFlags, ListFlags {
  limit?: string;
  /** `--state`, repeatable and comma-separated. */
  state?: string[] | string;
  all?: boolean;
}

/** The state names `--state` takes: `running`, `failed`... (any case, with or without `JOB_STATE_`). */
const STATE_NAMES = JOB_STATES.slice(1).map((s) => s.replace('JOB_STATE_', '').toLowerCase());

const stateName = (value: string) =>
  value
    .trim()
    .toUpperCase()
    .replace(/^JOB_STATE_/, '');

/** The fields of `jobs list` rows (the `--json` job objects); `state=RUNNING` matches `JOB_STATE_RUNNING`. */
export const JOBS_LIST: ListSpec = { command: 'jobs list', fields: JOB_FIELDS, normalize: { state: stateName } };

/**
 * How many of the newest jobs a `--filter` looks at: the filter runs here, on the jobs Vertex lists, so it reads more
 * than `--limit` of them (and `--limit` applies to the jobs that match).
 */
export const FILTER_WINDOW = 1000;

/** Every `--state` value, as `JOB_STATE_*` names; a UsageError names a wrong one and lists the states. */
export function jobStates(values: readonly string[] | string | undefined): string[] | undefined {
  if (values === undefined) return undefined;
  const wanted = (Array.isArray(values) ? values : [values])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
  const known = (v: string) =>
    v !== '' && (JOB_STATES.slice(1) as readonly string[]).includes(`JOB_STATE_${stateName(v)}`);
  const bad = wanted.filter((v) => !known(v));
  if (bad.length > 0 || wanted.length === 0) {
    throw new UsageError(
      `--state ${bad.join(',') || '""'}: not a job state; use ${STATE_NAMES.join(', ')} (repeat --state or separate with commas).`,
    );
  }
  return [...new Set(wanted.map((v) => `JOB_STATE_${stateName(v)}`))];
}

/** `vertex-launch jobs list`: our jobs (by label), newest first: state, created, console URL. */
export default async function jobsList(options: JobsListOptions, io: Io, env = process.env): Promise<number> {
  const limit = options.limit === undefined ? 50 : Number(options.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
    throw new UsageError(`--limit ${options.limit}: expected a whole number from 1 to 10000.`);
  }
  const states = jobStates(options.state);
  const list = listOptions(options, JOBS_LIST);
  const filter = states?.map((s) => `state="${s}"`).join(' OR ');
  const runner = await jobsRunner(options, env);
  try {
    const listed = await runner.list({
      limit: list.filter ? Math.max(limit, FILTER_WINDOW) : limit,
      ...(filter ? { filter } : {}),
      ...(options.all ? { all: true } : {}),
    });
    const snapshots = new Map(listed.map((job) => [jobJson(job) as Record<string, unknown>, job]));
    const rows = selectRows([...snapshots.keys()], list, limit);
    if (list.format.kind !== 'default') {
      printRows(io, list.format, rows, (jobs) => ({ project: runner.projectId, region: runner.region, jobs }));
      return ExitCode.OK;
    }
    if (rows.length === 0) {
      const what = [filter, options.filter === undefined ? undefined : `--filter ${options.filter}`]
        .filter(Boolean)
        .join(' and ');
      io.stderr(`No ${options.all ? '' : 'Vertex Launch '}jobs in ${runner.parent}${what ? ` with ${what}` : ''}.\n`);
      return ExitCode.OK;
    }
    const table = rows.map((row) => {
      const job = snapshots.get(row) as (typeof listed)[number];
      return {
        id: job.id,
        state: job.state.replace('JOB_STATE_', ''),
        created: shortTime(job.createTime),
        name: job.displayName,
        url: job.consoleUrl,
        job,
      };
    });
    const w = {
      id: Math.max(2, ...table.map((r) => r.id.length)),
      state: Math.max(5, ...table.map((r) => r.state.length)),
      name: Math.min(40, Math.max(12, ...table.map((r) => r.name.length))),
    };
    io.stdout(
      `${dim(io, `${'ID'.padEnd(w.id)}  ${'STATE'.padEnd(w.state)}  ${'CREATED'.padEnd(20)}  ${'DISPLAY NAME'.padEnd(w.name)}  CONSOLE`)}\n`,
    );
    for (const r of table) {
      const state = stateText(io, r.job) + ' '.repeat(Math.max(0, w.state - r.state.length));
      io.stdout(
        `${r.id.padEnd(w.id)}  ${state}  ${r.created.padEnd(20)}  ${r.name.slice(0, w.name).padEnd(w.name)}  ${r.url}\n`,
      );
    }
    return ExitCode.OK;
  } finally {
    await runner.close();
  }
}
