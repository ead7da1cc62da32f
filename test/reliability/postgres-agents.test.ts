// Issue #19, part 4: agents on many machines share one PostgreSQL queue. Four "machines" — each a `vertex-launch agent`
// process (the built CLI) with its own HOME, whose ~/.config/vertex-launch/launch-config.yaml points `queue_db` at one
// PostgreSQL queue, and its own agent id (the CLI's `<host>:<pid>:<random>`), with the Vertex runner on the emulator —
// drain one queue while 320 launches are enqueued; agents are killed with SIGKILL at random moments (and restarted as
// the machine's next agent) and PostgreSQL itself is restarted once, mid-run, with an immediate (crash) shutdown.
// At the end: every item is final, every launch has exactly one CustomJob, none was lost, and no item was ever held
// by two agents at once — checked from the agents' own logs and from every item's history.
// VXL_TEST_SEED (test/seed.ts) repeats a run's choices (the seed is printed; timings still vary with the machine's load);
// VXL_PG_LAUNCHES sets the number of launches.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { QueueItem } from '@vertex-launch/core';
import { type PostgresQueueStore, postgresQueueStore } from '@vertex-launch/queue-postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PostgresCluster, startPostgresCluster } from '../../scripts/postgres-cluster.mjs';
import { type AgentChild, agentIdOf, agentStarted, spawnAgentChild } from '../agent-child.js';
import { childEnv } from '../helpers.js';
import { seededRandom, testSeed } from '../seed.js';
import {
  type AgentWorld,
  account,
  allItems,
  cliBin,
  clockQueueConfig,
  formatCounts,
  PREBUILT_IMAGE,
  requireBuiltCli,
  startWorld,
  waitFor,
} from './support/agent-harness.js';

const MACHINES = 4;
const LAUNCHES = Number(process.env.VXL_PG_LAUNCHES ?? 320);
const SEED = testSeed();
const QUEUE = 'team';

const random = seededRandom(SEED, 'postgres-agents');
const between = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One agent process of a machine; `id` is the agent id it logs with (known once it logged a line). */
interface Agent {
  machine: number;
  generation: number;
  process: AgentChild;
  id(): string | undefined;
}

let cluster: PostgresCluster;
let world: AgentWorld;
let store: PostgresQueueStore;
const agents: Agent[] = [];
const current: (Agent | undefined)[] = Array(MACHINES).fill(undefined);
const generations = Array(MACHINES).fill(0) as number[];
let homes: string[] = [];

/**
 * A machine's launch-config.yaml, at the default path under its HOME: the shared PostgreSQL queue (the machine named
 * in `application_name`), the emulator's project and region, fast polling, a 4 s lease (killed agents' items come
 * back soon) and an attempt budget above the default 5, since this test kills agents often.
 */
async function writeMachineConfig(machine: number): Promise<void> {
  const dir = join(homes[machine]!, '.config', 'vertex-launch');
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, 'launch-config.yaml'),
    [
      `queue_db: "${cluster.url}?application_name=machine-${machine}"`,
      `queues: [${QUEUE}]`,
      'max_jobs: 8',
      `environment: { project: ${world.emulator.projectId}, region: ${world.emulator.region} }`,
      'quotas: { creates_per_minute: 0, reads_per_minute: 0 }',
      'poll_interval: 0.1',
      'lease_duration: 4',
      'max_attempts: 50',
      // The emulator commits a create before it answers (no `late` faults here): a short lookup window settles an
      // item resumed at `submitting` (default 5 minutes, for servers that commit after the client's deadline).
      'create_lookup_window: 2',
      'create_lookup_interval: 0.2',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
}

function startAgent(machine: number): Agent {
  const generation = ++generations[machine]!;
  const child = spawnAgentChild([cliBin, 'agent', '--log-format', 'json', '--status-interval', '0'], {
    env: childEnv({
      ...world.emulator.env,
      HOME: homes[machine],
      XDG_CONFIG_HOME: undefined,
      VERTEX_LAUNCH_QUEUE_DB: undefined,
    }),
  });
  const agent: Agent = { machine, generation, process: child, id: () => agentIdOf(child) };
  agents.push(agent);
  current[machine] = agent;
  return agent;
}

const started = (agent: Agent) => agentStarted(agent.process);
const alive = (agent: Agent | undefined) => agent?.process.alive() === true;

