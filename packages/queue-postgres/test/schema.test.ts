// The store's schema on a real server: created and migrated on open, migrations from an older version keep the data,
// concurrent openers migrate once, a schema that is not ours is refused untouched, and `migrate: false` writes nothing.
import { QueueError, seedQueueConfig } from '@vertex-launch/core/queue';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { type PostgresCluster, startPostgresCluster } from '../../../scripts/postgres-cluster.mjs';
import { runMigrations } from '../src/database.js';
import { checkDatabase, migrate, postgresQueueStore, SCHEMA_VERSION } from '../src/index.js';
import { MIGRATIONS, type Migration } from '../src/schema.js';

const config = seedQueueConfig({ spec: { staging_bucket: 'gs://vxl-pg-schema' } });
let cluster: PostgresCluster;
const open: { close(): Promise<unknown> }[] = [];

beforeAll(async () => {
  cluster = await startPostgresCluster();
});
afterEach(async () => {
  for (const thing of open.splice(0)) await thing.close().catch(() => undefined);
});
afterAll(async () => {
  await cluster?.close();
});

const store = (schema: string, extra: Record<string, unknown> = {}) => {
  const s = postgresQueueStore({ connectionString: cluster.url, schema, ...extra });
  open.push(s);
  return s;
};
const client = async () => {
  const c = new pg.Client({ connectionString: cluster.url });
  await c.connect();
  open.push({ close: () => c.end() });
  return c;
};
const tables = async (schema: string) =>
  (
    await cluster.psql(
      `SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '${schema}'`,
    )
  ).trim();

async function storageError(promise: Promise<unknown>): Promise<QueueError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(QueueError);
  expect((error as QueueError).reason).toBe('storage');
  return error as QueueError;
}

describe('opening', () => {
  test('a new database gets the schema, its tables and a record of the migration', async () => {
    const s = store('fresh');
    expect(await s.ready()).toEqual({
      schema: 'fresh',
      state: 'current',
      version: SCHEMA_VERSION,
      expected: SCHEMA_VERSION,
      serverVersion: expect.stringMatching(/^\d+\.\d+/),
    });
    expect(await tables('fresh')).toBe(
      'agents,agents_by_heartbeat,agents_pkey,claim_seq,commits,commits_by_at,commits_pkey,item_events,item_events_by_item,item_events_pkey,item_events_seq_seq,items,items_admitted,items_by_queue,items_id_key,items_launch_id_key,items_pkey,items_seq_seq,items_served,items_unfinished,queues,queues_pkey,vertex_launch_schema,vertex_launch_schema_pkey',
    );
    expect(
      await cluster.psql(
        'SELECT version, name, oldest_compatible, applied_by FROM fresh.vertex_launch_schema ORDER BY version',
      ),
    ).toBe(
      `1|queues, items and item events|1|@vertex-launch/queue-postgres schema ${SCHEMA_VERSION}\n` +
        `2|agent records|1|@vertex-launch/queue-postgres schema ${SCHEMA_VERSION}\n` +
        `3|commit tokens|1|@vertex-launch/queue-postgres schema ${SCHEMA_VERSION}\n` +
        `4|retries, fallback rungs, backoff, admission and failure classes|4|@vertex-launch/queue-postgres schema ${SCHEMA_VERSION}\n`,
    );
    expect(await cluster.psql("SELECT obj_description('fresh'::regnamespace)")).toBe(
      'Vertex Launch queue store (@vertex-launch/queue-postgres)\n',
    );
    // The default schema is vertex_launch.
    await store('x').close();
    const byDefault = postgresQueueStore({ connectionString: cluster.url });
    open.push(byDefault);
    expect((await byDefault.ready()).schema).toBe('vertex_launch');
  });

  test('twelve stores opening one new schema at once migrate it once', async () => {
    const stores = Array.from({ length: 12 }, () => store('racing'));
    const states = await Promise.all(stores.map((s) => s.ready()));
    expect(states.map((s) => s.state)).toEqual(Array(12).fill('current'));
    expect(await cluster.psql('SELECT count(*) FROM racing.vertex_launch_schema')).toBe(`${SCHEMA_VERSION}\n`);
    await stores[0]!.createQueue({ name: 'q', config });
    expect((await stores[11]!.listQueues()).map((q) => q.name)).toEqual(['q']);
  });

  test('a schema holding other tables is refused, and nothing in it changes', async () => {
    await cluster.psql(
      'CREATE SCHEMA billing; CREATE TABLE billing.invoices (id int); INSERT INTO billing.invoices VALUES (7)',
    );
    const error = await storageError(store('billing').ready());
    expect(error.message).toContain(
      'schema `billing` holds 1 table or other relation (invoices) but no vertex_launch_schema table: it is not a Vertex Launch queue store, and nothing was changed. Choose an empty database, or another schema with the `schema` option.',
    );
    await storageError(migrate({ connectionString: cluster.url, schema: 'billing' }));
    await storageError(checkDatabase({ connectionString: cluster.url, schema: 'billing' }));
    expect(await tables('billing')).toBe('invoices');
    expect(await cluster.psql('SELECT id FROM billing.invoices')).toBe('7\n');
  });

  test('an empty schema made by a DBA is used as it is', async () => {
    await cluster.psql('CREATE SCHEMA prepared');
    expect(await checkDatabase({ connectionString: cluster.url, schema: 'prepared' })).toMatchObject({
      state: 'empty',
    });
    expect((await store('prepared').ready()).state).toBe('current');
  });

  test('migrate: false refuses a schema that is not migrated and writes nothing; checkDatabase only reads', async () => {
    const error = await storageError(store('readonly', { migrate: false }).listQueues());
    expect(error.message).toContain('schema `readonly` is not set up yet, and migrations are off (`migrate: false`)');
    expect(error.message).toContain('Run `vertex-launch queue migrate`');
    expect(await checkDatabase({ connectionString: cluster.url, schema: 'readonly' })).toMatchObject({
      state: 'absent',
      version: 0,
      expected: SCHEMA_VERSION,
    });
    expect(await cluster.psql("SELECT count(*) FROM pg_namespace WHERE nspname = 'readonly'")).toBe('0\n');

    expect(await migrate({ connectionString: cluster.url, schema: 'readonly' })).toEqual({
      schema: 'readonly',
      from: 0,
      to: SCHEMA_VERSION,
      applied: MIGRATIONS.map((m) => ({ version: m.version, name: m.name })),
    });
    expect(await migrate({ connectionString: cluster.url, schema: 'readonly' })).toMatchObject({ applied: [] });
    const s = store('readonly', { migrate: false });
    expect((await s.ready()).state).toBe('current');
    await s.createQueue({ name: 'q', config });
  });
});

