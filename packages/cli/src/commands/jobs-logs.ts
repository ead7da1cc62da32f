import { ExitCode } from '../exit-codes.js';
import type { GlobalOptions } from '../options.js';
import type { Io } from '../output.js';
import { jobReference, jobsRunner, logJson, logLine, type VertexFlags } from './jobs-runner.js';

export interface JobsLogsOptions extends GlobalOptions, VertexFlags {
  job: string;
  follow?: boolean;
}

/** `vertex-launch jobs logs JOB [--follow]`: the job's log entries from Cloud Logging (JSON lines with --json). */
export default async function jobsLogs(options: JobsLogsOptions, io: Io, env = process.env): Promise<number> {
  const runner = await jobsRunner(options, env, options.job);
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  try {
    for await (const entry of runner.logs(jobReference(runner, options.job), {
      follow: options.follow === true,
      signal: controller.signal,
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
