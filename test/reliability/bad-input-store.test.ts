// Issue #24, parts 5-7: bad queue database paths fail at once with a clear error; the SQLite store never writes to
// a database that is not ours (application_id), read-only commands never write and read while an agent holds the
// write lock, and every hint names a real option or fix.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { QueueError } from '@vertex-launch/core';
import { APPLICATION_ID, sqliteQueueStore } from '@vertex-launch/queue-sqlite';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCli } from '../../packages/cli/test/run-cli.js';
import { repoRoot, tempDir } from '../helpers.js';
import { fuzzOptions, Tally } from './arbitraries.js';

/** What this test uses of better-sqlite3 (the store package's dependency, not the root's: taken from there). */
interface SqliteDb {
  exec(sql: string): void;
  prepare(sql: string): { run(...params: unknown[]): unknown };
  pragma(sql: string, options?: { simple: boolean }): unknown;
  close(): void;
}
const Database = createRequire(join(repoRoot, 'packages/queue-sqlite/package.json'))('better-sqlite3') as new (
  file: string,
  options?: { readonly?: boolean; timeout?: number },
) => SqliteDb;

let dir: { path: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  dir = await tempDir('vxl-store-');
});
afterAll(async () => {
  await dir?.cleanup();
});

const digest = async (file: string) =>
  createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
const openError = (options: Parameters<typeof sqliteQueueStore>[0]) => {
  try {
    sqliteQueueStore(options).close();
  } catch (error) {
    return error as QueueError;
  }
  throw new Error(`opened ${options?.path}`);
};

/** A SQLite database of another application: random tables and rows, an application id or none. */
const foreignDb = fc.record({
  tables: fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/), { minLength: 1, maxLength: 4 }),
  rows: fc.integer({ min: 0, max: 5 }),
  applicationId: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2 ** 31 - 1 })),
  userVersion: fc.integer({ min: 0, max: 9 }),
  wal: fc.boolean(),
});

