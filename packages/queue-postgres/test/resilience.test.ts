// The store on a real server that misbehaves: connections cut (one, or all at once), a COMMIT whose answer is lost,
// the server restarted (fast and immediate) while work goes on, a server down longer than the retry window, and
// connection errors that name the database but never the password.
import { QueueError, type QueueItem, seedQueueConfig } from '@vertex-launch/core/queue';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { freePort, type PostgresCluster, startPostgresCluster } from '../../../scripts/postgres-cluster.mjs';
import { type PostgresQueueStore, postgresQueueStore } from '../src/index.js';
import { BreakingProxy } from './proxy.js';

const config = seedQueueConfig({ spec: { staging_bucket: 'gs://vxl-pg-resilience' } });
const SEED = Number(process.env.VXL_PG_SEED ?? Date.now() % 100_000);
let cluster: PostgresCluster;
let proxy: BreakingProxy;
const stores: PostgresQueueStore[] = [];
let schemas = 0;

beforeAll(async () => {
  console.info(`[queue-postgres resilience] seed ${SEED} (set VXL_PG_SEED to repeat)`);
  cluster = await startPostgresCluster();
  proxy = new BreakingProxy({ host: '127.0.0.1', port: cluster.port });
  await proxy.start();
});
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});
afterAll(async () => {
  await proxy?.stop();
  await cluster?.close();
});

/** A store on a schema of its own, through the proxy unless `direct`. */
function newStore(extra: Record<string, unknown> = {}, direct = false): PostgresQueueStore {
  const port = direct ? cluster.port : proxy.port;
  const store = postgresQueueStore({
    connectionString: `postgres://${cluster.user}:${cluster.password}@127.0.0.1:${port}/postgres`,
    schema: `resilience_${++schemas}`,
    ...extra,
  });
  stores.push(store);
  return store;
}

/** A small seeded PRNG (mulberry32). */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function caught(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  return error as Error;
}

describe('a COMMIT whose answer is lost', () => {
  test('committed: the call succeeds once; nothing is applied twice', async () => {
    const store = newStore();
    await store.createQueue({ name: 'q', config });
    const item = await store.enqueue('q', { image: 'i:1' });
    proxy.breakNextCommit('lose-answer');
    const claimed = await store.claim({ agentId: 'agent-a', queues: ['q'], leaseMs: 60_000 });
    expect(claimed).toMatchObject({ id: item.id, agentId: 'agent-a', attempts: 1 });
    proxy.breakNextCommit('lose-answer');
    const phase = await store.recordPhase(item.id, 'agent-a', { phase: 'submitted', jobName: 'jobs/1' });
    proxy.breakNextCommit('lose-answer');
    const done = await store.complete(item.id, 'agent-a', { status: 'succeeded', jobName: 'jobs/1' });
    expect(proxy.broken).toBeGreaterThanOrEqual(3);
    expect(phase.phase).toBe('submitted');
    expect(done.outcome).toBe('succeeded');
    // One claim, one phase, one completion: the store did not run a committed transaction again.
    expect((await store.get(item.id))!.events.map((e) => e.type)).toEqual([
      'enqueued',
      'claimed',
      'phase',
      'completed',
    ]);
  });

  test('never committed: the call is retried on a new connection and applied once', async () => {
    const store = newStore();
    await store.createQueue({ name: 'q', config });
    const before = proxy.broken;
    proxy.breakNextCommit('lose-commit');
    const item = await store.enqueue('q', { image: 'i:1' });
    expect(proxy.broken).toBe(before + 1);
    expect((await store.list({ queue: 'q' })).map((i) => i.id)).toEqual([item.id]);
    proxy.breakNextCommit('lose-commit');
    await store.claim({ agentId: 'agent-a', queues: ['q'], leaseMs: 60_000 });
    expect((await store.get(item.id))!.events.map((e) => e.type)).toEqual(['enqueued', 'claimed']);
  });
});

