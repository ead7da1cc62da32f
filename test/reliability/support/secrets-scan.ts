// The secret scanner of the reliability suite: known secrets (and the forms they take when encoded), artifacts
// grouped by kind, a minimal tar reader for build contexts and image layers, and readers for what the emulator
// stores (Cloud Storage objects, registry manifests and blobs). Artifacts are kept in memory and scanned at the end.
import { gunzipSync } from 'node:zlib';

/** A secret and the strings that betray it. */
export interface KnownSecret {
  name: string;
  needles: Buffer[];
}

/** One place a secret appeared. */
export interface SecretHit {
  secret: string;
  category: string;
  artifact: string;
  /** The needle's offset, and a few characters around it with the needle itself masked. */
  context: string;
}

/** A secret-shaped string found by pattern (a token or key the test did not know about). */
export interface PatternHit {
  pattern: string;
  category: string;
  artifact: string;
}

interface Artifact {
  category: string;
  name: string;
  data: Buffer;
  /** Also look for secret-shaped strings (text artifacts: binaries give false positives). */
  patterns: boolean;
}

/** Strings shaped like the credentials Vertex Launch handles: any of them in an artifact is a finding. */
export const SECRET_PATTERNS: ReadonlyArray<{ name: string; re: RegExp }> = [
  { name: 'OAuth access token (ya29.)', re: /ya29\.[A-Za-z0-9_.-]{20,}/ },
  { name: 'OAuth refresh token (1//)', re: /1\/\/[A-Za-z0-9_-]{20,}/ },
  { name: 'PEM private key', re: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/ },
  {
    name: 'JWT (assertion or self-signed token)',
    re: /eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{20,}/,
  },
  { name: 'emulator subject token', re: /vxl-subject-[A-Za-z0-9_-]{10,}/ },
];

/**
 * The forms a secret takes in the artifacts: itself, URL-encoded, and base64 / base64url at each of the three byte
 * alignments (so `Basic` headers, docker `auth` fields and encoded blobs are caught too).
 */
export function secretForms(value: string): string[] {
  const forms = new Set<string>([value]);
  const url = encodeURIComponent(value);
  if (url !== value) forms.add(url);
  for (let i = 0; i < 3; i++) {
    const part = Buffer.from(value.slice(i), 'utf8');
    const whole = part.subarray(0, part.length - (part.length % 3));
    if (whole.length < 15) continue;
    forms.add(whole.toString('base64'));
    forms.add(whole.toString('base64url'));
  }
  return [...forms];
}

/**
 * Needles for a PEM private key: every full line of its body, a 48-character run of the body without line breaks
 * (a re-wrapped or JSON-flattened key), and 40 bytes of the DER it encodes (a key copied in binary form).
 */
export function pemNeedles(pem: string): Buffer[] {
  const lines = pem
    .replace(/\\n/g, '\n')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('-----'));
  const body = lines.join('');
  const needles = lines.filter((l) => l.length >= 40).map((l) => Buffer.from(l));
  const mid = Math.floor(body.length / 2);
  needles.push(Buffer.from(body.slice(mid, mid + 48)));
  needles.push(Buffer.from(body, 'base64').subarray(200, 240));
  return needles;
}

/** Collects secrets and artifacts; `scan()` searches every artifact for every needle. */
export class SecretScanner {
  readonly secrets: KnownSecret[] = [];
  private readonly artifacts: Artifact[] = [];
  private readonly lineCounts = new Map<string, number>();

  /** Registers a secret by value (all its encoded forms are searched too). */
  secret(name: string, value: string | undefined): void {
    if (!value) return;
    if (this.secrets.some((s) => s.name === name)) throw new Error(`secret ${name} registered twice`);
    this.secrets.push({ name, needles: secretForms(value).map((f) => Buffer.from(f)) });
  }

  /** Registers a PEM private key (see {@link pemNeedles}). */
  privateKey(name: string, pem: string): void {
    this.secrets.push({ name, needles: pemNeedles(pem) });
  }

  /** Adds one artifact. Text is counted by lines too. */
  add(category: string, name: string, data: string | Buffer, options: { patterns?: boolean } = {}): void {
    const buffer = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    this.artifacts.push({ category, name, data: buffer, patterns: options.patterns ?? typeof data === 'string' });
    if (typeof data === 'string') {
      const lines = data.split('\n').filter((l) => l.trim() !== '').length;
      this.lineCounts.set(category, (this.lineCounts.get(category) ?? 0) + lines);
    }
  }

