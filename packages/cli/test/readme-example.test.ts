import { copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import { repoRoot, tempDir } from '../../../test/helpers.js';
import { exampleRegions, README_DRIFT, readmeBlock } from '../../../test/readme-example.js';
import { example } from './readme-example.js';

const readme = fileURLToPath(new URL('../README.md', import.meta.url));
const source = fileURLToPath(new URL('./readme-example.ts', import.meta.url));

let dir: Awaited<ReturnType<typeof tempDir>>;
const cwd = process.cwd();
beforeEach(async () => {
  dir = await tempDir('vxl-readme-cli-');
  process.chdir(dir.path);
});
afterEach(async () => {
  process.chdir(cwd);
  await dir.cleanup();
});

test('the README shows the tested example', () => {
  expect(readmeBlock(readme), README_DRIFT).toBe(exampleRegions(source));
});

test('the README example validates a good queue config: exit 0, valid', async () => {
  await copyFile(join(repoRoot, 'examples', 'queue.yaml'), 'queue.yaml');
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  const { exitCode, report } = await example();
  expect(exitCode).toBe(0);
  expect(report).toMatchObject({ valid: true, issues: [] });
  expect(log).not.toHaveBeenCalled();
});

test('the README example lists every problem of a bad one with its path: exit 2', async () => {
  await writeFile('queue.yaml', 'spec:\n  workerPoolSpecs: []\nrun:\n  timeout: soon\n');
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  const { exitCode, report } = await example();
  expect(exitCode).toBe(2);
  expect(report.valid).toBe(false);
  const lines = log.mock.calls.map(([line]) => String(line));
  expect(lines.some((line) => line.startsWith('spec.workerPoolSpecs: ') && line.includes('worker_pool_specs'))).toBe(
    true,
  );
  expect(lines.some((line) => line.startsWith('run.timeout: '))).toBe(true);
});
