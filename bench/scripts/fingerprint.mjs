// Child process: fingerprint a context once and print { ms, cpuMs, hits, misses, fingerprint, maxRssMb, floorMs,
// floorCpuMs } as JSON (cpuMs: user + system CPU of the call, less sensitive to a loaded machine than its wall time).
// The floor is a bare walk of the tree — readdir of every directory and one lstat per file, no cache, no hashing,
// nothing kept — what any sound warm run must pay at least: with `floor` it runs in the same process right after the
// call (Node's fs code already warm), with `floor-only` instead of the call (as fresh as the warm call itself).
// Usage: node fingerprint.mjs <contextDir> <statCachePath|none> [floor|floor-only]
import { lstatSync, readdirSync } from 'node:fs';
import { join, sep } from 'node:path';
import { pathToFileURL } from 'node:url';

const [contextDir, cache, floor] = process.argv.slice(2);
const root = new URL('../..', import.meta.url).pathname;
const { fingerprintContext } = await import(pathToFileURL(join(root, 'packages/core/dist/build/index.js')).href);

/** The bare walk: { ms, files }. */
function bareWalk() {
  const started = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  let files = 0;
  const visit = (dir) => {
    for (const d of readdirSync(dir, { withFileTypes: true })) {
      const abs = dir + sep + d.name;
      if (d.isDirectory()) visit(abs);
      else if (lstatSync(abs).size >= 0) files++;
    }
  };
  visit(contextDir);
  const cpu = process.cpuUsage(cpu0);
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, cpuMs: (cpu.user + cpu.system) / 1000, files };
}

if (floor === 'floor-only') {
  const walk = bareWalk();
  console.log(JSON.stringify({ floorMs: walk.ms, floorCpuMs: walk.cpuMs, files: walk.files }));
} else {
  const cpu0 = process.cpuUsage();
  const started = process.hrtime.bigint();
  const manifest = await fingerprintContext({ contextDir, statCachePath: cache === 'none' ? false : cache });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  let floorMs;
  let floorCpuMs;
  if (floor === 'floor') {
    const walk = bareWalk();
    floorMs = walk.ms;
    floorCpuMs = walk.cpuMs;
    const hits = manifest.cache?.hits ?? 0;
    if (walk.files < hits) throw new Error(`the bare walk saw ${walk.files} files, fewer than the ${hits} cache hits`);
  }
  console.log(
    JSON.stringify({
      ms,
      cpuMs,
      floorMs,
      floorCpuMs,
      hits: manifest.cache?.hits ?? 0,
      misses: manifest.cache?.misses ?? 0,
      fingerprint: manifest.fingerprint,
      entries: manifest.entries,
      bytes: manifest.bytes,
      maxRssMb: process.resourceUsage().maxRSS / 1024,
    }),
  );
}
