/**
 * `sqliteQueueStore()`: the queue store contract of `@vertex-launch/core` in one SQLite file. WAL lets readers and
 * one writer work at once; every change is one `BEGIN IMMEDIATE` transaction that loads the item, applies core's
 * shared transition and saves it, so agents in several processes never claim the same item and a killed agent
 * loses nothing that was committed.
 */

import { randomUUID } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  type AdmitResult,
  AGENT_RECORD_RETENTION_MS,
  type AgentRecord,
  abandonItem,
  admitItem,
  agentRecord,
  checkAgentHeartbeat,
  checkAgentId,
  checkClaimOptions,
  checkListLimit,
  claimItem,
  completeItem,
  failForDeletedQueue,
  failItem,
  heartbeatItem,
  type ImportRecordsOptions,
  type ImportRecordsResult,
  type ItemTransition,
  importedItem,
  isExhausted,
  itemNotFound,
  type ListItemsOptions,
  maxAttemptsOf,
  newQueueItem,
  prepareLaunchRequest,
  prepareQueue,
  prepareQueueUpdate,
  type QueueDefinition,
  QueueError,
  type QueueExportRecord,
  type QueueItem,
  type QueueItemEvent,
  type QueueRecordsImporter,
  type QueueStore,
  queueClaimOrder,
  queueExists,
  queueNotEmpty,
  queueNotFound,
  recordPhaseItem,
  requestCancelItem,
  requeueItem,
  retryItem,
} from '@vertex-launch/core/queue';
import Database from 'better-sqlite3';
import { CHOOSE_ANOTHER_FILE, defaultQueueDbPath, noFileAbove, notADirectory, prepareDatabaseFile } from './paths.js';
import { APPLICATION_ID, migrate, SCHEMA_VERSION } from './schema.js';

/** Options of `sqliteQueueStore`. */
export interface SqliteQueueStoreOptions {
  /**
   * The database file. Defaults to `$XDG_DATA_HOME/vertex-launch/queues.db` (`~/.local/share/...`); created with
   * its directory when missing, owner-only (0600 / 0700).
   */
  path?: string;
  /** How long to wait for another process's write lock before failing, in milliseconds. Default 5000. */
  busyTimeoutMs?: number;
  /**
   * Open for reading only: the file is never created, migrated or switched to WAL, reads work while an agent holds
   * the write lock, and every write fails. A missing file reads as an empty store. Default false.
   */
  readOnly?: boolean;
  /** Clock in epoch milliseconds (leases, timestamps); defaults to `Date.now`. Inject one to test lease expiry. */
  now?: () => number;
}

interface QueueRow {
  name: string;
  resource: string;
  config: string;
  project: string | null;
  region: string | null;
  description: string | null;
  created_at: number;
  updated_at: number;
  last_served: number;
}

interface ItemRow {
  seq: number;
  id: string;
  queue: string;
  launch_id: string;
  run_id: string;
  request: string;
  state: string;
  phase: string | null;
  cancel_requested: number;
  outcome: string | null;
  status: string | null;
  image_uri: string | null;
  job_name: string | null;
  failure_phase: string | null;
  failure_message: string | null;
  agent_id: string | null;
  lease_expires_at: number | null;
  attempts: number;
  enqueued_at: number;
  updated_at: number;
  finished_at: number | null;
  retries: number;
  rung: number;
  not_before: number | null;
  admission_at: number | null;
  admission_accelerators: number | null;
  admission_accelerator_hours: number | null;
  failure_class: string | null;
  failure_exit_code: number | null;
  failure_fix: string | null;
}

interface AgentRow {
  agent_id: string;
  host: string;
  pid: number | null;
  queues: string;
  max_jobs: number;
  active: number;
  state: string;
  heartbeat_interval_ms: number;
  started_at: number;
  heartbeat_at: number;
}

interface EventRow {
  item_id: string;
  at: number;
  type: string;
  agent_id: string | null;
  phase: string | null;
  message: string;
}

const iso = (ms: number) => new Date(ms).toISOString();
/** How far back `admit` counts admissions against `dailyAcceleratorHours`. */
const ADMISSION_WINDOW_MS = 86_400_000;
const ms = (text: string | undefined) => (text === undefined ? null : Date.parse(text));

/** Copy only the keys whose value is set (the contract's objects have no `undefined` or `null` members). */
function defined<T>(fields: Record<string, unknown>): T {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) if (value !== null && value !== undefined) out[key] = value;
  return out as T;
}

