import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

const srcDir = fileURLToPath(new URL('.', import.meta.url));

/** Every non-test source file of core, with the modules it imports (static and dynamic). */
async function sources(): Promise<{ file: string; text: string; imports: string[] }[]> {
  const files = (await readdir(srcDir, { recursive: true })).filter(
    (f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.startsWith('__fixtures__'),
  );
  return Promise.all(
    files.map(async (file) => {
      const text = await readFile(join(srcDir, file), 'utf8');
      const imports = [...text.matchAll(/(?<![.\w])(?:from|import)\s*\(?\s*'([^']+)'/g)].map((m) => m[1] as string);
      return { file: file.split('\\').join('/'), text, imports };
    }),
  );
}

/** Node modules that reach the network. */
const NETWORK = ['node:net', 'node:http', 'node:https', 'node:http2', 'node:tls', 'node:dgram', 'node:dns'];
/** Node modules that read or write files. */
const FILE_SYSTEM = ['node:fs', 'node:fs/promises'];

describe('core is pure where it can be', () => {
  test('it imports no Google library (only zod, yaml, @balena/dockerignore and node: modules)', async () => {
    const external = new Set<string>();
    for (const { imports } of await sources()) {
      for (const spec of imports) if (!spec.startsWith('.')) external.add(spec.startsWith('node:') ? 'node:*' : spec);
    }
    expect([...external].sort()).toEqual(['@balena/dockerignore', 'node:*', 'yaml', 'zod']);
  });

  test('no file touches the network: no network module, no fetch (that is the plugins’ work)', async () => {
    const offenders: string[] = [];
    for (const { file, text, imports } of await sources()) {
      for (const spec of imports) if (NETWORK.includes(spec)) offenders.push(`${file}: ${spec}`);
      if (/\bfetch\s*\(/.test(text.replace(/\/\/.*$|\/\*[\s\S]*?\*\/|^\s*\*.*$/gm, '')))
        offenders.push(`${file}: fetch()`);
    }
    expect(offenders).toEqual([]);
  });

  test('only these files use the file system: the build context and its stat cache, config and gcloud files', async () => {
    const users = (await sources())
      .filter(({ imports }) => imports.some((spec) => FILE_SYSTEM.includes(spec)))
      .map(({ file }) => file)
      .sort();
    expect(users).toEqual([
      // The build context: scanned, hashed (with the persisted stat cache) and packed from disk.
      'build/context.ts',
      'build/read.ts',
      'build/stat-cache.ts',
      // Queue and agent config files (loading is separate from validating).
      'config/load.ts',
      // The emulator's CA certificate, read when a gRPC client is pointed at the emulator.
      'emulator-connection.ts',
      // gcloud's configuration and the agent config, read by resolveRuntime().
      'runtime/gcloud-config.ts',
      'runtime/resolve.ts',
    ]);
  });
});
