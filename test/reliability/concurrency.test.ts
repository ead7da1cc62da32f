// Issue #11, part 4: three `vertex-launch agent` processes on one SQLite queue database while a producer keeps
// enqueueing (from this process and from the CLI), then a queue deleted while its items run. Nothing is claimed
// twice, nothing is lost, every launch has one job, and deleting a busy queue is refused with a clear error unless
// forced — when forced, its items fail with a message saying why, and the agents keep draining the other queues.
import { QUEUE_LABEL, type QueueItem } from '@vertex-launch/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AgentProcess,
  type AgentWorld,
  account,
  allItems,
  clockQueueConfig,
  formatCounts,
  PREBUILT_IMAGE,
  runCliOn,
  startAgentProcess,
  startWorld,
  waitFor,
} from './support/agent-harness.js';

const AGENTS = 3;
const PRODUCED = 150;
const CLI_ENQUEUES = 3;

let world: AgentWorld;
const agents: AgentProcess[] = [];

beforeAll(async () => {
  world = await startWorld({
    emulator: { jobTimings: { queuedMs: 20, pendingMs: 20, runningMs: 100, cancellingMs: 20 } },
  });
  for (const name of ['alpha', 'beta', 'doomed']) {
    await world.store.createQueue({
      name,
      config: clockQueueConfig(),
      project: world.emulator.projectId,
      region: world.emulator.region,
    });
  }
  for (let i = 0; i < AGENTS; i++) {
    agents.push(await startAgentProcess(world, `agent-${i}`, ['queues: [alpha, beta, doomed]', 'max_jobs: 20']));
  }
  // Produce only once every agent is draining, so enqueueing and claiming really overlap.
  await waitFor(
    'the agents started',
    () => agents.every((a) => a.logs.some((l) => typeof l.msg === 'string' && / started: /.test(l.msg))),
    { timeoutMs: 60_000, detail: () => agents.map((a) => a.stderr().slice(-300)) },
  );
});
afterAll(async () => {
  for (const agent of agents) if (agent.child.exitCode === null) agent.child.kill('SIGKILL');
  await world?.close();
});

/** Item id -> the agents whose log says they claimed it. */
function claimsByItem(): Map<string, string[]> {
  const claims = new Map<string, string[]>();
  agents.forEach((agent, index) => {
    for (const line of agent.logs) {
      if (
        typeof line.msg === 'string' &&
        /^(claimed|resumed) item /.test(line.msg) &&
        typeof line.itemId === 'string'
      ) {
        claims.set(line.itemId, [...(claims.get(line.itemId) ?? []), `agent-${index}`]);
      }
    }
  });
  return claims;
}

const unfinished = async () => (await world.store.list({ states: ['queued', 'claimed'], limit: 1 })).length;
const alive = () => agents.filter((a) => a.child.exitCode === null && a.child.signalCode === null).length;

