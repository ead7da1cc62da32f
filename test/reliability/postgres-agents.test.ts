// Issue #19, part 4: agents on many machines share one PostgreSQL queue. Four "machines" — each a process with its own
// HOME and agent id running core's createAgent() on the PostgreSQL store, with the Vertex runner on the emulator (see
// support/pg-agent.mjs: the CLI agent's code with an attempt budget for frequent kills; the CLI itself on PostgreSQL is
// packages/cli/test/agent-postgres.test.ts) — drain one
// queue while 320 launches are enqueued; agents are killed with SIGKILL at random moments (and restarted as the
// machine's next agent) and PostgreSQL itself is restarted once, mid-run, with an immediate (crash) shutdown.
// At the end: every item is final, every launch has exactly one CustomJob, none was lost, and no item was ever held
// by two agents at once — checked from the agents' own logs and from every item's history.
// VXL_TEST_SEED (test/seed.ts) repeats a run's choices (the seed is printed; timings still vary with the machine's load);
// VXL_PG_LAUNCHES sets the number of launches.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { QueueItem } from '@vertex-launch/core';
import { type PostgresQueueStore, postgresQueueStore } from '@vertex-launch/queue-postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PostgresCluster, startPostgresCluster } from '../../scripts/postgres-cluster.mjs';
import { childEnv, repoRoot } from '../helpers.js';
import { seededRandom, testSeed } from '../seed.js';
import {
  type AgentWorld,
  account,
  allItems,
  clockQueueConfig,
  formatCounts,
  PREBUILT_IMAGE,
  startWorld,
  waitFor,
} from './support/agent-harness.js';

const MACHINES = 4;
const LAUNCHES = Number(process.env.VXL_PG_LAUNCHES ?? 320);
const SEED = testSeed();
const QUEUE = 'team';
const script = join(repoRoot, 'test', 'reliability', 'support', 'pg-agent.mjs');
const built = ['core', 'auth', 'vertex', 'queue-postgres'].map((p) =>
  join(repoRoot, 'packages', p, 'dist', 'index.js'),
);

const random = seededRandom(SEED, 'postgres-agents');
const between = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type LogLine = Record<string, unknown> & { msg?: string };

/** One agent process of a machine. */
interface Agent {
  id: string;
  machine: number;
  child: ChildProcess;
  logs: LogLine[];
  stderr: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

let cluster: PostgresCluster;
let world: AgentWorld;
let store: PostgresQueueStore;
const agents: Agent[] = [];
const current: (Agent | undefined)[] = Array(MACHINES).fill(undefined);
const generations = Array(MACHINES).fill(0) as number[];
let homes: string[] = [];

function startAgent(machine: number): Agent {
  const id = `machine-${machine}:agent-${++generations[machine]!}`;
  const child = spawn(process.execPath, [script, id, QUEUE], {
    env: childEnv({
      ...world.emulator.env,
      HOME: homes[machine],
      VXL_PG_URL: cluster.url,
      VXL_PROJECT: world.emulator.projectId,
      VXL_REGION: world.emulator.region,
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const agent: Agent = {
    id,
    machine,
    child,
    logs: [],
    stderr: '',
    exited: new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal }))),
  };
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    agent.stderr += d;
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      agent.logs.push(JSON.parse(line) as LogLine);
    } catch {
      agent.logs.push({ msg: line, unparsed: true });
    }
  });
  agents.push(agent);
  current[machine] = agent;
  return agent;
}

const started = (agent: Agent) => agent.logs.some((l) => typeof l.msg === 'string' && / started: /.test(l.msg));
const alive = (agent: Agent | undefined) =>
  agent !== undefined && agent.child.exitCode === null && agent.child.signalCode === null;

