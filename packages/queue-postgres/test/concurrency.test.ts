// Claims with FOR UPDATE SKIP LOCKED on a real server: many stores (each its own pool, as agents on many machines
// have) drain one queue without a double claim or a lost item, a claimer skips an item another transaction holds
// instead of waiting for it, and a fenced write waits for the row lock so the lease check sees the latest state.
import { type QueueItem, seedQueueConfig } from '@vertex-launch/core/queue';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { type PostgresCluster, startPostgresCluster } from '../../../scripts/postgres-cluster.mjs';
import { type PostgresQueueStore, postgresQueueStore } from '../src/index.js';

const config = seedQueueConfig({ spec: { staging_bucket: 'gs://vxl-pg-concurrency' } });
let cluster: PostgresCluster;
const stores: PostgresQueueStore[] = [];
const clients: pg.Client[] = [];

beforeAll(async () => {
  cluster = await startPostgresCluster();
});
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const c of clients.splice(0)) await c.end();
});
afterAll(async () => {
  await cluster?.close();
});

const open = (schema: string, maxConnections = 4) => {
  const store = postgresQueueStore({ connectionString: cluster.url, schema, maxConnections });
  stores.push(store);
  return store;
};

describe('SKIP LOCKED claims', () => {
  test('16 stores x 4 connections drain 800 items across two queues: every item claimed once, none lost', async () => {
    const setup = open('drain');
    await setup.createQueue({ name: 'a', config });
    await setup.createQueue({ name: 'b', config });
    const ids = new Set<string>();
    for (let i = 0; i < 800; i++) ids.add((await setup.enqueue(i % 3 === 0 ? 'b' : 'a', { image: `i:${i}` })).id);
    const agents = Array.from({ length: 16 }, (_, i) => ({
      id: `agent-${i}`,
      store: open('drain'),
      got: [] as QueueItem[],
    }));
    await Promise.all(agents.map((a) => a.store.ready()));
    const started = Date.now();
    // Four claim loops per store: 64 concurrent claimers on 64 connections.
    await Promise.all(
      agents.flatMap((agent) =>
        Array.from({ length: 4 }, async () => {
          for (;;) {
            const item = await agent.store.claim({ agentId: agent.id, queues: ['a', 'b'], leaseMs: 60_000 });
            if (item === undefined) return;
            agent.got.push(item);
            await agent.store.complete(item.id, agent.id, { status: 'succeeded', jobName: `jobs/${item.id}` });
          }
        }),
      ),
    );
    const seconds = (Date.now() - started) / 1000;
    const claimed = agents.flatMap((a) => a.got.map((item) => item.id));
    console.info(
      `[queue-postgres concurrency] 64 claimers on 16 pools: 800 items claimed+completed in ${seconds.toFixed(1)} s (${Math.round(800 / seconds)}/s); per agent ${agents.map((a) => a.got.length).join('/')}`,
    );
    expect(claimed).toHaveLength(800);
    expect(new Set(claimed)).toEqual(ids);
    for (const agent of agents) expect(agent.got.length).toBeGreaterThan(0);
    const items = await setup.list({ limit: 1000 });
    expect(items).toHaveLength(800);
    for (const item of items) {
      expect(item).toMatchObject({ state: 'finished', outcome: 'succeeded', attempts: 1 });
      expect(item.events.filter((e) => e.type === 'claimed')).toHaveLength(1);
    }
    // Both queues were served while both had work (round-robin).
    const firstHundred = agents.flatMap((a) => a.got).sort((x, y) => x.updatedAt.localeCompare(y.updatedAt));
    expect(new Set(firstHundred.slice(0, 100).map((i) => i.queue))).toEqual(new Set(['a', 'b']));
  });

  test('an item locked by another transaction is skipped, not waited for', async () => {
    const store = open('skip');
    await store.createQueue({ name: 'q', config });
    const first = await store.enqueue('q', { image: 'i:1' });
    const second = await store.enqueue('q', { image: 'i:2' });
    const holder = new pg.Client({ connectionString: cluster.url });
    clients.push(holder);
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query('SELECT id FROM skip.items WHERE id = $1 FOR UPDATE', [first.id]);
    const started = Date.now();
    const got = await store.claim({ agentId: 'agent-a', queues: ['q'], leaseMs: 60_000 });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(got?.id).toBe(second.id);
    expect(await store.claim({ agentId: 'agent-b', queues: ['q'], leaseMs: 60_000 })).toBeUndefined();
    await holder.query('ROLLBACK');
    expect((await store.claim({ agentId: 'agent-b', queues: ['q'], leaseMs: 60_000 }))?.id).toBe(first.id);
  });

  test('a fenced write waits for the row lock and then sees the change made under it', async () => {
    const store = open('fence');
    await store.createQueue({ name: 'q', config });
    const { id } = await store.enqueue('q', { image: 'i:1' });
    await store.claim({ agentId: 'agent-a', queues: ['q'], leaseMs: 60_000 });
    // Another session finishes the item (as a forced queue delete would) while holding the row.
    const other = new pg.Client({ connectionString: cluster.url });
    clients.push(other);
    await other.connect();
    await other.query('BEGIN');
    await other.query('SELECT id FROM fence.items WHERE id = $1 FOR UPDATE', [id]);
    const heartbeat = store.heartbeat(id, 'agent-a', 60_000).then(
      () => 'beat',
      (e: Error) => e.message,
    );
    await new Promise((r) => setTimeout(r, 300));
    await other.query(
      "UPDATE fence.items SET state = 'finished', outcome = 'failed', agent_id = NULL, lease_expires_at = NULL, finished_at = now() WHERE id = $1",
      [id],
    );
    await other.query('COMMIT');
    expect(await heartbeat).toContain('it is already finished (failed)');
  });
});

