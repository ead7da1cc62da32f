/**
 * The Cloud Storage JSON API's paths and the handlers of its bucket and object calls: each checks the IAM
 * permission, applies the injected faults around the model operation (./model.ts), and answers as Cloud Storage
 * does. Resumable uploads are ./resumable.ts.
 */
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { VERTEX_AI_REGIONS } from '@vertex-launch/core';
import type { ServiceContext } from '../../context.js';
import { parseJsonObject, readSmallBody, StorageHttpError, sendJson } from './http.js';
import { checkBucketName, type StorageModel } from './model.js';
import { multipartBoundary, readMultipartRelated } from './multipart.js';
import {
  baseUrl,
  decodePathPart,
  expectedHashes,
  header,
  parseGoogHash,
  parseRange,
  preconditionsFrom,
  validateObjectName,
  writableFields,
} from './requests.js';
import { bucketResource, hashHeader, objectResource, sendObject } from './resources.js';
import type { ResumableUploads } from './resumable.js';
import type { ObjectRecord, ObjectWritableFields } from './state.js';

/** Where Cloud Storage puts buckets: the regions, the predefined dual-regions and the multi-regions. */
const BUCKET_LOCATIONS = new Set([
  ...VERTEX_AI_REGIONS.map((r) => r.toUpperCase()),
  'US',
  'EU',
  'ASIA',
  'NAM4',
  'EUR4',
  'EUR5',
  'EUR7',
  'EUR8',
  'ASIA1',
]);

/** A request path of the JSON API, taken apart. */
export interface StorageRoute {
  api: 'storage' | 'upload' | 'download';
  bucket?: string;
  objects: boolean;
  object?: string;
}

const ROUTE = /^\/(storage|upload\/storage|download\/storage)\/v1\/b(?:\/([^/]+)(\/o(?:\/(.+))?)?)?\/?$/;

/** Parses a request path into a storage route, or undefined when the path is not Cloud Storage's. */
export function matchRoute(pathname: string): StorageRoute | undefined {
  const m = ROUTE.exec(pathname);
  if (!m) return undefined;
  const api = m[1] === 'storage' ? 'storage' : m[1] === 'upload/storage' ? 'upload' : 'download';
  const route: StorageRoute = { api, objects: m[3] !== undefined };
  if (m[2] !== undefined) route.bucket = decodePathPart(m[2], 'bucket name');
  if (m[4] !== undefined) route.object = decodePathPart(m[4], 'object name');
  return route;
}

/** The handlers of the JSON API calls, over one model. */
export class StorageRoutes {
  constructor(
    private readonly ctx: ServiceContext,
    private readonly model: StorageModel,
    private readonly uploads: ResumableUploads,
  ) {}

  /** Runs the call `route` and the method name: 405 for a method the path does not take. */
  async dispatch(route: StorageRoute, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
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
        if (method === 'PUT' || method === 'POST') return this.uploads.put(req, res, url, route.bucket);
        if (method === 'DELETE') return this.uploads.cancel(req, res, url, route.bucket);
        return notAllowed();
      }
      if (method !== 'POST') return notAllowed();
      const type = url.searchParams.get('uploadType');
      if (type === 'multipart') return this.uploadMultipart(req, res, url, route.bucket);
      if (type === 'media') return this.uploadMedia(req, res, url, route.bucket);
      if (type === 'resumable') return this.uploads.start(req, res, url, route.bucket);
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

  // ---------------------------------------------------------------- helpers

  private async authorize(req: IncomingMessage, permission: string, bucket: string): Promise<void> {
    await this.ctx.authorize(req.headers.authorization, permission, `projects/_/buckets/${bucket}`);
  }

  /** Runs one metered call: faults before, the operation, then the after-commit hook. */
  private async call<T>(method: string, fn: () => Promise<T>): Promise<T> {
    await this.ctx.beforeCall(method);
    const result = await fn();
    await this.ctx.afterCall(method);
    return result;
  }

