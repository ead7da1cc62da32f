import { ExitCode } from '../exit-codes.js';
import type { GlobalOptions } from '../options.js';
import { dim, type Io, printJson, red } from '../output.js';
import { duration, jobJson, jobsRunner, shortTime, stateText, type VertexFlags } from './jobs-runner.js';

export interface JobsStatusOptions extends GlobalOptions, VertexFlags {
  job: string;
}

/** `vertex-launch jobs status JOB`: the full status of one job, its error included. */
export default async function jobsStatus(options: JobsStatusOptions, io: Io, env = process.env): Promise<number> {
  const runner = await jobsRunner(options, env, options.job);
  try {
    const job = await runner.get(options.job);
    if (options.json) {
      printJson(io, jobJson(job));
      return ExitCode.OK;
    }
    const lines: [string, string][] = [
      ['Job', job.name],
      ['Display name', job.displayName],
      ['State', `${stateText(io, job)}${job.terminal ? '' : dim(io, ' (not final)')}`],
      ['Created', shortTime(job.createTime)],
      ['Started', shortTime(job.startTime)],
      ['Ended', shortTime(job.endTime)],
    ];
    const took = duration(job);
    if (took && job.startTime) lines.push([job.endTime ? 'Ran for' : 'Running for', took]);
    if (job.imageUri) lines.push(['Image', job.imageUri]);
    const ours = Object.entries(job.labels).filter(([k]) => k.startsWith('vertex-launch-'));
    for (const [k, v] of ours) lines.push([k.replace('vertex-launch-', '').replace(/-/g, ' '), v]);
    if (job.error) lines.push(['Error', red(io, `${job.error.message} (code ${job.error.code})`)]);
    lines.push(['Console', job.consoleUrl]);
    const width = Math.max(...lines.map(([k]) => k.length));
    for (const [k, v] of lines) io.stdout(`${dim(io, `${k}:`.padEnd(width + 1))} ${v}\n`);
    return ExitCode.OK;
  } finally {
    await runner.close();
  }
}