beforeAll(async () => {
  requireBuiltCli();
  console.info(`[reliability] PostgreSQL agents: seed ${SEED} (VXL_TEST_SEED=${SEED} repeats this run)`);
  cluster = await startPostgresCluster();
  world = await startWorld({
    emulator: { jobTimings: { queuedMs: 20, pendingMs: 20, runningMs: 200, cancellingMs: 20 } },
  });
  homes = Array.from({ length: MACHINES }, (_, i) => join(world.dir, `machine-${i}`));
  store = postgresQueueStore({ connectionString: cluster.url });
  await store.createQueue({
    name: QUEUE,
    config: clockQueueConfig(),
    project: world.emulator.projectId,
    region: world.emulator.region,
  });
  for (let m = 0; m < MACHINES; m++) await writeMachineConfig(m);
  for (let m = 0; m < MACHINES; m++) startAgent(m);
  await waitFor('the agents started', () => agents.every(started), {
    timeoutMs: 60_000,
    detail: () => agents.map((a) => a.process.output().slice(-300)),
  });
}, 180_000);

afterAll(async () => {
  for (const agent of agents) if (alive(agent)) agent.process.child.kill('SIGKILL');
  await store?.close();
  await world?.close();
  await cluster?.close();
});

/** The agents' own record of their claims: (item, attempt) -> agent ids. */
function claimsFromLogs(): Map<string, string[]> {
  const claims = new Map<string, string[]>();
  for (const agent of agents) {
    for (const line of agent.process.logs) {
      if (typeof line.msg !== 'string' || !/^(claimed|resumed) item /.test(line.msg)) continue;
      const key = `${String(line.itemId)}#${String(line.attempt)}`;
      claims.set(key, [...(claims.get(key) ?? []), String(line.agentId ?? agent.id())]);
    }
  }
  return claims;
}

/** Claims in an item's history made while another agent's lease was still valid (none may exist). */
function overlappingClaims(item: QueueItem): string[] {
  const problems: string[] = [];
  let claims = 0;
  let released = true;
  for (const event of item.events) {
    if (event.type === 'lease_expired' || event.type === 'requeued') released = true;
    if (event.type === 'claimed') {
      claims += 1;
      if (!released) problems.push(`${item.id}: claim ${claims} by ${event.agentId} while the lease was held`);
      released = false;
    }
  }
  if (claims !== item.attempts) problems.push(`${item.id}: ${claims} claims in its history, attempts ${item.attempts}`);
  return problems;
}

