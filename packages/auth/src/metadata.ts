/**
 * A small client for the GCE/GKE metadata server (`/computeMetadata/v1`, `Metadata-Flavor: Google`), talking
 * to an explicit host so tests and the emulator never depend on process-wide `GCE_METADATA_HOST`.
 */

/** A metadata server at `host` (`host[:port]`). */
export class MetadataServer {
  readonly host: string;
  readonly #timeoutMs: number;

  constructor(host: string, options: { timeoutMs?: number } = {}) {
    this.host = host;
    this.#timeoutMs = options.timeoutMs ?? 3000;
  }

  #url(path: string): string {
    return `http://${this.host}/computeMetadata/v1/${path}`;
  }

  /** GETs a metadata path; resolves to the body, or `undefined` for 404. Throws on other failures. */
  async get(path: string, timeoutMs = this.#timeoutMs): Promise<string | undefined> {
    const response = await fetch(this.#url(path), {
      headers: { 'Metadata-Flavor': 'Google' },
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = await response.text();
    if (response.status === 404) return undefined;
    if (!response.ok)
      throw Object.assign(new Error(`HTTP ${response.status} from ${this.host}: ${body.slice(0, 200)}`), {
        status: response.status,
      });
    if (response.headers.get('metadata-flavor') !== 'Google') {
      throw new Error(`${this.host} answered without "Metadata-Flavor: Google": it is not a metadata server`);
    }
    return body;
  }

  /** True when a metadata server answers at the host within `timeoutMs`. */
  async available(timeoutMs: number): Promise<boolean> {
    try {
      return (await this.get('project/project-id', timeoutMs)) !== undefined;
    } catch {
      return false;
    }
  }

  /** An access token for the attached service account. `expiresAt` is on the `now` clock. */
  async token(
    account: string,
    scopes: readonly string[],
    now: () => number,
  ): Promise<{ token: string; expiresAt: number | undefined }> {
    const query = scopes.length > 0 ? `?scopes=${encodeURIComponent(scopes.join(','))}` : '';
    const body = await this.get(`instance/service-accounts/${encodeURIComponent(account)}/token${query}`);
    if (body === undefined) throw new Error(`service account ${account} is not attached to this instance`);
    const parsed = JSON.parse(body) as { access_token?: unknown; expires_in?: unknown };
    if (typeof parsed.access_token !== 'string') throw new Error('the token response has no access_token');
    const expiresIn = typeof parsed.expires_in === 'number' ? parsed.expires_in : undefined;
    return { token: parsed.access_token, expiresAt: expiresIn === undefined ? undefined : now() + expiresIn * 1000 };
  }
}

/** `projects/123/zones/us-central1-a` -> `us-central1`. */
export function regionOfZone(zone: string | undefined): string | undefined {
  const name = zone?.trim().split('/').pop();
  const match = name ? /^([a-z]+-[a-z]+\d+)-[a-z]$/.exec(name) : null;
  return match ? match[1] : undefined;
}
