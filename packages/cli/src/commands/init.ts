/**
 * `vertex-launch init`: writes the agent config (launch-config.yaml) and a first queue from the seed config, asking
 * for the project, region, staging bucket, repository and service account on a terminal (flags otherwise). Files are
 * owner-only and never overwritten without `--force`.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { QUEUE_NAME_PATTERN, type Runtime, redactStoreUrl } from '@vertex-launch/core';
import { agentConfigIssues, defaultAgentConfigPath } from '@vertex-launch/core/agent';
import { formatConfigIssues, normalizeBucket, STAGING_BUCKET_PATTERN } from '@vertex-launch/core/config';
import { seedQueueConfig } from '@vertex-launch/core/queue';
import { stringify } from 'yaml';
import { ExitCode, UsageError } from '../exit-codes.js';
import type { GlobalOptions } from '../options.js';
import { dim, green, type Io, printJson } from '../output.js';
import { commandRuntime, openStore } from '../runtime.js';

/** Options of `vertex-launch init`. */
export interface InitOptions extends GlobalOptions {
  project?: string;
  region?: string;
  stagingBucket?: string;
  /** A repository id (`train`) or `<location>-docker.pkg.dev/<project>/<repository>[/<image>]`. */
  repository?: string;
  serviceAccount?: string;
  /** Name of the first queue (default `default`). */
  queue?: string;
  /** Where to write the agent config (default launch-config.yaml under $XDG_CONFIG_HOME or ~/.config). */
  config?: string;
  /** Queue database (default: $VERTEX_LAUNCH_QUEUE_DB, else ~/.local/share/vertex-launch/queues.db). */
  db?: string;
  force?: boolean;
  /** Ask the questions even when stdin is not a terminal (answers are read line by line). */
  interactive?: boolean;
}

interface Field {
  key: 'project' | 'region' | 'stagingBucket' | 'repository' | 'serviceAccount';
  flag: string;
  question: string;
  required: boolean;
  check: (value: string) => string | undefined;
  /** The runtime's value (environment, gcloud config), offered when the flag is not given. */
  fallback?: (runtime: Runtime) => string | undefined;
}

