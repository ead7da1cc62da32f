import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildEvent } from '@vertex-launch/core';
import { type Emulator, startEmulator } from '@vertex-launch/emulator';
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
  dir = await tempDir('vxl-readme-docker-');
});
afterAll(async () => {
  process.chdir(cwd);
  await emulator?.stop();
  await dir?.cleanup();
});

test('the README shows the tested example', () => {
  expect(readmeBlock(readme), README_DRIFT).toBe(exampleRegions(source));
});

test('the README example builds ./trainer with its content tag and pushes it to the registry', async () => {
  // A context that needs no base image: FROM scratch.
  await mkdir(join(dir.path, 'trainer'));
  await writeFile(join(dir.path, 'trainer', 'Dockerfile'), 'FROM scratch\nARG EPOCHS\nCOPY train.txt /train.txt\n');
  await writeFile(join(dir.path, 'trainer', 'train.txt'), 'epochs\n');
  process.chdir(dir.path);
  for (const [name, value] of Object.entries(emulator.env)) vi.stubEnv(name, value);
  vi.stubEnv('XDG_CACHE_HOME', join(dir.path, 'cache')); // the stat cache of fingerprintContext
  const events = vi.spyOn(console, 'error').mockImplementation(() => {});
  try {
    const { destination, imageUri, digest } = await example();
    expect(destination).toMatch(/^us-central1-docker\.pkg\.dev\/my-proj\/ml\/trainer:ctx-[0-9a-f]{12}$/);
    expect(imageUri).toBe(destination);
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const types = events.mock.calls.map(([event]) => (event as BuildEvent).type);
    expect(types).toContain('push');
    // The registry serves the pushed image under the emulator's name for it.
    const local = emulator.toLocalImageRef(destination);
    const docker = new Docker({ socketPath: '/var/run/docker.sock' });
    await docker
      .getImage(local)
      .remove({ force: true })
      .catch(() => undefined);
  } finally {
    process.chdir(cwd);
    vi.unstubAllEnvs();
  }
});
