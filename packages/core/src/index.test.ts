import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

test('core never imports a Google library (only zod, yaml, @balena/dockerignore and node: modules) outside tests', async () => {
  const srcDir = fileURLToPath(new URL('.', import.meta.url));
  const files = (await readdir(srcDir, { recursive: true })).filter(
    (f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.startsWith('__fixtures__'),
  );
  const external = new Set<string>();
  for (const file of files) {
    const text = await readFile(join(srcDir, file), 'utf8');
    for (const match of text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)) {
      const spec = match[1]!;
      if (!spec.startsWith('.')) external.add(spec.startsWith('node:') ? 'node:*' : spec);
    }
  }
  expect([...external].sort()).toEqual(['@balena/dockerignore', 'node:*', 'yaml', 'zod']);
});
