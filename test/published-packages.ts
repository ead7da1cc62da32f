// The workspace packages that are published to npm (`private` is not set), for the package-level tests.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './helpers.js';

/** A published package: its directory and its package.json. */
export interface PublishedPackage {
  dir: string;
  manifest: {
    name: string;
    version: string;
    bin?: Record<string, string>;
    dependencies?: Record<string, string>;
    [key: string]: unknown;
  };
}

/** Every package under packages/ without `"private": true`, sorted by name. */
export function publishedPackages(): PublishedPackage[] {
  const packagesDir = join(repoRoot, 'packages');
  return readdirSync(packagesDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => join(packagesDir, entry.name))
    .map((dir) => ({ dir, manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) }))
    .filter(({ manifest }) => manifest.private !== true)
    .sort((a, b) => a.manifest.name.localeCompare(b.manifest.name));
}
