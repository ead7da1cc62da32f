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
} from '@vertex-launch/core';
import type { Tx } from './store.js';

export type { ImportRecordsResult, QueueRecordsImporter } from '@vertex-launch/core';

/** What the store lends the import. */
export interface ImportContext {
  write<T>(action: string, fn: (tx: Tx) => Promise<T>): Promise<T>;
  insertItem(tx: Tx, item: QueueItem): Promise<boolean>;
  sql: { insertQueue: string; getQueue: string; itemsById: string };
}

/** Imports `records` in one transaction. See `QueueRecordsImporter.importRecords`. */
export async function importRecords(
  context: ImportContext,
  records: readonly QueueExportRecord[],
  options: ImportRecordsOptions = {},
): Promise<ImportRecordsResult> {
  const header = records.find((record) => record.kind === 'header');
  const source = header?.kind === 'header' ? header.source : 'another store';
  return context.write('import queues', async (tx) => {
    let queuesCreated = 0;
    let queuesSkipped = 0;
    let itemsImported = 0;
    let itemsSkipped = 0;
    let itemsRequeued = 0;
    for (const record of records) {
      if (record.kind !== 'queue') continue;
      const queue = record.queue;
      // The config is checked as a new queue's would be; the definition keeps its own times.
      prepareQueue(queue, tx.now);
      const inserted = await tx.query(context.sql.insertQueue, [
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
    const existing = new Map<string, string>();
    for (let i = 0; i < items.length; i += 1000) {
      const ids = items.slice(i, i + 1000).map((item) => item.id);
      for (const row of await tx.query<{ id: string; launch_id: string }>(context.sql.itemsById, [ids])) {
        existing.set(row.id, row.launch_id);
      }
    }
    for (const item of items) {
      const known = existing.get(item.id);
      if (known !== undefined) {
        if (known !== item.launchId) {
          throw new QueueError(
            'invalid_argument',
            `Cannot import item \`${item.id}\`: the target has an item with that id for another launch (${known}); nothing was imported.`,
            { itemId: item.id, queue: item.queue },
          );
        }
        itemsSkipped += 1;
        continue;
      }
      const saved = importedItem(item, source, tx.now);
      if (!(await context.insertItem(tx, saved))) {
        throw new QueueError(
          'invalid_argument',
          `Cannot import item \`${item.id}\`: launch id ${item.launchId} belongs to another item of the target; nothing was imported.`,
          { itemId: item.id, queue: item.queue },
        );
      }
      if (saved !== item) itemsRequeued += 1;
      itemsImported += 1;
    }
    return { queuesCreated, queuesSkipped, itemsImported, itemsSkipped, itemsRequeued };
  });
}
