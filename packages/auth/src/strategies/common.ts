/**
 * Options every strategy takes, and the finishing step they share: optional impersonation, then the
 * explicit `projectId`/`region` over what the source said.
 */
import {
  type AuthResolveContext,
  firstEnv as coreFirstEnv,
  PROJECT_ENV_VARS,
  REGION_ENV_VARS,
  type ServiceEndpoints,
  TOKEN_ENV_VARS,
} from '@vertex-launch/core';
import { type Credentials, credentialsFor, type ManagedAuthClient } from '../auth-client.js';
import { type BuildContext, CLOUD_PLATFORM_SCOPE, projectOfServiceAccount } from '../credential-file.js';
import { type GoogleEndpoints, type ResolvedEndpoints, resolveEndpoints } from '../endpoints.js';
import { checkImpersonateTarget, impersonate } from '../impersonation.js';

/** Options shared by every strategy. */
export interface CommonStrategyOptions {
  /** Act as this service account (`sa@project.iam.gserviceaccount.com`): the source credentials mint its tokens through IAM Credentials. */
  impersonate?: string;
  /** Delegation chain for impersonation (service-account emails), rarely needed. */
  delegates?: string[];
  /**
   * Where the token, STS, IAM Credentials and metadata endpoints are: a command's runtime endpoints
   * (`resolveRuntime()`), or overrides of some of them. Default: those of the environment (the emulator's when its
   * variables are set, else Google's).
   */
  endpoints?: Partial<GoogleEndpoints> | ServiceEndpoints;
  /** OAuth scopes. Default `cloud-platform`. */
  scopes?: string[];
  /** Project id to report, over what the source says. */
  projectId?: string;
  /** Region to report, over what the source says. */
  region?: string;
  /** Environment to read instead of the one the chain passes (tests, embedders). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Home directory instead of the one the chain passes. */
  homedir?: string;
  /** Clock for token expiry (ms since epoch). Default `Date.now`. */
  now?: () => number;
  /** Refresh tokens this long before they expire. Default 5 minutes (a quarter of the lifetime for short tokens). */
  refreshMarginMs?: number;
}

/** The resolved inputs of one `resolve()` call. */
export interface StrategyRun {
  strategy: string;
  env: Readonly<Record<string, string | undefined>>;
  homedir: string;
  warn: (message: string) => void;
  endpoints: ResolvedEndpoints;
  build: BuildContext;
}

/** Merges a strategy's options with the chain's context. */
export function prepare(strategy: string, options: CommonStrategyOptions, context: AuthResolveContext): StrategyRun {
  const env = options.env ?? context.env;
  const endpoints = resolveEndpoints(options.endpoints, env);
  if (options.impersonate !== undefined) checkImpersonateTarget(options.impersonate, strategy);
  return {
    strategy,
    env,
    homedir: options.homedir ?? context.homedir,
    warn: (message) => context.warn(message),
    endpoints,
    build: {
      strategy,
      endpoints,
      scopes: options.scopes && options.scopes.length > 0 ? options.scopes : [CLOUD_PLATFORM_SCOPE],
      ...(options.now ? { now: options.now } : {}),
      ...(options.refreshMarginMs === undefined ? {} : { refreshMarginMs: options.refreshMarginMs }),
    },
  };
}

/** What a strategy found before the common finishing step. */
export interface Found {
  client: ManagedAuthClient;
  source: string;
  principal: string | undefined;
  projectId: string | undefined;
  region: string | undefined;
}

/** Applies impersonation and the explicit project/region, and builds the credentials object. */
export function finish(run: StrategyRun, found: Found, options: CommonStrategyOptions): Credentials {
  let { client, source, principal } = found;
  let projectId = found.projectId;
  if (options.impersonate) {
    client = impersonate(client, options.impersonate, {
      ...run.build,
      source,
      ...(options.delegates ? { delegates: options.delegates } : {}),
    });
    source = client.source;
    principal = options.impersonate;
    projectId ??= projectOfServiceAccount(options.impersonate);
  }
  projectId = options.projectId ?? projectId;
  if (projectId) client.projectId = projectId;
  return credentialsFor(client, {
    strategy: run.strategy,
    projectId,
    region: options.region ?? found.region,
    principal,
    source,
  });
}

/** First non-empty value of the named variables, with the name it came from. */
export function firstEnv(env: Readonly<Record<string, string | undefined>>, names: readonly string[]) {
  const found = coreFirstEnv(env, names);
  return found ? { name: found.source.name, value: found.value } : undefined;
}

/** Variables that name the project, in precedence order (core's one list). */
export const PROJECT_VARIABLES = PROJECT_ENV_VARS;
/** Variables that name the region, in precedence order (core's one list). */
export const REGION_VARIABLES = REGION_ENV_VARS;
/** Variables that hold a raw access token, in precedence order (core's one list). */
export const TOKEN_VARIABLES = TOKEN_ENV_VARS;