function toQueue(row: QueueRow): QueueDefinition {
  return defined<QueueDefinition>({
    name: row.name,
    resource: row.resource,
    config: JSON.parse(row.config),
    project: row.project,
    region: row.region,
    description: row.description,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  });
}

function toEvent(row: EventRow): QueueItemEvent {
  return defined<QueueItemEvent>({
    at: iso(row.at),
    type: row.type,
    agentId: row.agent_id,
    phase: row.phase,
    message: row.message,
  });
}

function toItem(row: ItemRow, events: QueueItemEvent[]): QueueItem {
  return defined<QueueItem>({
    id: row.id,
    queue: row.queue,
    launchId: row.launch_id,
    runId: row.run_id,
    request: JSON.parse(row.request),
    state: row.state,
    phase: row.phase,
    cancelRequested: row.cancel_requested === 1,
    outcome: row.outcome,
    status: row.status,
    imageUri: row.image_uri,
    jobName: row.job_name,
    failure:
      row.failure_phase === null
        ? undefined
        : defined({
            phase: row.failure_phase,
            message: row.failure_message ?? '',
            class: row.failure_class,
            exitCode: row.failure_exit_code,
            fix: row.failure_fix,
          }),
    agentId: row.agent_id,
    leaseExpiresAt: row.lease_expires_at === null ? undefined : iso(row.lease_expires_at),
    attempts: row.attempts,
    retries: row.retries,
    rung: row.rung,
    notBefore: row.not_before === null ? undefined : iso(row.not_before),
    admission:
      row.admission_at === null
        ? undefined
        : {
            at: iso(row.admission_at),
            accelerators: row.admission_accelerators ?? 0,
            acceleratorHours: row.admission_accelerator_hours ?? 0,
          },
    enqueuedAt: iso(row.enqueued_at),
    updatedAt: iso(row.updated_at),
    finishedAt: row.finished_at === null ? undefined : iso(row.finished_at),
    events,
  });
}

function toAgent(row: AgentRow): AgentRecord {
  return defined<AgentRecord>({
    agentId: row.agent_id,
    host: row.host,
    pid: row.pid,
    queues: JSON.parse(row.queues),
    maxJobs: row.max_jobs,
    active: row.active,
    state: row.state,
    heartbeatIntervalMs: row.heartbeat_interval_ms,
    startedAt: iso(row.started_at),
    heartbeatAt: iso(row.heartbeat_at),
  });
}

function itemColumns(item: QueueItem): Record<string, string | number | null> {
  return {
    id: item.id,
    queue: item.queue,
    launch_id: item.launchId,
    run_id: item.runId,
    request: JSON.stringify(item.request),
    state: item.state,
    phase: item.phase ?? null,
    cancel_requested: item.cancelRequested ? 1 : 0,
    outcome: item.outcome ?? null,
    status: item.status ?? null,
    image_uri: item.imageUri ?? null,
    job_name: item.jobName ?? null,
    failure_phase: item.failure?.phase ?? null,
    failure_message: item.failure?.message ?? null,
    agent_id: item.agentId ?? null,
    lease_expires_at: ms(item.leaseExpiresAt),
    attempts: item.attempts,
    enqueued_at: Date.parse(item.enqueuedAt),
    updated_at: Date.parse(item.updatedAt),
    finished_at: ms(item.finishedAt),
    // An item of an export written before retries existed has none.
    retries: item.retries ?? 0,
    rung: item.rung ?? 0,
    not_before: ms(item.notBefore),
    admission_at: ms(item.admission?.at),
    admission_accelerators: item.admission?.accelerators ?? null,
    admission_accelerator_hours: item.admission?.acceleratorHours ?? null,
    failure_class: item.failure?.class ?? null,
    failure_exit_code: item.failure?.exitCode ?? null,
    failure_fix: item.failure?.fix ?? null,
  };
}

/** What `PRAGMA application_id` says about a file: ours, a new empty file, ours from before the marker, or foreign. */
type Ownership = 'ours' | 'empty' | 'unmarked';

/**
 * Whose database `file` is, read before anything is written to it: {@link APPLICATION_ID} is ours; a file without
 * tables is new; one without an application id but with our schema (`queues` and `items`, a `user_version`) is ours
 * from before the marker.
 * @throws QueueError `storage` for any other database, naming what it holds; nothing was written to it.
 */
