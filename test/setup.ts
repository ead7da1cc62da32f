// Vitest setup for every test file: loopback-only network, no metadata-server probing,
// and a failure for the test that tried to leave the machine. A failing test of a file that drew from the run's seed
// (test/seed.ts) prints how to replay it.
import { relative } from 'node:path';
import { afterEach, beforeEach, expect } from 'vitest';
// @ts-expect-error plain ESM module without types
import { takeViolations } from './net-guard.mjs';
import { resolveTestSeed, testSeedUsed } from './seed.js';

process.env.METADATA_SERVER_DETECTION = 'none';
// Keep any gcloud configuration of the developer's machine out of the tests.
process.env.CLOUDSDK_CONFIG ??= '/nonexistent/vertex-launch-tests/gcloud';
delete process.env.GOOGLE_APPLICATION_CREDENTIALS;

afterEach(() => {
  const violations: string[] = takeViolations();
  expect(violations, 'this test tried to reach a non-loopback address').toEqual([]);
});

beforeEach(({ onTestFailed, task }) => {
  onTestFailed(() => {
    if (!testSeedUsed()) return;
    const seed = resolveTestSeed();
    const file = task.file ? relative(process.cwd(), task.file.filepath) : '<file>';
    console.error(
      `[seed] "${task.name}" failed with seed ${seed}; replay: VXL_TEST_SEED=${seed} pnpm vitest run ${file}`,
    );
  });
});
