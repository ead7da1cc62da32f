// Issue #20, items 2-4, end to end: one agent (core createAgent, SQLite store, the real Vertex runner) on an emulator
// that serves two regions and simulates capacity per region and machine and GPU quota. A stockout walks the queue's
// fallback ladder to another region; a quota refusal of the create moves to another machine; a SPOT job preempted
// again and again is resubmitted under the retry budget with a doubling backoff, one labelled job per attempt; the
// queue's limits on accelerators in flight and its daily accelerator-hour budget hold launches back.
import type { JobSnapshot, QueueItem } from '@vertex-launch/core';
import { type AgentLogger, createAgent, type RunnerTarget } from '@vertex-launch/core/agent';
import { type VertexRunner, vertexRunner } from '@vertex-launch/vertex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentWorld, allItems, PREBUILT_IMAGE, startWorld, waitFor } from './support/agent-harness.js';

const EU = 'europe-west4';
const L4 = { machine_type: 'g2-standard-8', accelerator_type: 'NVIDIA_L4', accelerator_count: 1 };
const T4 = { machine_type: 'n1-standard-8', accelerator_type: 'NVIDIA_TESLA_T4', accelerator_count: 1 };

interface Line {
  level: string;
  fields: Record<string, unknown>;
  msg: string;
}

let world: AgentWorld;
let europe: VertexRunner;
const runners = () => (target: RunnerTarget) => (target.region === EU ? europe : world.runner);

beforeAll(async () => {
  world = await startWorld({ emulator: { regions: ['us-central1', EU] } });
  europe = vertexRunner({
    credentials: world.credentials,
    projectId: world.emulator.projectId,
    region: EU,
    env: world.emulator.env,
    quotas: { createsPerMinute: 0, readsPerMinute: 0 },
    tracker: { minIntervalMs: 50, maxIntervalMs: 250 },
    createLookup: { windowMs: 2_000, intervalMs: 100 },
  });
}, 60_000);
afterAll(async () => {
  await europe?.close();
  await world?.close();
});

