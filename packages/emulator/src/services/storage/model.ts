/**
 * The Cloud Storage emulator's model: buckets, the live generation of each object, and resumable upload sessions,
 * with the files that hold object data under the storage root (`<dataDir>/storage`, or a temp dir removed on close).
 * It keeps the JSON API's invariants — generations, preconditions checked atomically with the commit, data files
 * removed only once no read streams them — and knows nothing of HTTP requests (see ./routes.ts and ./resumable.ts).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceContext } from '../../context.js';
import { type BlobDigest, BlobWriter, finishDigest } from './blob.js';
import { StorageHttpError } from './http.js';
import type { ExpectedHashes } from './requests.js';
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

/** How long a resumable upload session lives (Cloud Storage: a week). */
export const SESSION_TTL_MS = 7 * 24 * 3600 * 1000;

const BUCKET_NAME = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;

/** Orders object names as Cloud Storage lists them: by their UTF-8 bytes. */
export function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

function locationTypeOf(location: string): string {
  if (['US', 'EU', 'ASIA'].includes(location)) return 'multi-region';
  if (/^[A-Z]+[0-9]+$/.test(location) && !location.includes('-')) return 'dual-region';
  return 'region';
}

/** Throws 400 unless `name` is a bucket name Cloud Storage accepts. */
export function checkBucketName(name: string): void {
  if (!BUCKET_NAME.test(name) || name.startsWith('goog') || name.includes('..')) {
    throw new StorageHttpError(
      400,
      'invalid',
      `Invalid bucket name: '${name}'. Use 3-63 lowercase letters, digits, '-', '_' and '.', starting and ending with a letter or digit.`,
    );
  }
}

/** What {@link StorageModel.createBucket} takes besides the name. */
export interface NewBucket {
  /** As the client wrote it (`us-central1`, `EU`); stored upper case. */
  location: string;
  storageClass: string;
  /** `iamConfiguration.uniformBucketLevelAccess.enabled` of the request. */
  uniformAccess?: boolean;
  labels?: Record<string, string>;
}

/** The query of an objects list (the `objects.list` parameters). */
export interface ObjectListQuery {
  prefix: string;
  delimiter: string;
  startOffset: string;
  endOffset: string;
  includeTrailingDelimiter: boolean;
  /** The raw `maxResults` parameter (null when absent). */
  maxResults: string | null;
  pageToken: string | null;
}

/** One page of an objects list. */
export interface ObjectListPage {
  items: ObjectRecord[];
  prefixes: string[];
  nextPageToken?: string;
}

/** What {@link StorageModel.commit} makes the live generation of an object. */
export interface CommitArgs {
  bucket: string;
  name: string;
  /** The finished upload, relative to the storage root; moved into place (or removed on failure). */
  tempFile: string;
  digest: BlobDigest;
  fields: ObjectWritableFields;
  expected: ExpectedHashes;
  preconditions: Preconditions;
}

/** Buckets, objects and upload sessions, and the data files under the storage root. */
export class StorageModel {
  /** The storage root (set once {@link ensureReady} resolved). */
  root = '';
  readonly buckets = new Map<string, BucketRecord>();
  readonly objects = new Map<string, Map<string, ObjectRecord>>();
  /** Resumable upload sessions by upload id (the protocol itself is ./resumable.ts). */
  readonly sessions = new Map<string, SessionRecord>();
  private temporaryRoot = false;
  private ready: Promise<void> | undefined;
  private closed = false;
  private lastGeneration = 0;
  private readonly readers = new Map<string, number>();
  private readonly pendingUnlink = new Set<string>();
  private flushing: Promise<void> = Promise.resolve();

  constructor(private readonly ctx: Pick<ServiceContext, 'dataDir' | 'now'>) {}

  // ---------------------------------------------------------------- lifecycle and persistence

  /** Creates the storage root and loads the saved state on first use; 503 once closed. */
  ensureReady(): Promise<void> {
    if (this.closed) throw new StorageHttpError(503, 'backendError', 'The Cloud Storage emulator is shut down.');
    this.ready ??= this.init();
    return this.ready;
  }

