/**
 * `postgresQueueStore()`: the queue store contract of `@vertex-launch/core` on PostgreSQL, for agents on many
 * machines draining the same queues.
 *
 * Every change is one READ COMMITTED transaction that locks the rows it changes, loads the item, applies core's
 * shared transition (the same leases, fencing and phase rules as the SQLite and memory stores) and saves it. A claim
 * takes the oldest claimable item with `FOR UPDATE SKIP LOCKED`, so concurrent claimers never wait for each other
 * and never get the same item; fenced writes (heartbeat, phases, complete, fail, requeue) lock the item with
 * `FOR UPDATE`, so a writer and a re-claimer are serialised and the loser sees `lease_lost`. An admission under the
 * queue's limits first locks the queue's row (`FOR NO KEY UPDATE`), then reads the queue's admitted items: admissions
 * to one queue take turns across machines, so two never both take its last slot.
 *
 * Time comes from the database server's clock unless `now` is given, so machines whose clocks disagree still agree
 * on leases. After the store first connected, a call that loses its connection (server restart, failover, a
 * terminated backend) is retried on a new connection until `retryTimeoutMs`; a COMMIT whose answer was lost is looked
 * up by the random commit token the transaction inserted (a row of `<schema>.commits`): present means committed.
 * `pg_xact_status()` (https://www.postgresql.org/docs/current/functions-info.html) only tells whether the transaction
 * may still be in progress — alone it can mislead after a crash, when the xid of a transaction whose WAL never
 * reached the disk is handed out again. So a change is never applied twice or reported failed when it committed.
 */

import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { VertexLaunchError } from '@vertex-launch/core';
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
  type ItemTransition,
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
  type QueueItem,
  type QueueItemEvent,
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
import pg from 'pg';
import { type PostgresConnection, resolveParsedConnection } from './connection.js';
import { clientConfig, type DatabaseStatus, DEFAULT_SCHEMA, prepareDatabase } from './database.js';
import { codeOf, isConnectionError, isTransient, plainCause, storageError } from './errors.js';
import { type PostgresQueueStoreOptions, parseOptions } from './options.js';
import { quoteIdent } from './schema.js';
import { importRecords, type QueueRecordsImporter } from './transfer.js';

/** A PostgreSQL queue store: the `QueueStore` contract plus opening, importing and a redacted description. */
export interface PostgresQueueStore extends QueueStore, QueueRecordsImporter {
  /** `postgres`. */
  readonly name: 'postgres';
  /** The database, `postgres://user@host:port/database` (no password), and the schema. */
  readonly target: { readonly url: string; readonly schema: string };
  /**
   * Connects, checks the server and the schema, and migrates (unless `migrate: false`). Every other method does this
   * on first use; call it to fail early. Resolves with what the database holds.
   * @throws QueueError `storage` naming the database and the fix.
   */
  ready(): Promise<DatabaseStatus>;
  /** `postgresQueueStore(postgres://user@host:port/db, schema vertex_launch)`: never the password. */
  toString(): string;
}

interface QueueRow {
  name: string;
  resource: string;
  config: Record<string, unknown>;
  project: string | null;
  region: string | null;
  description: string | null;
  created_at: Date;
  updated_at: Date;
}

interface AgentRow {
  agent_id: string;
  host: string;
  pid: number | null;
  queues: string[];
  max_jobs: number;
  active: number;
  state: string;
  heartbeat_interval_ms: number;
  started_at: Date;
  heartbeat_at: Date;
}

interface EventJson {
  at: number;
  type: string;
  agentId: string | null;
  phase: string | null;
  message: string;
}

interface ItemRow {
  seq: string;
  id: string;
  queue: string;
  launch_id: string;
  run_id: string;
  request: Record<string, unknown>;
  state: string;
  phase: string | null;
  cancel_requested: boolean;
  outcome: string | null;
  status: string | null;
  image_uri: string | null;
  job_name: string | null;
  failure_phase: string | null;
  failure_message: string | null;
  agent_id: string | null;
  lease_expires_at: Date | null;
  attempts: number;
  enqueued_at: Date;
  updated_at: Date;
  finished_at: Date | null;
  retries: number;
  rung: number;
  not_before: Date | null;
  admission_at: Date | null;
  admission_accelerators: number | null;
  admission_accelerator_hours: number | null;
  failure_class: string | null;
  failure_exit_code: number | null;
  failure_fix: string | null;
  events: EventJson[];
}

