/**
 * Cloud Build reads its source and writes its log through the emulator's own Cloud Storage JSON API, as the
 * build's service account: the same permission checks a user's client meets apply to the build.
 */

/** A Cloud Storage call from a build failed; `status` is the HTTP status. */
export class GcsError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function failure(res: Response, what: string): Promise<GcsError> {
  let detail = '';
  try {
    const body = (await res.json()) as { error?: { message?: string } };
    detail = body.error?.message ?? '';
  } catch {
    /* no JSON body */
  }
  return new GcsError(res.status, `${what}: HTTP ${res.status}${detail ? ` ${detail}` : ''}`);
}

/** Reads and writes objects over the emulator's HTTP endpoint with a bearer token. */
export class GcsClient {
  constructor(private readonly httpUrl: () => string) {}

  /** The object's bytes (a specific generation when given); `signal` aborts the read (a cancel or the timeout). */
  async read(
    bucket: string,
    object: string,
    token: string,
    generation?: string,
    signal?: AbortSignal,
  ): Promise<Buffer> {
    const url = new URL(`${this.httpUrl()}/storage/v1/b/${encodeURIComponent(bucket)}/o/${encodeURIComponent(object)}`);
    url.searchParams.set('alt', 'media');
    if (generation) url.searchParams.set('generation', generation);
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, ...(signal ? { signal } : {}) });
    if (!res.ok) throw await failure(res, `Cannot read gs://${bucket}/${object}`);
    return Buffer.from(await res.arrayBuffer());
  }

  /** Replaces the object with `data`. */
  async write(bucket: string, object: string, data: string, token: string): Promise<void> {
    const url = new URL(`${this.httpUrl()}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o`);
    url.searchParams.set('uploadType', 'media');
    url.searchParams.set('name', object);
    const res = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain; charset=utf-8' },
      body: data,
    });
    if (!res.ok) throw await failure(res, `Cannot write gs://${bucket}/${object}`);
    await res.arrayBuffer();
  }

  /** Creates the bucket unless it exists. */
  async ensureBucket(bucket: string, project: string, token: string): Promise<void> {
    const headers = { authorization: `Bearer ${token}` };
    const get = await fetch(`${this.httpUrl()}/storage/v1/b/${encodeURIComponent(bucket)}`, { headers });
    await get.arrayBuffer();
    if (get.ok) return;
    const res = await fetch(`${this.httpUrl()}/storage/v1/b?project=${encodeURIComponent(project)}`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ name: bucket }),
    });
    if (!res.ok && res.status !== 409) throw await failure(res, `Cannot create the logs bucket gs://${bucket}`);
    await res.arrayBuffer().catch(() => undefined);
  }
}
