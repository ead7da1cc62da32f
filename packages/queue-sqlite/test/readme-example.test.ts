import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, test, vi } from 'vitest';
import { tempDir } from '../../../test/helpers.js';
import { exampleRegions, README_DRIFT, readmeBlock } from '../../../test/readme-example.js';
import { example } from './readme-example.js';

const readme = fileURLToPath(new URL('../README.md', import.meta.url));
const source = fileURLToPath(new URL('./readme-example.ts', import.meta.url));

afterEach(() => {
  vi.unstubAllEnvs();
});

test('the README shows the tested example', () => {
  expect(readmeBlock(readme), README_DRIFT).toBe(exampleRegions(source));
});

test('the README example queues, claims and completes a launch in the default database', async () => {
  const data = await tempDir('vxl-readme-sqlite-');
  try {
    vi.stubEnv('XDG_DATA_HOME', data.path);
    const { item, submitted, done, queues } = await example();
    expect(item).toMatchObject({ queue: 'gpu-t4', state: 'claimed', agentId: 'agent-1' });
    expect(item?.request).toMatchObject({ image: 'us-docker.pkg.dev/my-project-123/train/app:1', submitter: 'alice' });
    expect(submitted).toMatchObject({ phase: 'submitted' });
    expect(done).toMatchObject({
      status: 'succeeded',
      jobName: 'projects/my-project-123/locations/us-central1/customJobs/123',
    });
    expect(queues).toEqual(['gpu-t4']);
    const file = await stat(join(data.path, 'vertex-launch', 'queues.db'));
    expect(file.mode & 0o777).toBe(0o600);
  } finally {
    await data.cleanup();
  }
});
