/**
 * Where the queue database lives, and creating it owner-only: the directory 0700, the file 0600 (SQLite gives its
 * -wal and -shm files the mode of the database file).
 */
import { accessSync, chmodSync, closeSync, constants, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { QueueError } from '@vertex-launch/core';

/**
 * The default queue database (`$XDG_DATA_HOME/vertex-launch/queues.db`, else `~/.local/share/...`) and its file
 * name: core's, which the runtime resolves for every command; re-exported here for SDK users of this package.
 */
export { defaultQueueDbPath, QUEUE_DB_FILE } from '@vertex-launch/core';

/**
 * How to choose another database file, for every hint: the CLI's `--db`, the agent config's `queue_db` and
 * `$VERTEX_LAUNCH_QUEUE_DB`, and the SDK's `path` option of sqliteQueueStore().
 */
export const CHOOSE_ANOTHER_FILE =
  'choose another file with --db, `queue_db` in launch-config.yaml or $VERTEX_LAUNCH_QUEUE_DB (SDK: the `path` option of sqliteQueueStore())';

function storageError(path: string, what: string, cause: unknown): QueueError {
  const code = (cause as { code?: string } | undefined)?.code;
  return new QueueError(
    'storage',
    `Cannot ${what} for the queue database ${path}${code ? ` (${code})` : ''}. ` +
      `Make the directory writable by this user, or ${CHOOSE_ANOTHER_FILE}.`,
    { cause },
  );
}

/**
 * Create `dir` and its missing parents (0700), one level at a time from the nearest existing ancestor: an ancestor
 * that is a file, or a level that can never be created (under /proc), fails at once — Node's recursive mkdir spins
 * forever on /proc/<missing>/....
 */
function makeDirectories(file: string): void {
  const missing = noFileAbove(file);
  for (const level of missing.reverse()) {
    try {
      mkdirSync(level, { mode: 0o700 });
      // `mode` goes through the umask; set it exactly on every directory created here.
      chmodSync(level, 0o700);
    } catch (cause) {
      throw storageError(file, `create the directory ${level}`, cause);
    }
  }
}

/**
 * The missing directories above `file`, deepest first.
 * @throws QueueError `storage` when the nearest existing one is a file, not a directory.
 */
export function noFileAbove(file: string): string[] {
  const dir = dirname(file);
  const missing: string[] = [];
  let existing = dir;
  while (!existsSync(existing)) {
    missing.push(existing);
    const parent = dirname(existing);
    if (parent === existing) break;
    existing = parent;
  }
  if (existsSync(existing) && !statSync(existing).isDirectory()) {
    throw new QueueError(
      'storage',
      `Cannot use the queue database ${file}: ${existing} is a file, not a directory. Remove or rename it, or ${CHOOSE_ANOTHER_FILE}.`,
    );
  }
  return missing;
}

/**
 * Create the database's directory (0700) and file (0600) when missing, and check that both are writable (SQLite
 * needs to create -wal and -shm files next to the database). Returns the absolute path.
 * @throws QueueError `storage` naming the path and the fix.
 */
export function prepareDatabaseFile(path: string): string {
  const file = resolve(path);
  const dir = dirname(file);
  makeDirectories(file);
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (cause) {
    throw storageError(file, `write to the directory ${dir}`, cause);
  }
  notADirectory(file);
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

/** @throws QueueError `storage` when `file` is a directory (SQLite would only say "unable to open database file"). */
export function notADirectory(file: string): void {
  if (existsSync(file) && statSync(file).isDirectory()) {
    throw new QueueError(
      'storage',
      `The queue database ${file} is a directory, not a file. Name a file inside it (e.g. ${file}/queues.db), or ${CHOOSE_ANOTHER_FILE}.`,
    );
  }
}