describe('bad queue database paths (#24.5)', () => {
  test('a path that can never be created, a file as a parent and a directory as the file fail at once', async () => {
    await mkdir(join(dir.path, 'a-dir'));
    await writeFile(join(dir.path, 'a-file'), 'x');
    const cases: [string, RegExp][] = [
      ['/proc/vxl-no-such/q.db', /Cannot create the directory \/proc\/vxl-no-such .*\(ENOENT\).*--db, `queue_db`/],
      [join(dir.path, 'a-file', 'sub', 'q.db'), /a-file is a file, not a directory.*--db/],
      [join(dir.path, 'a-dir'), /a-dir is a directory, not a file\. Name a file inside it/],
    ];
    for (const [path, message] of cases) {
      const started = performance.now();
      const error = openError({ path });
      expect(performance.now() - started).toBeLessThan(1000);
      expect(error).toBeInstanceOf(QueueError);
      expect(error.message).toMatch(message);
      expect(error.message).not.toMatch(/EEXIST/);
    }
    // The CLI says the same, at once, with exit 2 and no stack trace.
    const result = await runCli([
      'queue',
      'create',
      'q',
      '--queue-config',
      '/dev/null',
      '--db',
      '/proc/vxl-no-such/q.db',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/Cannot create the directory \/proc\/vxl-no-such/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('foreign SQLite files (#24.6)', () => {
  test("another application's database is refused, byte for byte untouched, by every open", async () => {
    const tally = new Tally('foreign sqlite files', 'refusals naming the file');
    let n = 0;
    await fc.assert(
      fc.asyncProperty(foreignDb, async (spec) => {
        tally.generated++;
        const file = join(dir.path, `foreign-${n++}.sqlite`);
        const db = new Database(file);
        if (spec.wal) db.pragma('journal_mode = WAL');
        for (const table of spec.tables) {
          db.exec(`CREATE TABLE "${table}" (x)`);
          for (let i = 0; i < spec.rows; i++) db.prepare(`INSERT INTO "${table}" VALUES (?)`).run(i);
        }
        db.pragma(`application_id = ${spec.applicationId}`);
        db.pragma(`user_version = ${spec.userVersion}`);
        db.close();
        const before = await digest(file);
        for (const readOnly of [false, true]) {
          const error = openError({ path: file, readOnly });
          expect(error.message).toContain(`The file ${file} is not a Vertex Launch queue database`);
          expect(error.message).toContain('nothing was written to it');
          tally.configErrors++;
        }
        expect(await digest(file)).toBe(before);
        const mode = new Database(file, { readonly: true }).pragma('journal_mode', { simple: true });
        expect(mode).toBe(spec.wal ? 'wal' : 'delete');
      }),
      fuzzOptions(40),
    );
    tally.print();
  });

  test('an empty file is initialised and marked; a queue database keeps working', async () => {
    const file = join(dir.path, 'empty.db');
    await writeFile(file, '');
    const store = sqliteQueueStore({ path: file });
    await store.close();
    const db = new Database(file, { readonly: true });
    expect(db.pragma('application_id', { simple: true })).toBe(APPLICATION_ID);
    db.close();
    const again = sqliteQueueStore({ path: file });
    expect(await again.listQueues()).toEqual([]);
    await again.close();
  });

  test('read-only opens never create, migrate or switch to WAL, and read while a writer holds the lock', async () => {
    const missing = join(dir.path, 'ro', 'missing.db');
    const ro = sqliteQueueStore({ path: missing, readOnly: true });
    expect(await ro.listQueues()).toEqual([]);
    await ro.close();
    await expect(stat(join(dir.path, 'ro'))).rejects.toMatchObject({ code: 'ENOENT' });

    const file = join(dir.path, 'locked.db');
    const writer = sqliteQueueStore({ path: file });
    await writer.createQueue({ name: 'q', config: { spec: {} } } as never).catch(() => undefined);
    const lock = new Database(file, { timeout: 50 });
    lock.exec('BEGIN EXCLUSIVE');
    try {
      const started = performance.now();
      const reader = sqliteQueueStore({ path: file, readOnly: true, busyTimeoutMs: 200 });
      const names = (await reader.listQueues()).map((q) => q.name);
      await reader.close();
      expect(performance.now() - started).toBeLessThan(2000);
      expect(names).toEqual((await writer.listQueues()).map((q) => q.name));
      // A writer that cannot get the lock says "locked", never "not a Vertex Launch queue database".
      const error = openError({ path: join(dir.path, 'locked.db'), busyTimeoutMs: 100 });
      expect(error.message).toMatch(/is locked \(busy: SQLITE_BUSY/);
      expect(error.message).not.toMatch(/not a Vertex Launch/);
    } finally {
      lock.exec('ROLLBACK');
      lock.close();
      await writer.close();
    }
    // The CLI's read-only commands take the read-only path: a foreign file stays unchanged through queue list.
    const foreign = join(dir.path, 'cli-foreign.sqlite');
    const db = new Database(foreign);
    db.exec('CREATE TABLE notes (body TEXT)');
    db.close();
    const before = await digest(foreign);
    for (const args of [
      ['queue', 'list'],
      ['queue', 'items', 'q'],
      ['queue', 'show', 'q'],
    ]) {
      const result = await runCli([...args, '--db', foreign]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('is not a Vertex Launch queue database (its tables are notes)');
    }
    expect(await digest(foreign)).toBe(before);
    expect(execFileSync('ls', [dir.path]).toString()).not.toContain('cli-foreign.sqlite-wal');
  });
});

describe('hints name real options (#24.7)', () => {
  test('every option, flag and key a store hint names exists', async () => {
    const sources = await Promise.all(
      ['paths.ts', 'store.ts', 'schema.ts'].map((f) =>
        readFile(join(repoRoot, 'packages/queue-sqlite/src', f), 'utf8'),
      ),
    );
    const text = sources.join('\n');
    const optionsBlock = /export interface SqliteQueueStoreOptions \{([\s\S]*?)\n\}/.exec(text)?.[1] ?? '';
    const options = [...optionsBlock.matchAll(/^ {2}(\w+)\?:/gm)].map((m) => m[1]);
    expect(options).toEqual(expect.arrayContaining(['path', 'busyTimeoutMs', 'readOnly']));
    // "the `x` option of sqliteQueueStore()": x must be one of its options.
    const named = [...text.matchAll(/the `(\w+)` option(?: of sqliteQueueStore\(\))?/g)].map((m) => m[1]);
    expect(named.length).toBeGreaterThan(0);
    for (const name of named) expect(options).toContain(name);
    // Flags and agent-config keys named by hints exist in the CLI and in launch-config.yaml.
    const help = await runCli(['queue', 'list', '--help']);
    for (const flag of new Set([...text.matchAll(/ (--[a-z][a-z-]+)/g)].map((m) => m[1] as string))) {
      expect(help.stdout, flag).toContain(flag);
    }
    const { agentConfigSchema } = await import('@vertex-launch/core/agent');
    for (const key of new Set([...text.matchAll(/`(\w+)` in launch-config\.yaml/g)].map((m) => m[1] as string))) {
      expect(Object.keys(agentConfigSchema.shape)).toContain(key);
    }
    expect(text).not.toMatch(/raise `busyTimeoutMs`/);
  });
});
