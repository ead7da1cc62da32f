/**
 * `resolveRuntime()`: what every command and SDK launch needs to know before it talks to Google — the project, the
 * region, the credentials, the endpoints, the agent config and the queue store — resolved once, each value with its
 * source. Precedence, the same for every command (and what `config show` prints):
 *
 *   explicit (flag or option) > environment variable > agent config (launch-config.yaml) > gcloud config > credentials
 *
 * gcloud's own order is kept inside its step: `CLOUDSDK_<SECTION>_<PROPERTY>` over the active configuration's file,
 * `ai/region` over `compute/region`. Reads files only (the agent config, gcloud's configuration); credentials come
 * from the {@link AuthStrategy} the caller passes (core imports no Google library).
 */
import { homedir as osHomedir } from 'node:os';
import { defaultAgentConfigPath } from '../agent/config.js';
import { type AuthCredentials, type AuthStrategy, resolveAuthChain } from '../auth.js';
import { loadConfigFile } from '../config/load.js';
import { ConfigError } from '../errors.js';
import { defaultQueueDbPath } from '../queue/registry.js';
import { checkRegion } from '../regions.js';
import { resolveServiceEndpoints, type ServiceEndpoints } from './endpoints.js';
import { type Env, firstEnv, PROJECT_ENV_VARS, QUEUE_DB_ENV, REGION_ENV_VARS } from './env.js';
import { type GcloudConfiguration, gcloudConfigDir, readGcloudConfiguration } from './gcloud-config.js';
import { describeSource, type Sourced, type ValueSource } from './sources.js';

/** The agent config file as the runtime saw it (read leniently; `loadAgentConfig` validates it strictly). */
export interface AgentConfigFile {
  /** The path (given, or the default under `$XDG_CONFIG_HOME` / `~/.config`). */
  readonly path: string;
  readonly source: ValueSource;
  readonly exists: boolean;
  /** Its parsed content when it exists and parses (not validated). */
  readonly raw: Readonly<Record<string, unknown>> | undefined;
  /** Why it could not be read or parsed, when it could not. */
  readonly error: string | undefined;
}

/** The resolved runtime: pass it (or its parts) to every plugin of a command. */
export interface Runtime {
  /** The Google Cloud project, with its source; undefined when nothing names one. */
  readonly projectId: Sourced<string> | undefined;
  /** The Vertex AI region, with its source; undefined when nothing names one. */
  readonly region: Sourced<string> | undefined;
  /** The credentials, when an `auth` strategy was given (resolved once per runtime). */
  readonly credentials: AuthCredentials | undefined;
  /** Where the Google APIs are reached (Google or the emulator). */
  readonly endpoints: ServiceEndpoints;
  /** The agent config file (`--config`, else the default path). */
  readonly agentConfig: AgentConfigFile;
  /** The queue store: a SQLite path or a store URL (`sqlite:`, `postgres://`), with its source. */
  readonly queueDb: Sourced<string>;
  /** gcloud's active configuration, when it was read. */
  readonly gcloud: GcloudConfiguration | undefined;
  /** The environment the runtime was resolved from. */
  readonly env: Env;
  /** Problems that did not stop the resolution (an unreadable agent config, incomplete emulator variables). */
  readonly warnings: readonly string[];
}

/** An explicit value: a plain string (an SDK option) or a value with its source (a CLI flag, see `fromFlag`). */
export type ExplicitValue = string | Sourced<string> | undefined;

/** What {@link resolveRuntime} reads. */
export interface ResolveRuntimeOptions {
  /** The project, over every other source (`--project`, or the `projectId` option). */
  projectId?: ExplicitValue;
  /** The region, over every other source (`--region`, or the `region` option). */
  region?: ExplicitValue;
  /** The agent config file (`--config`). Default `$XDG_CONFIG_HOME/vertex-launch/launch-config.yaml`; `false`: none. */
  agentConfig?: ExplicitValue | false;
  /** The agent config's content when the caller has already loaded (and validated) it. */
  agentConfigContent?: unknown;
  /** The queue store (`--db`). Default `$VERTEX_LAUNCH_QUEUE_DB`, `queue_db` of the agent config, the default file. */
  queueDb?: ExplicitValue;
  /** Default `process.env`. */
  env?: Env;
  /** Default `os.homedir()` (for gcloud's configuration folder). */
  homedir?: string;
  /** Read gcloud's active configuration (project and region). Default true. */
  gcloud?: boolean;
  /**
   * Refuse a malformed explicit `projectId` / `region` at once (a ConfigError naming the option). Default true;
   * a diagnostic that reports them itself (`doctor`) passes false.
   */
  checkExplicit?: boolean;
  /**
   * How to find credentials, given what is resolved so far (project, region, endpoints, the agent config's `auth`):
   * e.g. `(partial) => auto({ projectId: partial.projectId?.value, endpoints: partial.endpoints })` of
   * `@vertex-launch/auth`. Without it no credentials are resolved.
   */
  auth?: (
    partial: Omit<Runtime, 'credentials'>,
  ) => AuthStrategy | readonly AuthStrategy[] | Promise<AuthStrategy | readonly AuthStrategy[]>;
  /** Receives the strategies' warnings (a key file readable by others). Default: collected in `warnings`. */
  warn?: (message: string) => void;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const text = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);

