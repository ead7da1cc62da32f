// Child process: fingerprint a context once and print { ms, hits, misses, fingerprint, maxRssMb } as JSON.
// Usage: node fingerprint.mjs <contextDir> <statCachePath|none>
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [contextDir, cache] = process.argv.slice(2);
const root = new URL('../..', import.meta.url).pathname;
const { fingerprintContext } = await import(pathToFileURL(join(root, 'packages/core/dist/index.js')).href);
const started = process.hrtime.bigint();
const manifest = await fingerprintContext({ contextDir, statCachePath: cache === 'none' ? false : cache });
const ms = Number(process.hrtime.bigint() - started) / 1e6;
console.log(
  JSON.stringify({
    ms,
    hits: manifest.cache?.hits ?? 0,
    misses: manifest.cache?.misses ?? 0,
    fingerprint: manifest.fingerprint,
    entries: manifest.entries,
    bytes: manifest.bytes,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
  }),
);
