/**
 * The Cloud Storage JSON API surface of the emulator, served as Google serves it so the real
 * `@google-cloud/storage` client works unchanged:
 *
 * - `/storage/v1/b` (bucket list/insert), `/storage/v1/b/{b}` (get/delete), `/storage/v1/b/{b}/o` (list),
 *   `/storage/v1/b/{b}/o/{o}` (metadata get/patch/delete, `alt=media` reads);
 * - `/upload/storage/v1/b/{b}/o?uploadType=multipart|media|resumable` and resumable session URIs
 *   (`...&upload_id=...`: chunk PUTs answered with 308 + `Range`, status queries `Content-Range: bytes * /N`,
 *   DELETE cancels);
 * - `/download/storage/v1/b/{b}/o/{o}` media reads (with `Range`).
 *
 * Object data is streamed to files under the storage root (`<dataDir>/storage`, or a temp dir removed on
 * close) while CRC-32C and MD5 are computed; nothing holds a whole object in memory.
 *
 * Auth: every call needs a valid bearer token and the IAM permission (`storage.buckets.*`,
 * `storage.objects.*` on `projects/_/buckets/<b>`), except PUT/DELETE on a resumable session URI: as on real
 * Cloud Storage, the unguessable `upload_id` is the capability (the session-initiating POST is authorized).
 */

import type { Hash } from 'node:crypto';
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { HttpService, ServiceContext } from '../../context.js';
import { type BlobDigest, BlobWriter, finishDigest } from './blob.js';
import { parseJsonObject, readSmallBody, StorageHttpError, sendJson, sendStorageError } from './http.js';
import { multipartBoundary, readMultipartRelated } from './multipart.js';
import {
  type BucketRecord,
  loadState,
  type ObjectRecord,
  type ObjectWritableFields,
  type Preconditions,
  type SessionRecord,
  type StorageState,
  saveState,
} from './state.js';

type HashState = { size: number; crc: number; md5: Hash | undefined };

interface Route {
  api: 'storage' | 'upload' | 'download';
  bucket?: string;
  objects: boolean;
  object?: string;
}

const ROUTE = /^\/(storage|upload\/storage|download\/storage)\/v1\/b(?:\/([^/]+)(\/o(?:\/(.+))?)?)?\/?$/;
const SESSION_TTL_MS = 7 * 24 * 3600 * 1000;
const BUCKET_NAME = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;

function decode(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new StorageHttpError(400, 'invalid', `The ${what} in the request path is not valid percent-encoding.`);
  }
}

/** Parses a request path into a storage route, or undefined when the path is not Cloud Storage's. */
function matchRoute(pathname: string): Route | undefined {
  const m = ROUTE.exec(pathname);
  if (!m) return undefined;
  const api = m[1] === 'storage' ? 'storage' : m[1] === 'upload/storage' ? 'upload' : 'download';
  const route: Route = { api, objects: m[3] !== undefined };
  if (m[2] !== undefined) route.bucket = decode(m[2], 'bucket name');
  if (m[4] !== undefined) route.object = decode(m[4], 'object name');
  return route;
}

function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

