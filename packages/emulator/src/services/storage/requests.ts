/**
 * Reading a Cloud Storage JSON API request: headers, query parameters (preconditions, `Range`) and the writable
 * metadata fields of an object resource. Pure; every bad value is a {@link StorageHttpError} naming it.
 */
import type { IncomingMessage } from 'node:http';
import { StorageHttpError } from './http.js';
import type { ObjectWritableFields, Preconditions } from './state.js';

/** The value of a request header (the first one when repeated). */
export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** `http(s)://<Host>`: the base of the links (`selfLink`, `mediaLink`, session URIs) in the answers. */
export function baseUrl(req: IncomingMessage): string {
  const encrypted = (req.socket as { encrypted?: boolean }).encrypted === true;
  return `${encrypted ? 'https' : 'http'}://${req.headers.host ?? '127.0.0.1'}`;
}

/** Decodes a percent-encoded path segment (a bucket or object name). */
export function decodePathPart(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new StorageHttpError(400, 'invalid', `The ${what} in the request path is not valid percent-encoding.`);
  }
}

/** Client-sent hashes of an upload. */
export interface ExpectedHashes {
  crc32c?: string;
  md5Hash?: string;
}

/** `x-goog-hash: crc32c=...,md5=...` -> { crc32c, md5Hash }. */
export function parseGoogHash(value: string | undefined): ExpectedHashes {
  const out: ExpectedHashes = {};
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

/** The `crc32c` and `md5Hash` of an object resource in a request body. */
export function expectedHashes(body: Record<string, unknown>): ExpectedHashes {
  const out: ExpectedHashes = {};
  if (typeof body.crc32c === 'string') out.crc32c = body.crc32c;
  if (typeof body.md5Hash === 'string') out.md5Hash = body.md5Hash;
  return out;
}

/** The `ifGeneration[Not]Match` / `ifMetageneration[Not]Match` query parameters. */
export function preconditionsFrom(params: URLSearchParams): Preconditions {
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

/** The fields of an object resource a client may set (content headers, `metadata`); `what` names the body in errors. */
export function writableFields(body: Record<string, unknown>, what: string): ObjectWritableFields {
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

/** An object name as Cloud Storage accepts it: present, at most 1024 bytes of UTF-8, no CR or LF. */
export function validateObjectName(name: string | undefined | null): string {
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

/** Parsed `Range: bytes=...` of a media read; undefined = whole object. */
export function parseRange(
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