const PROJECT = /^(?:[a-z0-9.-]+:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const REGION = /^[a-z]+-[a-z]+[0-9]+$/;
const REPOSITORY_ID = /^[a-z]([a-z0-9-]*[a-z0-9])?$/;
const REPOSITORY_PATH = /^([a-z0-9-]+)-docker\.pkg\.dev\/([^/]+)\/([a-z0-9-]+)(?:\/([a-z0-9._/-]+))?$/;

const FIELDS: readonly Field[] = [
  {
    key: 'project',
    flag: '--project',
    question: 'Google Cloud project id',
    required: true,
    check: (v) => (PROJECT.test(v) ? undefined : 'not a project id, e.g. my-project-123'),
    fallback: (runtime) => runtime.projectId?.value,
  },
  {
    key: 'region',
    flag: '--region',
    question: 'Vertex AI region of the jobs',
    required: true,
    check: (v) => (REGION.test(v) ? undefined : 'not a region, e.g. us-central1'),
    fallback: (runtime) => runtime.region?.value,
  },
  {
    key: 'stagingBucket',
    flag: '--staging-bucket',
    question: 'Staging bucket, in the same region (gs://...)',
    required: true,
    check: (v) => (STAGING_BUCKET_PATTERN.test(v) ? undefined : 'not a bucket, e.g. gs://my-bucket'),
  },
  {
    key: 'repository',
    flag: '--repository',
    question:
      'Artifact Registry Docker repository for built images (id or <region>-docker.pkg.dev/<project>/<repo>; empty: none)',
    required: false,
    check: (v) =>
      REPOSITORY_ID.test(v) || REPOSITORY_PATH.test(v)
        ? undefined
        : 'not a repository id (e.g. train) or <region>-docker.pkg.dev/<project>/<repo>[/<image>]',
  },
  {
    key: 'serviceAccount',
    flag: '--service-account',
    question: 'Service account the jobs run as (empty: the Vertex AI Custom Code Service Agent)',
    required: false,
    check: (v) =>
      /^[^@\s]+@[^@\s]+\.gserviceaccount\.com$/.test(v)
        ? undefined
        : 'not a service account email (name@project.iam.gserviceaccount.com)',
  },
];

/** The image repository URI for `registry.uri` from what the user gave. */
export function registryUriFor(repository: string, project: string, region: string): string {
  const path = REPOSITORY_PATH.exec(repository);
  if (path) return path[4] ? repository : `${repository}/trainer`;
  return `${region}-docker.pkg.dev/${project}/${repository}/trainer`;
}

async function ask(io: Io, values: Partial<Record<Field['key'], string>>, runtime: Runtime): Promise<void> {
  const rl = createInterface({ input: process.stdin, terminal: Boolean(process.stdin.isTTY) });
  const lines = rl[Symbol.asyncIterator]();
  try {
    for (const field of FIELDS) {
      if (values[field.key] !== undefined) continue;
      const suggestion = field.fallback?.(runtime);
      for (let attempt = 0; ; attempt++) {
        io.stderr(`${field.question}${suggestion ? ` [${suggestion}]` : ''}: `);
        const next = await lines.next();
        if (next.done) throw new UsageError(`No answer for ${field.flag} (stdin ended). Pass it as a flag.`);
        const answer = String(next.value).trim() || suggestion || '';
        if (answer === '' && !field.required) break;
        const problem = answer === '' ? 'required' : field.check(answer);
        if (!problem) {
          values[field.key] = answer;
          break;
        }
        io.stderr(`  ${problem}\n`);
        if (attempt >= 2) throw new UsageError(`${field.flag} "${answer}": ${problem}.`);
      }
    }
  } finally {
    rl.close();
  }
}

/** `vertex-launch init`. */
export default async function init(
  options: InitOptions,
  io: Io,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const values: Partial<Record<Field['key'], string>> = {};
  for (const field of FIELDS) {
    const given = options[field.key]?.trim();
    if (given === undefined) continue;
    if (given === '' && !field.required) {
      values[field.key] = '';
      continue;
    }
    const problem = given === '' ? 'must not be empty' : field.check(given);
    if (problem) throw new UsageError(`${field.flag} "${given}": ${problem}.`);
    values[field.key] = given;
  }
  const queueName = options.queue ?? 'default';
  if (!QUEUE_NAME_PATTERN.test(queueName)) {
    throw new UsageError(`--queue "${queueName}": use lowercase letters, digits, - and _ (e.g. gpu-t4).`);
  }
  const interactive = options.interactive || Boolean(process.stdin.isTTY && process.stdout.isTTY);
  // Project, region and queue store as every command resolves them — but not from the agent config init writes.
  const runtime = await commandRuntime({ agentConfig: false, db: options.db }, env);
  // Questions only for what no flag answered, and none at all when the flags gave every required value (a terminal
  // user who typed them all wants no prompt for the optional ones: their flags are there to pass).
  const unanswered = FIELDS.some((f) => f.required && values[f.key] === undefined);
  if (interactive && unanswered) {
    await ask(io, values, runtime);
  } else {
    for (const field of FIELDS) {
      const fallback = field.fallback?.(runtime);
      if (values[field.key] === undefined && fallback && !field.check(fallback)) values[field.key] = fallback;
    }
    const missing = FIELDS.filter((f) => f.required && !values[f.key]).map((f) => f.flag);
    if (missing.length > 0) {
      throw new UsageError(
        `Missing ${missing.join(', ')}: stdin is not a terminal, so init cannot ask. Pass ${missing.map((f) => `${f} ...`).join(' ')} (or run it in a terminal).`,
      );
    }
  }
  const project = values.project as string;
  const region = values.region as string;
  const bucket = normalizeBucket(values.stagingBucket as string);

  // The agent config.
  const configPath = options.config ?? defaultAgentConfigPath(env);
  const agentConfig: Record<string, unknown> = {
    queues: [queueName],
    max_jobs: 1,
    environment: { project, region },
    ...(values.repository
      ? { builder: { type: 'docker' }, registry: { uri: registryUriFor(values.repository, project, region) } }
      : { builder: { type: 'noop' } }),
  };
  const issues = agentConfigIssues(agentConfig);
  if (issues.length > 0)
    throw new UsageError(`The values give an invalid agent config:\n${formatConfigIssues(issues)}`);

  // The queue (checked before anything is written).
  const queueConfig = seedQueueConfig({
    spec: { staging_bucket: bucket, ...(values.serviceAccount ? { service_account: values.serviceAccount } : {}) },
  });
  const dbFile = redactStoreUrl(runtime.queueDb.value);
  const store = await openStore(runtime.queueDb);
  try {
    const existing = await store.getQueue(queueName);
    const refuse: string[] = [];
    if (existsSync(configPath) && !options.force) refuse.push(`${configPath} exists`);
    if (existing && !options.force) refuse.push(`queue \`${queueName}\` exists in ${dbFile}`);
    if (refuse.length > 0) {
      throw new UsageError(
        `${refuse.join(' and ')}; nothing was changed. Pass --force to overwrite ${refuse.length === 1 ? 'it' : 'them'}, or --config PATH / --queue NAME to write new ones.`,
      );
    }
    await mkdir(dirname(configPath), { recursive: true, mode: 0o700 });
    const header = `# Vertex Launch agent config, written by \`vertex-launch init\`. Keys: docs/agent.md. Check it: vertex-launch doctor\n`;
    await writeFile(configPath, header + stringify(agentConfig), { mode: 0o600 });
    await chmod(configPath, 0o600);
    const queue = existing
      ? await store.updateQueue(queueName, { config: queueConfig, project, region })
      : await store.createQueue({ name: queueName, config: queueConfig, project, region });
    if (options.json) {
      printJson(io, {
        config: configPath,
        queueDb: dbFile,
        queue: queue.name,
        overwritten: { config: Boolean(options.force), queue: Boolean(existing) },
        agentConfig,
        queueConfig,
      });
    } else {
      io.stdout(`${green(io, '✓')} Wrote ${configPath}\n`);
      io.stdout(
        `${green(io, '✓')} ${existing ? 'Replaced' : 'Created'} queue ${queue.name} in ${dbFile} (staging bucket ${bucket}, ${project}/${region})\n`,
      );
      io.stdout(dim(io, 'Next: vertex-launch doctor   (checks the bucket, repository and permissions)\n'));
    }
  } finally {
    await store.close();
  }
  return ExitCode.OK;
}