describe('migrations', () => {
  // A later version made up for the test: it adds a column, which code of this version ignores.
  const next = SCHEMA_VERSION + 1;
  const additive: Migration = {
    version: next,
    name: 'test: items.note',
    oldestCompatible: 1,
    sql: 'ALTER TABLE %s.items ADD COLUMN note text; CREATE INDEX items_note ON %s.items (note)',
  };

  test('from version 1: the agent records table is added and the data written at version 1 is kept', async () => {
    const c = await client();
    expect(await runMigrations(c, 'v1', 'test', [MIGRATIONS[0]!], 1)).toMatchObject({ from: 0, to: 1 });
    await cluster.psql(
      `INSERT INTO v1.queues (name, resource, config, created_at, updated_at, serve_base)
       VALUES ('old', 'gcp-vertex', '${JSON.stringify(config)}', now(), now(), nextval('v1.claim_seq'))`,
    );
    const s = store('v1');
    expect(await s.ready()).toMatchObject({ state: 'current', version: SCHEMA_VERSION });
    expect((await s.getQueue('old'))?.config).toEqual(config);
    const agent = { host: 'h', queues: ['old'], maxJobs: 1, active: 0, state: 'running' as const };
    await s.recordAgent({ agentId: 'a', ...agent, heartbeatIntervalMs: 20_000 });
    expect((await s.listAgents()).map((a) => a.agentId)).toEqual(['a']);
  });

  test('from version 3: items get retries 0 and rung 0 and work with retry and admit', async () => {
    const c = await client();
    expect(await runMigrations(c, 'v3', 'test', MIGRATIONS.slice(0, 3), 3)).toMatchObject({ from: 0, to: 3 });
    await cluster.psql(
      `INSERT INTO v3.queues (name, resource, config, created_at, updated_at, serve_base)
       VALUES ('old', 'gcp-vertex', '${JSON.stringify(config)}', now(), now(), nextval('v3.claim_seq'));
       INSERT INTO v3.items (id, queue, launch_id, run_id, request, state, outcome, failure_phase, failure_message,
         attempts, enqueued_at, updated_at, finished_at)
       VALUES ('done-1', 'old', 'launch-1', 'run1', '{"image":"i:1"}', 'finished', 'failed', 'run',
         'job jobs/1 ended failed', 1, now(), now(), now());
       INSERT INTO v3.items (id, queue, launch_id, run_id, request, state, enqueued_at, updated_at)
       VALUES ('waiting-1', 'old', 'launch-2', 'run2', '{"image":"i:2"}', 'queued', now(), now());`,
    );
    const s = store('v3');
    expect(await s.ready()).toMatchObject({ state: 'current', version: SCHEMA_VERSION });
    const done = await s.get('done-1');
    expect(done).toMatchObject({ retries: 0, rung: 0, failure: { phase: 'run', message: 'job jobs/1 ended failed' } });
    expect(done?.failure).toEqual({ phase: 'run', message: 'job jobs/1 ended failed' });
    expect(done?.admission).toBeUndefined();
    expect(await s.claim({ agentId: 'a', queues: ['old'], leaseMs: 60_000 })).toMatchObject({
      id: 'waiting-1',
      retries: 0,
      rung: 0,
      attempts: 1,
    });
    const request = { accelerators: 1, acceleratorHours: 2, limits: { maxConcurrent: 1 } };
    expect((await s.admit('waiting-1', 'a', request)).admitted).toBe(true);
    const retried = await s.retry('waiting-1', 'a', {
      status: 'failed',
      failure: { class: 'preempted' },
      rung: 1,
      delayMs: 60_000,
      message: 'retry 1 of 2',
    });
    expect(retried).toMatchObject({ state: 'queued', retries: 1, rung: 1 });
    expect(await s.get('waiting-1')).toEqual(retried);
  });

  test('to a later additive version: the data is kept and still used by the code of this version', async () => {
    const c = await client();
    const current = store('upgrade');
    await current.createQueue({ name: 'q', config, region: 'us-central1' });
    const item = await current.enqueue('q', { image: 'i:1' });
    await current.claim({ agentId: 'agent-a', queues: ['q'], leaseMs: 60_000 });
    const before = await current.recordPhase(item.id, 'agent-a', { phase: 'submitted', jobName: 'jobs/1' });
    await current.close();

    const report = await runMigrations(c, 'upgrade', 'test', [...MIGRATIONS, additive]);
    expect(report).toEqual({
      schema: 'upgrade',
      from: SCHEMA_VERSION,
      to: next,
      applied: [{ version: next, name: 'test: items.note' }],
    });
    expect(await cluster.psql('SELECT note IS NULL, run_id FROM upgrade.items')).toBe(`t|${item.runId}\n`);
    // The later version says code of this version may go on using it.
    const after = store('upgrade');
    expect(await after.ready()).toMatchObject({ state: 'newer', version: next, expected: SCHEMA_VERSION });
    expect(await after.get(item.id)).toEqual(before);
    expect(await after.complete(item.id, 'agent-a', { status: 'succeeded', jobName: 'jobs/1' })).toMatchObject({
      outcome: 'succeeded',
    });
  });

  test('a newer version that older code must not touch is refused, naming the upgrade', async () => {
    const c = await client();
    const breaking: Migration = { ...additive, name: 'test: breaking', oldestCompatible: next };
    await runMigrations(c, 'breaking', 'test', [...MIGRATIONS, breaking]);
    const error = await storageError(store('breaking').ready());
    expect(error.message).toContain(
      `schema \`breaking\` is at version ${next}, newer than this @vertex-launch/queue-postgres understands (${SCHEMA_VERSION}), and older versions must not use it. Upgrade @vertex-launch/queue-postgres (and the CLI) on this machine.`,
    );
    expect(await checkDatabase({ connectionString: cluster.url, schema: 'breaking' })).toMatchObject({
      state: 'too-new',
      version: next,
    });
    await storageError(migrate({ connectionString: cluster.url, schema: 'breaking' }));
  });

  test('a migration that fails leaves the schema at the version before, with nothing half done', async () => {
    const c = await client();
    const broken: Migration = {
      version: next,
      name: 'test: broken',
      oldestCompatible: 1,
      sql: 'CREATE TABLE %s.half_done (id int); SELECT no_such_function()',
    };
    await runMigrations(c, 'broken', 'test', [...MIGRATIONS]);
    await expect(runMigrations(c, 'broken', 'test', [...MIGRATIONS, broken])).rejects.toThrow('no_such_function');
    expect(await cluster.psql('SELECT max(version) FROM broken.vertex_launch_schema')).toBe(`${SCHEMA_VERSION}\n`);
    expect(await tables('broken')).not.toContain('half_done');
  });

  test('concurrent migrators through several versions apply each once, in order', async () => {
    const chain: Migration[] = [
      ...MIGRATIONS,
      additive,
      { version: next + 1, name: 'test: three', oldestCompatible: 1, sql: 'CREATE TABLE %s.three (id int)' },
    ];
    const versions = chain.map((m) => m.version);
    const clients = await Promise.all(Array.from({ length: 6 }, () => client()));
    const reports = await Promise.all(clients.map((c) => runMigrations(c, 'chain', 'test', chain)));
    expect(reports.flatMap((r) => r.applied.map((a) => a.version)).sort((a, b) => a - b)).toEqual(versions);
    expect(reports.map((r) => r.to)).toEqual(Array(6).fill(next + 1));
    expect(
      await cluster.psql("SELECT string_agg(version::text, ',' ORDER BY version) FROM chain.vertex_launch_schema"),
    ).toBe(`${versions.join(',')}\n`);
  });
});
