/** Small HTTP helpers shared by the Cloud Storage surface: Google JSON error bodies and bounded body reads. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type CodeName, EmulatorError } from '../../context.js';
import { GOOGLE_JSON_CONTENT_TYPE, sendJson as sendJsonAnswer } from '../../http/server.js';

/** An error with the exact HTTP status and Cloud Storage `reason` to answer with (e.g. 412 `conditionNotMet`). */
export class StorageHttpError extends Error {
  override name = 'StorageHttpError';
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

const REASON_FOR_CODE: Partial<Record<CodeName, string>> = {
  UNAUTHENTICATED: 'required',
  PERMISSION_DENIED: 'forbidden',
  NOT_FOUND: 'notFound',
  ALREADY_EXISTS: 'conflict',
  ABORTED: 'conflict',
  RESOURCE_EXHAUSTED: 'rateLimitExceeded',
  INVALID_ARGUMENT: 'invalid',
  OUT_OF_RANGE: 'invalid',
  FAILED_PRECONDITION: 'failedPrecondition',
  DEADLINE_EXCEEDED: 'deadlineExceeded',
  UNIMPLEMENTED: 'notImplemented',
};

/** Converts anything thrown while serving a request into the status/reason/message the JSON API would send. */
export function toStorageHttpError(err: unknown): StorageHttpError {
  if (err instanceof StorageHttpError) return err;
  if (err instanceof EmulatorError) {
    return new StorageHttpError(err.httpStatus, REASON_FOR_CODE[err.code] ?? 'backendError', err.message);
  }
  const detail = err instanceof Error ? err.message : String(err);
  return new StorageHttpError(500, 'backendError', `Internal error in the Cloud Storage emulator: ${detail}`);
}

/** Sends `{ error: { code, message, errors: [{ message, domain, reason }] } }` as Cloud Storage does. */
export function sendStorageError(req: IncomingMessage, res: ServerResponse, err: unknown): void {
  const e = toStorageHttpError(err);
  if (!req.readableEnded) req.resume();
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers: Record<string, string> = {};
  if (e.status === 401) headers['WWW-Authenticate'] = 'Bearer realm="https://accounts.google.com/"';
  sendJson(
    res,
    e.status,
    {
      error: {
        code: e.status,
        message: e.message,
        errors: [{ message: e.message, domain: 'global', reason: e.reason }],
      },
    },
    headers,
  );
}

/** Sends a JSON body as Cloud Storage does (`charset=UTF-8`). */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  sendJsonAnswer(res, status, body, { ...headers, 'Content-Type': GOOGLE_JSON_CONTENT_TYPE });
}

/** Reads a small request body (JSON metadata), refusing more than `limit` bytes. */
export async function readSmallBody(req: IncomingMessage, limit = 1024 * 1024): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      throw new StorageHttpError(413, 'uploadTooLarge', `Request metadata is larger than ${limit} bytes.`);
    }
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}

/** Parses a JSON object body; an empty body is `{}`. */
export function parseJsonObject(raw: Buffer | string, what: string): Record<string, unknown> {
  const text = raw.toString().trim();
  if (text === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new StorageHttpError(400, 'parseError', `${what} is not valid JSON.`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new StorageHttpError(400, 'invalid', `${what} must be a JSON object.`);
  }
  return value as Record<string, unknown>;
}
