import { describe, expect, it } from 'vitest';
import { systemClock } from '../clock.js';
import { ConfigError } from '../errors.js';
import { jobStateToStatus } from '../job-state.js';
import { formatJobName, jobConsoleUrl, parseJobName, resolveJobName } from '../launch/job-name.js';
import type { JobRunner, JobSnapshot, JobWatchListener } from '../launch/runner.js';
import type { CreateCustomJobRequest } from '../mapping/custom-job.js';
import { QueueError } from '../queue/errors.js';
import { memoryQueueStore } from '../queue/memory.js';
import type { QueueItem, QueueStore } from '../queue/store.js';
import { type AgentLogger, createAgent } from './agent.js';

const CONFIG = {
  spec: {
    worker_pool_specs: [
      { machine_spec: { machine_type: 'n1-standard-4' }, container_spec: { image_uri: '${image_uri}' } },
    ],
    staging_bucket: 'gs://bucket',
  },
};
const IMAGE = 'us-docker.pkg.dev/p/r/train:1';
const HAPPY = ['JOB_STATE_PENDING', 'JOB_STATE_RUNNING', 'JOB_STATE_RUNNING', 'JOB_STATE_SUCCEEDED'];

interface FakeJob {
  snapshot: JobSnapshot;
  script: string[];
  step: number;
}

/**
 * An in-memory JobRunner for the agent: each `get()` moves a job one step along its script (chosen by run id),
 * `cancel()` moves it to CANCELLING then CANCELLED. It records the most jobs that were ever unfinished at once.
 */
function fakeRunner(scripts: Record<string, string[]> = {}) {
  const jobs = new Map<string, FakeJob>();
  const submits: string[] = [];
  let maxUnfinished = 0;
  const unfinished = () => [...jobs.values()].filter((j) => !j.snapshot.terminal).length;
  const snap = (name: string, state: string, labels: Record<string, string>, createTime: Date): JobSnapshot => {
    const { status, terminal } = jobStateToStatus(state);
    const parts = parseJobName(name)!;
    return {
      name,
      id: parts.id,
      region: parts.region,
      displayName: 'job',
      state,
      status,
      terminal,
      createTime,
      startTime: undefined,
      endTime: undefined,
      updateTime: new Date(),
      error: undefined,
      labels,
      imageUri: IMAGE,
      consoleUrl: jobConsoleUrl(parts),
    };
  };
  const setState = (job: FakeJob, state: string) => {
    job.snapshot = snap(job.snapshot.name, state, job.snapshot.labels, job.snapshot.createTime!);
  };
  const runner: JobRunner & {
    jobs: typeof jobs;
    submits: string[];
    maxUnfinished: () => number;
    projectId: string;
    region: string;
  } = {
    name: 'fake',
    projectId: 'proj-test',
    region: 'us-central1',
    jobs,
    submits,
    maxUnfinished: () => maxUnfinished,
    jobName: (ref) => resolveJobName(ref, { project: 'proj-test', region: 'us-central1' }),
    async submit(request: CreateCustomJobRequest, { launchId, unknownSince }) {
      if (unknownSince !== undefined) {
        // A create may have been sent (the contract): the job of the launch id, if there is one, is found first.
        const found = [...jobs.values()].find((j) => j.snapshot.labels['vertex-launch-launch-id'] === launchId);
        if (found) return { jobName: found.snapshot.name, job: found.snapshot, existing: true };
      }
      submits.push(launchId);
      const name = formatJobName({ project: 'proj-test', region: 'us-central1', id: String(1000 + jobs.size) });
      const labels = request.customJob.labels ?? {};
      const runId = labels['vertex-launch-run-id'] ?? '';
      const job = {
        snapshot: snap(name, 'JOB_STATE_QUEUED', labels, new Date()),
        script: scripts[runId] ?? HAPPY,
        step: 0,
      };
      jobs.set(name, job);
      maxUnfinished = Math.max(maxUnfinished, unfinished());
      return { jobName: name, job: job.snapshot, existing: false };
    },
    async get(name) {
      const job = jobs.get(name)!;
      if (!job.snapshot.terminal) {
        if (job.snapshot.state === 'JOB_STATE_CANCELLING') setState(job, 'JOB_STATE_CANCELLED');
        else if (job.step < job.script.length) setState(job, job.script[job.step++]!);
      }
      return job.snapshot;
    },
    async list(options = {}) {
      const launchId = /vertex-launch-launch-id="([^"]+)"/.exec(options.filter ?? '')?.[1];
      return [...jobs.values()]
        .map((j) => j.snapshot)
        .filter((j) => launchId === undefined || j.labels['vertex-launch-launch-id'] === launchId)
        .reverse();
    },
    async cancel(name) {
      const job = jobs.get(name)!;
      if (!job.snapshot.terminal) setState(job, 'JOB_STATE_CANCELLING');
      return job.snapshot;
    },
    async *logs() {},
    consoleUrl: (name) => jobConsoleUrl(parseJobName(name)!),
  };
  return runner;
}

