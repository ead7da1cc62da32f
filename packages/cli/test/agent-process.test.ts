// `vertex-launch agent` as a process (the built CLI) against the emulator, which runs in this test process so it
// outlives the agents: config errors, SIGTERM, kill -9 at seeded random points during 50 launches, and two agents draining
// 200 items from one SQLite file.
import type { ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { auto, resolveCredentials } from '@vertex-launch/auth';
import type { QueueItem, QueueStore } from '@vertex-launch/core';
import { type Emulator, startEmulator } from '@vertex-launch/emulator';
import { sqliteQueueStore } from '@vertex-launch/queue-sqlite';
import { type VertexRunner, vertexRunner } from '@vertex-launch/vertex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentChild, spawnAgentChild } from '../../../test/agent-child.js';
import { childEnv, tempDir } from '../../../test/helpers.js';
import { seededInt, seededRandom, testSeed } from '../../../test/seed.js';
import { cliBin, runCli } from './run-cli.js';

const IMAGE = 'us-docker.pkg.dev/vxl-emulator/train/trainer:1';

let emu: Emulator;
let runner: VertexRunner;
let store: QueueStore;
let dir: { path: string; cleanup: () => Promise<void> };
const children = new Set<ChildProcess>();
const db = () => join(dir.path, 'queues.db');

function queueConfig(runMs: number) {
  return {
    spec: {
      worker_pool_specs: [
        {
          machine_spec: { machine_type: 'n1-standard-4' },
          replica_count: 1,
          container_spec: { image_uri: '${image_uri}', env: [{ name: 'VXL_EMULATOR_RUN_MS', value: String(runMs) }] },
        },
      ],
      staging_bucket: 'gs://vxl-agent-process',
    },
  };
}

async function agentConfig(name: string, lines: string[]): Promise<string> {
  const path = join(dir.path, name);
  await writeFile(
    path,
    [
      `queue_db: ${db()}`,
      `environment: { project: ${emu.projectId}, region: ${emu.region} }`,
      'quotas: { creates_per_minute: 0, reads_per_minute: 0 }',
      'poll_interval: 0.1',
      // The emulator commits a create before answering: a short lookup window settles items resumed at `submitting`.
      'create_lookup_window: 2',
      ...lines,
    ].join('\n'),
  );
  return path;
}

interface AgentProcess extends AgentChild {
  waitForLog: (predicate: (line: Record<string, unknown>) => boolean, timeoutMs?: number) => Promise<void>;
}

function startAgent(config: string): AgentProcess {
  const agent = spawnAgentChild(
    [cliBin, 'agent', '--config', config, '--log-format', 'json', '--status-interval', '1'],
    {
      env: childEnv({ ...emu.env, VERTEX_LAUNCH_QUEUE_DB: undefined }),
    },
  );
  children.add(agent.child);
  void agent.exited.then(() => children.delete(agent.child));
  return {
    ...agent,
    waitForLog: (predicate, timeoutMs = 30_000) => until(async () => agent.logs.some(predicate), timeoutMs),
  };
}

async function until(condition: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function enqueue(queue: string, n: number): Promise<QueueItem[]> {
  const items: QueueItem[] = [];
  for (let i = 0; i < n; i++) items.push(await store.enqueue(queue, { image: IMAGE }));
  return items;
}

const finishedIn = (queue: string, n: number) => async () =>
  (await store.list({ queue, states: ['finished'], limit: 1000 })).length === n;

/** Jobs in the emulator per launch id of `items`. */
async function jobsPerLaunch(items: QueueItem[]): Promise<Map<string, number>> {
  const jobs = await runner.list({ limit: 5000 });
  const counts = new Map(items.map((item) => [item.launchId, 0]));
  for (const job of jobs) {
    const id = job.labels['vertex-launch-launch-id'];
    if (id !== undefined && counts.has(id)) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

beforeAll(async () => {
  emu = await startEmulator({
    jobTimings: { queuedMs: 20, pendingMs: 20, runningMs: 200, cancellingMs: 20 },
    quotas: { vertexReadsPerMinute: 0, vertexCreatesPerMinute: 0 },
  });
  const credentials = await resolveCredentials(auto({ env: emu.env }), { env: emu.env });
  runner = vertexRunner({
    credentials,
    projectId: emu.projectId,
    region: emu.region,
    env: emu.env,
    quotas: { createsPerMinute: 0, readsPerMinute: 0 },
  });
  dir = await tempDir('vxl-agent-proc-');
  store = sqliteQueueStore({ path: db() });
  await store.createQueue({ name: 'long', config: queueConfig(60_000) });
  await store.createQueue({ name: 'crash', config: queueConfig(300) });
  await store.createQueue({ name: 'many', config: queueConfig(50) });
  await store.createQueue({ name: 'budget', config: queueConfig(50) });
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await store?.close();
  await runner?.close();
  await emu?.stop();
  await dir?.cleanup();
});

describe('vertex-launch agent (process)', () => {
  it('an invalid agent config exits 2 naming the file, the key and the fix', async () => {
    const config = join(dir.path, 'bad.yaml');
    await writeFile(config, 'queues: [long]\nmaxJobs: 2\nstart_timeout: soon\nbuilder: { type: docker }\n');
    const r = await runCli(['agent', '--config', config], { env: emu.env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`Invalid agent config ${config} (3 problems)`);
    expect(r.stderr).toContain(`${config}: maxJobs: unknown key; did you mean \`max_jobs\`?`);
    expect(r.stderr).toContain(`${config}: start_timeout: \`soon\` is not a duration`);
    expect(r.stderr).toContain(`${config}: registry: required with \`builder.type: docker\``);
    const missing = await runCli(['agent', '--config', join(dir.path, 'nope.yaml')], { env: emu.env });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`Agent config file ${join(dir.path, 'nope.yaml')} does not exist.`);
    const unknownQueue = await runCli(['agent', '--config', await agentConfig('q.yaml', ['queues: [long, nosuch]'])], {
      env: emu.env,
    });
    expect(unknownQueue.code).toBe(2);
    expect(unknownQueue.stderr).toContain('The agent cannot start: queue `nosuch` does not exist.');
  });

  it('SIGTERM: stops within seconds, gives running items back with their job names; logs are JSON with a status line', async () => {
    const items = await enqueue('long', 2);
    const agent = startAgent(await agentConfig('long.yaml', ['queues: [long]', 'max_jobs: 2']));
    await until(
      async () => (await store.list({ queue: 'long', limit: 10 })).every((i) => i.status === 'running'),
      60_000,
    );
    await agent.waitForLog((l) => l.event === 'status' && l.running === 2, 60_000);
    const t0 = Date.now();
    agent.child.kill('SIGTERM');
    const { code } = await agent.exited;
    const stopMs = Date.now() - t0;
    expect(code).toBe(0);
    expect(stopMs).toBeLessThan(5_000);
    for (const item of items) {
      const after = (await store.get(item.id))!;
      expect(after).toMatchObject({ state: 'queued', phase: 'running' });
      expect(after.jobName).toMatch(/customJobs\/\d+$/);
    }
    const released = agent.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('released item'));
    expect(released.map((l) => l.itemId).sort()).toEqual(items.map((i) => i.id).sort());
    expect(agent.logs.every((l) => l.unparsed === undefined && typeof l.level === 'number')).toBe(true);
    expect(JSON.stringify(agent.logs)).not.toContain(emu.adminToken);
    // Clean up: cancel them so they do not count as running later.
    for (const item of items) await store.requestCancel(item.id);
    const cleaner = startAgent(await agentConfig('long2.yaml', ['queues: [long]', 'max_jobs: 2']));
    await until(finishedIn('long', 2), 60_000);
    cleaner.child.kill('SIGTERM');
    await cleaner.exited;
    expect((await store.list({ queue: 'long' })).map((i) => i.outcome)).toEqual(['cancelled', 'cancelled']);
    expect([...(await jobsPerLaunch(items)).values()]).toEqual([1, 1]);
  }, 150_000);

  it('max_attempts of launch-config.yaml: an item whose lease ran out that often is failed, not run again', async () => {
    const [spent, fresh] = await enqueue('budget', 2);
    // An agent that died holding the first item: its one claim's lease runs out.
    const ghost = await store.claim({ agentId: 'ghost:1:dead', queues: ['budget'], leaseMs: 200 });
    expect(ghost?.id).toBe(spent!.id);
    await new Promise((r) => setTimeout(r, 400));
    // With the default budget (5) the agent would resume it; with `max_attempts: 1` its one attempt is used up.
    const agent = startAgent(await agentConfig('budget.yaml', ['queues: [budget]', 'max_attempts: 1']));
    await until(finishedIn('budget', 2), 60_000);
    agent.child.kill('SIGTERM');
    expect((await agent.exited).code).toBe(0);
    expect(await store.get(spent!.id)).toMatchObject({
      state: 'finished',
      outcome: 'failed',
      failure: { phase: 'agent', message: expect.stringContaining('gave up after 1 attempts') },
      attempts: 1,
    });
    expect(await store.get(fresh!.id)).toMatchObject({ state: 'finished', outcome: 'succeeded' });
    expect([...(await jobsPerLaunch([spent!, fresh!])).values()]).toEqual([0, 1]);
  }, 120_000);

  it('kill -9 at seeded random points during 50 launches, then a restart: exactly one job per item, every item terminal', async () => {
    // The kill moments are drawn from the run's seed (VXL_TEST_SEED replays them), printed below.
    const seed = testSeed();
    const killDelay = seededRandom(seed, 'agent-process kill delay');
    const items = await enqueue('crash', 50);
    const config = await agentConfig('crash.yaml', ['queues: [crash]', 'max_jobs: 6', 'lease_duration: 1.5']);
    // Slow creates widen the window between the create call and persisting the job name, where a kill leaves the
    // item in phase `submitting` (the next agent must find the job by its launch id, not create a second one).
    emu.faults.inject('aiplatform.customJobs.create', { latencyMs: 300 });
    const kills: number[] = [];
    for (let round = 0; round < 4; round++) {
      const agent = startAgent(config);
      await agent.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('claimed item'));
      const delay = seededInt(killDelay, 100, 1300);
      await new Promise((r) => setTimeout(r, delay));
      agent.child.kill('SIGKILL');
      const { signal } = await agent.exited;
      expect(signal).toBe('SIGKILL');
      kills.push(delay);
    }
    emu.faults.clear('aiplatform.customJobs.create');
    const interrupted = (await store.list({ queue: 'crash', limit: 100 })).filter((i) => i.state === 'claimed');
    const last = startAgent(config);
    await until(finishedIn('crash', 50), 60_000).catch(async (error: unknown) => {
      const left = (await store.list({ queue: 'crash', limit: 100 })).filter((i) => i.state !== 'finished');
      console.error(
        JSON.stringify(
          left.slice(0, 3).map((i) => ({
            state: i.state,
            phase: i.phase,
            attempts: i.attempts,
            events: i.events.map((e) => e.message),
          })),
          null,
          1,
        ),
      );
      console.error(
        last.logs
          .slice(-30)
          .map((l) => l.msg)
          .join('\n'),
        last.stderr(),
      );
      throw error;
    });
    last.child.kill('SIGTERM');
    expect((await last.exited).code).toBe(0);

    const done = await store.list({ queue: 'crash', limit: 100 });
    expect(done.map((i) => i.state)).toEqual(Array(50).fill('finished'));
    expect(done.map((i) => i.outcome)).toEqual(Array(50).fill('succeeded'));
    const perLaunch = await jobsPerLaunch(items);
    expect([...perLaunch.values()]).toEqual(Array(50).fill(1));
    const resumed = done.filter((i) => i.attempts > 1);
    console.info(
      `kill -9 test: kills after ${kills.join(', ')} ms; ${interrupted.length} items interrupted; ${resumed.length} resumed; ${done.filter((i) => i.events.some((e) => e.message.includes('found by launch id'))).length} re-attached by launch id; seed ${seed}`,
    );
    // The kills did interrupt launches in flight (they were resumed, not restarted from scratch).
    expect(interrupted.length).toBeGreaterThan(0);
    expect(resumed.length).toBeGreaterThan(0);
  }, 90_000);

  it('two agents on one SQLite file drain 200 items; no item is claimed twice', async () => {
    const items = await enqueue('many', 200);
    const config = await agentConfig('many.yaml', ['queues: [many]', 'max_jobs: 20', 'lease_duration: 30']);
    const t0 = Date.now();
    const a = startAgent(config);
    const b = startAgent(config);
    await until(finishedIn('many', 200), 90_000);
    const drainMs = Date.now() - t0;
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    expect((await a.exited).code).toBe(0);
    expect((await b.exited).code).toBe(0);

    const done = await store.list({ queue: 'many', limit: 1000 });
    expect(done).toHaveLength(200);
    expect(done.every((i) => i.outcome === 'succeeded')).toBe(true);
    const claims = done.map((i) => i.events.filter((e) => e.type === 'claimed'));
    expect(claims.every((c) => c.length === 1)).toBe(true);
    expect(done.every((i) => i.attempts === 1)).toBe(true);
    const byAgent = new Map<string, number>();
    for (const c of claims) byAgent.set(c[0]!.agentId!, (byAgent.get(c[0]!.agentId!) ?? 0) + 1);
    expect(byAgent.size).toBe(2);
    const claimedLogs = [...a.logs, ...b.logs].filter(
      (l) => typeof l.msg === 'string' && l.msg.startsWith('claimed item'),
    );
    expect(new Set(claimedLogs.map((l) => l.itemId)).size).toBe(200);
    expect(claimedLogs).toHaveLength(200);
    expect([...(await jobsPerLaunch(items)).values()]).toEqual(Array(200).fill(1));
    console.info(`two agents drained 200 items in ${drainMs} ms (${[...byAgent.values()].join(' + ')})`);
  }, 120_000);
});
