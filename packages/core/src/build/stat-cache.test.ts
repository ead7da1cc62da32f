// The stat cache must never change a fingerprint: every run with a cache gives the fingerprint of a run without one,
// whatever changed in between, and a damaged or foreign cache file is ignored. The random sequence of changes takes
// its seed from VXL_STAT_CACHE_SEED (printed).
import { chmod, mkdir, readFile, rename, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { tempDir } from '../../../../test/helpers.js';
import { type FingerprintOptions, fingerprintContext } from './context.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

/** Past the cache's racy window (50 ms): files written before are trusted by the next run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 120));

async function setup(files: Record<string, string>): Promise<{ dir: string; cache: string }> {
  const dir = await tempDir('vxl-statcache-');
  const cacheDir = await tempDir('vxl-statcache-file-');
  cleanups.push(dir.cleanup, cacheDir.cleanup);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir.path, path)), { recursive: true });
    await writeFile(join(dir.path, path), content);
  }
  return { dir: dir.path, cache: join(cacheDir.path, 'stat.bin') };
}

const BASE = {
  Dockerfile: 'FROM scratch\nCOPY . /app\n',
  'src/train.py': 'print("train")\n',
  'src/util.py': 'X = 1\n',
  'src/data/a.csv': 'a,b\n1,2\n',
  'README.md': '# demo\n',
};

/** Fingerprint with the cache at `cache`, checked against a run without any cache. */
async function checked(dir: string, cache: string, extra: Partial<FingerprintOptions> = {}) {
  const warm = await fingerprintContext({ contextDir: dir, statCachePath: cache, ...extra });
  const truth = await fingerprintContext({ contextDir: dir, statCachePath: false, ...extra });
  expect(warm.fingerprint).toBe(truth.fingerprint);
  expect(warm.files).toEqual(truth.files);
  return warm;
}

describe('stat cache', () => {
  test('an unchanged tree is answered from the cache without reading a file or rewriting the cache', async () => {
    const { dir, cache } = await setup(BASE);
    await writeFile(join(dir, 'empty.txt'), '');
    await symlink('src/train.py', join(dir, 'link.py'));
    await settle();
    const cold = await checked(dir, cache);
    expect(cold.cache).toEqual({ hits: 0, misses: 5 });
    const written = await stat(cache);
    const warm = await checked(dir, cache);
    expect(warm.cache).toEqual({ hits: 5, misses: 0 });
    expect(warm.fingerprint).toBe(cold.fingerprint);
    // Not rewritten: same inode and mtime.
    expect(await stat(cache)).toMatchObject({ ino: written.ino, mtimeMs: written.mtimeMs });
  });

  const changes: [string, (dir: string) => Promise<void>][] = [
    [
      'a same-size rewrite whose mtime is set back (only ctime tells)',
      async (dir) => {
        const path = join(dir, 'src/util.py');
        const before = await stat(path);
        await writeFile(path, 'X = 2\n');
        await utimes(path, before.atime, before.mtime);
      },
    ],
    ['an executable bit', (dir) => chmod(join(dir, 'src/train.py'), 0o755)],
    ['a new empty file', (dir) => writeFile(join(dir, 'src/empty.py'), '')],
    ['a removed file', (dir) => rm(join(dir, 'README.md'))],
    ['a new empty directory', (dir) => mkdir(join(dir, 'src/new'))],
    ['a renamed file', (dir) => rename(join(dir, 'src/util.py'), join(dir, 'src/utils.py'))],
    ['a new symlink', (dir) => symlink('train.py', join(dir, 'src/main.py'))],
    ['a .dockerignore', (dir) => writeFile(join(dir, '.dockerignore'), 'src/data\n')],
    ['the Dockerfile', (dir) => writeFile(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY . /srv\n')],
    [
      'a file swapped for another of the same size and mtime',
      async (dir) => {
        const a = join(dir, 'src/util.py');
        const before = await stat(a);
        await writeFile(`${a}.new`, 'Y = 1\n');
        await utimes(`${a}.new`, before.atime, before.mtime);
        await rename(`${a}.new`, a);
      },
    ],
  ];
  test.each(changes)('detects %s', async (_name, change) => {
    const { dir, cache } = await setup(BASE);
    await settle();
    const before = await checked(dir, cache);
    await checked(dir, cache); // the cache is filled and answers
    await change(dir);
    const after = await checked(dir, cache);
    expect(after.fingerprint).not.toBe(before.fingerprint);
    // The changed file was racy for the run that re-read it; a run after the racy window re-reads it once more
    // and fills the cache with a time it is trusted against, and the next one reads nothing.
    await settle();
    await checked(dir, cache);
    const again = await checked(dir, cache);
    expect(again.fingerprint).toBe(after.fingerprint);
    expect(again.cache?.misses).toBe(0);
  });

  test('a symlink pointed elsewhere changes the fingerprint, cached or not', async () => {
    const { dir, cache } = await setup(BASE);
    await symlink('src/train.py', join(dir, 'link.py'));
    await settle();
    const before = await checked(dir, cache);
    await rm(join(dir, 'link.py'));
    await symlink('src/util.py', join(dir, 'link.py'));
    expect((await checked(dir, cache)).fingerprint).not.toBe(before.fingerprint);
  });

  test('damaged, truncated and foreign cache files are ignored', async () => {
    const { dir, cache } = await setup(BASE);
    await settle();
    const truth = await checked(dir, cache);
    const good = await readFile(cache);
    const damaged = Buffer.from(good);
    // Flip one hex digit of the last file's content hash inside the stored listing.
    damaged[damaged.length - 2] = damaged[damaged.length - 2] === 0x30 ? 0x31 : 0x30;
    for (const bytes of [damaged, good.subarray(0, good.length - 10), Buffer.from('not a cache'), Buffer.alloc(0)]) {
      await writeFile(cache, bytes);
      const run = await checked(dir, cache);
      expect(run.fingerprint).toBe(truth.fingerprint);
      expect(run.cache).toEqual({ hits: 0, misses: 5 });
    }
    // A cache filled for another root (same relative paths) answers nothing for this one.
    const other = await setup(BASE);
    await settle();
    await fingerprintContext({ contextDir: other.dir, statCachePath: other.cache });
    await writeFile(cache, await readFile(other.cache));
    expect((await checked(dir, cache)).cache).toEqual({ hits: 0, misses: 5 });
  });

  test('a random sequence of changes never makes a cached fingerprint differ from an uncached one', async () => {
    const seed = Number.parseInt(process.env.VXL_STAT_CACHE_SEED ?? '', 10) || 20_261_203;
    console.log(`stat cache random changes: seed ${seed} (set VXL_STAT_CACHE_SEED to repeat)`);
    let state = seed >>> 0;
    const random = () => {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const { dir, cache } = await setup(BASE);
    const files = new Set(Object.keys(BASE).filter((p) => p !== 'Dockerfile'));
    const dirs = ['src', 'src/data', 'lib', 'lib/deep'];
    await settle();
    await checked(dir, cache);
    const seen = new Set<string>();
    for (let step = 0; step < 40; step++) {
      const op = Math.floor(random() * 6);
      const existing = [...files];
      if (op === 0 || existing.length === 0) {
        const path = `${pick(dirs)}/f${step}.${pick(['py', 'txt', 'bin'])}`;
        await mkdir(dirname(join(dir, path)), { recursive: true });
        await writeFile(join(dir, path), 'x'.repeat(Math.floor(random() * 20)));
        files.add(path);
      } else if (op === 1) {
        // Same size, new content: a bare stat comparison of size alone would miss it.
        const path = pick(existing);
        const text = await readFile(join(dir, path), 'utf8');
        await writeFile(
          join(dir, path),
          text.replace(/./, (c) => (c === 'z' ? 'y' : 'z')),
        );
      } else if (op === 2) {
        const path = pick(existing);
        await rm(join(dir, path));
        files.delete(path);
      } else if (op === 3) {
        const path = pick(existing);
        await chmod(join(dir, path), random() < 0.5 ? 0o755 : 0o644);
      } else if (op === 4) {
        const from = pick(existing);
        const to = `${pick(dirs)}/r${step}.py`;
        await mkdir(dirname(join(dir, to)), { recursive: true });
        await rename(join(dir, from), join(dir, to));
        files.delete(from);
        files.add(to);
      } else if (random() < 0.5) {
        await settle(); // let the changed files leave the racy window, so later steps hit the cache
      }
      seen.add((await checked(dir, cache)).fingerprint);
    }
    // The sequence did change the tree (many distinct fingerprints) and the cache did answer along the way.
    expect(seen.size).toBeGreaterThan(20);
    await settle();
    await checked(dir, cache);
    expect((await checked(dir, cache)).cache?.misses).toBe(0);
  });
});
