/**
 * The resumable upload protocol of the Cloud Storage JSON API
 * (https://cloud.google.com/storage/docs/performing-resumable-uploads): a POST `uploadType=resumable` opens a session
 * and answers its URI (`Location`, carrying the `upload_id`); chunk PUTs with `Content-Range: bytes S-E/T` append and
 * are answered 308 with the `Range` stored so far; `Content-Range: bytes * /T` asks for the status; the last chunk
 * commits the object; DELETE cancels (499).
 *
 * As on Cloud Storage, the unguessable upload id is the capability: PUT and DELETE on a session URI need no token.
 * Requests on one session run one at a time, and a new request cuts a stalled one (its bytes so far are kept).
 */
import type { Hash } from 'node:crypto';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServiceContext } from '../../context.js';
import { BlobWriter, finishDigest } from './blob.js';
import { parseJsonObject, readSmallBody, StorageHttpError } from './http.js';
import { SESSION_TTL_MS, type StorageModel } from './model.js';
import {
  baseUrl,
  expectedHashes,
  header,
  parseGoogHash,
  preconditionsFrom,
  validateObjectName,
  writableFields,
} from './requests.js';
import { sendObject } from './resources.js';
import type { SessionRecord } from './state.js';

type HashState = { size: number; crc: number; md5: Hash | undefined };

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

/** The resumable upload sessions of one storage model: opening, appending, status, commit and cancel. */
export class ResumableUploads {
  /** The running hashes of each session's bytes (lost on restart: the commit then reads the file once). */
  private readonly hashes = new Map<string, HashState>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly activeRequests = new Map<string, IncomingMessage>();

  constructor(
    private readonly ctx: ServiceContext,
    private readonly model: StorageModel,
  ) {}

