import { describe, expect, test } from 'vitest';
import { ConfigError } from '../errors.js';
import { FAILURE_CLASSES } from '../failure.js';
import { seedQueueConfig } from './definitions.js';
import { memoryQueueStore } from './memory.js';
import {
  exportQueueRecords,
  formatQueueRecord,
  importedItem,
  parseQueueExport,
  QUEUE_EXPORT_FORMAT,
  type QueueExportRecord,
} from './transfer.js';

const config = seedQueueConfig({ spec: { staging_bucket: 'gs://vxl-transfer' } });
const EPOCH = Date.parse('2030-01-01T00:00:00.000Z');

async function collect(records: AsyncIterable<QueueExportRecord>): Promise<QueueExportRecord[]> {
  const out: QueueExportRecord[] = [];
  for await (const record of records) out.push(record);
  return out;
}

/** A store with two queues, a finished, a running and a waiting launch, and an item of a deleted queue. */
async function sample() {
  let time = EPOCH;
  const store = memoryQueueStore({ now: () => time });
  await store.createQueue({ name: 'gpu', config, region: 'us-central1' });
  await store.createQueue({ name: 'cpu', config });
  await store.createQueue({ name: 'old', config });
  const done = await store.enqueue('gpu', { image: 'i:1', submitter: 'alice' });
  time += 1;
  const running = await store.enqueue('cpu', { image: 'i:2' });
  time += 1;
  const waiting = await store.enqueue('gpu', { source: './app', variables: {} });
  time += 1;
  const gone = await store.enqueue('old', { image: 'i:4' });
  await store.claim({ agentId: 'a', queues: ['gpu'], leaseMs: 60_000 });
  await store.complete(done.id, 'a', { status: 'succeeded', jobName: 'jobs/1' });
  await store.claim({ agentId: 'b', queues: ['cpu'], leaseMs: 60_000 });
  await store.recordPhase(running.id, 'b', { phase: 'submitted', jobName: 'jobs/2' });
  await store.requestCancel(gone.id);
  await store.deleteQueue('old');
  return { store, done, running, waiting, gone, advance: (ms: number) => (time += ms) };
}

describe('exportQueueRecords', () => {
  test('a header, the queues by name, then every item oldest first with its history', async () => {
    const { store, done, running, waiting, gone } = await sample();
    const records = await collect(exportQueueRecords(store, { now: () => EPOCH + 99 }));
    expect(records[0]).toEqual({
      kind: 'header',
      format: QUEUE_EXPORT_FORMAT,
      version: 1,
      exportedAt: new Date(EPOCH + 99).toISOString(),
      source: 'memory',
    });
    expect(records.slice(1, 3)).toEqual([
      { kind: 'queue', queue: await store.getQueue('cpu') },
      { kind: 'queue', queue: await store.getQueue('gpu') },
    ]);
    // The item of the deleted queue `old` is in the history too.
    expect(records.slice(3)).toEqual(
      await Promise.all(
        [done, running, waiting, gone].map(async (i) => ({ kind: 'item', item: await store.get(i.id) })),
      ),
    );
  });

  test('`queues` narrows to those queues; an unknown one is named', async () => {
    const { store, done, waiting } = await sample();
    const records = await collect(exportQueueRecords(store, { queues: ['gpu'] }));
    expect(records.map((r) => (r.kind === 'item' ? r.item.id : r.kind === 'queue' ? r.queue.name : r.kind))).toEqual([
      'header',
      'gpu',
      done.id,
      waiting.id,
    ]);
    await expect(collect(exportQueueRecords(store, { queues: ['gpu', 'nope'] }))).rejects.toThrow(
      'Queue `nope` does not exist',
    );
  });
});