function capture(lines: Line[]): AgentLogger {
  const at = (level: string) => (fields: Record<string, unknown>, msg: string) => lines.push({ level, fields, msg });
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** A queue config of one pool on `machine`, running `run_ms` on the emulator clock, plus `extra` top-level keys. */
function config(
  machine: Record<string, unknown>,
  extra: Record<string, unknown> = {},
  env: Record<string, string> = {},
) {
  return {
    template_variables: { run_ms: { type: 'string', default: '30' } },
    spec: {
      worker_pool_specs: [
        {
          machine_spec: machine,
          replica_count: 1,
          container_spec: {
            image_uri: '${image_uri}',
            env: [
              { name: 'VXL_EMULATOR_RUN_MS', value: '{{run_ms}}' },
              ...Object.entries(env).map(([name, value]) => ({ name, value })),
            ],
          },
        },
      ],
      staging_bucket: 'gs://vxl-capacity-us',
    },
    ...extra,
  };
}

/** Runs an agent on `queue` until every item of it satisfies `done`; returns the items and the log lines. */
async function drain(queue: string, done: (item: QueueItem) => boolean, options: { maxJobs?: number } = {}) {
  const lines: Line[] = [];
  const agent = createAgent({
    store: world.store,
    runner: runners(),
    queues: [queue],
    maxJobs: options.maxJobs ?? 3,
    pollIntervalMs: 50,
    leaseMs: 20_000,
    statusIntervalMs: 0,
    agentId: `capacity-${queue}`,
    logger: capture(lines),
  });
  const running = agent.start();
  const ofQueue = async () => (await allItems(world.store)).filter((item) => item.queue === queue);
  try {
    await waitFor(`every launch of ${queue} done`, async () => (await ofQueue()).every(done), {
      timeoutMs: 60_000,
      intervalMs: 25,
      detail: async () =>
        (await ofQueue()).map((i) => [i.state, i.outcome, i.rung, i.retries, i.events.at(-1)?.message]),
    });
  } finally {
    await agent.stop();
    await running;
  }
  return { items: await ofQueue(), lines };
}

async function jobsOf(item: QueueItem): Promise<JobSnapshot[]> {
  const filter = `labels.vertex-launch-launch-id="${item.launchId}"`;
  const all = [
    ...(await world.runner.list({ all: true, filter, limit: 100 })),
    ...(await europe.list({ all: true, filter, limit: 100 })),
  ];
  return all.sort((a, b) => (a.createTime?.getTime() ?? 0) - (b.createTime?.getTime() ?? 0));
}

const finished = (item: QueueItem) => item.state === 'finished';

describe('capacity', () => {
  it('a stockout in us-central1 falls back to europe-west4: the launch records its rung and both jobs', async () => {
    const { emulator, store } = world;
    (emulator as unknown as { setCapacity(rules: unknown[]): void }).setCapacity([
      { region: 'us-central1', acceleratorType: 'NVIDIA_L4', available: 0 },
    ]);
    await store.createQueue({
      name: 'ladder',
      config: config(L4, { fallback: [{ region: EU, staging_bucket: 'gs://vxl-capacity-eu' }] }),
      project: emulator.projectId,
      region: emulator.region,
    });
    const enqueued = await store.enqueue('ladder', { image: PREBUILT_IMAGE, runId: 'ladder-0' });
    const { items, lines } = await drain('ladder', finished);
    (emulator as unknown as { setCapacity(rules: unknown[]): void }).setCapacity([]);
    const [item] = items;
    expect(item).toMatchObject({ id: enqueued.id, outcome: 'succeeded', rung: 1, retries: 1 });
    const jobs = await jobsOf(item!);
    expect(jobs.map((j) => [j.region, j.state, j.labels['vertex-launch-attempt']])).toEqual([
      ['us-central1', 'JOB_STATE_FAILED', undefined],
      [EU, 'JOB_STATE_SUCCEEDED', '2'],
    ]);
    expect(item!.jobName).toBe(jobs[1]!.name);
    const retried = item!.events.filter((e) => e.type === 'retried').map((e) => e.message);
    expect(retried).toEqual([
      `fallback to rung 1: job ${jobs[0]!.name} ended failed (stockout: The resources are insufficient in region: us-central1. Please try a different region. If you use K80, please consider using P100 or V100 instead.); attempt 2 on fallback rung 1 (region ${EU})`,
    ]);
    expect(lines.some((l) => l.fields.event === 'retried' && l.fields.failureClass === 'stockout')).toBe(true);
  });

  it('a create refused for GPU quota moves to the next machine; no job is made for the refused one', async () => {
    const { emulator, store } = world;
    const emu = emulator as unknown as { setAcceleratorQuota(rules: unknown[]): void };
    emu.setAcceleratorQuota([{ region: 'us-central1', acceleratorType: 'NVIDIA_TESLA_T4', limit: 0 }]);
    await store.createQueue({
      name: 'quota',
      config: config(T4, { fallback: [{ machine_spec: L4 }] }),
      project: emulator.projectId,
      region: emulator.region,
    });
    await store.enqueue('quota', { image: PREBUILT_IMAGE, runId: 'quota-0' });
    const { items } = await drain('quota', finished);
    emu.setAcceleratorQuota([]);
    const [item] = items;
    expect(item).toMatchObject({ outcome: 'succeeded', rung: 1, retries: 1 });
    const jobs = await jobsOf(item!);
    expect(jobs.map((j) => j.state)).toEqual(['JOB_STATE_SUCCEEDED']);
    expect(jobs[0]!.labels['vertex-launch-attempt']).toBe('2');
    const retried = item!.events.find((e) => e.type === 'retried')!.message;
    expect(retried).toMatch(
      /^fallback to rung 1: the create call was refused \(quota: .*custom_model_training_nvidia_tesla_t4_gpus.*\); attempt 2 on fallback rung 1 \(g2-standard-8 with 1 NVIDIA_L4\)$/,
    );
  });

  it('a SPOT job preempted every time is resubmitted up to retry.max_attempts, with a doubling backoff', async () => {
    const { emulator, store } = world;
    await store.createQueue({
      name: 'spot',
      config: config(
        { machine_type: 'n1-standard-4' },
        { run: { scheduling_strategy: 'SPOT' }, retry: { on: ['preempted'], max_attempts: 3, backoff: '1s' } },
        { VXL_EMULATOR_FAILURE: 'preempted' },
      ),
      project: emulator.projectId,
      region: emulator.region,
    });
    await store.enqueue('spot', { image: PREBUILT_IMAGE, runId: 'spot-0' });
    const { items } = await drain('spot', finished);
    const [item] = items;
    expect(item).toMatchObject({
      outcome: 'failed',
      retries: 2,
      rung: 0,
      failure: { phase: 'run', class: 'preempted' },
    });
    expect(item!.failure!.message).toContain('after 3 attempts');
    expect(item!.failure!.fix).toBeTruthy();
    const jobs = await jobsOf(item!);
    expect(jobs.map((j) => [j.state, j.labels['vertex-launch-attempt']])).toEqual([
      ['JOB_STATE_FAILED', undefined],
      ['JOB_STATE_FAILED', '2'],
      ['JOB_STATE_FAILED', '3'],
    ]);
    const events = item!.events;
    const retried = events.filter((e) => e.type === 'retried');
    expect(retried.map((e) => e.message.replace(/job \S+/, 'job J'))).toEqual([
      expect.stringMatching(
        /^retry 1 of 2: job J ended failed \(preempted: .*\); attempt 2 on the queue config in 1s$/,
      ),
      expect.stringMatching(
        /^retry 2 of 2: job J ended failed \(preempted: .*\); attempt 3 on the queue config in 2s$/,
      ),
    ]);
    // Each backoff is kept: the next claim comes no sooner than it.
    for (const [n, event] of retried.entries()) {
      const next = events.slice(events.indexOf(event)).find((e) => e.type === 'claimed')!;
      expect(Date.parse(next.at) - Date.parse(event.at)).toBeGreaterThanOrEqual(1000 * 2 ** n - 5);
    }
  });

  it("a job that exits 1 with 'CUDA out of memory' in its last log lines ends out_of_memory, not user_code", async () => {
    const { emulator, store } = world;
    await store.createQueue({
      name: 'oom',
      config: config(
        { machine_type: 'n1-standard-4' },
        {},
        {
          VXL_EMULATOR_EXIT_CODE: '1',
          VXL_EMULATOR_LOG: 'torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB',
        },
      ),
      project: emulator.projectId,
      region: emulator.region,
    });
    await store.enqueue('oom', { image: PREBUILT_IMAGE, runId: 'oom-0' });
    const { items, lines } = await drain('oom', finished);
    expect(items[0]).toMatchObject({
      outcome: 'failed',
      failure: { phase: 'run', class: 'out_of_memory', exitCode: 1 },
    });
    expect(items[0]!.failure!.fix).toMatch(/memory/);
    expect(lines.find((l) => l.fields.failureClass)?.fields.failureClass).toBe('out_of_memory');
  });

  it('max_accelerators holds launches back (deferred, never two over the limit), then all succeed', async () => {
    const { emulator, store } = world;
    await store.createQueue({
      name: 'budget-inflight',
      config: config(L4, { limits: { max_accelerators: 2 } }),
      project: emulator.projectId,
      region: emulator.region,
    });
    for (let i = 0; i < 4; i++) {
      await store.enqueue('budget-inflight', {
        image: PREBUILT_IMAGE,
        runId: `inflight-${i}`,
        variables: { run_ms: '400' },
      });
    }
    let peak = 0;
    const sampler = setInterval(() => {
      void world.runner.list({ filter: 'labels.vertex-launch-queue="budget-inflight"', limit: 100 }).then((jobs) => {
        peak = Math.max(peak, jobs.filter((j) => !j.terminal).length);
      });
    }, 20);
    let items: QueueItem[];
    try {
      ({ items } = await drain('budget-inflight', finished, { maxJobs: 4 }));
    } finally {
      clearInterval(sampler);
    }
    expect(items.map((i) => i.outcome)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(2);
    const deferred = items.flatMap((i) => i.events.filter((e) => e.type === 'deferred'));
    expect(deferred.length).toBeGreaterThan(0);
    expect(deferred[0]!.message).toMatch(
      /^deferred: waiting for capacity of queue `budget-inflight` \(limits\.max_accelerators\): 2 accelerators in flight \+ 1 for this launch would exceed the limit of 2; tried again in /,
    );
    expect(items.every((i) => i.admission?.accelerators === 1)).toBe(true);
  });

  it('daily_accelerator_hours: launches beyond the budget wait; one that alone exceeds a limit fails', async () => {
    const { emulator, store } = world;
    await store.createQueue({
      name: 'budget-daily',
      config: config(L4, { run: { timeout: '1h' }, limits: { daily_accelerator_hours: 2, max_accelerators: 1 } }),
      project: emulator.projectId,
      region: emulator.region,
    });
    for (let i = 0; i < 3; i++) await store.enqueue('budget-daily', { image: PREBUILT_IMAGE, runId: `daily-${i}` });
    const { items } = await drain(
      'budget-daily',
      (item) =>
        finished(item) ||
        item.events.some((e) => e.type === 'deferred' && e.message.includes('(limits.daily_accelerator_hours)')),
    );
    expect(items.filter((i) => i.outcome === 'succeeded')).toHaveLength(2);
    const waiting = items.find((i) => i.state !== 'finished')!;
    expect(waiting.state).toBe('queued');
    expect(waiting.events.filter((e) => e.type === 'deferred').at(-1)!.message).toContain(
      '(limits.daily_accelerator_hours): 2 accelerator-hours admitted in the last 24 hours + at most 1 for this launch would exceed the budget of 2',
    );
    // Two L4s at once can never fit `max_accelerators: 1`: failed at once, saying so, not deferred forever.
    await store.createQueue({
      name: 'too-big',
      config: config(
        { ...L4, machine_type: 'g2-standard-24', accelerator_count: 2 },
        { limits: { max_accelerators: 1 } },
      ),
      project: emulator.projectId,
      region: emulator.region,
    });
    await store.enqueue('too-big', { image: PREBUILT_IMAGE, runId: 'too-big-0' });
    const { items: big } = await drain('too-big', finished);
    expect(big[0]).toMatchObject({ outcome: 'failed', failure: { phase: 'agent' } });
    expect(big[0]!.failure!.message).toContain('this launch alone exceeds `limits.max_accelerators`');
    expect(await jobsOf(big[0]!)).toEqual([]);
  });
});
