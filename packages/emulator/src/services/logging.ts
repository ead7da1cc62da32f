/**
 * Cloud Logging v2 REST surface of the emulator: `POST /v2/entries:list` (filter, order, pages) over the
 * shared LogStore, and `POST /v2/entries:write` so tests and other surfaces can add entries.
 *
 * Ordering is by (timestamp, insertId) — ascending by default, `orderBy: "timestamp desc"` reverses both —
 * and page tokens are keyset cursors (the last returned entry's position, not an offset), so entries appended
 * while a client pages or follows never shift or repeat a page. To follow logs, repeat `entries:list` with
 * `timestamp>="<last timestamp>"` and drop already-seen insertIds (or use
 * `timestamp>"T" OR (timestamp="T" AND insertId>"ID")`).
 *
 * Filter language subset: comparisons `field OP value` with OP in `= != > >= < <= :` (`:` = contains),
 * `AND`, `OR` (binds tighter than AND, as in Cloud Logging), `NOT`/`-`, parentheses, implicit AND between
 * terms. Fields: `logName`, `resource.type`, `resource.labels.<k>`, `labels.<k>`, `severity` (compared by
 * rank), `timestamp`/`receiveTimestamp` (RFC 3339, compared as instants), `insertId`, `textPayload`.
 */

import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type CodeName,
  EmulatorError,
  type HttpService,
  type ServiceContext,
  type StoredLogEntry,
} from '../context.js';
import { GOOGLE_JSON_CONTENT_TYPE, sendJson as sendJsonAnswer } from '../http/server.js';
import type { EmulatorService } from './contract.js';

const SEVERITY_RANK: Record<string, number> = {
  DEFAULT: 0,
  DEBUG: 100,
  INFO: 200,
  NOTICE: 300,
  WARNING: 400,
  ERROR: 500,
  CRITICAL: 600,
  ALERT: 700,
  EMERGENCY: 800,
};
const STORABLE_SEVERITIES = ['DEFAULT', 'INFO', 'WARNING', 'ERROR'] as const;
type StorableSeverity = (typeof STORABLE_SEVERITIES)[number];
const MAX_PAGE_SIZE = 1000;
const DEFAULT_PAGE_SIZE = 50;

function invalid(message: string): EmulatorError {
  return new EmulatorError('INVALID_ARGUMENT', message);
}

// ------------------------------------------------------------------ timestamps

const RFC3339 = /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;

/** An RFC 3339 timestamp as nanoseconds since the epoch (bigint), or undefined when it is not one. */
export function timestampNanos(value: string): bigint | undefined {
  const m = RFC3339.exec(value.trim());
  if (!m) return undefined;
  const zone = m[4] === 'z' ? 'Z' : m[4];
  const ms = Date.parse(`${m[1]}T${m[2]}${zone}`);
  if (Number.isNaN(ms)) return undefined;
  const frac = (m[3] ?? '').padEnd(9, '0');
  return BigInt(ms / 1000) * 1_000_000_000n + BigInt(frac);
}

// ------------------------------------------------------------------ filter language

type Op = '=' | '!=' | '>' | '>=' | '<' | '<=' | ':';
type Expr =
  | { kind: 'and' | 'or'; items: Expr[] }
  | { kind: 'not'; item: Expr }
  | { kind: 'cmp'; field: string; op: Op; value: string };

type Token = { t: 'word' | 'string' | 'op' | '(' | ')'; v: string; pos: number };

function tokenize(filter: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < filter.length) {
    const c = filter[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '(' || c === ')') {
      tokens.push({ t: c, v: c, pos: i });
      i++;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      let s = '';
      while (j < filter.length && filter[j] !== '"') {
        if (filter[j] === '\\' && j + 1 < filter.length) {
          j++;
        }
        s += filter[j];
        j++;
      }
      if (j >= filter.length) throw invalid(`Unterminated string starting at position ${i} of the filter.`);
      tokens.push({ t: 'string', v: s, pos: i });
      i = j + 1;
      continue;
    }
    const op = /^(>=|<=|!=|=|>|<|:)/.exec(filter.slice(i));
    if (op) {
      tokens.push({ t: 'op', v: op[1]!, pos: i });
      i += op[1]!.length;
      continue;
    }
    const word = /^[^\s()"=<>!:]+/.exec(filter.slice(i));
    if (!word) throw invalid(`Unexpected character "${c}" at position ${i} of the filter.`);
    tokens.push({ t: 'word', v: word[0], pos: i });
    i += word[0].length;
  }
  return tokens;
}

