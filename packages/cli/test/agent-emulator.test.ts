// The agent loop of @vertex-launch/core with the real Vertex runner and the SQLite store, against the emulator (in
// this process): max_jobs across three queues, cancel requests, the start timeout, every final state freeing slots.
import { join } from 'node:path';
import { auto, resolveCredentials } from '@vertex-launch/auth';
import type { JobSnapshot, QueueItem, QueueStore } from '@vertex-launch/core';
import { type Agent, createAgent } from '@vertex-launch/core/agent';
import { type Emulator, startEmulator } from '@vertex-launch/emulator';
import { sqliteQueueStore } from '@vertex-launch/queue-sqlite';
import { type VertexRunner, vertexRunner } from '@vertex-launch/vertex';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/helpers.js';

const IMAGE = 'us-docker.pkg.dev/vxl-emulator/train/trainer:1';

/** A queue config whose container env takes the emulator's outcome knobs from template variables. */
const queueConfig = {
  template_variables: {
    run_ms: { type: 'string', default: '300' },
    exit_code: { type: 'string', default: '0' },
  },
  spec: {
    worker_pool_specs: [
      {
        machine_spec: { machine_type: 'n1-standard-4' },
        replica_count: 1,
        container_spec: {
          image_uri: '${image_uri}',
          env: [
            { name: 'VXL_EMULATOR_RUN_MS', value: '{{run_ms}}' },
            { name: 'VXL_EMULATOR_EXIT_CODE', value: '{{exit_code}}' },
          ],
        },
      },
    ],
    staging_bucket: 'gs://vxl-agent-test',
  },
};

interface World {
  emu: Emulator;
  runner: VertexRunner;
  store: QueueStore;
  cleanup: () => Promise<void>;
}

async function world(jobTimings: Record<string, number>): Promise<World> {
  const emu = await startEmulator({ jobTimings, quotas: { vertexReadsPerMinute: 0, vertexCreatesPerMinute: 0 } });
  const credentials = await resolveCredentials(auto({ env: emu.env }), { env: emu.env });
  const runner = vertexRunner({
    credentials,
    projectId: emu.projectId,
    region: emu.region,
    env: emu.env,
    quotas: { createsPerMinute: 0, readsPerMinute: 0 },
    tracker: { minIntervalMs: 50, maxIntervalMs: 200 },
  });
  // Load the Google client now: its first load blocks the event loop for seconds, which would stall heartbeats.
  await runner.list({ limit: 1 });
  const dir = await tempDir('vxl-agent-emu-');
  const store = sqliteQueueStore({ path: join(dir.path, 'queues.db') });
  return {
    emu,
    runner,
    store,
    cleanup: async () => {
      await store.close();
      await runner.close();
      await emu.stop();
      await dir.cleanup();
    },
  };
}

/** Counts the unfinished jobs in the emulator every few ms; returns the highest count seen. */
function sampleUnfinished(runner: VertexRunner) {
  let max = 0;
  let samples = 0;
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      const jobs = await runner.list({ limit: 1000 });
      max = Math.max(max, jobs.filter((j) => !j.terminal).length);
      samples += 1;
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await done;
      return { max, samples };
    },
  };
}

