// What `pnpm publish` (run by `changeset publish`) would upload: the tarball of every published package holds
// the built dist/, README.md, CHANGELOG.md and package.json — no sources, tests or source maps of files that are
// not there — and its package.json has real version ranges instead of `workspace:` ones. Needs the built dist/.
import { execFile } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { tempDir } from '../helpers.js';
import { publishedPackages } from '../published-packages.js';

const run = promisify(execFile);
const packages = publishedPackages();
const versions = new Map(packages.map(({ manifest }) => [manifest.name, manifest.version]));

let out: { path: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  out = await tempDir('vxl-pack-');
});
afterAll(() => out?.cleanup());

describe('npm tarballs', () => {
  test.each(packages.map((pkg) => [pkg.manifest.name, pkg] as const))('%s', async (name, { dir, manifest }) => {
    const destination = join(out.path, name.replace('@vertex-launch/', ''));
    await mkdir(destination, { recursive: true });
    const { stdout } = await run('pnpm', ['pack', '--json', '--pack-destination', destination], { cwd: dir });
    const packed = JSON.parse(stdout) as { filename: string; files: { path: string }[] };
    const files = packed.files.map((file) => file.path).sort();

    expect(files).toEqual(expect.arrayContaining(['CHANGELOG.md', 'README.md', 'dist/index.d.ts', 'dist/index.js']));
    expect(files.filter((file) => !file.startsWith('dist/'))).toEqual(['CHANGELOG.md', 'README.md', 'package.json']);
    expect(files.filter((file) => /\.test\.|\/src\/|\/test\/|__fixtures__/.test(file))).toEqual([]);
    for (const target of Object.values(manifest.bin ?? {})) expect(files).toContain(target.replace(/^\.\//, ''));
    // The dashboard's page assets ship built, so `vertex-launch ui` works offline.
    if (name === '@vertex-launch/dashboard') {
      expect(files).toEqual(expect.arrayContaining(['dist/assets/dashboard.css', 'dist/assets/dashboard.js']));
    }

    // The manifest inside the tarball: workspace ranges become ranges of the versions being published.
    await run('tar', ['-xzf', join(destination, packed.filename.split('/').pop()!), '-C', destination]);
    const packedManifest = JSON.parse(await readFile(join(destination, 'package', 'package.json'), 'utf8'));
    expect(packedManifest.publishConfig).toEqual({ access: 'public' });
    for (const [dependency, range] of Object.entries<string>(packedManifest.dependencies ?? {})) {
      expect(range, `${name} -> ${dependency}`).not.toMatch(/^workspace:/);
      if (versions.has(dependency)) expect(range).toBe(`^${versions.get(dependency)}`);
    }
    if (manifest.bin !== undefined) {
      for (const target of Object.values(manifest.bin)) {
        const script = await readFile(join(destination, 'package', target), 'utf8');
        expect(script.startsWith('#!/usr/bin/env node\n'), `${target} starts with a node shebang`).toBe(true);
      }
    }
  });
});
