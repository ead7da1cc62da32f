/**
 * Service-account impersonation on top of any credentials: the source client calls IAM Credentials
 * `generateAccessToken` for the target (google-auth-library's `Impersonated`), and the result is cached like
 * any other token. The source needs `iam.serviceAccounts.getAccessToken` on the target (Token Creator role).
 */
import { ConfigError } from '@vertex-launch/core';
import { Impersonated } from 'google-auth-library';
import { libraryTokenSource, ManagedAuthClient } from './auth-client.js';
import type { GoogleEndpoints } from './endpoints.js';

/** Options of {@link impersonate}. */
export interface ImpersonateOptions {
  strategy: string;
  /** Description of the source credentials. */
  source: string;
  endpoints: GoogleEndpoints;
  scopes: readonly string[];
  delegates?: readonly string[];
  /** Token lifetime requested, in seconds. Default 3600. */
  lifetimeSeconds?: number;
  now?: () => number;
  refreshMarginMs?: number;
}

const EMAIL = /^[^@\s/:]+@[^@\s/:]+\.[^@\s/:]+$/;

/** Checks an `impersonate` option: it must be a service-account email. */
export function checkImpersonateTarget(target: unknown, strategy: string): string {
  if (typeof target !== 'string' || !EMAIL.test(target)) {
    throw new ConfigError(
      `[vertex-launch] [auth:${strategy}] Option \`impersonate\` must be a service-account email such as "launcher@my-project.iam.gserviceaccount.com", got ${JSON.stringify(target)}.`,
      [{ path: 'impersonate', message: 'must be a service-account email', severity: 'error' }],
    );
  }
  return target;
}

/** The service account named in an IAM Credentials `…/serviceAccounts/EMAIL:generateAccessToken` URL. */
export function serviceAccountFromImpersonationUrl(url: string): string | undefined {
  const match = /\/serviceAccounts\/([^/:]+):generateAccessToken$/.exec(url);
  return match ? decodeURIComponent(match[1] as string) : undefined;
}

/** A client that acts as `target`, using `source` to mint its tokens. */
export function impersonate(source: ManagedAuthClient, target: string, options: ImpersonateOptions): ManagedAuthClient {
  const impersonated = new Impersonated({
    sourceClient: source,
    targetPrincipal: target,
    targetScopes: [...options.scopes],
    delegates: [...(options.delegates ?? [])],
    lifetime: options.lifetimeSeconds ?? 3600,
    endpoint: options.endpoints.iamCredentialsUrl,
  });
  const description = `${options.source}, impersonating ${target}`;
  return new ManagedAuthClient({
    strategy: options.strategy,
    source: description,
    fetch: libraryTokenSource(impersonated, {
      strategy: options.strategy,
      source: description,
      secrets: [],
      ...(options.now ? { now: options.now } : {}),
    }),
    ...(options.now ? { now: options.now } : {}),
    ...(options.refreshMarginMs === undefined ? {} : { refreshMarginMs: options.refreshMarginMs }),
  });
}
