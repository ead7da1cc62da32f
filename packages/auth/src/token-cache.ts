/**
 * A single-flight access-token cache. Tokens are refreshed before they expire (5 minutes before, or a quarter
 * of the lifetime for short-lived tokens), at most one refresh runs at a time, and a failed refresh falls back
 * to the still-valid cached token, so an agent that runs for days never sends an expired token.
 */

/** A token as a source hands it over. */
export interface FetchedToken {
  token: string;
  /** Expiry in milliseconds on the cache's clock; `undefined` when unknown (never refreshed until invalidated). */
  expiresAt: number | undefined;
}

/** Options of {@link TokenCache}. */
export interface TokenCacheOptions {
  /** Fetches a new token. Called once per refresh, never concurrently. */
  fetch: () => Promise<FetchedToken>;
  /** Clock in milliseconds since epoch. Default `Date.now`. */
  now?: () => number;
  /** Refresh this long before expiry (capped at a quarter of the token's lifetime). Default 5 minutes. */
  refreshMarginMs?: number;
  /** Never hand out a token with less than this left, even if a refresh failed. Default 10 seconds. */
  minValidityMs?: number;
}

/** Default refresh margin: 5 minutes, as google-auth-library's eager refresh. */
export const DEFAULT_REFRESH_MARGIN_MS = 5 * 60_000;

interface Entry extends FetchedToken {
  refreshAt: number;
}

/** Caches one access token and refreshes it before expiry; concurrent callers share one refresh. */
export class TokenCache {
  readonly #fetch: () => Promise<FetchedToken>;
  readonly #now: () => number;
  readonly #margin: number;
  readonly #minValidity: number;
  #entry: Entry | undefined;
  #inflight: Promise<Entry> | undefined;
  #refreshes = 0;

  constructor(options: TokenCacheOptions) {
    this.#fetch = options.fetch;
    this.#now = options.now ?? (() => Date.now());
    this.#margin = options.refreshMarginMs ?? DEFAULT_REFRESH_MARGIN_MS;
    this.#minValidity = options.minValidityMs ?? 10_000;
  }

  /** How many times the source was asked for a token. */
  get refreshCount(): number {
    return this.#refreshes;
  }

  /** Expiry of the cached token (ms on the cache clock), if any. */
  get expiresAt(): number | undefined {
    return this.#entry?.expiresAt;
  }

  /** A token valid for at least `minValidityMs`, refreshed when due. */
  async get(): Promise<FetchedToken> {
    const entry = this.#entry;
    const now = this.#now();
    if (entry && now < entry.refreshAt) return publicView(entry);
    try {
      return publicView(await this.#refresh());
    } catch (error) {
      // Refresh failed: keep serving the cached token while it is still comfortably valid.
      const current = this.#entry;
      if (current && (current.expiresAt === undefined || this.#now() < current.expiresAt - this.#minValidity)) {
        return publicView(current);
      }
      throw error;
    }
  }

  /** Drops the cached token (e.g. after the server answered 401); the next `get()` fetches a new one. */
  invalidate(): void {
    this.#entry = undefined;
  }

  #refresh(): Promise<Entry> {
    this.#inflight ??= (async () => {
      try {
        this.#refreshes += 1;
        const fetched = await this.#fetch();
        const fetchedAt = this.#now();
        const entry: Entry = { ...fetched, refreshAt: refreshAt(fetched.expiresAt, fetchedAt, this.#margin) };
        this.#entry = entry;
        return entry;
      } finally {
        this.#inflight = undefined;
      }
    })();
    return this.#inflight;
  }
}

function refreshAt(expiresAt: number | undefined, fetchedAt: number, margin: number): number {
  if (expiresAt === undefined) return Number.POSITIVE_INFINITY;
  const lifetime = Math.max(0, expiresAt - fetchedAt);
  return expiresAt - Math.min(margin, lifetime / 4);
}

function publicView(entry: Entry): FetchedToken {
  return { token: entry.token, expiresAt: entry.expiresAt };
}
