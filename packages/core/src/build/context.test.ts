import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, test } from 'vitest';
import { tempDir } from '../../../../test/helpers.js';
import { noise, openFilesUnder } from '../../../../test/open-files.js';
import { BuildError, ConfigError } from '../errors.js';
import { contextTag, findCredentialFiles, fingerprintContext, packContext } from './context.js';
import { BuildContextError } from './context-error.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function tree(files: Record<string, string | Buffer>, mode?: Record<string, number>): Promise<string> {
  const dir = await tempDir('vxl-ctx-');
  cleanups.push(dir.cleanup);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir.path, path)), { recursive: true });
    await writeFile(join(dir.path, path), content, { mode: mode?.[path] ?? 0o644 });
  }
  return dir.path;
}

async function packToFile(options: Parameters<typeof packContext>[0]): Promise<{ file: string; bytes: Buffer }> {
  const { stream } = await packContext(options);
  const bytes = await buffer(stream);
  const out = await tempDir('vxl-tgz-');
  cleanups.push(out.cleanup);
  const file = join(out.path, 'context.tgz');
  await writeFile(file, bytes);
  return { file, bytes };
}

/** `tar -tvzf` lines, whitespace collapsed. */
function listing(file: string): string[] {
  return execFileSync('tar', ['--utc', '-tvzf', file], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((l) => l.replace(/\s+/g, ' '));
}

/** Wait past the stat cache's racy window (50 ms) so files written before are trusted by the next run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 120));

const DOCKERFILE = 'FROM python:3.12-slim\nCOPY . /app\n';

describe('packContext', () => {
  test('close() stops packing early and resolves once no file of the context is open, read-ahead included', async () => {
    const files: Record<string, string | Buffer> = { Dockerfile: DOCKERFILE, 'a-big.bin': noise(8 * 1024 * 1024) };
    for (let i = 0; i < 40; i++) files[`small/${String(i).padStart(3, '0')}.txt`] = `${'row\n'.repeat(500)}${i}\n`;
    const dir = await tree(files);
    const packed = await packContext({ contextDir: dir, statCachePath: false });
    const errors: unknown[] = [];
    packed.stream.on('error', (error) => errors.push(error));
    // Read 2 MiB, then stop reading: the packer is inside the 8 MiB file (incompressible), waiting on backpressure.
    let read = 0;
    await new Promise<void>((resolve) => {
      packed.stream.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read >= 2 * 1024 * 1024) {
          packed.stream.pause();
          resolve();
        }
      });
    });
    expect(openFilesUnder(dir)).toContain(join(dir, 'a-big.bin'));
    await packed.close();
    // Nothing of the context is open once close() has resolved, and removing it now meets no late read.
    expect(openFilesUnder(dir)).toEqual([]);
    await rm(dir, { recursive: true, force: true });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(errors).toEqual([]);
    expect(packed.stream.destroyed).toBe(true);
    await packed.close(); // idempotent
  });

  test('close() after the whole archive was read resolves at once and changes nothing', async () => {
    const dir = await tree({ Dockerfile: DOCKERFILE, 'train.py': 'print(1)\n' });
    const packed = await packContext({ contextDir: dir, statCachePath: false });
    const bytes = await buffer(packed.stream);
    await packed.close();
    expect(bytes.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    expect(openFilesUnder(dir)).toEqual([]);
  });

  test('writes a deterministic tar.gz that GNU tar lists with normalised metadata', async () => {
    const dir = await tree(
      { Dockerfile: DOCKERFILE, 'src/train.py': 'print(1)\n', 'run.sh': '#!/bin/sh\n', 'src/data/x.csv': 'a,b\n' },
      { 'run.sh': 0o700, 'src/data/x.csv': 0o600 },
    );
    await symlink('src/train.py', join(dir, 'link.py'));
    const { file, bytes } = await packToFile({ contextDir: dir, statCachePath: false });
    expect(listing(file)).toEqual([
      '-rw-r--r-- 0/0 34 1970-01-01 00:00 Dockerfile',
      'lrwxrwxrwx 0/0 0 1970-01-01 00:00 link.py -> src/train.py',
      '-rwxr-xr-x 0/0 10 1970-01-01 00:00 run.sh',
      'drwxr-xr-x 0/0 0 1970-01-01 00:00 src/',
      'drwxr-xr-x 0/0 0 1970-01-01 00:00 src/data/',
      '-rw-r--r-- 0/0 4 1970-01-01 00:00 src/data/x.csv',
      '-rw-r--r-- 0/0 9 1970-01-01 00:00 src/train.py',
    ]);
    // Numeric owner names are empty (GNU tar shows 0/0 only when uname/gname are empty).
    const names = execFileSync('tar', ['-tvzf', file, '--numeric-owner'], { encoding: 'utf8' });
    expect(names).not.toMatch(/root/);
    // gzip header: no mtime, OS byte 3.
    expect([...bytes.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
    const extracted = execFileSync('tar', ['-xzOf', file, 'src/train.py'], { encoding: 'utf8' });
    expect(extracted).toBe('print(1)\n');
  });

  test('same sources give byte-identical output after touching mtimes and re-creating in another order', async () => {
    const files = { Dockerfile: DOCKERFILE, 'a/1.py': 'one\n', 'b/2.py': 'two\n', 'c.txt': 'three\n' };
    const first = await tree(files);
    const reversed = Object.fromEntries(Object.entries(files).reverse());
    const second = await tree(reversed);
    await utimes(join(second, 'a/1.py'), new Date('2001-01-01'), new Date('2001-01-01'));
    const a = await packToFile({ contextDir: first, statCachePath: false });
    const b = await packToFile({ contextDir: second, statCachePath: false });
    expect(b.bytes.equals(a.bytes)).toBe(true);
    const fa = await fingerprintContext({ contextDir: first, statCachePath: false });
    const fb = await fingerprintContext({ contextDir: second, statCachePath: false });
    expect(fb.fingerprint).toBe(fa.fingerprint);
  });

  test('a tar of exactly one gzip block (1 MiB), many 1-byte files and a multi-block file all unpack', async () => {
    // Dockerfile header + its data block + big.bin header + 1,046,016 bytes + end of archive = 1,048,576 bytes.
    const exact = await tree({ Dockerfile: DOCKERFILE, 'big.bin': Buffer.alloc(1_046_016, 'ab') });
    const one = await packToFile({ contextDir: exact, statCachePath: false });
    expect(gunzipSync(one.bytes).length).toBe(1024 * 1024);
    execFileSync('gzip', ['-t', one.file]);
    expect(execFileSync('tar', ['-xzOf', one.file, 'big.bin']).equals(Buffer.alloc(1_046_016, 'ab'))).toBe(true);

    const files: Record<string, string | Buffer> = { Dockerfile: DOCKERFILE };
    for (let i = 0; i < 1000; i++) files[`bytes/${i}.txt`] = String(i % 10);
    // 3.5 MiB, half compressible and half not: four blocks.
    const big = Buffer.concat([Buffer.alloc(2 * 1024 * 1024, 'weights '), randomBytes(1.5 * 1024 * 1024)]);
    files['data/model.bin'] = big;
    const dir = await tree(files);
    const { file, bytes } = await packToFile({ contextDir: dir, statCachePath: false });
    execFileSync('gzip', ['-t', file]);
    const names = execFileSync('tar', ['-tzf', file], { encoding: 'utf8' }).trim().split('\n');
    expect(names).toHaveLength(1 + 2 + 1000 + 1); // Dockerfile, bytes/ and data/, the 1-byte files, model.bin
    expect(execFileSync('tar', ['-xzOf', file, 'bytes/734.txt'], { encoding: 'utf8' })).toBe('4');
    expect(execFileSync('tar', ['-xzOf', file, 'data/model.bin'], { maxBuffer: 8 << 20 }).equals(big)).toBe(true);
    expect((await packToFile({ contextDir: dir, statCachePath: false })).bytes.equals(bytes)).toBe(true);
  }, 60_000);

  test('every byte of every file survives: the read buffers used again between files and chunks', async () => {
    // Distinct random contents, so a buffer refilled before its bytes were copied shows as another file's bytes:
    // small files read ahead (up to 256 KiB, the boundary and one past it), and large ones read in 1 MiB chunks.
    const files: Record<string, Buffer> = {};
    const sizes = [1, 511, 512, 513, 4096, 256 * 1024, 256 * 1024 + 1, 1024 * 1024, 1024 * 1024 + 7, 3_300_000];
    for (let i = 0; i < 200; i++) sizes.push(1 + ((i * 7919) % (300 * 1024)));
    sizes.forEach((size, i) => {
      files[`f/${String(i).padStart(3, '0')}.bin`] = randomBytes(size);
    });
    const dir = await tree({ Dockerfile: DOCKERFILE, ...files });
    const { file } = await packToFile({ contextDir: dir, statCachePath: false });
    const out = await tempDir('vxl-untar-');
    cleanups.push(out.cleanup);
    execFileSync('tar', ['-xzf', file, '-C', out.path]);
    for (const [path, content] of Object.entries(files)) {
      const unpacked = await readFile(join(out.path, path));
      expect(unpacked.equals(content), `${path} (${content.length} bytes) differs after unpacking`).toBe(true);
    }
  }, 60_000);

  test('the compression level changes the bytes, never the fingerprint; a bad level names the option', async () => {
    const dir = await tree({ Dockerfile: DOCKERFILE, 'train.py': 'import torch\n'.repeat(20_000) });
    const sizes = new Map<number, number>();
    const tags = new Set<string>();
    for (const compression of [0, 1, 6, 9]) {
      const { stream, manifest } = await packContext({ contextDir: dir, statCachePath: false, compression });
      const bytes = await buffer(stream);
      expect(gunzipSync(bytes).includes('import torch')).toBe(true);
      sizes.set(compression, bytes.length);
      tags.add(manifest.tag);
    }
    expect(tags.size).toBe(1);
    expect(sizes.get(0)).toBeGreaterThan(20_000 * 13);
    expect(sizes.get(1)).toBeLessThan(sizes.get(0)! / 10);
    expect(sizes.get(9)).toBeLessThanOrEqual(sizes.get(6)!);
    const defaulted = await buffer((await packContext({ contextDir: dir, statCachePath: false })).stream);
    expect(defaulted.length).toBe(sizes.get(6));
    for (const compression of [10, -1, 2.5, Number.NaN]) {
      const error = await packContext({ contextDir: dir, statCachePath: false, compression }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).message).toContain(`compression ${compression} is not a gzip level`);
      expect((error as ConfigError).issues[0]?.path).toBe('compression');
    }
  });

  test('long and non-ASCII names survive through pax headers', async () => {
    const long = `${'deep/'.repeat(25)}file-with-a-long-name.py`;
    const dir = await tree({ Dockerfile: DOCKERFILE, [long]: 'x\n', 'données/été.py': 'y\n' });
    await symlink(`../${long}`, join(dir, 'données/lien'));
    const { file } = await packToFile({ contextDir: dir, statCachePath: false });
    const names = execFileSync('tar', ['-tzf', file], { encoding: 'utf8' }).trim().split('\n');
    expect(names).toContain(long);
    expect(names).toContain('données/été.py');
    expect(execFileSync('tar', ['-xzOf', file, long], { encoding: 'utf8' })).toBe('x\n');
    expect(listing(file)).toContain(`lrwxrwxrwx 0/0 0 1970-01-01 00:00 données/lien -> ../${long}`);
  });

  test('honours .dockerignore exclusions and exceptions, and always sends the Dockerfile and .dockerignore', async () => {
    const dir = await tree({
      Dockerfile: DOCKERFILE,
      '.dockerignore':
        '# comment\n/Dockerfile\n.dockerignore\nlogs\n**/*.pyc\n!keep/**/*.pyc\ndata/*\n!data/small.csv\n/node_modules\n',
      'logs/a.log': 'x',
      'src/m.pyc': 'x',
      'src/sub/n.pyc': 'x',
      'keep/deep/k.pyc': 'x',
      'data/big.bin': 'x',
      'data/small.csv': 'x',
      'node_modules/p/index.js': 'x',
      'src/node_modules/ok.js': 'x',
      'src/m.py': 'x',
      'Logs/upper.txt': 'case-sensitive, like Docker on Linux',
    });
    const manifest = await fingerprintContext({ contextDir: dir, statCachePath: false });
    expect(manifest.files).toEqual([
      '.dockerignore',
      'Dockerfile',
      'Logs',
      'Logs/upper.txt',
      'data',
      'data/small.csv',
      'keep',
      'keep/deep',
      'keep/deep/k.pyc',
      'src',
      'src/m.py',
      'src/node_modules',
      'src/node_modules/ok.js',
      'src/sub',
    ]);
    const { file } = await packToFile({ contextDir: dir, statCachePath: false });
    expect(execFileSync('tar', ['-tzf', file], { encoding: 'utf8' }).trim().split('\n')).toEqual([
      '.dockerignore',
      'Dockerfile',
      'Logs/',
      'Logs/upper.txt',
      'data/',
      'data/small.csv',
      'keep/',
      'keep/deep/',
      'keep/deep/k.pyc',
      'src/',
      'src/m.py',
      'src/node_modules/',
      'src/node_modules/ok.js',
      'src/sub/',
    ]);
  });

  test('leaves .git out by default, and sends it with ignoreGit: false', async () => {
    const dir = await tree({
      Dockerfile: DOCKERFILE,
      '.git/HEAD': 'ref: x\n',
      'lib/.git': 'gitdir: ../x\n',
      'a.py': '',
    });
    expect((await fingerprintContext({ contextDir: dir, statCachePath: false })).files).toEqual([
      'Dockerfile',
      'a.py',
      'lib',
    ]);
    expect((await fingerprintContext({ contextDir: dir, statCachePath: false, ignoreGit: false })).files).toEqual([
      '.git',
      '.git/HEAD',
      'Dockerfile',
      'a.py',
      'lib',
      'lib/.git',
    ]);
  });

  test('refuses symlinks escaping the context, naming them, also through chains', async () => {
    const dir = await tree({ Dockerfile: DOCKERFILE, 'sub/ok.py': 'x' });
    await symlink('/etc/passwd', join(dir, 'abs'));
    await symlink('../../outside', join(dir, 'sub/up'));
    await symlink('sub', join(dir, 'alias'));
    await symlink('alias/../..', join(dir, 'chain'));
    await symlink('sub/ok.py', join(dir, 'fine'));
    await symlink('missing/file', join(dir, 'dangling'));
    const error = await fingerprintContext({ contextDir: dir, statCachePath: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BuildContextError);
    expect(error).toBeInstanceOf(BuildError);
    const e = error as BuildContextError;
    expect([...e.paths].sort()).toEqual(['abs', 'chain', 'sub/up']);
    expect(e.message).toContain('abs (absolute target /etc/passwd)');
    expect(e.message).toContain('sub/up (target ../../outside leaves the context)');
    expect(e.message).toContain('chain (target alias/../.. leaves the context)');
    expect(e.message).toMatch(/^\[vertex-launch\] \[builder:context\] Refusing to build: 3 symlinks/);
    expect(e.hint).toContain('.dockerignore');

    await writeFile(join(dir, '.dockerignore'), 'abs\nsub/up\nchain\n');
    const manifest = await fingerprintContext({ contextDir: dir, statCachePath: false });
    expect(manifest.files).toEqual(['.dockerignore', 'Dockerfile', 'alias', 'dangling', 'fine', 'sub', 'sub/ok.py']);
  });

  test('stops on credential-like files unless allowed, never printing their content', async () => {
    const sa = JSON.stringify({ type: 'service_account', project_id: 'p', private_key: 'SECRET-KEY-MATERIAL' });
    const dir = await tree({
      Dockerfile: DOCKERFILE,
      'keys/sa.json': sa,
      '.env': 'TOKEN=SECRET-ENV-VALUE\n',
      '.env.example': 'TOKEN=\n',
      'config.json': '{"type": "service_account"}',
      'train.py': 'print(1)\n',
    });
    const error = (await fingerprintContext({ contextDir: dir, statCachePath: false }).catch((e: unknown) => e)) as
      | BuildContextError
      | undefined;
    expect(error).toBeInstanceOf(BuildContextError);
    expect(error!.paths).toEqual(['.env', 'keys/sa.json']);
    expect(error!.message).toContain('- .env (environment file)');
    expect(error!.message).toContain('- keys/sa.json (Google service-account key)');
    expect(error!.hint).toContain("allowSecrets: ['.env', 'keys/sa.json']");
    expect(`${error!.message}${error!.hint}`).not.toContain('SECRET');

    const allowed = await fingerprintContext({
      contextDir: dir,
      statCachePath: false,
      allowSecrets: ['./.env', 'keys'],
    });
    expect(allowed.files).toContain('keys/sa.json');
    await expect(packContext({ contextDir: dir, statCachePath: false, allowSecrets: ['.env'] })).rejects.toThrow(
      /keys\/sa\.json/,
    );
    expect(await findCredentialFiles({ contextDir: dir })).toEqual([
      { path: '.env', kind: 'dotenv' },
      { path: 'keys/sa.json', kind: 'gcp-service-account-key' },
    ]);
    await writeFile(join(dir, '.dockerignore'), '.env\nkeys/\n');
    expect(await findCredentialFiles({ contextDir: dir })).toEqual([]);
    expect((await fingerprintContext({ contextDir: dir, statCachePath: false })).files).not.toContain('.env');
  });
});

describe('fingerprintContext', () => {
  test('changes with content, mode, Dockerfile, build args, target and platform, and not with mtimes', async () => {
    const dir = await tree({ Dockerfile: DOCKERFILE, 'a.py': 'one\n', 'b.py': 'two\n' });
    const fp = async (extra: object = {}) =>
      (await fingerprintContext({ contextDir: dir, statCachePath: false, ...extra })).fingerprint;
    const base = await fp();
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    await utimes(join(dir, 'a.py'), new Date('2020-01-01'), new Date('2020-01-01'));
    expect(await fp()).toBe(base);
    expect(await fp({ buildArgs: { B: '2', A: '1' } })).toBe(await fp({ buildArgs: { A: '1', B: '2' } }));
    const variants = [
      await fp({ buildArgs: { A: '1' } }),
      await fp({ target: 'train' }),
      await fp({ platform: 'linux/arm64' }),
    ];
    await writeFile(join(dir, 'a.py'), 'ONE\n');
    variants.push(await fp());
    await writeFile(join(dir, 'a.py'), 'one\n', { mode: 0o755 });
    await import('node:fs/promises').then((fs) => fs.chmod(join(dir, 'a.py'), 0o755));
    variants.push(await fp());
    await writeFile(join(dir, 'a.py'), 'one\n');
    await import('node:fs/promises').then((fs) => fs.chmod(join(dir, 'a.py'), 0o644));
    expect(await fp()).toBe(base);
    await writeFile(join(dir, 'Dockerfile'), `${DOCKERFILE}USER 1000\n`);
    variants.push(await fp());
    expect(new Set([base, ...variants]).size).toBe(variants.length + 1);
  });

  test('the tag is ctx- plus 12 hex of the fingerprint, and contextTag builds the image reference', async () => {
    const dir = await tree({ Dockerfile: DOCKERFILE });
    const manifest = await fingerprintContext({ contextDir: dir, statCachePath: false });
    expect(manifest.tag).toBe(`ctx-${manifest.fingerprint.slice(0, 12)}`);
    expect(manifest).toMatchObject({ entries: 1, bytes: DOCKERFILE.length, dockerfilePath: 'Dockerfile' });
    expect(contextTag('localhost:5000/team/trainer', manifest)).toBe(`localhost:5000/team/trainer:${manifest.tag}`);
    expect(() => contextTag('europe-docker.pkg.dev/p/r/img:latest', manifest)).toThrow(
      /must be given without a tag or digest/,
    );
  });

  test('the stat cache answers for unchanged files, re-reads changed ones and is written with mode 0600', async () => {
    const dir = await tree({ Dockerfile: DOCKERFILE, 'a.py': 'one\n', 'b.py': 'two\n' });
    const cacheDir = await tempDir('vxl-cache-');
    cleanups.push(cacheDir.cleanup);
    const statCachePath = join(cacheDir.path, 'nested', 'stat.json');
    await settle(); // files changed within the racy window are never trusted
    const cold = await fingerprintContext({ contextDir: dir, statCachePath });
    expect(cold.cache).toEqual({ hits: 0, misses: 3 });
    expect((await stat(statCachePath)).mode & 0o777).toBe(0o600);
    const warm = await fingerprintContext({ contextDir: dir, statCachePath });
    expect(warm.cache).toEqual({ hits: 3, misses: 0 });
    expect(warm.fingerprint).toBe(cold.fingerprint);
    await writeFile(join(dir, 'a.py'), 'ONE\n'); // same size, new mtime: read again
    await settle();
    const changed = await fingerprintContext({ contextDir: dir, statCachePath });
    expect(changed.cache).toEqual({ hits: 2, misses: 1 });
    expect(changed.fingerprint).not.toBe(cold.fingerprint);
    const again = await fingerprintContext({ contextDir: dir, statCachePath });
    expect(again.cache).toEqual({ hits: 3, misses: 0 });
    expect(again.fingerprint).toBe(changed.fingerprint);
    // A file changed just before a run is racy: it is re-read until it is older than the cache.
    await writeFile(join(dir, 'b.py'), 'TWO\n');
    const racy = await fingerprintContext({ contextDir: dir, statCachePath });
    expect(racy.cache).toEqual({ hits: 2, misses: 1 });
    expect((await fingerprintContext({ contextDir: dir, statCachePath })).cache).toEqual({ hits: 2, misses: 1 });
    await settle();
    expect((await fingerprintContext({ contextDir: dir, statCachePath })).cache).toEqual({ hits: 2, misses: 1 });
    expect((await fingerprintContext({ contextDir: dir, statCachePath })).cache).toEqual({ hits: 3, misses: 0 });
    const text = await readFile(statCachePath, 'utf8');
    expect(text).not.toContain('ONE');
  });

  test('small files (read synchronously) and large ones (read through the pool) all enter the fingerprint', async () => {
    const files: Record<string, Buffer> = {
      'tiny.bin': Buffer.from('x'),
      'edge.bin': Buffer.alloc(64 * 1024, 1), // the largest file read synchronously
      'over.bin': Buffer.alloc(64 * 1024 + 1, 2),
      'big.bin': Buffer.alloc(3 * 1024 * 1024 + 7, 3),
    };
    for (let i = 0; i < 300; i++) files[`many/f${i}.py`] = Buffer.from(`print(${i})\n`);
    const dir = await tree({ Dockerfile: DOCKERFILE, ...files });
    const base = await fingerprintContext({ contextDir: dir, statCachePath: false });
    expect(base.entries).toBe(1 + 4 + 1 + 300);
    expect((await fingerprintContext({ contextDir: dir, statCachePath: false })).fingerprint).toBe(base.fingerprint);
    const seen = new Set([base.fingerprint]);
    for (const [path, content] of Object.entries(files).filter(
      ([p]) => !p.startsWith('many/') || p === 'many/f299.py',
    )) {
      const changed = Buffer.from(content);
      changed.writeUInt8(changed.readUInt8(changed.length - 1) ^ 0xff, changed.length - 1); // same size, last byte differs
      await writeFile(join(dir, path), changed);
      const fingerprint = (await fingerprintContext({ contextDir: dir, statCachePath: false })).fingerprint;
      expect(seen.has(fingerprint), path).toBe(false);
      seen.add(fingerprint);
    }
  });

  test('a credential verdict is remembered by the stat cache', async () => {
    const dir = await tree({ Dockerfile: DOCKERFILE, 'key.pem': '-----BEGIN RSA PRIVATE KEY-----\nabc\n' });
    await settle();
    const cacheDir = await tempDir('vxl-cache-');
    cleanups.push(cacheDir.cleanup);
    const statCachePath = join(cacheDir.path, 'stat.json');
    for (let i = 0; i < 2; i++) {
      await expect(fingerprintContext({ contextDir: dir, statCachePath })).rejects.toThrow(
        /key\.pem \(PEM private key\)/,
      );
    }
    const ok = await fingerprintContext({ contextDir: dir, statCachePath, allowSecrets: ['key.pem'] });
    expect(ok.cache).toEqual({ hits: 2, misses: 0 });
  });
});

describe('Dockerfile selection', () => {
  test('an explicit Dockerfile outside the context is added under a fixed name and fingerprinted', async () => {
    const dir = await tree({ 'train.py': 'print(1)\n' });
    const outside = await tree({ 'build.Dockerfile': 'FROM scratch\n' });
    const dockerfile = join(outside, 'build.Dockerfile');
    const manifest = await fingerprintContext({ contextDir: dir, dockerfile, statCachePath: false });
    expect(manifest.dockerfilePath).toBe('Dockerfile.vertex-launch');
    expect(manifest.files).toEqual(['Dockerfile.vertex-launch', 'train.py']);
    const { file } = await packToFile({ contextDir: dir, dockerfile, statCachePath: false });
    expect(execFileSync('tar', ['-xzOf', file, 'Dockerfile.vertex-launch'], { encoding: 'utf8' })).toBe(
      'FROM scratch\n',
    );
    await writeFile(dockerfile, 'FROM scratch\nUSER 1\n');
    expect((await fingerprintContext({ contextDir: dir, dockerfile, statCachePath: false })).fingerprint).not.toBe(
      manifest.fingerprint,
    );
  });

  test('an explicit Dockerfile inside an ignored directory is still sent', async () => {
    const dir = await tree({
      'docker/train.Dockerfile': 'FROM scratch\n',
      'docker/other': 'x',
      '.dockerignore': 'docker\n',
    });
    const manifest = await fingerprintContext({
      contextDir: dir,
      dockerfile: 'docker/train.Dockerfile',
      statCachePath: false,
    });
    expect(manifest.dockerfilePath).toBe('docker/train.Dockerfile');
    expect(manifest.files).toEqual(['.dockerignore', 'docker', 'docker/train.Dockerfile']);
  });

  test('generates a Dockerfile for a Python project and includes it in tar and fingerprint', async () => {
    const dir = await tree({ 'requirements.txt': 'numpy\n', 'main.py': 'print(1)\n' });
    const manifest = await fingerprintContext({ contextDir: dir, statCachePath: false });
    expect(manifest.dockerfilePath).toBe('Dockerfile.vertex-launch');
    expect(manifest.generatedDockerfile).toContain('ENTRYPOINT ["python", "main.py"]');
    expect(manifest.generatedDockerfile).toContain('RUN pip install -r requirements.txt');
    const { file } = await packToFile({ contextDir: dir, statCachePath: false });
    expect(execFileSync('tar', ['-xzOf', file, 'Dockerfile.vertex-launch'], { encoding: 'utf8' })).toBe(
      manifest.generatedDockerfile,
    );
    const gpu = await fingerprintContext({
      contextDir: dir,
      statCachePath: false,
      generateDockerfile: { accelerator: true, entrypoint: ['python', '-m', 'pkg.train'] },
    });
    expect(gpu.generatedDockerfile).toContain('FROM nvidia/cuda:');
    expect(gpu.generatedDockerfile).toContain('ENTRYPOINT ["python", "-m", "pkg.train"]');
    expect(gpu.fingerprint).not.toBe(manifest.fingerprint);
  });

  test('a pyproject project without a known script asks for an entrypoint', async () => {
    const dir = await tree({ 'pyproject.toml': '[project]\nname = "x"\n', 'run.py': '' });
    await expect(fingerprintContext({ contextDir: dir, statCachePath: false })).rejects.toThrow(
      /no Dockerfile, train\.py or main\.py[\s\S]*/,
    );
    const manifest = await fingerprintContext({
      contextDir: dir,
      statCachePath: false,
      generateDockerfile: { entrypoint: ['python', 'run.py'] },
    });
    expect(manifest.generatedDockerfile).toContain('RUN pip install .');
  });

  test('no Dockerfile and no Python project is a clear error', async () => {
    const dir = await tree({ 'index.js': '' });
    const error = (await fingerprintContext({ contextDir: dir, statCachePath: false }).catch((e: unknown) => e)) as
      | BuildContextError
      | undefined;
    expect(error).toBeInstanceOf(BuildContextError);
    expect(error!.message).toMatch(
      /No Dockerfile in .*not a Python project \(no requirements\.txt or pyproject\.toml\)/,
    );
    expect(error!.hint).toContain('pass `dockerfile`');
  });

  test('a missing explicit Dockerfile or context directory is a ConfigError naming the path', async () => {
    const dir = await tree({ 'train.py': '' });
    await expect(fingerprintContext({ contextDir: dir, dockerfile: 'nope.Dockerfile' })).rejects.toThrow(
      /The Dockerfile .*nope\.Dockerfile does not exist/,
    );
    await expect(fingerprintContext({ contextDir: join(dir, 'missing') })).rejects.toThrow(
      /The build context .*missing does not exist/,
    );
  });
});