describe('agents on four machines share one PostgreSQL queue', () => {
  it(`${MACHINES} machines drain ${LAUNCHES} launches enqueued while they run, through kill -9s and a PostgreSQL restart`, async () => {
    const t0 = Date.now();
    let produced = 0;
    let stopChaos = false;
    const kills: { agent: string; holding: number; phases: Record<string, number> }[] = [];
    let restart: { at: number; produced: number; ms: number } | undefined;

    const producer = (async () => {
      while (produced < LAUNCHES) {
        const burst = Math.min(LAUNCHES - produced, between(1, 10));
        for (let i = 0; i < burst; i++) {
          await store.enqueue(QUEUE, {
            image: PREBUILT_IMAGE,
            variables: { run_ms: String(between(50, 600)) },
            submitter: `producer-${produced % 3}`,
          });
          produced += 1;
        }
        if (restart === undefined && produced >= LAUNCHES * 0.4) {
          // An immediate shutdown is a crash: no checkpoint, every connection cut; recovery replays the WAL.
          const at = Date.now();
          await cluster.restart({ mode: 'immediate', downMs: 1500 });
          restart = { at: at - t0, produced, ms: Date.now() - at };
        }
        await sleep(between(20, 150));
      }
    })();

    const chaos = (async () => {
      while (!stopChaos) {
        await sleep(between(300, 1000));
        if (stopChaos) break;
        const machine = between(0, MACHINES - 1);
        const victim = current[machine];
        // Any moment counts, starting up included (one kill in five may hit an agent still starting); a machine whose
        // agent is down is left alone until it restarts.
        if (!alive(victim) || (!started(victim!) && random() < 0.8)) continue;
        victim!.process.child.kill('SIGKILL');
        await victim!.process.exited;
        const held = await store.list({ states: ['claimed'], limit: 1000 });
        const victimId = victim!.id();
        const mine = held.filter((item) => victimId !== undefined && item.agentId === victimId);
        const phases: Record<string, number> = {};
        for (const item of mine) phases[item.phase ?? 'claimed'] = (phases[item.phase ?? 'claimed'] ?? 0) + 1;
        kills.push({
          agent: victimId ?? `machine-${machine} agent ${victim!.generation}`,
          holding: mine.length,
          phases,
        });
        await sleep(between(50, 800));
        startAgent(machine);
      }
    })();

    await producer;
    const producedAt = Date.now() - t0;
    // Keep killing for a while after the last enqueue, then let the machines drain what is left.
    await sleep(3000);
    stopChaos = true;
    await chaos;
    const unfinished = async () => (await store.list({ states: ['queued', 'claimed'], limit: 1 })).length;
    await waitFor('every launch finished', async () => (await unfinished()) === 0, {
      timeoutMs: 180_000,
      intervalMs: 250,
      detail: async () => ({
        unfinished: (await store.list({ states: ['queued', 'claimed'], limit: 5 })).map((i) => [
          i.state,
          i.phase,
          i.agentId,
        ]),
        alive: current.map((a) => alive(a)),
        stderr: current.map((a) => a?.process.stderr().slice(-400)),
      }),
    });
    // An agent restarted late may still be loading: SIGTERM before its handler is installed kills it outright.
    await waitFor('the agents started', () => current.every((a) => a !== undefined && started(a)), {
      timeoutMs: 60_000,
    });
    const drainedAt = Date.now() - t0;
    const exits = await Promise.all(
      current.map(async (agent) => {
        const { code } = await agent!.process.stop('SIGTERM');
        if (code !== 0)
          console.error(
            `[reliability] an agent exited ${code} on SIGTERM; its stderr ends: ${agent!.process.stderr().slice(-2000)}`,
          );
        return code;
      }),
    );

    const items = await allItems(store);
    const result = await account(store, world.runner);
    const logClaims = claimsFromLogs();
    const doubleClaims = [...logClaims].filter(([, by]) => by.length > 1);
    const overlaps = items.flatMap(overlappingClaims);
    // Every claim an agent logged is the claim the store recorded for that attempt.
    const unrecorded = [...logClaims].filter(([key, [by]]) => {
      const [id, attempt] = key.split('#');
      const item = items.find((i) => i.id === id);
      const claim = item?.events.filter((e) => e.type === 'claimed')[Number(attempt) - 1];
      return claim?.agentId !== by;
    });
    const reclaimed = items.filter((item) => item.attempts > 1).length;
    const heldAtKills = kills.reduce((n, k) => n + k.holding, 0);
    const phasesAtKills: Record<string, number> = {};
    for (const k of kills)
      for (const [p, n] of Object.entries(k.phases)) phasesAtKills[p] = (phasesAtKills[p] ?? 0) + n;
    const claimLines = (agent: Agent) =>
      agent.process.logs.filter((l) => typeof l.msg === 'string' && /^(claimed|resumed) item /.test(l.msg)).length;
    const perMachine = Array.from({ length: MACHINES }, (_, m) =>
      agents.filter((a) => a.machine === m).reduce((n, a) => n + claimLines(a), 0),
    );
    // Each process is its own agent (its own id) and read the launch-config.yaml under its machine's HOME.
    const ids = agents.map((a) => a.id()).filter((id): id is string => id !== undefined);
    const configs = agents
      .filter((a) => a.id() !== undefined)
      .map((a) => [a.process.logs.find((l) => typeof l.config === 'string')?.config, a.machine] as const);
    console.info(
      `[reliability] ${MACHINES} machines on one PostgreSQL queue (seed ${SEED}): ${items.length} launches enqueued while they ran, ${result.jobs} jobs; ${kills.length} agents killed with SIGKILL (${kills.filter((k) => k.holding > 0).length} of them holding launches: ${heldAtKills} in all, ${formatCounts(phasesAtKills)}), ${agents.length} agent processes in all (${new Set(ids).size} agent ids); PostgreSQL restarted once (immediate shutdown after ${restart?.produced} launches, back in ${restart?.ms} ms); ${reclaimed} launches resumed by another agent; ${doubleClaims.length + overlaps.length} double claims, ${result.duplicates.length} duplicate jobs, ${result.lost.length} lost, ${result.unfinished.length} unfinished, ${unrecorded.length} claims the store did not record; outcomes: ${formatCounts(result.outcomes)}; claims per machine ${perMachine.join('/')}; all enqueued after ${(producedAt / 1000).toFixed(1)} s, all final after ${(drainedAt / 1000).toFixed(1)} s, ${((Date.now() - t0) / 1000).toFixed(1)} s in all`,
    );

    expect(restart).toBeDefined();
    expect(kills.length).toBeGreaterThanOrEqual(3);
    expect(heldAtKills).toBeGreaterThan(0);
    expect(items).toHaveLength(LAUNCHES);
    expect(result).toMatchObject({ unfinished: [], duplicates: [], lost: [], strays: [] });
    expect(result.outcomes).toEqual({ succeeded: LAUNCHES });
    expect(result.jobs).toBe(LAUNCHES);
    expect(doubleClaims).toEqual([]);
    expect(overlaps).toEqual([]);
    expect(unrecorded).toEqual([]);
    expect(reclaimed).toBeGreaterThan(0);
    for (const n of perMachine) expect(n).toBeGreaterThan(0);
    expect(exits).toEqual(Array(MACHINES).fill(0));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBeGreaterThanOrEqual(agents.length - kills.length);
    for (const [config, machine] of configs) {
      expect(config).toBe(join(homes[machine]!, '.config', 'vertex-launch', 'launch-config.yaml'));
    }
  });
});
