/**
 * The queue-store registry: a store is chosen by the scheme of its URL — `sqlite:` (or a plain file path) opens
 * `@vertex-launch/queue-sqlite`, `postgres://` opens `@vertex-launch/queue-postgres` — and its package is imported
 * only when the store is opened. A new store package plugs in with one entry here (or, from outside core, one call
 * of {@link registerQueueStoreDriver}); no command changes.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { closestKey } from '../config/suggest.js';
import { ConfigError } from '../errors.js';
import { loadPluginFactory, type ModuleImporter, type PluginSource } from '../plugins.js';
import { xdgFile } from '../runtime/env.js';
import type { QueueStore } from './store.js';

/** File name of the default queue database. */
export const QUEUE_DB_FILE = 'queues.db';

/**
 * The default queue database: `$XDG_DATA_HOME/vertex-launch/queues.db`, or `~/.local/share/vertex-launch/queues.db`
 * when `XDG_DATA_HOME` is unset or not absolute (as the XDG spec says).
 */
export function defaultQueueDbPath(
  env: Readonly<Record<string, string | undefined>> = process.env,
  home: string = homedir(),
): string {
  return xdgFile(env, home, 'XDG_DATA_HOME', join('.local', 'share'), QUEUE_DB_FILE);
}

/** How the store of one URL scheme is made: its package, its factory, and the factory's options for a URL. */
export interface QueueStoreDriver extends PluginSource {
  /** The factory's options for `url` (the whole URL as given, scheme included). */
  options(url: string): Record<string, unknown>;
  /**
   * The factory's options that open the store for reading only (merged into {@link options} when a read-only
   * command asks, e.g. `{ readOnly: true }`); a driver without them opens its store as usual.
   */
  readOnlyOptions?: Record<string, unknown>;
}

/** `sqlite:/srv/q.db`, `sqlite:///srv/q.db`, `file:///srv/q.db` or a plain path -> the file path. */
function sqlitePath(url: string): string {
  if (/^file:/i.test(url)) return fileURLToPath(url);
  const rest = url.replace(/^sqlite:/i, '');
  return rest.startsWith('///') ? rest.slice(2) : rest;
}

const postgres: QueueStoreDriver = {
  package: '@vertex-launch/queue-postgres',
  factory: 'postgresQueueStore',
  options: (url) => ({ connectionString: url }),
};

const DRIVERS = new Map<string, QueueStoreDriver>([
  [
    'sqlite',
    {
      package: '@vertex-launch/queue-sqlite',
      factory: 'sqliteQueueStore',
      options: (url) => ({ path: sqlitePath(url) }),
      readOnlyOptions: { readOnly: true },
    },
  ],
  [
    'file',
    {
      package: '@vertex-launch/queue-sqlite',
      factory: 'sqliteQueueStore',
      options: (url) => ({ path: sqlitePath(url) }),
      readOnlyOptions: { readOnly: true },
    },
  ],
  ['postgres', postgres],
  ['postgresql', postgres],
]);

/** Adds (or replaces) the driver of a URL scheme, e.g. a store package's own `registerQueueStoreDriver('redis', ...)`. */
export function registerQueueStoreDriver(scheme: string, driver: QueueStoreDriver): void {
  if (!/^[a-z][a-z0-9+.-]+$/.test(scheme)) {
    throw new TypeError(
      `[vertex-launch] [queue] Scheme "${scheme}" must be lowercase letters, digits, +, - or ., e.g. "redis".`,
    );
  }
  DRIVERS.set(scheme, driver);
}

/** The URL schemes a queue store can be opened with, e.g. `['file', 'postgres', 'postgresql', 'sqlite']`. */
export function queueStoreSchemes(): string[] {
  return [...DRIVERS.keys()].sort();
}

/** The scheme of a store URL: `sqlite` for a plain path (`/srv/q.db`, `./q.db`, `C:\q.db`). */
export function queueStoreScheme(url: string): string {
  const match = /^([a-zA-Z][a-zA-Z0-9+.-]+):/.exec(url.trim());
  return match ? (match[1] as string).toLowerCase() : 'sqlite';
}

/** The driver of `url`. @throws ConfigError for an unknown scheme, naming `where` and the known ones. */
export function queueStoreDriver(url: string, where = 'the queue store URL'): QueueStoreDriver {
  const scheme = queueStoreScheme(url);
  const driver = DRIVERS.get(scheme);
  if (driver) return driver;
  const known = queueStoreSchemes();
  const suggestion = closestKey(scheme, known);
  throw new ConfigError(
    `[vertex-launch] [queue] ${where}: unknown store scheme \`${scheme}:\`${suggestion ? ` (did you mean \`${suggestion}:\`?)` : ''}.`,
    [{ path: where, message: `unknown scheme ${scheme}:`, severity: 'error' }],
    { hint: `Use a file path, or a URL with one of ${known.map((s) => `${s}:`).join(', ')}.` },
  );
}

/** `url` with any password replaced by `***`, for messages and `config show` (never print a connection secret). */
export function redactStoreUrl(url: string): string {
  return url.replace(/^([a-zA-Z][a-zA-Z0-9+.-]+:\/\/[^/:@]*):[^/@]*@/, '$1:***@');
}

/** Options of {@link openQueueStore}. */
export interface OpenQueueStoreOptions {
  /** Names the URL's origin in errors, e.g. `--db` or `queue_db in launch-config.yaml`. */
  where?: string;
  /** Imports the store package (pass `(s) => import(s)` from the package that depends on it). */
  import?: ModuleImporter;
  /**
   * Only read (`queue list`, `queue items`, `queue show`...): a driver that can opens the store read-only (SQLite:
   * never created, migrated or switched to WAL, and readable while an agent holds the write lock).
   */
  readOnly?: boolean;
}

/**
 * Opens the queue store of `url` (a SQLite file path or a store URL): looks its scheme up, imports the driver's
 * package and calls its factory. The caller closes the store.
 *
 * @throws ConfigError for an unknown scheme or a driver package that is not installed.
 */
export async function openQueueStore(url: string, options: OpenQueueStoreOptions = {}): Promise<QueueStore> {
  const where = options.where ?? 'the queue store URL';
  const driver = queueStoreDriver(url, where);
  const factory = await loadPluginFactory<(options: Record<string, unknown>) => QueueStore | Promise<QueueStore>>(
    driver,
    `queue store \`${redactStoreUrl(url)}\` (${where})`,
    options.import,
  );
  return factory({ ...driver.options(url), ...(options.readOnly ? driver.readOnlyOptions : {}) });
}
