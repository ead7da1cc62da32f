/**
 * The runtime of one command: project, region, credentials, endpoints, agent config and queue store, resolved once
 * by core's `resolveRuntime()` from the flags, the environment, launch-config.yaml and gcloud's configuration (the
 * same order for every command), and the plugins made from it. Credentials are resolved here and nowhere else; the
 * auth package is loaded only when a command asks for them.
 */
import {
  type AuthStrategy,
  type BuilderFactory,
  type BuilderRuntime,
  describeSource,
  type ExplicitValue,
  fromFlag,
  loadBuilder,
  type ModuleImporter,
  openQueueStore,
  type QueueStore,
  type ResolveRuntimeOptions,
  type Runtime,
  resolveRuntime,
  type Sourced,
} from '@vertex-launch/core';

/** Imports plugin packages from the CLI's own dependencies (or packages installed next to it). */
export const importPlugin: ModuleImporter = (specifier) => import(specifier);

/** The flags a command may have that feed the runtime. */
export interface RuntimeFlags {
  /** `--project` (or the project of a job name). */
  project?: ExplicitValue;
  /** `--region` (or the region of a job name). */
  region?: ExplicitValue;
  /** The agent config file: `--config` of `agent`, `doctor`, `config show`, `init`; `--agent-config` of `queue`. */
  agentConfig?: ExplicitValue | false;
  /** `--db`. */
  db?: string | undefined;
}

/** What else {@link commandRuntime} needs. */
export interface CommandRuntimeOptions {
  /** Resolve credentials (loads @vertex-launch/auth). Default false. */
  credentials?: boolean;
  /** The agent config as the command already loaded and validated it (`agent`). */
  agentConfigContent?: unknown;
  /** Where strategies' warnings go (default: the runtime's warnings). */
  warn?: (message: string) => void;
  /** gcloud's configuration is read unless false. */
  gcloud?: boolean;
  /** The home directory (gcloud's folder, the ADC file). Default `os.homedir()`. */
  homedir?: string;
  /** Refuse a malformed `--project` / `--region` at once unless false (`doctor` reports them as checks). */
  checkExplicit?: boolean;
}

/** The flag's value when given, else `fallback` (e.g. the project of a job name). */
export function fromFlagOrJob(
  name: string,
  value: string | undefined,
  fallback: Sourced<string> | undefined,
): Sourced<string> | undefined {
  return fromFlag(name, value) ?? fallback;
}

/** A flag value as an explicit runtime value named after its flag. */
function flagValue(name: string, value: ExplicitValue): ExplicitValue {
  return typeof value === 'string' ? fromFlag(name, value) : value;
}

/**
 * The `auto()` chain of @vertex-launch/auth for a (partial) runtime: its project, region and endpoints, and the
 * agent config's `auth.key_file` / `auth.impersonate_service_account`.
 */
export async function authFor(
  runtime: Pick<Runtime, 'projectId' | 'region' | 'endpoints' | 'agentConfig'>,
): Promise<AuthStrategy> {
  const { auto } = await import('@vertex-launch/auth');
  const auth = runtime.agentConfig.raw?.auth as
    | { key_file?: unknown; impersonate_service_account?: unknown }
    | undefined;
  const keyFile = typeof auth?.key_file === 'string' ? auth.key_file : undefined;
  const impersonate =
    typeof auth?.impersonate_service_account === 'string' ? auth.impersonate_service_account : undefined;
  return auto({
    ...(runtime.projectId ? { projectId: runtime.projectId.value } : {}),
    ...(runtime.region ? { region: runtime.region.value } : {}),
    ...(keyFile ? { keyFile } : {}),
    ...(impersonate ? { impersonate } : {}),
    endpoints: runtime.endpoints,
  }) as AuthStrategy;
}

/** Resolves the runtime of a command (credentials only with `options.credentials`). */
export async function commandRuntime(
  flags: RuntimeFlags,
  env: NodeJS.ProcessEnv,
  options: CommandRuntimeOptions = {},
): Promise<Runtime> {
  const agentConfig =
    flags.agentConfig === undefined || flags.agentConfig === false
      ? flags.agentConfig
      : flagValue('--config', flags.agentConfig);
  const resolveOptions: ResolveRuntimeOptions = {
    projectId: flagValue('--project', flags.project),
    region: flagValue('--region', flags.region),
    ...(agentConfig === undefined ? {} : { agentConfig }),
    ...(options.agentConfigContent === undefined ? {} : { agentConfigContent: options.agentConfigContent }),
    queueDb: fromFlag('--db', flags.db),
    env,
    ...(options.gcloud === false ? { gcloud: false } : {}),
    ...(options.homedir ? { homedir: options.homedir } : {}),
    ...(options.warn ? { warn: options.warn } : {}),
    ...(options.checkExplicit === false ? { checkExplicit: false } : {}),
  };
  // Credentials are resolved with what was found without them (project, region, endpoints, the agent config's
  // auth section); @vertex-launch/auth is loaded only then.
  return resolveRuntime(options.credentials ? { ...resolveOptions, auth: authFor } : resolveOptions);
}

/** What a builder takes from the runtime (`factory(options, builderRuntime(runtime))`). */
export function builderRuntime(runtime: Runtime): BuilderRuntime {
  return {
    projectId: runtime.projectId?.value,
    region: runtime.region?.value,
    credentials: runtime.credentials,
    endpoints: runtime.endpoints,
  };
}

/** The builder factory of `type` (a built-in name or a package), chosen where `where` says. */
export function builderFactory(type: string, where: string): Promise<BuilderFactory> {
  return loadBuilder(type, { where, import: importPlugin });
}

/** Opens the queue store the runtime names (the store package is loaded only here). */
export function openStore(queueDb: Sourced<string>, options: { readOnly?: boolean } = {}): Promise<QueueStore> {
  return openQueueStore(queueDb.value, {
    where: describeSource(queueDb.source),
    import: importPlugin,
    ...(options.readOnly ? { readOnly: true } : {}),
  });
}
