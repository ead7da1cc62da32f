// The example of packages/dashboard/README.md, run by readme-example.test.ts (which checks that the README shows
// exactly the code between the readme-example markers).
// readme-example:start
import { memoryQueueStore, seedQueueConfig } from '@vertex-launch/core/queue';
import { startDashboard } from '@vertex-launch/dashboard';
// readme-example:end

export async function example() {
  // readme-example:start
  const store = memoryQueueStore(); // or sqliteQueueStore(), postgresQueueStore({ connectionString })
  await store.createQueue({
    name: 'gpu-t4',
    config: seedQueueConfig({ spec: { staging_bucket: 'gs://my-bucket' } }),
  });
  const dashboard = await startDashboard({ store, onLog: (line) => console.error(line.message) });
  console.log(`open ${dashboard.url}`); // http://127.0.0.1:PORT/?token=...
  // readme-example:end
  return { store, dashboard };
}