  /** `POST ...?uploadType=resumable`: opens a session (the caller is authorized) and answers its URI. */
  async start(req: IncomingMessage, res: ServerResponse, url: URL, bucket: string): Promise<void> {
    await this.ctx.authorize(req.headers.authorization, 'storage.objects.create', `projects/_/buckets/${bucket}`);
    const body = parseJsonObject(await readSmallBody(req), 'The resumable upload metadata');
    const name = validateObjectName(
      url.searchParams.get('name') ?? (typeof body.name === 'string' ? body.name : undefined),
    );
    const preconditions = preconditionsFrom(url.searchParams);
    await this.ctx.beforeCall('storage.objects.insert');
    this.ctx.count?.('storage.uploads.sessions', 1);
    this.model.bucketOr404(bucket);
    // Fail fast (Cloud Storage checks again when the upload completes).
    this.model.checkPreconditions(this.model.object(bucket, name), preconditions, bucket, name);
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
      dataFile: this.model.newTempFile(),
    };
    if (declared !== undefined && /^\d+$/.test(declared)) session.totalSize = Number(declared);
    await BlobWriter.open(this.model.path(session.dataFile)).then((w) => w.close());
    this.model.sessions.set(session.id, session);
    const q = new URLSearchParams({ uploadType: 'resumable', name, upload_id: session.id });
    const location = `${baseUrl(req)}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?${q.toString()}`;
    res.writeHead(200, { Location: location, 'X-GUploader-UploadID': session.id, 'Content-Length': '0' });
    res.end();
  }

  /** `DELETE` on a session URI: cancels it (499, as Cloud Storage answers a cancelled session). */
  async cancel(req: IncomingMessage, res: ServerResponse, url: URL, bucket: string): Promise<void> {
    const s = this.sessionOr404(url, bucket);
    req.resume();
    this.activeRequests.get(s.id)?.destroy();
    await this.withSessionLock(s.id, async () => {
      this.model.sessions.delete(s.id);
      this.hashes.delete(s.id);
      if (!s.committed) await rm(this.model.path(s.dataFile), { force: true });
    });
    // Cloud Storage answers a cancelled session with 499 (client closed request).
    res.writeHead(499, { 'Content-Length': '0' }).end();
  }

  /** `PUT` (or POST) on a session URI: a chunk, a status query, or the last chunk that commits the object. */
  async put(req: IncomingMessage, res: ServerResponse, url: URL, bucket: string): Promise<void> {
    const s = this.sessionOr404(url, bucket);
    const range = parseContentRange(header(req, 'content-range'));
    // A client that lost its connection may leave a request hanging that never sends its body. A new request on
    // the session supersedes it: cut the old one (its bytes so far are kept) instead of waiting for it forever.
    this.activeRequests.get(s.id)?.destroy();
    await this.withSessionLock(s.id, async () => {
      if (s.committed) {
        req.resume();
        sendObject(req, res, s.committed, this.model.storageClassOf(s.committed.bucket));
        return;
      }
      if (!this.model.sessions.has(s.id)) {
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
      const final = range.kind === 'status' ? this.statusQuery(req, s, range) : await this.chunk(req, res, s, range);
      if (final === 'aborted') return;
      if (!final) {
        // A stored chunk: a fault `phase: 'after'` loses only the answer, so the client must ask for the offset.
        if (range.kind === 'bytes') await this.ctx.afterCall('storage.uploads.put');
        this.send308(res, s);
        return;
      }
      await this.complete(req, res, s);
    });
  }

  /** A status query (`bytes * /T`): final when the session holds all `T` bytes. */
  private statusQuery(req: IncomingMessage, s: SessionRecord, range: ContentRange): boolean {
    req.resume();
    return s.totalSize !== undefined && s.size === s.totalSize && range.total !== undefined;
  }

  /** Stores a chunk; final when it completes the upload, `'aborted'` when the client went away (answered). */
  private async chunk(
    req: IncomingMessage,
    res: ServerResponse,
    s: SessionRecord,
    range: Extract<ContentRange, { kind: 'bytes' }>,
  ): Promise<boolean | 'aborted'> {
    if (range.start > s.size) {
      throw new StorageHttpError(
        400,
        'invalid',
        `Content-Range starts at byte ${range.start} but the session has only ${s.size} bytes; query the upload status (Content-Range: bytes */*) and resume from there.`,
      );
    }
    if (await this.appendToSession(req, s, s.size - range.start)) {
      res.destroy();
      return 'aborted';
    }
    if (s.totalSize !== undefined && s.size > s.totalSize) {
      throw new StorageHttpError(
        400,
        'invalid',
        `The upload has ${s.size} bytes, more than its declared size ${s.totalSize}.`,
      );
    }
    return (
      (s.totalSize !== undefined && s.size === s.totalSize) || (range.end === undefined && range.total === undefined)
    );
  }

  /** Commits the session's bytes as the object; a failed commit (hash mismatch, precondition) ends the session. */
  private async complete(req: IncomingMessage, res: ServerResponse, s: SessionRecord): Promise<void> {
    const expected = { ...s.expected, ...parseGoogHash(header(req, 'x-goog-hash')) };
    const digest = await finishDigest(this.model.path(s.dataFile), this.hashes.get(s.id));
    try {
      const record = await this.model.commit({
        bucket: s.bucket,
        name: s.name,
        tempFile: s.dataFile,
        digest,
        fields: s.fields,
        expected,
        preconditions: s.preconditions,
      });
      s.committed = record;
      this.hashes.delete(s.id);
      await this.ctx.afterCall('storage.objects.insert');
      sendObject(req, res, record, this.model.storageClassOf(record.bucket));
    } catch (err) {
      // A failed completion (hash mismatch, precondition) ends the session, as on Cloud Storage.
      if (!s.committed) {
        this.model.sessions.delete(s.id);
        this.hashes.delete(s.id);
      }
      throw err;
    }
  }

  private sessionOr404(url: URL, bucket: string): SessionRecord {
    const id = url.searchParams.get('upload_id') ?? '';
    const s = this.model.sessions.get(id);
    if (!s || s.bucket !== bucket || this.ctx.now() - s.createdAt > SESSION_TTL_MS) {
      throw new StorageHttpError(
        404,
        'notFound',
        'No such resumable upload session: it was never created here, was cancelled, or expired. Start a new upload.',
      );
    }
    return s;
  }

  private send308(res: ServerResponse, s: SessionRecord): void {
    const headers: Record<string, string> = { 'Content-Length': '0', 'X-GUploader-UploadID': s.id };
    if (s.size > 0) headers.Range = `bytes=0-${s.size - 1}`;
    res.writeHead(308, headers).end();
  }

  /** Appends a chunk to a session, skipping `skip` bytes it already has. Returns true when the client aborted. */
  private async appendToSession(req: IncomingMessage, s: SessionRecord, skip: number): Promise<boolean> {
    const carried = this.hashes.get(s.id);
    const writer = await BlobWriter.open(
      this.model.path(s.dataFile),
      carried ?? { size: s.size, crc: Number.NaN, md5: undefined },
    );
    let remaining = skip;
    let aborted = false;
    this.activeRequests.set(s.id, req);
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
      if (this.activeRequests.get(s.id) === req) this.activeRequests.delete(s.id);
      s.size = writer.size;
      this.hashes.set(s.id, writer.state());
      await writer.close();
    }
    return aborted;
  }

  private async withSessionLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(id) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.locks.set(id, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(id) === tail) this.locks.delete(id);
    }
  }
}