/** Parses the supported subset of the Logging query language. */
export function parseFilter(filter: string): Expr | undefined {
  const tokens = tokenize(filter);
  if (tokens.length === 0) return undefined;
  let k = 0;
  const peek = () => tokens[k];
  const isWord = (w: string) => peek()?.t === 'word' && peek()!.v === w;

  const parseAnd = (): Expr => {
    const items = [parseOr()];
    while (k < tokens.length && peek()!.t !== ')') {
      if (isWord('AND')) k++;
      items.push(parseOr());
    }
    return items.length === 1 ? items[0]! : { kind: 'and', items };
  };
  const parseOr = (): Expr => {
    const items = [parseUnary()];
    while (isWord('OR')) {
      k++;
      items.push(parseUnary());
    }
    return items.length === 1 ? items[0]! : { kind: 'or', items };
  };
  const parseUnary = (): Expr => {
    const tok = peek();
    if (!tok) throw invalid('The filter ends where a comparison was expected.');
    if (tok.t === 'word' && tok.v === 'NOT') {
      k++;
      return { kind: 'not', item: parseUnary() };
    }
    if (tok.t === 'word' && tok.v.startsWith('-') && tok.v.length > 1) {
      tok.v = tok.v.slice(1);
      return { kind: 'not', item: parseUnary() };
    }
    if (tok.t === '(') {
      k++;
      const e = parseAnd();
      if (peek()?.t !== ')') throw invalid(`Missing ")" for the "(" at position ${tok.pos} of the filter.`);
      k++;
      return e;
    }
    if (tok.t !== 'word')
      throw invalid(`Expected a field name at position ${tok.pos} of the filter, found "${tok.v}".`);
    k++;
    const op = peek();
    if (op?.t !== 'op') {
      throw invalid(
        `Expected a comparison after "${tok.v}" at position ${tok.pos} (global text search is not supported by the emulator; use textPayload:"...").`,
      );
    }
    k++;
    const value = peek();
    if (!value || (value.t !== 'word' && value.t !== 'string')) {
      throw invalid(`Expected a value after "${tok.v}${op.v}" at position ${op.pos} of the filter.`);
    }
    k++;
    return { kind: 'cmp', field: tok.v, op: op.v as Op, value: value.v };
  };

  const expr = parseAnd();
  if (k < tokens.length) throw invalid(`Unexpected "${tokens[k]!.v}" at position ${tokens[k]!.pos} of the filter.`);
  return expr;
}

function fieldValue(e: StoredLogEntry, field: string): string | undefined {
  switch (field) {
    case 'logName':
      return e.logName;
    case 'resource.type':
      return e.resource.type;
    case 'severity':
      return e.severity;
    case 'timestamp':
      return e.timestamp;
    case 'receiveTimestamp':
      return e.receiveTimestamp;
    case 'insertId':
      return e.insertId;
    case 'textPayload':
      return e.textPayload;
  }
  if (field.startsWith('resource.labels.')) return e.resource.labels[field.slice('resource.labels.'.length)];
  if (field.startsWith('labels.')) return e.labels?.[field.slice('labels.'.length)];
  return undefined;
}

function compare(op: Op, a: bigint | number | string, b: bigint | number | string): boolean {
  switch (op) {
    case '=':
      return a === b;
    case '!=':
      return a !== b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case ':':
      return String(a).toLowerCase().includes(String(b).toLowerCase());
  }
}

