/**
 * Which queue database a command uses, and opening it: `--db PATH`, else `$VERTEX_LAUNCH_QUEUE_DB`, else `queue_db`
 * of the agent config (`--agent-config`, or the default launch-config.yaml when it exists), else the default file
 * under the user's data directory.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { defaultAgentConfigPath, parseConfigText, type QueueStore } from '@vertex-launch/core';

/** Flags that choose the queue database. */
export interface QueueDbFlags {
  /** `--db PATH`. */
  db?: string;
  /** `--agent-config FILE` (its `queue_db`). */
  agentConfig?: string;
}

/** The environment variable naming the queue database. */
export const QUEUE_DB_ENV = 'VERTEX_LAUNCH_QUEUE_DB';

/** Where the path came from, for messages. */
export type QueueDbSource = '--db' | typeof QUEUE_DB_ENV | 'queue_db' | 'default';

/** `queue_db` of an agent config file, read leniently (the agent itself validates the whole file). */
async function queueDbOf(file: string): Promise<string | undefined> {
  try {
    const raw = parseConfigText(await readFile(file, 'utf8'), file);
    const value = (raw as { queue_db?: unknown } | null)?.queue_db;
    return typeof value === 'string' && value.trim() !== '' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The queue database path and where it came from. */
export async function resolveQueueDbPath(
  flags: QueueDbFlags,
  env: NodeJS.ProcessEnv,
  configQueueDb?: string,
): Promise<{ path: string | undefined; source: QueueDbSource }> {
  if (flags.db) return { path: flags.db, source: '--db' };
  const fromEnv = env[QUEUE_DB_ENV]?.trim();
  if (fromEnv) return { path: fromEnv, source: QUEUE_DB_ENV };
  if (configQueueDb) return { path: configQueueDb, source: 'queue_db' };
  const agentConfig = flags.agentConfig ?? defaultAgentConfigPath(env);
  if (flags.agentConfig || existsSync(agentConfig)) {
    const fromConfig = await queueDbOf(agentConfig);
    if (fromConfig) return { path: fromConfig, source: 'queue_db' };
  }
  return { path: undefined, source: 'default' };
}

/** Opens the SQLite queue store the flags and environment choose (the sqlite driver is loaded only here). */
export async function openQueueStore(
  flags: QueueDbFlags,
  env: NodeJS.ProcessEnv,
  configQueueDb?: string,
): Promise<QueueStore> {
  const { path } = await resolveQueueDbPath(flags, env, configQueueDb);
  const { sqliteQueueStore } = await import('@vertex-launch/queue-sqlite');
  return sqliteQueueStore(path === undefined ? {} : { path });
}

/** Runs `fn` with the store open, closing it afterwards. */
export async function withQueueStore<T>(
  flags: QueueDbFlags,
  env: NodeJS.ProcessEnv,
  fn: (store: QueueStore) => Promise<T>,
): Promise<T> {
  const store = await openQueueStore(flags, env);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}