describe('lost connections', () => {
  test('every connection cut while four workers drain a queue: each call succeeds, each item is claimed once', async () => {
    const store = newStore({ maxConnections: 4 });
    const random = prng(SEED);
    await store.createQueue({ name: 'q', config });
    const ids = new Set<string>();
    for (let i = 0; i < 120; i++) ids.add((await store.enqueue('q', { image: `i:${i}` })).id);
    const finished: string[] = [];
    const worker = async (agent: string) => {
      for (;;) {
        const item = await store.claim({ agentId: agent, queues: ['q'], leaseMs: 60_000 });
        if (item === undefined) return;
        await store.recordPhase(item.id, agent, { phase: 'submitted', jobName: `jobs/${item.id}` });
        finished.push((await store.complete(item.id, agent, { status: 'succeeded', jobName: `jobs/${item.id}` })).id);
      }
    };
    let cuts = 0;
    let connectionsCut = 0;
    const cutter = (async () => {
      while (finished.length < 120 && cuts < 40) {
        await new Promise((r) => setTimeout(r, 5 + Math.floor(random() * 40)));
        connectionsCut += proxy.cutAll();
        cuts += 1;
      }
    })();
    await Promise.all(['a', 'b', 'c', 'd'].map(worker));
    await cutter;
    console.info(
      `[queue-postgres resilience] ${cuts} cuts (${connectionsCut} connections) while 4 workers drained 120 items`,
    );
    expect(connectionsCut).toBeGreaterThan(10);
    expect(new Set(finished)).toEqual(ids);
    expect(finished).toHaveLength(120);
    for (const item of await store.list({ queue: 'q', limit: 200 })) {
      expect(item.events.map((e) => e.type)).toEqual(['enqueued', 'claimed', 'phase', 'completed']);
    }
  });

  test('the server ends the store’s sessions (pg_terminate_backend): the next calls reconnect', async () => {
    const store = newStore({}, true);
    await store.createQueue({ name: 'q', config });
    const terminated = await cluster.psql(
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'vertex-launch' AND pid <> pg_backend_pid()",
    );
    expect(Number(terminated)).toBeGreaterThan(0);
    expect((await store.enqueue('q', { image: 'i:1' })).state).toBe('queued');
    expect((await store.listQueues()).map((q) => q.name)).toEqual(['q']);
  });
});

describe('server restarts', () => {
  test.each([
    ['fast', 300],
    ['immediate', 1500],
  ] as const)(
    'restarted (%s, down %i ms) while workers enqueue, claim and complete: nothing lost, nothing twice',
    async (mode, downMs) => {
      const store = newStore({ maxConnections: 6 }, true);
      await store.createQueue({ name: 'q', config });
      const enqueued: QueueItem[] = [];
      const completed: string[] = [];
      let stop = false;
      // Workers stop once the producer has stopped and its last enqueue has been answered, and nothing is left to
      // claim: an enqueue still in flight when `stop` is set is claimed too.
      let producing = true;
      const producer = (async () => {
        while (!stop) enqueued.push(await store.enqueue('q', { image: `i:${enqueued.length}` }));
        producing = false;
      })();
      const worker = async (agent: string) => {
        for (;;) {
          const idle = !producing;
          const item = await store.claim({ agentId: agent, queues: ['q'], leaseMs: 60_000 });
          if (item === undefined) {
            if (idle) return;
            await new Promise((r) => setTimeout(r, 5));
            continue;
          }
          await store.heartbeat(item.id, agent, 60_000);
          completed.push(
            (await store.complete(item.id, agent, { status: 'succeeded', jobName: `jobs/${item.id}` })).id,
          );
        }
      };
      const workers = ['a', 'b', 'c'].map(worker);
      await new Promise((r) => setTimeout(r, 400));
      const beforeRestart = completed.length;
      await cluster.restart({ mode, downMs });
      const restartedAt = completed.length;
      await new Promise((r) => setTimeout(r, 600));
      stop = true;
      await producer;
      await Promise.all(workers);
      console.info(
        `[queue-postgres resilience] restart ${mode} (down ${downMs} ms): ${enqueued.length} enqueued, ${completed.length} completed (${beforeRestart} before the restart, ${completed.length - restartedAt} after)`,
      );
      expect(beforeRestart).toBeGreaterThan(0);
      expect(completed.length - restartedAt).toBeGreaterThan(0);
      const items = await store.list({ queue: 'q', limit: 10_000 });
      expect(items.map((i) => i.id).sort()).toEqual(enqueued.map((i) => i.id).sort());
      expect(completed.sort()).toEqual(enqueued.map((i) => i.id).sort());
      for (const item of items) {
        expect(item).toMatchObject({ state: 'finished', outcome: 'succeeded', attempts: 1 });
        expect(item.events.map((e) => e.type)).toEqual(['enqueued', 'claimed', 'completed']);
      }
    },
  );

  test('a server down longer than retryTimeoutMs: the call fails naming the database, then works once it is back', async () => {
    const store = newStore({ retryTimeoutMs: 800, connectTimeoutMs: 500 }, true);
    await store.createQueue({ name: 'q', config });
    await cluster.stop();
    try {
      const started = Date.now();
      const error = await caught(store.enqueue('q', { image: 'i:1' }));
      expect(Date.now() - started).toBeLessThan(5000);
      expect(error).toBeInstanceOf(QueueError);
      expect((error as QueueError).reason).toBe('storage');
      expect(error.message).toMatch(
        new RegExp(
          `^Queue database postgres://vxl@127\\.0\\.0\\.1:${cluster.port}/postgres \\(schema resilience_\\d+\\): cannot enqueue to queue q \\(`,
        ),
      );
      expect(error.message).toContain('after retrying for 1 s');
      expect(error.message).toContain('check that the server runs and accepts connections from here');
      expect(error.message).not.toContain(cluster.password);
    } finally {
      await cluster.start();
    }
    expect((await store.enqueue('q', { image: 'i:2' })).state).toBe('queued');
  });
});

