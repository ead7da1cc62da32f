// Several agents in separate Node processes sharing one SQLite file: no item claimed twice, none lost, and an agent
// killed with SIGKILL loses nothing it committed. The workers import the built package (dist/).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { QueueItem } from '@vertex-launch/core';
import { seedQueueConfig } from '@vertex-launch/core/queue';
import { afterEach, beforeAll, beforeEach, expect, test } from 'vitest';
import { childEnv, tempDir } from '../../../test/helpers.js';
import { sqliteQueueStore } from '../src/index.js';

const worker = fileURLToPath(new URL('./fixtures/claim-worker.mjs', import.meta.url));
const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const config = seedQueueConfig({ spec: { staging_bucket: 'gs://vxl-process-test' } });

const children: ChildProcess[] = [];
let dir: { path: string; cleanup: () => Promise<void> };
let db: string;

beforeAll(() => {
  if (!existsSync(dist)) {
    throw new Error(
      `${dist} is missing: the multi-process tests run the built package. Build it first: pnpm --filter @vertex-launch/queue-sqlite build (the root \`pnpm test\` builds everything).`,
    );
  }
});
beforeEach(async () => {
  dir = await tempDir('vxl-queue-procs-');
  db = join(dir.path, 'queues.db');
});
afterEach(async () => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await dir.cleanup();
});

function start(args: string[]): { child: ChildProcess; lines: AsyncIterator<string>; exit: Promise<string> } {
  const child = spawn(process.execPath, [worker, db, ...args], { env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (chunk) => {
    stderr += chunk;
  });
  const exit = new Promise<string>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0 || signal === 'SIGKILL') resolve(signal ?? String(code));
      else reject(new Error(`worker ${args.join(' ')} exited ${code ?? signal}: ${stderr}`));
    });
  });
  async function* read() {
    let buffer = '';
    for await (const chunk of child.stdout!) {
      buffer += chunk;
      let newline = buffer.indexOf('\n');
      while (newline >= 0) {
        yield buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        newline = buffer.indexOf('\n');
      }
    }
  }
  return { child, lines: read(), exit };
}

async function firstLine<T>(lines: AsyncIterator<string>, exit: Promise<string>): Promise<T> {
  const next = await Promise.race([lines.next(), exit.then(() => ({ done: true, value: undefined }))]);
  if (next.done || next.value === undefined) throw new Error('the worker exited without output');
  return JSON.parse(next.value) as T;
}

test('three processes drain 200 items from one file: none claimed twice, none lost', async () => {
  const store = sqliteQueueStore({ path: db });
  await store.createQueue({ name: 'a', config });
  await store.createQueue({ name: 'b', config });
  const enqueued = new Set<string>();
  for (let i = 0; i < 200; i++) enqueued.add((await store.enqueue(i % 2 === 0 ? 'a' : 'b', { image: `i:${i}` })).id);

  const go = join(dir.path, 'go');
  const workers = ['agent-1', 'agent-2', 'agent-3'].map((agent) => start([agent, 'drain', 'a,b', go]));
  for (const w of workers) expect(await firstLine<{ ready: string }>(w.lines, w.exit)).toHaveProperty('ready');
  await writeFile(go, '');
  const reports = await Promise.all(workers.map((w) => firstLine<{ agentId: string; ids: string[] }>(w.lines, w.exit)));
  await Promise.all(workers.map((w) => w.exit));

  const claimed = reports.flatMap((report) => report.ids);
  expect(claimed).toHaveLength(200);
  expect(new Set(claimed)).toEqual(enqueued);
  // They really ran side by side.
  for (const report of reports) expect(report.ids.length, `${report.agentId} got no work`).toBeGreaterThan(0);

  const items = await store.list({ limit: 500 });
  expect(items).toHaveLength(200);
  for (const item of items) {
    expect(item).toMatchObject({ state: 'finished', outcome: 'succeeded', attempts: 1, jobName: `jobs/${item.runId}` });
    expect(item.events.map((e) => e.type)).toEqual(['enqueued', 'claimed', 'phase', 'phase', 'completed']);
    const owner = reports.find((report) => report.ids.includes(item.id))!.agentId;
    expect(item.events.filter((e) => e.agentId !== undefined).every((e) => e.agentId === owner)).toBe(true);
  }
  await store.close();
});

test('an agent killed with SIGKILL: its item is re-claimed after the lease with the persisted phase and job', async () => {
  const store = sqliteQueueStore({ path: db });
  await store.createQueue({ name: 'gpu', config });
  const { id } = await store.enqueue('gpu', { image: 'i:1' });

  const holder = start(['holder', 'hold', 'gpu', '3000']);
  const held = await firstLine<{ itemId: string; leaseExpiresAt: string }>(holder.lines, holder.exit);
  expect(held.itemId).toBe(id);
  holder.child.kill('SIGKILL');
  expect(await holder.exit).toBe('SIGKILL');

  // The lease still runs: nobody may take the item yet.
  if (Date.now() < Date.parse(held.leaseExpiresAt)) {
    expect(await store.claim({ agentId: 'early', queues: ['gpu'], leaseMs: 60_000 })).toBeUndefined();
  }
  expect(await store.get(id)).toMatchObject({ state: 'claimed', agentId: 'holder', phase: 'submitted' });

  const wait = Date.parse(held.leaseExpiresAt) - Date.now() + 50;
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  const resumer = start(['resumer', 'resume', 'gpu', '60000']);
  const item = await firstLine<QueueItem>(resumer.lines, resumer.exit);
  await resumer.exit;
  expect(item).toMatchObject({
    id,
    state: 'claimed',
    agentId: 'resumer',
    phase: 'submitted',
    jobName: 'jobs/before-crash',
    imageUri: 'i:1',
    attempts: 2,
  });
  expect(item.events.map((e) => [e.type, e.agentId, e.phase])).toEqual([
    ['enqueued', undefined, undefined],
    ['claimed', 'holder', 'claimed'],
    ['phase', 'holder', 'submitting'],
    ['phase', 'holder', 'submitted'],
    ['lease_expired', 'holder', 'submitted'],
    ['claimed', 'resumer', 'submitted'],
  ]);
  // The dead agent's writes are fenced off (as they would be if it had only been paused).
  await expect(store.recordPhase(id, 'holder', { phase: 'running' })).rejects.toMatchObject({
    reason: 'lease_lost',
    message: expect.stringContaining('agent `resumer` holds it'),
  });
  await store.close();
});
