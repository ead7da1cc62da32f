// `vertex-launch queue export|import|migrate`: a queue moves from a laptop's SQLite file to a team's PostgreSQL store
// and back with the built CLI as a process, ids, phases and histories kept; the password of the store URL is never
// printed. Real PostgreSQL (a private cluster on loopback), real SQLite files.
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { QueueItem } from '@vertex-launch/core';
import { sqliteQueueStore } from '@vertex-launch/queue-sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PostgresCluster, startPostgresCluster } from '../../../scripts/postgres-cluster.mjs';
import { tempDir } from '../../../test/helpers.js';
import { CLEAN_ENV, runCli } from './run-cli.js';

let cluster: PostgresCluster;
let dir: { path: string; cleanup: () => Promise<void> };
let team: string;
const file = (name: string) => join(dir.path, name);
const env = () => ({ ...CLEAN_ENV, XDG_CONFIG_HOME: file('config'), NO_COLOR: '1' });
const config = {
  spec: {
    worker_pool_specs: [
      {
        machine_spec: { machine_type: 'n1-standard-4' },
        replica_count: 1,
        container_spec: { image_uri: '${image_uri}' },
      },
    ],
    staging_bucket: 'gs://vxl-bucket',
  },
};

/** A laptop's store: queue `gpu` with a finished item, an item claimed by an agent (at phase submitted), and a queued one. */
async function laptopStore(path: string): Promise<[QueueItem, QueueItem, QueueItem]> {
  const store = sqliteQueueStore({ path });
  try {
    await store.createQueue({ name: 'gpu', config, project: 'vxl-proj', region: 'us-central1' });
    await store.createQueue({ name: 'other', config });
    const done = await store.enqueue('gpu', { image: 'img:1' });
    const claimed = await store.enqueue('gpu', { image: 'img:2' });
    const queued = await store.enqueue('gpu', { image: 'img:3' });
    await store.enqueue('other', { image: 'img:4' });
    const first = await store.claim({ agentId: 'laptop-1', queues: ['gpu'], leaseMs: 60_000 });
    expect(first?.id).toBe(done.id);
    await store.complete(done.id, 'laptop-1', {
      status: 'succeeded',
      jobName: 'projects/1/locations/us-central1/customJobs/11',
    });
    await store.claim({ agentId: 'laptop-1', queues: ['gpu'], leaseMs: 60_000 });
    await store.recordPhase(claimed.id, 'laptop-1', {
      phase: 'submitted',
      jobName: 'projects/1/locations/us-central1/customJobs/22',
    });
    return [done, claimed, queued];
  } finally {
    await store.close();
  }
}

beforeAll(async () => {
  cluster = await startPostgresCluster();
  dir = await tempDir('vxl-cli-transfer-');
  await cluster.psql('CREATE DATABASE team');
  team = cluster.urlOf('team');
}, 120_000);
afterAll(async () => {
  await dir?.cleanup();
  await cluster?.close();
});