describe('connecting', () => {
  test('nothing listening: the first call fails at once (no retries before the store ever connected)', async () => {
    const port = await freePort();
    const store = postgresQueueStore({
      connectionString: `postgres://vxl:${cluster.password}@127.0.0.1:${port}/postgres`,
    });
    stores.push(store);
    const started = Date.now();
    const error = await caught(store.listQueues());
    expect(Date.now() - started).toBeLessThan(3000);
    expect(error.message).toBe(
      `Queue database postgres://vxl@127.0.0.1:${port}/postgres (schema vertex_launch): cannot connect (ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:${port}); check that the server runs and accepts connections from here (host, port, pg_hba.conf, firewall); retry when it is back.`,
    );
  });

  test('a wrong password or database is named, with the fix; the password never shows', async () => {
    const wrong = 'Wr0ng-Secret-Value';
    const bad = postgresQueueStore({ connectionString: `postgres://vxl:${wrong}@127.0.0.1:${cluster.port}/postgres` });
    stores.push(bad);
    const auth = await caught(bad.ready());
    expect(auth.message).toContain('cannot connect (28P01: password authentication failed for user "vxl")');
    expect(auth.message).toContain(
      'check the user and password (the `password` option, the URL, PGPASSWORD or ~/.pgpass)',
    );
    const noDb = postgresQueueStore({
      host: '127.0.0.1',
      port: cluster.port,
      user: 'vxl',
      password: cluster.password,
      database: 'launches',
    });
    stores.push(noDb);
    const missing = await caught(noDb.ready());
    expect(missing.message).toContain('cannot connect (3D000: database "launches" does not exist)');
    expect(missing.message).toContain('create the database (`createdb`)');
    for (const error of [auth, missing]) {
      const everything = `${error.message}\n${error.stack}\n${JSON.stringify(error)}\n${String((error as { cause?: unknown }).cause)}`;
      expect(everything).not.toContain(wrong);
      expect(everything).not.toContain(cluster.password);
    }
  });

  test('leases run on the server clock unless `now` is given', async () => {
    const store = newStore({}, true);
    await store.createQueue({ name: 'q', config });
    await store.enqueue('q', { image: 'i:1' });
    const item = (await store.claim({ agentId: 'a', queues: ['q'], leaseMs: 3_600_000 }))!;
    const server = Number(await cluster.psql('SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint'));
    expect(Math.abs(Date.parse(item.leaseExpiresAt!) - 3_600_000 - server)).toBeLessThan(5_000);
    const fixed = newStore({ now: () => Date.parse('2031-06-01T00:00:00Z') }, true);
    await fixed.createQueue({ name: 'q', config });
    expect((await fixed.enqueue('q', { image: 'i:1' })).enqueuedAt).toBe('2031-06-01T00:00:00.000Z');
  });

  test('a NUL character PostgreSQL cannot store is refused as bad input, naming the reason', async () => {
    const store = newStore({}, true);
    await store.createQueue({ name: 'q', config });
    await store.enqueue('q', { image: 'i:1' });
    const error = await caught(store.claim({ agentId: 'agent\u0000x', queues: ['q'], leaseMs: 60_000 }));
    expect(error).toMatchObject({ name: 'QueueError', reason: 'invalid_argument' });
    expect(error.message).toContain('a text value contains a NUL character, which PostgreSQL cannot store');
    expect((await store.list({ queue: 'q' }))[0]!.state).toBe('queued');
  });

  test('a closed store refuses calls', async () => {
    const store = newStore({}, true);
    await store.ready();
    await store.close();
    const error = await caught(store.listQueues());
    expect(error.message).toMatch(
      /^The queue store for postgres:\/\/vxl@127\.0\.0\.1:\d+\/postgres \(schema resilience_\d+\) was closed/,
    );
  });
});
