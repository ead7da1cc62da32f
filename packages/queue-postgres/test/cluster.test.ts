// The private PostgreSQL cluster the queue-postgres tests, the reliability suite and the bench start: loopback only,
// its own data and socket directories, password authentication over TCP, never as root, gone after close(); and a
// clear failure (never a skip) when the server binaries are missing.
import { existsSync, statSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname } from 'node:path';
import pg from 'pg';
import { expect, test } from 'vitest';
import { POSTGRES_MISSING, startPostgresCluster } from '../../../scripts/postgres-cluster.mjs';

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

test('missing server binaries fail with what to install', async () => {
  await expect(startPostgresCluster({ env: { PATH: '' }, debianRoot: '/nonexistent' })).rejects.toThrow(
    POSTGRES_MISSING,
  );
  expect(POSTGRES_MISSING).toContain('sudo apt-get install postgresql');
});

test('a private cluster: 127.0.0.1 only, its own directories, a password over TCP, not root, removed on close', async () => {
  const cluster = await startPostgresCluster();
  try {
    expect(cluster.url).toBe(`postgres://vxl:${cluster.password}@127.0.0.1:${cluster.port}/postgres`);
    expect(cluster.port).not.toBe(5432);
    const settings = await cluster.psql(
      "SELECT current_setting('listen_addresses'), current_setting('unix_socket_directories'), current_setting('data_directory')",
    );
    expect(settings.trim()).toBe(`127.0.0.1|${cluster.socketDir}|${cluster.dataDir}`);
    expect(dirname(cluster.socketDir)).toBe(dirname(cluster.dataDir));
    if (process.getuid?.() === 0) expect(statSync(cluster.dataDir).uid).not.toBe(0);
    const noPassword = new pg.Client({
      host: '127.0.0.1',
      port: cluster.port,
      user: 'vxl',
      password: 'wrong',
      database: 'postgres',
    });
    await expect(noPassword.connect()).rejects.toThrow('password authentication failed for user "vxl"');
    const client = new pg.Client({ connectionString: cluster.url });
    await client.connect();
    expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await client.end();
    await cluster.restart({ mode: 'immediate' });
    expect(await cluster.psql('SELECT 2')).toBe('2\n');
  } finally {
    await cluster.close();
  }
  expect(await listening(cluster.port)).toBe(false);
  expect(existsSync(dirname(cluster.dataDir))).toBe(false);
});