  /** Saves the state to the data dir (when there is one and the model was used). */
  async flush(): Promise<void> {
    if (!this.ctx.dataDir || !this.ready) return;
    await this.ready;
    const run = this.flushing.then(() => saveState(this.root, this.snapshot()));
    this.flushing = run.catch(() => undefined);
    await run;
  }

  /** Flushes, refuses further use and removes a temporary root. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.ctx.dataDir) await this.flush();
    this.closed = true;
    if (this.temporaryRoot && this.root) await rm(this.root, { recursive: true, force: true });
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
        s.size = (await stat(this.path(s.dataFile))).size;
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

  // ---------------------------------------------------------------- data files

  /** The absolute path of a data file (paths in records are relative to the root). */
  path(file: string): string {
    return join(this.root, file);
  }

  /** A fresh name for upload data, relative to the root. */
  newTempFile(): string {
    return join('uploads', `${randomBytes(16).toString('hex')}.part`);
  }

  /** Marks `file` as being read; a discard waits for the matching {@link release}. */
  retain(file: string): void {
    this.readers.set(file, (this.readers.get(file) ?? 0) + 1);
  }

  release(file: string): void {
    const n = (this.readers.get(file) ?? 1) - 1;
    if (n > 0) {
      this.readers.set(file, n);
      return;
    }
    this.readers.delete(file);
    if (this.pendingUnlink.delete(file)) void rm(this.path(file), { force: true });
  }

  /** Removes a data file once no read is streaming it. */
  discard(file: string): void {
    if (this.readers.has(file)) this.pendingUnlink.add(file);
    else void rm(this.path(file), { force: true });
  }

