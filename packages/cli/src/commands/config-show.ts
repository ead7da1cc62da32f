/**
 * `vertex-launch config show`: the effective settings and where each came from, precedence flags > environment >
 * config file (launch-config.yaml) > default. Reads files and the environment only: no Google library is loaded and
 * no secret is printed (an access token in the environment is reported as "set").
 */
import { existsSync } from 'node:fs';
import { defaultAgentConfigPath, loadConfigFile, readEmulatorConnection } from '@vertex-launch/core';
import { ExitCode } from '../exit-codes.js';
import type { GlobalOptions } from '../main.js';
import { dim, type Io, printJson, yellow } from '../output.js';
import { QUEUE_DB_ENV } from './queue-db.js';

/** Options of `vertex-launch config show`. */
export interface ConfigShowOptions extends GlobalOptions {
  project?: string;
  region?: string;
  config?: string;
  db?: string;
}

/** One effective setting. */
export interface Setting {
  value: string | null;
  /** `--flag`, `$VAR`, `<key> in <file>`, `default` or `not set`. */
  source: string;
}

const PROJECT_VARS = ['GOOGLE_CLOUD_PROJECT', 'GCLOUD_PROJECT', 'CLOUDSDK_CORE_PROJECT'];
const REGION_VARS = ['GOOGLE_CLOUD_REGION', 'CLOUDSDK_AI_REGION', 'CLOUDSDK_COMPUTE_REGION'];
const TOKEN_VARS = ['GOOGLE_OAUTH_ACCESS_TOKEN', 'CLOUDSDK_AUTH_ACCESS_TOKEN'];

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);

/** The effective settings (pure apart from reading the agent config file). */
export async function effectiveSettings(
  options: ConfigShowOptions,
  env: NodeJS.ProcessEnv,
): Promise<{ settings: Record<string, Setting>; warnings: string[] }> {
  const warnings: string[] = [];
  const configPath = options.config ?? defaultAgentConfigPath(env);
  const configSource = options.config
    ? '--config'
    : str(env.XDG_CONFIG_HOME)
      ? 'default under $XDG_CONFIG_HOME'
      : 'default under ~/.config';
  let file: Record<string, unknown> = {};
  if (existsSync(configPath)) {
    try {
      const raw = await loadConfigFile(configPath);
      if (isObject(raw)) file = raw;
    } catch (error) {
      warnings.push(`${configPath} could not be read: ${error instanceof Error ? error.message : String(error)}`);
    }
  } else if (options.config) {
    warnings.push(`${configPath} does not exist (create it with \`vertex-launch init --config ${configPath}\`)`);
  }
  const inFile = (key: string) => `${key} in ${configPath}`;
  const environment = isObject(file.environment) ? file.environment : {};
  const auth = isObject(file.auth) ? file.auth : {};

  const layered = (
    flag: string | undefined,
    flagName: string,
    vars: string[],
    fileValue: unknown,
    fileKey: string,
  ): Setting => {
    if (str(flag)) return { value: str(flag) as string, source: flagName };
    for (const name of vars) if (str(env[name])) return { value: str(env[name]) as string, source: `$${name}` };
    if (str(fileValue)) return { value: str(fileValue) as string, source: inFile(fileKey) };
    return { value: null, source: 'not set' };
  };

  const settings: Record<string, Setting> = {
    project: layered(options.project, '--project', PROJECT_VARS, environment.project, 'environment.project'),
    region: layered(options.region, '--region', REGION_VARS, environment.region, 'environment.region'),
    agentConfig: {
      value: configPath,
      source: existsSync(configPath) ? configSource : `${configSource} (does not exist)`,
    },
    queueDb: layered(options.db, '--db', [QUEUE_DB_ENV], file.queue_db, 'queue_db'),
  };
  if (settings.queueDb?.value === null) {
    const { defaultQueueDbPath } = await import('@vertex-launch/queue-sqlite');
    settings.queueDb = { value: defaultQueueDbPath(env), source: 'default' };
  }

  // Credentials: which strategy the auto chain will pick first, without resolving anything.
  const keyFile = str(auth.key_file);
  const token = TOKEN_VARS.find((name) => str(env[name]));
  if (keyFile) settings.auth = { value: `service-account key ${keyFile}`, source: inFile('auth.key_file') };
  else if (token) settings.auth = { value: `environment (access token, set)`, source: `$${token}` };
  else if (str(env.GOOGLE_APPLICATION_CREDENTIALS))
    settings.auth = {
      value: `environment (${env.GOOGLE_APPLICATION_CREDENTIALS})`,
      source: '$GOOGLE_APPLICATION_CREDENTIALS',
    };
  else settings.auth = { value: 'auto: gcloud ADC, then workload identity (metadata server)', source: 'default' };
  const impersonate = str(auth.impersonate_service_account);
  settings.impersonate = impersonate
    ? { value: impersonate, source: inFile('auth.impersonate_service_account') }
    : { value: null, source: 'not set' };

  let emulator: ReturnType<typeof readEmulatorConnection>;
  try {
    emulator = readEmulatorConnection(env);
  } catch (error) {
    warnings.push(error instanceof Error ? error.message : String(error));
    emulator = undefined;
  }
  settings.emulator = emulator
    ? {
        value: `${emulator.httpUrl}, gRPC ${emulator.grpcHost}:${emulator.grpcPort}${emulator.registry ? `, registry ${emulator.registry}` : ''}`,
        source: '$VERTEX_LAUNCH_EMULATOR_HTTP, _GRPC, _CA',
      }
    : { value: null, source: 'not set (Google Cloud)' };
  return { settings, warnings };
}

const LABELS: Record<string, string> = {
  project: 'project',
  region: 'region',
  agentConfig: 'agent config',
  queueDb: 'queue db',
  auth: 'auth',
  impersonate: 'impersonate',
  emulator: 'emulator',
};

/** `vertex-launch config show [--json]`. */
export default async function configShow(
  options: ConfigShowOptions,
  io: Io,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const { settings, warnings } = await effectiveSettings(options, env);
  if (options.json) {
    printJson(io, { settings, warnings });
    return ExitCode.OK;
  }
  for (const [key, setting] of Object.entries(settings)) {
    const label = (LABELS[key] ?? key).padEnd(13);
    io.stdout(`${label}${setting.value ?? dim(io, '-')}  ${dim(io, `(${setting.source})`)}\n`);
  }
  for (const w of warnings) io.stderr(`${yellow(io, 'warning')} ${w}\n`);
  return ExitCode.OK;
}
