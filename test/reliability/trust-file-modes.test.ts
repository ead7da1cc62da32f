// Issue #11, part 5: files the tool writes are owner-only. Runs the CLI with HOME, XDG_CONFIG_HOME and
// XDG_CACHE_HOME in a fresh temp directory, under the usual umask and under umask 000 (where any mode the code
// forgets to set would come out world-readable), and checks every file and directory the run created below HOME:
// files 0600 (or stricter), directories 0700 — the queue database and its -wal/-shm files (`queue create`, and
// while a store has it open), the agent config of `init`, and the build stat cache of `launch --source`.
import { spawn } from 'node:child_process';
import { lstat, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { cliBin } from '../../packages/cli/test/run-cli.js';
import { childEnv, repoRoot, tempDir } from '../helpers.js';

let dir: { path: string; cleanup: () => Promise<void> };
const checked: string[] = [];
const t0 = performance.now();

beforeAll(async () => {
  dir = await tempDir('vxl-trust-modes-');
  await writeFile(
    join(dir.path, 'queue.yaml'),
    'spec:\n  worker_pool_specs:\n    - machine_spec: {machine_type: n1-standard-4}\n      container_spec: {image_uri: "${image_uri}"}\n  staging_bucket: gs://my-bucket\n',
  );
  await mkdir(join(dir.path, 'ctx'));
  await writeFile(join(dir.path, 'ctx', 'Dockerfile'), 'FROM python:3.12\n');
  await writeFile(join(dir.path, 'ctx', 'train.py'), 'print(1)\n');
});

afterAll(async () => {
  console.log(
    `[reliability] trust file modes: ${checked.length} files and directories written by the CLI checked (umask 022 and 000), ` +
      `0 wider than 0600/0700, ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  await dir?.cleanup();
});

/** Runs `node <cli> ...args` (or a script) under `sh -c 'umask U; exec ...'`; resolves with the exit code and output. */
function run(
  umask: string,
  argv: string[],
  env: Record<string, string | undefined>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', `umask ${umask} && exec "$0" "$@"`, process.execPath, ...argv], {
      cwd: repoRoot,
      env: childEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A fresh HOME with the XDG variables below it (XDG_DATA_HOME unset: the default ~/.local/share is used). */
async function freshHome(name: string): Promise<Record<string, string | undefined>> {
  const home = join(dir.path, name);
  await mkdir(home, { mode: 0o700 });
  return {
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_CACHE_HOME: join(home, '.cache'),
    XDG_DATA_HOME: undefined,
    VERTEX_LAUNCH_QUEUE_DB: undefined,
  };
}

/** Every path below `root` with its permission bits. */
async function modesBelow(root: string): Promise<{ path: string; dir: boolean; mode: number }[]> {
  const out: { path: string; dir: boolean; mode: number }[] = [];
  const visit = async (d: string) => {
    for (const name of await readdir(d)) {
      const p = join(d, name);
      const st = await lstat(p);
      out.push({ path: relative(root, p), dir: st.isDirectory(), mode: st.mode & 0o777 });
      if (st.isDirectory()) await visit(p);
    }
  };
  await visit(root);
  return out;
}

/** Nothing below HOME is readable, writable or searchable by group or others; the expected files are there. */
async function expectOwnerOnly(home: string, expected: RegExp[]): Promise<void> {
  const entries = await modesBelow(home);
  const shown = entries.map((e) => `${e.path} ${e.mode.toString(8)}`).join('\n');
  for (const pattern of expected)
    expect(
      entries.some((e) => pattern.test(e.path)),
      `${pattern} in\n${shown}`,
    ).toBe(true);
  for (const e of entries) {
    expect(e.mode & 0o077, `${e.path} is ${e.mode.toString(8)}`).toBe(0);
    if (e.dir) expect(e.mode, e.path).toBe(0o700);
    else expect(e.mode & 0o100, `${e.path} is not executable`).toBe(0);
    checked.push(e.path);
  }
}

describe('files the CLI writes are owner-only', () => {
  for (const umask of ['022', '000']) {
    test(`queue create, init and launch --source under umask ${umask}`, async () => {
      // queue create: the default queue database under ~/.local/share/vertex-launch.
      const a = await freshHome(`create-${umask}`);
      const created = await run(
        umask,
        [cliBin, 'queue', 'create', 'q1', '--queue-config', join(dir.path, 'queue.yaml')],
        a,
      );
      expect(created.code, created.stderr).toBe(0);
      await expectOwnerOnly(a.HOME!, [/^\.local\/share\/vertex-launch\/queues\.db$/]);

      // init: the agent config under $XDG_CONFIG_HOME/vertex-launch and the queue database.
      const b = await freshHome(`init-${umask}`);
      const init = await run(
        umask,
        [
          cliBin,
          'init',
          '--project',
          'my-project-123',
          '--region',
          'us-central1',
          '--staging-bucket',
          'gs://my-bucket',
        ],
        b,
      );
      expect(init.code, init.stderr).toBe(0);
      await expectOwnerOnly(b.HOME!, [/^\.config\/vertex-launch\/launch-config\.yaml$/, /queues\.db$/]);

      // launch --source --dry-run: the build stat cache under $XDG_CACHE_HOME/vertex-launch.
      const c = await freshHome(`launch-${umask}`);
      const launched = await run(
        umask,
        [
          cliBin,
          'launch',
          '--dry-run',
          '--queue-config',
          join(dir.path, 'queue.yaml'),
          '--source',
          join(dir.path, 'ctx'),
          '--image',
          'us-docker.pkg.dev/my-project/train/trainer',
          '--project',
          'my-project',
          '--region',
          'us-central1',
        ],
        c,
      );
      expect(launched.code, launched.stderr).toBe(0);
      await expectOwnerOnly(c.HOME!, [/^\.cache\/vertex-launch\/stat-cache\/[0-9a-f]+\.bin$/]);
    });
  }

  test('the -wal and -shm files of an open queue database are owner-only (umask 000)', async () => {
    const home = await freshHome('wal-000');
    const db = join(home.HOME!, '.local', 'share', 'vertex-launch', 'queues.db');
    const store = join(repoRoot, 'packages', 'queue-sqlite', 'dist', 'index.js');
    // Opens the store, writes, and lists the directory while the database is still open.
    const script = `
      import { readdirSync, statSync } from 'node:fs';
      import { dirname, join } from 'node:path';
      const { sqliteQueueStore } = await import(${JSON.stringify(store)});
      const s = sqliteQueueStore({ path: ${JSON.stringify(db)} });
      await s.listQueues();
      const d = dirname(${JSON.stringify(db)});
      const modes = Object.fromEntries(readdirSync(d).map((n) => [n, (statSync(join(d, n)).mode & 0o777).toString(8)]));
      await s.close();
      console.log(JSON.stringify(modes));`;
    const result = await run('000', ['--input-type=module', '-e', script], home);
    expect(result.code, result.stderr).toBe(0);
    const modes = JSON.parse(result.stdout.trim().split('\n').pop()!) as Record<string, string>;
    expect(Object.keys(modes).sort()).toEqual(['queues.db', 'queues.db-shm', 'queues.db-wal']);
    for (const [name, mode] of Object.entries(modes)) expect(mode, name).toBe('600');
    checked.push(...Object.keys(modes));
    await expectOwnerOnly(home.HOME!, [/queues\.db$/]);
  });
});