function explicit(value: ExplicitValue, option: string): Sourced<string> | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') {
    const trimmed = value.trim();
    return trimmed ? { value: trimmed, source: { kind: 'option', name: option } } : undefined;
  }
  return value;
}

async function readAgentConfig(
  given: ExplicitValue | false | undefined,
  content: unknown,
  env: Env,
): Promise<AgentConfigFile> {
  if (given === false) {
    return { path: '', source: { kind: 'default' }, exists: false, raw: undefined, error: undefined };
  }
  const chosen = explicit(given, 'agentConfig');
  const path = chosen?.value ?? defaultAgentConfigPath(env);
  const source: ValueSource = chosen?.source ?? {
    kind: 'default',
    detail: text(env.XDG_CONFIG_HOME) ? 'under $XDG_CONFIG_HOME' : 'under ~/.config',
  };
  if (content !== undefined) {
    return { path, source, exists: true, raw: isObject(content) ? content : undefined, error: undefined };
  }
  const { existsSync } = await import('node:fs');
  if (!existsSync(path)) return { path, source, exists: false, raw: undefined, error: undefined };
  try {
    const raw = await loadConfigFile(path);
    return { path, source, exists: true, raw: isObject(raw) ? raw : undefined, error: undefined };
  } catch (error) {
    return {
      path,
      source,
      exists: true,
      raw: undefined,
      error: error instanceof Error ? error.message : String(error),
    };
  }
}

/** A key of the agent config, e.g. `environment.project`, as a sourced value. */
function fromAgentConfig(file: AgentConfigFile, ...path: string[]): Sourced<string> | undefined {
  let current: unknown = file.raw;
  for (const key of path) current = isObject(current) ? current[key] : undefined;
  const value = text(current);
  return value ? { value, source: { kind: 'file', file: file.path, key: path.join('.') } } : undefined;
}

function fromGcloud(config: GcloudConfiguration | undefined, what: 'project' | 'region'): Sourced<string> | undefined {
  const value = config?.[what];
  if (!config || !value) return undefined;
  const property = what === 'project' ? 'core/project' : (config.regionProperty ?? 'compute/region');
  return { value, source: { kind: 'gcloud', property, configuration: config.name, file: config.file } };
}

/**
 * Resolves the runtime of one command (or one SDK program): project, region, endpoints, agent config, queue store
 * and — with `auth` — credentials, each value with its source. Never throws for a missing project or region (read
 * them with {@link requireProjectId} / {@link requireRegion}, whose errors list every place looked at).
 *
 * @throws ConfigError when `VERTEX_LAUNCH_EMULATOR_HTTP` is not a URL, or an explicit `projectId` / `region` is
 *   malformed (values from the environment and gcloud are checked by requireProjectId / requireRegion); whatever
 *   the auth strategies throw.
 */
export async function resolveRuntime(options: ResolveRuntimeOptions = {}): Promise<Runtime> {
  const env = options.env ?? process.env;
  const warnings: string[] = [];
  const endpoints = resolveServiceEndpoints(env);
  if (endpoints.emulatorProblem) warnings.push(endpoints.emulatorProblem.message);
  const agentConfig = await readAgentConfig(options.agentConfig, options.agentConfigContent, env);
  if (agentConfig.error) warnings.push(`${agentConfig.path} could not be read: ${agentConfig.error}`);
  const gcloud =
    options.gcloud === false
      ? undefined
      : await readGcloudConfiguration(gcloudConfigDir(env, options.homedir ?? osHomedir()), env).catch(
          (error: unknown) => {
            warnings.push(`gcloud's configuration could not be read: ${(error as Error).message}`);
            return undefined;
          },
        );
  const projectId =
    explicit(options.projectId, 'projectId') ??
    firstEnv(env, PROJECT_ENV_VARS) ??
    fromAgentConfig(agentConfig, 'environment', 'project') ??
    fromGcloud(gcloud, 'project');
  const region =
    explicit(options.region, 'region') ??
    firstEnv(env, REGION_ENV_VARS) ??
    fromAgentConfig(agentConfig, 'environment', 'region') ??
    fromGcloud(gcloud, 'region');
  // Values given explicitly (`--project`, `--region`, the SDK's options) are checked where they enter: at once.
  const projectOption = explicit(options.projectId, 'projectId');
  const regionOption = explicit(options.region, 'region');
  if (options.checkExplicit !== false) {
    if (projectOption) checkSourcedProject(projectOption);
    if (regionOption) checkSourcedRegion(regionOption);
  }
  const queueDb = explicit(options.queueDb, 'queueDb') ??
    firstEnv(env, [QUEUE_DB_ENV]) ??
    fromAgentConfig(agentConfig, 'queue_db') ?? { value: defaultQueueDbPath(env), source: { kind: 'default' } };

  const partial: Omit<Runtime, 'credentials'> = {
    projectId,
    region,
    endpoints,
    agentConfig,
    queueDb,
    gcloud,
    env,
    warnings,
  };
  if (!options.auth) return { ...partial, credentials: undefined };
  const strategies = await options.auth(partial);
  const credentials = await resolveAuthChain(Array.isArray(strategies) ? strategies : [strategies as AuthStrategy], {
    env,
    homedir: options.homedir ?? osHomedir(),
    warn: options.warn ?? ((message) => warnings.push(message)),
  });
  const strategy = { kind: 'credentials', strategy: credentials.strategy } as const;
  return {
    ...partial,
    credentials,
    projectId: projectId ?? (credentials.projectId ? { value: credentials.projectId, source: strategy } : undefined),
    region: region ?? (credentials.region ? { value: credentials.region, source: strategy } : undefined),
  };
}

