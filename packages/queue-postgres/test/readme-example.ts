// The example of packages/queue-postgres/README.md, run by readme-example.test.ts (which checks that the README shows
// exactly the code between the readme-example markers).
// readme-example:start
import { seedQueueConfig } from '@vertex-launch/core/queue';
import { postgresQueueStore } from '@vertex-launch/queue-postgres';
// readme-example:end

export async function example() {
  // readme-example:start
  // postgres://user:password@host:5432/database?sslmode=verify-full — parts it leaves out come from PGHOST,
  // PGUSER, PGPASSWORD, PGDATABASE, ... (or ~/.pgpass), as for psql.
  const store = postgresQueueStore({ connectionString: process.env.VERTEX_LAUNCH_QUEUE_DB });
  await store.ready(); // connects, checks that the schema is the store's, migrates it
  await store.createQueue({
    name: 'gpu-t4',
    config: seedQueueConfig({ spec: { staging_bucket: 'gs://my-bucket' } }),
    project: 'my-project-123',
    region: 'us-central1',
  });
  await store.enqueue('gpu-t4', { image: 'us-docker.pkg.dev/my-project-123/train/app:1', submitter: 'alice' });

  // Agents on any machine claim under a lease and persist each step before and after it happens.
  const item = await store.claim({ agentId: 'agent-1', queues: ['gpu-t4'], leaseMs: 60_000 });
  if (item === undefined) throw new Error('no work');
  await store.recordPhase(item.id, 'agent-1', { phase: 'submitting' });
  const jobName = 'projects/my-project-123/locations/us-central1/customJobs/123';
  const submitted = await store.recordPhase(item.id, 'agent-1', { phase: 'submitted', jobName });
  const done = await store.complete(item.id, 'agent-1', { status: 'succeeded', jobName });
  console.log(`${store}`); // postgresQueueStore(postgres://launch@db:5432/launch (schema vertex_launch)): no password
  await store.close();
  // readme-example:end
  return { item, submitted, done, shown: String(store) };
}
