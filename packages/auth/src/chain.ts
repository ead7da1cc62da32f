/**
 * The ordered credential chain: `auto()` tries explicit options, the environment, gcloud ADC and workload
 * identity in that order; the first answer wins, and when none answers one error lists every strategy and why
 * it declined. `resolveCredentials()` runs any strategy or list with the process environment by default.
 */
import { homedir as osHomedir } from 'node:os';
import {
  type AuthResolveContext,
  type AuthStrategy,
  defineAuthStrategy,
  optionsError,
  resolveAuthChain,
  unknownOptions,
} from '@vertex-launch/core';
import type { Credentials, ManagedAuthClient } from './auth-client.js';
import { type CommonStrategyOptions, firstEnv, PROJECT_VARIABLES, REGION_VARIABLES } from './strategies/common.js';
import { environment } from './strategies/environment.js';
import { gcloudAdc } from './strategies/gcloud-adc.js';
import { serviceAccountKey } from './strategies/service-account-key.js';
import { type WorkloadIdentityOptions, workloadIdentity } from './strategies/workload-identity.js';

/** Strategy name of {@link auto}. */
export const AUTO = 'auto';

/** Options of {@link auto}. */
export interface AutoOptions extends CommonStrategyOptions {
  /** Explicit service-account key file: tried first. */
  keyFile?: string;
  /** Explicit service-account key (object or JSON string): tried first. */
  credentials?: object | string;
  /** Workload identity federation config, for the last step of the chain. */
  credentialConfig?: WorkloadIdentityOptions['credentialConfig'];
  /** Replace the chain (the explicit project, region and impersonation still apply to the answer). */
  strategies?: readonly AuthStrategy<ManagedAuthClient>[];
}

/** Every option of {@link auto}. */
const AUTO_OPTIONS: readonly (keyof AutoOptions)[] = [
  'impersonate',
  'delegates',
  'endpoints',
  'scopes',
  'projectId',
  'region',
  'env',
  'homedir',
  'now',
  'refreshMarginMs',
  'keyFile',
  'credentials',
  'credentialConfig',
  'strategies',
];

/** Names other libraries use for these options (google-auth-library: `keyFilename`, `projectId`). */
const AUTO_RENAMED: Readonly<Record<string, string>> = {
  project: 'projectId',
  keyFilename: 'keyFile',
  location: 'region',
  impersonateServiceAccount: 'impersonate',
};

/** The strategies of {@link auto} for `options`, in order. */
export function autoStrategies(options: AutoOptions = {}): AuthStrategy<ManagedAuthClient>[] {
  if (options.strategies) return [...options.strategies];
  const { keyFile, credentials, credentialConfig, strategies: _, ...common } = options;
  const chain: AuthStrategy<ManagedAuthClient>[] = [];
  if (keyFile !== undefined) chain.push(serviceAccountKey({ ...common, keyFile }));
  else if (credentials !== undefined) chain.push(serviceAccountKey({ ...common, credentials }));
  chain.push(environment(common), gcloudAdc(common));
  chain.push(workloadIdentity({ ...common, ...(credentialConfig === undefined ? {} : { credentialConfig }) }));
  return chain;
}

/**
 * The default chain as one strategy: explicit key, environment, gcloud ADC, workload identity. Project and region:
 * the explicit option, else the environment (`GOOGLE_CLOUD_PROJECT`, `GOOGLE_CLOUD_REGION`...), else what the
 * winning source says. Throws `NoCredentialsError` listing each strategy's reason when none answers.
 */
export function auto(options: AutoOptions = {}): AuthStrategy<ManagedAuthClient> {
  const unknown = unknownOptions(options, AUTO_OPTIONS, AUTO_RENAMED);
  if (unknown.length > 0) throw optionsError('[vertex-launch] [auth:auto]', unknown, 'See AutoOptions of auto().');
  const strategies = autoStrategies(options);
  return defineAuthStrategy({
    name: AUTO,
    async resolve(context) {
      const env = options.env ?? context.env;
      const found = await resolveAuthChain(strategies, { ...context, env });
      const projectId = options.projectId ?? firstEnv(env, PROJECT_VARIABLES)?.value ?? found.projectId;
      const region = options.region ?? firstEnv(env, REGION_VARIABLES)?.value ?? found.region;
      if (projectId) found.authClient.projectId = projectId;
      return { credentials: { ...found, projectId, region } };
    },
  });
}

/** Options of {@link resolveCredentials}: where to look. */
export interface ResolveCredentialsOptions {
  /** Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Default `os.homedir()`. */
  homedir?: string;
  /** Receives warnings (a key file readable by others). Default: `process.emitWarning`. */
  warn?: (message: string) => void;
}

/**
 * Resolves credentials with a strategy or an ordered list (default: {@link auto}). The first answer wins; when
 * none answers, throws `NoCredentialsError` listing each strategy and why it declined.
 */
export async function resolveCredentials(
  strategies: AuthStrategy<ManagedAuthClient> | readonly AuthStrategy<ManagedAuthClient>[] = auto(),
  options: ResolveCredentialsOptions = {},
): Promise<Credentials> {
  const context: AuthResolveContext = {
    env: options.env ?? process.env,
    homedir: options.homedir ?? osHomedir(),
    warn: options.warn ?? ((message) => process.emitWarning(message, { code: 'VERTEX_LAUNCH_AUTH' })),
  };
  const list = Array.isArray(strategies) ? strategies : [strategies as AuthStrategy<ManagedAuthClient>];
  return resolveAuthChain(list, context);
}
