import { existsSync, statSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { QueueError } from '@vertex-launch/core';
import { seedQueueConfig } from '@vertex-launch/core/queue';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { tempDir } from '../../../test/helpers.js';
import { defaultQueueDbPath, SCHEMA_VERSION, sqliteQueueStore } from '../src/index.js';
import { MIGRATIONS } from '../src/schema.js';

const config = seedQueueConfig({ spec: { staging_bucket: 'gs://vxl-sqlite-test' } });
const mode = (path: string) => statSync(path).mode & 0o777;

async function storageError(fn: () => unknown): Promise<QueueError> {
  let error: unknown;
  try {
    await fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(QueueError);
  expect((error as QueueError).reason).toBe('storage');
  expect((error as QueueError).code).toBe('CONFIG_FILE');
  return error as QueueError;
}

let dir: { path: string; cleanup: () => Promise<void> };
beforeEach(async () => {
  dir = await tempDir('vxl-queue-sqlite-');
});
afterEach(async () => {
  await dir.cleanup();
});

describe('where the database lives', () => {
  test('defaults to $XDG_DATA_HOME/vertex-launch/queues.db, else ~/.local/share', () => {
    expect(defaultQueueDbPath({ XDG_DATA_HOME: '/data/me' }, '/home/me')).toBe('/data/me/vertex-launch/queues.db');
    expect(defaultQueueDbPath({}, '/home/me')).toBe('/home/me/.local/share/vertex-launch/queues.db');
    // The XDG spec says relative values are invalid and must be ignored.
    expect(defaultQueueDbPath({ XDG_DATA_HOME: 'data' }, '/home/me')).toBe(
      '/home/me/.local/share/vertex-launch/queues.db',
    );
  });

  test('without `path` the store opens the default file', async () => {
    const previous = process.env.XDG_DATA_HOME;
    process.env.XDG_DATA_HOME = join(dir.path, 'xdg');
    try {
      const store = sqliteQueueStore();
      await store.createQueue({ name: 'default-path', config });
      await store.close();
      expect(existsSync(join(dir.path, 'xdg', 'vertex-launch', 'queues.db'))).toBe(true);
    } finally {
      if (previous === undefined) delete process.env.XDG_DATA_HOME;
      else process.env.XDG_DATA_HOME = previous;
    }
  });

  test('creates missing directories 0700 and the database, -wal and -shm files 0600', async () => {
    const path = join(dir.path, 'a', 'b', 'queues.db');
    const store = sqliteQueueStore({ path });
    await store.createQueue({ name: 'q', config });
    await store.enqueue('q', { image: 'i:1' });
    expect(mode(join(dir.path, 'a'))).toBe(0o700);
    expect(mode(join(dir.path, 'a', 'b'))).toBe(0o700);
    expect(mode(path)).toBe(0o600);
    expect(mode(`${path}-wal`)).toBe(0o600);
    expect(mode(`${path}-shm`)).toBe(0o600);
    await store.close();
  });

  test('an unwritable location fails with the path and the fix', async () => {
    const file = join(dir.path, 'not-a-dir');
    await writeFile(file, 'plain file');
    const path = join(file, 'queues.db');
    const error = await storageError(() => sqliteQueueStore({ path }));
    expect(error.message).toContain(path);
    expect(error.message).toContain('the `path` option of sqliteQueueStore()');
    expect(error.message).toContain(`${file} is a file, not a directory`);
  });

  test('a file that is not a database fails with the path', async () => {
    const path = join(dir.path, 'notes.db');
    await writeFile(path, 'x'.repeat(4096));
    const error = await storageError(() => sqliteQueueStore({ path }));
    expect(error.message).toContain(`The file ${path} is not a SQLite database, so not a Vertex Launch queue database`);
    expect(await readFile(path, 'utf8')).toBe('x'.repeat(4096));
  });
});

describe('schema and durability', () => {
  test('a new database is in WAL mode at the current schema version', async () => {
    const path = join(dir.path, 'queues.db');
    await sqliteQueueStore({ path }).close();
    const db = new Database(path, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(
      db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .pluck()
        .all(),
    ).toEqual(['agents', 'item_events', 'items', 'queues']);
    db.close();
  });

  test('a database of schema version 1 gets the agents table and keeps its queues and items', async () => {
    const path = join(dir.path, 'queues.db');
    const db = new Database(path);
    db.exec(MIGRATIONS[0]!);
    db.pragma('user_version = 1');
    db.prepare(
      `INSERT INTO queues (name, resource, config, created_at, updated_at) VALUES ('old', 'gcp-vertex', ?, 1, 1)`,
    ).run(JSON.stringify(config));
    db.close();
    const store = sqliteQueueStore({ path });
    try {
      expect((await store.getQueue('old'))?.config).toEqual(config);
      await store.recordAgent({
        agentId: 'a',
        host: 'h',
        queues: ['old'],
        maxJobs: 1,
        active: 0,
        state: 'running',
        heartbeatIntervalMs: 20_000,
      });
      expect((await store.listAgents()).map((agent) => agent.queues)).toEqual([['old']]);
    } finally {
      await store.close();
    }
    const reopened = new Database(path, { readonly: true });
    expect(reopened.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    reopened.close();
  });

  test('a database of schema version 2 gets the retry and admission columns; its items read back with retries 0, rung 0', async () => {
    const path = join(dir.path, 'queues.db');
    const db = new Database(path);
    db.exec(MIGRATIONS[0]!);
    db.exec(MIGRATIONS[1]!);
    db.pragma('user_version = 2');
    const at = Date.parse('2030-01-01T00:00:00Z');
    db.prepare(
      `INSERT INTO queues (name, resource, config, created_at, updated_at) VALUES ('old', 'gcp-vertex', ?, ?, ?)`,
    ).run(JSON.stringify(config), at, at);
    db.prepare(
      `INSERT INTO items (id, queue, launch_id, run_id, request, state, failure_phase, failure_message, attempts,
       enqueued_at, updated_at, finished_at, outcome)
       VALUES ('done-1', 'old', 'launch-1', 'run1', '{"image":"i:1"}', 'finished', 'run', 'job jobs/1 ended failed', 1,
       ?, ?, ?, 'failed')`,
    ).run(at, at, at);
    db.prepare(
      `INSERT INTO items (id, queue, launch_id, run_id, request, state, attempts, enqueued_at, updated_at)
       VALUES ('waiting-1', 'old', 'launch-2', 'run2', '{"image":"i:2"}', 'queued', 0, ?, ?)`,
    ).run(at, at);
    db.prepare(
      `INSERT INTO item_events (item_id, at, type, message) VALUES ('waiting-1', ?, 'enqueued', 'enqueued: run run2')`,
    ).run(at);
    db.close();
    const store = sqliteQueueStore({ path, now: () => at + 1000 });
    try {
      expect(await store.get('done-1')).toEqual({
        id: 'done-1',
        queue: 'old',
        launchId: 'launch-1',
        runId: 'run1',
        request: { image: 'i:1' },
        state: 'finished',
        cancelRequested: false,
        outcome: 'failed',
        failure: { phase: 'run', message: 'job jobs/1 ended failed' },
        attempts: 1,
        retries: 0,
        rung: 0,
        enqueuedAt: new Date(at).toISOString(),
        updatedAt: new Date(at).toISOString(),
        finishedAt: new Date(at).toISOString(),
        events: [],
      });
      const waiting = await store.get('waiting-1');
      expect(waiting).toMatchObject({ state: 'queued', retries: 0, rung: 0, attempts: 0 });
      expect(waiting?.notBefore).toBeUndefined();
      expect(waiting?.admission).toBeUndefined();
      // The migrated item works with the new methods.
      const item = await store.claim({ agentId: 'a', queues: ['old'], leaseMs: 60_000 });
      expect(item).toMatchObject({ id: 'waiting-1', retries: 0, rung: 0, attempts: 1 });
      const admitted = await store.admit('waiting-1', 'a', {
        accelerators: 1,
        acceleratorHours: 2,
        limits: { maxConcurrent: 1 },
      });
      expect(admitted.admitted).toBe(true);
      const retried = await store.retry('waiting-1', 'a', {
        status: 'failed',
        failure: { class: 'preempted' },
        rung: 1,
        delayMs: 5000,
        message: 'retry 1 of 2',
      });
      expect(await store.get('waiting-1')).toEqual(retried);
      expect(retried).toMatchObject({ retries: 1, rung: 1, notBefore: new Date(at + 6000).toISOString() });
    } finally {
      await store.close();
    }
    const reopened = new Database(path, { readonly: true });
    expect(reopened.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(
      reopened
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'items_by_admission'")
        .pluck()
        .get(),
    ).toBe('items_by_admission');
    reopened.close();
  });

  test('a database from a newer version is refused, untouched', async () => {
    const path = join(dir.path, 'queues.db');
    await sqliteQueueStore({ path }).close();
    const db = new Database(path);
    db.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
    db.close();
    const error = await storageError(() => sqliteQueueStore({ path }));
    expect(error.message).toContain(`schema version ${SCHEMA_VERSION + 5}`);
    expect(error.message).toContain('Upgrade @vertex-launch/queue-sqlite');
  });

  test('everything committed survives closing and reopening, leases included', async () => {
    const path = join(dir.path, 'queues.db');
    let time = Date.parse('2030-01-01T00:00:00Z');
    const first = sqliteQueueStore({ path, now: () => time });
    await first.createQueue({ name: 'q', config, region: 'us-central1' });
    const { id } = await first.enqueue('q', { image: 'i:1', variables: {}, submitter: 'ci' });
    await first.claim({ agentId: 'agent-a', queues: ['q'], leaseMs: 10_000 });
    await first.recordPhase(id, 'agent-a', { phase: 'submitted', jobName: 'jobs/1', imageUri: 'i:1' });
    const before = await first.get(id);
    await first.close();

    const second = sqliteQueueStore({ path, now: () => time });
    expect(await second.get(id)).toEqual(before);
    expect((await second.getQueue('q'))?.region).toBe('us-central1');
    expect(await second.claim({ agentId: 'agent-b', queues: ['q'], leaseMs: 10_000 })).toBeUndefined();
    time += 10_000;
    const resumed = await second.claim({ agentId: 'agent-b', queues: ['q'], leaseMs: 10_000 });
    expect(resumed).toMatchObject({ id, phase: 'submitted', jobName: 'jobs/1', attempts: 2 });
    await second.close();
  });

  test('a closed store refuses calls', async () => {
    const path = join(dir.path, 'queues.db');
    const store = sqliteQueueStore({ path });
    await store.close();
    const error = await storageError(() => store.listQueues());
    expect(error.message).toContain(`The queue store for ${path} was closed`);
  });

  test('a write lock held too long by another process gives a clear error', async () => {
    const path = join(dir.path, 'queues.db');
    const store = sqliteQueueStore({ path, busyTimeoutMs: 100 });
    await store.createQueue({ name: 'q', config });
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE');
    try {
      const error = await storageError(() => store.enqueue('q', { image: 'i:1' }));
      expect(error.message).toContain(`Queue database ${path}: cannot enqueue to queue q (SQLITE_BUSY`);
      expect(error.message).toContain('the database is locked); retry in a moment');
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    expect((await store.enqueue('q', { image: 'i:1' })).state).toBe('queued');
    await store.close();
  });
});
