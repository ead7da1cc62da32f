/**
 * `vertex-launch doctor`: checks a setup before a build and a job are spent on it — the agent config, the queue
 * config and its machine types, credentials, the Vertex API in the region, the staging bucket's location, the
 * Artifact Registry repository, the launch permissions, actAs on the job's service account and whether Vertex's
 * service agents can pull the image. Each check prints its evidence and, when it fails, the fix. See docs/doctor.md.
 */
import { ConfigError, describeSource, loadConfigFile, redactStoreUrl, type Sourced } from '@vertex-launch/core';
import { agentConfigIssues } from '@vertex-launch/core/agent';
import { formatConfigIssues, unwrapQueueConfig } from '@vertex-launch/core/config';
import { ExitCode } from '../exit-codes.js';
import type { GlobalOptions } from '../options.js';
import { dim, green, type Io, printJson, red, yellow } from '../output.js';
import { commandRuntime, openStore } from '../runtime.js';
import {
  type CheckResult,
  checkActAs,
  checkCredentials,
  checkMachineTypes,
  checkProjectPermissions,
  checkQueueConfig,
  checkRepository,
  checkServiceAgent,
  checkServices,
  checkStagingBucket,
  checkVertexApi,
  type DoctorContext,
} from './doctor/checks.js';

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
  /** `--fix`: make the safe fixes, as `vertex-launch setup` does. */
  fix?: boolean;
  /** With `--fix`: do not ask on a terminal. */
  yes?: boolean;
  /** With `--fix`: print the plan only. */
  dryRun?: boolean;
}

/** What one doctor run found. */
export interface DoctorRun {
  ctx: DoctorContext;
  checks: CheckResult[];
  code: number;
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

/** `vertex-launch doctor [--queue NAME | --queue-config FILE] [--json] [--fix [--yes | --dry-run]]`. */
export default async function doctor(
  options: DoctorOptions,
  io: Io,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  if (options.fix) {
    const { default: setup } = await import('./setup.js');
    return setup(options, io, env);
  }
  const run = await runChecks(options, env);
  if (options.json) printJson(io, doctorJson(run));
  else printDoctorReport(io, run);
  return run.code;
}

/** Runs every check (the agent config, the queue, then Google) and never throws for what a check finds. */
export async function runChecks(options: DoctorOptions, env: NodeJS.ProcessEnv = process.env): Promise<DoctorRun> {
  const checks: CheckResult[] = [];
  // The runtime as every command resolves it (flags > environment > launch-config.yaml > gcloud config); doctor
  // resolves the credentials itself, as a check.
  const runtime = await commandRuntime(
    { project: options.project, region: options.region, agentConfig: options.config, db: options.db },
    env,
    // A malformed --project / --region is one of doctor's findings, not a reason to stop before the checks.
    { checkExplicit: false },
  );
  const agentConfigPath = runtime.agentConfig.path;
  const ctx: DoctorContext = {
    env,
    runtime,
    agentConfigPath,
    queueUpdateHint: 'run `vertex-launch queue update <queue> --queue-config FILE`',
  };

  // 1. The agent config.
  let agent: Record<string, unknown> | undefined;
  if (!runtime.agentConfig.exists) {
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
  const registry = isObject(agent?.registry) ? agent.registry : {};
  if (typeof registry.uri === 'string') ctx.registryUri = registry.uri;
  const builder = isObject(agent?.builder) ? agent.builder : {};
  if (typeof builder.type === 'string') ctx.builderType = builder.type;

  // 2. The queue: a file, or a stored queue.
  let queueProject: Sourced<string> | undefined;
  let queueRegion: Sourced<string> | undefined;
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
      ctx.queueUpdateHint = `run \`vertex-launch queue update ${name} --queue-config FILE\``;
      const dbLabel = redactStoreUrl(runtime.queueDb.value);
      try {
        const store = await openStore(runtime.queueDb);
        try {
          const queue = await store.getQueue(name);
          if (!queue) {
            checks.push({
              id: 'queue-config',
              title: queueTitle,
              status: 'fail',
              kind: 'config',
              evidence: `queue \`${name}\` does not exist in ${dbLabel}`,
              fix: `Create it: vertex-launch queue create ${name} --queue-config FILE (or run \`vertex-launch init\`); \`vertex-launch queue list\` shows the queues there.`,
            });
          } else {
            ctx.queueLabel = `queue \`${name}\``;
            if (queue.project) queueProject = { value: queue.project, source: { kind: 'queue', name: 'project' } };
            if (queue.region) queueRegion = { value: queue.region, source: { kind: 'queue', name: 'region' } };
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

  // 3. Project and region: the flags, then the queue's own, then the runtime's (environment, launch-config.yaml,
  // gcloud config); the credentials' last (checkCredentials).
  const explicitFlag = (value: Sourced<string> | undefined) => (value?.source.kind === 'flag' ? value : undefined);
  const project = explicitFlag(runtime.projectId) ?? queueProject ?? runtime.projectId;
  const region = explicitFlag(runtime.region) ?? queueRegion ?? runtime.region;
  if (project) {
    ctx.project = project.value;
    ctx.projectSource = describeSource(project.source);
  }
  if (region) {
    ctx.region = region.value;
    ctx.regionSource = describeSource(region.source);
  }

  // 4. Google: credentials first, then the rest (each independent of the others).
  checks.push(await checkCredentials(ctx));
  checks.push(await checkServices(ctx));
  checks.push(await checkVertexApi(ctx));
  checks.push(await checkStagingBucket(ctx));
  checks.push(await checkRepository(ctx));
  checks.push(await checkProjectPermissions(ctx));
  checks.push(await checkActAs(ctx));
  checks.push(await checkServiceAgent(ctx));

  return { ctx, checks, code: doctorExitCode(checks) };
}

/** The `--json` document of a run: `{ ok, exitCode, project, region, queue, checks }`. */
export function doctorJson({ ctx, checks, code }: DoctorRun) {
  return {
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
  };
}

function configFailure(title: string, error: unknown, fix: string): CheckResult {
  const text = error instanceof Error ? error.message : String(error);
  const issues = error instanceof ConfigError && error.issues.length > 0 ? `\n${formatConfigIssues(error.issues)}` : '';
  return { id: 'queue-config', title, status: 'fail', kind: 'config', evidence: `${text}${issues}`, fix };
}

/** Prints a run for a person: one line per check, the fixes, the summary. */
export function printDoctorReport(io: Io, { ctx, checks, code }: DoctorRun): void {
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
