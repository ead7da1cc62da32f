import { fileURLToPath } from 'node:url';
import { type Emulator, startEmulator } from '@vertex-launch/emulator';
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { exampleRegions, README_DRIFT, readmeBlock } from '../../../test/readme-example.js';
import { example } from './readme-example.js';

const readme = fileURLToPath(new URL('../README.md', import.meta.url));
const source = fileURLToPath(new URL('./readme-example.ts', import.meta.url));

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(() => emulator?.stop());

test('the README shows the tested example', () => {
  expect(readmeBlock(readme), README_DRIFT).toBe(exampleRegions(source));
});

test('the README example resolves credentials from the environment and checks the launch permissions', async () => {
  // What `vertex-launch emulator start` tells a user to export.
  for (const [name, value] of Object.entries(emulator.env)) vi.stubEnv(name, value);
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  const { credentials, token, report } = await example();
  expect(credentials.strategy).toBe('environment');
  expect(credentials.projectId).toBe(emulator.projectId);
  expect(token).toBe(emulator.env.GOOGLE_OAUTH_ACCESS_TOKEN);
  expect(report.project).toBe(emulator.projectId);
  expect(report.checks.length).toBeGreaterThan(3);
  expect(report.ok).toBe(true); // the emulator's admin principal holds every permission
  expect(log.mock.calls.map((call) => String(call[0]))).toEqual([`environment: ${credentials.source}`]);
  expect(JSON.stringify(log.mock.calls)).not.toContain(token);
  vi.unstubAllEnvs();
});
