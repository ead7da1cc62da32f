// Benchmarks 1 and 2: fingerprinting and packing a generated build context, against GNU tar in the same run.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateTree, MB, median, removeTree, run, runNodeScript } from './lib.mjs';

const tarSha = (dir) => run('bash', ['-c', 'set -o pipefail; tar -c --sort=name -f - -C "$1" . | sha256sum', '_', dir]);

/**
 * `tar -cz` with gzip at `level` (what tar -z runs, as a pipe), hashed: `{ ms, cpuMs }`, cpuMs being the user + system
 * CPU of the pipeline's processes (bash's `times`).
 */
async function tarGzSha(dir, level = 6) {
  const r = await run('bash', [
    '-c',
    `set -o pipefail; tar -c --sort=name -f - -C "$1" . | gzip -${level} | sha256sum; times`,
    '_',
    dir,
  ]);
  const children = r.stdout.trim().split('\n').pop() ?? '';
  const seconds = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map(([, m, s]) => Number(m) * 60 + Number(s));
  if (seconds.length !== 2) throw new Error(`no CPU times from bash's times: ${children}`);
  return { ms: r.ms, cpuMs: (seconds[0] + seconds[1]) * 1000 };
}

/**
 * One tree: cold fingerprint vs tar | sha256sum (whole processes, interleaved), warm vs cold (time inside the
 * process), pack vs tar -cz | sha256sum (whole processes, interleaved) and the packing process's peak RSS.
 */
