import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { resolveTestSeed } from './test/seed.js';

const root = fileURLToPath(new URL('.', import.meta.url));

// Tests import workspace packages by name; resolve them to their sources so no build is
// needed for unit and integration tests. (Tests that run the CLI as a process use the
// built `dist/`, which the root `test` script builds first.)
const alias = [
  {
    // Subpath exports of core (`@vertex-launch/core/config`, ...): each is a folder with an index.ts.
    find: /^@vertex-launch\/core\/([a-z]+)$/,
    replacement: `${root}packages/core/src/$1/index.ts`,
  },
  {
    find: /^@vertex-launch\/([a-z0-9-]+)$/,
    replacement: `${root}packages/$1/src/index.ts`,
  },
];

// `VXL_TEST_SEED=random` draws one seed here, before the workers start: every test file of the run inherits it
// (test/seed.ts, docs/reliability.md). Anything else is checked at once, so a bad value stops the run with one line.
try {
  resolveTestSeed(process.env);
} catch (error) {
  console.error((error as Error).message);
  process.exit(2);
}

export default defineConfig({
  resolve: { alias },
  test: {
    setupFiles: [`${root}test/setup.ts`],
    restoreMocks: true,
    // Two test files at a time even on a 2-core machine (vitest's default there is one): most integration and
    // reliability tests wait on child processes, Docker and emulator timers rather than on the CPU.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/*.test.ts', 'packages/*/src/**/*.test.ts'],
          // Runs the built CLI against the emulator: an integration test that lives beside the docs tests.
          exclude: ['test/getting-started.test.ts', '**/node_modules/**'],
          // Some unit tests start an in-process emulator or a child process: vitest's 5 s default is too tight when
          // CI's two cores also run a second clone's install (a wire test once took 6 s under that load).
          testTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: [
            'packages/*/test/**/*.test.ts',
            'examples/*/test/**/*.test.ts',
            'test/getting-started.test.ts',
            'test/integration/**/*.test.ts',
          ],
          exclude: ['**/reliability/**', '**/node_modules/**'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'reliability',
          include: ['packages/*/test/reliability/**/*.test.ts', 'test/reliability/**/*.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
