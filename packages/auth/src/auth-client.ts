/**
 * {@link ManagedAuthClient}: the google-auth-library `AuthClient` every strategy hands out. It owns one
 * {@link TokenCache} (refresh before expiry, one refresh in flight), retries a request once after a 401, and
 * never shows its token or the key material behind it in `JSON.stringify`, `util.inspect` or errors.
 */
import { inspect } from 'node:util';
import type { AccessTokenInfo, AuthCredentials } from '@vertex-launch/core';
import { AuthError } from '@vertex-launch/core';
import { AuthClient, type gaxios } from 'google-auth-library';
import { type FetchedToken, TokenCache } from './token-cache.js';

/** Options of {@link ManagedAuthClient}. */
export interface ManagedAuthClientOptions {
  /** Strategy name, for messages. */
  strategy: string;
  /** Human description of the source, for messages. */
  source: string;
  /** Fetches a fresh token (expiry on the `now` clock). */
  fetch: () => Promise<FetchedToken>;
  /** Clock (ms since epoch). Default `Date.now`. */
  now?: () => number;
  /** Refresh this long before expiry. Default 5 minutes. */
  refreshMarginMs?: number;
  /** Project id reported to Google clients that ask their auth client. */
  projectId?: string;
}

/** A google-auth-library `AuthClient` backed by a {@link TokenCache}. Accepted by every `@google-cloud/*` client. */
export class ManagedAuthClient extends AuthClient {
  /** Name of the strategy that made this client. */
  readonly strategy: string;
  /** Human description of the credential source. */
  readonly source: string;
  readonly #cache: TokenCache;
  readonly #now: () => number;

  constructor(options: ManagedAuthClientOptions) {
    super({ projectId: options.projectId ?? null });
    // Impersonation's generateAccessToken calls go through this client: their responses hold tokens.
    withoutResponseLogging(this);
    this.strategy = options.strategy;
    this.source = options.source;
    this.#now = options.now ?? (() => Date.now());
    this.#cache = new TokenCache({
      fetch: options.fetch,
      now: this.#now,
      ...(options.refreshMarginMs === undefined ? {} : { refreshMarginMs: options.refreshMarginMs }),
    });
  }

  /** How many tokens this client has fetched from its source. */
  get refreshCount(): number {
    return this.#cache.refreshCount;
  }

  /** A current token and its expiry. */
  async accessToken(): Promise<AccessTokenInfo> {
    const { token, expiresAt } = await this.#cache.get();
    return { token, expiresAt: expiresAt === undefined ? undefined : new Date(expiresAt) };
  }

  override async getAccessToken(): Promise<{ token: string; res: null }> {
    const { token } = await this.#cache.get();
    return { token, res: null };
  }

  override async getRequestHeaders(): Promise<Headers> {
    const { token } = await this.#cache.get();
    const headers = new Headers({ authorization: `Bearer ${token}` });
    if (this.quotaProjectId) headers.set('x-goog-user-project', this.quotaProjectId);
    return headers;
  }

  /** Sends an authorised request; after a 401 it drops the cached token and retries once. */
  override async request<T>(options: gaxios.GaxiosOptions): Promise<gaxios.GaxiosResponse<T>> {
    const send = async () => {
      const headers = new Headers(options.headers as ConstructorParameters<typeof Headers>[0]);
      (await this.getRequestHeaders()).forEach((value, key) => {
        headers.set(key, value);
      });
      return this.transporter.request<T>({ ...options, headers });
    };
    try {
      return await send();
    } catch (error) {
      if ((error as { status?: number; response?: { status?: number } }).response?.status !== 401) throw error;
      this.#cache.invalidate();
      return send();
    }
  }

  /** Drops the cached token; the next call fetches a new one. */
  invalidate(): void {
    this.#cache.invalidate();
  }

  toJSON(): Record<string, string> {
    return { type: 'ManagedAuthClient', strategy: this.strategy, source: this.source };
  }

  [inspect.custom](): string {
    return `ManagedAuthClient { strategy: '${this.strategy}', source: '${this.source}' }`;
  }
}

/** Facts about credentials, minus the client. */
export interface CredentialFacts {
  strategy: string;
  projectId: string | undefined;
  region: string | undefined;
  principal: string | undefined;
  source: string;
}

/** Credentials as strategies return them: the contract of `@vertex-launch/core` with a {@link ManagedAuthClient}. */
export type Credentials = AuthCredentials<ManagedAuthClient>;

/** Builds the credentials object for a client. Printing it (JSON or inspect) shows no secret. */
export function credentialsFor(client: ManagedAuthClient, facts: CredentialFacts): Credentials {
  return {
    strategy: facts.strategy,
    authClient: client,
    projectId: facts.projectId,
    region: facts.region,
    principal: facts.principal,
    source: facts.source,
    accessToken: () => client.accessToken(),
  };
}

