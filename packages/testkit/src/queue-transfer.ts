/**
 * The conformance suite of stores that import queue exports (`QueueRecordsImporter` of `@vertex-launch/core`): a
 * history made in a memory store is exported to JSON Lines, read back and imported; the store under test must then
 * hold the same queues and items (a claimed one given back to its queue), resume them, and refuse conflicting
 * imports without changing anything.
 */
import { describe, expect, test } from 'vitest';
import {
  exportQueueRecords,
  formatQueueRecord,
  memoryQueueStore,
  parseQueueExport,
  type QueueExportRecord,
  type QueueRecordsImporter,
  type QueueStore,
} from '../../core/src/queue/index.js';
import { CONFORMANCE_EPOCH, type ConformanceClock, expectQueueError, validQueueConfig } from './queue-store.js';

/** What the factory of an importing store under test returns. */
export interface ImportingStoreUnderTest {
  store: QueueStore & QueueRecordsImporter;
  cleanup: () => Promise<void>;
}

const LEASE = 60_000;

/** A memory store with every kind of item: finished, running (claimed), requeued with a job, queued, cancelled. */
async function history() {
  let time = CONFORMANCE_EPOCH - 86_400_000;
  const source = memoryQueueStore({ now: () => time });
  await source.createQueue({
    name: 'gpu',
    config: validQueueConfig(),
    project: 'my-project-123',
    region: 'us-central1',
  });
  await source.createQueue({ name: 'cpu', config: validQueueConfig({ run: { timeout: '2h' } }), description: 'CPU' });
  await source.createQueue({ name: 'gone', config: validQueueConfig() });
  const tick = () => (time += 1000);
  const done = await source.enqueue('gpu', { image: 'i:done', submitter: 'alice' });
  tick();
  const running = await source.enqueue('gpu', { source: './app', runId: 'exp-1' });
  tick();
  const requeued = await source.enqueue('cpu', { image: 'i:requeued', variables: {} });
  tick();
  const waiting = await source.enqueue('gpu', { image: 'i:waiting' });
  tick();
  const orphan = await source.enqueue('gone', { image: 'i:orphan' });
  tick();
  await source.claim({ agentId: 'old-agent', queues: ['gpu'], leaseMs: LEASE });
  await source.recordPhase(done.id, 'old-agent', { phase: 'submitted', jobName: 'jobs/1' });
  await source.complete(done.id, 'old-agent', { status: 'succeeded', jobName: 'jobs/1' });
  await source.claim({ agentId: 'old-agent', queues: ['gpu'], leaseMs: LEASE });
  await source.recordPhase(running.id, 'old-agent', { phase: 'built', imageUri: 'reg/app@sha256:abc' });
  await source.recordPhase(running.id, 'old-agent', { phase: 'running', jobName: 'jobs/2', status: 'running' });
  await source.claim({ agentId: 'old-agent', queues: ['cpu'], leaseMs: LEASE });
  await source.recordPhase(requeued.id, 'old-agent', { phase: 'submitted', jobName: 'jobs/3' });
  await source.requeue(requeued.id, 'old-agent', 'agent stopped');
  await source.requestCancel(orphan.id);
  await source.deleteQueue('gone');
  const records: QueueExportRecord[] = [];
  for await (const record of exportQueueRecords(source)) records.push(record);
  // Through the file format, as `queue export > f; queue import f` would.
  const text = records.map(formatQueueRecord).join('');
  return { source, text, ids: { done, running, requeued, waiting, orphan } };
}

/**
 * Register the import conformance suite under `describe(name)`. `makeStore` is called before every test and must
 * return an empty importing store that reads time from the given clock.
 */
