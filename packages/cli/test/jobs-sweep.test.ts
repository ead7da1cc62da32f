// `vertex-launch jobs sweep` against the emulator and a SQLite queue store: which running jobs no queue item owns,
// and `--cancel` cancelling exactly those.
import { join } from 'node:path';
import { auto, resolveCredentials } from '@vertex-launch/auth';
import type { QueueStore } from '@vertex-launch/core';
import { type Emulator, startEmulator } from '@vertex-launch/emulator';
import { sqliteQueueStore } from '@vertex-launch/queue-sqlite';
import { type VertexRunner, vertexRunner } from '@vertex-launch/vertex';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { tempDir } from '../../../test/helpers.js';
import { CLEAN_ENV, runCli } from './run-cli.js';

const IMAGE = 'us-docker.pkg.dev/vxl-emulator/train/trainer:1';

let emu: Emulator;
let runner: VertexRunner;
let store: QueueStore;
let dir: { path: string; cleanup: () => Promise<void> };
let db: string;
let env: Record<string, string | undefined>;
const ids: Record<string, string> = {};
const names: Record<string, string> = {};

async function submit(key: string, labels: Record<string, string>) {
  const launchId = labels['vertex-launch-launch-id'] ?? key;
  const { job } = await runner.submit(
    {
      parent: `projects/${emu.projectId}/locations/${emu.region}`,
      customJob: {
        displayName: `sweep-${key}`,
        labels: { 'vertex-launch-run-id': `run-${key}`, ...labels },
        jobSpec: {
          workerPoolSpecs: [
            { machineSpec: { machineType: 'n1-standard-4' }, replicaCount: '1', containerSpec: { imageUri: IMAGE } },
          ],
        },
      } as never,
    },
    { launchId },
  );
  ids[key] = job.id;
  names[key] = job.name;
  return job;
}

beforeAll(async () => {
  // Jobs stay RUNNING for the whole test.
  emu = await startEmulator({ jobTimings: { queuedMs: 10, pendingMs: 10, runningMs: 600_000 } });
  const credentials = await resolveCredentials(auto({ env: emu.env }), { env: emu.env });
  runner = vertexRunner({ credentials, projectId: emu.projectId, region: emu.region, env: emu.env });
  dir = await tempDir('vxl-sweep-');
  db = join(dir.path, 'queues.db');
  store = sqliteQueueStore({ path: db });
  const config = {
    spec: {
      worker_pool_specs: [
        { machine_spec: { machine_type: 'n1-standard-4' }, container_spec: { image_uri: '${image_uri}' } },
      ],
      staging_bucket: 'gs://vxl-sweep',
    },
  };
  await store.createQueue({ name: 'train', config, project: emu.projectId, region: emu.region });

  // Owned: an item an agent holds, with its job recorded.
  const owned = await store.enqueue('train', { image: IMAGE });
  await store.claim({ agentId: 'a1', queues: ['train'], leaseMs: 600_000 });
  const ownedJob = await submit('owned', { 'vertex-launch-launch-id': owned.launchId, 'vertex-launch-queue': 'train' });
  await store.recordPhase(owned.id, 'a1', { phase: 'submitted', jobName: ownedJob.name });
  // Orphan: the item finished (cancelled by hand while its agent was gone), the job still runs.
  const finished = await store.enqueue('train', { image: IMAGE });
  await store.claim({ agentId: 'a1', queues: ['train'], leaseMs: 600_000 });
  const finishedJob = await submit('finished', {
    'vertex-launch-launch-id': finished.launchId,
    'vertex-launch-queue': 'train',
  });
  await store.complete(finished.id, 'a1', { status: 'cancelled', jobName: finishedJob.name });
  // Orphan: no item has its launch id.
  await submit('gone', { 'vertex-launch-launch-id': 'launch-without-item', 'vertex-launch-queue': 'train' });
  // Never judged: a direct launch, and a queue of another store.
  await submit('direct', { 'vertex-launch-launch-id': 'direct-launch' });
  await submit('elsewhere', { 'vertex-launch-launch-id': 'other-launch', 'vertex-launch-queue': 'other' });

  env = { ...CLEAN_ENV, ...emu.env, NO_COLOR: '1', HOME: dir.path };
}, 120_000);

afterAll(async () => {
  await store?.close();
  await runner?.close();
  await emu?.stop();
  await dir?.cleanup();
});

describe('jobs sweep', () => {
  test('lists every unfinished job with a verdict and why; cancels nothing without --cancel', async () => {
    const r = await runCli(['jobs', 'sweep', '--db', db, '--json'], { env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as {
      checked: number;
      jobs: { verdict: string; reason: string; job: { id: string } }[];
    };
    const byId = new Map(out.jobs.map((j) => [j.job.id, j]));
    expect(out.checked).toBe(5);
    expect(byId.get(ids.owned as string)).toMatchObject({ verdict: 'owned' });
    expect(byId.get(ids.finished as string)).toMatchObject({
      verdict: 'orphan',
      reason: expect.stringMatching(/finished \(cancelled/),
    });
    expect(byId.get(ids.gone as string)).toMatchObject({
      verdict: 'orphan',
      reason: 'no item of queue "train" has its launch id',
    });
    expect(byId.get(ids.direct as string)).toMatchObject({ verdict: 'direct' });
    expect(byId.get(ids.elsewhere as string)).toMatchObject({ verdict: 'other_store' });

    const text = await runCli(['jobs', 'sweep', '--db', db], { env });
    expect(text.code).toBe(0);
    expect(text.stdout.split('\n')[0]).toMatch(/^ID\s+VERDICT\s+STATE\s+CREATED\s+WHY$/);
    expect(text.stderr).toContain(
      '2 orphaned jobs of 5 unfinished (1 owned by a queue item, 1 launched without a queue, 1 of queues not in this store). Cancel them with `vertex-launch jobs sweep --cancel`.',
    );
    const states = await Promise.all(Object.values(names).map(async (name) => (await runner.get(name)).state));
    expect(states.every((s) => s === 'JOB_STATE_RUNNING')).toBe(true);
  });

  test('--cancel without a terminal asks for --yes and cancels nothing (exit 2)', async () => {
    const r = await runCli(['jobs', 'sweep', '--db', db, '--cancel'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('pass --yes to cancel, or leave out --cancel to list them only');
    expect((await runner.get(names.gone as string)).state).toBe('JOB_STATE_RUNNING');
  });

  test('--cancel --yes cancels the orphans and only them', async () => {
    const r = await runCli(['jobs', 'sweep', '--db', db, '--cancel', '--yes'], { env });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('Cancel requested for 2 orphaned jobs');
    const state = async (key: string) => (await runner.get(names[key] as string)).state;
    for (const key of ['finished', 'gone'])
      expect(['JOB_STATE_CANCELLING', 'JOB_STATE_CANCELLED']).toContain(await state(key));
    for (const key of ['owned', 'direct', 'elsewhere']) expect(await state(key)).toBe('JOB_STATE_RUNNING');
  });
});
