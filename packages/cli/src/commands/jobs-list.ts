import { JOB_STATES } from '@vertex-launch/core';
import { ExitCode, UsageError } from '../exit-codes.js';
import type { GlobalOptions } from '../options.js';
import { dim, type Io, printJson } from '../output.js';
import { jobJson, jobsRunner, shortTime, stateText, type VertexFlags } from './jobs-runner.js';

export interface JobsListOptions extends GlobalOptions, VertexFlags {
  limit?: string;
  state?: string;
  all?: boolean;
}

/** `vertex-launch jobs list`: our jobs (by label), newest first: state, created, console URL. */
export default async function jobsList(options: JobsListOptions, io: Io, env = process.env): Promise<number> {
  const limit = options.limit === undefined ? 50 : Number(options.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
    throw new UsageError(`--limit ${options.limit}: expected a whole number from 1 to 10000.`);
  }
  let filter: string | undefined;
  if (options.state !== undefined) {
    const state = options.state
      .trim()
      .toUpperCase()
      .replace(/^(JOB_STATE_)?/, 'JOB_STATE_');
    if (!(JOB_STATES as readonly string[]).includes(state)) {
      throw new UsageError(
        `--state ${options.state}: not a job state; use one of ${JOB_STATES.slice(1)
          .map((s) => s.replace('JOB_STATE_', '').toLowerCase())
          .join(', ')}.`,
      );
    }
    filter = `state="${state}"`;
  }
  const runner = await jobsRunner(options, env);
  try {
    const jobs = await runner.list({ limit, ...(filter ? { filter } : {}), ...(options.all ? { all: true } : {}) });
    if (options.json) {
      printJson(io, { project: runner.projectId, region: runner.region, jobs: jobs.map(jobJson) });
      return ExitCode.OK;
    }
    if (jobs.length === 0) {
      io.stderr(
        `No ${options.all ? '' : 'Vertex Launch '}jobs in ${runner.parent}${filter ? ` with ${filter}` : ''}.\n`,
      );
      return ExitCode.OK;
    }
    const rows = jobs.map((j) => ({
      id: j.id,
      state: j.state.replace('JOB_STATE_', ''),
      created: shortTime(j.createTime),
      name: j.displayName,
      url: j.consoleUrl,
      job: j,
    }));
    const w = {
      id: Math.max(2, ...rows.map((r) => r.id.length)),
      state: Math.max(5, ...rows.map((r) => r.state.length)),
      name: Math.min(40, Math.max(12, ...rows.map((r) => r.name.length))),
    };
    io.stdout(
      `${dim(io, `${'ID'.padEnd(w.id)}  ${'STATE'.padEnd(w.state)}  ${'CREATED'.padEnd(20)}  ${'DISPLAY NAME'.padEnd(w.name)}  CONSOLE`)}\n`,
    );
    for (const r of rows) {
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