/** Where a missing value could have come from, for the error. */
function missing(what: 'project' | 'region', runtime: Pick<Runtime, 'agentConfig'>): ConfigError {
  const file = runtime.agentConfig.path || 'launch-config.yaml';
  const [flag, vars, key, gcloud, example] =
    what === 'project'
      ? ['--project <id>', PROJECT_ENV_VARS, 'environment.project', 'gcloud config set project <id>', 'my-project']
      : [
          '--region <region>',
          REGION_ENV_VARS,
          'environment.region',
          'gcloud config set ai/region <region>',
          'us-central1',
        ];
  return new ConfigError(
    `No ${what}: pass ${flag}, set $${vars[0]} (or ${vars
      .slice(1)
      .map((name) => `$${name}`)
      .join(', ')}), set ${key} in ${file}, or run \`${gcloud}\`.`,
    [{ path: what === 'project' ? 'projectId' : 'region', message: `is not set (e.g. ${example})`, severity: 'error' }],
    { hint: 'SDK: pass `projectId` / `region` to resolveRuntime(), or give the values to launch().' },
  );
}

/** The runtime's project. @throws ConfigError naming every place a project could have come from. */
export function requireProjectId(runtime: Pick<Runtime, 'projectId' | 'agentConfig'>): string {
  if (!runtime.projectId) throw missing('project', runtime);
  checkSourcedProject(runtime.projectId);
  return runtime.projectId.value;
}

/** The runtime's region. @throws ConfigError naming every place a region could have come from, or a malformed one. */
export function requireRegion(runtime: Pick<Runtime, 'region' | 'agentConfig'>): string {
  if (!runtime.region) throw missing('region', runtime);
  checkSourcedRegion(runtime.region);
  return runtime.region.value;
}

/**
 * A GCP project id: 6 to 30 characters, a lowercase letter first, lowercase letters, digits and `-`, no trailing
 * `-`; legacy domain-scoped ids (`example.com:my-project`) carry their domain before a colon.
 */
export const PROJECT_ID_PATTERN = /^(?:[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$/;

/** @throws ConfigError when the project id is not one, naming where it was set. */
function checkSourcedProject(project: Sourced<string>): void {
  if (PROJECT_ID_PATTERN.test(project.value)) return;
  const where = describeSource(project.source);
  const shown = project.value.length > 60 ? `${project.value.slice(0, 60)}…` : project.value;
  throw new ConfigError(
    `The project \`${shown}\` (from ${where}) is not a GCP project id: 6 to 30 lowercase letters, digits and \`-\`, starting with a letter and not ending with \`-\` (e.g. my-project-123).`,
    [{ path: 'projectId', message: 'not a GCP project id', severity: 'error' }],
    {
      hint: `Change it where it is set: ${where}. The project id (not its name or number) is shown by \`gcloud projects list\`.`,
    },
  );
}

/** @throws ConfigError when the region is malformed (checkRegion's error), naming where it was set. */
function checkSourcedRegion(region: Sourced<string>): void {
  const check = checkRegion(region.value, describeSource(region.source));
  if (check.severity !== 'error') return;
  throw new ConfigError(check.message ?? `The region ${region.value} is not a region.`, [
    { path: 'region', message: 'not a Vertex AI region', severity: 'error' },
  ]);
}

/** `my-proj (from $GOOGLE_CLOUD_PROJECT)` for messages; `not set` when missing. */
export function describeSourced(value: Sourced<string> | undefined): string {
  return value ? `${value.value} (from ${describeSource(value.source)})` : 'not set';
}
