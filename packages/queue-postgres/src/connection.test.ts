// Connection settings without a server: the URL, PG* variables, TLS modes, and that no password ever shows.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { ConfigError } from '@vertex-launch/core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseConnectionUrl, redactUrl, resolveConnection } from './connection.js';
import { postgresQueueStore } from './store.js';

const SECRET = 's3cr3t-P@ss:/word';
const ENCODED = encodeURIComponent(SECRET);
const resolve = (options: Record<string, unknown>, env: Record<string, string | undefined> = {}) =>
  resolveConnection({ env, ...options });

function configError(fn: () => unknown): ConfigError {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

let dir: string;
const PEM = (what: string) => `-----BEGIN ${what}-----\nMIIB${what.length}\n-----END ${what}-----\n`;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vxl-pg-tls-'));
  await writeFile(join(dir, 'root.crt'), PEM('CERTIFICATE'));
  await writeFile(join(dir, 'client.crt'), PEM('CERTIFICATE'));
  await writeFile(join(dir, 'client.key'), PEM('PRIVATE KEY'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('where to connect', () => {
  test('the URL: user, percent-encoded password, host, port, database and parameters', () => {
    const c = resolve({
      connectionString: `postgresql://launch%2Dbot:${ENCODED}@db.internal:6432/queues%20a?application_name=agents&connect_timeout=3`,
    });
    expect({ ...c }).toEqual({
      host: 'db.internal',
      port: 6432,
      user: 'launch-bot',
      database: 'queues a',
      sslMode: 'disable',
      ssl: false,
      applicationName: 'agents',
      connectTimeoutMs: 3000,
      display: 'postgres://launch-bot@db.internal:6432/queues%20a',
    });
    expect(c.password).toBe(SECRET);
  });

  test('options override the URL, the URL overrides PG* variables, which override the defaults', () => {
    const env = {
      PGHOST: 'env-host',
      PGPORT: '7000',
      PGUSER: 'env-user',
      PGDATABASE: 'env-db',
      PGPASSWORD: 'env-pw',
      PGAPPNAME: 'env-app',
      PGCONNECT_TIMEOUT: '7',
    };
    const fromEnv = resolve({}, env);
    expect([fromEnv.host, fromEnv.port, fromEnv.user, fromEnv.database, fromEnv.password]).toEqual([
      'env-host',
      7000,
      'env-user',
      'env-db',
      'env-pw',
    ]);
    expect([fromEnv.applicationName, fromEnv.connectTimeoutMs]).toEqual(['env-app', 7000]);
    const fromUrl = resolve({ connectionString: 'postgres://url-user:url-pw@url-host/url-db' }, env);
    expect([fromUrl.host, fromUrl.port, fromUrl.user, fromUrl.database, fromUrl.password]).toEqual([
      'url-host',
      7000,
      'url-user',
      'url-db',
      'url-pw',
    ]);
    const fromOptions = resolve(
      { connectionString: 'postgres://url-user:url-pw@url-host/url-db', host: 'opt-host', port: 1234, password: 'opt' },
      env,
    );
    expect([fromOptions.host, fromOptions.port, fromOptions.user, fromOptions.password]).toEqual([
      'opt-host',
      1234,
      'url-user',
      'opt',
    ]);
    const defaults = resolve({}, { USER: 'me' });
    expect([defaults.host, defaults.port, defaults.user, defaults.database, defaults.password]).toEqual([
      'localhost',
      5432,
      'me',
      'me',
      undefined,
    ]);
    expect([defaults.applicationName, defaults.connectTimeoutMs]).toEqual(['vertex-launch', 10_000]);
  });

  test('a unix socket directory as host, in the URL query (libpq style) or as PGHOST', () => {
    const c = resolve({ connectionString: 'postgres:///queues?host=%2Fvar%2Frun%2Fpostgresql&user=agent' });
    expect([c.host, c.database, c.user]).toEqual(['/var/run/postgresql', 'queues', 'agent']);
    expect(c.display).toBe('postgres://agent@%2Fvar%2Frun%2Fpostgresql:5432/queues');
    expect(resolve({}, { PGHOST: '/tmp/sock', USER: 'u' }).host).toBe('/tmp/sock');
    expect(resolve({ connectionString: 'postgres://u@[::1]:5433/d' })).toMatchObject({ host: '::1', port: 5433 });
  });

  test('URL problems are listed together, naming the option and the fix', () => {
    const error = configError(() =>
      resolve({ connectionString: `postgres://u:${ENCODED}@a,b/db?sslmode=prefer&pool=5&port=x` }),
    );
    const messages = error.issues.map((i) => i.message);
    expect(messages).toEqual([
      expect.stringContaining('lists several hosts; node-postgres connects to one'),
      expect.stringContaining('unknown parameter `pool`'),
      expect.stringContaining('port `x` is not a number from 1 to 65535'),
      expect.stringContaining('sslmode `prefer` (try TLS, fall back to none) is not supported by node-postgres'),
    ]);
    expect(error.message).toMatch(/^\[vertex-launch\] \[queue:postgres\] 4 problems with the options:/);
    expect(error.message).not.toContain(SECRET);
    expect(error.message).not.toContain(ENCODED);
    expect(error.message).toContain('postgres://u:***@a,b/db');
    expect(configError(() => resolve({ connectionString: 'mysql://u@h/d' })).message).toContain(
      'is not a PostgreSQL URL; write postgres://user:password@host:5432/database',
    );
    expect(configError(() => resolve({}, { PGPORT: '99999' })).message).toContain(
      'PGPORT: port `99999` is not a number from 1 to 65535',
    );
  });

  test('parseConnectionUrl keeps an empty password and decodes `+` in parameters', () => {
    expect(parseConnectionUrl('postgres://u:@h/d?application_name=a+b').values).toEqual({
      user: 'u',
      password: '',
      host: 'h',
      dbname: 'd',
      application_name: 'a b',
    });
  });
});

describe('TLS', () => {
  test('no TLS unless asked; true and an options object mean verify-full', () => {
    expect(resolve({}).ssl).toBe(false);
    expect(resolve({ ssl: false }).ssl).toBe(false);
    const full = resolve({ host: 'db.example.com', ssl: true });
    expect(full.sslMode).toBe('verify-full');
    expect(full.ssl).toEqual({ rejectUnauthorized: true, servername: 'db.example.com' });
    expect(resolve({ host: 'db.example.com', ssl: {} }).sslMode).toBe('verify-full');
  });

  test('libpq sslmode meanings: require does not check, verify-ca checks the chain only, verify-full also the name', () => {
    const require = resolve({ host: 'h.example', ssl: 'require' }).ssl as Record<string, unknown>;
    expect(require).toEqual({ rejectUnauthorized: false, servername: 'h.example' });
    const verifyCa = resolve({ host: '10.0.0.5', ssl: 'verify-ca' }).ssl as Record<string, unknown>;
    expect(verifyCa.rejectUnauthorized).toBe(true);
    expect((verifyCa.checkServerIdentity as () => unknown)()).toBeUndefined();
    // An IP address is no server name for SNI.
    expect(verifyCa.servername).toBeUndefined();
    const verifyFull = resolve({ host: 'h.example', ssl: { mode: 'verify-full', servername: 'db.internal' } })
      .ssl as Record<string, unknown>;
    expect(verifyFull).toEqual({ rejectUnauthorized: true, servername: 'db.internal' });
    // libpq: `require` with a root certificate verifies the chain like verify-ca.
    const requireCa = resolve({ host: 'h', ssl: { mode: 'require', ca: join(dir, 'root.crt') } }).ssl as Record<
      string,
      unknown
    >;
    expect(requireCa.rejectUnauthorized).toBeUndefined();
    expect(requireCa.ca).toBe(PEM('CERTIFICATE'));
    expect(typeof requireCa.checkServerIdentity).toBe('function');
  });

  test('sslmode and certificates from the URL, else from PGSSLMODE / PGSSLROOTCERT / PGSSLCERT / PGSSLKEY', () => {
    const url = `postgres://u@db.example.com/d?sslmode=verify-full&sslrootcert=${encodeURIComponent(join(dir, 'root.crt'))}&sslcert=${encodeURIComponent(join(dir, 'client.crt'))}&sslkey=${encodeURIComponent(join(dir, 'client.key'))}`;
    const fromUrl = resolve({ connectionString: url });
    const tls = fromUrl.ssl as Record<string, unknown>;
    expect(fromUrl.sslMode).toBe('verify-full');
    expect([tls.ca, tls.cert, tls.key]).toEqual([PEM('CERTIFICATE'), PEM('CERTIFICATE'), PEM('PRIVATE KEY')]);
    // The key is there for node-postgres, but not enumerable: printing the options does not show it.
    expect(Object.keys(tls)).not.toContain('key');
    expect(inspect(fromUrl, { depth: 5 })).not.toContain('PRIVATE KEY');
    const fromEnv = resolve(
      { host: 'db.example.com' },
      { PGSSLMODE: 'verify-ca', PGSSLROOTCERT: join(dir, 'root.crt'), USER: 'u' },
    );
    expect(fromEnv.sslMode).toBe('verify-ca');
    expect((fromEnv.ssl as Record<string, unknown>).ca).toBe(PEM('CERTIFICATE'));
    // The option wins over the URL, which wins over the environment.
    expect(
      resolve({ connectionString: 'postgres://u@h/d?sslmode=require', ssl: false }, { PGSSLMODE: 'verify-full' })
        .sslMode,
    ).toBe('disable');
    expect(
      resolve({ connectionString: 'postgres://u@h/d?sslmode=require' }, { PGSSLMODE: 'verify-full' }).sslMode,
    ).toBe('require');
    // node-postgres' own `no-verify` is `require`; libpq's `sslrootcert=system` is Node's CA list.
    expect(resolve({}, { PGSSLMODE: 'no-verify' }).sslMode).toBe('require');
    expect(
      (
        resolve({ connectionString: 'postgres://u@h/d?sslmode=verify-full&sslrootcert=system' }).ssl as Record<
          string,
          unknown
        >
      ).ca,
    ).toBeUndefined();
  });

  test('inline PEM is taken as is; unreadable files, half a key pair and unknown modes are named', () => {
    const inline = resolve({ ssl: { ca: PEM('CERTIFICATE'), cert: PEM('CERTIFICATE'), key: PEM('PRIVATE KEY') } });
    expect((inline.ssl as Record<string, unknown>).ca).toBe(PEM('CERTIFICATE'));
    const error = configError(() =>
      resolve({ ssl: { mode: 'verify-full', ca: join(dir, 'missing.crt'), cert: join(dir, 'client.crt') } }),
    );
    expect(error.issues.map((i) => i.message)).toEqual([
      `ssl.ca: cannot read the CA certificate file ${join(dir, 'missing.crt')} (ENOENT); give a readable file or the PEM text.`,
      'TLS: a client certificate needs its key and a key needs its certificate; set both (the key is missing).',
    ]);
    expect(configError(() => resolve({}, { PGSSLMODE: 'allow' })).message).toContain(
      'PGSSLMODE: sslmode `allow` (try TLS, fall back to none) is not supported by node-postgres, which cannot fall back; use `require`',
    );
    expect(configError(() => resolve({ connectionString: 'postgres://h/d?sslmode=strict' })).message).toContain(
      'unknown sslmode `strict`; use one of disable, require, verify-ca, verify-full',
    );
    expect(configError(() => resolve({ ssl: 'strict' })).message).toContain(
      'Option `ssl`: expected true, false, an sslmode name or a TLS options object.',
    );
  });
});

describe('options', () => {
  test('each bad option is named, with a suggestion for the usual other names; values are never shown', () => {
    const error = configError(() =>
      postgresQueueStore({
        url: 'postgres://x',
        max: 3,
        port: 0,
        password: 12345 as unknown as string,
        schema: 'Bad-Schema',
        retryTimeoutMs: -1,
      } as never),
    );
    expect(error.message.split('\n')).toEqual([
      '[vertex-launch] [queue:postgres] 5 problems with the options:',
      '  - Option `port`: Too small: expected number to be >=1.',
      '  - Option `password`: Invalid input: expected string, received number.',
      '  - Option `schema`: use lowercase letters, digits and `_`, starting with a letter or `_`, at most 63.',
      '  - Option `retryTimeoutMs`: Too small: expected number to be >=0.',
      '  - Unknown options `url` (did you mean `connectionString`?), `max` (did you mean `maxConnections`?).',
    ]);
    expect(error.message).not.toContain('12345');
  });
});

describe('passwords never show', () => {
  test('redactUrl masks the userinfo password and password parameters, and leaves the rest', () => {
    expect(redactUrl(`postgres://bot:${ENCODED}@db:5432/q?sslmode=require`)).toBe(
      'postgres://bot:***@db:5432/q?sslmode=require',
    );
    expect(redactUrl('postgresql://bot@db/q')).toBe('postgresql://bot@db/q');
    expect(redactUrl('postgres://db/q?user=bot&password=hunter2&sslpassword=k3y')).toBe(
      'postgres://db/q?user=bot&password=***&sslpassword=***',
    );
    expect(redactUrl("host=db user=bot password='it\\'s secret' dbname=q")).toBe(
      'host=db user=bot password=*** dbname=q',
    );
    expect(redactUrl('/home/me/.local/share/vertex-launch/queues.db')).toBe(
      '/home/me/.local/share/vertex-launch/queues.db',
    );
    expect(redactUrl('postgres://a:b:c@h/d')).toBe('postgres://a:***@h/d');
  });

  test('the store, its connection and its target print no password', () => {
    const store = postgresQueueStore({ connectionString: `postgres://bot:${ENCODED}@127.0.0.1:1/q`, migrate: false });
    const shown = [
      String(store),
      `${store}`,
      inspect(store, { depth: 10, showHidden: true }),
      JSON.stringify(store),
      JSON.stringify(store.target),
    ].join('\n');
    expect(shown).not.toContain(SECRET);
    expect(shown).not.toContain(ENCODED);
    expect(String(store)).toBe('postgresQueueStore(postgres://bot@127.0.0.1:1/q (schema vertex_launch))');
    const connection = resolve({ connectionString: `postgres://bot:${ENCODED}@h/q` });
    expect(JSON.stringify(connection)).not.toContain(SECRET);
    expect(inspect(connection, { depth: 5 })).not.toContain(SECRET);
    expect(Object.keys(connection)).not.toContain('password');
    void store.close();
  });
});
