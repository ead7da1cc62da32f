/**
 * Where the queue database lives, and creating it owner-only: the directory 0700, the file 0600 (SQLite gives its
 * -wal and -shm files the mode of the database file).
 */
import { accessSync, chmodSync, closeSync, constants, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { QueueError } from '@vertex-launch/core';

/**
 * The default queue database (`$XDG_DATA_HOME/vertex-launch/queues.db`, else `~/.local/share/...`) and its file
 * name: core's, which the runtime resolves for every command; re-exported here for SDK users of this package.
 */
export { defaultQueueDbPath, QUEUE_DB_FILE } from '@vertex-launch/core';

function storageError(path: string, what: string, cause: unknown): QueueError {
  const code = (cause as { code?: string } | undefined)?.code;
  return new QueueError(
    'storage',
    `Cannot ${what} for the queue database ${path}${code ? ` (${code})` : ''}. ` +
      'Make the directory writable by this user, or choose another file with the `path` option of sqliteQueueStore().',
    { cause },
  );
}

/**
 * Create the database's directory (0700) and file (0600) when missing, and check that both are writable (SQLite
 * needs to create -wal and -shm files next to the database). Returns the absolute path.
 * @throws QueueError `storage` naming the path and the fix.
 */
export function prepareDatabaseFile(path: string): string {
  const file = resolve(path);
  const dir = dirname(file);
  try {
    const created = mkdirSync(dir, { recursive: true, mode: 0o700 });
    // `mode` goes through the umask; set it exactly on every directory created here.
    if (created !== undefined) {
      for (let d = dir; d.length >= created.length; d = dirname(d)) {
        chmodSync(d, 0o700);
        if (d === created) break;
      }
    }
  } catch (cause) {
    throw storageError(file, `create the directory ${dir}`, cause);
  }
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (cause) {
    throw storageError(file, `write to the directory ${dir}`, cause);
  }
  if (!existsSync(file)) {
    try {
      closeSync(openSync(file, 'a', 0o600));
      chmodSync(file, 0o600);
    } catch (cause) {
      throw storageError(file, 'create the file', cause);
    }
  }
  try {
    accessSync(file, constants.R_OK | constants.W_OK);
  } catch (cause) {
    throw storageError(file, 'open (read and write) the file', cause);
  }
  return file;
}
