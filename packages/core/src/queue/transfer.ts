/**
 * Moving queues between stores (one machine's SQLite file to a team's PostgreSQL, or back): the export format and
 * the store-independent halves of `queue export` / `queue import`.
 *
 * The format is JSON Lines (one JSON object a line, UTF-8): a header, then every queue, then every item oldest first,
 * each item with its whole history:
 *
 *     {"kind":"header","format":"vertex-launch-queues","version":1,"exportedAt":"2030-01-01T00:00:00.000Z","source":"sqlite"}
 *     {"kind":"queue","queue":{"name":"gpu-t4","resource":"gcp-vertex","config":{...},"createdAt":"...","updatedAt":"..."}}
 *     {"kind":"item","item":{"id":"...","queue":"gpu-t4","launchId":"...","runId":"...","state":"finished",...,"events":[...]}}
 *
 * Queues and items are exactly the contract's `QueueDefinition` and `QueueItem`, so any store can write and read it;
 * an item of an export written before retries existed (no `retries`, no `rung`) reads as `retries: 0, rung: 0`.
 * Exporting needs only the contract ({@link exportQueueRecords}); importing keeps ids, launch ids, phases, job names
 * and histories, which the contract's `enqueue` cannot, so stores that can import implement
 * {@link QueueRecordsImporter}. An item that was claimed when it was exported comes back queued, keeping its phase
 * and job name (a lease from another database means nothing in this one): the next agent resumes it, re-attaching to
 * its job, as after `requeue`.
 */
import { ConfigError, type ConfigIssue } from '../errors.js';
import { FAILURE_CLASSES } from '../failure.js';
import { queueNotFound, RUN_ID_PATTERN } from './definitions.js';
import {
  FAILURE_PHASES,
  LAUNCH_PHASES,
  QUEUE_ITEM_STATES,
  QUEUE_NAME_PATTERN,
  QUEUE_RESOURCES,
  type QueueDefinition,
  type QueueItem,
  type QueueItemEvent,
  type QueueItemEventType,
  type QueueStore,
} from './store.js';

/** The `format` of an export's header line. */
export const QUEUE_EXPORT_FORMAT = 'vertex-launch-queues';
/** The version of the format this package writes and reads. */
export const QUEUE_EXPORT_VERSION = 1;

/** The first line of an export. */
export interface QueueExportHeader {
  readonly kind: 'header';
  readonly format: typeof QUEUE_EXPORT_FORMAT;
  readonly version: number;
  /** ISO 8601 time of the export. */
  readonly exportedAt: string;
  /** The store it came from (`sqlite`, `postgres`, ...). */
  readonly source: string;
}

/** A queue line. */
export interface QueueExportQueue {
  readonly kind: 'queue';
  readonly queue: QueueDefinition;
}

/** An item line. */
export interface QueueExportItem {
  readonly kind: 'item';
  readonly item: QueueItem;
}

/** One line of an export. */
export type QueueExportRecord = QueueExportHeader | QueueExportQueue | QueueExportItem;

/** Options of {@link exportQueueRecords}. */
export interface ExportQueueRecordsOptions {
  /** Only these queues and their items. Default: every queue, and every item (those of deleted queues too). */
  queues?: readonly string[];
  /** Clock for `exportedAt`, epoch ms. Default `Date.now`. */
  now?: () => number;
}

/**
 * The records of an export: the header, the queues by name, then the items oldest first. Reads through the
 * contract only, so every store can be exported; items are read in pages and kept in memory until the oldest is
 * known. Stop the agents first (SIGTERM gives their items back): an item claimed during the export is exported as
 * it was when read.
 * @throws QueueError `queue_not_found` for a name in `queues` that does not exist.
 */
export async function* exportQueueRecords(
  store: QueueStore,
  options: ExportQueueRecordsOptions = {},
): AsyncGenerator<QueueExportRecord> {
  const all = await store.listQueues();
  let queues = all;
  if (options.queues !== undefined) {
    const byName = new Map(all.map((queue) => [queue.name, queue]));
    queues = [];
    for (const name of [...new Set(options.queues)]) {
      const queue = byName.get(name);
      if (queue === undefined) throw queueNotFound(name);
      queues.push(queue);
    }
  }
  yield {
    kind: 'header',
    format: QUEUE_EXPORT_FORMAT,
    version: QUEUE_EXPORT_VERSION,
    exportedAt: new Date((options.now ?? Date.now)()).toISOString(),
    source: store.name,
  };
  for (const queue of [...queues].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    yield { kind: 'queue', queue };
  }
  const pages: QueueItem[][] =
    options.queues === undefined
      ? [await allItems(store, undefined)]
      : await Promise.all(queues.map((queue) => allItems(store, queue.name)));
  // Each page list is oldest first; merge them by enqueue time (stable, so one queue's order is kept).
  const items = pages.flat();
  if (pages.length > 1) items.sort((a, b) => Date.parse(a.enqueuedAt) - Date.parse(b.enqueuedAt));
  for (const item of items) yield { kind: 'item', item };
}