/** Copy only the keys whose value is set (the contract's objects have no `undefined` or `null` members). */
function defined<T>(fields: Record<string, unknown>): T {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) if (value !== null && value !== undefined) out[key] = value;
  return out as T;
}

const iso = (date: Date | null) => (date === null ? undefined : date.toISOString());

function toQueue(row: QueueRow): QueueDefinition {
  return defined<QueueDefinition>({
    name: row.name,
    resource: row.resource,
    config: row.config,
    project: row.project,
    region: row.region,
    description: row.description,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  });
}

function toAgent(row: AgentRow): AgentRecord {
  return defined<AgentRecord>({
    agentId: row.agent_id,
    host: row.host,
    pid: row.pid,
    queues: row.queues,
    maxJobs: row.max_jobs,
    active: row.active,
    state: row.state,
    heartbeatIntervalMs: row.heartbeat_interval_ms,
    startedAt: iso(row.started_at),
    heartbeatAt: iso(row.heartbeat_at),
  });
}

function toItem(row: ItemRow): QueueItem {
  return defined<QueueItem>({
    id: row.id,
    queue: row.queue,
    launchId: row.launch_id,
    runId: row.run_id,
    request: row.request,
    state: row.state,
    phase: row.phase,
    cancelRequested: row.cancel_requested,
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
    leaseExpiresAt: iso(row.lease_expires_at),
    attempts: row.attempts,
    retries: row.retries,
    rung: row.rung,
    notBefore: iso(row.not_before),
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
    finishedAt: iso(row.finished_at),
    events: row.events.map((e) =>
      defined<QueueItemEvent>({
        at: new Date(Number(e.at)).toISOString(),
        type: e.type,
        agentId: e.agentId,
        phase: e.phase,
        message: e.message,
      }),
    ),
  });
}

/** The columns an item is saved with, in the order of the INSERT and UPDATE statements below. */
function itemValues(item: QueueItem): unknown[] {
  return [
    item.id,
    item.state,
    item.phase ?? null,
    item.cancelRequested,
    item.outcome ?? null,
    item.status ?? null,
    item.imageUri ?? null,
    item.jobName ?? null,
    item.failure?.phase ?? null,
    item.failure?.message ?? null,
    item.agentId ?? null,
    item.leaseExpiresAt ?? null,
    item.attempts,
    item.updatedAt,
    item.finishedAt ?? null,
  ];
}

/**
 * The values of the columns schema 4 added (retries, backoff, admission, failure class), in the order of
 * {@link RETRY_COLUMNS}: passed after the other values of the INSERT ($26...) and UPDATE ($22...) statements below.
 */
function retryValues(item: QueueItem): unknown[] {
  return [
    // An item of an export written before retries existed has none.
    item.retries ?? 0,
    item.rung ?? 0,
    item.notBefore ?? null,
    item.admission?.at ?? null,
    item.admission?.accelerators ?? null,
    item.admission?.acceleratorHours ?? null,
    item.failure?.class ?? null,
    item.failure?.exitCode ?? null,
    item.failure?.fix ?? null,
  ];
}

/** The columns of {@link retryValues}; `retryParams` / `retrySets` number their parameters from `first`. */
const RETRY_COLUMNS = [
  'retries',
  'rung',
  'not_before',
  'admission_at',
  'admission_accelerators',
  'admission_accelerator_hours',
  'failure_class',
  'failure_exit_code',
  'failure_fix',
] as const;
const retryParams = (first: number) => RETRY_COLUMNS.map((_, i) => `$${first + i}`).join(', ');
const retrySets = (first: number) => RETRY_COLUMNS.map((column, i) => `${column} = $${first + i}`).join(', ');

/** The events as five parallel arrays, for `unnest`. */
function eventArrays(events: readonly QueueItemEvent[]): unknown[] {
  return [
    events.map((e) => e.at),
    events.map((e) => e.type),
    events.map((e) => e.agentId ?? null),
    events.map((e) => e.phase ?? null),
    events.map((e) => e.message),
  ];
}