beforeAll(async () => {
  for (const file of built) {
    if (!existsSync(file)) throw new Error(`${file} is missing: run \`pnpm build\` first (\`pnpm test\` does).`);
  }
  console.info(`[reliability] PostgreSQL agents: seed ${SEED} (VXL_TEST_SEED=${SEED} repeats this run)`);
  cluster = await startPostgresCluster();
  world = await startWorld({
    emulator: { jobTimings: { queuedMs: 20, pendingMs: 20, runningMs: 200, cancellingMs: 20 } },
  });
  homes = Array.from({ length: MACHINES }, (_, i) => join(world.dir, `machine-${i}`));
  for (const home of homes) await mkdir(home, { recursive: true });
  store = postgresQueueStore({ connectionString: cluster.url });
  await store.createQueue({
    name: QUEUE,
    config: clockQueueConfig(),
    project: world.emulator.projectId,
    region: world.emulator.region,
  });
  for (let m = 0; m < MACHINES; m++) startAgent(m);
  await waitFor('the agents started', () => agents.every(started), {
    timeoutMs: 60_000,
    detail: () => agents.map((a) => a.stderr.slice(-300)),
  });
}, 180_000);

afterAll(async () => {
  for (const agent of agents) if (alive(agent)) agent.child.kill('SIGKILL');
  await store?.close();
  await world?.close();
  await cluster?.close();
});

/** The agents' own record of their claims: (item, attempt) -> agent ids. */
function claimsFromLogs(): Map<string, string[]> {
  const claims = new Map<string, string[]>();
  for (const agent of agents) {
    for (const line of agent.logs) {
      if (typeof line.msg !== 'string' || !/^(claimed|resumed) item /.test(line.msg)) continue;
      const key = `${String(line.itemId)}#${String(line.attempt)}`;
      claims.set(key, [...(claims.get(key) ?? []), agent.id]);
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
        victim!.child.kill('SIGKILL');
        await victim!.exited;
        const held = await store.list({ states: ['claimed'], limit: 1000 });
        const mine = held.filter((item) => item.agentId === victim!.id);
        const phases: Record<string, number> = {};
        for (const item of mine) phases[item.phase ?? 'claimed'] = (phases[item.phase ?? 'claimed'] ?? 0) + 1;
        kills.push({ agent: victim!.id, holding: mine.length, phases });
        await sleep(between(50, 800));
        startAgent(machine);
      }
    })();

    await producer;
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
        stderr: current.map((a) => a?.stderr.slice(-400)),
      }),
    });
    // An agent restarted late may still be loading: SIGTERM before its handler is installed kills it outright.
    await waitFor('the agents started', () => current.every((a) => a !== undefined && started(a)), {
      timeoutMs: 60_000,
    });
    const exits = await Promise.all(
      current.map(async (agent) => {
        agent!.child.kill('SIGTERM');
        const { code } = await agent!.exited;
        if (code !== 0)
          console.error(
            `[reliability] an agent exited ${code} on SIGTERM; its stderr ends: ${agent!.stderr.slice(-2000)}`,
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
    const perMachine = Array.from(
      { length: MACHINES },
      (_, m) => [...logClaims.values()].filter((by) => by.some((id) => id.startsWith(`machine-${m}:`))).length,
    );
    console.info(
      `[reliability] ${MACHINES} machines on one PostgreSQL queue (seed ${SEED}): ${items.length} launches enqueued while they ran, ${result.jobs} jobs; ${kills.length} agents killed with SIGKILL (${kills.filter((k) => k.holding > 0).length} of them holding launches: ${heldAtKills} in all, ${formatCounts(phasesAtKills)}), ${agents.length} agent processes in all; PostgreSQL restarted once (immediate shutdown after ${restart?.produced} launches, back in ${restart?.ms} ms); ${reclaimed} launches resumed by another agent; ${doubleClaims.length + overlaps.length} double claims, ${result.duplicates.length} duplicate jobs, ${result.lost.length} lost, ${result.unfinished.length} unfinished, ${unrecorded.length} claims the store did not record; outcomes: ${formatCounts(result.outcomes)}; claims per machine ${perMachine.join('/')}; ${((Date.now() - t0) / 1000).toFixed(1)} s`,
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
  });
});