  /** Streams bytes (handed to `sink` by `write`) into a new temp file, hashing as it goes. */
  async receive(
    write: (sink: (chunk: Buffer) => Promise<void>) => Promise<void>,
  ): Promise<{ tempFile: string; digest: BlobDigest }> {
    const tempFile = this.newTempFile();
    const path = this.path(tempFile);
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

  // ---------------------------------------------------------------- buckets

  bucketOr404(name: string): BucketRecord {
    const b = this.buckets.get(name);
    if (!b) throw new StorageHttpError(404, 'notFound', `The specified bucket does not exist: gs://${name}`);
    return b;
  }

  /** The storage class objects of `bucket` report. */
  storageClassOf(bucket: string): string {
    return this.buckets.get(bucket)?.storageClass ?? 'STANDARD';
  }

  /** Buckets whose name starts with `prefix`, in name order. */
  listBuckets(prefix: string): BucketRecord[] {
    return [...this.buckets.values()]
      .filter((b) => b.name.startsWith(prefix))
      .sort((a, b) => compareNames(a.name, b.name));
  }

  /** Creates a bucket; 409 when the name is taken. */
  createBucket(name: string, spec: NewBucket): BucketRecord {
    if (this.buckets.has(name)) {
      throw new StorageHttpError(
        409,
        'conflict',
        `Your previous request to create the named bucket succeeded and you already own it: gs://${name}`,
      );
    }
    const now = isoTime(this.ctx.now());
    const upper = spec.location.toUpperCase();
    const record: BucketRecord = {
      name,
      location: upper,
      locationType: locationTypeOf(upper),
      storageClass: spec.storageClass,
      timeCreated: now,
      updated: now,
      metageneration: 1,
      uniformAccess: spec.uniformAccess === true,
    };
    if (spec.labels) record.labels = spec.labels;
    this.buckets.set(name, record);
    this.objects.set(name, new Map());
    return record;
  }

  /** Deletes an empty bucket; 404 when missing, 409 when it holds objects. */
  deleteBucket(name: string): void {
    this.bucketOr404(name);
    if ((this.objects.get(name)?.size ?? 0) > 0) {
      throw new StorageHttpError(409, 'conflict', `The bucket you tried to delete is not empty: gs://${name}`);
    }
    this.buckets.delete(name);
    this.objects.delete(name);
  }

  // ---------------------------------------------------------------- objects

  /** The live generation of `bucket/name`, or undefined. */
  object(bucket: string, name: string): ObjectRecord | undefined {
    return this.objects.get(bucket)?.get(name);
  }

  objectOr404(bucket: string, name: string): ObjectRecord {
    this.bucketOr404(bucket);
    const o = this.object(bucket, name);
    if (!o) throw new StorageHttpError(404, 'notFound', `No such object: ${bucket}/${name}`);
    return o;
  }

  /** Throws 412 `conditionNotMet` naming the first precondition `current` (undefined: absent) does not meet. */
  checkPreconditions(current: ObjectRecord | undefined, p: Preconditions, bucket: string, name: string): void {
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

  /**
   * Makes a finished upload the live generation of `bucket/name`: checks the client's expected hashes and the
   * preconditions (synchronously after the data file is in place, so concurrent commits cannot interleave).
   */
  async commit(args: CommitArgs): Promise<ObjectRecord> {
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
      await rm(this.path(args.tempFile), { force: true });
      throw err;
    }
    const dataFile = join('objects', `${randomBytes(16).toString('hex')}.bin`);
    await rename(this.path(args.tempFile), this.path(dataFile));
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

  /** Removes the live generation `o` (its data once no read streams it). */
  deleteObject(o: ObjectRecord): void {
    this.objects.get(o.bucket)?.delete(o.name);
    this.discard(o.dataFile);
  }

  /**
   * Updates the metadata of `o`: `fields` replace, `metadata` merges (null removes a key; `null` as a whole removes
   * every key), and the metageneration moves on.
   */
  patchObject(o: ObjectRecord, fields: ObjectWritableFields, metadata: unknown): void {
    const { metadata: merged, ...rest } = fields;
    Object.assign(o, rest);
    if (metadata === null) delete o.metadata;
    else if (metadata !== undefined) {
      const next = { ...(o.metadata ?? {}), ...(merged ?? {}) };
      for (const [k, v] of Object.entries(metadata as Record<string, unknown>)) if (v === null) delete next[k];
      o.metadata = next;
    }
    o.metageneration += 1;
    o.updated = isoTime(this.ctx.now());
  }

  /** One page of the objects of `bucket` (prefixes folded by `delimiter`, as `objects.list` pages them). */
  listObjects(bucket: string, q: ObjectListQuery): ObjectListPage {
    this.bucketOr404(bucket);
    const maxResults = q.maxResults === null ? 1000 : Number(q.maxResults);
    if (!Number.isInteger(maxResults) || maxResults < 1) {
      throw new StorageHttpError(400, 'invalid', `Invalid maxResults "${q.maxResults}": expected a positive integer.`);
    }
    const limit = Math.min(maxResults, 1000);
    const after = q.pageToken ? decodePageToken(q.pageToken) : undefined;
    const { prefix, delimiter, startOffset, endOffset } = q;
    const names = [...(this.objects.get(bucket)?.keys() ?? [])]
      .filter(
        (n) =>
          n.startsWith(prefix) &&
          (startOffset === '' || compareNames(n, startOffset) >= 0) &&
          (endOffset === '' || compareNames(n, endOffset) < 0),
      )
      .sort(compareNames);
    const items: ObjectRecord[] = [];
    const prefixes: string[] = [];
    let count = 0;
    let last: PagePosition | undefined;
    let more = false;
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
      const trailingItem = q.includeTrailingDelimiter && group !== undefined && name === group;
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
      const o = this.object(bucket, name);
      if (!o) continue;
      if (group === undefined && count >= limit) {
        more = true;
        break;
      }
      items.push(o);
      if (group === undefined) {
        last = { key: name, prefix: false };
        count++;
      }
    }
    const page: ObjectListPage = { items, prefixes };
    if (more && last)
      page.nextPageToken = Buffer.from(JSON.stringify({ k: last.key, p: last.prefix })).toString('base64url');
    return page;
  }

  private nextGeneration(): string {
    this.lastGeneration = Math.max(this.ctx.now() * 1000, this.lastGeneration + 1);
    return String(this.lastGeneration);
  }
}

/** Where a page ended: the last object name, or the last prefix listed. */
interface PagePosition {
  key: string;
  prefix: boolean;
}

function decodePageToken(token: string): PagePosition {
  try {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString()) as { k?: unknown; p?: unknown };
    if (typeof t.k !== 'string') throw new Error('bad token');
    return { key: t.k, prefix: t.p === true };
  } catch {
    throw new StorageHttpError(
      400,
      'invalid',
      'Invalid pageToken: pass the nextPageToken of the previous page unchanged.',
    );
  }
}
