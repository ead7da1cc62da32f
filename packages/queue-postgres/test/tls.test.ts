// TLS against a real server: a private cluster with `ssl = on` and a certificate for localhost / 127.0.0.1 signed by a
// test CA (fixtures/tls, made by fixtures/tls/make.sh). Each sslmode does what libpq says it does.
import { chmodSync, chownSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QueueError } from '@vertex-launch/core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type PostgresCluster, serverUser, startPostgresCluster } from '../../../scripts/postgres-cluster.mjs';
import { type PostgresQueueStore, postgresQueueStore } from '../src/index.js';

const fixtures = fileURLToPath(new URL('./fixtures/tls/', import.meta.url));
const CA = join(fixtures, 'ca.crt');
const OTHER_CA = join(fixtures, 'other-ca.crt');
let cluster: PostgresCluster;
let certDir: string;
const stores: PostgresQueueStore[] = [];

beforeAll(async () => {
  // The server reads its key as the unprivileged user it runs as, and refuses a key others can read.
  certDir = mkdtempSync(join(tmpdir(), 'vxl-pg-tls-'));
  for (const file of ['server.crt', 'server.key']) copyFileSync(join(fixtures, file), join(certDir, file));
  chmodSync(join(certDir, 'server.key'), 0o600);
  const owner = serverUser();
  if (owner !== undefined) {
    for (const path of [certDir, join(certDir, 'server.crt'), join(certDir, 'server.key')]) {
      chownSync(path, owner.uid, owner.gid);
    }
  }
  cluster = await startPostgresCluster({
    settings: [
      'ssl = on',
      `ssl_cert_file = '${join(certDir, 'server.crt')}'`,
      `ssl_key_file = '${join(certDir, 'server.key')}'`,
    ],
  });
});
afterAll(async () => {
  for (const store of stores) await store.close();
  await cluster?.close();
  rmSync(certDir, { recursive: true, force: true });
});

/** A store named `app` (its application_name) with these TLS settings. */
function open(app: string, options: Record<string, unknown>) {
  const store = postgresQueueStore({
    user: cluster.user,
    password: cluster.password,
    database: 'postgres',
    port: cluster.port,
    host: '127.0.0.1',
    applicationName: app,
    schema: app.replaceAll('-', '_'),
    ...options,
  });
  stores.push(store);
  return store;
}

/** Whether the store's session is encrypted, as the server sees it. */
async function encrypted(app: string): Promise<string> {
  return (
    await cluster.psql(
      `SELECT bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.application_name = '${app}'`,
    )
  ).trim();
}

async function refused(store: PostgresQueueStore): Promise<QueueError> {
  const error = await store.ready().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(QueueError);
  expect((error as Error).message).not.toContain(cluster.password);
  return error as QueueError;
}

describe('sslmode against a TLS server', () => {
  test('disable: a plain connection', async () => {
    await open('tls-disable', { ssl: 'disable' }).ready();
    expect(await encrypted('tls-disable')).toBe('f');
  });

  test('require: encrypted, the certificate is not checked (even one from an unknown CA)', async () => {
    await open('tls-require', { ssl: 'require' }).ready();
    expect(await encrypted('tls-require')).toBe('t');
  });

  test('verify-full with the CA: encrypted, for the IP address and for localhost', async () => {
    await open('tls-full-ip', { ssl: { mode: 'verify-full', ca: CA } }).ready();
    expect(await encrypted('tls-full-ip')).toBe('t');
    await open('tls-full-name', { host: 'localhost', ssl: { ca: CA } }).ready();
    expect(await encrypted('tls-full-name')).toBe('t');
    // The same from the URL, as psql users write it.
    const url = `postgres://${cluster.user}:${encodeURIComponent(cluster.password)}@localhost:${cluster.port}/postgres?sslmode=verify-full&sslrootcert=${encodeURIComponent(CA)}&application_name=tls-url`;
    const fromUrl = postgresQueueStore({ connectionString: url, schema: 'tls_url' });
    stores.push(fromUrl);
    await fromUrl.ready();
    expect(await encrypted('tls-url')).toBe('t');
  });

  test('verify-full refuses a certificate from another CA, and one for another name', async () => {
    const wrongCa = await refused(open('tls-wrong-ca', { ssl: { mode: 'verify-full', ca: OTHER_CA } }));
    expect(wrongCa.message).toContain('cannot connect');
    expect(wrongCa.message).toContain('check the TLS settings (`ssl`, sslmode, sslrootcert)');
    const wrongName = await refused(open('tls-wrong-name', { ssl: { ca: CA, servername: 'db.example.com' } }));
    expect(wrongName.message).toMatch(/Hostname\/IP does not match certificate's altnames|db\.example\.com/);
  });

  test("verify-ca checks the CA but not the name; it still refuses another CA's certificate", async () => {
    await open('tls-ca-name', { ssl: { mode: 'verify-ca', ca: CA, servername: 'db.example.com' } }).ready();
    expect(await encrypted('tls-ca-name')).toBe('t');
    await refused(open('tls-ca-other', { ssl: { mode: 'verify-ca', ca: OTHER_CA } }));
  });
});
