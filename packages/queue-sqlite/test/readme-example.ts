// The example of packages/queue-sqlite/README.md, run by readme-example.test.ts (which checks that the README shows
// exactly the code between the readme-example markers).
// readme-example:start
import { seedQueueConfig } from '@vertex-launch/core/queue';
import { sqliteQueueStore } from '@vertex-launch/queue-sqlite';
// readme-example:end

export async function example() {
  // readme-example:start
  const store = sqliteQueueStore(); // $XDG_DATA_HOME/vertex-launch/queues.db, else ~/.local/share/vertex-launch/queues.db
  await store.createQueue({
    name: 'gpu-t4',
    config: seedQueueConfig({ spec: { staging_bucket: 'gs://my-bucket' } }),
    project: 'my-project-123',
    region: 'us-central1',
  });
  await store.enqueue('gpu-t4', { image: 'us-docker.pkg.dev/my-project-123/train/app:1', submitter: 'alice' });

  // An agent claims under a lease and persists each step before and after it happens.
  const item = await store.claim({ agentId: 'agent-1', queues: ['gpu-t4'], leaseMs: 60_000 });
  if (item === undefined) throw new Error('no work');
  await store.recordPhase(item.id, 'agent-1', { phase: 'submitting' });
  const jobName = 'projects/my-project-123/locations/us-central1/customJobs/123';
  const submitted = await store.recordPhase(item.id, 'agent-1', { phase: 'submitted', jobName });
  const done = await store.complete(item.id, 'agent-1', { status: 'succeeded', jobName });
  const queues = (await store.listQueues()).map((queue) => queue.name);
  await store.close();
  // readme-example:end
  return { item, submitted, done, queues };
}
