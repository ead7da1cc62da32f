// Child process: pack a context as tar.gz, consume the stream (counting bytes and hashing them) and print
// { ms, bytes, sha256, maxRssMb, cpuMs } as JSON (cpuMs: user + system CPU of the whole process, all threads).
// Usage: node pack.mjs <contextDir> <statCachePath|none> [compression level]
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [contextDir, cache, level] = process.argv.slice(2);
const root = new URL('../..', import.meta.url).pathname;
const { packContext } = await import(pathToFileURL(join(root, 'packages/core/dist/build/index.js')).href);
const started = process.hrtime.bigint();
const { stream } = await packContext({
  contextDir,
  statCachePath: cache === 'none' ? false : cache,
  ...(level === undefined ? {} : { compression: Number(level) }),
});
const hash = createHash('sha256');
let bytes = 0;
for await (const chunk of stream) {
  bytes += chunk.length;
  hash.update(chunk);
}
const ms = Number(process.hrtime.bigint() - started) / 1e6;
const usage = process.resourceUsage();
console.log(
  JSON.stringify({
    ms,
    bytes,
    sha256: hash.digest('hex'),
    maxRssMb: usage.maxRSS / 1024,
    cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000,
  }),
);
