import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Emulator, startEmulator } from '@vertex-launch/emulator';
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { repoRoot, tempDir } from '../../../test/helpers.js';
import { exampleRegions, README_DRIFT, readmeBlock } from '../../../test/readme-example.js';
import { example } from './readme-example.js';

const readme = fileURLToPath(new URL('../README.md', import.meta.url));
const source = fileURLToPath(new URL('./readme-example.ts', import.meta.url));

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator({
    projectId: 'my-project',
    jobTimings: { queuedMs: 20, pendingMs: 20, runningMs: 50 },
  });
});
afterAll(() => emulator?.stop());

test('the README shows the tested example', () => {
  expect(readmeBlock(readme), README_DRIFT).toBe(exampleRegions(source));
});

test('the README example launches the queue config and follows the job to SUCCEEDED', async () => {
  const dir = await tempDir('vxl-readme-vertex-');
  const cwd = process.cwd();
  try {
    // The queue config of the root README, as queue.yaml in the working directory.
    await copyFile(join(repoRoot, 'examples', 'queue.yaml'), join(dir.path, 'queue.yaml'));
    process.chdir(dir.path);
    for (const [name, value] of Object.entries(emulator.env)) vi.stubEnv(name, value);
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const events = vi.spyOn(console, 'error').mockImplementation(() => {});
    await example();

    const [jobName, consoleUrl] = log.mock.calls[0] ?? [];
    expect(jobName).toMatch(/^projects\/\d+\/locations\/us-central1\/customJobs\/\d+$/);
    expect(consoleUrl).toContain('console.cloud.google.com/vertex-ai');
    expect(log.mock.calls.at(-1)).toEqual(['JOB_STATE_SUCCEEDED', undefined]);
    expect(events.mock.calls.map(([type]) => type)).toContain('submitted');
  } finally {
    process.chdir(cwd);
    vi.unstubAllEnvs();
    await dir.cleanup();
  }
});
