import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, expect, test, vi } from 'vitest';
import { type PostgresCluster, startPostgresCluster } from '../../../scripts/postgres-cluster.mjs';
import { exampleRegions, README_DRIFT, readmeBlock } from '../../../test/readme-example.js';
import { example } from './readme-example.js';

const readme = fileURLToPath(new URL('../README.md', import.meta.url));
const source = fileURLToPath(new URL('./readme-example.ts', import.meta.url));
let cluster: PostgresCluster;

beforeAll(async () => {
  cluster = await startPostgresCluster();
});
afterAll(async () => {
  await cluster?.close();
});
afterEach(() => {
  vi.unstubAllEnvs();
});

test('the README shows the tested example', () => {
  expect(readmeBlock(readme), README_DRIFT).toBe(exampleRegions(source));
});

test('the README example queues, claims and completes a launch in PostgreSQL, and prints no password', async () => {
  vi.stubEnv('VERTEX_LAUNCH_QUEUE_DB', cluster.url);
  const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
  const { item, submitted, done, shown } = await example();
  expect(item).toMatchObject({ queue: 'gpu-t4', state: 'claimed', agentId: 'agent-1' });
  expect(item?.request).toMatchObject({ image: 'us-docker.pkg.dev/my-project-123/train/app:1', submitter: 'alice' });
  expect(submitted).toMatchObject({ phase: 'submitted' });
  expect(done).toMatchObject({
    status: 'succeeded',
    jobName: 'projects/my-project-123/locations/us-central1/customJobs/123',
  });
  expect(shown).toBe(`postgresQueueStore(postgres://vxl@127.0.0.1:${cluster.port}/postgres (schema vertex_launch))`);
  expect(log.mock.calls).toEqual([[shown]]);
  expect(JSON.stringify(log.mock.calls)).not.toContain(cluster.password);
  expect(await cluster.psql('SELECT state, outcome FROM vertex_launch.items')).toBe('finished|succeeded\n');
});
