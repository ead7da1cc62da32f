import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import {
  formatConfigIssues,
  fromGcloudCustomJobSpec,
  loadConfigFile,
  validateQueueConfig,
} from '@vertex-launch/core/config';
import { stringify } from 'yaml';
import { ExitCode, UsageError } from '../exit-codes.js';
import type { GlobalOptions } from '../options.js';
import { dim, green, type Io, issuesJson, printJson, yellow } from '../output.js';

export interface QueueFromGcloudOptions extends GlobalOptions {
  /** `--from-gcloud FILE`: the `--config` file of `gcloud ai custom-jobs create`. */
  fromGcloud: string;
  /** `-o, --output FILE`: write the queue config there instead of stdout. */
  output?: string;
  stagingBucket?: string;
  displayName?: string;
  keepImage?: boolean;
}

/**
 * `vertex-launch queue import --from-gcloud FILE`: converts a gcloud CustomJobSpec file (camelCase) into a queue
 * config (spec/run, snake_case), prints it (or writes it with --output), and reports what `queue validate` would.
 */
export default async function queueFromGcloud(options: QueueFromGcloudOptions, io: Io): Promise<number> {
  const file = options.fromGcloud;
  const raw = await loadConfigFile(file);
  let conversion: ReturnType<typeof fromGcloudCustomJobSpec>;
  try {
    conversion = fromGcloudCustomJobSpec(raw, {
      ...(options.stagingBucket === undefined ? {} : { stagingBucket: options.stagingBucket }),
      ...(options.displayName === undefined ? {} : { displayName: options.displayName }),
      ...(options.keepImage ? { keepImage: true } : {}),
    });
  } catch (error) {
    if (error instanceof TypeError) throw new UsageError(`--from-gcloud ${file}: ${error.message}.`);
    throw error;
  }
  const { config, notes } = conversion;
  const issues = validateQueueConfig(config).issues;
  const header = `# Queue config converted from ${file} (gcloud ai custom-jobs create --config) by vertex-launch queue import --from-gcloud.\n# Keys: docs/config-reference.md. Check it: vertex-launch queue validate FILE\n`;
  const yaml = header + stringify(config);
  if (options.output !== undefined) {
    if (existsSync(options.output)) {
      throw new UsageError(`--output ${options.output} exists; nothing was written. Choose another file or remove it.`);
    }
    await writeFile(options.output, yaml, { mode: 0o644 });
  }
  if (options.json) {
    printJson(io, { file, output: options.output ?? null, config, notes, issues: issuesJson(issues) });
  } else {
    if (options.output === undefined) io.stdout(yaml);
    else io.stderr(`${green(io, '✓')} Wrote ${options.output} (from ${file})\n`);
    for (const note of notes) io.stderr(`${dim(io, 'note:')} ${note}\n`);
    if (issues.length > 0) {
      io.stderr(
        `${yellow(io, `${issues.length} ${issues.length === 1 ? 'problem' : 'problems'} to fix before \`queue create\`:`)}\n${formatConfigIssues(issues, options.output)}\n`,
      );
    }
  }
  return ExitCode.OK;
}