  /** Adds each non-empty line of `text` as its own artifact (log lines). */
  addLines(category: string, name: string, text: string): void {
    text.split('\n').forEach((line, i) => {
      if (line.trim() !== '') this.add(category, `${name}:${i + 1}`, line);
    });
  }

  /** Adds an error the way a user can see it: message, hint, stack, cause chain, inspect and JSON. */
  addError(name: string, error: unknown, inspect: (value: unknown) => string): void {
    let e: unknown = error;
    const parts: string[] = [];
    for (let depth = 0; e && depth < 6; depth++) {
      const err = e as Error & { hint?: string };
      parts.push(String(err?.message), String(err?.stack ?? ''), String(err?.hint ?? ''), inspect(err));
      try {
        parts.push(JSON.stringify(err) ?? '');
      } catch {
        /* circular */
      }
      e = (err as { cause?: unknown }).cause;
    }
    this.add('error messages', name, parts.join('\n'));
  }

  /** Per-category artifact counts (and bytes). */
  counts(): Map<string, { artifacts: number; bytes: number; lines: number }> {
    const out = new Map<string, { artifacts: number; bytes: number; lines: number }>();
    for (const a of this.artifacts) {
      const c = out.get(a.category) ?? { artifacts: 0, bytes: 0, lines: this.lineCounts.get(a.category) ?? 0 };
      c.artifacts++;
      c.bytes += a.data.length;
      out.set(a.category, c);
    }
    return out;
  }

  get artifactCount(): number {
    return this.artifacts.length;
  }

  /** Every place any needle of any secret appears, and every secret-shaped string in text artifacts. */
  scan(): { hits: SecretHit[]; patternHits: PatternHit[]; needles: number; bytes: number } {
    const hits: SecretHit[] = [];
    const patternHits: PatternHit[] = [];
    let bytes = 0;
    for (const a of this.artifacts) {
      bytes += a.data.length;
      for (const s of this.secrets) {
        for (const needle of s.needles) {
          const at = a.data.indexOf(needle);
          if (at === -1) continue;
          const before = a.data.subarray(Math.max(0, at - 40), at).toString('utf8');
          const after = a.data.subarray(at + needle.length, at + needle.length + 20).toString('utf8');
          hits.push({
            secret: s.name,
            category: a.category,
            artifact: a.name,
            context: `@${at}: ${JSON.stringify(`${before}<${s.name}>${after}`)}`,
          });
          break;
        }
      }
      if (a.patterns) {
        const text = a.data.toString('utf8');
        for (const p of SECRET_PATTERNS) {
          if (p.re.test(text)) patternHits.push({ pattern: p.name, category: a.category, artifact: a.name });
        }
      }
    }
    const needles = this.secrets.reduce((n, s) => n + s.needles.length, 0);
    return { hits, patternHits, needles, bytes };
  }
}

/** One file of a tar archive. */
export interface TarEntry {
  path: string;
  /** The tar type flag: '0' file, '5' directory, '2' symlink, ... */
  type: string;
  data: Buffer;
}

function cString(buf: Buffer, start: number, length: number): string {
  const field = buf.subarray(start, start + length);
  const nul = field.indexOf(0);
  return field.subarray(0, nul === -1 ? field.length : nul).toString('utf8');
}

function tarNumber(field: Buffer): number {
  if ((field[0] ?? 0) & 0x80) {
    // base-256 (GNU) for sizes of 8 GiB and more
    let n = 0;
    for (let i = 1; i < field.length; i++) n = n * 256 + (field[i] ?? 0);
    return n;
  }
  const text = cString(field, 0, field.length).trim();
  return text === '' ? 0 : Number.parseInt(text, 8);
}

/** Reads a tar archive (gzip-compressed or not): ustar, pax and GNU long names. */
export function readTar(archive: Buffer): TarEntry[] {
  const buf = isGzip(archive) ? gunzipSync(archive) : archive;
  const entries: TarEntry[] = [];
  let offset = 0;
  let pending: string | undefined;
  while (offset + 512 <= buf.length) {
    const header = buf.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const name = cString(header, 0, 100);
    const prefix = header.subarray(257, 263).toString('latin1').startsWith('ustar') ? cString(header, 345, 155) : '';
    const size = tarNumber(header.subarray(124, 136));
    const type = String.fromCharCode(header[156] || 0x30);
    const data = buf.subarray(offset + 512, offset + 512 + size);
    offset += 512 + Math.ceil(size / 512) * 512;
    if (type === 'x') {
      const path = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(data.toString('utf8'))?.[1];
      if (path !== undefined) pending = path;
      continue;
    }
    if (type === 'L') {
      pending = cString(data, 0, data.length);
      continue;
    }
    if (type === 'g' || type === 'K') continue;
    entries.push({ path: pending ?? (prefix ? `${prefix}/${name}` : name), type, data });
    pending = undefined;
  }
  return entries;
}

