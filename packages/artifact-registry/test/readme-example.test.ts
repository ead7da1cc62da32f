import { fileURLToPath } from 'node:url';
import { auto, resolveCredentials } from '@vertex-launch/auth';
import { type Emulator, startEmulator } from '@vertex-launch/emulator';
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { exampleRegions, README_DRIFT, readmeBlock } from '../../../test/readme-example.js';
import { artifactRegistry } from '../src/index.js';
import { example } from './readme-example.js';

const readme = fileURLToPath(new URL('../README.md', import.meta.url));
const source = fileURLToPath(new URL('./readme-example.ts', import.meta.url));

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator({ projectId: 'my-proj' });
});
afterAll(() => emulator?.stop());

test('the README shows the tested example', () => {
  expect(readmeBlock(readme), README_DRIFT).toBe(exampleRegions(source));
});

test('the README example creates the repository and asks for push credentials', async () => {
  for (const [name, value] of Object.entries(emulator.env)) vi.stubEnv(name, value);
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  const { pushed, digest } = await example();
  expect(pushed).toBe(false);
  expect(digest).toBeUndefined();
  expect(log).toHaveBeenCalledWith(`docker login -u oauth2accesstoken ${emulator.env.VERTEX_LAUNCH_EMULATOR_REGISTRY}`);

  // The repository now exists: checking it without `create` succeeds.
  const registry = artifactRegistry({ credentials: await resolveCredentials(auto()) });
  const info = await registry.ensureRepository('europe-west4-docker.pkg.dev/my-proj/train/trainer');
  expect(info).toMatchObject({ project: 'my-proj', location: 'europe-west4', repository: 'train' });
  await registry.close();
  vi.unstubAllEnvs();
});