function matches(expr: Expr | undefined, e: StoredLogEntry): boolean {
  if (!expr) return true;
  switch (expr.kind) {
    case 'and':
      return expr.items.every((x) => matches(x, e));
    case 'or':
      return expr.items.some((x) => matches(x, e));
    case 'not':
      return !matches(expr.item, e);
    case 'cmp': {
      const actual = fieldValue(e, expr.field);
      if (actual === undefined) return expr.op === '!=';
      if (expr.field === 'severity' && expr.op !== ':') {
        const want =
          SEVERITY_RANK[expr.value.toUpperCase()] ?? (/^\d+$/.test(expr.value) ? Number(expr.value) : undefined);
        if (want === undefined) throw invalid(`Unknown severity "${expr.value}" in the filter.`);
        return compare(expr.op, SEVERITY_RANK[actual] ?? 0, want);
      }
      if ((expr.field === 'timestamp' || expr.field === 'receiveTimestamp') && expr.op !== ':') {
        const want = timestampNanos(expr.value);
        if (want === undefined) {
          throw invalid(`"${expr.value}" is not an RFC 3339 timestamp (e.g. 2026-01-31T12:00:00Z) in the filter.`);
        }
        return compare(expr.op, timestampNanos(actual) ?? 0n, want);
      }
      if (expr.field === 'logName' && expr.op === '=') {
        // Cloud Logging compares log names with the log id URL-encoded; accept either spelling.
        return actual === expr.value || decodeURIComponentSafe(actual) === decodeURIComponentSafe(expr.value);
      }
      return compare(expr.op, actual, expr.value);
    }
  }
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Validates field names up front so a typo is an error, not an empty result. */
function checkFields(expr: Expr | undefined): void {
  if (!expr) return;
  if (expr.kind === 'not') {
    checkFields(expr.item);
    return;
  }
  if (expr.kind !== 'cmp') {
    expr.items.forEach(checkFields);
    return;
  }
  const known =
    ['logName', 'resource.type', 'severity', 'timestamp', 'receiveTimestamp', 'insertId', 'textPayload'].includes(
      expr.field,
    ) ||
    expr.field.startsWith('resource.labels.') ||
    expr.field.startsWith('labels.');
  if (!known) {
    throw invalid(
      `The emulator does not support filtering on "${expr.field}". Supported: logName, resource.type, resource.labels.*, labels.*, severity, timestamp, receiveTimestamp, insertId, textPayload.`,
    );
  }
}

// ------------------------------------------------------------------ HTTP plumbing

const STATUS_NAME: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  405: 'UNIMPLEMENTED',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  sendJsonAnswer(res, status, body, { 'Content-Type': GOOGLE_JSON_CONTENT_TYPE });
}

function sendError(req: IncomingMessage, res: ServerResponse, err: unknown): void {
  if (!req.readableEnded) req.resume();
  let code: CodeName = 'INTERNAL';
  let status = 500;
  let message = `Internal error in the Cloud Logging emulator: ${err instanceof Error ? err.message : String(err)}`;
  if (err instanceof EmulatorError) {
    code = err.code;
    status = err.httpStatus;
    message = err.message;
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, status, {
    error: { code: status, message, status: code === 'INTERNAL' ? (STATUS_NAME[status] ?? code) : code },
  });
}

async function readJson(req: IncomingMessage, limit = 10 * 1024 * 1024): Promise<Record<string, unknown>> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw invalid(`The request body is larger than ${limit} bytes.`);
    parts.push(chunk);
  }
  const text = Buffer.concat(parts).toString().trim();
  if (text === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalid('The request body is not valid JSON.');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw invalid('The request body must be a JSON object.');
  return value as Record<string, unknown>;
}

// ------------------------------------------------------------------ the service

interface PageCursor {
  /** Fingerprint of the query the token belongs to. */
  q: string;
  /** Timestamp (ns, decimal) and insertId of the last entry returned. */
  ts: string;
  id: string;
}

function parentOf(resourceName: string): string {
  const m = /^(projects|organizations|folders|billingAccounts)\/[^/]+/.exec(resourceName);
  if (!m) {
    throw invalid(
      `Invalid resource name "${resourceName}": use "projects/PROJECT_ID" (optionally followed by /locations/... views).`,
    );
  }
  return m[0];
}

function toSeverity(value: unknown): StorableSeverity {
  if (value === undefined || value === null) return 'DEFAULT';
  let name: string | undefined;
  if (typeof value === 'number') name = Object.entries(SEVERITY_RANK).find(([, r]) => r === value)?.[0];
  else if (typeof value === 'string') name = value.toUpperCase();
  if (name && (STORABLE_SEVERITIES as readonly string[]).includes(name)) return name as StorableSeverity;
  throw invalid(
    `Unsupported severity ${JSON.stringify(value)}: the emulator stores DEFAULT, INFO, WARNING and ERROR entries only.`,
  );
}

