// Benchmarks 1 and 2: fingerprinting and packing a generated build context, against GNU tar in the same run.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateTree, MB, median, removeTree, run, runNodeScript } from './lib.mjs';

const tarSha = (dir) => run('bash', ['-c', 'set -o pipefail; tar -c --sort=name -f - -C "$1" . | sha256sum', '_', dir]);
const tarGzSha = (dir) =>
  run('bash', ['-c', 'set -o pipefail; tar -cz --sort=name -f - -C "$1" . | sha256sum', '_', dir], {
    env: { ...process.env, GZIP: '-6' },
  });

/**
 * One tree: cold fingerprint vs tar | sha256sum (whole processes, interleaved), warm vs cold (time inside the
 * process), pack vs tar -cz | sha256sum (whole processes, interleaved) and the packing process's peak RSS.
 */
async function benchTree({ label, totalBytes, reps, packReps, log }) {
  const work = await mkdtemp(join(tmpdir(), 'vxl-bench-ctx-'));
  const rows = [];
  try {
    const dir = join(work, 'ctx');
    log(`generating ${label} tree (10,000 files)`);
    const tree = await generateTree(dir, { files: 10_000, totalBytes });
    const cache = join(work, 'stat-cache.json');
    // Warm the page cache for both sides: every reader below finds the tree in memory.
    await tarSha(dir);

    const cold = [];
    const coldInner = [];
    const base = [];
    let fingerprint;
    for (let i = 0; i < reps; i++) {
      base.push((await tarSha(dir)).ms);
      const r = await runNodeScript('fingerprint.mjs', [dir, 'none']);
      cold.push(r.wallMs);
      coldInner.push(r.ms);
      if (fingerprint !== undefined && r.fingerprint !== fingerprint) throw new Error('fingerprint is not stable');
      fingerprint = r.fingerprint;
    }
    log(`${label}: cold ${median(cold).toFixed(0)} ms vs tar|sha256sum ${median(base).toFixed(0)} ms`);

    // Fill the stat cache (twice: files written within the racy margin are trusted only from the second fill).
    await runNodeScript('fingerprint.mjs', [dir, cache]);
    await runNodeScript('fingerprint.mjs', [dir, cache]);
    const warm = [];
    let warmHits = 0;
    for (let i = 0; i < reps; i++) {
      const r = await runNodeScript('fingerprint.mjs', [dir, cache]);
      if (r.fingerprint !== fingerprint) throw new Error('warm fingerprint differs from the cold one');
      warm.push(r.ms);
      warmHits = r.hits;
    }
    log(
      `${label}: warm ${median(warm).toFixed(1)} ms (${warmHits} cache hits) vs cold ${median(coldInner).toFixed(0)} ms`,
    );

    const pack = [];
    const packBase = [];
    let packRss = 0;
    let packBytes = 0;
    let packSha;
    for (let i = 0; i < packReps; i++) {
      packBase.push((await tarGzSha(dir)).ms);
      const r = await runNodeScript('pack.mjs', [dir, cache]);
      if (packSha !== undefined && r.sha256 !== packSha) throw new Error('packed bytes are not deterministic');
      packSha = r.sha256;
      pack.push(r.wallMs);
      packRss = Math.max(packRss, r.maxRssMb);
      packBytes = r.bytes;
    }
    log(
      `${label}: pack ${median(pack).toFixed(0)} ms vs tar -cz ${median(packBase).toFixed(0)} ms, peak RSS ${packRss.toFixed(0)} MB`,
    );

    const size = `${label}, ${tree.files.toLocaleString('en')} files`;
    rows.push({
      id: `fingerprint-cold-${label}`,
      benchmark: 'Context fingerprint',
      metric: `cold fingerprint (${size}, no stat cache), fingerprintContext() call`,
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
      metric: `warm fingerprint, unchanged tree (${size}, ${warmHits} cache hits)`,
      value: median(warm),
      unit: 'ms',
      baseline: median(coldInner),
      baselineLabel: 'cold fingerprint (same call)',
      target: 0.05,
      runs: reps,
    });
    rows.push({
      id: `pack-${label}`,
      benchmark: 'Context packing',
      metric: `deterministic tar.gz (${size}, ${(packBytes / MB).toFixed(0)} MB out), whole process`,
      value: median(pack),
      unit: 'ms',
      baseline: median(packBase),
      baselineLabel: 'tar -cz --sort=name (gzip -6) | sha256sum',
      target: 1.2,
      runs: packReps,
    });
    rows.push({
      id: `pack-rss-${label}`,
      benchmark: 'Context packing',
      metric: `peak RSS of the packing process (${size})`,
      value: packRss,
      unit: 'MB',
      limit: label === '1 GB' ? 120 : undefined,
      runs: packReps,
    });
  } finally {
    await removeTree(work);
  }
  return rows;
}

export async function benchContexts({ quick = false, log }) {
  const rows = await benchTree({ label: '200 MB', totalBytes: 200 * MB, reps: quick ? 3 : 5, packReps: 3, log });
  if (!quick) rows.push(...(await benchTree({ label: '1 GB', totalBytes: 1024 * MB, reps: 3, packReps: 1, log })));
  return rows;
}
