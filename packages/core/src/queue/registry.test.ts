import { describe, expect, test } from 'vitest';
import { ConfigError } from '../errors.js';
import { memoryQueueStore } from './memory.js';
import {
  openQueueStore,
  queueStoreDriver,
  queueStoreScheme,
  queueStoreSchemes,
  redactStoreUrl,
  registerQueueStoreDriver,
} from './registry.js';

describe('the queue-store registry', () => {
  test('a plain path or sqlite:/file: opens SQLite; postgres:// and postgresql:// the Postgres store', () => {
    expect(queueStoreScheme('/srv/q.db')).toBe('sqlite');
    expect(queueStoreScheme('./q.db')).toBe('sqlite');
    expect(queueStoreScheme('C:\\q.db')).toBe('sqlite');
    expect(queueStoreScheme('SQLite:/srv/q.db')).toBe('sqlite');
    expect(queueStoreDriver('/srv/q.db')).toMatchObject({
      package: '@vertex-launch/queue-sqlite',
      factory: 'sqliteQueueStore',
    });
    expect(queueStoreDriver('sqlite:/srv/q.db').options('sqlite:/srv/q.db')).toEqual({ path: '/srv/q.db' });
    expect(queueStoreDriver('sqlite:///srv/q.db').options('sqlite:///srv/q.db')).toEqual({ path: '/srv/q.db' });
    expect(queueStoreDriver('file:///srv/q.db').options('file:///srv/q.db')).toEqual({ path: '/srv/q.db' });
    expect(queueStoreDriver('./q.db').options('./q.db')).toEqual({ path: './q.db' });
    const url = 'postgres://vxl:secret@127.0.0.1:5432/queues';
    expect(queueStoreDriver(url)).toMatchObject({
      package: '@vertex-launch/queue-postgres',
      factory: 'postgresQueueStore',
    });
    expect(queueStoreDriver(url).options(url)).toEqual({ connectionString: url });
    expect(queueStoreDriver('postgresql://h/db').package).toBe('@vertex-launch/queue-postgres');
  });

  test('an unknown scheme names where the URL came from, the near miss and the known schemes', () => {
    let error: unknown;
    try {
      queueStoreDriver('postgress://h/db', '--db');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe(
      '[vertex-launch] [queue] --db: unknown store scheme `postgress:` (did you mean `postgres:`?).',
    );
    expect((error as ConfigError).hint).toBe(
      'Use a file path, or a URL with one of file:, postgres:, postgresql:, sqlite:.',
    );
  });

  test('a password in a store URL is never shown', () => {
    expect(redactStoreUrl('postgres://vxl:s3cr%40t@db.internal:5432/q')).toBe('postgres://vxl:***@db.internal:5432/q');
    expect(redactStoreUrl('postgres://vxl@db/q')).toBe('postgres://vxl@db/q');
    expect(redactStoreUrl('/srv/q.db')).toBe('/srv/q.db');
  });

  test('a store package plugs in by scheme: imported only when opened, its factory given the mapped options', async () => {
    const imported: string[] = [];
    const made: unknown[] = [];
    registerQueueStoreDriver('memtest', {
      package: '@acme/queue-memtest',
      factory: 'memtestQueueStore',
      options: (url) => ({ name: url.slice('memtest:'.length) }),
    });
    expect(queueStoreSchemes()).toContain('memtest');
    expect(imported).toEqual([]);
    const store = await openQueueStore('memtest:one', {
      import: async (name) => {
        imported.push(name);
        return {
          memtestQueueStore: (options: unknown) => {
            made.push(options);
            return memoryQueueStore();
          },
        };
      },
    });
    expect(imported).toEqual(['@acme/queue-memtest']);
    expect(made).toEqual([{ name: 'one' }]);
    expect(store.name).toBe('memory');
    await store.close();
  });

  test('a store package that is not installed is a ConfigError naming the package and the URL, without its secret', async () => {
    const missing = Object.assign(new Error("Cannot find package '@vertex-launch/queue-postgres'"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
    const error = await openQueueStore('postgres://vxl:hunter2@h/db', {
      where: '$VERTEX_LAUNCH_QUEUE_DB',
      import: async () => {
        throw missing;
      },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe(
      '[vertex-launch] The queue store `postgres://vxl:***@h/db` ($VERTEX_LAUNCH_QUEUE_DB) needs @vertex-launch/queue-postgres, which is not installed.',
    );
    expect(String((error as ConfigError).hint)).toContain('npm install @vertex-launch/queue-postgres');
  });

  test('scheme names are checked when registered', () => {
    expect(() => registerQueueStoreDriver('Bad Scheme', { package: 'x', factory: 'y', options: () => ({}) })).toThrow(
      'must be lowercase letters',
    );
  });
});