describe('several agents on one queue database', () => {
  it(`${AGENTS} agent processes drain ${PRODUCED + CLI_ENQUEUES} launches enqueued while they run: no double claim, none lost`, async () => {
    const { store, runner } = world;
    const started = Date.now();
    // The producer: two queues, a launch every few ms, from this process and from three CLI processes.
    const produced: QueueItem[] = [];
    const cli = Array.from({ length: CLI_ENQUEUES }, (_, i) =>
      runCliOn(world, ['launch', '--queue', i % 2 ? 'beta' : 'alpha', '--image', PREBUILT_IMAGE, '--json']),
    );
    for (let i = 0; i < PRODUCED; i++) {
      produced.push(await store.enqueue(i % 3 === 0 ? 'beta' : 'alpha', { image: PREBUILT_IMAGE }));
      if (i % 5 === 4) await new Promise((resolve) => setTimeout(resolve, 60));
    }
    const cliResults = await Promise.all(cli);
    for (const r of cliResults) expect(r, r.stderr).toMatchObject({ code: 0 });
    const drainedWhileProducing =
      PRODUCED + CLI_ENQUEUES - (await store.list({ states: ['queued'], limit: 1000 })).length;
    await waitFor('every launch finished', async () => (await unfinished()) === 0, {
      timeoutMs: 90_000,
      intervalMs: 200,
      detail: async () => ({ unfinished: await unfinished(), alive: alive() }),
    });

    const items = (await allItems(store)).filter((item) => item.queue !== 'doomed');
    const result = await account(store, runner);
    const claims = claimsByItem();
    const doubleClaims = [...claims].filter(([, by]) => by.length > 1);
    const perAgent = agents.map((_, i) => [...claims.values()].filter((by) => by.includes(`agent-${i}`)).length);
    const storeClaims = items.map((item) => item.events.filter((e) => e.type === 'claimed').length);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.info(
      `[reliability] ${AGENTS} agents on one SQLite file, producer enqueueing while they drain: ${items.length} launches (${drainedWhileProducing} claimed before the producer stopped), ${result.jobs} jobs, ${doubleClaims.length} double claims, ${result.duplicates.length} duplicate jobs, ${result.lost.length} lost, outcomes: ${formatCounts(result.outcomes)}; claims per agent ${perAgent.join('/')}; ${seconds} s`,
    );

    expect(items).toHaveLength(PRODUCED + CLI_ENQUEUES);
    expect(result).toMatchObject({ unfinished: [], duplicates: [], lost: [], strays: [] });
    expect(result.outcomes).toEqual({ succeeded: PRODUCED + CLI_ENQUEUES });
    expect(doubleClaims).toEqual([]);
    // Every item was claimed once, by one agent, according to the store and to the agents' own logs.
    expect(new Set(storeClaims)).toEqual(new Set([1]));
    expect([...claims.keys()].sort()).toEqual(items.map((item) => item.id).sort());
    for (const item of items) expect(claims.get(item.id)).toEqual([expect.stringMatching(/^agent-/)]);
    // The work was shared, and each job ran under its item's queue.
    for (const n of perAgent) expect(n).toBeGreaterThan(0);
    const jobs = await runner.list({ all: true, limit: 10_000 });
    const queueOf = new Map(jobs.map((job) => [job.name, job.labels[QUEUE_LABEL]]));
    for (const item of items) expect(queueOf.get(item.jobName!)).toBe(item.queue);
    expect(alive()).toBe(AGENTS);
  });

  it('a queue deleted while its items run: refused without --force; with it, its items fail clearly and the agents go on', async () => {
    const { store, runner, emulator } = world;
    const started = Date.now();
    // Four launches whose jobs run for a minute, so they are running when the queue goes away.
    const doomed: QueueItem[] = [];
    for (let i = 0; i < 4; i++)
      doomed.push(await store.enqueue('doomed', { image: PREBUILT_IMAGE, variables: { run_ms: '60000' } }));
    await waitFor('the doomed launches running', async () => {
      const now = await Promise.all(doomed.map((item) => store.get(item.id)));
      return now.every((item) => item?.status === 'running');
    });

    const refused = await runCliOn(world, ['queue', 'delete', 'doomed']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('Queue `doomed` has 4 unfinished items (queued or running)');
    expect(refused.stderr).toContain('--force');
    expect(await store.getQueue('doomed')).toBeDefined();

    const forced = await runCliOn(world, ['queue', 'delete', 'doomed', '--force']);
    expect(forced, forced.stderr).toMatchObject({ code: 0 });
    expect(forced.stdout).toContain('Deleted queue doomed');
    expect(forced.stderr).toContain('4 unfinished items marked failed');
    expect(await store.getQueue('doomed')).toBeUndefined();

    // The agents keep draining the other queues.
    const after: QueueItem[] = [];
    for (let i = 0; i < 30; i++) after.push(await store.enqueue(i % 2 ? 'beta' : 'alpha', { image: PREBUILT_IMAGE }));
    await waitFor('the launches enqueued after the deletion finished', async () => (await unfinished()) === 0, {
      timeoutMs: 60_000,
      intervalMs: 200,
      detail: async () => ({
        unfinished: await unfinished(),
        alive: alive(),
        logs: agents.map((a) => a.logs.slice(-3)),
      }),
    });
    const afterItems = await Promise.all(after.map((item) => store.get(item.id)));
    expect(afterItems.map((item) => item?.outcome)).toEqual(Array(30).fill('succeeded'));

    // The deleted queue's items failed, each saying why and naming the job left running.
    const failed = await Promise.all(doomed.map((item) => store.get(item.id)));
    for (const item of failed) {
      expect(item).toMatchObject({ state: 'finished', outcome: 'failed', failure: { phase: 'agent' } });
      expect(item!.failure!.message).toBe(
        `queue \`doomed\` was deleted while this launch was claimed; job ${item!.jobName} was not cancelled — cancel it in the console if needed`,
      );
      expect((await runner.get(item!.jobName!)).state).toBe('JOB_STATE_RUNNING');
    }
    // Every agent that drained it says so, once, and none crashed.
    const notices = agents.map(
      (agent) =>
        agent.logs.filter((l) => typeof l.msg === 'string' && l.msg.includes('queue `doomed` was deleted')).length,
    );
    expect(alive()).toBe(AGENTS);
    for (const n of notices) expect(n).toBe(1);
    const result = await account(store, runner);
    expect(result).toMatchObject({ unfinished: [], duplicates: [], strays: [] });
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.info(
      `[reliability] queue deleted while 4 of its launches ran: plain delete refused (exit ${refused.code}), --force failed the 4 items (jobs left running, as the message says), ${afterItems.length} launches enqueued afterwards on the other queues all succeeded, agents alive ${alive()}/${AGENTS}, deletion notices per agent ${notices.join('/')}, outcomes overall: ${formatCounts(result.outcomes)}; ${seconds} s`,
    );
    // Stop the agents now: SIGTERM is a clean exit.
    const exits = await Promise.all(agents.map((agent) => agent.stop()));
    expect(exits.map((e) => e.code)).toEqual(Array(AGENTS).fill(0));
    void emulator;
  });
});