/** The statements, for the (quoted) schema `s`. */
function statements(s: string) {
  const events = `COALESCE((SELECT json_agg(json_build_object('at', (extract(epoch FROM e.at) * 1000)::bigint,
      'type', e.type, 'agentId', e.agent_id, 'phase', e.phase, 'message', e.message) ORDER BY e.seq)
      FROM ${s}.item_events e WHERE e.item_id = i.id), '[]'::json) AS events`;
  const item = `i.seq, i.id, i.queue, i.launch_id, i.run_id, i.request, i.state, i.phase, i.cancel_requested, i.outcome,
      i.status, i.image_uri, i.job_name, i.failure_phase, i.failure_message, i.agent_id, i.lease_expires_at, i.attempts,
      i.enqueued_at, i.updated_at, i.finished_at, i.retries, i.rung, i.not_before, i.admission_at,
      i.admission_accelerators, i.admission_accelerator_hours, i.failure_class, i.failure_exit_code, i.failure_fix,
      ${events}`;
  const eventRows = (from: string) =>
    `SELECT ${from}.id, e.at, e.type, e.agent_id, e.phase, e.message
       FROM ${from}, unnest($16::timestamptz[], $17::text[], $18::text[], $19::text[], $20::text[])
            WITH ORDINALITY AS e(at, type, agent_id, phase, message, ord)
      ORDER BY e.ord`;
  const insertEvents = `INSERT INTO ${s}.item_events (item_id, at, type, agent_id, phase, message)`;
  return {
    getQueue: `SELECT * FROM ${s}.queues WHERE name = $1`,
    lockQueue: `SELECT * FROM ${s}.queues WHERE name = $1 FOR UPDATE`,
    /**
     * admit()'s turn at a queue: conflicts with other admissions and with DELETE (FOR UPDATE), not with the FOR KEY
     * SHARE of enqueues.
     */
    admitQueue: `SELECT name FROM ${s}.queues WHERE name = $1 FOR NO KEY UPDATE`,
    /** A share lock that conflicts with DELETE (FOR UPDATE) but not with other claims, enqueues or updates. */
    keyShareQueue: `SELECT * FROM ${s}.queues WHERE name = $1 FOR KEY SHARE`,
    listQueues: `SELECT * FROM ${s}.queues ORDER BY name`,
    insertQueue: `INSERT INTO ${s}.queues (name, resource, config, project, region, description, created_at, updated_at, serve_base)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, nextval('${s}.claim_seq')) ON CONFLICT (name) DO NOTHING RETURNING name`,
    updateQueue: `UPDATE ${s}.queues SET config = $2, project = $3, region = $4, description = $5, updated_at = $6 WHERE name = $1`,
    deleteQueue: `DELETE FROM ${s}.queues WHERE name = $1`,
    // No lock on the queue rows: concurrent claimers would share it as a MultiXact, a write each. A queue deleted
    // meanwhile is safe anyway — its unfinished items are row-locked (skipped) until the delete commits them as failed.
    claimQueues: `SELECT q.name, (SELECT max(i.claim_seq) FROM ${s}.items i
        WHERE i.queue = q.name AND i.claim_seq > q.serve_base) AS last_served
      FROM ${s}.queues q WHERE q.name = ANY($1::text[])`,
    claimable: `SELECT ${item} FROM ${s}.items i
      WHERE i.queue = $1 AND i.state <> 'finished'
        AND ((i.state = 'queued' AND (i.not_before IS NULL OR i.not_before <= $2)) OR i.lease_expires_at <= $2)
      ORDER BY i.seq LIMIT 1 FOR UPDATE OF i SKIP LOCKED`,
    /**
     * What admit() weighs: the queue's admitted items in flight and those admitted since $2. Read after the queue
     * row is locked (lockQueue), so it sees every admission committed before.
     */
    admissionPeers: `SELECT ${item} FROM ${s}.items i
      WHERE i.queue = $1 AND i.admission_at IS NOT NULL AND (i.state = 'claimed' OR i.admission_at >= $2)`,
    selectItems: `SELECT ${item} FROM ${s}.items i`,
    getItem: `SELECT ${item} FROM ${s}.items i WHERE i.id = $1`,
    lockItem: `SELECT ${item} FROM ${s}.items i WHERE i.id = $1 FOR UPDATE OF i`,
    lockUnfinished: `SELECT ${item} FROM ${s}.items i WHERE i.queue = $1 AND i.state <> 'finished' ORDER BY i.seq FOR UPDATE OF i`,
    seqOf: `SELECT seq FROM ${s}.items WHERE id = $1`,
    queueOfItem: `SELECT queue FROM ${s}.items WHERE id = $1`,
    /** Inserts an item and its events; returns one row, `inserted` 0 when its id or launch id was taken. */
    insertItem: `WITH i AS (
        INSERT INTO ${s}.items (id, state, phase, cancel_requested, outcome, status, image_uri, job_name, failure_phase,
          failure_message, agent_id, lease_expires_at, attempts, updated_at, finished_at, queue, launch_id, run_id,
          request, enqueued_at, ${RETRY_COLUMNS.join(', ')})
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $21, $22, $23, $24, $25,
          ${retryParams(26)})
        ON CONFLICT DO NOTHING RETURNING id),
      e AS (${insertEvents} ${eventRows('i')})
      SELECT count(*)::int AS inserted FROM i`,
    lockAgent: `SELECT * FROM ${s}.agents WHERE agent_id = $1 FOR UPDATE`,
    saveAgent: `INSERT INTO ${s}.agents (agent_id, host, pid, queues, max_jobs, active, state, heartbeat_interval_ms,
        started_at, heartbeat_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
      ON CONFLICT (agent_id) DO UPDATE SET host = excluded.host, pid = excluded.pid, queues = excluded.queues,
        max_jobs = excluded.max_jobs, active = excluded.active, state = excluded.state,
        heartbeat_interval_ms = excluded.heartbeat_interval_ms, heartbeat_at = excluded.heartbeat_at`,
    pruneAgents: `DELETE FROM ${s}.agents WHERE heartbeat_at < $1`,
    listAgents: `SELECT * FROM ${s}.agents
      WHERE heartbeat_at >= COALESCE($1::timestamptz, clock_timestamp() - $2 * interval '1 millisecond')
      ORDER BY heartbeat_at DESC, agent_id`,
    saveItem: `WITH u AS (
        UPDATE ${s}.items SET state = $2, phase = $3, cancel_requested = $4, outcome = $5, status = $6, image_uri = $7,
          job_name = $8, failure_phase = $9, failure_message = $10, agent_id = $11, lease_expires_at = $12,
          attempts = $13, updated_at = $14, finished_at = $15,
          claim_seq = CASE WHEN $21 THEN nextval('${s}.claim_seq') ELSE claim_seq END, ${retrySets(22)}
        WHERE id = $1 RETURNING id)
      ${insertEvents} ${eventRows('u')}`,
  };
}

