import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { README_DRIFT, readmeBlock } from '../../../test/readme-example.js';

// The example is a whole test file that runs in the queue-sqlite package's integration tests.
test('the README shows the queue-sqlite conformance test as it is', () => {
  const readme = fileURLToPath(new URL('../README.md', import.meta.url));
  const file = fileURLToPath(new URL('../../queue-sqlite/test/conformance.test.ts', import.meta.url));
  expect(readmeBlock(readme), README_DRIFT).toBe(readFileSync(file, 'utf8').trimEnd());
});
