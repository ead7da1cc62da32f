/**
 * The store's tables, in one PostgreSQL schema (namespace, default `vertex_launch`), built by numbered migrations.
 * The table `<schema>.vertex_launch_schema` marks the schema as ours and records every migration applied: its
 * version, name, when and by which package version, and the oldest schema version whose code can still use the
 * database (so a migration that only adds things lets agents that were not upgraded yet keep working).
 *
 * Migrations run in one transaction each, under a transaction-level advisory lock, so many agents opening the store
 * at once migrate it once (PostgreSQL DDL is transactional: a failed migration leaves nothing behind). Append new
 * migrations; never change a published one.
 */

/** One schema migration. */
export interface Migration {
  /** 1, 2, 3, ... in order. */
  readonly version: number;
  /** What it does, recorded in the schema table. */
  readonly name: string;
  /**
   * The oldest schema version whose code still works on a database at this version: the migration's own `version`
   * when older code must not touch the result, lower when it only adds what older code ignores.
   */
  readonly oldestCompatible: number;
  /** SQL with `%s` for the (quoted) schema name. */
  readonly sql: string;
}

/** The marker table of a schema that belongs to this store. */
export const SCHEMA_TABLE = 'vertex_launch_schema';

const PHASES = "'claimed', 'building', 'built', 'submitting', 'submitted', 'running'";

/** Schema migrations, in order. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'queues, items and item events',
    oldestCompatible: 1,
    sql: `
      -- Round-robin: every successful claim takes the next value; a queue's "last served" is the highest value among
      -- its items' claims since the queue was created (serve_base), so claims never contend on the queue row.
      CREATE SEQUENCE %s.claim_seq;

      CREATE TABLE %s.queues (
        name text PRIMARY KEY,
        resource text NOT NULL,
        config json NOT NULL,
        project text,
        region text,
        description text,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        serve_base bigint NOT NULL
      );

      CREATE TABLE %s.items (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id text NOT NULL UNIQUE,
        queue text NOT NULL,
        launch_id text NOT NULL UNIQUE,
        run_id text NOT NULL,
        request json NOT NULL,
        state text NOT NULL CHECK (state IN ('queued', 'claimed', 'finished')),
        phase text CHECK (phase IN (${PHASES})),
        cancel_requested boolean NOT NULL DEFAULT false,
        outcome text CHECK (outcome IN ('succeeded', 'failed', 'cancelled')),
        status text,
        image_uri text,
        job_name text,
        failure_phase text CHECK (failure_phase IN ('agent', 'build', 'run')),
        failure_message text,
        agent_id text,
        lease_expires_at timestamptz,
        attempts integer NOT NULL DEFAULT 0,
        claim_seq bigint,
        enqueued_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        finished_at timestamptz,
        CHECK ((state = 'claimed') = (agent_id IS NOT NULL AND lease_expires_at IS NOT NULL)),
        CHECK ((state = 'finished') = (outcome IS NOT NULL AND finished_at IS NOT NULL))
      );
      -- Claims scan the unfinished items of a queue oldest first; lists page by queue and seq.
      CREATE INDEX items_unfinished ON %s.items (queue, seq) WHERE state <> 'finished';
      CREATE INDEX items_by_queue ON %s.items (queue, seq);
      CREATE INDEX items_served ON %s.items (queue, claim_seq) WHERE claim_seq IS NOT NULL;

      CREATE TABLE %s.item_events (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        item_id text NOT NULL REFERENCES %s.items (id),
        at timestamptz NOT NULL,
        type text NOT NULL,
        agent_id text,
        phase text,
        message text NOT NULL
      );
      CREATE INDEX item_events_by_item ON %s.item_events (item_id, seq);
    `,
  },
  {
    version: 2,
    name: 'agent records',
    // Only adds a table: code of schema 1 keeps working on it.
    oldestCompatible: 1,
    sql: `
      -- What each agent last reported about itself (QueueStore.recordAgent).
      CREATE TABLE %s.agents (
        agent_id text PRIMARY KEY,
        host text NOT NULL,
        pid integer,
        queues text[] NOT NULL,
        max_jobs integer NOT NULL,
        active integer NOT NULL,
        state text NOT NULL CHECK (state IN ('running', 'stopping', 'stopped')),
        heartbeat_interval_ms integer NOT NULL,
        started_at timestamptz NOT NULL,
        heartbeat_at timestamptz NOT NULL
      );
      CREATE INDEX agents_by_heartbeat ON %s.agents (heartbeat_at);
    `,
  },
  {
    version: 3,
    name: 'commit tokens',
    // Only adds a table that older code does not use.
    oldestCompatible: 1,
    sql: `
      -- Each write transaction inserts a random token; after a COMMIT whose answer was lost, the token's presence
      -- says whether it committed. (pg_xact_status() alone cannot: after a crash, the xid of a transaction whose WAL
      -- never reached the disk is handed out again, and the new transaction's outcome would be read as the old one's.)
      CREATE TABLE %s.commits (
        token uuid PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT clock_timestamp()
      );
      CREATE INDEX commits_by_at ON %s.commits (at);
    `,
  },
  {
    version: 4,
    name: 'retries, fallback rungs, backoff, admission and failure classes',
    // Code of schema 3 would claim items before their notBefore and launch without admission under the queue's
    // limits (a spend budget): it must not use a database at this version.
    oldestCompatible: 4,
    sql: `
      ALTER TABLE %s.items
        ADD COLUMN retries integer NOT NULL DEFAULT 0 CHECK (retries >= 0),
        ADD COLUMN rung integer NOT NULL DEFAULT 0 CHECK (rung >= 0),
        -- A queued item is not claimed before this time (a retry's backoff, a deferral).
        ADD COLUMN not_before timestamptz,
        ADD COLUMN admission_at timestamptz,
        ADD COLUMN admission_accelerators integer,
        ADD COLUMN admission_accelerator_hours double precision,
        ADD COLUMN failure_class text,
        ADD COLUMN failure_exit_code integer,
        ADD COLUMN failure_fix text,
        ADD CHECK ((admission_at IS NULL) = (admission_accelerators IS NULL)
          AND (admission_at IS NULL) = (admission_accelerator_hours IS NULL));
      -- admit() reads the admitted items of a queue: those in flight and those admitted within the last day.
      CREATE INDEX items_admitted ON %s.items (queue, admission_at) WHERE admission_at IS NOT NULL;
    `,
  },
];

/** The schema version this package writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** A lowercase identifier (checked by the options schema) quoted for SQL. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** The migration's SQL for `schema`. */
export function migrationSql(migration: Migration, schema: string): string {
  return migration.sql.replaceAll('%s', quoteIdent(schema));
}
