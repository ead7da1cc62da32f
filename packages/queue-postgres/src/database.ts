/**
 * Opening a database for the store: the server version check, the "is this schema ours" check, and the migrations.
 * `migrate()` (what `vertex-launch queue migrate` runs) and `checkDatabase()` (read-only: nothing is written) are the
 * public entry points; the store runs the same steps when it opens.
 */
import { QueueError } from '@vertex-launch/core';
import pg from 'pg';
import { type PostgresConnection, resolveParsedConnection } from './connection.js';
import { plainCause, storageError } from './errors.js';
import { PLUGIN, type PostgresQueueStoreOptions, parseOptions } from './options.js';
import { MIGRATIONS, type Migration, migrationSql, quoteIdent, SCHEMA_TABLE, SCHEMA_VERSION } from './schema.js';

/** The default schema of the store's tables. */
export const DEFAULT_SCHEMA = 'vertex_launch';

/** The oldest PostgreSQL the store runs on: 13 (`pg_current_xact_id()` / `pg_xact_status()`, used to resolve lost commits). */
export const MIN_SERVER_VERSION = 130000;

/** Something that runs SQL: a node-postgres client. */
export interface SqlClient {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

/** What a database holds for the store, as `checkDatabase()` reports it. */
export interface DatabaseStatus {
  /** The schema (namespace) checked. */
  readonly schema: string;
  /**
   * `absent`: no such schema (it is created on first use); `empty`: the schema exists and holds nothing;
   * `current`: at this package's version; `older`: needs `migrate()`; `newer`: written by a newer version of this
   * package that this one can still use; `too-new`: written by a newer version that this one must not touch.
   */
  readonly state: 'absent' | 'empty' | 'current' | 'older' | 'newer' | 'too-new';
  /** Schema version found (0 when absent or empty). */
  readonly version: number;
  /** The schema version this package writes. */
  readonly expected: number;
  /** The server's version, e.g. `15.18`. */
  readonly serverVersion: string;
}

/** What `migrate()` did. */
export interface MigrationReport {
  readonly schema: string;
  /** Version before. */
  readonly from: number;
  /** Version after. */
  readonly to: number;
  /** The migrations applied, in order (empty when there was nothing to do). */
  readonly applied: readonly { version: number; name: string }[];
}

const notOurs = (display: string, schema: string, relations: string[]) =>
  new QueueError(
    'storage',
    `Queue database ${display}: schema \`${schema}\` holds ${relations.length} table${relations.length === 1 ? '' : 's'} or other relation${relations.length === 1 ? '' : 's'} (${relations.slice(0, 5).join(', ')}${relations.length > 5 ? ', ...' : ''}) but no ${SCHEMA_TABLE} table: it is not a Vertex Launch queue store, and nothing was changed. Choose an empty database, or another schema with the \`schema\` option.`,
  );

const tooNew = (display: string, schema: string, version: number) =>
  new QueueError(
    'storage',
    `Queue database ${display}: schema \`${schema}\` is at version ${version}, newer than this @vertex-launch/queue-postgres understands (${SCHEMA_VERSION}), and older versions must not use it. Upgrade @vertex-launch/queue-postgres (and the CLI) on this machine.`,
  );

interface Inspection {
  exists: boolean;
  relations: string[];
  marked: boolean;
  version: number;
  oldestCompatible: number;
}

/** Reads what schema `schema` holds. Read-only. */
export async function inspectSchema(client: SqlClient, schema: string): Promise<Inspection> {
  const { rows } = await client.query<{ relations: string[] | null }>(
    `SELECT (SELECT array_agg(c.relname::text ORDER BY c.relname) FROM pg_catalog.pg_class c
              WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')) AS relations
       FROM pg_catalog.pg_namespace n WHERE n.nspname = $1`,
    [schema],
  );
  if (rows.length === 0) return { exists: false, relations: [], marked: false, version: 0, oldestCompatible: 0 };
  const relations = rows[0]!.relations ?? [];
  if (!relations.includes(SCHEMA_TABLE)) {
    return { exists: true, relations, marked: false, version: 0, oldestCompatible: 0 };
  }
  const marker = await client.query<{ version: number; oldest_compatible: number }>(
    `SELECT version, oldest_compatible FROM ${quoteIdent(schema)}.${SCHEMA_TABLE} ORDER BY version DESC LIMIT 1`,
  );
  const top = marker.rows[0];
  return {
    exists: true,
    relations,
    marked: true,
    version: top?.version ?? 0,
    oldestCompatible: top?.oldest_compatible ?? 0,
  };
}

function stateOf(found: Inspection, display: string, schema: string): DatabaseStatus['state'] {
  if (!found.exists) return 'absent';
  if (!found.marked) {
    if (found.relations.length > 0) throw notOurs(display, schema, found.relations);
    return 'empty';
  }
  if (found.version === SCHEMA_VERSION) return 'current';
  if (found.version < SCHEMA_VERSION) return 'older';
  return found.oldestCompatible <= SCHEMA_VERSION ? 'newer' : 'too-new';
}

/** The server version, refusing servers older than 13. */
export async function checkServer(client: SqlClient, display: string): Promise<string> {
  const { rows } = await client.query<{ num: string; text: string }>(
    "SELECT current_setting('server_version_num') AS num, current_setting('server_version') AS text",
  );
  const num = Number(rows[0]?.num ?? 0);
  const text = (rows[0]?.text ?? 'unknown').split(' ')[0] ?? 'unknown';
  if (num < MIN_SERVER_VERSION) {
    throw new QueueError(
      'storage',
      `Queue database ${display}: PostgreSQL ${text} is too old; the queue store needs PostgreSQL 13 or newer. Upgrade the server.`,
    );
  }
  return text;
}

/** The advisory lock that serialises migrations of one schema (two int4 keys: a constant, then the schema's hash). */
const LOCK = 'SELECT pg_advisory_xact_lock(1448364108, hashtext($1))';

/**
 * Brings `schema` to `target` (default: the newest of `migrations`), one migration per transaction under an advisory
 * lock. Refuses a schema that is not ours and one newer than `migrations` know. Exposed for tests, which migrate
 * through made-up later versions; the store and `migrate()` pass {@link MIGRATIONS}.
 */
export async function runMigrations(
  client: SqlClient,
  schema: string,
  display: string,
  migrations: readonly Migration[] = MIGRATIONS,
  target: number = migrations.length,
  appliedBy = `@vertex-launch/queue-postgres schema ${SCHEMA_VERSION}`,
): Promise<MigrationReport> {
  const known = migrations.length;
  const applied: { version: number; name: string }[] = [];
  let from: number | undefined;
  const q = quoteIdent(schema);
  for (;;) {
    await client.query('BEGIN');
    try {
      await client.query(LOCK, [schema]);
      const found = await inspectSchema(client, schema);
      if (found.exists && !found.marked && found.relations.length > 0) throw notOurs(display, schema, found.relations);
      if (found.version > known && found.oldestCompatible > known) throw tooNew(display, schema, found.version);
      from ??= found.version;
      if (found.version >= target) {
        await client.query('COMMIT');
        return { schema, from, to: found.version, applied };
      }
      if (!found.exists) await client.query(`CREATE SCHEMA ${q}`);
      if (!found.marked) {
        await client.query(
          `CREATE TABLE ${q}.${SCHEMA_TABLE} (
             version integer PRIMARY KEY,
             name text NOT NULL,
             oldest_compatible integer NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now(),
             applied_by text NOT NULL
           )`,
        );
        await client.query(`COMMENT ON SCHEMA ${q} IS 'Vertex Launch queue store (@vertex-launch/queue-postgres)'`);
      }
      const next = migrations[found.version];
      if (next === undefined || next.version !== found.version + 1) {
        throw new QueueError('storage', `${PLUGIN} Migration ${found.version + 1} is missing; this package is broken.`);
      }
      await client.query(migrationSql(next, schema));
      await client.query(
        `INSERT INTO ${q}.${SCHEMA_TABLE} (version, name, oldest_compatible, applied_by) VALUES ($1, $2, $3, $4)`,
        [next.version, next.name, next.oldestCompatible, appliedBy],
      );
      await client.query('COMMIT');
      applied.push({ version: next.version, name: next.name });
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }
}

/**
 * Checks (read-only) that the store can use the database as it is, migrating first when `migrate` is set.
 * @throws QueueError `storage`: not ours, too new, or older while `migrate` is off.
 */
export async function prepareDatabase(
  client: SqlClient,
  schema: string,
  display: string,
  migrate: boolean,
): Promise<DatabaseStatus> {
  const serverVersion = await checkServer(client, display);
  let found = await inspectSchema(client, schema);
  let state = stateOf(found, display, schema);
  if (state === 'too-new') throw tooNew(display, schema, found.version);
  if (state === 'absent' || state === 'empty' || state === 'older') {
    if (!migrate) {
      throw new QueueError(
        'storage',
        `Queue database ${display}: schema \`${schema}\` is ${state === 'older' ? `at version ${found.version}, older than this package needs (${SCHEMA_VERSION})` : 'not set up yet'}, and migrations are off (\`migrate: false\`). Run \`vertex-launch queue migrate\` (or migrate() of @vertex-launch/queue-postgres), then try again.`,
      );
    }
    await runMigrations(client, schema, display);
    found = await inspectSchema(client, schema);
    state = stateOf(found, display, schema);
  }
  return { schema, state, version: found.version, expected: SCHEMA_VERSION, serverVersion };
}

async function withClient<T>(
  options: PostgresQueueStoreOptions,
  action: string,
  fn: (client: pg.Client, connection: PostgresConnection, schema: string) => Promise<T>,
): Promise<T> {
  const parsed = parseOptions(options);
  const connection = resolveParsedConnection(parsed);
  const schema = parsed.schema ?? DEFAULT_SCHEMA;
  const client = new pg.Client(clientConfig(connection, parsed.statementTimeoutMs ?? 30_000));
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    throw storageError(connection.display, 'connect', error);
  }
  try {
    return await fn(client, connection, schema);
  } catch (error) {
    if (error instanceof QueueError) throw error;
    throw storageError(connection.display, action, error);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** node-postgres settings for a connection (one client, or each of the pool's). */
export function clientConfig(connection: PostgresConnection, statementTimeoutMs: number): pg.ClientConfig {
  const config: pg.ClientConfig = {
    host: connection.host,
    port: connection.port,
    user: connection.user,
    database: connection.database,
    ssl: connection.ssl,
    application_name: connection.applicationName,
    connectionTimeoutMillis: connection.connectTimeoutMs,
    keepAlive: true,
    // A client-side limit above the server's: the store sets `statement_timeout` and
    // `idle_in_transaction_session_timeout` with SET LOCAL in each transaction rather than in the startup packet, which
    // poolers such as PgBouncer refuse; this one ends a read that hangs on a dead network.
    query_timeout: statementTimeoutMs + 5_000,
  };
  // Not enumerable, as on the connection: printing the config does not show it.
  Object.defineProperty(config, 'password', { value: connection.password, enumerable: false });
  return config;
}

/**
 * Brings the store's schema in the database the options name to this package's version (what `vertex-launch queue
 * migrate` runs). Safe to run while agents use the database and from many machines at once: migrations take an
 * advisory lock and run one transaction each.
 * @throws ConfigError for bad options; QueueError `storage` when the database cannot be reached, holds a schema that
 * is not ours, or was written by a newer version of this package.
 */
export async function migrate(options: PostgresQueueStoreOptions = {}): Promise<MigrationReport> {
  return withClient(options, 'migrate the schema', async (client, connection, schema) => {
    await checkServer(client, connection.display);
    return runMigrations(client, schema, connection.display);
  });
}

/**
 * Says what the database the options name holds for the store, without writing anything.
 * @throws QueueError `storage` when it cannot be reached or its schema holds tables that are not the store's.
 */
export async function checkDatabase(options: PostgresQueueStoreOptions = {}): Promise<DatabaseStatus> {
  return withClient(options, 'read the schema', async (client, connection, schema) => {
    const serverVersion = await checkServer(client, connection.display);
    const found = await inspectSchema(client, schema);
    return {
      schema,
      state: stateOf(found, connection.display, schema),
      version: found.version,
      expected: SCHEMA_VERSION,
      serverVersion,
    };
  });
}

export { plainCause };
