import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Storage } from '@google-cloud/storage';
import { type Emulator, startEmulator, storageClientOptions } from '@vertex-launch/emulator';
import Docker from 'dockerode';
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { tempDir } from '../../../test/helpers.js';
import { exampleRegions, README_DRIFT, readmeBlock } from '../../../test/readme-example.js';
import { example } from './readme-example.js';

const readme = fileURLToPath(new URL('../README.md', import.meta.url));
const source = fileURLToPath(new URL('./readme-example.ts', import.meta.url));

let emulator: Emulator;
let dir: { path: string; cleanup: () => Promise<void> };
const cwd = process.cwd();
beforeAll(async () => {
  emulator = await startEmulator({ projectId: 'my-proj' });
  emulator.createDockerRepository('us-central1', 'ml');
  const storage = new Storage(
    storageClientOptions({ httpUrl: emulator.httpUrl, projectId: emulator.projectId, token: emulator.adminToken }),
  );
  await storage.createBucket('my-proj-builds');
  dir = await tempDir('vxl-readme-cloudbuild-');
});
afterAll(async () => {
  process.chdir(cwd);
  await emulator?.stop();
  await dir?.cleanup();
});

test('the README shows the tested example', () => {
  expect(readmeBlock(readme), README_DRIFT).toBe(exampleRegions(source));
});

test('the README example uploads ./trainer, builds it on Cloud Build, streams the log and returns the digest', async () => {
  await mkdir(join(dir.path, 'trainer'));
  await writeFile(join(dir.path, 'trainer', 'Dockerfile'), 'FROM scratch\nCOPY train.txt /train.txt\n');
  await writeFile(join(dir.path, 'trainer', 'train.txt'), 'epochs\n');
  process.chdir(dir.path);
  for (const [name, value] of Object.entries(emulator.env)) vi.stubEnv(name, value);
  vi.stubEnv('XDG_CACHE_HOME', join(dir.path, 'cache')); // the stat cache of the build context
  const log = vi.spyOn(console, 'error').mockImplementation(() => {});
  try {
    const { digest } = await example();
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const lines = log.mock.calls.map(([line]) => String(line));
    expect(lines.some((line) => line.includes('Step #0'))).toBe(true);
    expect(lines.at(-1)).toMatch(/DONE/);
  } finally {
    process.chdir(cwd);
    vi.unstubAllEnvs();
    const local = emulator.toLocalImageRef('us-central1-docker.pkg.dev/my-proj/ml/trainer:v1');
    await new Docker({ socketPath: '/var/run/docker.sock' })
      .getImage(local)
      .remove({ force: true })
      .catch(() => undefined);
  }
});