function stringMap(value: unknown, what: string): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw invalid(`${what} must be an object of string values.`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v !== 'string') throw invalid(`${what}.${k} must be a string.`);
    out[k] = v;
  }
  return out;
}

/** Creates the Cloud Logging surface (`/v2/entries:list`, `/v2/entries:write`) over `ctx.logs`. */
export function loggingService(ctx: ServiceContext): HttpService {
  async function list(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJson(req);
    const names: string[] = [];
    if (Array.isArray(body.resourceNames)) names.push(...body.resourceNames.map(String));
    if (Array.isArray(body.projectIds)) names.push(...body.projectIds.map((p) => `projects/${String(p)}`));
    if (names.length === 0) throw invalid('Required: resourceNames (e.g. ["projects/my-project"]).');
    const parents = [...new Set(names.map(parentOf))];
    for (const parent of parents) await ctx.authorize(req.headers.authorization, 'logging.logEntries.list', parent);

    const filterText = typeof body.filter === 'string' ? body.filter : '';
    const expr = parseFilter(filterText);
    checkFields(expr);
    const orderBy = typeof body.orderBy === 'string' ? body.orderBy.trim().replace(/\s+/g, ' ') : 'timestamp asc';
    if (!['timestamp asc', 'timestamp desc', 'timestamp'].includes(orderBy)) {
      throw invalid(`Unsupported orderBy "${String(body.orderBy)}": use "timestamp asc" or "timestamp desc".`);
    }
    const desc = orderBy === 'timestamp desc';
    const pageSize = body.pageSize === undefined ? DEFAULT_PAGE_SIZE : Number(body.pageSize);
    if (!Number.isInteger(pageSize) || pageSize < 0 || pageSize > MAX_PAGE_SIZE) {
      throw invalid(`pageSize must be an integer from 0 to ${MAX_PAGE_SIZE}, got ${JSON.stringify(body.pageSize)}.`);
    }
    const limit = pageSize === 0 ? DEFAULT_PAGE_SIZE : pageSize;
    const fingerprint = createHash('sha256')
      .update(JSON.stringify([parents, filterText, desc]))
      .digest('base64url')
      .slice(0, 16);
    let cursor: PageCursor | undefined;
    if (typeof body.pageToken === 'string' && body.pageToken !== '') {
      try {
        cursor = JSON.parse(Buffer.from(body.pageToken, 'base64url').toString()) as PageCursor;
      } catch {
        cursor = undefined;
      }
      if (!cursor || typeof cursor.ts !== 'string' || typeof cursor.id !== 'string') {
        throw invalid('Invalid pageToken: pass the nextPageToken of the previous response unchanged.');
      }
      if (cursor.q !== fingerprint) {
        throw invalid('The pageToken belongs to a different query: repeat the same resourceNames, filter and orderBy.');
      }
    }

    await ctx.beforeCall('logging.entries.list');
    const prefixes = parents.map((p) => `${p}/logs/`);
    type Keyed = { e: StoredLogEntry; ts: bigint };
    const selected: Keyed[] = [];
    for (const e of ctx.logs.all()) {
      if (!prefixes.some((p) => e.logName.startsWith(p))) continue;
      if (!matches(expr, e)) continue;
      selected.push({ e, ts: timestampNanos(e.timestamp) ?? 0n });
    }
    const cmp = (a: { ts: bigint; id: string }, b: { ts: bigint; id: string }): number =>
      a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
    selected.sort((a, b) => {
      const c = cmp({ ts: a.ts, id: a.e.insertId }, { ts: b.ts, id: b.e.insertId });
      return desc ? -c : c;
    });
    let start = 0;
    if (cursor) {
      const at = { ts: BigInt(cursor.ts), id: cursor.id };
      start = selected.findIndex((x) => {
        const c = cmp({ ts: x.ts, id: x.e.insertId }, at);
        return desc ? c < 0 : c > 0;
      });
      if (start < 0) start = selected.length;
    }
    const page = selected.slice(start, start + limit);
    const out: Record<string, unknown> = {};
    if (page.length) out.entries = page.map((x) => x.e);
    const lastOfPage = page.at(-1);
    if (start + limit < selected.length && lastOfPage) {
      const next: PageCursor = { q: fingerprint, ts: lastOfPage.ts.toString(), id: lastOfPage.e.insertId };
      out.nextPageToken = Buffer.from(JSON.stringify(next)).toString('base64url');
    }
    await ctx.afterCall('logging.entries.list');
    sendJson(res, 200, out);
  }

  async function write(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJson(req);
    if (!Array.isArray(body.entries) || body.entries.length === 0) {
      throw invalid('Required: entries (a non-empty array of LogEntry objects).');
    }
    const defaultLogName = typeof body.logName === 'string' ? body.logName : undefined;
    const defaultResource = body.resource as { type?: unknown; labels?: unknown } | undefined;
    const defaultLabels = stringMap(body.labels, 'labels');
    const prepared: Array<Omit<StoredLogEntry, 'insertId' | 'receiveTimestamp'>> = [];
    body.entries.forEach((raw: unknown, i: number) => {
      if (raw === null || typeof raw !== 'object') throw invalid(`entries[${i}] must be a LogEntry object.`);
      const entry = raw as Record<string, unknown>;
      const logName = typeof entry.logName === 'string' ? entry.logName : defaultLogName;
      if (!logName || !/^(projects|organizations|folders|billingAccounts)\/[^/]+\/logs\/[^/]+$/.test(logName)) {
        throw invalid(
          `entries[${i}].logName must look like "projects/PROJECT_ID/logs/LOG_ID" (URL-encode "/" in LOG_ID).`,
        );
      }
      const resource = (entry.resource ?? defaultResource) as { type?: unknown; labels?: unknown } | undefined;
      if (!resource || typeof resource.type !== 'string' || resource.type === '') {
        throw invalid(`entries[${i}].resource.type is required (e.g. "global" or "ml_job").`);
      }
      if (entry.jsonPayload !== undefined || entry.protoPayload !== undefined) {
        throw invalid(`entries[${i}]: the emulator stores textPayload only; send the message as textPayload.`);
      }
      if (entry.textPayload !== undefined && typeof entry.textPayload !== 'string') {
        throw invalid(`entries[${i}].textPayload must be a string.`);
      }
      let timestamp = new Date(ctx.now()).toISOString();
      if (entry.timestamp !== undefined) {
        if (typeof entry.timestamp !== 'string' || timestampNanos(entry.timestamp) === undefined) {
          throw invalid(`entries[${i}].timestamp must be an RFC 3339 timestamp such as 2026-01-31T12:00:00.123Z.`);
        }
        timestamp = entry.timestamp;
      }
      const labels = { ...(defaultLabels ?? {}), ...(stringMap(entry.labels, `entries[${i}].labels`) ?? {}) };
      const stored: Omit<StoredLogEntry, 'insertId' | 'receiveTimestamp'> = {
        logName,
        resource: { type: resource.type, labels: stringMap(resource.labels, `entries[${i}].resource.labels`) ?? {} },
        timestamp,
        severity: toSeverity(entry.severity),
        textPayload: (entry.textPayload as string | undefined) ?? '',
      };
      if (Object.keys(labels).length) stored.labels = labels;
      prepared.push(stored);
    });
    for (const parent of new Set(prepared.map((e) => parentOf(e.logName)))) {
      await ctx.authorize(req.headers.authorization, 'logging.logEntries.create', parent);
    }
    await ctx.beforeCall('logging.entries.write');
    if (body.dryRun !== true) for (const e of prepared) ctx.logs.append(e);
    await ctx.afterCall('logging.entries.write');
    sendJson(res, 200, {});
  }

  return {
    name: 'logging',
    async handle(req, res, url) {
      const path = url.pathname;
      if (path !== '/v2/entries:list' && path !== '/v2/entries:write') return false;
      try {
        if (req.method !== 'POST') {
          throw new EmulatorError('UNIMPLEMENTED', `${req.method ?? 'GET'} ${path} is not supported; use POST.`);
        }
        if (path === '/v2/entries:list') await list(req, res);
        else await write(req, res);
      } catch (err) {
        sendError(req, res, err);
      }
      return true;
    },
  };
}

/** Cloud Logging `entries:list` and `entries:write` over the emulator's log store, as an emulator service. */
export const logging: EmulatorService = {
  name: 'logging',
  create: (core) => ({ http: loggingService(core.ctx) }),
};