describe('admissions under a queue limit', () => {
  test('two stores (two pools) racing admissions for maxConcurrent 1: exactly one is admitted, every round', async () => {
    const setup = open('admit_race');
    const agents = [
      { id: 'agent-a', store: open('admit_race') },
      { id: 'agent-b', store: open('admit_race') },
    ];
    await Promise.all(agents.map((a) => a.store.ready()));
    const request = { accelerators: 4, acceleratorHours: 8, limits: { maxConcurrent: 1, maxAccelerators: 4 } };
    for (let round = 0; round < 20; round++) {
      const queue = `q${round}`;
      await setup.createQueue({ name: queue, config });
      await setup.enqueue(queue, { image: 'i:1' });
      await setup.enqueue(queue, { image: 'i:2' });
      const items = await Promise.all(
        agents.map(async (a) => (await a.store.claim({ agentId: a.id, queues: [queue], leaseMs: 60_000 }))!),
      );
      const results = await Promise.all(agents.map((a, i) => a.store.admit(items[i]!.id, a.id, request)));
      expect(results.filter((r) => r.admitted)).toHaveLength(1);
      const refused = results.find((r) => !r.admitted);
      expect(refused).toMatchObject({ admitted: false, limit: 'max_concurrent', never: false });
      const saved = await setup.list({ queue });
      expect(saved.filter((item) => item.admission !== undefined)).toHaveLength(1);
    }
  });

  test('an admission waits for the queue row lock another transaction holds', async () => {
    const store = open('admit_lock');
    await store.createQueue({ name: 'q', config });
    const { id } = await store.enqueue('q', { image: 'i:1' });
    await store.claim({ agentId: 'agent-a', queues: ['q'], leaseMs: 60_000 });
    const holder = new pg.Client({ connectionString: cluster.url });
    clients.push(holder);
    await holder.connect();
    await holder.query('BEGIN');
    // The lock another admission to the queue holds while it decides.
    await holder.query("SELECT name FROM admit_lock.queues WHERE name = 'q' FOR NO KEY UPDATE");
    let settled = false;
    const admission = store
      .admit(id, 'agent-a', { accelerators: 1, acceleratorHours: 1, limits: { maxConcurrent: 1 } })
      .finally(() => {
        settled = true;
      });
    await new Promise((r) => setTimeout(r, 300));
    expect(settled).toBe(false);
    // An enqueue does not wait for it.
    expect((await store.enqueue('q', { image: 'i:2' })).state).toBe('queued');
    await holder.query('ROLLBACK');
    expect((await admission).admitted).toBe(true);
  });
});
