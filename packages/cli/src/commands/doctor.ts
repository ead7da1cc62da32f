/**
 * `vertex-launch doctor`: checks a setup before a build and a job are spent on it — the agent config, the queue
 * config and its machine types, credentials, the Vertex API in the region, the staging bucket's location, the
 * Artifact Registry repository, the launch permissions, actAs on the job's service account and whether Vertex's
 * service agents can pull the image. Each check prints its evidence and, when it fails, the fix. See docs/doctor.md.
 */
import { existsSync } from 'node:fs';
import {
  agentConfigIssues,
  ConfigError,
  defaultAgentConfigPath,
  formatConfigIssues,
  loadConfigFile,
  unwrapQueueConfig,
} from '@vertex-launch/core';
import { ExitCode } from '../exit-codes.js';
import type { GlobalOptions } from '../main.js';
import { dim, green, type Io, printJson, red, yellow } from '../output.js';
import {
  type CheckResult,
  checkActAs,
  checkCredentials,
  checkMachineTypes,
  checkProjectPermissions,
  checkQueueConfig,
  checkRepository,
  checkServiceAgent,
  checkStagingBucket,
  checkVertexApi,
  type DoctorContext,
} from './doctor/checks.js';
import { openQueueStore, resolveQueueDbPath } from './queue-db.js';

/** Options of `vertex-launch doctor`. */
export interface DoctorOptions extends GlobalOptions {
  /** Queue to check (default: the first of `queues` in the agent config). */
  queue?: string;
  /** A queue config file to check instead of a stored queue. */
  queueConfig?: string;
  /** Agent config (default: launch-config.yaml under $XDG_CONFIG_HOME or ~/.config/vertex-launch). */
  config?: string;
  /** Queue database (default: $VERTEX_LAUNCH_QUEUE_DB, queue_db of the agent config, ~/.local/share). */
  db?: string;
  project?: string;
  region?: string;
}

const PROJECT_VARS = ['GOOGLE_CLOUD_PROJECT', 'GCLOUD_PROJECT', 'CLOUDSDK_CORE_PROJECT'] as const;
const REGION_VARS = ['GOOGLE_CLOUD_REGION', 'CLOUDSDK_AI_REGION', 'CLOUDSDK_COMPUTE_REGION'] as const;

