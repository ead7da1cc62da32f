/**
 * `vertex-launch agent`: the agent config -> credentials (`auto()` of @vertex-launch/auth) -> a Vertex runner per
 * project and region -> the SQLite queue store -> `createAgent` of @vertex-launch/core. Runs until SIGTERM or SIGINT,
 * then stops claiming, gives its items back to their queues (phase and job name kept, so the next agent re-attaches at
 * once) and exits within seconds. Logs go to stdout: JSON lines (pino) or, on a terminal, human lines.
 */
import {
  type AgentLogger,
  createAgent,
  defaultAgentConfigPath,
  type ImageBuilder,
  type JobRunner,
  loadAgentConfig,
  type ResolvedAgentConfig,
  type RunnerTarget,
} from '@vertex-launch/core';
import type { VertexRunner } from '@vertex-launch/vertex';
import { ExitCode, UsageError } from '../exit-codes.js';
import type { GlobalOptions } from '../main.js';
import { dim, type Io, red, yellow } from '../output.js';
import { openQueueStore, resolveQueueDbPath } from './queue-db.js';

/** Flags of `vertex-launch agent`. */
export interface AgentCommandOptions extends GlobalOptions {
  config?: string;
  db?: string;
  logFormat?: string;
  statusInterval?: string;
}

const LOG_FORMATS = ['json', 'human'] as const;

/** Human log lines: `12:00:01 INFO  message  key=value ...` on the given writer. */
function humanLogger(io: Io, write: (text: string) => void): AgentLogger {
  const line = (level: string, fields: Record<string, unknown>, message: string) => {
    const time = new Date().toISOString().slice(11, 19);
    const tag =
      level === 'error'
        ? red(io, 'ERROR')
        : level === 'warn'
          ? yellow(io, 'WARN ')
          : dim(io, level.toUpperCase().padEnd(5));
    const keys = ['queue', 'itemId', 'jobName']
      .filter((k) => fields[k] !== undefined && !message.includes(String(fields[k])))
      .map((k) => `${k}=${String(fields[k])}`);
    write(`${dim(io, time)} ${tag} ${message}${keys.length ? `  ${dim(io, keys.join(' '))}` : ''}\n`);
  };
  return {
    debug: () => {},
    info: (f, m) => line('info', f, m),
    warn: (f, m) => line('warn', f, m),
    error: (f, m) => line('error', f, m),
  };
}

async function jsonLogger(write: (text: string) => void): Promise<AgentLogger> {
  const { pino } = await import('pino');
  const logger = pino(
    { name: 'vertex-launch-agent', level: 'info', base: { pid: process.pid } },
    { write: (text: string) => write(text) },
  );
  return {
    debug: (f, m) => logger.debug(f, m),
    info: (f, m) => logger.info(f, m),
    warn: (f, m) => logger.warn(f, m),
    error: (f, m) => logger.error(f, m),
  };
}

/**
 * The builder factory of `builder.type`, loaded only when configured (before credentials are resolved, so a missing
 * plugin is reported first).
 */
async function loadBuilder(
  config: ResolvedAgentConfig,
  file: string,
): Promise<((options: Record<string, unknown>) => ImageBuilder) | undefined> {
  if (config.builder.type === 'noop') return undefined;
  // An optional plugin, not a dependency of the CLI: the specifier is built at run time so the bundler leaves the
  // import alone, and the CLI runs without the plugin when no agent builds.
  const name = ['@vertex-launch', 'builder-docker'].join('/');
  let plugin: { dockerBuilder?: (options: Record<string, unknown>) => ImageBuilder };
  try {
    plugin = (await import(name)) as typeof plugin;
  } catch (cause) {
    throw new UsageError(
      `${file}: builder.type is docker, but ${name} is not installed (${(cause as Error).message}). Install it next to the CLI, or set \`builder: { type: noop }\`.`,
    );
  }
  if (!plugin.dockerBuilder) throw new UsageError(`${name} does not export dockerBuilder(); update it.`);
  return plugin.dockerBuilder;
}