describe('parseQueueExport', () => {
  test('reads back what was exported, line for line', async () => {
    const { store } = await sample();
    const records = await collect(exportQueueRecords(store));
    const text = records.map(formatQueueRecord).join('');
    expect(text.split('\n').filter(Boolean)).toHaveLength(records.length);
    expect(parseQueueExport(text)).toEqual(records);
  });

  test('lists every problem with its line, and imports nothing', async () => {
    const { store } = await sample();
    const lines = (await collect(exportQueueRecords(store))).map((r) => JSON.stringify(r));
    const item = JSON.parse(lines[3]!) as { item: Record<string, unknown> };
    const broken = [
      lines[0],
      lines[1],
      '{"kind":"queue","queue":{"name":"Bad Name","resource":"gcp-vertex","config":{},"createdAt":"x","updatedAt":"2030-01-01T00:00:00Z"}}',
      JSON.stringify({ kind: 'item', item: { ...item.item, state: 'done', attempts: -1 } }),
      lines[3],
      lines[3],
      'not json',
      lines[0],
      '{"kind":"shelf"}',
    ].join('\n');
    let error: unknown;
    try {
      parseQueueExport(broken, 'queues.jsonl');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const issues = (error as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
    expect(issues).toEqual([
      'line 3 queue.name: `Bad Name` is not valid',
      'line 3 queue.createdAt: `x` is not valid',
      'line 4 item.state: must be one of queued, claimed, finished',
      'line 4 item.attempts: must be a whole number of at least 0',
      `line 6 item.id: \`${item.item.id}\` appears twice`,
      `line 6 item.launchId: \`${item.item.launchId}\` appears twice`,
      expect.stringMatching(/^line 7: is not JSON/),
      'line 8 kind: a second header: files were joined; import them one at a time',
      'line 9 kind: `shelf` is not header, queue or item',
    ]);
    expect((error as Error).message).toContain('Cannot import queues.jsonl: 9 problems; nothing was imported');
  });

  test('retries, rung, notBefore, admission and failure classes come back as they were exported', async () => {
    const { store, waiting, advance } = await sample();
    const retried = await store.enqueue('gpu', { image: 'i:5' });
    const classified = await store.enqueue('cpu', { image: 'i:6' });
    // `waiting` is the oldest claimable item of gpu, then `retried`.
    await store.claim({ agentId: 'c', queues: ['gpu'], leaseMs: 60_000 });
    await store.requeue(waiting.id, 'c', 'queue limits reached', { deferred: true, delayMs: 5000 });
    await store.claim({ agentId: 'c', queues: ['gpu'], leaseMs: 60_000 });
    await store.admit(retried.id, 'c', { accelerators: 2, acceleratorHours: 1.5, limits: { maxConcurrent: 2 } });
    advance(10);
    await store.retry(retried.id, 'c', {
      jobName: 'jobs/5',
      status: 'failed',
      failure: { class: 'stockout' },
      rung: 1,
      delayMs: 30_000,
      message: 'retry 1 of 3: stockout; attempt 2 on fallback 1 in 30s',
    });
    await store.claim({ agentId: 'c', queues: ['cpu'], leaseMs: 60_000 });
    await store.complete(classified.id, 'c', {
      status: 'failed',
      jobName: 'jobs/6',
      failure: { class: 'user_code', exitCode: 2, fix: 'fix the script', summary: 'exit 2' },
    });
    const records = await collect(exportQueueRecords(store));
    const parsed = parseQueueExport(records.map(formatQueueRecord).join(''));
    expect(parsed).toEqual(records);
    const item = (id: string) => parsed.flatMap((r) => (r.kind === 'item' && r.item.id === id ? [r.item] : []))[0];
    expect(item(waiting.id)).toMatchObject({
      retries: 0,
      rung: 0,
      notBefore: new Date(EPOCH + 3 + 5000).toISOString(),
    });
    expect(item(waiting.id)?.events.at(-1)?.type).toBe('deferred');
    expect(item(retried.id)).toMatchObject({
      retries: 1,
      rung: 1,
      notBefore: new Date(EPOCH + 13 + 30_000).toISOString(),
      admission: { at: new Date(EPOCH + 3).toISOString(), accelerators: 2, acceleratorHours: 1.5 },
    });
    expect(
      item(retried.id)
        ?.events.slice(-2)
        .map((e) => e.type),
    ).toEqual(['admitted', 'retried']);
    expect(item(classified.id)?.failure).toEqual({
      phase: 'run',
      message: 'job jobs/6 ended failed (user_code): exit 2',
      class: 'user_code',
      exitCode: 2,
      fix: 'fix the script',
    });
  });

  test('an export of the format before retries (no retries, no rung) reads as retries 0, rung 0', async () => {
    const { store, done } = await sample();
    const lines = (await collect(exportQueueRecords(store))).map((record) => {
      if (record.kind !== 'item') return JSON.stringify(record);
      const { retries: _r, rung: _g, ...old } = record.item;
      return JSON.stringify({ kind: 'item', item: old });
    });
    expect(lines.some((line) => line.includes('"retries"'))).toBe(false);
    const parsed = parseQueueExport(lines.join('\n'));
    const items = parsed.flatMap((r) => (r.kind === 'item' ? [r.item] : []));
    expect(items).toHaveLength(4);
    for (const item of items) expect(item).toMatchObject({ retries: 0, rung: 0 });
    expect(items[0]).toEqual(await store.get(done.id));
  });

  test('checks the retry, admission and failure class fields', async () => {
    const { store } = await sample();
    const lines = (await collect(exportQueueRecords(store))).map((r) => JSON.stringify(r));
    const item = (JSON.parse(lines[3]!) as { item: Record<string, unknown> }).item;
    const broken = [
      lines[0],
      JSON.stringify({
        kind: 'item',
        item: {
          ...item,
          retries: -1,
          rung: 1.5,
          notBefore: 'soon',
          admission: { at: 'x', accelerators: -1, acceleratorHours: 'many' },
          failure: { phase: 'run', message: 'm', class: 'gremlins', exitCode: 1.5, fix: 3 },
          events: [
            { at: item.enqueuedAt, type: 'retried', message: 'ok' },
            { at: item.enqueuedAt, type: 'moved', message: 'x' },
          ],
        },
      }),
      JSON.stringify({ kind: 'item', item: { ...item, id: 'other', launchId: 'other', admission: 3 } }),
    ].join('\n');
    let error: unknown;
    try {
      parseQueueExport(broken);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'line 2 item.retries: must be a whole number of at least 0',
      'line 2 item.rung: must be a whole number of at least 0',
      'line 2 item.notBefore: `soon` is not valid',
      'line 2 item.admission.at: `x` is not valid',
      'line 2 item.admission.accelerators: must be a whole number of at least 0',
      'line 2 item.admission.acceleratorHours: must be a number of at least 0',
      `line 2 item.failure.class: must be one of ${FAILURE_CLASSES.join(', ')}`,
      'line 2 item.failure.fix: must be a string',
      'line 2 item.failure.exitCode: must be a whole number',
      expect.stringMatching(/^line 2 item\.events\[1\]\.type: must be one of .*deferred, admitted, retried/),
      'line 3 item.admission: must be an object',
    ]);
  });

  test('a file without the header is refused as not an export', () => {
    expect(() => parseQueueExport('')).toThrow('the file is empty (no header line)');
    expect(() => parseQueueExport('{"name":"x"}\n')).toThrow('is this a queue export?');
    expect(() =>
      parseQueueExport(`{"kind":"header","format":"${QUEUE_EXPORT_FORMAT}","version":2,"exportedAt":"","source":"x"}`),
    ).toThrow('2 is not a format version this package reads (1); upgrade it');
  });
});

test('importedItem: a claimed item comes back queued with its phase and job; others are kept', async () => {
  const { store, running, done } = await sample();
  const claimed = (await store.get(running.id))!;
  const moved = importedItem(claimed, 'sqlite', EPOCH + 500);
  expect(moved).toMatchObject({ state: 'queued', phase: 'submitted', jobName: 'jobs/2', attempts: 1 });
  expect(moved.agentId).toBeUndefined();
  expect(moved.leaseExpiresAt).toBeUndefined();
  expect(moved.events.at(-1)).toEqual({
    at: new Date(EPOCH + 500).toISOString(),
    type: 'requeued',
    phase: 'submitted',
    message:
      'requeued by queue import: it was claimed by agent b in sqlite; the next agent resumes at phase submitted with job jobs/2',
  });
  const finished = (await store.get(done.id))!;
  expect(importedItem(finished, 'sqlite', EPOCH)).toBe(finished);
});