async function benchTree({ label, files = 10_000, totalBytes, reps, packReps, level1 = false, log }) {
  const work = await mkdtemp(join(tmpdir(), 'vxl-bench-ctx-'));
  const rows = [];
  try {
    const dir = join(work, 'ctx');
    log(`generating ${label} tree (${files.toLocaleString('en')} files)`);
    const tree = await generateTree(dir, { files, totalBytes });
    const cache = join(work, 'stat-cache.json');
    // Warm the page cache for both sides: every reader below finds the tree in memory.
    await tarSha(dir);

    const cold = [];
    const coldInner = [];
    const coldCpu = [];
    const base = [];
    let fingerprint;
    for (let i = 0; i < reps; i++) {
      base.push((await tarSha(dir)).ms);
      const r = await runNodeScript('fingerprint.mjs', [dir, 'none']);
      cold.push(r.wallMs);
      coldInner.push(r.ms);
      coldCpu.push(r.cpuMs);
      if (fingerprint !== undefined && r.fingerprint !== fingerprint) throw new Error('fingerprint is not stable');
      fingerprint = r.fingerprint;
    }
    log(`${label}: cold ${median(cold).toFixed(0)} ms vs tar|sha256sum ${median(base).toFixed(0)} ms`);

    // Fill the stat cache (twice: files written within the racy margin are trusted only from the second fill).
    await runNodeScript('fingerprint.mjs', [dir, cache]);
    await runNodeScript('fingerprint.mjs', [dir, cache]);
    const warm = [];
    const warmCpu = [];
    const floor = [];
    const freshFloor = [];
    const freshFloorCpu = [];
    let warmHits = 0;
    for (let i = 0; i < reps; i++) {
      const r = await runNodeScript('fingerprint.mjs', [dir, cache, 'floor']);
      if (r.fingerprint !== fingerprint) throw new Error('warm fingerprint differs from the cold one');
      if (r.misses !== 0) throw new Error(`warm fingerprint read ${r.misses} files`);
      warm.push(r.ms);
      warmCpu.push(r.cpuMs);
      floor.push(r.floorMs);
      warmHits = r.hits;
      const bare = await runNodeScript('fingerprint.mjs', [dir, cache, 'floor-only']);
      freshFloor.push(bare.floorMs);
      freshFloorCpu.push(bare.floorCpuMs);
    }
    log(
      `${label}: warm ${median(warm).toFixed(1)} ms, CPU ${median(warmCpu).toFixed(1)} ms (${warmHits} cache hits); bare lstat walk ${median(freshFloor).toFixed(1)} ms, CPU ${median(freshFloorCpu).toFixed(1)} ms in a fresh process, ${median(floor).toFixed(1)} ms after the call; cold ${median(coldInner).toFixed(0)} ms, CPU ${median(coldCpu).toFixed(0)} ms`,
    );

    const pack = [];
    const packCpu = [];
    const packBase = [];
    const packBaseCpu = [];
    let packRss = 0;
    let packBytes = 0;
    let packSha;
    for (let i = 0; i < packReps; i++) {
      const base = await tarGzSha(dir);
      packBase.push(base.ms);
      packBaseCpu.push(base.cpuMs);
      const r = await runNodeScript('pack.mjs', [dir, cache]);
      if (packSha !== undefined && r.sha256 !== packSha) throw new Error('packed bytes are not deterministic');
      packSha = r.sha256;
      pack.push(r.wallMs);
      packCpu.push(r.cpuMs);
      packRss = Math.max(packRss, r.maxRssMb);
      packBytes = r.bytes;
    }
    log(
      `${label}: pack ${median(pack).toFixed(0)} ms (CPU ${median(packCpu).toFixed(0)} ms) vs tar -cz ${median(packBase).toFixed(0)} ms (CPU ${median(packBaseCpu).toFixed(0)} ms), peak RSS ${packRss.toFixed(0)} MB`,
    );
    // Level 1, against gzip -1: what the `compression` option buys (one interleaved pair).
    let fast;
    if (level1) {
      const base = await tarGzSha(dir, 1);
      const r = await runNodeScript('pack.mjs', [dir, cache, '1']);
      fast = { ms: r.wallMs, baseMs: base.ms, bytes: r.bytes };
      log(
        `${label}: pack at level 1 ${r.wallMs.toFixed(0)} ms (${(r.bytes / MB).toFixed(0)} MB) vs gzip -1 ${base.ms.toFixed(0)} ms`,
      );
    }

    const size = `${label}, ${tree.files.toLocaleString('en')} files`;
    rows.push({
      id: `fingerprint-cold-${label}`,
      benchmark: 'Context fingerprint',
      metric: `cold fingerprint (${size}, no stat cache), fingerprintContext() call (CPU ${median(coldCpu).toFixed(0)} ms)`,
      value: median(coldInner),
      unit: 'ms',
      baseline: median(base),
      baselineLabel: 'tar -c --sort=name | sha256sum',
      target: 1.0,
      runs: reps,
    });
    rows.push({
      id: `fingerprint-cold-process-${label}`,
      benchmark: 'Context fingerprint',
      metric: `cold fingerprint (${size}), whole process (node start + import + call)`,
      value: median(cold),
      unit: 'ms',
      baseline: median(base),
      baselineLabel: 'tar -c --sort=name | sha256sum',
      runs: reps,
    });
    rows.push({
      id: `fingerprint-warm-${label}`,
      benchmark: 'Context fingerprint',
      metric: `warm fingerprint, unchanged tree (${size}, ${warmHits} cache hits; CPU ${median(warmCpu).toFixed(0)} ms)`,
      value: median(warm),
      unit: 'ms',
      baseline: median(coldInner),
      baselineLabel: 'cold fingerprint (same call)',
      target: 0.05,
      runs: reps,
    });
    rows.push({
      id: `fingerprint-warm-cpu-${label}`,
      benchmark: 'Context fingerprint',
      metric: `warm fingerprint CPU time (user + system) against the cold call's (${size}); less sensitive to a loaded machine`,
      value: median(warmCpu),
      unit: 'ms',
      baseline: median(coldCpu),
      baselineLabel: 'CPU of the cold fingerprint (same call)',
      runs: reps,
    });
    rows.push({
      id: `fingerprint-floor-${label}`,
      benchmark: 'Context fingerprint',
      metric: `stat-only floor: bare readdir + lstat walk of the same tree (${size}) in a fresh process, as the warm call runs (CPU ${median(freshFloorCpu).toFixed(0)} ms)`,
      value: median(freshFloor),
      unit: 'ms',
      baseline: median(coldInner),
      baselineLabel: 'cold fingerprint (same call)',
      runs: reps,
    });
    rows.push({
      id: `fingerprint-floor-after-${label}`,
      benchmark: 'Context fingerprint',
      metric: `stat-only floor, the same walk in the warm call's process right after it (Node's fs code warm)`,
      value: median(floor),
      unit: 'ms',
      baseline: median(coldInner),
      baselineLabel: 'cold fingerprint (same call)',
      runs: reps,
    });
    rows.push({
      id: `pack-${label}`,
      benchmark: 'Context packing',
      metric: `deterministic tar.gz, parallel gzip -6 (${size}, ${(packBytes / MB).toFixed(0)} MB out), whole process`,
      value: median(pack),
      unit: 'ms',
      baseline: median(packBase),
      baselineLabel: 'tar -c --sort=name | gzip -6 | sha256sum (tar -cz)',
      target: 0.6,
      runs: packReps,
    });
    rows.push({
      id: `pack-cpu-${label}`,
      benchmark: 'Context packing',
      metric: `CPU time (user + system, all threads) of the packing process (${size})`,
      value: median(packCpu),
      unit: 'ms',
      baseline: median(packBaseCpu),
      baselineLabel: 'CPU of tar -c | gzip -6 | sha256sum',
      runs: packReps,
    });
    rows.push({
      id: `pack-rss-${label}`,
      benchmark: 'Context packing',
      metric: `peak RSS of the packing process (${size})`,
      value: packRss,
      unit: 'MB',
      limit: label === '1 GB' ? 150 : undefined,
      runs: packReps,
    });
    if (fast !== undefined) {
      rows.push({
        id: `pack-level1-${label}`,
        benchmark: 'Context packing',
        metric: `tar.gz at \`compression: 1\` (${size}, ${(fast.bytes / MB).toFixed(0)} MB out), whole process`,
        value: fast.ms,
        unit: 'ms',
        baseline: fast.baseMs,
        baselineLabel: 'tar -c --sort=name | gzip -1 | sha256sum',
        runs: 1,
      });
    }
  } finally {
    await removeTree(work);
  }
  return rows;
}

export async function benchContexts({ quick = false, log }) {
  if (quick) {
    // A small tree: every row is produced and checked, in seconds.
    return benchTree({ label: '20 MB', files: 2_000, totalBytes: 20 * MB, reps: 3, packReps: 2, log });
  }
  const rows = await benchTree({ label: '200 MB', totalBytes: 200 * MB, reps: 5, packReps: 3, level1: true, log });
  rows.push(...(await benchTree({ label: '1 GB', totalBytes: 1024 * MB, reps: 3, packReps: 1, log })));
  return rows;
}
