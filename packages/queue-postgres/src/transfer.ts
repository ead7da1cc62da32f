/**
 * `importRecords()` of the PostgreSQL store: an export of `@vertex-launch/core`'s queue format (see core's
 * `queue/transfer.ts`) added in one transaction, ids, phases and histories kept.
 */
import {
  type ImportRecordsOptions,
  type ImportRecordsResult,
  importedItem,
  prepareQueue,
  QueueError,
  type QueueExportRecord,
  type QueueItem,
  queueExists,
} from '@vertex-launch/core/queue';
import type { Tx } from './store.js';

export type { ImportRecordsResult, QueueRecordsImporter } from '@vertex-launch/core/queue';

/** What the store lends the import. */
export interface ImportContext {
  write<T>(action: string, fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** The quoted schema. */
  schema: string;
  insertQueue: string;
}

const CHUNK = 1000;

/** Inserts items (and then their events) a chunk per statement, in the given order (their `seq` order). */
function statements(s: string) {
  return {
    known: `SELECT id, launch_id FROM ${s}.items WHERE id = ANY($1::text[]) OR launch_id = ANY($2::text[])`,
    items: `INSERT INTO ${s}.items (id, queue, launch_id, run_id, request, state, phase, cancel_requested, outcome, status,
        image_uri, job_name, failure_phase, failure_message, agent_id, lease_expires_at, attempts, enqueued_at, updated_at,
        finished_at, retries, rung, not_before, admission_at, admission_accelerators, admission_accelerator_hours,
        failure_class, failure_exit_code, failure_fix)
      SELECT id, queue, launch_id, run_id, request, state, phase, cancel_requested, outcome, status, image_uri, job_name,
        failure_phase, failure_message, agent_id, lease_expires_at, attempts, enqueued_at, updated_at, finished_at,
        retries, rung, not_before, admission_at, admission_accelerators, admission_accelerator_hours, failure_class,
        failure_exit_code, failure_fix
      FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::json[], $6::text[], $7::text[], $8::boolean[],
        $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::timestamptz[],
        $17::int[], $18::timestamptz[], $19::timestamptz[], $20::timestamptz[], $21::int[], $22::int[],
        $23::timestamptz[], $24::timestamptz[], $25::int[], $26::float8[], $27::text[], $28::int[], $29::text[])
        WITH ORDINALITY AS t(id, queue, launch_id, run_id, request, state, phase, cancel_requested, outcome, status,
          image_uri, job_name, failure_phase, failure_message, agent_id, lease_expires_at, attempts, enqueued_at,
          updated_at, finished_at, retries, rung, not_before, admission_at, admission_accelerators,
          admission_accelerator_hours, failure_class, failure_exit_code, failure_fix, ord)
      ORDER BY ord`,
    events: `INSERT INTO ${s}.item_events (item_id, at, type, agent_id, phase, message)
      SELECT item_id, at, type, agent_id, phase, message
      FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[])
        WITH ORDINALITY AS e(item_id, at, type, agent_id, phase, message, ord)
      ORDER BY ord`,
  };
}

const column = <T>(items: readonly QueueItem[], pick: (item: QueueItem) => T) => items.map(pick);

/** Imports `records` in one transaction. See `QueueRecordsImporter.importRecords`. */
export async function importRecords(
  context: ImportContext,
  records: readonly QueueExportRecord[],
  options: ImportRecordsOptions = {},
): Promise<ImportRecordsResult> {
  const header = records.find((record) => record.kind === 'header');
  const source = header?.kind === 'header' ? header.source : 'another store';
  const sql = statements(context.schema);
  return context.write('import queues', async (tx) => {
    let queuesCreated = 0;
    let queuesSkipped = 0;
    for (const record of records) {
      if (record.kind !== 'queue') continue;
      const queue = record.queue;
      // The config is checked as a new queue's would be; the definition keeps its own times.
      prepareQueue(queue, tx.now);
      const inserted = await tx.query(context.insertQueue, [
        queue.name,
        queue.resource,
        JSON.stringify(queue.config),
        queue.project ?? null,
        queue.region ?? null,
        queue.description ?? null,
        queue.createdAt,
        queue.updatedAt,
      ]);
      if (inserted.length > 0) queuesCreated += 1;
      else if (options.existingQueues === 'skip') queuesSkipped += 1;
      else throw queueExists(queue.name);
    }
    const items = records.flatMap((record) => (record.kind === 'item' ? [record.item] : []));
    let itemsSkipped = 0;
    let itemsRequeued = 0;
    const fresh: QueueItem[] = [];
    for (let i = 0; i < items.length; i += CHUNK) {
      const chunk = items.slice(i, i + CHUNK);
      const rows = await tx.query<{ id: string; launch_id: string }>(sql.known, [
        chunk.map((item) => item.id),
        chunk.map((item) => item.launchId),
      ]);
      const byId = new Map(rows.map((row) => [row.id, row.launch_id]));
      const byLaunch = new Map(rows.map((row) => [row.launch_id, row.id]));
      for (const item of chunk) {
        if (byId.get(item.id) === item.launchId) {
          itemsSkipped += 1;
          continue;
        }
        const other = byId.has(item.id) ? item.id : byLaunch.get(item.launchId);
        if (other !== undefined) {
          throw new QueueError(
            'invalid_argument',
            `Cannot import item \`${item.id}\` (launch ${item.launchId}): the target has another item with that id or launch id (\`${other}\`); nothing was imported.`,
            { itemId: item.id, queue: item.queue },
          );
        }
        const saved = importedItem(item, source, tx.now);
        if (saved !== item) itemsRequeued += 1;
        fresh.push(saved);
      }
    }
    for (let i = 0; i < fresh.length; i += CHUNK) {
      const chunk = fresh.slice(i, i + CHUNK);
      await tx.query(sql.items, [
        column(chunk, (item) => item.id),
        column(chunk, (item) => item.queue),
        column(chunk, (item) => item.launchId),
        column(chunk, (item) => item.runId),
        column(chunk, (item) => JSON.stringify(item.request)),
        column(chunk, (item) => item.state),
        column(chunk, (item) => item.phase ?? null),
        column(chunk, (item) => item.cancelRequested),
        column(chunk, (item) => item.outcome ?? null),
        column(chunk, (item) => item.status ?? null),
        column(chunk, (item) => item.imageUri ?? null),
        column(chunk, (item) => item.jobName ?? null),
        column(chunk, (item) => item.failure?.phase ?? null),
        column(chunk, (item) => item.failure?.message ?? null),
        column(chunk, (item) => item.agentId ?? null),
        column(chunk, (item) => item.leaseExpiresAt ?? null),
        column(chunk, (item) => item.attempts),
        column(chunk, (item) => item.enqueuedAt),
        column(chunk, (item) => item.updatedAt),
        column(chunk, (item) => item.finishedAt ?? null),
        // An item of an export written before retries existed has none.
        column(chunk, (item) => item.retries ?? 0),
        column(chunk, (item) => item.rung ?? 0),
        column(chunk, (item) => item.notBefore ?? null),
        column(chunk, (item) => item.admission?.at ?? null),
        column(chunk, (item) => item.admission?.accelerators ?? null),
        column(chunk, (item) => item.admission?.acceleratorHours ?? null),
        column(chunk, (item) => item.failure?.class ?? null),
        column(chunk, (item) => item.failure?.exitCode ?? null),
        column(chunk, (item) => item.failure?.fix ?? null),
      ]);
      const events = chunk.flatMap((item) => item.events.map((event) => ({ id: item.id, event })));
      await tx.query(sql.events, [
        events.map((e) => e.id),
        events.map((e) => e.event.at),
        events.map((e) => e.event.type),
        events.map((e) => e.event.agentId ?? null),
        events.map((e) => e.event.phase ?? null),
        events.map((e) => e.event.message),
      ]);
    }
    return { queuesCreated, queuesSkipped, itemsImported: fresh.length, itemsSkipped, itemsRequeued };
  });
}
