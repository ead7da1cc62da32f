import { fileURLToPath } from 'node:url';
import { expect, test, vi } from 'vitest';
import { exampleRegions, README_DRIFT, readmeBlock } from '../../../test/readme-example.js';

const readme = fileURLToPath(new URL('../README.md', import.meta.url));
const source = fileURLToPath(new URL('./readme-example.ts', import.meta.url));

test('the README shows the tested example', () => {
  expect(readmeBlock(readme), README_DRIFT).toBe(exampleRegions(source));
});

test('the README example validates, resolves and maps a queue config', async () => {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  const { check, request } = await import('./readme-example.js');
  expect(check.ok).toBe(false);
  expect(String(log.mock.calls[0]?.[0])).toMatch(/bad\.yaml.*workerPoolSpecs[\s\S]*worker_pool_specs/);
  expect(request.parent).toBe('projects/my-project/locations/us-central1');
  const pool = request.customJob.jobSpec.workerPoolSpecs[0];
  expect(pool?.containerSpec?.imageUri).toBe('us-central1-docker.pkg.dev/my-project/train/trainer:1');
  expect(log).toHaveBeenLastCalledWith('projects/my-project/locations/us-central1', ['--epochs', '10']);
});