/** The subset of a google-auth-library client the token source needs. */
interface LibraryClient {
  eagerRefreshThresholdMillis: number;
  credentials: { expiry_date?: number | null };
  getAccessToken(): Promise<{ token?: string | null }>;
}

/**
 * A token source backed by a google-auth-library client. The library client's own cache is switched off (it is
 * asked for a fresh token each time), so the {@link TokenCache} is the one place tokens are cached.
 * Failures become an `AuthError` whose message names the strategy and source and has every `secrets` string redacted.
 */
export function libraryTokenSource(
  client: LibraryClient,
  context: { strategy: string; source: string; secrets: readonly string[]; now?: () => number },
): () => Promise<FetchedToken> {
  client.eagerRefreshThresholdMillis = Number.MAX_SAFE_INTEGER;
  withoutResponseLogging(client);
  const now = context.now ?? (() => Date.now());
  return async () => {
    let token: string | null | undefined;
    try {
      token = (await client.getAccessToken()).token;
    } catch (error) {
      throw tokenError(context.strategy, context.source, error, context.secrets);
    }
    if (!token) {
      throw new AuthError(`[vertex-launch] [auth:${context.strategy}] ${context.source} returned no access token.`);
    }
    const expiry = client.credentials.expiry_date;
    return { token, expiresAt: typeof expiry === 'number' ? now() + (expiry - Date.now()) : undefined };
  };
}

/**
 * With `GOOGLE_SDK_NODE_LOGGING` set, google-auth-library logs the body of every response its clients receive — for a
 * token request, the access token. Clients that fetch tokens drop that response logger (request lines, which show
 * the URL and no body, stay).
 */
function withoutResponseLogging(client: unknown): void {
  const interceptors = (client as { transporter?: { interceptors?: { response?: Set<unknown> } } }).transporter
    ?.interceptors?.response;
  interceptors?.delete(AuthClient.DEFAULT_RESPONSE_INTERCEPTOR);
}

/** An `AuthError` for a failed token fetch: status and OAuth error text, secrets redacted, no raw cause. */
export function tokenError(strategy: string, source: string, error: unknown, secrets: readonly string[]): AuthError {
  const detail = redact(describeHttpError(error), secrets);
  return new AuthError(`[vertex-launch] [auth:${strategy}] Could not get an access token from ${source}: ${detail}`, {
    hint: hintFor(strategy, detail),
  });
}

function hintFor(strategy: string, detail: string): string {
  if (/invalid_grant|refresh token/i.test(detail) && strategy === 'gcloud-adc') {
    return 'The gcloud credentials were refused; run `gcloud auth application-default login` again.';
  }
  if (/ENOTFOUND|ECONNREFUSED|ENETUNREACH|ETIMEDOUT|fetch failed/i.test(detail)) {
    return 'The token endpoint is unreachable; check the network, or the emulator environment (VERTEX_LAUNCH_EMULATOR_HTTP).';
  }
  return 'Check that the credentials are current and that the principal exists; `vertex-launch auth check` shows the chosen source.';
}

/** Turns a gaxios / fetch / plain error into one line: HTTP status, OAuth error and description, or the message. */
export function describeHttpError(error: unknown): string {
  const e = error as {
    message?: string;
    status?: number;
    code?: string | number;
    response?: { status?: number; data?: unknown };
  };
  const status = e?.response?.status ?? e?.status;
  const data = e?.response?.data;
  let text: string | undefined;
  if (data && typeof data === 'object') {
    const d = data as { error?: unknown; error_description?: unknown };
    if (typeof d.error === 'string')
      text = d.error_description ? `${d.error}: ${String(d.error_description)}` : d.error;
    else if (d.error && typeof d.error === 'object') text = String((d.error as { message?: unknown }).message ?? '');
  } else if (typeof data === 'string' && data.length < 500) {
    text = data;
  }
  text ||= e?.message || String(error);
  const code = typeof e?.code === 'string' && !text.includes(e.code) ? ` (${e.code})` : '';
  return `${status ? `HTTP ${status} ` : ''}${text}${code}`.trim();
}

/** Replaces every secret (and any bearer token or PEM block) in `text` with `[redacted]`. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret && secret.length >= 8) out = out.split(secret).join('[redacted]');
  return out
    .replace(
      /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g,
      '[redacted private key]',
    )
    .replace(/\b(Bearer\s+)[\w.~+/=-]{8,}/gi, '$1[redacted]')
    .replace(/\bya29\.[\w.~+/=-]+/g, '[redacted]')
    .replace(/\b1\/\/[\w.~+/=-]{8,}/g, '[redacted]');
}
