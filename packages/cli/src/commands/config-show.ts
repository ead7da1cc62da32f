/**
 * `vertex-launch config show`: the effective settings and where each came from — the runtime every command resolves
 * (flags > environment > the agent config launch-config.yaml > gcloud config > default). Reads files and the
 * environment only: no Google library is loaded and no secret is printed (an access token in the environment is
 * reported as "set", a password in a store URL as `***`).
 */
import {
  DEFAULT_MAX_ATTEMPTS,
  describeSource,
  type Runtime,
  redactStoreUrl,
  type Sourced,
  TOKEN_ENV_VARS,
} from '@vertex-launch/core';
import { DEFAULT_CREATE_LOOKUP_INTERVAL_S, DEFAULT_CREATE_LOOKUP_WINDOW_S } from '@vertex-launch/core/agent';
import { formatSeconds } from '@vertex-launch/core/config';
import { ExitCode } from '../exit-codes.js';
import type { GlobalOptions } from '../options.js';
import { dim, type Io, printJson, yellow } from '../output.js';
import { commandRuntime } from '../runtime.js';

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
  /** `--flag`, `$VAR`, `<key> in <file>`, `gcloud config <property> (...)`, `default` or `not set`. */
  source: string;
}

const str = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);
const shown = (value: Sourced<string> | undefined): Setting =>
  value ? { value: value.value, source: describeSource(value.source) } : { value: null, source: 'not set' };

/** Which strategy the auto chain will pick first, without resolving anything. */
function authSetting(runtime: Runtime): { auth: Setting; impersonate: Setting } {
  const { env, agentConfig } = runtime;
  const auth = (agentConfig.raw?.auth ?? {}) as Record<string, unknown>;
  const inFile = (key: string) => `${key} in ${agentConfig.path}`;
  const keyFile = str(auth.key_file);
  const token = TOKEN_ENV_VARS.find((name) => str(env[name]));
  let setting: Setting;
  if (keyFile) setting = { value: `service-account key ${keyFile}`, source: inFile('auth.key_file') };
  else if (token) setting = { value: 'environment (access token, set)', source: `$${token}` };
  else if (str(env.GOOGLE_APPLICATION_CREDENTIALS))
    setting = {
      value: `environment (${env.GOOGLE_APPLICATION_CREDENTIALS})`,
      source: '$GOOGLE_APPLICATION_CREDENTIALS',
    };
  else setting = { value: 'auto: gcloud ADC, then workload identity (metadata server)', source: 'default' };
  const impersonate = str(auth.impersonate_service_account);
  return {
    auth: setting,
    impersonate: impersonate
      ? { value: impersonate, source: inFile('auth.impersonate_service_account') }
      : { value: null, source: 'not set' },
  };
}

/** A key of the agent config as written (a number or a string), else undefined. */
function agentKey(runtime: Runtime, key: string): string | undefined {
  const value = runtime.agentConfig.raw?.[key];
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return str(value);
}

/**
 * The agent's attempt budget and create lookup (`max_attempts`, `create_lookup_window`, `create_lookup_interval`) as
 * written in the file, else their defaults. Not validated here: `vertex-launch doctor` and the agent do that.
 */
function agentSettings(runtime: Runtime): { maxAttempts: Setting; createLookup: Setting } {
  const inFile = (keys: string[]) => `${keys.join(', ')} in ${runtime.agentConfig.path}`;
  const attempts = agentKey(runtime, 'max_attempts');
  const window = agentKey(runtime, 'create_lookup_window');
  const interval = agentKey(runtime, 'create_lookup_interval');
  const written = [window && 'create_lookup_window', interval && 'create_lookup_interval'].filter(
    (k): k is string => typeof k === 'string',
  );
  const seconds = (value: string | undefined, fallback: number) =>
    value === undefined ? formatSeconds(fallback) : /^\d+(?:\.\d+)?$/.test(value) ? `${value}s` : value;
  return {
    maxAttempts: attempts
      ? { value: attempts, source: inFile(['max_attempts']) }
      : { value: String(DEFAULT_MAX_ATTEMPTS), source: 'default' },
    createLookup: {
      value: `${seconds(window, DEFAULT_CREATE_LOOKUP_WINDOW_S)} window, every ${seconds(interval, DEFAULT_CREATE_LOOKUP_INTERVAL_S)}`,
      source:
        written.length === 0 ? 'default' : `${inFile(written)}${written.length === 1 ? ', default for the other' : ''}`,
    },
  };
}

/** The effective settings: the command runtime (files and the environment only, no credentials). */
export async function effectiveSettings(
  options: ConfigShowOptions,
  env: NodeJS.ProcessEnv,
): Promise<{ settings: Record<string, Setting>; warnings: string[] }> {
  const runtime = await commandRuntime(
    { project: options.project, region: options.region, agentConfig: options.config, db: options.db },
    env,
  );
  const warnings = [...runtime.warnings];
  const { agentConfig, endpoints } = runtime;
  if (!agentConfig.exists && agentConfig.source.kind === 'flag') {
    warnings.push(
      `${agentConfig.path} does not exist (create it with \`vertex-launch init --config ${agentConfig.path}\`)`,
    );
  }
  const emulator = endpoints.emulator;
  const settings: Record<string, Setting> = {
    project: shown(runtime.projectId),
    region: shown(runtime.region),
    agentConfig: {
      value: agentConfig.path,
      source: `${describeSource(agentConfig.source)}${agentConfig.exists ? '' : ' (does not exist)'}`,
    },
    queueDb: { value: redactStoreUrl(runtime.queueDb.value), source: describeSource(runtime.queueDb.source) },
    ...authSetting(runtime),
    ...agentSettings(runtime),
    emulator: emulator
      ? {
          value: `${emulator.httpUrl}, gRPC ${emulator.grpcHost}:${emulator.grpcPort}${emulator.registry ? `, registry ${emulator.registry}` : ''}`,
          source: describeSource(endpoints.source),
        }
      : { value: null, source: 'not set (Google Cloud)' },
  };
  return { settings, warnings };
}

const LABELS: Record<string, string> = {
  project: 'project',
  region: 'region',
  agentConfig: 'agent config',
  queueDb: 'queue db',
  auth: 'auth',
  impersonate: 'impersonate',
  maxAttempts: 'max attempts',
  createLookup: 'lookup',
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