  private sendObject(req: IncomingMessage, res: ServerResponse, o: ObjectRecord): void {
    sendObject(req, res, o, this.model.storageClassOf(o.bucket));
  }

  // ---------------------------------------------------------------- buckets

  private async listBuckets(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const project = url.searchParams.get('project') ?? this.ctx.projectId;
    await this.ctx.authorize(req.headers.authorization, 'storage.buckets.list', `projects/${project}`);
    await this.call('storage.buckets.list', async () => {
      const items = this.model
        .listBuckets(url.searchParams.get('prefix') ?? '')
        .map((b) => bucketResource(b, baseUrl(req)));
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
    checkBucketName(name);
    const location = body.location === undefined ? 'US' : body.location;
    if (typeof location !== 'string' || !BUCKET_LOCATIONS.has(location.toUpperCase())) {
      throw new StorageHttpError(
        400,
        'invalid',
        `Invalid location: ${JSON.stringify(location)}. Use a region (e.g. ${this.ctx.region.toUpperCase()}), a dual-region (NAM4, EUR4, ASIA1) or a multi-region (US, EU, ASIA).`,
      );
    }
    const iamConfiguration = (body.iamConfiguration ?? {}) as { uniformBucketLevelAccess?: { enabled?: unknown } };
    const uniformAccess = iamConfiguration.uniformBucketLevelAccess?.enabled === true;
    const storageClass = typeof body.storageClass === 'string' ? body.storageClass.toUpperCase() : 'STANDARD';
    const labels = body.labels && typeof body.labels === 'object' ? (body.labels as Record<string, string>) : undefined;
    await this.call('storage.buckets.insert', async () => {
      const record = this.model.createBucket(name, {
        location,
        storageClass,
        uniformAccess,
        ...(labels ? { labels } : {}),
      });
      sendJson(res, 200, bucketResource(record, baseUrl(req)));
    });
  }

  private async getBucket(req: IncomingMessage, res: ServerResponse, bucket: string): Promise<void> {
    await this.authorize(req, 'storage.buckets.get', bucket);
    await this.call('storage.buckets.get', async () => {
      sendJson(res, 200, bucketResource(this.model.bucketOr404(bucket), baseUrl(req)));
    });
  }

  private async deleteBucket(req: IncomingMessage, res: ServerResponse, bucket: string): Promise<void> {
    await this.authorize(req, 'storage.buckets.delete', bucket);
    await this.call('storage.buckets.delete', async () => {
      this.model.deleteBucket(bucket);
      res.writeHead(204).end();
    });
  }

  // ---------------------------------------------------------------- object reads

  private async listObjects(req: IncomingMessage, res: ServerResponse, url: URL, bucket: string): Promise<void> {
    await this.authorize(req, 'storage.objects.list', bucket);
    await this.call('storage.objects.list', async () => {
      const p = url.searchParams;
      const page = this.model.listObjects(bucket, {
        prefix: p.get('prefix') ?? '',
        delimiter: p.get('delimiter') ?? '',
        startOffset: p.get('startOffset') ?? '',
        endOffset: p.get('endOffset') ?? '',
        includeTrailingDelimiter: p.get('includeTrailingDelimiter') === 'true',
        maxResults: p.get('maxResults'),
        pageToken: p.get('pageToken'),
      });
      const base = baseUrl(req);
      const storageClass = this.model.storageClassOf(bucket);
      const body: Record<string, unknown> = { kind: 'storage#objects' };
      if (page.nextPageToken !== undefined) body.nextPageToken = page.nextPageToken;
      if (page.prefixes.length) body.prefixes = page.prefixes;
      if (page.items.length) body.items = page.items.map((o) => objectResource(o, base, storageClass));
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
    const o = this.model.objectOr404(bucket, name);
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
    this.model.checkPreconditions(o, pre, bucket, name);
    if (!media) {
      await this.ctx.afterCall('storage.objects.get');
      this.sendObject(req, res, o);
      return;
    }
    await this.streamMedia(req, res, o);
  }

  /** Answers an object's data (all of it, or the `Range` asked for) with the headers Cloud Storage sends. */
  private async streamMedia(req: IncomingMessage, res: ServerResponse, o: ObjectRecord): Promise<void> {
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
      'X-Goog-Storage-Class': this.model.storageClassOf(o.bucket),
      'X-Goog-Hash': hashHeader(o),
    };
    if (o.cacheControl) headers['Cache-Control'] = o.cacheControl;
    if (o.contentDisposition) headers['Content-Disposition'] = o.contentDisposition;
    if (o.contentLanguage) headers['Content-Language'] = o.contentLanguage;
    if (o.contentEncoding) headers['Content-Encoding'] = o.contentEncoding;
    this.model.retain(o.dataFile);
    try {
      const path = this.model.path(o.dataFile);
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
      this.model.release(o.dataFile);
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
      const o = this.model.objectOr404(bucket, name);
      const generation = url.searchParams.get('generation');
      if (generation !== null && generation !== o.generation) {
        throw new StorageHttpError(404, 'notFound', `No such object: ${bucket}/${name} at generation ${generation}.`);
      }
      this.model.checkPreconditions(o, preconditionsFrom(url.searchParams), bucket, name);
      this.model.deleteObject(o);
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
      const o = this.model.objectOr404(bucket, name);
      this.model.checkPreconditions(o, preconditionsFrom(url.searchParams), bucket, name);
      this.model.patchObject(o, writableFields(body, 'The object resource'), body.metadata);
      sendJson(res, 200, objectResource(o, baseUrl(req), this.model.storageClassOf(bucket)));
    });
  }

  private async uploadMedia(req: IncomingMessage, res: ServerResponse, url: URL, bucket: string): Promise<void> {
    const name = validateObjectName(url.searchParams.get('name'));
    await this.authorize(req, 'storage.objects.create', bucket);
    const preconditions = preconditionsFrom(url.searchParams);
    await this.call('storage.objects.insert', async () => {
      this.model.bucketOr404(bucket);
      this.model.checkPreconditions(this.model.object(bucket, name), preconditions, bucket, name);
      const { tempFile, digest } = await this.model.receive(async (sink) => {
        for await (const chunk of req as AsyncIterable<Buffer>) await sink(chunk);
      });
      const fields: ObjectWritableFields = {};
      const ct = header(req, 'content-type');
      if (ct) fields.contentType = ct;
      const record = await this.model.commit({
        bucket,
        name,
        tempFile,
        digest,
        fields,
        expected: parseGoogHash(header(req, 'x-goog-hash')),
        preconditions,
      });
      this.sendObject(req, res, record);
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
      this.model.bucketOr404(bucket);
      let parsed: Awaited<ReturnType<typeof readMultipartRelated>> | undefined;
      const { tempFile, digest } = await this.model.receive(async (sink) => {
        parsed = await readMultipartRelated(req as AsyncIterable<Buffer>, boundary, sink);
      });
      try {
        const meta = parseJsonObject(parsed!.metadata, 'The multipart metadata part');
        const name = validateObjectName(typeof meta.name === 'string' ? meta.name : url.searchParams.get('name'));
        const fields = writableFields(meta, 'The multipart metadata part');
        if (!fields.contentType && parsed!.mediaContentType) fields.contentType = parsed!.mediaContentType;
        const record = await this.model.commit({
          bucket,
          name,
          tempFile,
          digest,
          fields,
          expected: { ...expectedHashes(meta), ...parseGoogHash(header(req, 'x-goog-hash')) },
          preconditions,
        });
        this.sendObject(req, res, record);
      } catch (err) {
        await rm(this.model.path(tempFile), { force: true });
        throw err;
      }
    });
  }
}