function ownership(db: Database.Database, file: string): Ownership {
  const id = db.pragma('application_id', { simple: true }) as number;
  if (id === APPLICATION_ID) return 'ours';
  const version = db.pragma('user_version', { simple: true }) as number;
  const tables = db
    .prepare<[], string>(
      "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .pluck()
    .all();
  if (id === 0 && version === 0 && tables.length === 0) return 'empty';
  if (id === 0 && version >= 1 && tables.includes('queues') && tables.includes('items')) return 'unmarked';
  const what =
    id === 0
      ? `its tables are ${tables.slice(0, 5).join(', ') || 'none'}${tables.length > 5 ? ', ...' : ''}`
      : `its application_id is 0x${(id >>> 0).toString(16)}`;
  throw new QueueError(
    'storage',
    `The file ${file} is not a Vertex Launch queue database (${what}); nothing was written to it. Point the command at the queue database, or ${CHOOSE_ANOTHER_FILE}.`,
  );
}

/** A failure while opening: a lock is reported as one (never as "not a queue database"), anything else names the file. */
function openError(error: unknown, file: string): QueueError {
  if (error instanceof QueueError) return error;
  const code = (error as { code?: string }).code ?? '';
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new QueueError(
      'storage',
      `The queue database ${file} is locked (busy: ${code}): another process holds its write lock. Retry in a moment; if it stays locked, find the process (e.g. \`fuser ${file}\`).`,
      { cause: error },
    );
  }
  if (code === 'SQLITE_NOTADB') {
    return new QueueError(
      'storage',
      `The file ${file} is not a SQLite database, so not a Vertex Launch queue database; nothing was written to it. ${capitalize(CHOOSE_ANOTHER_FILE)}.`,
      { cause: error },
    );
  }
  return new QueueError(
    'storage',
    `Cannot open the queue database ${file}: ${(error as Error).message}. Check the file and the disk, or ${CHOOSE_ANOTHER_FILE}.`,
    { cause: error },
  );
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Opens (creating when missing) the database for reading and writing: checks it is ours, then WAL and migrations. */
function openDatabase(path: string, busyTimeoutMs: number): Database.Database {
  const file = prepareDatabaseFile(path);
  let db: Database.Database;
  try {
    db = new Database(file, { timeout: busyTimeoutMs });
  } catch (cause) {
    throw openError(cause, file);
  }
  try {
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    const owner = ownership(db, file);
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') {
      throw new QueueError(
        'storage',
        `The queue database ${file} cannot use WAL mode (got ${String(mode)}); put it on a local file system.`,
      );
    }
    // FULL: a committed phase survives a power loss too, not only a killed process.
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrate(db, file);
    if (owner !== 'ours') db.pragma(`application_id = ${APPLICATION_ID}`);
    return db;
  } catch (error) {
    db.close();
    throw openError(error, file);
  }
}

/**
 * Opens the database read-only: never creates, migrates or switches the journal mode, and reads while an agent
 * holds the write lock (WAL readers do not wait for writers). A missing or empty file reads as an empty store.
 */
function openReadOnly(path: string, busyTimeoutMs: number): Database.Database {
  const file = resolve(path);
  notADirectory(file);
  if (!existsSync(file)) {
    noFileAbove(file);
    return emptyStore(file);
  }
  if (statSync(file).size === 0) return emptyStore(file);
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true, timeout: busyTimeoutMs });
  } catch (cause) {
    throw openError(cause, file);
  }
  try {
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    if (ownership(db, file) === 'empty') {
      db.close();
      return emptyStore(file);
    }
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version !== SCHEMA_VERSION) {
      throw new QueueError(
        'storage',
        `The queue database ${file} has schema version ${version}; this @vertex-launch/queue-sqlite reads version ${SCHEMA_VERSION} read-only. ${
          version > SCHEMA_VERSION
            ? 'Upgrade @vertex-launch/queue-sqlite (and the CLI) on this machine.'
            : 'Run a command that writes (e.g. `vertex-launch agent`, or `queue create`) once to upgrade it.'
        }`,
      );
    }
    return db;
  } catch (error) {
    db.close();
    throw openError(error, file);
  }
}

/** An empty store in memory, for reading a database that does not exist yet. */
function emptyStore(file: string): Database.Database {
  const db = new Database(':memory:');
  migrate(db, file);
  return db;
}

