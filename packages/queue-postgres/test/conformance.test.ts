import { queueStoreConformance } from '@vertex-launch/testkit';
import { afterAll, beforeAll } from 'vitest';
import { type PostgresCluster, startPostgresCluster } from '../../../scripts/postgres-cluster.mjs';
import { postgresQueueStore } from '../src/index.js';

let cluster: PostgresCluster;
let n = 0;
beforeAll(async () => {
  cluster = await startPostgresCluster();
});
afterAll(async () => {
  await cluster?.close();
});

// A fresh schema per test: the store creates and migrates it on first use; cleanup drops it.
queueStoreConformance('postgres', async (clock) => {
  const schema = `conformance_${++n}`;
  const store = postgresQueueStore({ connectionString: cluster.url, schema, now: clock.now });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await cluster.psql(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    },
  };
});