function recordingLogger() {
  const lines: { level: string; fields: Record<string, unknown>; message: string }[] = [];
  const at =
    (level: string) =>
    (fields: Record<string, unknown>, message: string): void => {
      lines.push({ level, fields, message });
    };
  const logger: AgentLogger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  return { logger, lines };
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function setup(queueNames: string[] = ['q']) {
  const store = memoryQueueStore();
  for (const name of queueNames)
    await store.createQueue({ name, config: CONFIG, project: 'proj-test', region: 'us-central1' });
  return store;
}

const allFinished = (store: QueueStore) => async () =>
  (await store.list({ limit: 1000 })).every((item) => item.state === 'finished');

const fast = { pollIntervalMs: 5, leaseMs: 2_000, statusIntervalMs: 0, stopGraceMs: 500 };

describe('createAgent', () => {
  it('runs at most max_jobs launches at once across queues, round-robin, and completes every item', async () => {
    const store = await setup(['a', 'b', 'c']);
    for (let i = 0; i < 4; i++) for (const q of ['a', 'b', 'c']) await store.enqueue(q, { image: IMAGE });
    const runner = fakeRunner();
    const finished: QueueItem[] = [];
    const agent = createAgent({
      store,
      runner,
      queues: ['a', 'b', 'c'],
      maxJobs: 2,
      ...fast,
      onItemFinished: (item) => finished.push(item),
    });
    const running = agent.start();
    let maxActive = 0;
    await until(async () => {
      maxActive = Math.max(maxActive, agent.status().active.length);
      return finished.length === 12;
    });
    await agent.stop();
    await running;
    expect(maxActive).toBe(2);
    expect(runner.maxUnfinished()).toBe(2);
    expect(runner.submits).toHaveLength(12);
    // Round-robin: the first three launches came from three different queues.
    expect(finished.slice(0, 3).map((i) => i.queue)).not.toEqual(['a', 'a', 'a']);
    expect(new Set(runner.jobs.keys()).size).toBe(12);
    const items = await store.list({ limit: 100 });
    expect(items.every((i) => i.outcome === 'succeeded' && i.status === 'succeeded' && i.jobName)).toBe(true);
    const history = items[0]!.events.map((e) => (e.type === 'phase' ? `phase:${e.phase}` : e.type));
    expect(history).toEqual([
      'enqueued',
      'claimed',
      'phase:submitting',
      'phase:submitted',
      'phase:submitted',
      'phase:running',
      'completed',
    ]);
    expect(agent.status()).toMatchObject({ state: 'stopped', totals: { claimed: 12, succeeded: 12 } });
  });

  it('every final Vertex state frees the slot and finishes the item with that status', async () => {
    const finals = [
      'JOB_STATE_FAILED',
      'JOB_STATE_CANCELLED',
      'JOB_STATE_EXPIRED',
      'JOB_STATE_PARTIALLY_SUCCEEDED',
      'JOB_STATE_SUCCEEDED',
    ];
    const scripts = Object.fromEntries(finals.map((state, i) => [`run${i}`, ['JOB_STATE_PENDING', state]]));
    const store = await setup();
    for (let i = 0; i < finals.length; i++) await store.enqueue('q', { image: IMAGE, runId: `run${i}` });
    const agent = createAgent({ store, runner: fakeRunner(scripts), queues: ['q'], maxJobs: 1, ...fast });
    const running = agent.start();
    await until(allFinished(store));
    await agent.stop();
    await running;
    const items = (await store.list()).reverse();
    expect(items.map((i) => [i.runId, i.status, i.outcome])).toEqual([
      ['run0', 'failed', 'failed'],
      ['run1', 'cancelled', 'cancelled'],
      ['run2', 'expired', 'failed'],
      ['run3', 'partially_succeeded', 'failed'],
      ['run4', 'succeeded', 'succeeded'],
    ]);
    expect(items[2]!.failure).toEqual({
      phase: 'run',
      class: 'unknown',
      message: `job ${items[2]!.jobName} ended expired (unknown)`,
    });
  });

  it('a cancel request cancels the Vertex job and finishes the item as cancelled', async () => {
    const store = await setup();
    const item = await store.enqueue('q', { image: IMAGE, runId: 'long' });
    const runner = fakeRunner({ long: Array(100_000).fill('JOB_STATE_RUNNING') });
    const { logger, lines } = recordingLogger();
    const agent = createAgent({ store, runner, queues: ['q'], ...fast, leaseMs: 60, logger });
    const running = agent.start();
    await until(async () => (await store.get(item.id))?.phase === 'running');
    await store.requestCancel(item.id);
    await until(allFinished(store));
    await agent.stop();
    await running;
    const done = (await store.get(item.id))!;
    expect(done).toMatchObject({ outcome: 'cancelled', status: 'cancelled', cancelRequested: true });
    expect(runner.jobs.get(done.jobName!)!.snapshot.state).toBe('JOB_STATE_CANCELLED');
    expect(lines.some((l) => l.message === `cancel requested: cancelling ${done.jobName}`)).toBe(true);
  });

  it('cancels a job that does not start within start_timeout and fails its item with the reason', async () => {
    const store = await setup();
    const item = await store.enqueue('q', { image: IMAGE, runId: 'stuck' });
    const runner = fakeRunner({ stuck: Array(100_000).fill('JOB_STATE_PENDING') });
    const agent = createAgent({ store, runner, queues: ['q'], ...fast, startTimeoutMs: 100 });
    const running = agent.start();
    await until(allFinished(store));
    await agent.stop();
    await running;
    const done = (await store.get(item.id))!;
    expect(done.outcome).toBe('failed');
    expect(done.failure?.phase).toBe('run');
    expect(done.failure?.message).toBe(
      `job ${done.jobName} did not start within the start timeout of 0.1s (still PENDING); it was cancelled. Raise \`start_timeout\` in launch-config.yaml or check the region's quota for the machine type`,
    );
    expect(runner.jobs.get(done.jobName!)!.snapshot.state).toBe('JOB_STATE_CANCELLED');
  });

  it('after a crash between create and persisting the job name, the next agent finds the job by launch id', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const store = memoryQueueStore({ now: () => now });
    await store.createQueue({ name: 'q', config: CONFIG, project: 'proj-test', region: 'us-central1' });
    const item = await store.enqueue('q', { image: IMAGE });
    const runner = fakeRunner();
    // The dead agent: claimed, persisted `submitting`, created the job, died before persisting its name.
    await store.claim({ agentId: 'dead', queues: ['q'], leaseMs: 1_000 });
    await store.recordPhase(item.id, 'dead', { phase: 'submitting', imageUri: IMAGE });
    const { request } = await import('../launch/pipeline.js').then((m) =>
      m.planLaunch({
        config: CONFIG,
        projectId: 'proj-test',
        region: 'us-central1',
        image: IMAGE,
        runId: item.runId,
        launchId: item.launchId,
      }),
    );
    await runner.submit(request, { launchId: item.launchId });
    now += 2_000; // its lease ran out

    const agent = createAgent({ store, runner, queues: ['q'], ...fast, clock: realClockWith(() => now) });
    const running = agent.start();
    await until(allFinished(store));
    await agent.stop();
    await running;
    expect(runner.submits).toEqual([item.launchId]);
    const done = (await store.get(item.id))!;
    expect(done).toMatchObject({ outcome: 'succeeded', attempts: 2, jobName: [...runner.jobs.keys()][0] });
    expect(done.events.some((e) => e.message.includes('found by launch id'))).toBe(true);
  });

  it('stop() gives items back with their job name; the next agent re-attaches without submitting again', async () => {
    const store = await setup();
    const item = await store.enqueue('q', { image: IMAGE, runId: 'long' });
    const script = [...Array(40).fill('JOB_STATE_RUNNING'), 'JOB_STATE_SUCCEEDED'];
    const runner = fakeRunner({ long: script });
    const first = createAgent({ store, runner, queues: ['q'], ...fast, agentId: 'first' });
    const running = first.start();
    await until(async () => (await store.get(item.id))?.phase === 'running');
    await first.stop('SIGTERM');
    await running;
    const released = (await store.get(item.id))!;
    expect(released).toMatchObject({ state: 'queued', phase: 'running' });
    expect(released.jobName).toBe([...runner.jobs.keys()][0]);
    expect(released.events.at(-1)?.message).toBe(
      `requeued: agent first stopped (SIGTERM); the next agent resumes at phase running with job ${released.jobName}`,
    );
    expect(first.status().totals.released).toBe(1);

    const second = createAgent({ store, runner, queues: ['q'], ...fast, agentId: 'second' });
    const again = second.start();
    await until(allFinished(store));
    await second.stop();
    await again;
    expect(runner.submits).toHaveLength(1);
    expect((await store.get(item.id))!).toMatchObject({ outcome: 'succeeded', jobName: released.jobName });
  });

  it('fails launches that cannot be resolved, naming the queue and the fix, and keeps going', async () => {
    const store = await setup();
    const bad = await store.enqueue('q', {}); // no image for ${image_uri}
    const good = await store.enqueue('q', { image: IMAGE });
    const agent = createAgent({ store, runner: fakeRunner(), queues: ['q'], ...fast });
    const running = agent.start();
    await until(allFinished(store));
    await agent.stop();
    await running;
    const failed = (await store.get(bad.id))!;
    expect(failed.failure?.phase).toBe('agent');
    expect(failed.failure?.message).toMatch(/^queue `q` config does not resolve for this launch: .*image_uri/);
    expect(failed.failure?.message).toContain('vertex-launch queue update q --queue-config FILE');
    expect((await store.get(good.id))!.outcome).toBe('succeeded');
  });

  it('a queue deleted while the agent runs stops only that queue; the rest drain and it is taken back when recreated', async () => {
    const store = await setup(['a', 'b']);
    const { logger, lines } = recordingLogger();
    const runner = fakeRunner();
    const agent = createAgent({ store, runner, queues: ['a', 'b'], maxJobs: -1, ...fast, logger });
    const running = agent.start();
    await store.deleteQueue('a');
    const fromB = [await store.enqueue('b', { image: IMAGE }), await store.enqueue('b', { image: IMAGE })];
    await until(async () => {
      const items = await Promise.all(fromB.map((item) => store.get(item.id)));
      return items.every((item) => item?.outcome === 'succeeded');
    });
    const deleted = lines.filter((line) => line.fields.event === 'queue_deleted');
    expect(deleted).toHaveLength(1);
    expect(deleted[0]).toMatchObject({ level: 'error', fields: { queue: 'a' } });
    expect(deleted[0]!.message).toBe('queue `a` was deleted; no longer claiming from it, still draining `b`');
    // No "could not claim" loop: the claim that met the missing queue is the only one that failed.
    expect(lines.filter((line) => line.message.startsWith('could not claim'))).toEqual([]);

    await store.createQueue({ name: 'a', config: CONFIG, project: 'proj-test', region: 'us-central1' });
    const fromA = await store.enqueue('a', { image: IMAGE });
    await until(async () => (await store.get(fromA.id))?.outcome === 'succeeded');
    expect(lines.some((line) => line.fields.event === 'queue_created' && line.fields.queue === 'a')).toBe(true);
    await agent.stop();
    await running;
    expect(runner.submits).toHaveLength(3);
  });

  it('a store busy while recording the job (SQLITE_BUSY) is retried with backoff: the launch succeeds, never failed', async () => {
    const store = await setup();
    const item = await store.enqueue('q', { image: IMAGE });
    const flaky = busyStore(store, { recordPhase: (update) => update.phase === 'running', complete: () => true }, 3);
    const runner = fakeRunner();
    const { logger, lines } = recordingLogger();
    // Fixed, small jitter: the delays are 5 % of each bound (10, 20, 40 ms).
    const agent = createAgent({ store: flaky.store, runner, queues: ['q'], ...fast, logger, random: () => 0.05 });
    const running = agent.start();
    await until(allFinished(store));
    await agent.stop();
    await running;
    const done = (await store.get(item.id))!;
    expect(done).toMatchObject({ outcome: 'succeeded', status: 'succeeded', attempts: 1 });
    expect(runner.submits).toEqual([item.launchId]);
    expect(flaky.refused).toEqual({ recordPhase: 3, complete: 3 });
    const retries = lines.filter((line) => line.fields.event === 'store_retry');
    expect(retries.map((line) => [line.fields.attempt, line.fields.delayMs])).toEqual([
      [1, 10],
      [2, 20],
      [3, 40],
      [1, 10],
      [2, 20],
      [3, 40],
    ]);
    expect(retries[0]!.message).toMatch(/^the queue store did not answer \(.*SQLITE_BUSY.*\); trying again in 10 ms$/);
    expect(done.events.some((event) => event.type === 'failed')).toBe(false);
    expect(lines.filter((line) => line.level === 'error')).toEqual([]);
  });

  it('a store still busy after every retry leaves the item to its lease: the next claim completes it with the same job', async () => {
    const store = await setup();
    const item = await store.enqueue('q', { image: IMAGE });
    // complete() is refused 6 times: every attempt of the first worker.
    const flaky = busyStore(store, { complete: () => true }, 6);
    const runner = fakeRunner();
    const { logger, lines } = recordingLogger();
    const agent = createAgent({
      store: flaky.store,
      runner,
      queues: ['q'],
      ...fast,
      leaseMs: 300,
      logger,
      random: () => 0.01,
    });
    const running = agent.start();
    await until(allFinished(store));
    await agent.stop();
    await running;
    const done = (await store.get(item.id))!;
    expect(done).toMatchObject({ outcome: 'succeeded', status: 'succeeded', attempts: 2 });
    expect(done.jobName).toBe([...runner.jobs.keys()][0]);
    expect(runner.submits).toEqual([item.launchId]);
    expect(done.events.some((event) => event.type === 'failed')).toBe(false);
    expect(done.events.some((event) => event.message.includes(`resuming at phase running, job ${done.jobName}`))).toBe(
      true,
    );
    const left = lines.filter((line) => line.fields.event === 'left_to_lease');
    expect(left).toHaveLength(1);
    expect(left[0]!.message).toBe(
      `the queue store did not answer after 6 attempts (Queue database /tmp/queues.db: cannot complete item ${item.id} (SQLITE_BUSY: database is locked); another process held the write lock too long.); left item ${item.id} to its lease: in 0.3s the next claim resumes it at phase running with job ${done.jobName}`,
    );
    expect(agent.status().totals).toMatchObject({ claimed: 2, succeeded: 1, failed: 0 });
  });

  it('reports itself to the store: running with its active launches on each heartbeat, then stopped', async () => {
    const store = await setup(['q', 'gpu']);
    const item = await store.enqueue('q', { image: IMAGE, runId: 'long' });
    const runner = fakeRunner({ long: Array(400).fill('JOB_STATE_RUNNING') });
    const agent = createAgent({ store, runner, queues: ['q', 'gpu'], maxJobs: 3, ...fast, leaseMs: 300 });
    const running = agent.start();
    await until(async () => (await store.get(item.id))?.phase === 'running');
    await until(async () => (await store.listAgents())[0]?.active === 1);
    const [record] = await store.listAgents();
    expect(record).toMatchObject({
      agentId: agent.id,
      pid: process.pid,
      queues: ['q', 'gpu'],
      maxJobs: 3,
      active: 1,
      state: 'running',
      heartbeatIntervalMs: 100,
    });
    expect(record!.host.length).toBeGreaterThan(0);
    await agent.stop();
    await running;
    expect(await store.listAgents()).toEqual([
      expect.objectContaining({ agentId: agent.id, state: 'stopped', active: 0, startedAt: record!.startedAt }),
    ]);
  });

  it('renews 40 leases in rounds of at most 16 calls at once: each round renews every lease, none is lost', async () => {
    const store = await setup();
    for (let i = 0; i < 40; i++) await store.enqueue('q', { image: IMAGE, runId: 'long' });
    let inFlight = 0;
    let maxInFlight = 0;
    const renewals = new Map<string, number>();
    const slowBeats: QueueStore = Object.create(store);
    slowBeats.heartbeat = async (itemId, agentId, leaseMs) => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        await new Promise((r) => setTimeout(r, 2));
        const item = await store.heartbeat(itemId, agentId, leaseMs);
        renewals.set(itemId, (renewals.get(itemId) ?? 0) + 1);
        return item;
      } finally {
        inFlight -= 1;
      }
    };
    const runner = fakeRunner({ long: [...Array(150).fill('JOB_STATE_RUNNING'), 'JOB_STATE_SUCCEEDED'] });
    const { logger, lines } = recordingLogger();
    const agent = createAgent({ store: slowBeats, runner, queues: ['q'], maxJobs: 40, ...fast, leaseMs: 300, logger });
    const running = agent.start();
    await until(() => renewals.size === 40 && [...renewals.values()].every((n) => n >= 2));
    expect(maxInFlight).toBeGreaterThan(1);
    expect(maxInFlight).toBeLessThanOrEqual(16);
    await until(allFinished(store), 15_000);
    await agent.stop();
    await running;
    const items = await store.list({ limit: 100 });
    expect(items.map((item) => item.outcome)).toEqual(Array(40).fill('succeeded'));
    expect(lines.filter((l) => /lease/i.test(l.message) && l.level !== 'info')).toEqual([]);
  });

  it('a running job its runner watches is looked at when it changes, not every poll: its wait is 60 s, a change ends it at once', async () => {
    const store = await setup();
    const item = await store.enqueue('q', { image: IMAGE, runId: 'watched' });
    const base = fakeRunner({ watched: ['JOB_STATE_RUNNING', 'JOB_STATE_SUCCEEDED'] });
    const listeners = new Map<string, JobWatchListener>();
    const runner: JobRunner = {
      ...base,
      watch: (name, listener) => {
        listeners.set(name, listener);
        return () => listeners.delete(name);
      },
    };
    const sleeps: number[] = [];
    const clock = {
      now: () => Date.now(),
      sleep: (ms: number, signal?: AbortSignal) => {
        sleeps.push(ms);
        return systemClock.sleep(ms, signal);
      },
    };
    const agent = createAgent({ store, runner, queues: ['q'], ...fast, clock });
    const running = agent.start();
    await until(() => listeners.size === 1);
    const [name, listener] = [...listeners][0]!;
    listener.onChange(await base.get(name), undefined);
    await until(async () => (await store.get(item.id))?.phase === 'running');
    await until(() => sleeps.includes(60_000));
    // Still RUNNING after many poll intervals: no new look at the job, one long wait.
    await new Promise((r) => setTimeout(r, 100));
    expect(sleeps.filter((ms) => ms === 60_000)).toHaveLength(1);
    const changed = Date.now();
    listener.onChange(await base.get(name), undefined);
    await until(allFinished(store));
    expect(Date.now() - changed).toBeLessThan(1_000);
    expect((await store.get(item.id))?.outcome).toBe('succeeded');
    await agent.stop();
    await running;
  });

  it('an agent that never started leaves no record', async () => {
    const store = await setup(['q']);
    const agent = createAgent({ store, runner: fakeRunner(), queues: ['missing'], ...fast });
    await agent.start().catch(() => undefined);
    await agent.stop();
    expect(await store.listAgents()).toEqual([]);
  });

  it('started while the queue store does not answer, it waits (saying so) and drains once the store is back', async () => {
    const store = await setup();
    const item = await store.enqueue('q', { image: IMAGE });
    let refusals = 3;
    const down: QueueStore = {
      ...store,
      name: store.name,
      async getQueue(name) {
        if (refusals > 0) {
          refusals -= 1;
          throw busy('read queue', name);
        }
        return store.getQueue(name);
      },
    };
    const { logger, lines } = recordingLogger();
    const agent = createAgent({ store: down, runner: fakeRunner(), queues: ['q'], ...fast, logger, random: () => 0 });
    const running = agent.start();
    await until(allFinished(store), 15_000);
    await agent.stop();
    await running;
    expect((await store.get(item.id))!.outcome).toBe('succeeded');
    const waits = lines.filter((line) => line.fields.event === 'store_unavailable');
    expect(waits).toHaveLength(3);
    expect(waits[0]!.message).toMatch(
      /^the queue store does not answer \(.*SQLITE_BUSY.*\); waiting for it, next try in /,
    );
    expect(lines.filter((line) => line.fields.event === 'store_available')).toHaveLength(1);

    // Stopped while waiting: start() resolves, nothing was claimed.
    const never: QueueStore = { ...down, getQueue: async (name) => Promise.reject(busy('read queue', name)) };
    const waiting = createAgent({ store: never, runner: fakeRunner(), queues: ['q'], ...fast, logger });
    const started = waiting.start();
    await until(() => lines.filter((line) => line.fields.event === 'store_unavailable').length > 3);
    await waiting.stop();
    await started;
    expect(waiting.status().state).toBe('stopped');
  });

  it('refuses to start with a queue that does not exist, and rejects bad max_jobs', async () => {
    const store = await setup(['q']);
    const agent = createAgent({ store, runner: fakeRunner(), queues: ['q', 'gpu'], ...fast });
    const error = (await agent.start().catch((e: unknown) => e)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe('The agent cannot start: queue `gpu` does not exist.');
    expect(error.issues).toEqual([{ path: 'queues[1]', message: 'queue `gpu` does not exist', severity: 'error' }]);
    expect(() => createAgent({ store, runner: fakeRunner(), queues: ['q'], maxJobs: 0 })).toThrow(
      /Invalid maxJobs 0: use a whole number of at least 1, or -1 for no limit/,
    );
  });
});

