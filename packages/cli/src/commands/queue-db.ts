/**
 * Which queue store a `queue` command (and `launch --queue`) uses, and opening it: `--db`, else
 * `$VERTEX_LAUNCH_QUEUE_DB`, else `queue_db` of the agent config (`--agent-config`, or the default
 * launch-config.yaml), else the default SQLite file — the runtime's `queueDb`, opened through the store registry (a
 * path or `sqlite:` URL opens SQLite, `postgres://` the Postgres store).
 */
import { fromFlag, type QueueStore } from '@vertex-launch/core';
import { commandRuntime, openStore } from '../runtime.js';

/** Flags that choose the queue store. */
export interface QueueDbFlags {
  /** `--db PATH|URL`. */
  db?: string;
  /** `--agent-config FILE` (its `queue_db`). */
  agentConfig?: string;
}

/**
 * Runs `fn` with the store open, closing it afterwards. `readOnly` for commands that only read: the SQLite store
 * then never writes to the file (nor creates, migrates or switches it to WAL) and reads while an agent writes.
 */
export async function withQueueStore<T>(
  flags: QueueDbFlags,
  env: NodeJS.ProcessEnv,
  fn: (store: QueueStore) => Promise<T>,
  options: { readOnly?: boolean } = {},
): Promise<T> {
  const runtime = await commandRuntime(
    { agentConfig: fromFlag('--agent-config', flags.agentConfig), db: flags.db },
    env,
    { gcloud: false },
  );
  const store = await openStore(runtime.queueDb, options);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** The options of {@link withQueueStore} for commands that only read (`queue list`, `queue show`, `queue items`). */
export const READ_ONLY = { readOnly: true } as const;
