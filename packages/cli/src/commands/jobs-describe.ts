import { ExitCode } from '../exit-codes.js';
import type { GlobalOptions } from '../options.js';
import { dim, type Io, printJson, red } from '../output.js';
import {
  duration,
  failureOf,
  jobJson,
  jobReference,
  jobsRunner,
  shortTime,
  stateText,
  type VertexFlags,
} from './jobs-runner.js';

export interface JobsDescribeOptions extends GlobalOptions, VertexFlags {
  /** A job id, a full name or a console URL of the job. */
  job: string;
}

/** `vertex-launch jobs describe JOB` (alias `jobs status`): the whole job, its worker pools and error included. */
export default async function jobsDescribe(options: JobsDescribeOptions, io: Io, env = process.env): Promise<number> {
  const runner = await jobsRunner(options, env, options.job);
  try {
    const job = await runner.get(jobReference(runner, options.job));
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
    (job.workerPools ?? []).forEach((pool, i) => {
      if (pool.replicaCount === 0 && pool.machineType === '') return; // a placeholder that skips a pool index
      const accelerators = pool.acceleratorType ? `, ${pool.acceleratorCount} × ${pool.acceleratorType} each` : '';
      lines.push([`Pool ${i}`, `${pool.replicaCount} × ${pool.machineType}${accelerators}`]);
      if (pool.imageUri && pool.imageUri !== job.imageUri) lines.push([`  image`, pool.imageUri]);
      if (pool.pythonModule) lines.push(['  module', pool.pythonModule]);
      if (pool.command.length > 0) lines.push(['  command', pool.command.map(shellWord).join(' ')]);
      if (pool.args.length > 0) lines.push(['  args', pool.args.map(shellWord).join(' ')]);
    });
    const ours = Object.entries(job.labels).filter(([k]) => k.startsWith('vertex-launch-'));
    for (const [k, v] of ours) lines.push([k.replace('vertex-launch-', '').replace(/-/g, ' '), v]);
    if (job.error) lines.push(['Error', red(io, `${job.error.message} (code ${job.error.code})`)]);
    const failure = failureOf(job);
    if (failure) {
      const exit = failure.exitCode === undefined ? '' : ` (exit code ${failure.exitCode})`;
      lines.push(['Failure class', `${failure.class}${exit}`]);
      if (failure.fix) lines.push(['Fix', failure.fix]);
    }
    lines.push(['Console', job.consoleUrl]);
    const width = Math.max(...lines.map(([k]) => k.length));
    for (const [k, v] of lines) io.stdout(`${dim(io, `${k}:`.padEnd(width + 1))} ${v}\n`);
    return ExitCode.OK;
  } finally {
    await runner.close();
  }
}

/** An argument as a shell would need it written: quoted when it has spaces or quotes. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
