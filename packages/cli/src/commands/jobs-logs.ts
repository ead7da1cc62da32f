import { ExitCode } from '../exit-codes.js';
import type { GlobalOptions } from '../main.js';
import type { Io } from '../output.js';
import { logJson, logLine, openRunner, type VertexFlags } from './jobs-runner.js';

export interface JobsLogsOptions extends GlobalOptions, VertexFlags {
  job: string;
  follow?: boolean;
}

/** `vertex-launch jobs logs JOB [--follow]`: the job's log entries from Cloud Logging (JSON lines with --json). */
export default async function jobsLogs(options: JobsLogsOptions, io: Io, env = process.env): Promise<number> {
  const runner = await openRunner(options, env, options.job);
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  try {
    for await (const entry of runner.logs(options.job, {
      follow: options.follow === true,
      signal: controller.signal,
    })) {
      io.stdout(options.json ? logJson(entry) : logLine(io, entry));
    }
    return controller.signal.aborted ? ExitCode.INTERRUPTED : ExitCode.OK;
  } finally {
    process.off('SIGINT', onSigint);
    await runner.close();
  }
}
