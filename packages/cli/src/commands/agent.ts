/**
 * `vertex-launch agent`: the agent config -> the runtime (project, region, credentials, endpoints, queue store; as
 * every command resolves them) -> the builder of `builder.type` (builder registry) -> a Vertex runner per project and
 * region -> the queue store of `queue_db` (store registry) -> `createAgent` of @vertex-launch/core. Runs until SIGTERM or SIGINT,
 * then stops claiming, gives its items back to their queues (phase and job name kept, so the next agent re-attaches at
 * once) and exits within seconds. Logs go to stdout: JSON lines (pino) or, on a terminal, human lines.
 */
import {
  type BuilderFactory,
  ConfigError,
  describeSource,
  type JobRunner,
  loadConfigFile,
  QUEUE_NAME_PATTERN,
  redactStoreUrl,
} from '@vertex-launch/core';
import {
  type Agent,
  type AgentLogger,
  ApiOutageLog,
  createAgent,
  defaultAgentConfigPath,
  isTransientApiError,
  loadAgentConfig,
  newAgentId,
  parseAgentConfig,
  type ResolvedAgentConfig,
  type RunnerTarget,
  whenApiAnswers,
} from '@vertex-launch/core/agent';
import type { VertexRunner } from '@vertex-launch/vertex';
import { ExitCode, UsageError } from '../exit-codes.js';
import type { GlobalOptions } from '../options.js';
import { dim, type Io, red, yellow } from '../output.js';
import { builderFactory, builderRuntime, commandRuntime, openStore } from '../runtime.js';

/** Flags of `vertex-launch agent`. */
export interface AgentCommandOptions extends GlobalOptions {
  config?: string;
  db?: string;
  logFormat?: string;
  statusInterval?: string;
  /** `-q/--queue NAME` (repeatable): the queues to drain, instead of `queues` of the config. */
  queue?: string[];
  /** `-j/--max-jobs N`: instead of `max_jobs` of the config. */
  maxJobs?: string;
}

/**
 * The agent config with the `--queue` and `--max-jobs` flags laid over the file (flags win). With `--queue`, the file
 * may be missing: the flags and the defaults are a whole config (as `wandb launch-agent -q NAME` needs none).
 */
