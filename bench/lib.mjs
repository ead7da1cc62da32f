// Shared helpers of the benchmarks: child processes on a loopback-only network, timing, statistics, generated trees.
import { spawn } from 'node:child_process';
import { mkdir, open, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
export const benchDir = join(repoRoot, 'bench');

/** `import()` of a built workspace package by its dist entry (the bench runs after `pnpm build`). */
export function dist(pkg, entry = 'index.js') {
  return import(pathToFileURL(join(repoRoot, 'packages', pkg, 'dist', entry)).href);
}

/** NODE_OPTIONS that load the loopback-only network guard into a child Node process. */
export function guardedNodeOptions(existing = process.env.NODE_OPTIONS ?? '') {
  const guard = pathToFileURL(join(repoRoot, 'test', 'net-guard.mjs')).href;
  return `${existing} --import ${guard}`.trim();
}

/** Environment of every child: the network guard, no metadata server probing, no colour, plus `extra`. */
export function childEnv(extra = {}) {
  const env = {
    ...process.env,
    NODE_OPTIONS: guardedNodeOptions(),
    METADATA_SERVER_DETECTION: 'none',
    NO_COLOR: '1',
    ...extra,
  };
  for (const [k, v] of Object.entries(extra)) if (v === undefined) delete env[k];
  return env;
}

/**
 * Runs a whole process and measures its wall time. Resolves with `{ ms, code, stdout, stderr }`; rejects when it
 * exits non-zero (unless `allowFailure`).
 */
export function run(command, args, { env = childEnv(), cwd = repoRoot, allowFailure = false, input } = {}) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { env, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d) => {
      stderr += d;
    });
    child.stdin.end(input);
    child.once('error', reject);
    child.once('close', (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (code !== 0 && !allowFailure) {
        reject(new Error(`${command} ${args.join(' ')} exited ${code}:\n${stderr.slice(-2000)}`));
      } else {
        resolve({ ms, code, stdout, stderr });
      }
    });
  });
}

/** Runs a Node script of bench/scripts that prints one JSON line last; resolves with that object (plus `wallMs`). */
export async function runNodeScript(script, args = [], options = {}) {
  const result = await run(process.execPath, [join(benchDir, 'scripts', script), ...args], options);
  const last = result.stdout.trim().split('\n').pop() ?? '';
  try {
    return { ...JSON.parse(last), wallMs: result.ms };
  } catch {
    throw new Error(`${script} printed no JSON result:\n${result.stdout.slice(-1000)}\n${result.stderr.slice(-1000)}`);
  }
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A small seeded PRNG (mulberry32), so generated trees are the same in every run. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  'import def return self torch numpy tensor model layer batch epoch loss optimizer step grad config data path ' +
  'for in if else while class None True False print len range float int str list dict train eval value weight'
).split(' ');

/** A pool of source-like text with some binary noise: compresses roughly like a mix of code and data. */
function contentPool(random, bytes) {
  const pool = Buffer.allocUnsafe(bytes);
  let i = 0;
  while (i < bytes) {
    if (random() < 0.02) {
      // a run of binary noise (weights, images, ...)
      const n = Math.min(bytes - i, 32 + Math.floor(random() * 224));
      for (let k = 0; k < n; k++) pool[i + k] = Math.floor(random() * 256);
      i += n;
    } else {
      const line = `${'    '.repeat(Math.floor(random() * 3))}${Array.from({ length: 3 + Math.floor(random() * 8) }, () => WORDS[Math.floor(random() * WORDS.length)]).join(' ')} = ${Math.floor(random() * 1e6)}\n`;
      i += pool.write(line, i);
    }
  }
  return pool;
}

/**
 * Generates a build context of `files` files totalling about `totalBytes`: many small source files (1-8 KiB) in
 * 100 directories two levels deep, plus 100 large data files sharing the rest. Returns `{ dir, files, bytes }`.
 */
export async function generateTree(dir, { files = 10_000, totalBytes = 200 * 1024 * 1024, seed = 42 } = {}) {
  const random = prng(seed);
  const pool = contentPool(random, 8 * 1024 * 1024);
  const large = 100;
  const small = files - large - 1; // minus the Dockerfile
  const smallSizes = Array.from({ length: small }, () => 1024 + Math.floor(random() * 7 * 1024));
  const smallBytes = smallSizes.reduce((a, b) => a + b, 0);
  const largeEach = Math.max(1, Math.floor((totalBytes - smallBytes) / large));
  await mkdir(dir, { recursive: true });
  let bytes = 0;
  const write = async (path, size) => {
    const fh = await open(path, 'w');
    try {
      let left = size;
      while (left > 0) {
        const n = Math.min(left, 1024 * 1024);
        const at = Math.floor(random() * (pool.length - n));
        await fh.write(pool, at, n);
        left -= n;
      }
    } finally {
      await fh.close();
    }
    bytes += size;
  };
  const dirs = [];
  for (let a = 0; a < 10; a++) for (let b = 0; b < 10; b++) dirs.push(join(dir, `pkg${a}`, `mod${b}`));
  for (const d of dirs) await mkdir(d, { recursive: true });
  await mkdir(join(dir, 'data'), { recursive: true });
  const dockerfile = 'FROM scratch\nCOPY . /app\n';
  const fh = await open(join(dir, 'Dockerfile'), 'w');
  await fh.write(dockerfile);
  await fh.close();
  bytes += dockerfile.length;
  const jobs = smallSizes.map((size, i) => [join(dirs[i % dirs.length], `file${i}.py`), size]);
  for (let i = 0; i < large; i++) jobs.push([join(dir, 'data', `shard${i}.bin`), largeEach]);
  for (let i = 0; i < jobs.length; i += 16) {
    await Promise.all(jobs.slice(i, i + 16).map(([path, size]) => write(path, size)));
  }
  return { dir, files, bytes };
}

export async function removeTree(dir) {
  await rm(dir, { recursive: true, force: true });
}

export const MB = 1024 * 1024;

export function fmtMs(ms) {
  if (ms === undefined || Number.isNaN(ms)) return '—';
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}