export function queueTransferConformance(
  name: string,
  makeStore: (clock: ConformanceClock) => Promise<ImportingStoreUnderTest>,
): void {
  describe(`queue import conformance: ${name}`, () => {
    const withStore = (fn: (store: QueueStore & QueueRecordsImporter, clock: ConformanceClock) => Promise<void>) => {
      return async () => {
        let time = CONFORMANCE_EPOCH;
        const clock: ConformanceClock = { now: () => time, advance: (ms) => void (time += ms) };
        const { store, cleanup } = await makeStore(clock);
        try {
          await fn(store, clock);
        } finally {
          await cleanup();
        }
      };
    };

    test(
      'an export comes back whole: queues, items, ids, phases, job names and histories; a claimed item is queued again',
      withStore(async (store) => {
        const { source, text, ids } = await history();
        const result = await store.importRecords(parseQueueExport(text, 'queues.jsonl'));
        expect(result).toEqual({
          queuesCreated: 2,
          queuesSkipped: 0,
          itemsImported: 5,
          itemsSkipped: 0,
          itemsRequeued: 1,
        });
        expect(await store.listQueues()).toEqual(await source.listQueues());
        const before = await source.list({ limit: 100 });
        const after = await store.list({ limit: 100 });
        expect(after.map((i) => i.id)).toEqual(before.map((i) => i.id));
        for (const item of before.filter((i) => i.id !== ids.running.id)) {
          expect(await store.get(item.id)).toEqual(item);
        }
        const moved = (await store.get(ids.running.id))!;
        const was = before.find((i) => i.id === ids.running.id)!;
        const { agentId: _a, leaseExpiresAt: _l, events: _e, ...kept } = was;
        expect(moved).toMatchObject({
          ...kept,
          state: 'queued',
          updatedAt: new Date(CONFORMANCE_EPOCH).toISOString(),
        });
        expect(moved.agentId).toBeUndefined();
        expect(moved.events.slice(0, -1)).toEqual(was.events);
        expect(moved.events.at(-1)).toEqual({
          at: new Date(CONFORMANCE_EPOCH).toISOString(),
          type: 'requeued',
          phase: 'running',
          message:
            'requeued by queue import: it was claimed by agent old-agent in memory; the next agent resumes at phase running with job jobs/2',
        });
        // The item of the deleted queue is in the history, as it was in the source.
        expect((await store.list({ queue: 'gone' })).map((i) => i.outcome)).toEqual(['cancelled']);
      }),
    );

    test(
      'agents of the new store resume the moved launches in their order, re-attaching to their jobs',
      withStore(async (store) => {
        const { text, ids } = await history();
        await store.importRecords(parseQueueExport(text));
        const first = await store.claim({ agentId: 'new-agent', queues: ['gpu', 'cpu'], leaseMs: LEASE });
        expect(first).toMatchObject({ id: ids.running.id, phase: 'running', jobName: 'jobs/2', attempts: 2 });
        const second = await store.claim({ agentId: 'new-agent', queues: ['gpu', 'cpu'], leaseMs: LEASE });
        expect(second).toMatchObject({ id: ids.requeued.id, phase: 'submitted', jobName: 'jobs/3', attempts: 2 });
        const third = await store.claim({ agentId: 'new-agent', queues: ['gpu', 'cpu'], leaseMs: LEASE });
        expect(third).toMatchObject({ id: ids.waiting.id, phase: 'claimed', attempts: 1 });
        expect(await store.claim({ agentId: 'new-agent', queues: ['gpu', 'cpu'], leaseMs: LEASE })).toBeUndefined();
        expect(
          (await store.complete(ids.running.id, 'new-agent', { status: 'succeeded', jobName: 'jobs/2' })).outcome,
        ).toBe('succeeded');
      }),
    );

    test(
      'importing again: refused when a queue exists (nothing changes), skipped item by item with existingQueues: skip',
      withStore(async (store, clock) => {
        const { text } = await history();
        const records = parseQueueExport(text);
        await store.importRecords(records);
        const snapshot = await store.list({ limit: 100 });
        clock.advance(1000);
        await expectQueueError(store.importRecords(records), 'queue_exists', '`cpu`');
        expect(await store.list({ limit: 100 })).toEqual(snapshot);
        expect(await store.importRecords(records, { existingQueues: 'skip' })).toEqual({
          queuesCreated: 0,
          queuesSkipped: 2,
          itemsImported: 0,
          itemsSkipped: 5,
          itemsRequeued: 0,
        });
        expect(await store.list({ limit: 100 })).toEqual(snapshot);
      }),
    );

    test(
      'retries, rungs, backoffs, admissions and failure classes arrive unchanged; an old export reads as retries 0, rung 0',
      withStore(async (store) => {
        let time = CONFORMANCE_EPOCH - 3_600_000;
        const source = memoryQueueStore({ now: () => time });
        await source.createQueue({ name: 'gpu', config: validQueueConfig() });
        const retried = await source.enqueue('gpu', { image: 'i:retried' });
        const deferred = await source.enqueue('gpu', { image: 'i:deferred' });
        const failed = await source.enqueue('gpu', { image: 'i:failed' });
        const quota = await source.enqueue('gpu', { image: 'i:quota' });
        const claim = () => source.claim({ agentId: 'old-agent', queues: ['gpu'], leaseMs: LEASE });
        for (let i = 0; i < 4; i++) await claim();
        for (const item of [retried, failed]) {
          await source.admit(item.id, 'old-agent', {
            accelerators: 2,
            acceleratorHours: 1.25,
            limits: { maxConcurrent: 4, maxAccelerators: 8, dailyAcceleratorHours: 40 },
          });
        }
        time += 1000;
        await source.retry(retried.id, 'old-agent', {
          jobName: 'jobs/r',
          status: 'failed',
          failure: { class: 'stockout', summary: 'no capacity' },
          rung: 2,
          // Still in its backoff when the target's clock reads it.
          delayMs: 86_400_000,
          message: 'retry 1 of 3: stockout; attempt 2 on fallback 2',
        });
        await source.requeue(deferred.id, 'old-agent', 'queue limits reached', { deferred: true, delayMs: 60_000 });
        await source.complete(failed.id, 'old-agent', {
          status: 'failed',
          jobName: 'jobs/f',
          failure: { class: 'out_of_memory', exitCode: 137, fix: 'use a larger machine', summary: 'OOM killed' },
        });
        await source.fail(quota.id, 'old-agent', {
          phase: 'run',
          message: 'the create call was refused',
          class: 'quota',
          fix: 'request quota',
        });
        const records: QueueExportRecord[] = [];
        for await (const record of exportQueueRecords(source)) records.push(record);
        expect(await store.importRecords(parseQueueExport(records.map(formatQueueRecord).join('')))).toMatchObject({
          itemsImported: 4,
          itemsRequeued: 0,
        });
        for (const item of await source.list()) expect(await store.get(item.id)).toEqual(item);
        expect(await store.list()).toEqual(await source.list());
        // The deferral's backoff is over at the target's clock; the retry's is not.
        expect(await store.claim({ agentId: 'new-agent', queues: ['gpu'], leaseMs: LEASE })).toMatchObject({
          id: deferred.id,
          retries: 0,
          attempts: 1,
        });
        expect(await store.claim({ agentId: 'new-agent', queues: ['gpu'], leaseMs: LEASE })).toBeUndefined();

        // The same history as a version before retries wrote it: no `retries`, no `rung`.
        const old = records.map((record) => {
          if (record.kind === 'queue') return { ...record, queue: { ...record.queue, name: 'old' } };
          if (record.kind !== 'item') return record;
          const { retries: _r, rung: _g, ...item } = record.item;
          return {
            kind: 'item',
            item: { ...item, id: `old-${item.id}`, launchId: `old-${item.launchId}`, queue: 'old' },
          };
        });
        const text = old.map((record) => `${JSON.stringify(record)}\n`).join('');
        expect(text).not.toContain('"retries"');
        await store.importRecords(parseQueueExport(text));
        const imported = await store.list({ queue: 'old' });
        expect(imported).toHaveLength(4);
        for (const item of imported) expect(item).toMatchObject({ retries: 0, rung: 0 });
      }),
    );

    test(
      'an item whose launch id the target holds under another id is refused, and nothing of the file is imported',
      withStore(async (store) => {
        const { text } = await history();
        await store.createQueue({ name: 'gpu', config: validQueueConfig() });
        const mine = await store.enqueue('gpu', { image: 'mine' });
        const records = parseQueueExport(text).map((record) =>
          record.kind === 'item' && record.item.queue === 'gone'
            ? { ...record, item: { ...record.item, launchId: mine.launchId } }
            : record,
        );
        await expectQueueError(
          store.importRecords(records, { existingQueues: 'skip' }),
          'invalid_argument',
          mine.launchId,
        );
        expect(await store.getQueue('cpu')).toBeUndefined();
        expect((await store.list({ limit: 100 })).map((i) => i.id)).toEqual([mine.id]);
      }),
    );
  });
}