function firstEnv(env: NodeJS.ProcessEnv, names: readonly string[]): { value: string; name: string } | undefined {
  for (const name of names) {
    const value = env[name]?.trim();
    if (value) return { value, name: `$${name}` };
  }
  return undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * The exit code of a run: the failures' classes in priority order — auth/permission (3) first, since a refused
 * principal makes the other checks fail too; then API (4); then config (2). 0 when nothing failed.
 */
export function doctorExitCode(checks: readonly CheckResult[]): number {
  const kinds = new Set(checks.filter((c) => c.status === 'fail').map((c) => c.kind ?? 'config'));
  if (kinds.has('auth')) return ExitCode.AUTH;
  if (kinds.has('api')) return ExitCode.API;
  if (kinds.size > 0) return ExitCode.USAGE;
  return ExitCode.OK;
}

/** `vertex-launch doctor [--queue NAME | --queue-config FILE] [--json]`. */
export default async function doctor(
  options: DoctorOptions,
  io: Io,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const checks: CheckResult[] = [];
  const agentConfigPath = options.config ?? defaultAgentConfigPath(env);
  const ctx: DoctorContext = {
    env,
    agentConfigPath,
    queueUpdateHint: 'run `vertex-launch queue update <queue> --config FILE`',
  };

  // 1. The agent config.
  let agent: Record<string, unknown> | undefined;
  if (!existsSync(agentConfigPath)) {
    checks.push({
      id: 'agent-config',
      title: 'Agent config',
      status: options.queueConfig ? 'warn' : 'fail',
      kind: 'config',
      evidence: `${agentConfigPath} does not exist`,
      fix: 'Create it with `vertex-launch init` (or pass --config FILE).',
    });
  } else {
    try {
      const raw = await loadConfigFile(agentConfigPath);
      const issues = agentConfigIssues(raw);
      if (issues.length > 0) {
        checks.push({
          id: 'agent-config',
          title: 'Agent config',
          status: 'fail',
          kind: 'config',
          evidence: `${agentConfigPath}: ${issues.length} problem${issues.length === 1 ? '' : 's'}\n${formatConfigIssues(issues)}`,
          fix: `Fix the keys named above in ${agentConfigPath} (docs/agent.md lists every key).`,
        });
      }
      if (isObject(raw)) agent = raw;
      if (issues.length === 0) {
        const queues = Array.isArray(agent?.queues) ? agent.queues.join(', ') : '';
        checks.push({
          id: 'agent-config',
          title: 'Agent config',
          status: 'pass',
          evidence: `${agentConfigPath} is valid (queues: ${queues})`,
        });
      }
    } catch (error) {
      checks.push({
        id: 'agent-config',
        title: 'Agent config',
        status: 'fail',
        kind: 'config',
        evidence: error instanceof Error ? error.message : String(error),
        fix: `Fix ${agentConfigPath} or create a new one with \`vertex-launch init --force\`.`,
      });
    }
  }
  const environment = isObject(agent?.environment) ? agent.environment : {};
  const registry = isObject(agent?.registry) ? agent.registry : {};
  if (typeof registry.uri === 'string') ctx.registryUri = registry.uri;

  // 2. The queue: a file, or a stored queue.
  let queueProject: string | undefined;
  let queueRegion: string | undefined;
  const queueTitle = 'Queue config';
  if (options.queueConfig) {
    ctx.queueLabel = options.queueConfig;
    ctx.queueUpdateHint = `check it with \`vertex-launch queue validate ${options.queueConfig}\``;
    try {
      const raw = await loadConfigFile(options.queueConfig);
      const unwrapped = unwrapQueueConfig(raw);
      if (isObject(unwrapped)) ctx.queueConfig = unwrapped;
      checks.push(checkQueueConfig(ctx, raw, options.queueConfig));
    } catch (error) {
      checks.push(configFailure(queueTitle, error, `Fix ${options.queueConfig} or pass another --queue-config.`));
    }
  } else {
    const queues = Array.isArray(agent?.queues) ? agent.queues.filter((q): q is string => typeof q === 'string') : [];
    const name = options.queue ?? queues[0];
    if (!name) {
      checks.push({
        id: 'queue-config',
        title: queueTitle,
        status: 'fail',
        kind: 'config',
        evidence: `no queue to check: --queue is not given and ${agentConfigPath} lists no queues`,
        fix: 'Pass --queue NAME (see `vertex-launch queue list`) or --queue-config FILE, or run `vertex-launch init`.',
      });
    } else {
      ctx.queueUpdateHint = `run \`vertex-launch queue update ${name} --config FILE\``;
      const configQueueDb = typeof agent?.queue_db === 'string' ? agent.queue_db : undefined;
      const flags = {
        ...(options.db ? { db: options.db } : {}),
        ...(existsSync(agentConfigPath) ? { agentConfig: agentConfigPath } : {}),
      };
      const { path: dbPath } = await resolveQueueDbPath(flags, env, configQueueDb);
      const dbLabel = dbPath ?? 'the default queue database';
      try {
        const store = await openQueueStore(flags, env, configQueueDb);
        try {
          const queue = await store.getQueue(name);
          if (!queue) {
            checks.push({
              id: 'queue-config',
              title: queueTitle,
              status: 'fail',
              kind: 'config',
              evidence: `queue \`${name}\` does not exist in ${dbLabel}`,
              fix: `Create it: vertex-launch queue create ${name} --config FILE (or run \`vertex-launch init\`); \`vertex-launch queue list\` shows the queues there.`,
            });
          } else {
            ctx.queueLabel = `queue \`${name}\``;
            queueProject = queue.project;
            queueRegion = queue.region;
            const unwrapped = unwrapQueueConfig(queue.config);
            if (isObject(unwrapped)) ctx.queueConfig = unwrapped;
            checks.push(checkQueueConfig(ctx, queue.config, `queue \`${name}\` (${dbLabel})`));
          }
        } finally {
          await store.close();
        }
      } catch (error) {
        checks.push(
          configFailure(queueTitle, error, `Check the queue database ${dbLabel} (--db, $VERTEX_LAUNCH_QUEUE_DB).`),
        );
      }
    }
  }
  checks.push(checkMachineTypes(ctx));

  // 3. Project and region: flags > the queue's > the agent config's > environment > the credentials'.
  const pick = (
    flag: string | undefined,
    queue: string | undefined,
    config: unknown,
    vars: readonly string[],
    key: string,
  ) => {
    if (flag) return { value: flag, source: `--${key}` };
    if (queue) return { value: queue, source: `the queue's ${key}` };
    if (typeof config === 'string' && config)
      return { value: config, source: `environment.${key} in ${agentConfigPath}` };
    const fromEnv = firstEnv(env, vars);
    return fromEnv ? { value: fromEnv.value, source: fromEnv.name } : undefined;
  };
  const project = pick(options.project, queueProject, environment.project, PROJECT_VARS, 'project');
  const region = pick(options.region, queueRegion, environment.region, REGION_VARS, 'region');
  if (project) {
    ctx.project = project.value;
    ctx.projectSource = project.source;
  }
  if (region) {
    ctx.region = region.value;
    ctx.regionSource = region.source;
  }

  // 4. Google: credentials first, then the rest (each independent of the others).
  checks.push(await checkCredentials(ctx));
  checks.push(await checkVertexApi(ctx));
  checks.push(await checkStagingBucket(ctx));
  checks.push(await checkRepository(ctx));
  checks.push(await checkProjectPermissions(ctx));
  checks.push(await checkActAs(ctx));
  checks.push(await checkServiceAgent(ctx));

  const code = doctorExitCode(checks);
  if (options.json) {
    printJson(io, {
      ok: code === ExitCode.OK,
      exitCode: code,
      project: ctx.project ?? null,
      region: ctx.region ?? null,
      queue: ctx.queueLabel ?? null,
      checks: checks.map((c) => ({
        id: c.id,
        title: c.title,
        ok: c.status !== 'fail',
        status: c.status,
        evidence: c.evidence,
        fix: c.fix ?? null,
      })),
    });
    return code;
  }
  printHuman(io, ctx, checks, code);
  return code;
}

function configFailure(title: string, error: unknown, fix: string): CheckResult {
  const text = error instanceof Error ? error.message : String(error);
  const issues = error instanceof ConfigError && error.issues.length > 0 ? `\n${formatConfigIssues(error.issues)}` : '';
  return { id: 'queue-config', title, status: 'fail', kind: 'config', evidence: `${text}${issues}`, fix };
}

function printHuman(io: Io, ctx: DoctorContext, checks: readonly CheckResult[], code: number): void {
  const where = [
    ctx.project ? `project ${ctx.project} (${ctx.projectSource})` : 'no project',
    ctx.region ? `region ${ctx.region} (${ctx.regionSource ?? 'the credentials'})` : 'no region',
    ctx.queueLabel ?? 'no queue',
  ].join(', ');
  io.stdout(`${dim(io, `Checking ${where}`)}\n`);
  const marks = { pass: green(io, '✓'), fail: red(io, '✗'), warn: yellow(io, '!'), skip: dim(io, '-') };
  for (const check of checks) {
    const [first, ...rest] = check.evidence.split('\n');
    io.stdout(`${marks[check.status]} ${check.title}: ${first}\n`);
    for (const line of rest) io.stdout(`    ${line}\n`);
    if (check.fix && (check.status === 'fail' || check.status === 'warn'))
      io.stdout(`    ${dim(io, 'fix:')} ${check.fix}\n`);
  }
  const failed = checks.filter((c) => c.status === 'fail').length;
  const warned = checks.filter((c) => c.status === 'warn').length;
  const passed = checks.filter((c) => c.status === 'pass').length;
  const summary = `${passed} passed, ${failed} failed, ${warned} warning${warned === 1 ? '' : 's'}`;
  if (code === ExitCode.OK) io.stdout(`\n${green(io, 'Ready to launch:')} ${summary}.\n`);
  else
    io.stderr(
      `\n${red(io, 'error')} ${failed} check${failed === 1 ? '' : 's'} failed (${summary}); fix them and run \`vertex-launch doctor\` again.\n`,
    );
}
