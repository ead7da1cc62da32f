import { ConfigError, loadConfigFile } from '@vertex-launch/core';
import { formatConfigIssues, validateQueueConfig } from '@vertex-launch/core/config';
import { ExitCode } from '../exit-codes.js';
import type { GlobalOptions } from '../options.js';
import { dim, green, type Io, issuesJson, printJson, printWarnings, red } from '../output.js';

export interface QueueValidateOptions extends GlobalOptions {
  file: string;
}

/** `vertex-launch queue validate FILE`: exit 0 when valid, 2 with every problem listed. */
export default async function queueValidate(options: QueueValidateOptions, io: Io): Promise<number> {
  let raw: unknown;
  try {
    raw = await loadConfigFile(options.file);
  } catch (error) {
    if (!(error instanceof ConfigError) || !options.json) throw error;
    printJson(io, { valid: false, file: options.file, issues: [...issuesJson(error.issues), ...fileIssue(error)] });
    return ExitCode.USAGE;
  }
  const result = validateQueueConfig(raw);
  const errors = result.issues.filter((i) => i.severity === 'error');
  if (options.json) {
    printJson(io, { valid: result.ok, file: options.file, issues: issuesJson(result.issues) });
  } else if (result.ok) {
    io.stdout(`${green(io, '✓')} ${options.file} is a valid queue config\n`);
    printWarnings(io, result.issues, options.file);
  } else {
    const n = errors.length;
    io.stderr(`${red(io, '✗')} ${options.file}: ${n} problem${n === 1 ? '' : 's'}\n`);
    io.stderr(`${formatConfigIssues(result.issues, options.file)}\n`);
    io.stderr(dim(io, 'Queue config keys are snake_case, as in the Vertex AI Python SDK (worker_pool_specs).\n'));
  }
  return result.ok ? ExitCode.OK : ExitCode.USAGE;
}

function fileIssue(error: ConfigError) {
  return error.issues.length > 0 ? [] : [{ path: '', message: error.message, severity: 'error' as const }];
}
