import { ExitCode } from '../exit-codes.js';
import type { GlobalOptions } from '../options.js';
import { green, type Io, printJson } from '../output.js';
import { jobJson, jobReference, jobsRunner, stateText, type VertexFlags } from './jobs-runner.js';

export interface JobsCancelOptions extends GlobalOptions, VertexFlags {
  job: string;
  wait?: boolean;
}

/** `vertex-launch jobs cancel JOB [--wait]`: ask Vertex to cancel the job; with --wait, until it is CANCELLED. */
export default async function jobsCancel(options: JobsCancelOptions, io: Io, env = process.env): Promise<number> {
  const runner = await jobsRunner(options, env, options.job);
  try {
    const name = jobReference(runner, options.job);
    const job = await runner.cancel(name, { wait: options.wait === true });
    if (options.json) {
      printJson(io, jobJson(job));
      return ExitCode.OK;
    }
    if (job.terminal && job.status !== 'cancelled') {
      io.stderr(`Job ${job.name} had already ended: ${stateText(io, job)}.\n`);
    } else if (job.terminal) {
      io.stderr(`${green(io, '✓')} ${job.name} ${stateText(io, job)}\n`);
    } else {
      io.stderr(
        `Cancel requested: ${job.name} is ${stateText(io, job)}. Add --wait to wait for CANCELLED, or check with \`vertex-launch jobs describe ${job.name}\`.\n`,
      );
    }
    return ExitCode.OK;
  } finally {
    await runner.close();
  }
}
