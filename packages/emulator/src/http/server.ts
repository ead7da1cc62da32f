/** The emulator's single plain-HTTP server on loopback, dispatching to every mounted {@link HttpService}. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EmulatorError, type HttpService } from '../context.js';

/** Reads a request body (at most `limit` bytes). */
export async function readBody(req: IncomingMessage, limit = 10 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new EmulatorError('INVALID_ARGUMENT', `Request body is larger than ${limit} bytes.`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Parses a form-urlencoded or JSON body into string fields (arrays kept for JSON). */
export async function readFields(req: IncomingMessage): Promise<Record<string, unknown>> {
  const body = (await readBody(req)).toString('utf8');
  if (body.trim() === '') return {};
  const type = req.headers['content-type'] ?? '';
  if (type.includes('application/json') || body.trimStart().startsWith('{')) {
    try {
      const parsed = JSON.parse(body);
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed;
    } catch {
      // fall through to the error below
    }
    throw new EmulatorError('INVALID_ARGUMENT', 'The request body is not a JSON object.');
  }
  return Object.fromEntries(new URLSearchParams(body));
}

/** The Content-Type Cloud Storage and Cloud Logging answer JSON with (the default here is `charset=utf-8`). */
export const GOOGLE_JSON_CONTENT_TYPE = 'application/json; charset=UTF-8';

/**
 * Sends `body` as JSON, with its Content-Type and Content-Length. `headers` are added; one named like a default (in
 * any case) replaces it. `omitBody` sends the headers only (the answer to a HEAD). The one JSON writer of every
 * surface.
 */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string | number> = {},
  options: { omitBody?: boolean } = {},
): void {
  const text = JSON.stringify(body);
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.writeHead(status);
  res.end(options.omitBody ? undefined : text);
}

/** Sends a Google JSON error body `{ error: { code, message, status } }` for an error. */
export function sendError(res: ServerResponse, error: unknown): void {
  const e =
    error instanceof EmulatorError
      ? error
      : new EmulatorError(
          'INTERNAL',
          `Internal error in the emulator: ${error instanceof Error ? error.message : String(error)}`,
        );
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, e.httpStatus, { error: { code: e.httpStatus, message: e.message, status: e.code } });
}

/** A running HTTP server. */
export interface RunningHttpServer {
  readonly port: number;
  readonly server: Server;
  stop(): Promise<void>;
}

/** Starts the HTTP server on `host:port`; services are asked in order and the first that handles a request wins. */
export async function startHttpServer(
  host: string,
  port: number,
  services: () => readonly HttpService[],
): Promise<RunningHttpServer> {
  const server = createServer((req, res) => {
    void (async () => {
      try {
        const url = new URL(req.url ?? '/', 'http://emulator.invalid');
        for (const service of services()) {
          if (await service.handle(req, res, url)) return;
        }
        throw new EmulatorError('NOT_FOUND', `The emulator serves no ${req.method} ${url.pathname}.`);
      } catch (error) {
        sendError(res, error);
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    server,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
