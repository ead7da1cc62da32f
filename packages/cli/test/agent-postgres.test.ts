// `vertex-launch agent` (the built CLI, as processes) on a PostgreSQL queue store chosen by `queue_db: postgres://...`
// in launch-config.yaml: four "machines" (each its own HOME) drain one queue against the emulator; one agent is
// killed with SIGKILL while it holds launches and started again, and PostgreSQL is restarted once (an immediate
// shutdown: a crash) while they run. Every launch ends with exactly one CustomJob, no item is held by two agents at
// once, and the store URL's password is never printed. (The longer chaos run, with many kills, is
// test/reliability/postgres-agents.test.ts.)
import type { ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { auto, resolveCredentials } from '@vertex-launch/auth';
import type { QueueItem } from '@vertex-launch/core';
import { type Emulator, startEmulator } from '@vertex-launch/emulator';
import { type PostgresQueueStore, postgresQueueStore } from '@vertex-launch/queue-postgres';
import { type VertexRunner, vertexRunner } from '@vertex-launch/vertex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PostgresCluster, startPostgresCluster } from '../../../scripts/postgres-cluster.mjs';
import { type AgentChild, spawnAgentChild } from '../../../test/agent-child.js';
import { childEnv, tempDir } from '../../../test/helpers.js';
import { seededInt, seededRandom, testSeed } from '../../../test/seed.js';
import { cliBin } from './run-cli.js';

const IMAGE = 'us-docker.pkg.dev/vxl-emulator/train/trainer:1';
const MACHINES = 4;
const LAUNCHES = 60;
const random = seededRandom(testSeed(), 'cli-agent-postgres');

let cluster: PostgresCluster;
let emu: Emulator;
let runner: VertexRunner;
let store: PostgresQueueStore;
let dir: { path: string; cleanup: () => Promise<void> };
const children = new Set<ChildProcess>();

function startAgent(machine: number, config: string): AgentChild {
  const agent = spawnAgentChild([cliBin, 'agent', '--config', config, '--log-format', 'json'], {
    env: childEnv({ ...emu.env, HOME: join(dir.path, `machine-${machine}`), VERTEX_LAUNCH_QUEUE_DB: undefined }),
  });
  children.add(agent.child);
  void agent.exited.then(() => children.delete(agent.child));
  return agent;
}

async function until(what: string, condition: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The launches not finished, their last events and every agent's log lines about them: what a timeout needs. */
async function unfinished(agents: readonly AgentChild[]): Promise<string> {
  const open = (await store.list({ queue: 'team', limit: 1000 })).filter((i) => i.state !== 'finished');
  const lines: string[] = [];
  for (const item of open) {
    lines.push(`${item.id} (${item.state}, phase ${item.phase ?? '-'}, job ${item.jobName ?? '-'}):`);
    for (const e of item.events.slice(-8)) lines.push(`  event ${e.at} ${e.type} ${e.agentId ?? ''} ${e.message}`);
    agents.forEach((agent, n) => {
      for (const l of agent.logs.filter((l) => l.itemId === item.id).slice(-12)) {
        lines.push(`  agent ${n} ${String(l.time)} ${String(l.msg)}`);
      }
    });
  }
  return lines.join('\n');
}

/** Claims in an item's history made while another agent's lease was still held. */
function overlappingClaims(item: QueueItem): string[] {
  const problems: string[] = [];
  let held = false;
  for (const event of item.events) {
    if (event.type === 'lease_expired' || event.type === 'requeued' || event.type === 'completed') held = false;
    if (event.type === 'claimed') {
      if (held) problems.push(`${item.id}: claimed by ${event.agentId} while the lease was held`);
      held = true;
    }
  }
  return problems;
}

beforeAll(async () => {
  cluster = await startPostgresCluster();
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
  dir = await tempDir('vxl-agent-pg-');
  store = postgresQueueStore({ connectionString: cluster.url });
  await store.createQueue({
    name: 'team',
    config: {
      spec: {
        worker_pool_specs: [
          {
            machine_spec: { machine_type: 'n1-standard-4' },
            replica_count: 1,
            container_spec: { image_uri: '${image_uri}', env: [{ name: 'VXL_EMULATOR_RUN_MS', value: '{{run_ms}}' }] },
          },
        ],
        staging_bucket: 'gs://vxl-agent-pg',
      },
      template_variables: { run_ms: { type: 'string', default: '300' } },
    },
  });
}, 120_000);

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await store?.close();
  await runner?.close();
  await emu?.stop();
  await dir?.cleanup();
  await cluster?.close();
});

