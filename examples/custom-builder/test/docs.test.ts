// docs/builders.md shows the example's real code: every block marked with its source file must appear in it verbatim.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { repoRoot } from '../../../test/helpers.js';

it('the "write your own builder" guide quotes examples/custom-builder verbatim', () => {
  const doc = readFileSync(join(repoRoot, 'docs', 'builders.md'), 'utf8');
  const blocks = [...doc.matchAll(/<!-- code: (\S+) -->\n```ts\n([\s\S]*?)```/g)];
  expect(blocks.length).toBeGreaterThanOrEqual(5);
  for (const [, file, code] of blocks) {
    const source = readFileSync(join(repoRoot, file as string), 'utf8');
    expect(source, `${file} no longer contains a block quoted in docs/builders.md`).toContain(code as string);
  }
  const conformance = readFileSync(join(repoRoot, 'examples/custom-builder/test/conformance.test.ts'), 'utf8');
  expect(doc).toContain(conformance.slice(conformance.indexOf('import { buildBusyboxBaseImage')).trim());
});