export function isGzip(buf: Buffer): boolean {
  return buf.length > 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

const MANIFEST_TYPES = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
].join(', ');

/** An image read back from the registry: its manifests, config and layer blobs. */
export interface RegistryImage {
  name: string;
  tag: string;
  manifests: { digest: string; body: Buffer }[];
  configs: { digest: string; body: Buffer }[];
  layers: { digest: string; body: Buffer }[];
}

/** Reads every tagged image of a registry over its HTTP API (catalog, tags, manifests, blobs). */
export async function readRegistry(address: string, authorization: string): Promise<RegistryImage[]> {
  const base = `http://${address}/v2`;
  const get = async (path: string, accept?: string): Promise<Response> => {
    const res = await fetch(`${base}${path}`, {
      headers: { authorization, ...(accept ? { accept } : {}) },
    });
    if (!res.ok) throw new Error(`registry GET ${path}: HTTP ${res.status} ${await res.text()}`);
    return res;
  };
  const catalog = (await (await get('/_catalog?n=1000')).json()) as { repositories?: string[] };
  const images: RegistryImage[] = [];
  const blobs = new Map<string, Buffer>();
  const blob = async (name: string, digest: string): Promise<Buffer> => {
    let body = blobs.get(digest);
    if (!body) {
      body = Buffer.from(await (await get(`/${name}/blobs/${digest}`)).arrayBuffer());
      blobs.set(digest, body);
    }
    return body;
  };
  for (const name of catalog.repositories ?? []) {
    const tags = ((await (await get(`/${name}/tags/list`)).json()) as { tags?: string[] | null }).tags ?? [];
    for (const tag of tags) {
      const image: RegistryImage = { name, tag, manifests: [], configs: [], layers: [] };
      const visit = async (reference: string): Promise<void> => {
        const res = await get(`/${name}/manifests/${reference}`, MANIFEST_TYPES);
        const body = Buffer.from(await res.arrayBuffer());
        image.manifests.push({ digest: res.headers.get('docker-content-digest') ?? reference, body });
        const manifest = JSON.parse(body.toString('utf8')) as {
          manifests?: { digest: string }[];
          config?: { digest: string };
          layers?: { digest: string }[];
        };
        for (const child of manifest.manifests ?? []) await visit(child.digest);
        if (manifest.config) {
          image.configs.push({ digest: manifest.config.digest, body: await blob(name, manifest.config.digest) });
        }
        for (const layer of manifest.layers ?? []) {
          image.layers.push({ digest: layer.digest, body: await blob(name, layer.digest) });
        }
      };
      await visit(tag);
      images.push(image);
    }
  }
  return images;
}

/** One object read back from the Cloud Storage JSON API. */
export interface StoredObject {
  bucket: string;
  name: string;
  metadata: string;
  body: Buffer;
}

/** Lists every bucket of `project` and downloads every object in it. */
export async function readStorage(httpUrl: string, project: string, token: string): Promise<StoredObject[]> {
  const headers = { authorization: `Bearer ${token}` };
  const getJson = async <T>(url: string): Promise<T> => {
    const res = await fetch(url, { headers });
    if (!res.ok) throw new Error(`storage GET ${url}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  const objects: StoredObject[] = [];
  const buckets = await getJson<{ items?: { name: string }[] }>(
    `${httpUrl}/storage/v1/b?project=${encodeURIComponent(project)}&maxResults=1000`,
  );
  for (const { name: bucket } of buckets.items ?? []) {
    let pageToken: string | undefined;
    do {
      const page = await getJson<{ items?: Record<string, unknown>[]; nextPageToken?: string }>(
        `${httpUrl}/storage/v1/b/${encodeURIComponent(bucket)}/o?maxResults=1000${pageToken ? `&pageToken=${encodeURIComponent(pageToken)}` : ''}`,
      );
      for (const item of page.items ?? []) {
        const name = String(item.name);
        const res = await fetch(
          `${httpUrl}/storage/v1/b/${encodeURIComponent(bucket)}/o/${encodeURIComponent(name)}?alt=media`,
          { headers },
        );
        if (!res.ok) throw new Error(`storage download gs://${bucket}/${name}: HTTP ${res.status}`);
        objects.push({ bucket, name, metadata: JSON.stringify(item), body: Buffer.from(await res.arrayBuffer()) });
      }
      pageToken = page.nextPageToken;
    } while (pageToken);
  }
  return objects;
}
