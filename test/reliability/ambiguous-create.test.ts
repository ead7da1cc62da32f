// Issues #24 (item 1) and #25 (item 1): a create whose answer is lost — the server commits it AFTER the client's
// deadline (the emulator's `phase: 'late'` faults) — while ListCustomJobs fails too. Through the runner (SDK), the
// CLI's `launch` and the agent, every launch must end with exactly one CustomJob: never a second create for one
// launch id without proving the first absent, never a job nobody reports (an orphan). A launch whose lookups never
// answer is "submit unknown" / "may exist: <filter>", never failed. And the agent's tracker cancels a duplicate.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type JobSnapshot,
  LAUNCH_ID_LABEL,
  planLaunch,
  type SubmitResult,
  SubmitUnknownError,
  type SubmitUnknownEvent,
} from '@vertex-launch/core';
import { type AgentLogger, createAgent } from '@vertex-launch/core/agent';
import { vertexRunner } from '@vertex-launch/vertex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../seed.js';
import {
  type AgentWorld,
  account,
  allItems,
  clockQueueConfig,
  formatCounts,
  PREBUILT_IMAGE,
  runCliOn,
  startWorld,
  waitFor,
} from './support/agent-harness.js';

/** The lookup window of these runners: longer than the longest late commit injected (1.2 s). */
const WINDOW_MS = 3_000;
const SDK_LAUNCHES = 60;
const SDK_DARK_LAUNCHES = 5;
/** Each CLI process loads the Google clients (seconds on a loaded 2-core machine): fewer, two at a time. */
const CLI_LAUNCHES = 6;
const AGENT_LAUNCHES = 50;

let world: AgentWorld;
/** Every launch id reported by a run: with its job, or as "may exist" (with the filter that finds it). */
const reported = new Map<string, { jobName?: string; mayExist?: string }>();
const summary: string[] = [];

beforeAll(async () => {
  world = await startWorld({
    runner: { retry: { initialDelayMs: 50, maxDelayMs: 500 }, createLookup: { windowMs: WINDOW_MS, intervalMs: 100 } },
  });
});
afterAll(async () => {
  await world?.close();
});

/** Creates committed 0.4 s and 1.2 s after their DEADLINE_EXCEEDED, creates lost outright, and failing lists. */
function injectAmbiguity(): void {
  const { faults } = world.emulator;
  faults.inject('aiplatform.customJobs.create', {
    code: 'DEADLINE_EXCEEDED',
    phase: 'late',
    commitDelayMs: 400,
    rate: 0.2,
  });
  faults.inject('aiplatform.customJobs.create', {
    code: 'DEADLINE_EXCEEDED',
    phase: 'late',
    commitDelayMs: 1_200,
    rate: 0.15,
  });
  faults.inject('aiplatform.customJobs.create', { code: 'DEADLINE_EXCEEDED', rate: 0.08 });
  faults.inject('aiplatform.customJobs.create', { code: 'DEADLINE_EXCEEDED', phase: 'after', rate: 0.05 });
  faults.inject('aiplatform.customJobs.list', { code: 'UNAVAILABLE', rate: 0.3 });
}

/** Jobs per launch id, of the given launch ids. */
async function jobsByLaunch(launchIds: Iterable<string>): Promise<Map<string, JobSnapshot[]>> {
  const jobs = await world.runner.list({ all: true, limit: 100_000 });
  const wanted = new Set(launchIds);
  const out = new Map<string, JobSnapshot[]>();
  for (const id of wanted) out.set(id, []);
  for (const job of jobs) {
    const id = job.labels[LAUNCH_ID_LABEL] ?? '';
    if (wanted.has(id)) out.get(id)?.push(job);
  }
  return out;
}

function requestFor(launchId: string, runId: string, variables: Record<string, string> = {}) {
  return planLaunch({
    config: clockQueueConfig(),
    variables,
    projectId: world.emulator.projectId,
    region: world.emulator.region,
    image: PREBUILT_IMAGE,
    runId,
    launchId,
  }).request;
}