async function allItems(store: QueueStore, queue: string | undefined): Promise<QueueItem[]> {
  const out: QueueItem[] = [];
  let before: string | undefined;
  for (;;) {
    const page = await store.list({
      limit: 500,
      ...(queue === undefined ? {} : { queue }),
      ...(before === undefined ? {} : { before }),
    });
    out.push(...page);
    if (page.length < 500) return out.reverse();
    before = page.at(-1)!.id;
  }
}

/** One record as its line of JSON Lines (with the newline). */
export function formatQueueRecord(record: QueueExportRecord): string {
  return `${JSON.stringify(record)}\n`;
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const EVENT_TYPES: readonly QueueItemEventType[] = [
  'enqueued',
  'claimed',
  'lease_expired',
  'phase',
  'requeued',
  'deferred',
  'admitted',
  'retried',
  'cancel_requested',
  'completed',
  'failed',
  'cancelled',
];
const OUTCOMES = ['succeeded', 'failed', 'cancelled'];

type Problems = (path: string, message: string) => void;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function checkText(
  record: Record<string, unknown>,
  key: string,
  path: string,
  bad: Problems,
  { required = false, pattern, oneOf }: { required?: boolean; pattern?: RegExp; oneOf?: readonly string[] } = {},
): void {
  const value = record[key];
  if (value === undefined) {
    if (required) bad(`${path}.${key}`, 'is missing');
    return;
  }
  if (typeof value !== 'string') bad(`${path}.${key}`, 'must be a string');
  else if (pattern !== undefined && !pattern.test(value))
    bad(`${path}.${key}`, `\`${value.slice(0, 80)}\` is not valid`);
  else if (oneOf !== undefined && !oneOf.includes(value)) bad(`${path}.${key}`, `must be one of ${oneOf.join(', ')}`);
}

const isWholeNumber = (value: unknown) => typeof value === 'number' && Number.isInteger(value) && value >= 0;

/** A whole number of at least 0 under `key`; absent is fine unless `required`. */
function checkCount(record: Record<string, unknown>, key: string, path: string, bad: Problems, required = false): void {
  if (record[key] === undefined && !required) return;
  if (!isWholeNumber(record[key])) bad(`${path}.${key}`, 'must be a whole number of at least 0');
}

function checkQueue(queue: unknown, bad: Problems): void {
  if (!isObject(queue)) {
    bad('queue', 'must be an object');
    return;
  }
  checkText(queue, 'name', 'queue', bad, { required: true, pattern: QUEUE_NAME_PATTERN });
  checkText(queue, 'resource', 'queue', bad, { required: true, oneOf: QUEUE_RESOURCES });
  if (!isObject(queue.config)) bad('queue.config', 'must be an object');
  for (const key of ['project', 'region', 'description']) checkText(queue, key, 'queue', bad);
  for (const key of ['createdAt', 'updatedAt']) checkText(queue, key, 'queue', bad, { required: true, pattern: ISO });
}

function checkEvent(event: unknown, path: string, bad: Problems): void {
  if (!isObject(event)) {
    bad(path, 'must be an object');
    return;
  }
  checkText(event, 'at', path, bad, { required: true, pattern: ISO });
  checkText(event, 'type', path, bad, { required: true, oneOf: EVENT_TYPES });
  checkText(event, 'agentId', path, bad);
  checkText(event, 'phase', path, bad, { oneOf: [...LAUNCH_PHASES, ...FAILURE_PHASES] });
  checkText(event, 'message', path, bad, { required: true });
}

function checkItem(item: unknown, bad: Problems): void {
  if (!isObject(item)) {
    bad('item', 'must be an object');
    return;
  }
  checkText(item, 'id', 'item', bad, { required: true, pattern: /^[\w.:-]{1,200}$/ });
  checkText(item, 'queue', 'item', bad, { required: true, pattern: QUEUE_NAME_PATTERN });
  checkText(item, 'launchId', 'item', bad, { required: true, pattern: /^[\w.:-]{1,200}$/ });
  checkText(item, 'runId', 'item', bad, { required: true, pattern: RUN_ID_PATTERN });
  checkText(item, 'state', 'item', bad, { required: true, oneOf: QUEUE_ITEM_STATES });
  checkText(item, 'phase', 'item', bad, { oneOf: LAUNCH_PHASES });
  checkText(item, 'outcome', 'item', bad, { oneOf: OUTCOMES });
  for (const key of ['status', 'imageUri', 'jobName', 'agentId']) checkText(item, key, 'item', bad);
  for (const key of ['enqueuedAt', 'updatedAt']) checkText(item, key, 'item', bad, { required: true, pattern: ISO });
  for (const key of ['leaseExpiresAt', 'finishedAt']) checkText(item, key, 'item', bad, { pattern: ISO });
  if (!isObject(item.request)) bad('item.request', 'must be an object');
  if (typeof item.cancelRequested !== 'boolean') bad('item.cancelRequested', 'must be true or false');
  checkCount(item, 'attempts', 'item', bad, true);
  // Exports written before retries existed have neither; they read as 0.
  checkCount(item, 'retries', 'item', bad);
  checkCount(item, 'rung', 'item', bad);
  checkText(item, 'notBefore', 'item', bad, { pattern: ISO });
  if (item.admission !== undefined) {
    if (!isObject(item.admission)) bad('item.admission', 'must be an object');
    else {
      checkText(item.admission, 'at', 'item.admission', bad, { required: true, pattern: ISO });
      checkCount(item.admission, 'accelerators', 'item.admission', bad, true);
      const hours = item.admission.acceleratorHours;
      if (typeof hours !== 'number' || !Number.isFinite(hours) || hours < 0) {
        bad('item.admission.acceleratorHours', 'must be a number of at least 0');
      }
    }
  }
  if (item.failure !== undefined) {
    if (!isObject(item.failure)) bad('item.failure', 'must be an object');
    else {
      checkText(item.failure, 'phase', 'item.failure', bad, { required: true, oneOf: FAILURE_PHASES });
      checkText(item.failure, 'message', 'item.failure', bad, { required: true });
      checkText(item.failure, 'class', 'item.failure', bad, { oneOf: FAILURE_CLASSES });
      checkText(item.failure, 'fix', 'item.failure', bad);
      if (item.failure.exitCode !== undefined && !Number.isInteger(item.failure.exitCode)) {
        bad('item.failure.exitCode', 'must be a whole number');
      }
    }
  }
  if (!Array.isArray(item.events)) bad('item.events', 'must be an array');
  else {
    for (const [i, event] of item.events.entries()) checkEvent(event, `item.events[${i}]`, bad);
  }
  // Consistency of a known state (an unknown one is reported above).
  if (!QUEUE_ITEM_STATES.includes(item.state as QueueItem['state'])) return;
  if (item.state === 'finished' && (item.outcome === undefined || item.finishedAt === undefined)) {
    bad('item', 'a finished item needs `outcome` and `finishedAt`');
  }
  if (item.state !== 'finished' && item.outcome !== undefined) bad('item.outcome', `is set on a ${item.state} item`);
  if (item.state === 'claimed' && (item.agentId === undefined || item.leaseExpiresAt === undefined)) {
    bad('item', 'a claimed item needs `agentId` and `leaseExpiresAt`');
  }
}

/** An item of an export written before retries existed (no `retries`, no `rung`) as one on its first attempt. */
function withRetryDefaults(item: QueueItem): QueueItem {
  if (!isObject(item) || (item.retries !== undefined && item.rung !== undefined)) return item;
  return { ...item, retries: item.retries ?? 0, rung: item.rung ?? 0 };
}

/**
 * Parses and checks an export (JSON Lines). Collects every problem, each with its line number, and throws them
 * together; nothing is imported from a file with a problem.
 * @param file Where the text came from, for messages.
 * @throws ConfigError listing every problem (`line 12: item.state must be one of queued, claimed, finished`).
 */
export function parseQueueExport(text: string, file = 'the export'): QueueExportRecord[] {
  const issues: ConfigIssue[] = [];
  const records: QueueExportRecord[] = [];
  const seen = { queues: new Set<string>(), items: new Set<string>(), launches: new Set<string>() };
  const lines = text.split('\n');
  let header = false;
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '') continue;
    const at = `line ${index + 1}`;
    const bad: Problems = (path, message) =>
      issues.push({ path: path ? `${at} ${path}` : at, message, severity: 'error' });
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (error) {
      bad('', `is not JSON (${(error as Error).message})`);
      continue;
    }
    if (!isObject(record)) {
      bad('', 'must be a JSON object');
      continue;
    }
    if (!header) {
      if (record.kind !== 'header' || record.format !== QUEUE_EXPORT_FORMAT) {
        bad('', `must be the header {"kind":"header","format":"${QUEUE_EXPORT_FORMAT}",...}: is this a queue export?`);
        header = true;
        continue;
      }
      header = true;
      if (typeof record.version !== 'number' || record.version > QUEUE_EXPORT_VERSION || record.version < 1) {
        bad(
          'version',
          `${String(record.version)} is not a format version this package reads (${QUEUE_EXPORT_VERSION}); upgrade it`,
        );
      }
      records.push(record as unknown as QueueExportHeader);
      continue;
    }
    if (record.kind === 'queue') {
      const before = issues.length;
      checkQueue(record.queue, bad);
      const name = (record.queue as { name?: string } | undefined)?.name;
      if (issues.length === before && name !== undefined) {
        if (seen.queues.has(name)) bad('queue.name', `\`${name}\` appears twice`);
        seen.queues.add(name);
        records.push({ kind: 'queue', queue: record.queue as unknown as QueueDefinition });
      }
    } else if (record.kind === 'item') {
      const before = issues.length;
      checkItem(record.item, bad);
      const item = withRetryDefaults(record.item as unknown as QueueItem);
      if (issues.length === before) {
        if (seen.items.has(item.id)) bad('item.id', `\`${item.id}\` appears twice`);
        if (seen.launches.has(item.launchId)) bad('item.launchId', `\`${item.launchId}\` appears twice`);
        seen.items.add(item.id);
        seen.launches.add(item.launchId);
        records.push({ kind: 'item', item });
      }
    } else if (record.kind === 'header') {
      bad('kind', 'a second header: files were joined; import them one at a time');
    } else {
      bad('kind', `\`${String(record.kind).slice(0, 40)}\` is not header, queue or item`);
    }
  }
  if (!header) issues.push({ path: 'line 1', message: 'the file is empty (no header line)', severity: 'error' });
  if (issues.length > 0) {
    const shown = issues.slice(0, 20).map((issue) => `  - ${issue.path}: ${issue.message}`);
    throw new ConfigError(
      `Cannot import ${file}: ${issues.length} problem${issues.length === 1 ? '' : 's'}; nothing was imported:\n${shown.join('\n')}${issues.length > 20 ? `\n  ... and ${issues.length - 20} more` : ''}`,
      issues,
      { hint: 'Import a file written by `vertex-launch queue export` (JSON Lines), unchanged.' },
    );
  }
  return records;
}