describe('vertex-launch agent on a PostgreSQL queue (queue_db: postgres://...)', () => {
  it(`${MACHINES} machines drain ${LAUNCHES} launches through a kill -9 and a PostgreSQL crash: one job per launch, no overlapping claims`, async () => {
    const configs: string[] = [];
    for (let machine = 0; machine < MACHINES; machine++) {
      await mkdir(join(dir.path, `machine-${machine}`), { recursive: true });
      const config = join(dir.path, `machine-${machine}`, 'launch-config.yaml');
      await writeFile(
        config,
        [
          `queue_db: ${cluster.url}`,
          'queues: [team]',
          'max_jobs: 6',
          `environment: { project: ${emu.projectId}, region: ${emu.region} }`,
          'quotas: { creates_per_minute: 0, reads_per_minute: 0 }',
          'poll_interval: 0.1',
          'lease_duration: 3',
          // A launch killed mid-create is looked up by its launch id before a second create, for 2 s here, not 5 min.
          'create_lookup_window: 2',
          'create_lookup_interval: 0.2',
        ].join('\n'),
      );
      configs.push(config);
    }
    const agents = configs.map((config, machine) => startAgent(machine, config));
    await until('the agents started', () => agents.every((a) => a.logs.some((l) => / started: /.test(String(l.msg)))));

    const items: QueueItem[] = [];
    for (let i = 0; i < LAUNCHES; i++) {
      items.push(
        await store.enqueue('team', { image: IMAGE, variables: { run_ms: String(seededInt(random, 200, 1200)) } }),
      );
    }
    // Kill a machine's agent while it holds launches, then start that machine's next agent.
    const victim = seededInt(random, 0, MACHINES);
    await until(
      'the victim holds launches',
      () => agents[victim]!.logs.filter((l) => String(l.msg).startsWith('claimed item')).length >= 2,
    );
    agents[victim]!.child.kill('SIGKILL');
    expect((await agents[victim]!.exited).signal).toBe('SIGKILL');
    const next = startAgent(victim, configs[victim]!);
    agents.push(next);
    await until('the next agent started', () => next.logs.some((l) => / started: /.test(String(l.msg))));
    // PostgreSQL crashes and comes back 1.5 s later: the agents' calls wait for it (retryTimeoutMs) and go on.
    await until(
      'some launches finished',
      async () => (await store.list({ queue: 'team', states: ['finished'], limit: 1000 })).length >= 10,
    );
    await cluster.restart({ mode: 'immediate', downMs: 1500 });

    await until(
      'every launch finished',
      async () => (await store.list({ queue: 'team', states: ['finished'], limit: 1000 })).length === LAUNCHES,
      120_000,
    ).catch(async (error) => {
      throw new Error(`${(error as Error).message}\n${await unfinished(agents)}`);
    });
    for (const agent of agents.filter((a) => a !== agents[victim])) {
      agent.child.kill('SIGTERM');
      expect(await agent.exited).toEqual({ code: 0, signal: null });
    }

    const done = await store.list({ queue: 'team', limit: 1000 });
    expect(
      done.filter((i) => i.outcome !== 'succeeded').map((i) => `${i.id}: ${i.outcome} ${i.failure?.message ?? ''}`),
    ).toEqual([]);
    expect(done.flatMap(overlappingClaims)).toEqual([]);
    const jobs = await runner.list({ limit: 5000 });
    const perLaunch = new Map(items.map((item) => [item.launchId, 0]));
    for (const job of jobs) {
      const id = job.labels['vertex-launch-launch-id'];
      if (id !== undefined && perLaunch.has(id)) perLaunch.set(id, (perLaunch.get(id) ?? 0) + 1);
    }
    expect([...perLaunch.values()]).toEqual(Array(LAUNCHES).fill(1));
    const claimers = new Set(done.flatMap((i) => i.events.filter((e) => e.type === 'claimed').map((e) => e.agentId)));
    expect(claimers.size).toBeGreaterThanOrEqual(MACHINES);
    // The agents name their store without its password.
    const named = agents[0]!.logs.find((l) => l.queueDb !== undefined)!;
    expect(String(named.queueDb)).toContain(`${cluster.user}:***@127.0.0.1:${cluster.port}`);
    for (const agent of agents) expect(agent.output()).not.toContain(cluster.password);
  }, 240_000);
});
