/** The JSON API's representations of stored records: `storage#bucket`, `storage#object` and the `X-Goog-Hash` header. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from './http.js';
import { baseUrl } from './requests.js';
import type { BucketRecord, ObjectRecord } from './state.js';

/** A bucket as `storage#bucket`, its links under `base`. */
export function bucketResource(b: BucketRecord, base: string): Record<string, unknown> {
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
    iamConfiguration: {
      uniformBucketLevelAccess: { enabled: b.uniformAccess !== false },
      publicAccessPrevention: 'enforced',
    },
    ...(b.labels ? { labels: b.labels } : {}),
  };
}

/** An object as `storage#object`, its links under `base`; `storageClass` is its bucket's. */
export function objectResource(o: ObjectRecord, base: string, storageClass: string): Record<string, unknown> {
  const enc = encodeURIComponent(o.name);
  const bucketEnc = encodeURIComponent(o.bucket);
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
  for (const key of ['cacheControl', 'contentDisposition', 'contentEncoding', 'contentLanguage', 'metadata'] as const) {
    if (o[key] !== undefined) out[key] = o[key];
  }
  return out;
}

/** `X-Goog-Hash: crc32c=...,md5=...` of an object. */
export function hashHeader(o: { crc32c: string; md5Hash: string }): string {
  return `crc32c=${o.crc32c},md5=${o.md5Hash}`;
}

/** Answers 200 with the object resource and its `X-Goog-Hash`, as uploads and metadata reads do. */
export function sendObject(req: IncomingMessage, res: ServerResponse, o: ObjectRecord, storageClass: string): void {
  sendJson(res, 200, objectResource(o, baseUrl(req), storageClass), { 'X-Goog-Hash': hashHeader(o) });
}
