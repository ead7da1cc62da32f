/**
 * The auth contract: an {@link AuthStrategy} is a plain object with a `name` and one `resolve()` method that
 * answers with credentials, or with `undefined` and the reason the strategy does not apply. Strategies are
 * tried in order; the first answer wins ({@link resolveAuthChain}). The implementations (workload identity,
 * service-account keys, environment, gcloud ADC) live in `@vertex-launch/auth`; core imports no Google library.
 */
import { AuthError } from './errors.js';

/**
 * The structural part of a google-auth-library `AuthClient` that Vertex Launch relies on. Every
 * `@google-cloud/*` client accepts the real class; core only needs these two methods.
 */
export interface AuthClientLike {
  getAccessToken(): Promise<{ token?: string | null }>;
  getRequestHeaders(url?: string | URL): Promise<unknown>;
}

/** An access token and when it expires. Never log the `token`. */
export interface AccessTokenInfo {
  token: string;
  /** When the token expires; `undefined` when the source does not say (a raw token from the environment). */
  expiresAt: Date | undefined;
}

/** What a strategy answers with: one credential that serves Vertex, Cloud Build, Artifact Registry, GCS and `docker push`. */
export interface AuthCredentials<Client extends AuthClientLike = AuthClientLike> {
  /** Name of the strategy that answered, e.g. `gcloud-adc`. */
  readonly strategy: string;
  /** Pass as `authClient` to any `@google-cloud/*` client. */
  readonly authClient: Client;
  /** The project id, when the source names one (explicit option, environment, key file, gcloud config, metadata). */
  readonly projectId: string | undefined;
  /** The region, when known. */
  readonly region: string | undefined;
  /** The principal (an email) the calls are made as, when known. */
  readonly principal: string | undefined;
  /** A human description of where the credentials came from, e.g. `service-account key file /keys/ci.json`. Never a secret. */
  readonly source: string;
  /** A current access token (cached, refreshed before expiry) — e.g. the password of `docker login -u oauth2accesstoken`. */
  accessToken(): Promise<AccessTokenInfo>;
}

/** The answer of {@link AuthStrategy.resolve}: credentials, or `undefined` and why the strategy does not apply. */
export type AuthResolution<Client extends AuthClientLike = AuthClientLike> =
  | { credentials: AuthCredentials<Client>; reason?: undefined }
  | { credentials: undefined; reason: string };

/** What the caller gives every strategy: where to look (environment, home directory) and where warnings go. */
export interface AuthResolveContext {
  /** The environment to read (`process.env` in production; an explicit object in tests). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The user's home directory (for `~/.config/gcloud`). */
  readonly homedir: string;
  /** Receives warnings such as "key file readable by others". Never receives secrets. */
  warn(message: string): void;
}

/**
 * One way to find credentials. `resolve()` answers `{ credentials }` when it applies, `{ credentials: undefined,
 * reason }` when it does not (nothing configured for it), and throws an `AuthError` when it applies but is
 * broken (an unreadable key file, a refused refresh token) — a broken explicit setup never falls through silently.
 */
export interface AuthStrategy<Client extends AuthClientLike = AuthClientLike> {
  /** Short kebab-case name used in messages: `[vertex-launch] [auth:<name>] ...`. */
  readonly name: string;
  resolve(context: AuthResolveContext): Promise<AuthResolution<Client>>;
}

const STRATEGY_NAME = /^[a-z][a-z0-9-]*$/;

/** Typed factory helper for strategies: checks the name and returns the strategy unchanged. */
export function defineAuthStrategy<Client extends AuthClientLike>(
  strategy: AuthStrategy<Client>,
): AuthStrategy<Client> {
  if (!STRATEGY_NAME.test(strategy.name)) {
    throw new TypeError(
      `[vertex-launch] [auth] Strategy name "${strategy.name}" must be kebab-case, e.g. "gcloud-adc".`,
    );
  }
  return strategy;
}

/** The resolution of a strategy that does not apply. */
export function declined(reason: string): { credentials: undefined; reason: string } {
  return { credentials: undefined, reason };
}

/** One strategy that declined, and why. */
export interface AuthAttempt {
  strategy: string;
  reason: string;
}

/** No strategy in the chain answered. `attempts` lists each one and why it declined. */
export class NoCredentialsError extends AuthError {
  override name = 'NoCredentialsError';
  readonly attempts: readonly AuthAttempt[];
  constructor(attempts: readonly AuthAttempt[]) {
    const lines = attempts.map((a) => `  - ${a.strategy}: ${a.reason}`);
    super(
      attempts.length === 0
        ? '[vertex-launch] [auth] No credentials found: the auth chain is empty.'
        : `[vertex-launch] [auth] No credentials found. Tried, in order:\n${lines.join('\n')}`,
      {
        hint: 'Run `gcloud auth application-default login`, set GOOGLE_APPLICATION_CREDENTIALS to a service-account key or workload-identity config file, or run on GKE/GCE with a service account attached. See docs/auth.md.',
      },
    );
    this.attempts = attempts;
  }
}

/**
 * Runs strategies in order; the first that answers wins. Throws {@link NoCredentialsError} listing every
 * strategy and its reason when none answers. An error thrown by a strategy propagates unchanged.
 */
export async function resolveAuthChain<Client extends AuthClientLike>(
  strategies: readonly AuthStrategy<Client>[],
  context: AuthResolveContext,
): Promise<AuthCredentials<Client>> {
  const attempts: AuthAttempt[] = [];
  for (const strategy of strategies) {
    const result = await strategy.resolve(context);
    if (result.credentials !== undefined) return result.credentials;
    attempts.push({ strategy: strategy.name, reason: result.reason });
  }
  throw new NoCredentialsError(attempts);
}