/** Waits out the longest late commit, so every job that will appear has appeared. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 1_500));

describe('ambiguous creates (committed after the deadline, lists failing)', () => {
  it(`${SDK_LAUNCHES} runner submits: one job each; with lists down, "may exist" with the filter, never a second job`, async () => {
    const { emulator, runner } = world;
    injectAmbiguity();
    const unknown: SubmitUnknownEvent[] = [];
    const ids = Array.from({ length: SDK_LAUNCHES }, (_, i) => `sdk-${world.seed}-${i}`);
    // A launch whose lookups all failed until the window ended is "may exist" (a SubmitUnknownError): counted, and
    // its job must be the one a lookup finds later — never a second one.
    const outcomes = await Promise.all(
      ids.map((id, i) =>
        runner
          .submit(requestFor(id, `sdk${i}`), { launchId: id, onUnknown: (e) => void unknown.push(e) })
          .catch((error: unknown) => {
            if (error instanceof SubmitUnknownError) return error;
            throw error;
          }),
      ),
    );
    const injected = emulator.faults.injected();
    emulator.faults.clear();
    const results = outcomes.filter((r): r is SubmitResult => !(r instanceof SubmitUnknownError));
    for (const [i, r] of outcomes.entries()) {
      reported.set(ids[i] as string, r instanceof SubmitUnknownError ? { mayExist: r.filter } : { jobName: r.jobName });
    }
    await settle();
    const byLaunch = await jobsByLaunch(ids);
    const duplicates = [...byLaunch.values()].filter((jobs) => jobs.length > 1).length;
    const orphans = [...byLaunch].filter(
      ([id, jobs]) => !reported.get(id)?.mayExist && jobs.some((j) => j.name !== reported.get(id)?.jobName),
    );

    // Lists down for the whole window: every launch is "may exist", none is created twice, each job is findable.
    const dark = vertexRunner({
      credentials: world.credentials,
      projectId: emulator.projectId,
      region: emulator.region,
      env: emulator.env,
      quotas: { createsPerMinute: 0, readsPerMinute: 0 },
      retry: { maxAttempts: 3, initialDelayMs: 50, maxDelayMs: 200 },
      createLookup: { windowMs: 1_000, intervalMs: 100 },
      random: seededRandom(world.seed, 'ambiguous dark runner'),
    });
    emulator.faults.inject('aiplatform.customJobs.create', {
      code: 'DEADLINE_EXCEEDED',
      phase: 'late',
      commitDelayMs: 300,
    });
    emulator.faults.inject('aiplatform.customJobs.list', { code: 'UNAVAILABLE' });
    const darkIds = Array.from({ length: SDK_DARK_LAUNCHES }, (_, i) => `sdk-dark-${world.seed}-${i}`);
    const errors = await Promise.all(
      darkIds.map((id, i) => dark.submit(requestFor(id, `dark${i}`), { launchId: id }).catch((e: unknown) => e)),
    );
    emulator.faults.clear();
    await dark.close();
    for (const [i, e] of errors.entries()) {
      expect(e).toBeInstanceOf(SubmitUnknownError);
      reported.set(darkIds[i] as string, { mayExist: (e as SubmitUnknownError).filter });
    }
    await settle();
    const darkJobs = await jobsByLaunch(darkIds);
    const found = await Promise.all(darkIds.map((id) => runner.findByLaunchId(id)));

    const line = `runner: ${SDK_LAUNCHES} launches, ${unknown.length} submit unknown, ${results.filter((r) => r.existing).length} found by launch id, ${outcomes.length - results.length} "may exist", ${duplicates} duplicates, ${orphans.length} orphans; lists down: ${SDK_DARK_LAUNCHES} launches, ${errors.length} "may exist", ${[...darkJobs.values()].filter((j) => j.length > 1).length} duplicates; faults: ${formatCounts(injected)}`;
    summary.push(line);
    console.info(`[reliability] ambiguous creates, ${line}; seed ${world.seed}`);
    expect(duplicates).toBe(0);
    expect(orphans).toEqual([]);
    for (const [id, jobs] of byLaunch) {
      if (reported.get(id)?.mayExist) expect(jobs.length).toBeLessThanOrEqual(1);
      else expect(jobs).toHaveLength(1);
    }
    expect(injected['aiplatform.customJobs.create DEADLINE_EXCEEDED late-commit']).toBeGreaterThan(0);
    expect(injected['aiplatform.customJobs.list UNAVAILABLE']).toBeGreaterThan(0);
    expect(unknown.length).toBeGreaterThan(0);
    for (const [i, id] of darkIds.entries()) {
      expect(darkJobs.get(id)).toHaveLength(1);
      expect(found[i]?.name).toBe(darkJobs.get(id)?.[0]?.name);
      expect((errors[i] as SubmitUnknownError).hint).toContain(`--filter='labels.${LAUNCH_ID_LABEL}=${id}'`);
    }
  });

  it(`${CLI_LAUNCHES} CLI launches: one job each; with lists down, exit 5 "may exist" naming the filter`, async () => {
    const { emulator } = world;
    const config = join(world.dir, 'queue.yaml');
    await writeFile(config, JSON.stringify(clockQueueConfig()));
    // A CLI launch checks its image in Artifact Registry before it submits.
    await emulator.seedImage(PREBUILT_IMAGE);
    const args = ['launch', '--queue-config', config, '--image', PREBUILT_IMAGE, '--json'];
    injectAmbiguity();
    const runs: Awaited<ReturnType<typeof runCliOn>>[] = [];
    for (let i = 0; i < CLI_LAUNCHES; i += 2) {
      const batch = Array.from({ length: Math.min(2, CLI_LAUNCHES - i) }, () =>
        runCliOn(world, [...args, '--create-lookup-window', String(WINDOW_MS / 1000)], { timeoutMs: 120_000 }),
      );
      runs.push(...(await Promise.all(batch)));
    }
    const injected = emulator.faults.injected();
    emulator.faults.clear();
    // Exit 0 with the job, or exit 5 "may exist" naming the launch id's filter (its lookups never answered in time).
    const launched: { launchId: string; jobName: string; existing: boolean }[] = [];
    const cliMayExist: string[] = [];
    for (const r of runs) {
      expect([0, 5], `${r.stdout}\n${r.stderr}`).toContain(r.code);
      if (r.code === 0) launched.push(JSON.parse(r.stdout));
      else {
        const id = mayExistOf(r.stdout);
        cliMayExist.push(id);
        reported.set(id, { mayExist: `labels.${LAUNCH_ID_LABEL}="${id}"` });
      }
    }
    for (const l of launched) reported.set(l.launchId, { jobName: l.jobName });

    emulator.faults.inject('aiplatform.customJobs.create', {
      code: 'DEADLINE_EXCEEDED',
      phase: 'late',
      commitDelayMs: 300,
    });
    emulator.faults.inject('aiplatform.customJobs.list', { code: 'UNAVAILABLE' });
    const dark = await runCliOn(world, [...args, '--create-lookup-window', '1'], { timeoutMs: 120_000 });
    emulator.faults.clear();
    expect(dark.code, dark.stderr).toBe(5);
    expect(dark.stderr).not.toContain('could not submit');
    const darkId = mayExistOf(dark.stdout);
    reported.set(darkId, { mayExist: `labels.${LAUNCH_ID_LABEL}="${darkId}"` });
    await settle();

    const byLaunch = await jobsByLaunch([...launched.map((l) => l.launchId), ...cliMayExist, darkId]);
    const duplicates = [...byLaunch.values()].filter((jobs) => jobs.length > 1).length;
    const orphans = launched.filter((l) => byLaunch.get(l.launchId)?.[0]?.name !== l.jobName);
    const line = `CLI launch: ${CLI_LAUNCHES} launches, ${launched.filter((l) => l.existing).length} found by launch id, ${cliMayExist.length} exit 5 "may exist", ${duplicates} duplicates, ${orphans.length} orphans; lists down: exit ${dark.code} "may exist", ${byLaunch.get(darkId)?.length} job; faults: ${formatCounts(injected)}`;
    summary.push(line);
    console.info(`[reliability] ambiguous creates, ${line}; seed ${world.seed}`);
    expect(duplicates).toBe(0);
    expect(orphans).toEqual([]);
    // Reported with its job: exactly that one. "May exist": at most one (its create may never have committed).
    for (const l of launched) expect(byLaunch.get(l.launchId)).toHaveLength(1);
    for (const id of [...cliMayExist, darkId]) expect(byLaunch.get(id)?.length).toBeLessThanOrEqual(1);
  }, 300_000);

  it(`${AGENT_LAUNCHES} agent launches (and a list outage longer than the window): all succeed, one job each`, async () => {
    const { emulator, store, runner } = world;
    await store.createQueue({
      name: 'ambiguous',
      config: clockQueueConfig(),
      project: emulator.projectId,
      region: emulator.region,
    });
    const warnings: string[] = [];
    const logger: AgentLogger = {
      debug() {},
      info() {},
      warn: (_fields, message) => warnings.push(message),
      error: (_fields, message) => warnings.push(`error: ${message}`),
    };
    injectAmbiguity();
    const agent = createAgent({
      store,
      runner,
      queues: ['ambiguous'],
      maxJobs: 50,
      pollIntervalMs: 50,
      leaseMs: 15_000,
      statusIntervalMs: 0,
      logger,
    });
    const running = agent.start();
    for (let i = 0; i < AGENT_LAUNCHES - 10; i++) await store.enqueue('ambiguous', { image: PREBUILT_IMAGE });
    // Lists down for longer than the window while 10 more launches are created late: "submit unknown", then
    // "may exist", then settled once the API answers again.
    emulator.faults.clear('aiplatform.customJobs.list');
    emulator.faults.inject('aiplatform.customJobs.list', { code: 'UNAVAILABLE' });
    emulator.faults.inject('aiplatform.customJobs.create', {
      code: 'DEADLINE_EXCEEDED',
      phase: 'late',
      commitDelayMs: 500,
      times: 10,
    });
    for (let i = 0; i < 10; i++) await store.enqueue('ambiguous', { image: PREBUILT_IMAGE });
    await waitFor('a launch reported as "may exist"', () => warnings.some((w) => w.startsWith('may exist')), {
      timeoutMs: 30_000,
    });
    const items = await allItems(store);
    const failedDuringOutage = items.filter((i) => i.outcome === 'failed').length;
    const unknownDuringOutage = items.filter((i) => i.phase === 'submitting' && i.status === 'unknown').length;
    const injected = emulator.faults.injected();
    emulator.faults.clear();
    await waitFor(
      `all ${AGENT_LAUNCHES} items finished`,
      async () => (await store.list({ queue: 'ambiguous', states: ['queued', 'claimed'], limit: 1 })).length === 0,
      { timeoutMs: 90_000, intervalMs: 200, detail: () => warnings.slice(-5) },
    );
    await agent.stop();
    await running;
    await settle();
    const result = await account(store, runner);
    const done = await allItems(store);
    for (const item of done) reported.set(item.launchId, { jobName: item.jobName as string });
    const mayExist = done.filter((i) => i.events.some((e) => e.message.includes('may exist'))).length;
    const submitUnknown = done.filter((i) => i.events.some((e) => e.message.includes('submit unknown'))).length;
    const line = `agent: ${result.items} launches, ${submitUnknown} went "submit unknown", ${mayExist} "may exist" (lists down past the window; ${unknownDuringOutage} shown as submit unknown, ${failedDuringOutage} failed meanwhile), ${result.jobs - (await jobsOutside(done)).length} jobs, ${result.duplicates.length} duplicates, ${result.lost.length} lost, outcomes: ${formatCounts(result.outcomes)}; faults: ${formatCounts(injected)}`;
    summary.push(line);
    console.info(`[reliability] ambiguous creates, ${line}; seed ${world.seed}`);
    expect(failedDuringOutage).toBe(0);
    expect(unknownDuringOutage).toBeGreaterThan(0);
    expect(mayExist).toBeGreaterThan(0);
    expect(result).toMatchObject({ items: AGENT_LAUNCHES, finished: AGENT_LAUNCHES, duplicates: [], lost: [] });
    expect(result.outcomes).toEqual({ succeeded: AGENT_LAUNCHES });
  });

  it("the agent's tracker cancels a second live job of one launch id and says so", async () => {
    const { emulator, store, runner } = world;
    await store.createQueue({
      name: 'dedupe',
      config: clockQueueConfig(),
      project: emulator.projectId,
      region: emulator.region,
    });
    const logs: { fields: Record<string, unknown>; message: string }[] = [];
    const logger: AgentLogger = {
      debug() {},
      info() {},
      warn: (fields, message) => logs.push({ fields, message }),
      error: (fields, message) => logs.push({ fields, message }),
    };
    const agent = createAgent({
      store,
      runner,
      queues: ['dedupe'],
      pollIntervalMs: 50,
      leaseMs: 15_000,
      statusIntervalMs: 0,
      logger,
    });
    const running = agent.start();
    const item = await store.enqueue('dedupe', { image: PREBUILT_IMAGE, variables: { run_ms: '4000' } });
    await waitFor('the item submitted', async () => (await store.get(item.id))?.jobName !== undefined);
    const original = (await store.get(item.id))?.jobName as string;
    // Someone else (or a bug) creates a second job with the same launch id: a plain create, no lookup.
    const second = await runner.submit(requestFor(item.launchId, item.runId, { run_ms: '4000' }), {
      launchId: item.launchId,
    });
    await waitFor(
      'the duplicate cancelled',
      async () => (await runner.get(second.jobName)).state === 'JOB_STATE_CANCELLED',
      {
        timeoutMs: 20_000,
      },
    );
    await waitFor('the item finished', async () => (await store.get(item.id))?.state === 'finished', {
      timeoutMs: 30_000,
    });
    await agent.stop();
    await running;
    const done = (await store.get(item.id))!;
    const line = logs.find((l) => l.fields.event === 'duplicate_job');
    summary.push(
      `tracker: 1 duplicate created by hand, cancelled (${(await runner.get(second.jobName)).state}); the item ${done.outcome} with its first job`,
    );
    console.info(`[reliability] ambiguous creates, ${summary.at(-1)}; seed ${world.seed}`);
    expect(done).toMatchObject({ outcome: 'succeeded', jobName: original });
    expect(line?.message).toContain(`duplicate job ${second.jobName} of launch ${item.launchId}`);
    expect(line?.message).toContain('cancelled it');
    expect(done.events.some((e) => e.message.includes(`duplicate job ${second.jobName}`))).toBe(true);
    reported.set(item.launchId, { jobName: original });
    reported.set(`dedupe:${second.jobName}`, { jobName: second.jobName });
  });

  it('every CustomJob in the emulator belongs to a reported launch: 0 orphans', async () => {
    const jobs = await world.runner.list({ all: true, limit: 100_000 });
    const names = new Set([...reported.values()].map((r) => r.jobName));
    const mayExist = new Set([...reported].filter(([, r]) => r.mayExist).map(([id]) => id));
    const orphans = jobs.filter((j) => !names.has(j.name) && !mayExist.has(j.labels[LAUNCH_ID_LABEL] ?? ''));
    console.info(
      `[reliability] ambiguous creates: ${jobs.length} jobs in all, ${orphans.length} orphans (jobs no run reported, by name or as "may exist"); seed ${world.seed}`,
    );
    expect(orphans.map((j) => j.name)).toEqual([]);
  });
});

/**
 * The launch id of a `launch --json` that exited 5: its error (the JSON line on stdout) names the filter and the
 * gcloud command.
 */
function mayExistOf(stdout: string): string {
  const { error } = JSON.parse(stdout.trim().split('\n').at(-1) as string) as {
    error: { code: string; message: string; launchId: string; filter: string; hint: string };
  };
  expect(error).toMatchObject({ code: 'SUBMIT_UNKNOWN', filter: `labels.${LAUNCH_ID_LABEL}="${error.launchId}"` });
  expect(error.message).toContain('may exist');
  expect(error.hint).toContain(`--filter='labels.${LAUNCH_ID_LABEL}=${error.launchId}'`);
  return error.launchId;
}

/** Jobs of the agent test's world that are not the agent items' (the runner and CLI tests' jobs). */
async function jobsOutside(items: { launchId: string }[]): Promise<JobSnapshot[]> {
  const mine = new Set(items.map((i) => i.launchId));
  return (await world.runner.list({ all: true, limit: 100_000 })).filter(
    (j) => !mine.has(j.labels[LAUNCH_ID_LABEL] ?? ''),
  );
}
