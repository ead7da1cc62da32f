/**
 * Options every strategy takes, and the finishing step they share: optional impersonation, then the
 * explicit `projectId`/`region` over what the source said.
 */
import type { AuthResolveContext } from '@vertex-launch/core';
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
  /** Override endpoints (token, STS, IAM Credentials, metadata...). Default: the emulator when its environment is set, else Google. */
  endpoints?: Partial<GoogleEndpoints>;
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
  for (const name of names) {
    const value = env[name]?.trim();
    if (value) return { name, value };
  }
  return undefined;
}

/** Variables that name the project, in precedence order. */
export const PROJECT_VARIABLES = ['GOOGLE_CLOUD_PROJECT', 'GCLOUD_PROJECT', 'CLOUDSDK_CORE_PROJECT'] as const;
/** Variables that name the region, in precedence order. */
export const REGION_VARIABLES = ['GOOGLE_CLOUD_REGION', 'CLOUDSDK_AI_REGION', 'CLOUDSDK_COMPUTE_REGION'] as const;
/** Variables that hold a raw access token, in precedence order. */
export const TOKEN_VARIABLES = ['GOOGLE_OAUTH_ACCESS_TOKEN', 'CLOUDSDK_AUTH_ACCESS_TOKEN'] as const;