describe('vertex-launch queue export | migrate | import', () => {
  it('moves a queue from SQLite to PostgreSQL and back: ids, phases, job names and histories kept', async () => {
    const laptop = file('laptop.db');
    const [done, claimed, queued] = await laptopStore(laptop);
    const noPassword = (text: string) => expect(text).not.toContain(cluster.password);

    const exported = await runCli(['queue', 'export', 'gpu', '--db', laptop, '--output', file('gpu.jsonl')], {
      env: env(),
    });
    expect(exported.stderr).toBe('');
    expect(exported).toMatchObject({ code: 0 });
    expect(exported.stdout).toContain(`Exported 1 queue and 3 items to ${file('gpu.jsonl')}`);
    expect((await stat(file('gpu.jsonl'))).mode & 0o777).toBe(0o600);
    const lines = (await readFile(file('gpu.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.kind)).toEqual(['header', 'queue', 'item', 'item', 'item']);
    expect(lines[0]).toMatchObject({ format: 'vertex-launch-queues', version: 1, source: 'sqlite' });
    expect(lines.slice(2).map((l) => l.item.id)).toEqual([done.id, claimed.id, queued.id]);

    const check = await runCli(['queue', 'migrate', '--check', '--db', team, '--json'], { env: env() });
    expect(check.code).toBe(0);
    expect(JSON.parse(check.stdout)).toMatchObject({ state: 'absent', version: 0, migrationDue: true });
    noPassword(check.stdout);
    const migrated = await runCli(['queue', 'migrate', '--db', team], { env: env() });
    expect(migrated.code).toBe(0);
    expect(migrated.stdout).toMatch(/schema vertex_launch: version 0 -> \d+ \(1 /);
    expect(migrated.stdout).toContain(`${cluster.user}:***@`);
    noPassword(migrated.stdout);
    const again = await runCli(['queue', 'migrate', '--db', team], { env: env() });
    expect(again.stdout).toMatch(/is at version \d+; nothing to do\./);

    const imported = await runCli(['queue', 'import', file('gpu.jsonl'), '--db', team, '--json'], { env: env() });
    expect(imported.code).toBe(0);
    expect(JSON.parse(imported.stdout)).toEqual({
      queuesCreated: 1,
      queuesSkipped: 0,
      itemsImported: 3,
      itemsSkipped: 0,
      itemsRequeued: 1,
    });

    const twice = await runCli(['queue', 'import', file('gpu.jsonl'), '--db', team], { env: env() });
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain('gpu');
    noPassword(twice.stderr);
    const skipped = await runCli(['queue', 'import', file('gpu.jsonl'), '--db', team, '--skip-existing'], {
      env: env(),
    });
    expect(skipped.code).toBe(0);
    expect(skipped.stdout).toContain(
      'Imported: 0 queues created, 1 kept as they were, 0 items imported, 3 already there.',
    );

    const items = await runCli(['queue', 'items', 'gpu', '--db', team, '--json'], { env: env() });
    expect(items.code).toBe(0);
    const byId = new Map<string, Record<string, unknown>>(
      (JSON.parse(items.stdout).items as Record<string, unknown>[]).map((i) => [i.id as string, i]),
    );
    expect([...byId.keys()].sort()).toEqual([done.id, claimed.id, queued.id].sort());
    expect(byId.get(done.id)).toMatchObject({
      state: 'succeeded',
      jobStatus: 'succeeded',
      jobName: 'projects/1/locations/us-central1/customJobs/11',
    });
    // Claimed on the laptop: back in the queue at its phase, with its job, for the next agent to re-attach.
    expect(byId.get(claimed.id)).toMatchObject({
      state: 'queued',
      phase: 'submitted',
      jobName: 'projects/1/locations/us-central1/customJobs/22',
    });

    // And back: PostgreSQL to a new SQLite file, through a pipe.
    const back = await runCli(['queue', 'export', '--db', team], { env: env() });
    expect(back.code).toBe(0);
    expect(back.stderr).toContain('Exported 1 queue and 3 items.');
    const restored = await runCli(['queue', 'import', '-', '--db', file('restored.db'), '--json'], {
      env: env(),
      input: back.stdout,
    });
    expect(restored.code).toBe(0);
    expect(JSON.parse(restored.stdout)).toMatchObject({ queuesCreated: 1, itemsImported: 3, itemsRequeued: 0 });
    const store = sqliteQueueStore({ path: file('restored.db') });
    try {
      const item = await store.get(claimed.id);
      expect(item?.events.map((e) => e.type)).toEqual(['enqueued', 'claimed', 'phase', 'requeued']);
      expect((await store.getQueue('gpu'))?.project).toBe('vxl-proj');
    } finally {
      await store.close();
    }
  }, 120_000);

  it('refuses what it cannot do, naming the flag or file and the fix', async () => {
    const json = await runCli(['queue', 'export', '--db', file('none.db'), '--json'], { env: env() });
    expect(json.code).toBe(2);
    expect(json.stderr).toContain('--json needs --output FILE');

    const missing = await runCli(['queue', 'import', file('nope.jsonl'), '--db', file('x.db')], { env: env() });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`No export file ${file('nope.jsonl')} (FILE)`);

    await writeFile(file('bad.jsonl'), '{"kind":"header","format":"something-else","version":1}\nnot json\n');
    const bad = await runCli(['queue', 'import', file('bad.jsonl'), '--db', file('x.db')], { env: env() });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(file('bad.jsonl'));
    expect(bad.stderr).not.toContain('    at ');

    const unknown = await runCli(['queue', 'export', 'nosuch', '--db', file('x.db')], { env: env() });
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('nosuch');
  }, 60_000);
});