function baseUrl(req: IncomingMessage): string {
  const encrypted = (req.socket as { encrypted?: boolean }).encrypted === true;
  return `${encrypted ? 'https' : 'http'}://${req.headers.host ?? '127.0.0.1'}`;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** `x-goog-hash: crc32c=...,md5=...` -> { crc32c, md5Hash }. */
function parseGoogHash(value: string | undefined): { crc32c?: string; md5Hash?: string } {
  const out: { crc32c?: string; md5Hash?: string } = {};
  if (!value) return out;
  for (const part of value.split(',')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    const key = part.slice(0, i).trim().toLowerCase();
    const val = part.slice(i + 1).trim();
    if (key === 'crc32c') out.crc32c = val;
    else if (key === 'md5') out.md5Hash = val;
  }
  return out;
}

function preconditionsFrom(params: URLSearchParams): Preconditions {
  const p: Preconditions = {};
  for (const key of [
    'ifGenerationMatch',
    'ifGenerationNotMatch',
    'ifMetagenerationMatch',
    'ifMetagenerationNotMatch',
  ] as const) {
    const v = params.get(key);
    if (v === null) continue;
    if (!/^\d+$/.test(v)) {
      throw new StorageHttpError(400, 'invalid', `Invalid value for ${key}: "${v}" (expected a non-negative integer).`);
    }
    p[key] = v;
  }
  return p;
}

function writableFields(body: Record<string, unknown>, what: string): ObjectWritableFields {
  const fields: ObjectWritableFields = {};
  for (const key of [
    'contentType',
    'cacheControl',
    'contentDisposition',
    'contentEncoding',
    'contentLanguage',
  ] as const) {
    const v = body[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string') throw new StorageHttpError(400, 'invalid', `${what}: ${key} must be a string.`);
    fields[key] = v;
  }
  if (body.metadata !== undefined && body.metadata !== null) {
    if (typeof body.metadata !== 'object' || Array.isArray(body.metadata)) {
      throw new StorageHttpError(400, 'invalid', `${what}: metadata must be an object of string values.`);
    }
    const md: Record<string, string> = {};
    for (const [k, v] of Object.entries(body.metadata as Record<string, unknown>)) {
      if (v === null || v === undefined) continue;
      md[k] = typeof v === 'string' ? v : JSON.stringify(v);
    }
    fields.metadata = md;
  }
  return fields;
}

function expectedHashes(body: Record<string, unknown>): { crc32c?: string; md5Hash?: string } {
  const out: { crc32c?: string; md5Hash?: string } = {};
  if (typeof body.crc32c === 'string') out.crc32c = body.crc32c;
  if (typeof body.md5Hash === 'string') out.md5Hash = body.md5Hash;
  return out;
}

function validateObjectName(name: string | undefined | null): string {
  if (name === undefined || name === null || name === '') {
    throw new StorageHttpError(
      400,
      'required',
      'Required: an object name (the `name` query parameter or metadata field).',
    );
  }
  if (Buffer.byteLength(name) > 1024)
    throw new StorageHttpError(400, 'invalid', 'Object names must be at most 1024 bytes of UTF-8.');
  if (/[\r\n]/.test(name))
    throw new StorageHttpError(400, 'invalid', 'Object names must not contain carriage returns or line feeds.');
  return name;
}

function locationTypeOf(location: string): string {
  if (['US', 'EU', 'ASIA'].includes(location)) return 'multi-region';
  if (/^[A-Z]+[0-9]+$/.test(location) && !location.includes('-')) return 'dual-region';
  return 'region';
}

/** Parsed `Range: bytes=...` of a media read; undefined = whole object. */
function parseRange(
  value: string | undefined,
  size: number,
): { start: number; end: number } | undefined | 'unsatisfiable' {
  if (!value) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(value.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

type ContentRange =
  | { kind: 'status'; total: number | undefined }
  | { kind: 'bytes'; start: number; end: number | undefined; total: number | undefined };

function parseContentRange(value: string | undefined): ContentRange {
  if (value === undefined) return { kind: 'bytes', start: 0, end: undefined, total: undefined };
  const v = value.trim();
  let m = /^bytes \*\/(\d+|\*)$/.exec(v);
  if (m) return { kind: 'status', total: m[1] === '*' ? undefined : Number(m[1]) };
  m = /^bytes (\d+)-(\d+|\*)\/(\d+|\*)$/.exec(v);
  if (m) {
    return {
      kind: 'bytes',
      start: Number(m[1]),
      end: m[2] === '*' ? undefined : Number(m[2]),
      total: m[3] === '*' ? undefined : Number(m[3]),
    };
  }
  throw new StorageHttpError(
    400,
    'invalid',
    `Invalid Content-Range "${value}": expected "bytes START-END/TOTAL", "bytes START-END/*" or "bytes */TOTAL".`,
  );
}

/** Creates the Cloud Storage JSON API surface (see the module comment for the paths it serves). */
export function storageService(ctx: ServiceContext): HttpService {
  return new StorageService(ctx);
}

class StorageService implements HttpService {
  readonly name = 'storage';
  private root = '';
  private temporaryRoot = false;
  private ready: Promise<void> | undefined;
  private closed = false;
  private lastGeneration = 0;
  private readonly buckets = new Map<string, BucketRecord>();
  private readonly objects = new Map<string, Map<string, ObjectRecord>>();
  private readonly sessions = new Map<string, SessionRecord>();
  private readonly sessionHashes = new Map<string, HashState>();
  private readonly sessionLocks = new Map<string, Promise<unknown>>();
  private readonly activeSessionRequests = new Map<string, IncomingMessage>();
  private readonly readers = new Map<string, number>();
  private readonly pendingUnlink = new Set<string>();
  private flushing: Promise<void> = Promise.resolve();

  constructor(private readonly ctx: ServiceContext) {}

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const route = (() => {
      try {
        return matchRoute(url.pathname);
      } catch (err) {
        return err as StorageHttpError;
      }
    })();
    if (route === undefined) return false;
    try {
      if (route instanceof StorageHttpError) throw route;
      await this.ensureReady();
      await this.dispatch(route, req, res, url);
    } catch (err) {
      sendStorageError(req, res, err);
    }
    return true;
  }

  async flush(): Promise<void> {
    if (!this.ctx.dataDir || !this.ready) return;
    await this.ready;
    const run = this.flushing.then(() => saveState(this.root, this.snapshot()));
    this.flushing = run.catch(() => undefined);
    await run;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.ctx.dataDir) await this.flush();
    this.closed = true;
    if (this.temporaryRoot && this.root) await rm(this.root, { recursive: true, force: true });
  }

  // ---------------------------------------------------------------- state

  private ensureReady(): Promise<void> {
    if (this.closed) throw new StorageHttpError(503, 'backendError', 'The Cloud Storage emulator is shut down.');
    this.ready ??= this.init();
    return this.ready;
  }

  private async init(): Promise<void> {
    if (this.ctx.dataDir) {
      this.root = join(this.ctx.dataDir, 'storage');
    } else {
      this.root = await mkdtemp(join(tmpdir(), 'vxl-emulator-storage-'));
      this.temporaryRoot = true;
    }
    await mkdir(join(this.root, 'objects'), { recursive: true, mode: 0o700 });
    await mkdir(join(this.root, 'uploads'), { recursive: true, mode: 0o700 });
    const state = this.ctx.dataDir ? await loadState(this.root) : undefined;
    if (!state) return;
    this.lastGeneration = state.lastGeneration;
    for (const b of state.buckets) {
      this.buckets.set(b.name, b);
      this.objects.set(b.name, new Map());
    }
    for (const o of state.objects) this.objects.get(o.bucket)?.set(o.name, o);
    for (const s of state.sessions) {
      if (s.committed) {
        this.sessions.set(s.id, s);
        continue;
      }
      try {
        // Bytes written after the last flush are on disk; trust the file, recompute hashes at commit.
        s.size = (await stat(join(this.root, s.dataFile))).size;
        this.sessions.set(s.id, s);
      } catch {
        /* session data lost: the client will get 404 and start a new upload */
      }
    }
  }

  private snapshot(): StorageState {
    const now = this.ctx.now();
    const sessions = [...this.sessions.values()].filter((s) => now - s.createdAt < SESSION_TTL_MS);
    return {
      version: 1,
      lastGeneration: this.lastGeneration,
      buckets: [...this.buckets.values()],
      objects: [...this.objects.values()].flatMap((m) => [...m.values()]),
      sessions,
    };
  }

  private nextGeneration(): string {
    this.lastGeneration = Math.max(this.ctx.now() * 1000, this.lastGeneration + 1);
    return String(this.lastGeneration);
  }

  private retain(file: string): void {
    this.readers.set(file, (this.readers.get(file) ?? 0) + 1);
  }

  private release(file: string): void {
    const n = (this.readers.get(file) ?? 1) - 1;
    if (n > 0) {
      this.readers.set(file, n);
      return;
    }
    this.readers.delete(file);
    if (this.pendingUnlink.delete(file)) void rm(join(this.root, file), { force: true });
  }

  /** Removes a data file once no read is streaming it. */
  private discard(file: string): void {
    if (this.readers.has(file)) this.pendingUnlink.add(file);
    else void rm(join(this.root, file), { force: true });
  }

  private newTempFile(): string {
    return join('uploads', `${randomBytes(16).toString('hex')}.part`);
  }

  private async withSessionLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.sessionLocks.get(id) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.sessionLocks.set(id, tail);
    try {
      return await run;
    } finally {
      if (this.sessionLocks.get(id) === tail) this.sessionLocks.delete(id);
    }
  }

  // ---------------------------------------------------------------- helpers

  private async authorize(req: IncomingMessage, permission: string, bucket: string): Promise<void> {
    await this.ctx.authorize(req.headers.authorization, permission, `projects/_/buckets/${bucket}`);
  }

  private bucketOr404(name: string): BucketRecord {
    const b = this.buckets.get(name);
    if (!b) throw new StorageHttpError(404, 'notFound', `The specified bucket does not exist: gs://${name}`);
    return b;
  }

  private objectOr404(bucket: string, name: string): ObjectRecord {
    this.bucketOr404(bucket);
    const o = this.objects.get(bucket)?.get(name);
    if (!o) throw new StorageHttpError(404, 'notFound', `No such object: ${bucket}/${name}`);
    return o;
  }

  private checkPreconditions(current: ObjectRecord | undefined, p: Preconditions, bucket: string, name: string): void {
    const where = `gs://${bucket}/${name}`;
    const fail = (detail: string): never => {
      throw new StorageHttpError(
        412,
        'conditionNotMet',
        `At least one of the pre-conditions you specified did not hold: ${detail}.`,
      );
    };
    if (p.ifGenerationMatch !== undefined) {
      if (p.ifGenerationMatch === '0') {
        if (current)
          fail(
            `ifGenerationMatch=0 requires that ${where} does not exist, but it has generation ${current.generation}`,
          );
      } else if (!current) {
        fail(`ifGenerationMatch=${p.ifGenerationMatch} but ${where} does not exist`);
      } else if (current.generation !== p.ifGenerationMatch) {
        fail(`ifGenerationMatch=${p.ifGenerationMatch} but ${where} is at generation ${current.generation}`);
      }
    }
    if (p.ifGenerationNotMatch !== undefined) {
      const gen = current?.generation ?? '0';
      if (gen === p.ifGenerationNotMatch)
        fail(`ifGenerationNotMatch=${p.ifGenerationNotMatch} but ${where} is at that generation`);
    }
    if (p.ifMetagenerationMatch !== undefined && String(current?.metageneration ?? 0) !== p.ifMetagenerationMatch) {
      fail(
        `ifMetagenerationMatch=${p.ifMetagenerationMatch} but ${where} is at metageneration ${current?.metageneration ?? 'none (absent)'}`,
      );
    }
    if (
      p.ifMetagenerationNotMatch !== undefined &&
      String(current?.metageneration ?? 0) === p.ifMetagenerationNotMatch
    ) {
      fail(`ifMetagenerationNotMatch=${p.ifMetagenerationNotMatch} but ${where} is at that metageneration`);
    }
  }

  private bucketResource(b: BucketRecord, base: string): Record<string, unknown> {
    return {
      kind: 'storage#bucket',
      selfLink: `${base}/storage/v1/b/${encodeURIComponent(b.name)}`,
      id: b.name,
      name: b.name,
      projectNumber: '0',
      metageneration: String(b.metageneration),
      location: b.location,
      locationType: b.locationType,
      storageClass: b.storageClass,
      etag: Buffer.from(`${b.name}:${b.metageneration}`).toString('base64'),
      timeCreated: b.timeCreated,
      updated: b.updated,
      iamConfiguration: { uniformBucketLevelAccess: { enabled: true }, publicAccessPrevention: 'enforced' },
      ...(b.labels ? { labels: b.labels } : {}),
    };
  }

  private objectResource(o: ObjectRecord, base: string): Record<string, unknown> {
    const enc = encodeURIComponent(o.name);
    const bucketEnc = encodeURIComponent(o.bucket);
    const storageClass = this.buckets.get(o.bucket)?.storageClass ?? 'STANDARD';
    const out: Record<string, unknown> = {
      kind: 'storage#object',
      id: `${o.bucket}/${o.name}/${o.generation}`,
      selfLink: `${base}/storage/v1/b/${bucketEnc}/o/${enc}`,
      mediaLink: `${base}/download/storage/v1/b/${bucketEnc}/o/${enc}?generation=${o.generation}&alt=media`,
      name: o.name,
      bucket: o.bucket,
      generation: o.generation,
      metageneration: String(o.metageneration),
      contentType: o.contentType ?? 'application/octet-stream',
      storageClass,
      size: String(o.size),
      md5Hash: o.md5Hash,
      crc32c: o.crc32c,
      etag: Buffer.from(`${o.generation}:${o.metageneration}`).toString('base64'),
      timeCreated: o.timeCreated,
      updated: o.updated,
      timeStorageClassUpdated: o.timeCreated,
    };
    for (const key of [
      'cacheControl',
      'contentDisposition',
      'contentEncoding',
      'contentLanguage',
      'metadata',
    ] as const) {
      if (o[key] !== undefined) out[key] = o[key];
    }
    return out;
  }

  private hashHeader(o: { crc32c: string; md5Hash: string }): string {
    return `crc32c=${o.crc32c},md5=${o.md5Hash}`;
  }

  /**
   * Makes a finished upload the live generation of `bucket/name`: checks the client's expected hashes and the
   * preconditions (synchronously after the data file is in place, so concurrent commits cannot interleave).
   */
  private async commit(args: {
    bucket: string;
    name: string;
    tempFile: string;
    digest: BlobDigest;
    fields: ObjectWritableFields;
    expected: { crc32c?: string; md5Hash?: string };
    preconditions: Preconditions;
  }): Promise<ObjectRecord> {
    const { bucket, name, digest, expected } = args;
    try {
      if (expected.crc32c !== undefined && expected.crc32c !== digest.crc32c) {
        throw new StorageHttpError(
          400,
          'invalid',
          `Provided CRC32C "${expected.crc32c}" doesn't match calculated CRC32C "${digest.crc32c}". The data was corrupted in transit; upload it again.`,
        );
      }
      if (expected.md5Hash !== undefined && expected.md5Hash !== digest.md5Hash) {
        throw new StorageHttpError(
          400,
          'invalid',
          `Provided MD5 hash "${expected.md5Hash}" doesn't match calculated MD5 hash "${digest.md5Hash}". The data was corrupted in transit; upload it again.`,
        );
      }
      this.bucketOr404(bucket);
    } catch (err) {
      await rm(join(this.root, args.tempFile), { force: true });
      throw err;
    }
    const dataFile = join('objects', `${randomBytes(16).toString('hex')}.bin`);
    await rename(join(this.root, args.tempFile), join(this.root, dataFile));
    // From here to the map update there is no await: precondition check and commit are atomic.
    const objects = this.objects.get(bucket);
    if (!objects) {
      this.discard(dataFile);
      throw new StorageHttpError(404, 'notFound', `The specified bucket does not exist: gs://${bucket}`);
    }
    const current = objects.get(name);
    try {
      this.checkPreconditions(current, args.preconditions, bucket, name);
    } catch (err) {
      this.discard(dataFile);
      throw err;
    }
    const now = isoTime(this.ctx.now());
    const record: ObjectRecord = {
      ...args.fields,
      bucket,
      name,
      generation: this.nextGeneration(),
      metageneration: 1,
      size: digest.size,
      crc32c: digest.crc32c,
      md5Hash: digest.md5Hash,
      timeCreated: now,
      updated: now,
      dataFile,
    };
    objects.set(name, record);
    if (current) this.discard(current.dataFile);
    return record;
  }

  // ---------------------------------------------------------------- dispatch

  private async dispatch(route: Route, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = req.method ?? 'GET';
    const notAllowed = (): never => {
      throw new StorageHttpError(405, 'methodNotAllowed', `${method} is not supported on ${url.pathname}.`);
    };
    if (route.api === 'download') {
      if (!route.bucket || route.object === undefined || method !== 'GET') return notAllowed();
      return this.getObject(req, res, url, route.bucket, route.object, true);
    }
    if (route.api === 'upload') {
      if (!route.bucket || !route.objects || route.object !== undefined) return notAllowed();
      if (url.searchParams.has('upload_id')) {
        if (method === 'PUT' || method === 'POST') return this.sessionPut(req, res, url, route.bucket);
        if (method === 'DELETE') return this.sessionCancel(req, res, url, route.bucket);
        return notAllowed();
      }
      if (method !== 'POST') return notAllowed();
      const type = url.searchParams.get('uploadType');
      if (type === 'multipart') return this.uploadMultipart(req, res, url, route.bucket);
      if (type === 'media') return this.uploadMedia(req, res, url, route.bucket);
      if (type === 'resumable') return this.startResumable(req, res, url, route.bucket);
      throw new StorageHttpError(
        400,
        'invalid',
        `Unsupported uploadType "${type ?? ''}": use multipart, media or resumable.`,
      );
    }
    if (!route.bucket) {
      if (method === 'GET') return this.listBuckets(req, res, url);
      if (method === 'POST') return this.insertBucket(req, res, url);
      return notAllowed();
    }
    if (!route.objects) {
      if (method === 'GET') return this.getBucket(req, res, route.bucket);
      if (method === 'DELETE') return this.deleteBucket(req, res, route.bucket);
      return notAllowed();
    }
    if (route.object === undefined) {
      if (method === 'GET') return this.listObjects(req, res, url, route.bucket);
      return notAllowed();
    }
    if (method === 'GET') {
      return this.getObject(req, res, url, route.bucket, route.object, url.searchParams.get('alt') === 'media');
    }
    if (method === 'DELETE') return this.deleteObject(req, res, url, route.bucket, route.object);
    if (method === 'PATCH') return this.patchObject(req, res, url, route.bucket, route.object);
    return notAllowed();
  }

  /** Runs one metered call: faults before, the operation, then the after-commit hook. */
  private async call<T>(method: string, fn: () => Promise<T>): Promise<T> {
    await this.ctx.beforeCall(method);
    const result = await fn();
    await this.ctx.afterCall(method);
    return result;
  }

  // ---------------------------------------------------------------- buckets

  private async listBuckets(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const project = url.searchParams.get('project') ?? this.ctx.projectId;
    await this.ctx.authorize(req.headers.authorization, 'storage.buckets.list', `projects/${project}`);
    await this.call('storage.buckets.list', async () => {
      const prefix = url.searchParams.get('prefix') ?? '';
      const items = [...this.buckets.values()]
        .filter((b) => b.name.startsWith(prefix))
        .sort((a, b) => compareNames(a.name, b.name))
        .map((b) => this.bucketResource(b, baseUrl(req)));
      sendJson(res, 200, { kind: 'storage#buckets', ...(items.length ? { items } : {}) });
    });
  }

  private async insertBucket(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const project = url.searchParams.get('project');
    const body = parseJsonObject(await readSmallBody(req), 'The bucket resource');
    const name = body.name;
    if (typeof name !== 'string' || name === '') {
      throw new StorageHttpError(400, 'required', 'Required: the bucket resource needs a "name".');
    }
    await this.authorize(req, 'storage.buckets.create', name);
    if (!project) throw new StorageHttpError(400, 'required', 'Required parameter: project');
    if (!BUCKET_NAME.test(name) || name.startsWith('goog') || name.includes('..')) {
      throw new StorageHttpError(
        400,
        'invalid',
        `Invalid bucket name: '${name}'. Use 3-63 lowercase letters, digits, '-', '_' and '.', starting and ending with a letter or digit.`,
      );
    }
    const location = body.location === undefined ? 'US' : body.location;
    if (typeof location !== 'string' || !/^[A-Za-z0-9-]+$/.test(location)) {
      throw new StorageHttpError(400, 'invalid', `Invalid location: ${JSON.stringify(location)}.`);
    }
    const storageClass = typeof body.storageClass === 'string' ? body.storageClass.toUpperCase() : 'STANDARD';
    await this.call('storage.buckets.insert', async () => {
      if (this.buckets.has(name)) {
        throw new StorageHttpError(
          409,
          'conflict',
          `Your previous request to create the named bucket succeeded and you already own it: gs://${name}`,
        );
      }
      const now = isoTime(this.ctx.now());
      const upper = location.toUpperCase();
      const record: BucketRecord = {
        name,
        location: upper,
        locationType: locationTypeOf(upper),
        storageClass,
        timeCreated: now,
        updated: now,
        metageneration: 1,
      };
      if (body.labels && typeof body.labels === 'object') record.labels = body.labels as Record<string, string>;
      this.buckets.set(name, record);
      this.objects.set(name, new Map());
      sendJson(res, 200, this.bucketResource(record, baseUrl(req)));
    });
  }

  private async getBucket(req: IncomingMessage, res: ServerResponse, bucket: string): Promise<void> {
    await this.authorize(req, 'storage.buckets.get', bucket);
    await this.call('storage.buckets.get', async () => {
      sendJson(res, 200, this.bucketResource(this.bucketOr404(bucket), baseUrl(req)));
    });
  }

  private async deleteBucket(req: IncomingMessage, res: ServerResponse, bucket: string): Promise<void> {
    await this.authorize(req, 'storage.buckets.delete', bucket);
    await this.call('storage.buckets.delete', async () => {
      this.bucketOr404(bucket);
      if ((this.objects.get(bucket)?.size ?? 0) > 0) {
        throw new StorageHttpError(409, 'conflict', `The bucket you tried to delete is not empty: gs://${bucket}`);
      }
      this.buckets.delete(bucket);
      this.objects.delete(bucket);
      res.writeHead(204).end();
    });
  }

  // ---------------------------------------------------------------- object reads

  private async listObjects(req: IncomingMessage, res: ServerResponse, url: URL, bucket: string): Promise<void> {
    await this.authorize(req, 'storage.objects.list', bucket);
    await this.call('storage.objects.list', async () => {
      this.bucketOr404(bucket);
      const p = url.searchParams;
      const prefix = p.get('prefix') ?? '';
      const delimiter = p.get('delimiter') ?? '';
      const startOffset = p.get('startOffset') ?? '';
      const endOffset = p.get('endOffset') ?? '';
      const includeTrailing = p.get('includeTrailingDelimiter') === 'true';
      const maxRaw = p.get('maxResults');
      const maxResults = maxRaw === null ? 1000 : Number(maxRaw);
      if (!Number.isInteger(maxResults) || maxResults < 1) {
        throw new StorageHttpError(400, 'invalid', `Invalid maxResults "${maxRaw}": expected a positive integer.`);
      }
      const limit = Math.min(maxResults, 1000);
      let after: { key: string; prefix: boolean } | undefined;
      const token = p.get('pageToken');
      if (token) {
        try {
          const t = JSON.parse(Buffer.from(token, 'base64url').toString()) as { k?: unknown; p?: unknown };
          if (typeof t.k !== 'string') throw new Error('bad token');
          after = { key: t.k, prefix: t.p === true };
        } catch {
          throw new StorageHttpError(
            400,
            'invalid',
            'Invalid pageToken: pass the nextPageToken of the previous page unchanged.',
          );
        }
      }
      const names = [...(this.objects.get(bucket)?.keys() ?? [])]
        .filter(
          (n) =>
            n.startsWith(prefix) &&
            (startOffset === '' || compareNames(n, startOffset) >= 0) &&
            (endOffset === '' || compareNames(n, endOffset) < 0),
        )
        .sort(compareNames);
      const items: Record<string, unknown>[] = [];
      const prefixes: string[] = [];
      let count = 0;
      let last: { key: string; prefix: boolean } | undefined;
      let more = false;
      const base = baseUrl(req);
      for (const name of names) {
        if (after) {
          const seen = compareNames(name, after.key) <= 0 || (after.prefix && name.startsWith(after.key));
          if (seen) continue;
        }
        let group: string | undefined;
        if (delimiter) {
          const i = name.indexOf(delimiter, prefix.length);
          if (i >= 0) group = name.slice(0, i + delimiter.length);
        }
        // With includeTrailingDelimiter, an object named exactly like its prefix is listed as an item too.
        const trailingItem = includeTrailing && group !== undefined && name === group;
        if (group !== undefined) {
          if (last?.prefix && last.key === group) {
            if (!trailingItem) continue;
          } else {
            if (count >= limit) {
              more = true;
              break;
            }
            prefixes.push(group);
            last = { key: group, prefix: true };
            count++;
            if (!trailingItem) continue;
          }
        }
        const o = this.objects.get(bucket)?.get(name);
        if (!o) continue;
        if (group === undefined && count >= limit) {
          more = true;
          break;
        }
        items.push(this.objectResource(o, base));
        if (group === undefined) {
          last = { key: name, prefix: false };
          count++;
        }
      }
      const body: Record<string, unknown> = { kind: 'storage#objects' };
      if (more && last)
        body.nextPageToken = Buffer.from(JSON.stringify({ k: last.key, p: last.prefix })).toString('base64url');
      if (prefixes.length) body.prefixes = prefixes;
      if (items.length) body.items = items;
      sendJson(res, 200, body);
    });
  }

  private async getObject(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    bucket: string,
    name: string,
    media: boolean,
  ): Promise<void> {
    await this.authorize(req, 'storage.objects.get', bucket);
    await this.ctx.beforeCall('storage.objects.get');
    const o = this.objectOr404(bucket, name);
    const generation = url.searchParams.get('generation');
    if (generation !== null && generation !== o.generation) {
      throw new StorageHttpError(
        404,
        'notFound',
        `No such object: ${bucket}/${name} at generation ${generation} (live generation is ${o.generation}; the emulator keeps no older generations).`,
      );
    }
    const pre = preconditionsFrom(url.searchParams);
    if (pre.ifGenerationNotMatch !== undefined && pre.ifGenerationNotMatch === o.generation) {
      res.writeHead(304).end();
      return;
    }
    this.checkPreconditions(o, pre, bucket, name);
    if (!media) {
      await this.ctx.afterCall('storage.objects.get');
      sendJson(res, 200, this.objectResource(o, baseUrl(req)), { 'X-Goog-Hash': this.hashHeader(o) });
      return;
    }
    const range = parseRange(header(req, 'range'), o.size);
    if (range === 'unsatisfiable') {
      res.setHeader('Content-Range', `bytes */${o.size}`);
      throw new StorageHttpError(
        416,
        'requestedRangeNotSatisfiable',
        `The requested range cannot be satisfied: object size is ${o.size} bytes.`,
      );
    }
    const headers: Record<string, string> = {
      'Content-Type': o.contentType ?? 'application/octet-stream',
      'Accept-Ranges': 'bytes',
      ETag: `"${Buffer.from(o.md5Hash, 'base64').toString('hex')}"`,
      'Last-Modified': new Date(o.updated).toUTCString(),
      'X-Goog-Generation': o.generation,
      'X-Goog-Metageneration': String(o.metageneration),
      'X-Goog-Stored-Content-Length': String(o.size),
      'X-Goog-Stored-Content-Encoding': o.contentEncoding ?? 'identity',
      'X-Goog-Storage-Class': this.buckets.get(bucket)?.storageClass ?? 'STANDARD',
      'X-Goog-Hash': this.hashHeader(o),
    };
    if (o.cacheControl) headers['Cache-Control'] = o.cacheControl;
    if (o.contentDisposition) headers['Content-Disposition'] = o.contentDisposition;
    if (o.contentLanguage) headers['Content-Language'] = o.contentLanguage;
    if (o.contentEncoding) headers['Content-Encoding'] = o.contentEncoding;
    this.retain(o.dataFile);
    try {
      const path = join(this.root, o.dataFile);
      if (range) {
        headers['Content-Range'] = `bytes ${range.start}-${range.end}/${o.size}`;
        headers['Content-Length'] = String(range.end - range.start + 1);
        res.writeHead(206, headers);
        await pipeline(createReadStream(path, { start: range.start, end: range.end }), res);
      } else {
        headers['Content-Length'] = String(o.size);
        res.writeHead(200, headers);
        await pipeline(createReadStream(path), res);
      }
      await this.ctx.afterCall('storage.objects.get');
    } catch (err) {
      if (!res.headersSent) throw err;
      res.destroy();
    } finally {
      this.release(o.dataFile);
    }
  }

  // ---------------------------------------------------------------- object writes

  private async deleteObject(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    bucket: string,
    name: string,
  ): Promise<void> {
    await this.authorize(req, 'storage.objects.delete', bucket);
    await this.call('storage.objects.delete', async () => {
      const o = this.objectOr404(bucket, name);
      const generation = url.searchParams.get('generation');
      if (generation !== null && generation !== o.generation) {
        throw new StorageHttpError(404, 'notFound', `No such object: ${bucket}/${name} at generation ${generation}.`);
      }
      this.checkPreconditions(o, preconditionsFrom(url.searchParams), bucket, name);
      this.objects.get(bucket)?.delete(name);
      this.discard(o.dataFile);
      res.writeHead(204).end();
    });
  }

  private async patchObject(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    bucket: string,
    name: string,
  ): Promise<void> {
    await this.authorize(req, 'storage.objects.update', bucket);
    const body = parseJsonObject(await readSmallBody(req), 'The object resource');
    await this.call('storage.objects.patch', async () => {
      const o = this.objectOr404(bucket, name);
      this.checkPreconditions(o, preconditionsFrom(url.searchParams), bucket, name);
      const fields = writableFields(body, 'The object resource');
      const { metadata, ...rest } = fields;
      Object.assign(o, rest);
      if (body.metadata === null) delete o.metadata;
      else if (body.metadata !== undefined) {
        const merged = { ...(o.metadata ?? {}), ...(metadata ?? {}) };
        for (const [k, v] of Object.entries(body.metadata as Record<string, unknown>)) if (v === null) delete merged[k];
        o.metadata = merged;
      }
      o.metageneration += 1;
      o.updated = isoTime(this.ctx.now());
      sendJson(res, 200, this.objectResource(o, baseUrl(req)));
    });
  }

  /** Streams a request body (or a part of it) into a new temp file, hashing as it goes. */
  private async receive(
    write: (sink: (chunk: Buffer) => Promise<void>) => Promise<void>,
  ): Promise<{ tempFile: string; digest: BlobDigest }> {
    const tempFile = this.newTempFile();
    const path = join(this.root, tempFile);
    const writer = await BlobWriter.open(path);
    try {
      await write((chunk) => writer.write(chunk));
    } catch (err) {
      await writer.close();
      await rm(path, { force: true });
      throw err;
    }
    await writer.close();
    return { tempFile, digest: await finishDigest(path, writer.state()) };
  }

  private async uploadMedia(req: IncomingMessage, res: ServerResponse, url: URL, bucket: string): Promise<void> {
    const name = validateObjectName(url.searchParams.get('name'));
    await this.authorize(req, 'storage.objects.create', bucket);
    const preconditions = preconditionsFrom(url.searchParams);
    await this.call('storage.objects.insert', async () => {
      this.bucketOr404(bucket);
      this.checkPreconditions(this.objects.get(bucket)?.get(name), preconditions, bucket, name);
      const { tempFile, digest } = await this.receive(async (sink) => {
        for await (const chunk of req as AsyncIterable<Buffer>) await sink(chunk);
      });
      const fields: ObjectWritableFields = {};
      const ct = header(req, 'content-type');
      if (ct) fields.contentType = ct;
      const record = await this.commit({
        bucket,
        name,
        tempFile,
        digest,
        fields,
        expected: parseGoogHash(header(req, 'x-goog-hash')),
        preconditions,
      });
      sendJson(res, 200, this.objectResource(record, baseUrl(req)), { 'X-Goog-Hash': this.hashHeader(record) });
    });
  }

  private async uploadMultipart(req: IncomingMessage, res: ServerResponse, url: URL, bucket: string): Promise<void> {
    await this.authorize(req, 'storage.objects.create', bucket);
    const boundary = multipartBoundary(header(req, 'content-type'));
    if (!boundary) {
      throw new StorageHttpError(
        400,
        'invalid',
        'uploadType=multipart needs Content-Type: multipart/related; boundary=...',
      );
    }
    const preconditions = preconditionsFrom(url.searchParams);
    await this.call('storage.objects.insert', async () => {
      this.bucketOr404(bucket);
      let parsed: Awaited<ReturnType<typeof readMultipartRelated>> | undefined;
      const { tempFile, digest } = await this.receive(async (sink) => {
        parsed = await readMultipartRelated(req as AsyncIterable<Buffer>, boundary, sink);
      });
      try {
        const meta = parseJsonObject(parsed!.metadata, 'The multipart metadata part');
        const name = validateObjectName(typeof meta.name === 'string' ? meta.name : url.searchParams.get('name'));
        const fields = writableFields(meta, 'The multipart metadata part');
        if (!fields.contentType && parsed!.mediaContentType) fields.contentType = parsed!.mediaContentType;
        const record = await this.commit({
          bucket,
          name,
          tempFile,
          digest,
          fields,
          expected: { ...expectedHashes(meta), ...parseGoogHash(header(req, 'x-goog-hash')) },
          preconditions,
        });
        sendJson(res, 200, this.objectResource(record, baseUrl(req)), { 'X-Goog-Hash': this.hashHeader(record) });
      } catch (err) {
        await rm(join(this.root, tempFile), { force: true });
        throw err;
      }
    });
  }

  // ---------------------------------------------------------------- resumable uploads

  private async startResumable(req: IncomingMessage, res: ServerResponse, url: URL, bucket: string): Promise<void> {
    await this.authorize(req, 'storage.objects.create', bucket);
    const body = parseJsonObject(await readSmallBody(req), 'The resumable upload metadata');
    const name = validateObjectName(
      url.searchParams.get('name') ?? (typeof body.name === 'string' ? body.name : undefined),
    );
    const preconditions = preconditionsFrom(url.searchParams);
    await this.ctx.beforeCall('storage.objects.insert');
    this.ctx.count?.('storage.uploads.sessions', 1);
    this.bucketOr404(bucket);
    // Fail fast (Cloud Storage checks again when the upload completes).
    this.checkPreconditions(this.objects.get(bucket)?.get(name), preconditions, bucket, name);
    const fields = writableFields(body, 'The resumable upload metadata');
    const uploadType = header(req, 'x-upload-content-type');
    if (uploadType) fields.contentType = uploadType;
    const declared = header(req, 'x-upload-content-length');
    const session: SessionRecord = {
      id: randomBytes(32).toString('base64url'),
      bucket,
      name,
      fields,
      expected: expectedHashes(body),
      preconditions,
      size: 0,
      createdAt: this.ctx.now(),
      dataFile: this.newTempFile(),
    };
    if (declared !== undefined && /^\d+$/.test(declared)) session.totalSize = Number(declared);
    await BlobWriter.open(join(this.root, session.dataFile)).then((w) => w.close());
    this.sessions.set(session.id, session);
    const q = new URLSearchParams({ uploadType: 'resumable', name, upload_id: session.id });
    const location = `${baseUrl(req)}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?${q.toString()}`;
    res.writeHead(200, { Location: location, 'X-GUploader-UploadID': session.id, 'Content-Length': '0' });
    res.end();
  }

  private sessionOr404(url: URL, bucket: string): SessionRecord {
    const id = url.searchParams.get('upload_id') ?? '';
    const s = this.sessions.get(id);
    if (!s || s.bucket !== bucket || this.ctx.now() - s.createdAt > SESSION_TTL_MS) {
      throw new StorageHttpError(
        404,
        'notFound',
        'No such resumable upload session: it was never created here, was cancelled, or expired. Start a new upload.',
      );
    }
    return s;
  }

  private async sessionCancel(req: IncomingMessage, res: ServerResponse, url: URL, bucket: string): Promise<void> {
    const s = this.sessionOr404(url, bucket);
    req.resume();
    this.activeSessionRequests.get(s.id)?.destroy();
    await this.withSessionLock(s.id, async () => {
      this.sessions.delete(s.id);
      this.sessionHashes.delete(s.id);
      if (!s.committed) await rm(join(this.root, s.dataFile), { force: true });
    });
    // Cloud Storage answers a cancelled session with 499 (client closed request).
    res.writeHead(499, { 'Content-Length': '0' }).end();
  }

  private send308(res: ServerResponse, s: SessionRecord): void {
    const headers: Record<string, string> = { 'Content-Length': '0', 'X-GUploader-UploadID': s.id };
    if (s.size > 0) headers.Range = `bytes=0-${s.size - 1}`;
    res.writeHead(308, headers).end();
  }

  private async sessionPut(req: IncomingMessage, res: ServerResponse, url: URL, bucket: string): Promise<void> {
    const s = this.sessionOr404(url, bucket);
    const range = parseContentRange(header(req, 'content-range'));
    // A client that lost its connection may leave a request hanging that never sends its body. A new request on
    // the session supersedes it: cut the old one (its bytes so far are kept) instead of waiting for it forever.
    this.activeSessionRequests.get(s.id)?.destroy();
    await this.withSessionLock(s.id, async () => {
      if (s.committed) {
        req.resume();
        sendJson(res, 200, this.objectResource(s.committed, baseUrl(req)), {
          'X-Goog-Hash': this.hashHeader(s.committed),
        });
        return;
      }
      if (!this.sessions.has(s.id)) {
        throw new StorageHttpError(404, 'notFound', 'The resumable upload session was cancelled. Start a new upload.');
      }
      await this.ctx.beforeCall('storage.uploads.put');
      if (range.total !== undefined) {
        if (s.totalSize !== undefined && s.totalSize !== range.total) {
          throw new StorageHttpError(
            400,
            'invalid',
            `Content-Range total ${range.total} does not match the upload's declared size ${s.totalSize}.`,
          );
        }
        s.totalSize = range.total;
      }
      let final: boolean;
      if (range.kind === 'status') {
        req.resume();
        final = s.totalSize !== undefined && s.size === s.totalSize && range.total !== undefined;
        if (!final) {
          this.send308(res, s);
          return;
        }
      } else {
        if (range.start > s.size) {
          throw new StorageHttpError(
            400,
            'invalid',
            `Content-Range starts at byte ${range.start} but the session has only ${s.size} bytes; query the upload status (Content-Range: bytes */*) and resume from there.`,
          );
        }
        const aborted = await this.appendToSession(req, s, s.size - range.start);
        if (aborted) {
          res.destroy();
          return;
        }
        if (s.totalSize !== undefined && s.size > s.totalSize) {
          throw new StorageHttpError(
            400,
            'invalid',
            `The upload has ${s.size} bytes, more than its declared size ${s.totalSize}.`,
          );
        }
        final =
          (s.totalSize !== undefined && s.size === s.totalSize) ||
          (range.end === undefined && range.total === undefined);
        if (!final) {
          // The chunk is stored: a fault `phase: 'after'` loses only the answer, so the client must ask for the offset.
          await this.ctx.afterCall('storage.uploads.put');
          this.send308(res, s);
          return;
        }
      }
      const expected = { ...s.expected, ...parseGoogHash(header(req, 'x-goog-hash')) };
      const path = join(this.root, s.dataFile);
      const digest = await finishDigest(path, this.sessionHashes.get(s.id));
      try {
        const record = await this.commit({
          bucket: s.bucket,
          name: s.name,
          tempFile: s.dataFile,
          digest,
          fields: s.fields,
          expected,
          preconditions: s.preconditions,
        });
        s.committed = record;
        this.sessionHashes.delete(s.id);
        await this.ctx.afterCall('storage.objects.insert');
        sendJson(res, 200, this.objectResource(record, baseUrl(req)), { 'X-Goog-Hash': this.hashHeader(record) });
      } catch (err) {
        // A failed completion (hash mismatch, precondition) ends the session, as on Cloud Storage.
        if (!s.committed) {
          this.sessions.delete(s.id);
          this.sessionHashes.delete(s.id);
        }
        throw err;
      }
    });
  }

  /** Appends a chunk to a session, skipping `skip` bytes it already has. Returns true when the client aborted. */
  private async appendToSession(req: IncomingMessage, s: SessionRecord, skip: number): Promise<boolean> {
    const path = join(this.root, s.dataFile);
    const carried = this.sessionHashes.get(s.id);
    const writer = await BlobWriter.open(path, carried ?? { size: s.size, crc: Number.NaN, md5: undefined });
    let remaining = skip;
    let aborted = false;
    this.activeSessionRequests.set(s.id, req);
    try {
      for await (const chunk of req as AsyncIterable<Buffer>) {
        // Every byte that crossed the wire, also those the session already had (a client that restarts).
        this.ctx.count?.('storage.uploads.bytes', chunk.length);
        let c = chunk;
        if (remaining > 0) {
          const n = Math.min(remaining, c.length);
          c = c.subarray(n);
          remaining -= n;
        }
        await writer.write(c);
      }
      if (!req.complete) aborted = true;
    } catch (err) {
      if (err instanceof StorageHttpError) throw err;
      // The client went away mid-chunk: keep what arrived, it can resume from the reported offset.
      aborted = true;
    } finally {
      if (this.activeSessionRequests.get(s.id) === req) this.activeSessionRequests.delete(s.id);
      s.size = writer.size;
      this.sessionHashes.set(s.id, writer.state());
      await writer.close();
    }
    return aborted;
  }
}
