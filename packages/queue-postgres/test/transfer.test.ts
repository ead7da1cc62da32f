// Moving queues: the import conformance suite on PostgreSQL, and a whole round trip from a machine's SQLite file to
// the team's PostgreSQL and back, through the JSON Lines file `queue export` writes.
import { join } from 'node:path';
import {
  exportQueueRecords,
  formatQueueRecord,
  parseQueueExport,
  type QueueStore,
  seedQueueConfig,
} from '@vertex-launch/core/queue';
import { sqliteQueueStore } from '@vertex-launch/queue-sqlite';
import { queueTransferConformance } from '@vertex-launch/testkit';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type PostgresCluster, startPostgresCluster } from '../../../scripts/postgres-cluster.mjs';
import { tempDir } from '../../../test/helpers.js';
import { postgresQueueStore } from '../src/index.js';

let cluster: PostgresCluster;
let n = 0;
beforeAll(async () => {
  cluster = await startPostgresCluster();
});
afterAll(async () => {
  await cluster?.close();
});

queueTransferConformance('postgres', async (clock) => {
  const schema = `import_${++n}`;
  const store = postgresQueueStore({ connectionString: cluster.url, schema, now: clock.now });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await cluster.psql(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    },
  };
});

async function exportText(store: QueueStore): Promise<string> {
  let text = '';
  for await (const record of exportQueueRecords(store)) text += formatQueueRecord(record);
  return text;
}

test('SQLite -> PostgreSQL -> SQLite: 200 launches in every state arrive unchanged, twice', async () => {
  const dir = await tempDir('vxl-pg-transfer-');
  try {
    const config = seedQueueConfig({ spec: { staging_bucket: 'gs://vxl-pg-transfer' } });
    const laptop = sqliteQueueStore({ path: join(dir.path, 'laptop.db') });
    await laptop.createQueue({ name: 'train', config, region: 'europe-west4' });
    for (let i = 0; i < 200; i++) await laptop.enqueue('train', { image: `i:${i}`, variables: {}, submitter: 'ci' });
    for (let i = 0; i < 150; i++) {
      const item = (await laptop.claim({ agentId: 'laptop-agent', queues: ['train'], leaseMs: 60_000 }))!;
      if (i % 3 === 0) await laptop.complete(item.id, 'laptop-agent', { status: 'succeeded', jobName: `jobs/${i}` });
      else if (i % 3 === 1) await laptop.fail(item.id, 'laptop-agent', { phase: 'build', message: `broke ${i}` });
      else await laptop.requeue(item.id, 'laptop-agent', 'agent stopped');
    }
    const text = await exportText(laptop);
    const team = postgresQueueStore({ connectionString: cluster.url, schema: 'team' });
    expect(await team.importRecords(parseQueueExport(text))).toMatchObject({ queuesCreated: 1, itemsImported: 200 });
    const back = sqliteQueueStore({ path: join(dir.path, 'back.db') });
    await back.importRecords(parseQueueExport(await exportText(team)));
    const original = await laptop.list({ limit: 1000 });
    expect(await team.list({ limit: 1000 })).toEqual(original);
    expect(await back.list({ limit: 1000 })).toEqual(original);
    expect(await back.listQueues()).toEqual(await laptop.listQueues());
    // The oldest claimable item is the same in all three.
    const claims = await Promise.all(
      [laptop, team, back].map((s) => s.claim({ agentId: 'x', queues: ['train'], leaseMs: 60_000 })),
    );
    expect(new Set(claims.map((c) => c?.id)).size).toBe(1);
    for (const s of [laptop, team, back]) await s.close();
  } finally {
    await dir.cleanup();
  }
});