export async function agentConfigWithFlags(options: AgentCommandOptions, file: string): Promise<ResolvedAgentConfig> {
  const queues = options.queue;
  for (const name of queues ?? []) {
    if (!QUEUE_NAME_PATTERN.test(name)) {
      throw new UsageError(
        `--queue ${JSON.stringify(name)}: not a queue name (lowercase letters, digits, - and _, starting with a letter or digit); see \`vertex-launch queue list\`.`,
      );
    }
  }
  let maxJobs: number | undefined;
  if (options.maxJobs !== undefined) {
    maxJobs = Number(options.maxJobs);
    if (!/^-?\d+$/.test(options.maxJobs.trim()) || !(maxJobs === -1 || maxJobs >= 1)) {
      throw new UsageError(`--max-jobs ${options.maxJobs}: a whole number of jobs at once, at least 1 (-1: no limit).`);
    }
  }
  if (queues === undefined && maxJobs === undefined) return loadAgentConfig(file);
  let raw: unknown;
  try {
    raw = await loadConfigFile(file);
  } catch (error) {
    const missing = (error as { cause?: { code?: string } }).cause?.code === 'ENOENT';
    if (!(missing && queues !== undefined && error instanceof ConfigError && error.issues.length === 0)) {
      // The file's own message (missing, unreadable or invalid YAML), as without the flags.
      return loadAgentConfig(file);
    }
    raw = {};
  }
  const merged = {
    ...(raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? raw : {}),
    ...(queues === undefined ? {} : { queues: [...new Set(queues)] }),
    ...(maxJobs === undefined ? {} : { max_jobs: maxJobs }),
  };
  return parseAgentConfig(merged, file);
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
 * The builder factory of `builder.type` (a built-in name or a package, through the builder registry), loaded only
 * when configured and before credentials are resolved, so a missing plugin is reported first.
 */
function loadBuilder(config: ResolvedAgentConfig, file: string): Promise<BuilderFactory> | undefined {
  if (config.builder.type === 'noop') return undefined;
  return builderFactory(config.builder.type, `builder.type in ${file}`);
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
  const config = await agentConfigWithFlags(options, file);
  const logger = format === 'json' ? await jsonLogger(io.stdout) : humanLogger(io, io.stderr);
  const makeBuilder = await loadBuilder(config, file);

  const runtime = await commandRuntime({ agentConfig: options.config, db: options.db }, env, {
    credentials: true,
    agentConfigContent: config,
  });
  const credentials = runtime.credentials;
  const builderCredentials = credentials
    ? { accessToken: async () => ({ token: (await credentials.accessToken()).token }) }
    : undefined;
  // The builder gets the credentials too (from the runtime), not only each build: its `digestOf()` check (is the
  // content tag already in the registry?) asks the registry through the Docker daemon, which sends no credentials.
  const builder = makeBuilder?.(config.builder.options ?? {}, builderRuntime(runtime));
  const project = runtime.projectId?.value;
  const region = runtime.region?.value;
  const pollMs = Math.round(config.poll_interval * 1000);
  const agentId = newAgentId();
  // Every failed attempt of a runner call opens (or counts in) the outage log: one line per outage, said at once.
  const outage = new ApiOutageLog(logger, { agentId });
  const runners: VertexRunner[] = [];
  const { vertexRunner } = await import('@vertex-launch/vertex');
  const runnerFor = (target: RunnerTarget): JobRunner => {
    const runner = vertexRunner({
      ...(credentials ? { credentials } : {}),
      projectId: target.project,
      region: target.region,
      endpoints: runtime.endpoints,
      quotas: { createsPerMinute: config.quotas.creates_per_minute, readsPerMinute: config.quotas.reads_per_minute },
      createLookup: {
        windowMs: Math.round(config.create_lookup_window * 1000),
        intervalMs: Math.round(config.create_lookup_interval * 1000),
      },
      // The batched tracker follows every running job; it polls at poll_interval, backing off to 10x while quiet.
      tracker: { minIntervalMs: pollMs, maxIntervalMs: Math.max(pollMs, Math.min(30_000, pollMs * 10)) },
      onRetry: ({ error, method }) => {
        if (isTransientApiError(error, { jobMayExist: false })) outage.failed(error, `Vertex AI ${method}`);
      },
    });
    runners.push(runner);
    return runner;
  };

  const db = runtime.queueDb;
  const dbShown = redactStoreUrl(db.value);
  logger.info(
    {
      agentId,
      config: file,
      queueDb: dbShown,
      queueDbSource: describeSource(db.source),
      project,
      region,
      queues: config.queues,
      maxJobs: config.max_jobs,
    },
    `config ${file}, queue database ${dbShown}, queues ${config.queues.join(', ')}${options.queue ? ' (--queue)' : ''}, max jobs ${config.max_jobs === -1 ? 'no limit' : config.max_jobs}${options.maxJobs ? ' (--max-jobs)' : ''}`,
  );

  let signalled: NodeJS.Signals | undefined;
  let agent: Agent | undefined;
  const waiting = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      // A second signal: leave now; leases run out and another agent resumes the items.
      process.exit(ExitCode.INTERRUPTED);
    }
    signalled = signal;
    waiting.abort();
    void agent?.stop(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    if (project && region) {
      // Preflight: fails fast on missing credentials or permissions, and loads the Google client now (its first load
      // blocks the event loop for seconds, which must not happen while leases are held). While Vertex AI does not
      // answer (an outage), it waits and says so, rather than exiting.
      const answered = await whenApiAnswers(() => runnerFor({ project, region }).list({ limit: 1 }), {
        what: 'Vertex AI listCustomJobs',
        outage,
        log: logger,
        fields: { agentId },
        signal: waiting.signal,
      });
      if (answered === undefined) {
        logger.info({ agentId, reason: signalled }, `agent stopped (${signalled}) while waiting for Vertex AI`);
        return ExitCode.OK;
      }
    }
    const store = await openStore(db);
    try {
      agent = createAgent({
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
        maxAttempts: config.max_attempts,
        statusIntervalMs: Math.round(statusSeconds * 1000),
        agentId,
        apiOutage: outage,
        logger,
        env,
        allowedEnv: config.allowed_env,
      });
      if (signalled) void agent.stop(signalled);
      await agent.start();
    } finally {
      await store.close();
    }
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await Promise.all(runners.map((runner) => runner.close().catch(() => undefined)));
  }
  return ExitCode.OK;
}