/** `vertex-launch agent`. */
export default async function agentCommand(options: AgentCommandOptions, io: Io, env = process.env): Promise<number> {
  const format = options.logFormat ?? (io.isTTY ? 'human' : 'json');
  if (!(LOG_FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`--log-format ${format}: use json or human.`);
  }
  const statusSeconds = options.statusInterval === undefined ? 60 : Number(options.statusInterval);
  if (!Number.isFinite(statusSeconds) || statusSeconds < 0) {
    throw new UsageError(`--status-interval ${options.statusInterval}: a number of seconds (0 turns it off).`);
  }
  const file = options.config ?? defaultAgentConfigPath(env);
  const config = await loadAgentConfig(file);
  const logger = format === 'json' ? await jsonLogger(io.stdout) : humanLogger(io, io.stderr);
  const makeBuilder = await loadBuilder(config, file);

  const [{ auto, resolveCredentials }, { vertexRunner }] = await Promise.all([
    import('@vertex-launch/auth'),
    import('@vertex-launch/vertex'),
  ]);
  const credentials = await resolveCredentials(
    auto({
      ...(config.environment.project ? { projectId: config.environment.project } : {}),
      ...(config.environment.region ? { region: config.environment.region } : {}),
      ...(config.auth.key_file ? { keyFile: config.auth.key_file } : {}),
      ...(config.auth.impersonate_service_account ? { impersonate: config.auth.impersonate_service_account } : {}),
      env,
    }),
    { env },
  );
  const builderCredentials = { accessToken: async () => ({ token: (await credentials.accessToken()).token }) };
  // The builder gets the credentials too, not only each build: its `exists()` check (is the content tag already in
  // the registry?) asks the registry through the Docker daemon, which sends no credentials of its own.
  const builder = makeBuilder?.({ credentials: builderCredentials });
  const project = config.environment.project ?? credentials.projectId;
  const region = config.environment.region ?? credentials.region;
  const pollMs = Math.round(config.poll_interval * 1000);
  const runners: VertexRunner[] = [];
  const runnerFor = (target: RunnerTarget): JobRunner => {
    const runner = vertexRunner({
      credentials,
      project: target.project,
      region: target.region,
      env,
      quotas: { createsPerMinute: config.quotas.creates_per_minute, readsPerMinute: config.quotas.reads_per_minute },
      // The batched tracker follows every running job; it polls at poll_interval, backing off to 10x while quiet.
      tracker: { minIntervalMs: pollMs, maxIntervalMs: Math.max(pollMs, Math.min(30_000, pollMs * 10)) },
    });
    runners.push(runner);
    return runner;
  };

  if (project && region) {
    // Preflight: fails fast on missing credentials or permissions, and loads the Google client now (its first load
    // blocks the event loop for seconds, which must not happen while leases are held).
    await runnerFor({ project, region }).list({ limit: 1 });
  }
  const db = await resolveQueueDbPath(options, env, config.queue_db);
  const store = await openQueueStore(options, env, config.queue_db);
  const agent = createAgent({
    store,
    runner: runnerFor,
    queues: config.queues,
    maxJobs: config.max_jobs,
    ...(project ? { project } : {}),
    ...(region ? { region } : {}),
    ...(builder ? { builder } : {}),
    ...(config.registry ? { imageRepository: config.registry.uri } : {}),
    ...(builder ? { builderCredentials } : {}),
    startTimeoutMs: Math.round(config.start_timeout * 1000),
    pollIntervalMs: pollMs,
    leaseMs: Math.round(config.lease_duration * 1000),
    statusIntervalMs: Math.round(statusSeconds * 1000),
    logger,
    env,
  });
  logger.info(
    { agentId: agent.id, config: file, queueDb: db.path ?? 'default', queueDbSource: db.source, project, region },
    `config ${file}, queue database ${db.path ?? '(default)'}`,
  );

  let signalled: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      // A second signal: leave now; leases run out and another agent resumes the items.
      process.exit(ExitCode.INTERRUPTED);
    }
    signalled = signal;
    void agent.stop(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await agent.start();
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await Promise.all(runners.map((runner) => runner.close().catch(() => undefined)));
    await store.close();
  }
  return ExitCode.OK;
}
