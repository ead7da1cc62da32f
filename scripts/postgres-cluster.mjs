#!/usr/bin/env node
// A private PostgreSQL cluster for tests and benchmarks: `initdb` into a temp dir, `pg_ctl start` listening on a free
// port of 127.0.0.1 only, its unix socket in the same temp dir. Nothing is shared with a system service (its own data
// directory, port, socket directory, password and config); it is stopped and removed by `close()`, and a watchdog
// stops it when the process that started it dies without closing it (kill -9, a crashed test worker).
//
// PostgreSQL refuses to run as root (initdb: "cannot be run as root"), so as root the server runs as an unprivileged
// user: $VERTEX_LAUNCH_PG_RUN_AS, else `nobody`, through `runuser` (util-linux). As any other user it runs as that
// user. The server binaries come from $VERTEX_LAUNCH_PG_BIN, else the PATH, else the newest /usr/lib/postgresql/*/bin
// (Debian's layout). When they are missing, `startPostgresCluster()` throws one message saying what to install.
//
//   node scripts/postgres-cluster.mjs        # starts one, prints its URL, stops it on Ctrl-C (for trying things out)
import { execFile, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, chownSync, constants, existsSync, readdirSync, realpathSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** What to install when the server binaries are missing. */
export const POSTGRES_MISSING =
  'PostgreSQL server binaries (initdb, pg_ctl) were not found in $VERTEX_LAUNCH_PG_BIN, the PATH or /usr/lib/postgresql/*/bin. ' +
  'The PostgreSQL tests need a real server: install it (Debian/Ubuntu: `sudo apt-get install postgresql`; `pnpm test` does this when run as root) ' +
  'or set VERTEX_LAUNCH_PG_BIN to the directory holding initdb and pg_ctl.';

const isExecutable = (file) => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** The directory holding `initdb` and `pg_ctl`, or undefined. `debianRoot`: where Debian keeps one bin/ per version. */
export function findPostgresBin(env = process.env, debianRoot = '/usr/lib/postgresql') {
  const candidates = [];
  if (env.VERTEX_LAUNCH_PG_BIN) candidates.push(env.VERTEX_LAUNCH_PG_BIN);
  for (const dir of (env.PATH ?? '').split(delimiter)) if (dir) candidates.push(dir);
  try {
    const versions = readdirSync(debianRoot)
      .filter((name) => /^\d+$/.test(name))
      .sort((a, b) => Number(b) - Number(a));
    for (const version of versions) candidates.push(join(debianRoot, version, 'bin'));
  } catch {
    // Not Debian's layout.
  }
  const dir = candidates.find((d) => isExecutable(join(d, 'initdb')) && isExecutable(join(d, 'pg_ctl')));
  // A PATH entry may hold links to the real directory (which also has psql and postgres): use that one.
  return dir === undefined ? undefined : dirname(realpathSync(join(dir, 'initdb')));
}

/** A free TCP port on 127.0.0.1 (free when asked; the server binds it a moment later). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function lookupUser(name) {
  const result = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  const uid = Number(result.stdout.trim());
  const gid = Number(spawnSync('id', ['-g', name], { encoding: 'utf8' }).stdout.trim());
  if (result.status !== 0 || !Number.isInteger(uid) || uid === 0) return undefined;
  return { name, uid, gid };
}

/**
 * The unprivileged user the server runs as when this process is root ({ name, uid, gid }), else undefined (it runs
 * as this process's user). @throws when that user does not exist or `runuser` is missing.
 */
export function serverUser(env = process.env) {
  if (process.getuid?.() !== 0) return undefined;
  const name = env.VERTEX_LAUNCH_PG_RUN_AS || 'nobody';
  const user = lookupUser(name);
  if (user === undefined) {
    throw new Error(
      `PostgreSQL refuses to run as root, and the user \`${name}\` to run it as does not exist: set VERTEX_LAUNCH_PG_RUN_AS to an unprivileged user.`,
    );
  }
  if (!['/usr/sbin/runuser', '/sbin/runuser', '/usr/bin/runuser'].some(isExecutable)) {
    throw new Error('Starting PostgreSQL as root needs `runuser` (Debian package util-linux) to drop to another user.');
  }
  return user;
}

/**
 * Starts a private cluster. Options: `fsync` (default false: tests do not need durability against power loss, and a
 * killed server still loses nothing committed), `settings` (extra postgresql.conf lines), `log` (progress lines).
 * Resolves with `{ url, host, port, user, password, database, dataDir, socketDir, bin, adminUrl(db), stop(), start(),
 * restart(), psql(sql), close() }`.
 */
export async function startPostgresCluster(options = {}) {
  const env = options.env ?? process.env;
  const bin = findPostgresBin(env, options.debianRoot);
  if (bin === undefined) throw new Error(POSTGRES_MISSING);
  const runAs = serverUser(env);
  const base = await mkdtemp(join(options.tmpdir ?? tmpdir(), 'vxl-pg-'));
  const dataDir = join(base, 'data');
  const socketDir = join(base, 'sock');
  const logFile = join(base, 'server.log');
  const user = 'vxl';
  const password = `pw-${randomBytes(12).toString('hex')}`;
  const port = options.port ?? (await freePort());
  const log = options.log ?? (() => {});
  await mkdir(socketDir);
  await writeFile(join(base, 'pwfile'), `${password}\n`, { mode: 0o600 });
  if (runAs) {
    for (const path of [base, socketDir, join(base, 'pwfile')]) chownSync(path, runAs.uid, runAs.gid);
  }
  /** Runs a server binary as the cluster's user. */
  const pg = (program, args, extra = {}) => {
    const file = join(bin, program);
    const [command, argv] = runAs ? ['runuser', ['-u', runAs.name, '--', file, ...args]] : [file, args];
    return run(command, argv, { cwd: base, env: { ...env, LC_ALL: 'C', PGTZ: undefined }, ...extra }).catch(
      async (error) => {
        const tail = await readFile(logFile, 'utf8').then(
          (text) => text.split('\n').slice(-15).join('\n'),
          () => '',
        );
        throw new Error(
          `${program} ${args.join(' ')} failed: ${error.stderr || error.message}${tail ? `\nserver log:\n${tail}` : ''}`,
        );
      },
    );
  };

  const started = Date.now();
  await pg('initdb', [
    '-D',
    dataDir,
    '-U',
    user,
    `--pwfile=${join(base, 'pwfile')}`,
    '--auth-host=scram-sha-256',
    '--auth-local=trust',
    '--encoding=UTF8',
    '--locale=C',
    '--no-sync',
  ]);
  await appendFile(
    join(dataDir, 'postgresql.conf'),
    [
      '',
      '# vertex-launch test cluster',
      `fsync = ${options.fsync ? 'on' : 'off'}`,
      'max_connections = 300',
      'shared_buffers = 32MB',
      "timezone = 'UTC'",
      'log_min_messages = warning',
      'log_connections = off',
      ...(options.settings ?? []),
      '',
    ].join('\n'),
  );
  log(`initdb ${dataDir} in ${Date.now() - started} ms`);

  // The -c flags put the listener on loopback only and the socket in the temp dir, whatever postgresql.conf says.
  const serverOptions = `-c listen_addresses=127.0.0.1 -c port=${port} -k ${socketDir}`;
  let running = false;
  const start = async () => {
    await pg('pg_ctl', ['-D', dataDir, '-l', logFile, '-w', '-t', '60', '-o', serverOptions, 'start']);
    running = true;
  };
  const stop = async ({ mode = 'fast' } = {}) => {
    if (!running) return;
    await pg('pg_ctl', ['-D', dataDir, '-m', mode, '-w', '-t', '60', 'stop']);
    running = false;
  };
  await start();
  log(`postgres on 127.0.0.1:${port} in ${Date.now() - started} ms`);

  // The watchdog: stops the server and removes the temp dir once this process is gone, however it ended.
  const stopCommand = `${runAs ? `runuser -u ${runAs.name} -- ` : ''}${join(bin, 'pg_ctl')} -D ${dataDir} -m immediate stop`;
  const watchdog = spawn(
    'sh',
    [
      '-c',
      `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; ${stopCommand} >/dev/null 2>&1; rm -rf ${base}`,
      'vxl-pg-watchdog',
    ],
    { detached: true, stdio: 'ignore' },
  );
  watchdog.unref();
  const onExit = () => {
    if (!running) return;
    spawnSync('sh', ['-c', `${stopCommand} >/dev/null 2>&1`]);
  };
  process.once('exit', onExit);

  const url = `postgres://${user}:${password}@127.0.0.1:${port}/postgres`;
  return {
    url,
    host: '127.0.0.1',
    port,
    user,
    password,
    database: 'postgres',
    dataDir,
    socketDir,
    logFile,
    bin,
    /** The URL of database `database` on this cluster. */
    urlOf: (database) => `postgres://${user}:${password}@127.0.0.1:${port}/${database}`,
    start,
    stop,
    /** Stops (`mode`: fast, immediate, smart), waits `downMs`, starts again. */
    async restart({ mode = 'fast', downMs = 0 } = {}) {
      await stop({ mode });
      if (downMs > 0) await new Promise((resolve) => setTimeout(resolve, downMs));
      await start();
    },
    /** Runs SQL with psql over the unix socket as the superuser; resolves with its stdout (unaligned, tuples only). */
    async psql(sql, database = 'postgres') {
      const psql = join(bin, 'psql');
      const args = ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-h', socketDir, '-p', String(port), '-U', user];
      const { stdout } = await run(existsSync(psql) ? psql : 'psql', [...args, '-d', database, '-c', sql], {
        env: { ...env, PGPASSWORD: undefined },
      });
      return stdout;
    },
    /** Stops the server and removes the temp dir. */
    async close() {
      process.removeListener('exit', onExit);
      try {
        await stop({ mode: 'immediate' });
      } finally {
        watchdog.kill();
        await rm(base, { recursive: true, force: true });
      }
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const cluster = await startPostgresCluster({ log: (line) => console.error(line) });
  console.log(
    `PostgreSQL ${cluster.bin} running as ${process.getuid?.() === 0 ? 'an unprivileged user' : userInfo().username}`,
  );
  console.log(`VERTEX_LAUNCH_QUEUE_DB=${cluster.url}`);
  console.log('Ctrl-C stops it and removes its data.');
  const done = async () => {
    await cluster.close();
    process.exit(0);
  };
  process.once('SIGINT', done);
  process.once('SIGTERM', done);
  setInterval(() => {}, 1 << 30);
}