/** The SQLite queue store: the `QueueStore` contract, plus importing a queue export (`queue import`). */
export interface SqliteQueueStore extends QueueStore, QueueRecordsImporter {
  /** `sqlite`. */
  readonly name: 'sqlite';
}

/**
 * A queue store in one SQLite file, shared safely by any number of agents and CLI processes on one machine (not
 * over a network file system). Opens (and creates, owner-only) the file at once.
 * @throws QueueError `storage` when the file cannot be created, opened or migrated, naming the path and the fix.
 */
export function sqliteQueueStore(options: SqliteQueueStoreOptions = {}): SqliteQueueStore {
  const now = options.now ?? Date.now;
  const path = options.path ?? defaultQueueDbPath();
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  const db = options.readOnly ? openReadOnly(path, busyTimeoutMs) : openDatabase(path, busyTimeoutMs);
  const file = resolve(path);

  const sql = {
    getQueue: db.prepare<[string], QueueRow>('SELECT * FROM queues WHERE name = ?'),
    listQueues: db.prepare<[], QueueRow>('SELECT * FROM queues ORDER BY name'),
    insertQueue: db.prepare(
      `INSERT INTO queues (name, resource, config, project, region, description, created_at, updated_at)
       VALUES (@name, @resource, @config, @project, @region, @description, @created_at, @updated_at)`,
    ),
    updateQueue: db.prepare(
      `UPDATE queues SET config = @config, project = @project, region = @region, description = @description,
       updated_at = @updated_at WHERE name = @name`,
    ),
    deleteQueue: db.prepare<[string]>('DELETE FROM queues WHERE name = ?'),
    serveQueue: db.prepare<[string]>(
      'UPDATE queues SET last_served = (SELECT MAX(last_served) FROM queues) + 1 WHERE name = ?',
    ),
    getItem: db.prepare<[string], ItemRow>('SELECT * FROM items WHERE id = ?'),
    itemOfLaunch: db.prepare<[string], ItemRow>('SELECT * FROM items WHERE launch_id = ?'),
    unfinished: db.prepare<[string], ItemRow>(
      "SELECT * FROM items WHERE queue = ? AND state != 'finished' ORDER BY seq",
    ),
    claimable: db.prepare<{ queue: string; now: number }, ItemRow>(
      `SELECT * FROM items WHERE queue = @queue
       AND ((state = 'queued' AND (not_before IS NULL OR not_before <= @now))
         OR (state = 'claimed' AND lease_expires_at <= @now)) ORDER BY seq LIMIT 1`,
    ),
    // What admit() weighs: the queue's admitted items in flight, and those admitted within the last day.
    admissionPeers: db.prepare<{ queue: string; since: number }, ItemRow>(
      `SELECT * FROM items WHERE queue = @queue AND admission_at IS NOT NULL
       AND (state = 'claimed' OR admission_at >= @since)`,
    ),
    insertItem: db.prepare(
      `INSERT INTO items (id, queue, launch_id, run_id, request, state, phase, cancel_requested, outcome, status,
       image_uri, job_name, failure_phase, failure_message, agent_id, lease_expires_at, attempts, enqueued_at,
       updated_at, finished_at, retries, rung, not_before, admission_at, admission_accelerators,
       admission_accelerator_hours, failure_class, failure_exit_code, failure_fix)
       VALUES (@id, @queue, @launch_id, @run_id, @request, @state, @phase, @cancel_requested, @outcome, @status,
       @image_uri, @job_name, @failure_phase, @failure_message, @agent_id, @lease_expires_at, @attempts,
       @enqueued_at, @updated_at, @finished_at, @retries, @rung, @not_before, @admission_at, @admission_accelerators,
       @admission_accelerator_hours, @failure_class, @failure_exit_code, @failure_fix)`,
    ),
    updateItem: db.prepare(
      `UPDATE items SET state = @state, phase = @phase, cancel_requested = @cancel_requested, outcome = @outcome,
       status = @status, image_uri = @image_uri, job_name = @job_name, failure_phase = @failure_phase,
       failure_message = @failure_message, agent_id = @agent_id, lease_expires_at = @lease_expires_at,
       attempts = @attempts, updated_at = @updated_at, finished_at = @finished_at, retries = @retries, rung = @rung,
       not_before = @not_before, admission_at = @admission_at, admission_accelerators = @admission_accelerators,
       admission_accelerator_hours = @admission_accelerator_hours, failure_class = @failure_class,
       failure_exit_code = @failure_exit_code, failure_fix = @failure_fix WHERE id = @id`,
    ),
    getAgent: db.prepare<[string], AgentRow>('SELECT * FROM agents WHERE agent_id = ?'),
    saveAgent: db.prepare(
      `INSERT INTO agents (agent_id, host, pid, queues, max_jobs, active, state, heartbeat_interval_ms, started_at,
       heartbeat_at) VALUES (@agent_id, @host, @pid, @queues, @max_jobs, @active, @state, @heartbeat_interval_ms,
       @started_at, @heartbeat_at)
       ON CONFLICT (agent_id) DO UPDATE SET host = excluded.host, pid = excluded.pid, queues = excluded.queues,
       max_jobs = excluded.max_jobs, active = excluded.active, state = excluded.state,
       heartbeat_interval_ms = excluded.heartbeat_interval_ms, heartbeat_at = excluded.heartbeat_at`,
    ),
    pruneAgents: db.prepare<[number]>('DELETE FROM agents WHERE heartbeat_at < ?'),
    listAgents: db.prepare<[number], AgentRow>(
      'SELECT * FROM agents WHERE heartbeat_at >= ? ORDER BY heartbeat_at DESC, agent_id',
    ),
    events: db.prepare<[string], EventRow>('SELECT * FROM item_events WHERE item_id = ? ORDER BY seq'),
    insertEvent: db.prepare(
      `INSERT INTO item_events (item_id, at, type, agent_id, phase, message)
       VALUES (@item_id, @at, @type, @agent_id, @phase, @message)`,
    ),
  };

  /** Run `fn`, turning SQLite failures (locked, disk full, closed) into a `QueueError` naming the file. */
  const guard = <T>(action: string, fn: () => T): T => {
    if (!db.open) throw new QueueError('storage', `The queue store for ${file} was closed; open a new one.`);
    try {
      return fn();
    } catch (error) {
      if (error instanceof Error && error.name === 'SqliteError') {
        const code = (error as { code?: string }).code ?? '';
        const hint = code.startsWith('SQLITE_BUSY')
          ? 'another process held the write lock too long (the database is locked); retry in a moment'
          : code.startsWith('SQLITE_READONLY')
            ? options.readOnly
              ? 'this store was opened read-only (the `readOnly` option of sqliteQueueStore())'
              : 'the file is read-only: make it writable by this user'
            : 'check the file and the disk';
        throw new QueueError(
          'storage',
          `Queue database ${file}: cannot ${action} (${code}: ${error.message}); ${hint}.`,
          {
            cause: error,
          },
        );
      }
      throw error;
    }
  };
  const write = <T>(action: string, fn: () => T): T => guard(action, () => db.transaction(fn).immediate());

  const loadItem = (id: string): QueueItem | undefined => {
    const row = sql.getItem.get(id);
    return row === undefined ? undefined : toItem(row, sql.events.all(id).map(toEvent));
  };
  const requireItem = (id: string) => {
    const item = loadItem(id);
    if (item === undefined) throw itemNotFound(id);
    return item;
  };
  const requireQueue = (name: string) => {
    const row = sql.getQueue.get(name);
    if (row === undefined) throw queueNotFound(name);
    return toQueue(row);
  };
  const save = (transition: ItemTransition): QueueItem => {
    sql.updateItem.run(itemColumns(transition.item));
    for (const event of transition.events) insertEvent(transition.item.id, event);
    return transition.item;
  };
  const insertEvent = (itemId: string, event: QueueItemEvent) =>
    sql.insertEvent.run({
      item_id: itemId,
      at: Date.parse(event.at),
      type: event.type,
      agent_id: event.agentId ?? null,
      phase: event.phase ?? null,
      message: event.message,
    });
  const queueColumns = (queue: QueueDefinition) => ({
    name: queue.name,
    resource: queue.resource,
    config: JSON.stringify(queue.config),
    project: queue.project ?? null,
    region: queue.region ?? null,
    description: queue.description ?? null,
    created_at: Date.parse(queue.createdAt),
    updated_at: Date.parse(queue.updatedAt),
  });
  const fenced = (action: string, agentId: string, itemId: string, change: (item: QueueItem) => ItemTransition) => {
    checkAgentId(agentId);
    return write(`${action} item ${itemId}`, () => save(change(requireItem(itemId))));
  };

  return {
    name: 'sqlite',

    async createQueue(input) {
      const queue = prepareQueue(input, now());
      return write(`create queue ${queue.name}`, () => {
        if (sql.getQueue.get(queue.name) !== undefined) throw queueExists(queue.name);
        sql.insertQueue.run(queueColumns(queue));
        return queue;
      });
    },
    async getQueue(name) {
      return guard(`read queue ${name}`, () => {
        const row = sql.getQueue.get(name);
        return row === undefined ? undefined : toQueue(row);
      });
    },
    async listQueues() {
      return guard('list queues', () => sql.listQueues.all().map(toQueue));
    },
    async updateQueue(name, patch) {
      return write(`update queue ${name}`, () => {
        const queue = prepareQueueUpdate(requireQueue(name), patch, now());
        sql.updateQueue.run(queueColumns(queue));
        return queue;
      });
    },
    async deleteQueue(name, deleteOptions = {}) {
      write(`delete queue ${name}`, () => {
        requireQueue(name);
        const unfinished = sql.unfinished.all(name);
        if (unfinished.length > 0 && deleteOptions.force !== true) throw queueNotEmpty(name, unfinished.length);
        const at = now();
        for (const row of unfinished) save(failForDeletedQueue(requireItem(row.id), at));
        sql.deleteQueue.run(name);
      });
    },

    async enqueue(queueName, request) {
      return write(`enqueue to queue ${queueName}`, () => {
        const prepared = prepareLaunchRequest(requireQueue(queueName), request);
        const item = newQueueItem({ id: randomUUID(), queue: queueName, ...prepared }, now());
        sql.insertItem.run(itemColumns(item));
        for (const event of item.events) insertEvent(item.id, event);
        return item;
      });
    },
    async claim(claimOptions) {
      checkClaimOptions(claimOptions);
      return write(`claim from ${claimOptions.queues.join(', ')}`, () => {
        const served = new Map<string, number>();
        for (const name of claimOptions.queues) {
          const row = sql.getQueue.get(name);
          if (row === undefined) throw queueNotFound(name);
          if (row.last_served > 0) served.set(name, row.last_served);
        }
        const at = now();
        const maxAttempts = maxAttemptsOf(claimOptions);
        for (const name of queueClaimOrder(claimOptions.queues, served)) {
          const next = () => sql.claimable.get({ queue: name, now: at });
          for (let row = next(); row !== undefined; row = next()) {
            const item = requireItem(row.id);
            if (isExhausted(item, maxAttempts, at)) {
              save(abandonItem(item, at));
              continue;
            }
            sql.serveQueue.run(name);
            return save(claimItem(item, claimOptions.agentId, claimOptions.leaseMs, at));
          }
        }
        return undefined;
      });
    },
    async heartbeat(itemId, agentId, leaseMs) {
      return fenced('heartbeat', agentId, itemId, (item) => heartbeatItem(item, agentId, leaseMs, now()));
    },
    async recordPhase(itemId, agentId, update) {
      return fenced('record the phase of', agentId, itemId, (item) => recordPhaseItem(item, agentId, update, now()));
    },
    async complete(itemId, agentId, update) {
      return fenced('complete', agentId, itemId, (item) => completeItem(item, agentId, update, now()));
    },
    async fail(itemId, agentId, update) {
      return fenced('fail', agentId, itemId, (item) => failItem(item, agentId, update, now()));
    },
    async requeue(itemId, agentId, reason, requeueOptions) {
      return fenced('requeue', agentId, itemId, (item) => requeueItem(item, agentId, reason, now(), requeueOptions));
    },
    async retry(itemId, agentId, update) {
      return fenced('retry', agentId, itemId, (item) => retryItem(item, agentId, update, now()));
    },
    async admit(itemId, agentId, request) {
      checkAgentId(agentId);
      // One BEGIN IMMEDIATE transaction: no other process admits between reading the peers and saving.
      return write(`admit item ${itemId}`, (): AdmitResult => {
        const item = requireItem(itemId);
        const at = now();
        const peers = sql.admissionPeers
          .all({ queue: item.queue, since: at - ADMISSION_WINDOW_MS })
          .map((row) => toItem(row, []));
        const decision = admitItem(item, agentId, peers, request, at);
        if (!decision.admitted) return decision;
        return { admitted: true, item: save(decision.transition) };
      });
    },
    async requestCancel(itemId) {
      return write(`cancel item ${itemId}`, () => save(requestCancelItem(requireItem(itemId), now())));
    },
    async get(itemId) {
      return guard(`read item ${itemId}`, () => loadItem(itemId));
    },
    async list(listOptions: ListItemsOptions = {}) {
      const limit = checkListLimit(listOptions.limit);
      return guard('list items', () => {
        const where: string[] = [];
        const params: Array<string | number> = [];
        if (listOptions.before !== undefined) {
          const before = sql.getItem.get(listOptions.before);
          if (before === undefined) throw itemNotFound(listOptions.before);
          where.push('seq < ?');
          params.push(before.seq);
        }
        if (listOptions.queue !== undefined) {
          where.push('queue = ?');
          params.push(listOptions.queue);
        }
        if (listOptions.states !== undefined) {
          where.push(`state IN (${listOptions.states.map(() => '?').join(', ') || 'NULL'})`);
          params.push(...listOptions.states);
        }
        const rows = db
          .prepare<Array<string | number>, ItemRow>(
            `SELECT * FROM items ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`,
          )
          .all(...params, limit);
        if (rows.length === 0) return [];
        const events = new Map<string, QueueItemEvent[]>(rows.map((row) => [row.id, []]));
        const eventRows = db
          .prepare<string[], EventRow>(
            `SELECT * FROM item_events WHERE item_id IN (${rows.map(() => '?').join(', ')}) ORDER BY seq`,
          )
          .all(...rows.map((row) => row.id));
        for (const row of eventRows) events.get(row.item_id)!.push(toEvent(row));
        return rows.map((row) => toItem(row, events.get(row.id) ?? []));
      });
    },
    async recordAgent(heartbeat) {
      const checked = checkAgentHeartbeat(heartbeat);
      return write(`record agent ${checked.agentId}`, () => {
        const at = now();
        sql.pruneAgents.run(at - AGENT_RECORD_RETENTION_MS);
        const previous = sql.getAgent.get(checked.agentId);
        const record = agentRecord(checked, previous === undefined ? undefined : toAgent(previous), at);
        sql.saveAgent.run({
          agent_id: record.agentId,
          host: record.host,
          pid: record.pid ?? null,
          queues: JSON.stringify(record.queues),
          max_jobs: record.maxJobs,
          active: record.active,
          state: record.state,
          heartbeat_interval_ms: record.heartbeatIntervalMs,
          started_at: Date.parse(record.startedAt),
          heartbeat_at: at,
        });
        return record;
      });
    },
    async listAgents() {
      return guard('list agents', () => sql.listAgents.all(now() - AGENT_RECORD_RETENTION_MS).map(toAgent));
    },
    async importRecords(records: readonly QueueExportRecord[], importOptions: ImportRecordsOptions = {}) {
      const header = records.find((record) => record.kind === 'header');
      const source = header?.kind === 'header' ? header.source : 'another store';
      return write('import queues', (): ImportRecordsResult => {
        const at = now();
        const result = { queuesCreated: 0, queuesSkipped: 0, itemsImported: 0, itemsSkipped: 0, itemsRequeued: 0 };
        for (const record of records) {
          if (record.kind !== 'queue') continue;
          // The config is checked as a new queue's would be; the definition keeps its own times.
          prepareQueue(record.queue, at);
          if (sql.getQueue.get(record.queue.name) !== undefined) {
            if (importOptions.existingQueues !== 'skip') throw queueExists(record.queue.name);
            result.queuesSkipped += 1;
            continue;
          }
          sql.insertQueue.run(queueColumns(record.queue));
          result.queuesCreated += 1;
        }
        for (const record of records) {
          if (record.kind !== 'item') continue;
          const { item } = record;
          const known = sql.getItem.get(item.id) ?? sql.itemOfLaunch.get(item.launchId);
          if (known !== undefined) {
            if (known.id === item.id && known.launch_id === item.launchId) {
              result.itemsSkipped += 1;
              continue;
            }
            throw new QueueError(
              'invalid_argument',
              `Cannot import item \`${item.id}\` (launch ${item.launchId}): the target has another item with that id or launch id (\`${known.id}\`); nothing was imported.`,
              { itemId: item.id, queue: item.queue },
            );
          }
          const saved = importedItem(item, source, at);
          sql.insertItem.run(itemColumns(saved));
          for (const event of saved.events) insertEvent(saved.id, event);
          if (saved !== item) result.itemsRequeued += 1;
          result.itemsImported += 1;
        }
        return result;
      });
    },
    async close() {
      if (db.open) db.close();
    },
  };
}