/**
 * The item as an importing store saves it: a claimed item comes back queued, keeping its phase, image and job name,
 * with a `requeued` event saying so; every other item is kept as it was.
 */
export function importedItem(item: QueueItem, source: string, now: number): QueueItem {
  if (item.state !== 'claimed') return item;
  const { agentId: _agent, leaseExpiresAt: _lease, ...rest } = item;
  const event: QueueItemEvent = {
    at: new Date(now).toISOString(),
    type: 'requeued',
    ...(item.phase === undefined ? {} : { phase: item.phase }),
    message: `requeued by queue import: it was claimed by agent ${item.agentId} in ${source}; the next agent resumes at phase ${item.phase}${item.jobName ? ` with job ${item.jobName}` : ''}`,
  };
  return { ...rest, state: 'queued', updatedAt: event.at, events: [...item.events, event] };
}

/** Options of {@link QueueRecordsImporter.importRecords}. */
export interface ImportRecordsOptions {
  /**
   * A queue that already exists in the target: `fail` (default; nothing is imported) or `skip` (keep the target's
   * definition and add the items to it).
   */
  existingQueues?: 'fail' | 'skip';
}

/** What an import did. */
export interface ImportRecordsResult {
  /** Queues created. */
  readonly queuesCreated: number;
  /** Queues that existed and were kept (`existingQueues: 'skip'`). */
  readonly queuesSkipped: number;
  /** Items added. */
  readonly itemsImported: number;
  /** Items whose id was already in the target with the same launch id (an import run twice), left as they were. */
  readonly itemsSkipped: number;
  /** Claimed items that came back queued (see {@link importedItem}). */
  readonly itemsRequeued: number;
}

/** A store that can import an export, all or nothing (one transaction). */
export interface QueueRecordsImporter {
  /**
   * Adds the queues and items of `records` (from {@link parseQueueExport}) with their ids, launch ids, phases and
   * histories. All or nothing.
   * @throws QueueError `queue_exists` (with `existingQueues: 'fail'`); `invalid_argument` when an item's launch id
   * belongs to another item of the target.
   */
  importRecords(records: readonly QueueExportRecord[], options?: ImportRecordsOptions): Promise<ImportRecordsResult>;
}

/** True when `store` can import exports. */
export function canImportRecords(store: QueueStore): store is QueueStore & QueueRecordsImporter {
  return typeof (store as Partial<QueueRecordsImporter>).importRecords === 'function';
}