/** One transaction: its queries and the time it runs at (epoch ms). */
export interface Tx {
  query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]>;
  readonly now: number;
}

/** How far back `admit` counts admissions against `dailyAcceleratorHours`. */
const ADMISSION_WINDOW_MS = 86_400_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Text columns PostgreSQL cannot store: NUL characters (SQLSTATE 22021 / 22P05). */
const isUnstorableText = (error: unknown) => ['22021', '22P05'].includes((error as { code?: string }).code ?? '');

/**
 * A queue store in PostgreSQL, shared by agents and CLI processes on any number of machines. Returns at once;
 * the connection, the schema check and the migration happen on first use (or `ready()`).
 * @throws ConfigError naming `[queue:postgres]` and each bad option (nothing is connected then).
 * @example
 * const store = postgresQueueStore({ connectionString: 'postgres://launch@db.internal/launch?sslmode=verify-full' });
 * await store.ready();
 */
export function postgresQueueStore(options: PostgresQueueStoreOptions = {}): PostgresQueueStore {
  const parsed = parseOptions(options);
  const connection: PostgresConnection = resolveParsedConnection(parsed);
  const schema = parsed.schema ?? DEFAULT_SCHEMA;
  const statementTimeoutMs = parsed.statementTimeoutMs ?? 30_000;
  const retryTimeoutMs = parsed.retryTimeoutMs ?? 30_000;
  const now = parsed.now;
  const display = `${connection.display} (schema ${schema})`;
  const quotedSchema = quoteIdent(schema);
  const sql = statements(quotedSchema);

  const poolConfig: pg.PoolConfig = {
    ...clientConfig(connection, statementTimeoutMs),
    max: parsed.maxConnections ?? 10,
    idleTimeoutMillis: parsed.idleTimeoutMs ?? 30_000,
    // Idle connections do not keep a CLI process alive; an agent has its own timers.
    allowExitOnIdle: true,
  };
  Object.defineProperty(poolConfig, 'password', { value: connection.password, enumerable: false });
  const pool = new pg.Pool(poolConfig);
  // An idle connection the server closed (restart, pg_terminate_backend) is dropped by the pool; the next call
  // opens a new one. Without a listener the error would end the process.
  pool.on('error', () => undefined);

  let closed = false;
  let opened = false;
  let opening: Promise<DatabaseStatus> | undefined;
  let status: DatabaseStatus | undefined;

  const closedError = () => new QueueError('storage', `The queue store for ${display} was closed; open a new one.`);

  /** A pooled connection with an error listener for as long as it is checked out. */
  const checkout = async (): Promise<{ client: pg.PoolClient; release: (destroy?: boolean) => void }> => {
    const client = await pool.connect();
    let broken = false;
    const onError = () => {
      broken = true;
    };
    client.on('error', onError);
    return {
      client,
      release: (destroy = false) => {
        client.removeListener('error', onError);
        client.release(destroy || broken ? true : undefined);
      },
    };
  };

  const open = async (): Promise<DatabaseStatus> => {
    let lease: Awaited<ReturnType<typeof checkout>>;
    try {
      lease = await checkout();
    } catch (error) {
      throw storageError(display, 'connect', error);
    }
    try {
      const result = await prepareDatabase(lease.client, schema, display, parsed.migrate ?? true);
      lease.release();
      opened = true;
      status = result;
      return result;
    } catch (error) {
      lease.release(true);
      if (error instanceof QueueError) throw error;
      throw storageError(display, 'open the store', error);
    }
  };

  const ready = (): Promise<DatabaseStatus> => {
    if (closed) return Promise.reject(closedError());
    if (status !== undefined) return Promise.resolve(status);
    opening ??= open().finally(() => {
      opening = undefined;
    });
    return opening;
  };

  /** After the first successful open, waits out transient failures until the retry deadline; then throws. */
  const retryOrThrow = async (error: unknown, action: string, deadline: number, attempt: number) => {
    if (error instanceof VertexLaunchError || !opened || !isTransient(error) || Date.now() >= deadline || closed) {
      // The store's own answers (lease_lost, queue_not_found, a ConfigError of a bad request) pass through unchanged.
      if (error instanceof VertexLaunchError) throw error;
      if (isUnstorableText(error)) {
        throw new QueueError(
          'invalid_argument',
          `Queue database ${display}: cannot ${action}: a text value contains a NUL character, which PostgreSQL cannot store. Remove it and try again.`,
          { cause: plainCause(error) },
        );
      }
      const waited = opened && isTransient(error) ? ` after retrying for ${Math.round(retryTimeoutMs / 1000)} s` : '';
      throw storageError(display, action, error, waited);
    }
    const backoff = Math.min(1000, 50 * 2 ** attempt);
    await sleep(backoff / 2 + Math.random() * (backoff / 2));
  };

  /** A read: one statement on a pooled connection, retried on a new one after a transient failure. */
  const read = async <T>(action: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> => {
    await ready();
    const deadline = Date.now() + retryTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      if (closed) throw closedError();
      let lease: Awaited<ReturnType<typeof checkout>> | undefined;
      try {
        lease = await checkout();
        const result = await fn(lease.client);
        lease.release();
        return result;
      } catch (error) {
        lease?.release(isConnectionError(error));
        await retryOrThrow(error, action, deadline, attempt);
      }
    }
  };

  /**
   * True while transaction `xid` may still be running. An xid "in the future" (22023) was never made durable — the
   * server crashed before its WAL reached the disk — so it did not commit.
   */
  const inProgress = async (xid: string): Promise<boolean> => {
    try {
      const { rows } = await pool.query<{ status: string | null }>('SELECT pg_xact_status($1::xid8) AS status', [xid]);
      return rows[0]?.status === 'in progress';
    } catch (error) {
      if (codeOf(error) === '22023') return false;
      throw error;
    }
  };

  /**
   * The outcome of transaction `xid` (which inserted commit token `token`) whose COMMIT lost its answer: true when
   * it committed. The token decides; `pg_xact_status()` only says whether it may still be in progress.
   */
  const committed = async (xid: string, token: string, action: string, deadline: number): Promise<boolean> => {
    for (let attempt = 0; ; attempt++) {
      try {
        const { rows } = await pool.query<{ found: boolean }>(
          `SELECT EXISTS (SELECT 1 FROM ${quotedSchema}.commits WHERE token = $1) AS found`,
          [token],
        );
        if (rows[0]?.found) return true;
        if (!(await inProgress(xid))) return false;
        // Still in progress: the server has not noticed the broken connection yet; it ends such a session after
        // idle_in_transaction_session_timeout at the latest.
        if (Date.now() >= deadline) {
          throw storageError(
            display,
            action,
            new Error(`transaction ${xid} is still in progress after the connection broke during its COMMIT`),
            '; whether it committed is not known yet',
          );
        }
      } catch (error) {
        if (error instanceof QueueError) throw error;
        if (!isTransient(error) || Date.now() >= deadline) {
          throw storageError(
            display,
            action,
            error,
            `; the connection broke during COMMIT and whether it committed is unknown (transaction ${xid})`,
          );
        }
      }
      await sleep(Math.min(1000, 50 * 2 ** attempt));
    }
  };

  // `token` is a randomUUID(): safe to inline in the statement batch (a batch takes no parameters).
  const begin = (mode: string, token: string) =>
    `BEGIN ${mode}; SET LOCAL statement_timeout = ${statementTimeoutMs}; ` +
    `SET LOCAL idle_in_transaction_session_timeout = ${Math.max(statementTimeoutMs, 10_000)}; ` +
    `INSERT INTO ${quotedSchema}.commits (token) VALUES ('${token}'); ` +
    'SELECT pg_current_xact_id()::text AS xid, (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS now';

  /** Commit tokens older than an hour are no longer asked about: removed now and then, without waiting on locks. */
  let writesSincePrune = 0;
  const pruneCommits = () => {
    writesSincePrune = 0;
    pool
      .query(
        `DELETE FROM ${quotedSchema}.commits WHERE token IN (SELECT token FROM ${quotedSchema}.commits ` +
          `WHERE at < clock_timestamp() - interval '1 hour' LIMIT 1000 FOR UPDATE SKIP LOCKED)`,
      )
      .catch(() => undefined);
  };

  /**
   * A write: one transaction, retried as a whole after a transient failure before COMMIT; after a COMMIT whose answer
   * was lost, the transaction's status decides (committed: done; aborted: retried).
   */
  const write = async <T>(action: string, fn: (tx: Tx) => Promise<T>): Promise<T> => {
    await ready();
    const deadline = Date.now() + retryTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      if (closed) throw closedError();
      let lease: Awaited<ReturnType<typeof checkout>> | undefined;
      let xid: string | undefined;
      let result: T | undefined;
      let step: 'connect' | 'body' | 'commit' = 'connect';
      const token = randomUUID();
      try {
        lease = await checkout();
        const client = lease.client;
        step = 'body';
        const started = (await client.query(
          begin('ISOLATION LEVEL READ COMMITTED', token),
        )) as unknown as pg.QueryResult[];
        const head = started.at(-1)?.rows[0] as { xid: string; now: number };
        xid = head.xid;
        const tx: Tx = {
          now: now === undefined ? Math.floor(head.now) : now(),
          query: async <R extends pg.QueryResultRow>(text: string, values?: unknown[]) =>
            (await client.query<R>(text, values)).rows,
        };
        result = await fn(tx);
        step = 'commit';
        await client.query('COMMIT');
        lease.release();
        if (++writesSincePrune >= 500) pruneCommits();
        return result;
      } catch (error) {
        const broken = isConnectionError(error);
        if (lease !== undefined && !broken && step !== 'connect') {
          await lease.client.query('ROLLBACK').catch(() => undefined);
        }
        lease?.release(broken);
        if (step === 'commit' && broken && xid !== undefined && opened) {
          if (await committed(xid, token, action, deadline)) return result as T;
        }
        await retryOrThrow(error, action, deadline, attempt);
      }
    }
  };

  const rowsToItems = (rows: ItemRow[]) => rows.map(toItem);

  const lockItem = async (tx: Tx, id: string): Promise<QueueItem> => {
    const [row] = await tx.query<ItemRow>(sql.lockItem, [id]);
    if (row === undefined) throw itemNotFound(id);
    return toItem(row);
  };
  const save = async (tx: Tx, transition: ItemTransition, claimed = false) => {
    await tx.query(sql.saveItem, [
      ...itemValues(transition.item),
      ...eventArrays(transition.events),
      claimed,
      ...retryValues(transition.item),
    ]);
    return transition.item;
  };
  const insertItem = async (tx: Tx, item: QueueItem): Promise<boolean> => {
    const [row] = await tx.query<{ inserted: number }>(sql.insertItem, [
      ...itemValues(item),
      ...eventArrays(item.events),
      item.queue,
      item.launchId,
      item.runId,
      JSON.stringify(item.request),
      item.enqueuedAt,
      ...retryValues(item),
    ]);
    return row?.inserted === 1;
  };
  const requireQueue = async (tx: Tx, name: string, lock: string) => {
    const [row] = await tx.query<QueueRow>(lock, [name]);
    if (row === undefined) throw queueNotFound(name);
    return toQueue(row);
  };
  const queueValues = (queue: QueueDefinition) => [
    queue.name,
    JSON.stringify(queue.config),
    queue.project ?? null,
    queue.region ?? null,
    queue.description ?? null,
    queue.updatedAt,
  ];
  const fenced = (
    action: string,
    agentId: string,
    itemId: string,
    change: (item: QueueItem, at: number) => ItemTransition,
  ) => {
    checkAgentId(agentId);
    return write(`${action} item ${itemId}`, async (tx) => save(tx, change(await lockItem(tx, itemId), tx.now)));
  };

  const description = `postgresQueueStore(${display})`;

  const store: PostgresQueueStore = {
    name: 'postgres',
    target: { url: connection.display, schema },
    ready,

    async createQueue(input) {
      // Validate before connecting, so a bad queue is reported as such even when the database is down.
      prepareQueue(input, Date.now());
      return write(`create queue ${String(input.name)}`, async (tx) => {
        const queue = prepareQueue(input, tx.now);
        const inserted = await tx.query(sql.insertQueue, [
          queue.name,
          queue.resource,
          JSON.stringify(queue.config),
          queue.project ?? null,
          queue.region ?? null,
          queue.description ?? null,
          queue.createdAt,
          queue.updatedAt,
        ]);
        if (inserted.length === 0) throw queueExists(queue.name);
        return queue;
      });
    },
    async getQueue(name) {
      return read(`read queue ${name}`, async (client) => {
        const { rows } = await client.query<QueueRow>(sql.getQueue, [name]);
        return rows[0] === undefined ? undefined : toQueue(rows[0]);
      });
    },
    async listQueues() {
      return read('list queues', async (client) => (await client.query<QueueRow>(sql.listQueues)).rows.map(toQueue));
    },
    async updateQueue(name, patch) {
      return write(`update queue ${name}`, async (tx) => {
        const queue = prepareQueueUpdate(await requireQueue(tx, name, sql.lockQueue), patch, tx.now);
        await tx.query(sql.updateQueue, queueValues(queue));
        return queue;
      });
    },
    async deleteQueue(name, deleteOptions = {}) {
      await write(`delete queue ${name}`, async (tx) => {
        await requireQueue(tx, name, sql.lockQueue);
        const unfinished = rowsToItems(await tx.query<ItemRow>(sql.lockUnfinished, [name]));
        if (unfinished.length > 0 && deleteOptions.force !== true) throw queueNotEmpty(name, unfinished.length);
        for (const item of unfinished) await save(tx, failForDeletedQueue(item, tx.now));
        await tx.query(sql.deleteQueue, [name]);
      });
    },

    async enqueue(queueName, request) {
      const id = randomUUID();
      return write(`enqueue to queue ${queueName}`, async (tx) => {
        const prepared = prepareLaunchRequest(await requireQueue(tx, queueName, sql.keyShareQueue), request);
        const item = newQueueItem({ id, queue: queueName, ...prepared }, tx.now);
        if (!(await insertItem(tx, item))) {
          throw new QueueError(
            'invalid_argument',
            `Queue item id ${id} or launch id ${item.launchId} is taken; enqueue again.`,
          );
        }
        return item;
      });
    },
    async claim(claimOptions) {
      checkClaimOptions(claimOptions);
      return write(`claim from ${claimOptions.queues.join(', ')}`, async (tx) => {
        const rows = await tx.query<{ name: string; last_served: string | null }>(sql.claimQueues, [
          [...new Set(claimOptions.queues)],
        ]);
        const found = new Map(rows.map((row) => [row.name, row.last_served]));
        for (const name of claimOptions.queues) if (!found.has(name)) throw queueNotFound(name);
        const served = new Map<string, number>();
        for (const [name, last] of found) if (last !== null) served.set(name, Number(last));
        const at = tx.now;
        const leaseUntil = new Date(at).toISOString();
        const maxAttempts = maxAttemptsOf(claimOptions);
        for (const name of queueClaimOrder(claimOptions.queues, served)) {
          for (;;) {
            const [row] = await tx.query<ItemRow>(sql.claimable, [name, leaseUntil]);
            if (row === undefined) break;
            const item = toItem(row);
            if (isExhausted(item, maxAttempts, at)) {
              await save(tx, abandonItem(item, at));
              continue;
            }
            return save(tx, claimItem(item, claimOptions.agentId, claimOptions.leaseMs, at), true);
          }
        }
        return undefined;
      });
    },
    async heartbeat(itemId, agentId, leaseMs) {
      return fenced('heartbeat', agentId, itemId, (item, at) => heartbeatItem(item, agentId, leaseMs, at));
    },
    async recordPhase(itemId, agentId, update) {
      return fenced('record the phase of', agentId, itemId, (item, at) => recordPhaseItem(item, agentId, update, at));
    },
    async complete(itemId, agentId, update) {
      return fenced('complete', agentId, itemId, (item, at) => completeItem(item, agentId, update, at));
    },
    async fail(itemId, agentId, update) {
      return fenced('fail', agentId, itemId, (item, at) => failItem(item, agentId, update, at));
    },
    async requeue(itemId, agentId, reason, requeueOptions) {
      return fenced('requeue', agentId, itemId, (item, at) => requeueItem(item, agentId, reason, at, requeueOptions));
    },
    async retry(itemId, agentId, update) {
      return fenced('retry', agentId, itemId, (item, at) => retryItem(item, agentId, update, at));
    },
    async admit(itemId, agentId, request) {
      checkAgentId(agentId);
      return write(`admit item ${itemId}`, async (tx): Promise<AdmitResult> => {
        // Which queue: read without a lock, then lock the queue row before the peers and the item, so admissions to
        // one queue from any number of machines take turns and two never both take its last slot.
        const [found] = await tx.query<{ queue: string }>(sql.queueOfItem, [itemId]);
        if (found === undefined) throw itemNotFound(itemId);
        await tx.query(sql.admitQueue, [found.queue]);
        const item = await lockItem(tx, itemId);
        const since = new Date(tx.now - ADMISSION_WINDOW_MS).toISOString();
        const peers = rowsToItems(await tx.query<ItemRow>(sql.admissionPeers, [item.queue, since]));
        const decision = admitItem(item, agentId, peers, request, tx.now);
        if (!decision.admitted) return decision;
        return { admitted: true, item: await save(tx, decision.transition) };
      });
    },
    async requestCancel(itemId) {
      return write(`cancel item ${itemId}`, async (tx) =>
        save(tx, requestCancelItem(await lockItem(tx, itemId), tx.now)),
      );
    },
    async get(itemId) {
      return read(`read item ${itemId}`, async (client) => {
        const { rows } = await client.query<ItemRow>(sql.getItem, [itemId]);
        return rows[0] === undefined ? undefined : toItem(rows[0]);
      });
    },
    async list(listOptions: ListItemsOptions = {}) {
      const limit = checkListLimit(listOptions.limit);
      return read('list items', async (client) => {
        const where: string[] = [];
        const params: unknown[] = [];
        if (listOptions.before !== undefined) {
          const { rows } = await client.query<{ seq: string }>(sql.seqOf, [listOptions.before]);
          if (rows[0] === undefined) throw itemNotFound(listOptions.before);
          params.push(rows[0].seq);
          where.push(`i.seq < $${params.length}`);
        }
        if (listOptions.queue !== undefined) {
          params.push(listOptions.queue);
          where.push(`i.queue = $${params.length}`);
        }
        if (listOptions.states !== undefined) {
          params.push([...listOptions.states]);
          where.push(`i.state = ANY($${params.length}::text[])`);
        }
        params.push(limit);
        const { rows } = await client.query<ItemRow>(
          `${sql.selectItems} ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY i.seq DESC LIMIT $${params.length}`,
          params,
        );
        return rowsToItems(rows);
      });
    },
    async recordAgent(heartbeat) {
      const checked = checkAgentHeartbeat(heartbeat);
      return write(`record agent ${checked.agentId}`, async (tx) => {
        await tx.query(sql.pruneAgents, [new Date(tx.now - AGENT_RECORD_RETENTION_MS).toISOString()]);
        const [previous] = await tx.query<AgentRow>(sql.lockAgent, [checked.agentId]);
        const record = agentRecord(checked, previous === undefined ? undefined : toAgent(previous), tx.now);
        await tx.query(sql.saveAgent, [
          record.agentId,
          record.host,
          record.pid ?? null,
          [...record.queues],
          record.maxJobs,
          record.active,
          record.state,
          record.heartbeatIntervalMs,
          record.startedAt,
          record.heartbeatAt,
        ]);
        return record;
      });
    },
    async listAgents() {
      return read('list agents', async (client) => {
        // The store's clock (the server's unless `now` is given), as for leases.
        const since = now === undefined ? null : new Date(now() - AGENT_RECORD_RETENTION_MS).toISOString();
        const { rows } = await client.query<AgentRow>(sql.listAgents, [since, AGENT_RECORD_RETENTION_MS]);
        return rows.map(toAgent);
      });
    },
    async importRecords(records, importOptions) {
      return importRecords({ write, schema: quoteIdent(schema), insertQueue: sql.insertQueue }, records, importOptions);
    },
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
    toString: () => description,
  };
  Object.defineProperty(store, inspect.custom, { value: () => description, enumerable: false });
  return store;
}