async function until(condition: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const allFinished = (store: QueueStore) => async () =>
  (await store.list({ limit: 1000 })).every((item) => item.state === 'finished');

describe('agent against the emulator', () => {
  let w: World;
  let agent: Agent | undefined;
  beforeAll(async () => {
    w = await world({ queuedMs: 30, pendingMs: 30, runningMs: 300, cancellingMs: 30 });
    for (const name of ['cpu', 'gpu', 'tpu']) {
      await w.store.createQueue({ name, config: queueConfig, project: w.emu.projectId, region: w.emu.region });
    }
  });
  afterEach(async () => {
    await agent?.stop();
    agent = undefined;
  });
  afterAll(async () => {
    await w?.cleanup();
  });

  it('3 queues, max_jobs 2: never more than 2 unfinished jobs, one job per item, every item succeeds', async () => {
    const enqueued: QueueItem[] = [];
    for (let i = 0; i < 4; i++) {
      for (const q of ['cpu', 'gpu', 'tpu']) enqueued.push(await w.store.enqueue(q, { image: IMAGE }));
    }
    const sampler = sampleUnfinished(w.runner);
    agent = createAgent({
      store: w.store,
      runner: w.runner,
      queues: ['cpu', 'gpu', 'tpu'],
      maxJobs: 2,
      pollIntervalMs: 50,
      leaseMs: 3_000,
      statusIntervalMs: 0,
    });
    const running = agent.start();
    await until(allFinished(w.store));
    const { max, samples } = await sampler.stop();
    await agent.stop();
    await running;
    expect(samples).toBeGreaterThan(20);
    expect(max).toBe(2);
    const items = await w.store.list({ limit: 100 });
    expect(items.map((i) => i.outcome)).toEqual(Array(12).fill('succeeded'));
    const jobs = await w.runner.list({ limit: 1000 });
    for (const item of enqueued) {
      const mine = jobs.filter((j) => j.labels['vertex-launch-launch-id'] === item.launchId);
      expect(mine.map((j) => j.state)).toEqual(['JOB_STATE_SUCCEEDED']);
    }
    expect(w.emu.counters()['aiplatform.customJobs.create']).toBe(12);
  });

  it('a cancel request cancels the running job; cancelled and failed jobs free their slots', async () => {
    const long = await w.store.enqueue('cpu', { image: IMAGE, variables: { run_ms: '60000' } });
    const failing = await w.store.enqueue('gpu', { image: IMAGE, variables: { exit_code: '3' } });
    const after = await w.store.enqueue('tpu', { image: IMAGE });
    const lines: { fields: Record<string, unknown>; message: string }[] = [];
    const record = (fields: Record<string, unknown>, message: string) => void lines.push({ fields, message });
    agent = createAgent({
      store: w.store,
      runner: w.runner,
      queues: ['cpu', 'gpu', 'tpu'],
      maxJobs: 1,
      pollIntervalMs: 50,
      leaseMs: 600,
      statusIntervalMs: 0,
      logger: { debug: () => {}, info: record, warn: record, error: record },
    });
    const running = agent.start();
    await until(async () => (await w.store.get(long.id))?.status === 'running');
    await w.store.requestCancel(long.id);
    await until(allFinished(w.store));
    await agent.stop();
    await running;
    const cancelled = (await w.store.get(long.id))!;
    expect(cancelled).toMatchObject({ outcome: 'cancelled', status: 'cancelled' });
    expect((await w.runner.get(cancelled.jobName!)).state).toBe('JOB_STATE_CANCELLED');
    const failed = (await w.store.get(failing.id))!;
    expect(failed).toMatchObject({ outcome: 'failed', status: 'failed' });
    expect(failed.failure).toMatchObject({
      phase: 'run',
      class: 'user_code',
      exitCode: 3,
      fix: expect.stringContaining('exited with status 3'),
    });
    expect(failed.failure!.message).toMatch(
      new RegExp(
        `^job ${failed.jobName} ended failed \\(user_code\\): The replica workerpool0-0 exited with a non-zero status of 3\\.`,
      ),
    );
    expect((await w.store.get(after.id))!.outcome).toBe('succeeded');
    // The agent's log line of each ended job carries its failure class, the exit code and the fix.
    const ended = (jobName: string | undefined) =>
      lines.find((l) => l.fields.jobName === jobName && 'outcome' in l.fields);
    expect(ended(failed.jobName)?.fields).toMatchObject({ failureClass: 'user_code', exitCode: 3 });
    expect(ended(failed.jobName)?.message).toMatch(
      /ended FAILED \(user_code\): The training code exited with status 3/,
    );
    expect(ended(cancelled.jobName)?.fields).toMatchObject({ failureClass: 'cancelled' });
    expect(ended(cancelled.jobName)?.fields).not.toHaveProperty('fix');
    expect(ended(after.jobName ?? (await w.store.get(after.id))!.jobName)?.fields).not.toHaveProperty('failureClass');
  });
});

describe('agent start timeout against the emulator', () => {
  let w: World;
  beforeAll(async () => {
    // Jobs stay QUEUED for a minute: the start timeout must cancel them.
    w = await world({ queuedMs: 60_000, pendingMs: 30, runningMs: 100, cancellingMs: 30 });
    await w.store.createQueue({ name: 'slow', config: queueConfig, project: w.emu.projectId, region: w.emu.region });
  });
  afterAll(async () => {
    await w?.cleanup();
  });

  it('cancels a job still QUEUED after start_timeout, fails the item with the reason and takes the next one', async () => {
    const first = await w.store.enqueue('slow', { image: IMAGE });
    const second = await w.store.enqueue('slow', { image: IMAGE });
    const seen: JobSnapshot[] = [];
    const agent = createAgent({
      store: w.store,
      runner: w.runner,
      queues: ['slow'],
      maxJobs: 1,
      pollIntervalMs: 50,
      startTimeoutMs: 500,
      statusIntervalMs: 0,
    });
    const running = agent.start();
    await until(async () => (await w.store.get(second.id))?.state === 'claimed');
    // The first job ended CANCELLED before the second was claimed (max_jobs 1).
    const failed = (await w.store.get(first.id))!;
    seen.push(await w.runner.get(failed.jobName!));
    await agent.stop();
    await running;
    expect(seen[0]!.state).toBe('JOB_STATE_CANCELLED');
    expect(failed.outcome).toBe('failed');
    expect(failed.failure?.phase).toBe('run');
    expect(failed.failure?.message).toMatch(
      new RegExp(
        `^job ${failed.jobName} did not start within the start timeout of 0\\.5s \\(still QUEUED\\); it was cancelled\\. Raise \`start_timeout\` in launch-config\\.yaml`,
      ),
    );
    // The second item was given back on stop, with its job name, for the next agent.
    expect((await w.store.get(second.id))!).toMatchObject({ state: 'queued', phase: 'submitted' });
  });
});
