import { randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  type LaunchContext,
  loadConfigFile,
  parseConfigText,
  resolveQueueConfig,
  toCreateCustomJobRequest,
  toRestJson,
} from '@vertex-launch/core';
import { ExitCode, UsageError } from '../exit-codes.js';
import type { GlobalOptions } from '../main.js';
import { type Io, printJson } from '../output.js';

export interface LaunchOptions extends GlobalOptions {
  queueConfig: string;
  image?: string;
  project?: string;
  region?: string;
  runId?: string;
  runName?: string;
  setVar?: string[];
  override?: string;
  dryRun?: boolean;
}

/** `vertex-launch launch`: resolve a queue config into a CreateCustomJobRequest (and, later, submit it). */
export default async function launch(options: LaunchOptions, io: Io, env = process.env): Promise<number> {
  if (!options.dryRun) {
    throw new UsageError(
      'Submitting a job needs the Vertex runner, which this build does not include yet. Add --dry-run to print the request.',
    );
  }
  const project = options.project ?? env.GOOGLE_CLOUD_PROJECT ?? env.CLOUDSDK_CORE_PROJECT;
  const region = options.region ?? env.GOOGLE_CLOUD_REGION ?? env.CLOUDSDK_COMPUTE_REGION;
  if (!project) throw new UsageError('No project: pass --project <id> or set GOOGLE_CLOUD_PROJECT.');
  if (!region) throw new UsageError('No region: pass --region <region> (e.g. us-central1) or set GOOGLE_CLOUD_REGION.');

  const variables = parseSetVars(options.setVar ?? []);
  const overrides = options.override === undefined ? undefined : await readOverride(options.override);
  const raw = await loadConfigFile(options.queueConfig);
  const runId = options.runId ?? newRunId();
  const context: LaunchContext = {
    project,
    region,
    runId,
    launchId: randomUUID(),
    runName: options.runName ?? runId,
    ...(options.image === undefined ? {} : { imageUri: options.image }),
  };
  const config = resolveQueueConfig({ config: raw, variables, overrides, context, env, file: options.queueConfig });
  const request = toCreateCustomJobRequest(config, context);
  const body = toRestJson(request);
  if (options.json) printJson(io, body);
  else io.stdout(`${JSON.stringify(body, null, 2)}\n`);
  return ExitCode.OK;
}

/** `--set-var name=value` flags to a map; a malformed one names the flag. */
export function parseSetVars(flags: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    if (eq <= 0) throw new UsageError(`--set-var ${JSON.stringify(flag)}: expected name=value, e.g. --set-var gpus=2`);
    out[flag.slice(0, eq)] = flag.slice(eq + 1);
  }
  return out;
}

/** `--override` is inline JSON (starts with `{`) or a YAML/JSON file. */
async function readOverride(value: string): Promise<unknown> {
  const trimmed = value.trimStart();
  if (trimmed.startsWith('{')) {
    try {
      return JSON.parse(trimmed);
    } catch (error) {
      throw new UsageError(
        `--override: not valid JSON (${(error as Error).message}). Pass a JSON object or a file path.`,
      );
    }
  }
  let text: string;
  try {
    text = await readFile(value, 'utf8');
  } catch {
    throw new UsageError(`--override ${value}: no such file, and not inline JSON (which starts with "{").`);
  }
  return parseConfigText(text, value);
}

/** A new run id: 8 lowercase base-36 characters, valid in Vertex labels and resource names. */
export function newRunId(): string {
  const bytes = randomBytes(8);
  let id = '';
  for (const b of bytes) id += (b % 36).toString(36);
  return /^[a-z]/.test(id) ? id : `r${id.slice(1)}`;
}