/** Real sleeps, but `now()` from the test (the store's fake clock). */
function realClockWith(now: () => number) {
  return {
    now,
    sleep: (ms: number, signal?: AbortSignal) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        signal?.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}

/**
 * `store` with some calls refused as SQLite refuses them under contention (QueueError `storage`, SQLITE_BUSY): each
 * method in `refuse` whose predicate holds for the call's update is refused until it was refused `times` times.
 */
function busyStore(
  store: QueueStore,
  refuse: { recordPhase?: (update: { phase: string }) => boolean; complete?: () => boolean },
  times: number,
) {
  const refused: Record<string, number> = {};
  const wrapped: QueueStore = {
    ...store,
    name: store.name,
    async recordPhase(itemId, agentId, update) {
      if (refuse.recordPhase?.(update) && (refused.recordPhase ?? 0) < times) {
        refused.recordPhase = (refused.recordPhase ?? 0) + 1;
        throw busy('record a phase of', itemId);
      }
      return store.recordPhase(itemId, agentId, update);
    },
    async complete(itemId, agentId, update) {
      if (refuse.complete?.() && (refused.complete ?? 0) < times) {
        refused.complete = (refused.complete ?? 0) + 1;
        throw busy('complete', itemId);
      }
      return store.complete(itemId, agentId, update);
    },
  };
  return { store: wrapped, refused };
}

/** The error the SQLite store throws when another process held the write lock past its busy timeout. */
function busy(action: string, itemId: string): QueueError {
  return new QueueError(
    'storage',
    `Queue database /tmp/queues.db: cannot ${action} item ${itemId} (SQLITE_BUSY: database is locked); another process held the write lock too long.`,
  );
}
