/**
 * The database schema, as migrations numbered by SQLite's `user_version`: migration N brings the schema from
 * version N-1 to N. Append new migrations; never change a published one.
 */

import { QueueError } from '@vertex-launch/core';
import type Database from 'better-sqlite3';

/** Schema migrations, in order. */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE queues (
    name TEXT PRIMARY KEY,
    resource TEXT NOT NULL,
    config TEXT NOT NULL,
    project TEXT,
    region TEXT,
    description TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    -- round-robin: the claim counter value when an item of this queue was last claimed; 0 = never
    last_served INTEGER NOT NULL DEFAULT 0
  ) STRICT;

  CREATE TABLE items (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    queue TEXT NOT NULL,
    launch_id TEXT NOT NULL UNIQUE,
    run_id TEXT NOT NULL,
    request TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'claimed', 'finished')),
    phase TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    outcome TEXT,
    status TEXT,
    image_uri TEXT,
    job_name TEXT,
    failure_phase TEXT,
    failure_message TEXT,
    agent_id TEXT,
    lease_expires_at INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    enqueued_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    finished_at INTEGER
  ) STRICT;
  CREATE INDEX items_by_queue_state ON items (queue, state, seq);

  CREATE TABLE item_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id TEXT NOT NULL REFERENCES items (id),
    at INTEGER NOT NULL,
    type TEXT NOT NULL,
    agent_id TEXT,
    phase TEXT,
    message TEXT NOT NULL
  ) STRICT;
  CREATE INDEX item_events_by_item ON item_events (item_id, seq);
  `,
  `
  -- What each agent last reported about itself (QueueStore.recordAgent); queues is a JSON list.
  CREATE TABLE agents (
    agent_id TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER,
    queues TEXT NOT NULL,
    max_jobs INTEGER NOT NULL,
    active INTEGER NOT NULL,
    state TEXT NOT NULL,
    heartbeat_interval_ms INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX agents_by_heartbeat ON agents (heartbeat_at);
  `,
  `
  -- Retries, fallback rungs, backoff and admission under the queue's limits (#20); failure class, exit code and fix.
  ALTER TABLE items ADD COLUMN retries INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE items ADD COLUMN rung INTEGER NOT NULL DEFAULT 0;
  -- Epoch ms before which a queued item is not claimed (a retry's backoff, a deferral).
  ALTER TABLE items ADD COLUMN not_before INTEGER;
  ALTER TABLE items ADD COLUMN admission_at INTEGER;
  ALTER TABLE items ADD COLUMN admission_accelerators INTEGER;
  ALTER TABLE items ADD COLUMN admission_accelerator_hours REAL;
  ALTER TABLE items ADD COLUMN failure_class TEXT;
  ALTER TABLE items ADD COLUMN failure_exit_code INTEGER;
  ALTER TABLE items ADD COLUMN failure_fix TEXT;
  -- admit() reads the admitted items of a queue: those in flight and those admitted within the last day.
  CREATE INDEX items_by_admission ON items (queue, admission_at) WHERE admission_at IS NOT NULL;
  `,
];

/** `PRAGMA application_id` of every Vertex Launch queue database ("VxLQ"): a file without it is never written to. */
export const APPLICATION_ID = 0x56784c51;

/** The schema version this package writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Bring the database to `SCHEMA_VERSION`, one migration per transaction (`BEGIN IMMEDIATE`, so concurrent openers
 * migrate once). @throws QueueError `storage` when the file comes from a newer version of this package.
 */
export function migrate(db: Database.Database, path: string): void {
  const version = () => db.pragma('user_version', { simple: true }) as number;
  const tooNew = (found: number) =>
    new QueueError(
      'storage',
      `The queue database ${path} has schema version ${found}, newer than this @vertex-launch/queue-sqlite understands (${SCHEMA_VERSION}). Upgrade @vertex-launch/queue-sqlite (and the CLI) on this machine.`,
    );
  if (version() > SCHEMA_VERSION) throw tooNew(version());
  for (;;) {
    const done = db
      .transaction(() => {
        const current = version();
        if (current > SCHEMA_VERSION) throw tooNew(current);
        if (current === SCHEMA_VERSION) return true;
        db.exec(MIGRATIONS[current]!);
        db.pragma(`user_version = ${current + 1}`);
        return false;
      })
      .immediate();
    if (done) return;
  }
}
