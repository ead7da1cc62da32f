// Crashes, part 3 of the reliability suite: `vertex-launch agent` (the built CLI, a SQLite queue, the emulator in this
// process) is killed with SIGKILL while it has launches at each named point at once — right after the claim, in the
// middle of a Docker build, in the middle of the image push, after the CreateCustomJob call committed but before the
// agent persisted the job name, and while it tracks a running job — plus other launches wherever they happen to be.
// That is repeated; a fresh agent resumes each time and finishes what the last one left before it is killed in turn.
// At the end every item is terminal and every launch id has exactly one CustomJob.
//
// Each point is reached deterministically, and no hook in the agent is needed:
// - tracking: a job that runs until the test moves the emulator clock; the item has its job name;
// - after create: the emulator commits the job, then holds the reply (`aiplatform.customJobs.create`, phase
//   `after`); the job is listed, the item is still `submitting`;
// - mid-build: the Dockerfile's RUN step waits on a loopback gate that stays closed until the kill;
// - mid-upload: the emulator's registry holds the push (`artifactregistry.docker.push` latency) until the kill;
// - after claim, last: a trigger on the queue database makes the agent's first phase write for the item spin inside
//   SQLite; the driver is synchronous, so the whole agent stands still with only the claim committed.
// Each restart is the CLI's `main()` in a process that loaded the agent's modules while the last agent worked (a
// standby, see support/crash-agent.ts), which keeps the rounds short. CRASH_ROUNDS sets the number of kills (default 2),
// CRASH_TIMINGS=1 prints how long each stage of a round took. The moment of each kill inside the frozen write is drawn
// from the run's seed (VXL_TEST_SEED, printed in the summary line).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { auto, resolveCredentials } from '@vertex-launch/auth';
import { LAUNCH_ID_LABEL, type QueueItem, type QueueStore, sanitizeLabelValue } from '@vertex-launch/core';
import { contextTag, fingerprintContext } from '@vertex-launch/core/build';
import { buildBusyboxBaseImage, type Emulator, startEmulator } from '@vertex-launch/emulator';
import { sqliteQueueStore } from '@vertex-launch/queue-sqlite';
import { type VertexRunner, vertexRunner } from '@vertex-launch/vertex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers.js';
import { seededInt, seededRandom, testSeed } from '../seed.js';
import { type AgentProcess, BuildGate, killAllAgents, StoreHold, startAgentProcess } from './support/crash-agent.js';
import { until } from './support/crash-processes.js';

const exec = promisify(execFile);

/** The named points, in the order a round stages them (after-claim last: it freezes the whole agent). */
const POINTS = ['tracking', 'after-create', 'mid-build', 'mid-upload', 'after-claim'] as const;
type Point = (typeof POINTS)[number];
/** Agent lives killed (each with one launch at every point). */
const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 2);
/** Launches enqueued with each round's after-claim launch, killed wherever they happen to be. */
const FILLERS = 2;
const QUEUE = 'crash';
/** Jobs of this queue run until the test moves the emulator clock. */
const LONG_QUEUE = 'crash-long';
const LONG_RUN_MS = 10 * 60_000;
/** A ready image for launches without a build (the emulator's clock executor runs nothing). */
const IMAGE = 'us-docker.pkg.dev/vxl-emulator/train/trainer:1';
const SEED = testSeed();
/** Where in the frozen after-claim write each round kills (ms after the claim is logged). */
const killDelay = seededRandom(SEED, 'crash-agent kill delay');

let emu: Emulator;
let runner: VertexRunner;
let store: QueueStore;
let hold: StoreHold;
const gate = new BuildGate();
let dir: { path: string; cleanup: () => Promise<void> };
let baseUri: string;
let repository: string;
let agentConfig: string;
const db = () => join(dir.path, 'queues.db');
/** The next agent, loaded and waiting (see `startAgentProcess`'s `standby`). */
let standby: AgentProcess | undefined;

/** What a kill left behind for one launch staged at a point. */
interface Hit {
  point: Point;
  round: number;
  itemId: string;
  runId: string;
  /** The launch's persisted state right after the kill. */
  phase: string | undefined;
  state: string;
  jobName: string | undefined;
  /** Jobs of the launch id in the emulator right after the kill. */
  jobsAtKill: number;
  /** Content tag URI of a source launch. */
  expectedImage?: string;
}

const hits: Hit[] = [];
/** Other launches in flight at the kills, by persisted phase. */
const others: Record<string, number> = {};
const roundTimes: number[] = [];
const killDelays: number[] = [];

async function jobsOf(launchId: string) {
  return runner.list({ filter: `labels.${LAUNCH_ID_LABEL}="${sanitizeLabelValue(launchId)}"`, limit: 10 });
}

const pushCount = () => emu.counters()['artifactregistry.docker.push'] ?? 0;

async function sourceDir(name: string, dockerfile: string[], files: Record<string, Buffer | string> = {}) {
  const path = join(dir.path, 'src', name);
  await mkdir(path, { recursive: true });
  await writeFile(join(path, 'Dockerfile'), [...dockerfile, ''].join('\n'));
  for (const [file, content] of Object.entries(files)) await writeFile(join(path, file), content);
  return path;
}

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
      staging_bucket: 'gs://vxl-crash-agent',
    },
  };
}

beforeAll(async () => {
  emu = await startEmulator({
    faultSeed: SEED,
    jobTimings: { queuedMs: 50, pendingMs: 50, runningMs: 1000, cancellingMs: 20 },
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
  dir = await tempDir('vxl-crash-agent-');
  agentConfig = join(dir.path, 'agent.yaml');
  // The first agent loads its modules while the rest is set up (it reads its config only when it starts).
  standby = startAgentProcess(agentConfig, emu.env, { standby: true });
  const nonce = randomBytes(4).toString('hex');
  baseUri = `us-central1-docker.pkg.dev/${emu.projectId}/crash/busybox:${nonce}`;
  repository = `us-central1-docker.pkg.dev/${emu.projectId}/crash/trainer-${nonce}`;
  // Loading the Google client in this process (the first list) is slow too: do it next to the base image build.
  await Promise.all([buildBusyboxBaseImage({ emulator: emu, imageUri: baseUri }), runner.list({ limit: 1 })]);
  await gate.start();
  store = sqliteQueueStore({ path: db() });
  await store.createQueue({ name: QUEUE, config: queueConfig(1000) });
  await store.createQueue({ name: LONG_QUEUE, config: queueConfig(LONG_RUN_MS) });
  hold = new StoreHold(db());
  await writeFile(
    agentConfig,
    [
      `queue_db: ${db()}`,
      `queues: [${QUEUE}, ${LONG_QUEUE}]`,
      'max_jobs: -1',
      `environment: { project: ${emu.projectId}, region: ${emu.region} }`,
      'quotas: { creates_per_minute: 0, reads_per_minute: 0 }',
      'builder: { type: docker }',
      `registry: { uri: ${repository} }`,
      'poll_interval: 0.1',
      'lease_duration: 3',
    ].join('\n'),
  );
}, 120_000);

afterAll(async () => {
  killAllAgents();
  hold?.close();
  await gate.stop();
  await store?.close();
  await runner?.close();
  // The images this file built: under the registry's address, and the base's plain Artifact Registry name.
  if (emu) {
    const refs = await exec('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}']).then(
      (r) => r.stdout.split('\n').filter((ref) => ref.includes(repository) || ref.includes(baseUri)),
      () => [] as string[],
    );
    if (refs.length > 0) await exec('docker', ['rmi', '-f', ...refs]).catch(() => undefined);
  }
  await emu?.stop();
  await dir?.cleanup();
});

async function allItems(): Promise<QueueItem[]> {
  return [
    ...(await store.list({ queue: QUEUE, limit: 1000 })),
    ...(await store.list({ queue: LONG_QUEUE, limit: 1000 })),
  ];
}

async function unfinished(): Promise<QueueItem[]> {
  return (await allItems()).filter((i) => i.state !== 'finished');
}

/** The history of an item, one event message a line. */
const eventText = (item: QueueItem) => item.events.map((e) => e.message).join('\n');

/** The agent to start now (the standby loaded while the last one worked), and a new standby for the next start. */
function nextAgent(): AgentProcess {
  const agent = standby ?? startAgentProcess(agentConfig, emu.env, { standby: true });
  standby = startAgentProcess(agentConfig, emu.env, { standby: true });
  return agent;
}

/** Prints what a failed wait needs: the unfinished items with their histories, and the agent's last log lines. */
async function dump(what: string, agent: AgentProcess): Promise<void> {
  const items = await allItems();
  console.error(
    `${what} failed; unfinished items:\n${items
      .filter((i) => i.state !== 'finished')
      .map((i) => `${i.runId} ${i.state} ${i.phase}: ${eventText(i).replaceAll('\n', ' | ')}`)
      .join('\n')}\nagent log:\n${agent.logs
      .slice(-30)
      .map((l) => `${l.msg} ${l.error ?? ''}`)
      .join('\n')}\n${agent.stderr()}`,
  );
}

/**
 * One agent life: it finishes what the last one left, then gets one new launch to each point (holding it there) and
 * is killed with all of them in flight.
 */
async function round(n: number): Promise<void> {
  const started = Date.now();
  const marks: string[] = [];
  const mark = (what: string) => marks.push(`${what} ${((Date.now() - started) / 1000).toFixed(1)}`);
  const agent = nextAgent();
  agent.go();
  const staged: { point: Point; item: QueueItem; expectedImage?: string }[] = [];
  /** `until`, failing at once when the agent died on its own. */
  const waitFor = (condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000, everyMs = 20) =>
    until(
      () => {
        if (agent.child.exitCode !== null) throw new Error(`${what}: the agent exited (${agent.child.exitCode})`);
        return condition();
      },
      what,
      timeoutMs,
      everyMs,
    );
  try {
    // The last round's tracked job is still running: once this agent re-attached to it, let it end.
    const tracked = hits.find((h) => h.round === n - 1 && h.point === 'tracking');
    if (tracked) {
      await waitFor(
        () => agent.logs.some((l) => l.itemId === tracked.itemId && l.msg?.startsWith('re-attached to')),
        `round ${n}: re-attached to the tracked job`,
        60_000,
      );
      await emu.clock.advance(LONG_RUN_MS);
      mark('re-attached');
    }
    // Every launch of earlier rounds is resumed and finished first, so each launch is killed once, and the emulator's
    // counters belong to this round's launches from here on.
    await waitFor(async () => (await unfinished()).length === 0, `round ${n}: earlier launches finished`, 90_000, 100);

    const runId = (point: Point) => `crash-${n}-${point}`;
    const current = async (item: QueueItem) => (await store.get(item.id)) as QueueItem;

    mark('leftovers');
    // tracking: the job runs until the clock moves.
    const tracking = await store.enqueue(LONG_QUEUE, { image: IMAGE, runId: runId('tracking') });
    staged.push({ point: 'tracking', item: tracking });
    await waitFor(async () => (await current(tracking)).jobName !== undefined, `round ${n}: tracking`, 60_000);

    mark('tracking');
    // after create: committed, reply held.
    emu.faults.inject('aiplatform.customJobs.create', { latencyMs: 60_000, phase: 'after' });
    const created = await store.enqueue(QUEUE, { image: IMAGE, runId: runId('after-create') });
    staged.push({ point: 'after-create', item: created });
    await waitFor(async () => (await jobsOf(created.launchId)).length > 0, `round ${n}: after create`, 60_000, 50);

    mark('after-create');
    // mid-build: the RUN step waits on the gate.
    gate.close(runId('mid-build'));
    const buildSource = await sourceDir(runId('mid-build'), [`FROM ${baseUri}`, gate.runLine(runId('mid-build'))]);
    const building = await store.enqueue(QUEUE, { source: buildSource, runId: runId('mid-build') });
    staged.push({
      point: 'mid-build',
      item: building,
      expectedImage: contextTag(repository, await fingerprintContext({ contextDir: buildSource })),
    });
    await waitFor(() => gate.hitsOf(runId('mid-build')) > 0, `round ${n}: mid-build`, 60_000);

    mark('mid-build');
    // mid-upload: the registry holds the push.
    const uploadSource = await sourceDir(runId('mid-upload'), [`FROM ${baseUri}`, 'COPY payload.bin /payload.bin'], {
      'payload.bin': randomBytes(2 * 1024 * 1024),
    });
    emu.faults.inject('artifactregistry.docker.push', { latencyMs: 8_000 });
    const pushesBefore = pushCount();
    const uploading = await store.enqueue(QUEUE, { source: uploadSource, runId: runId('mid-upload') });
    staged.push({
      point: 'mid-upload',
      item: uploading,
      expectedImage: contextTag(repository, await fingerprintContext({ contextDir: uploadSource })),
    });
    await waitFor(() => pushCount() > pushesBefore, `round ${n}: mid-upload`, 60_000);

    mark('mid-upload');
    // after claim: the agent freezes in its first phase write for the item; fillers go in with it.
    hold.holdAfterClaim(runId('after-claim'));
    const claimed = await store.enqueue(QUEUE, { image: IMAGE, runId: runId('after-claim') });
    staged.push({ point: 'after-claim', item: claimed });
    for (let i = 0; i < FILLERS; i++) await store.enqueue(QUEUE, { image: IMAGE, runId: `crash-${n}-filler-${i}` });
    await waitFor(
      () => agent.logs.some((l) => l.itemId === claimed.id && l.msg?.startsWith('claimed item')),
      `round ${n}: after claim`,
      60_000,
    );
    // A moment inside the frozen write (it spins for seconds), drawn from the seed.
    const delay = seededInt(killDelay, 100, 300);
    killDelays.push(delay);
    await new Promise((r) => setTimeout(r, delay));
    await agent.kill9();

    const stagedIds = new Set(staged.map((s) => s.item.id));
    for (const { point, item, expectedImage } of staged) {
      const after = await current(item);
      hits.push({
        point,
        round: n,
        itemId: item.id,
        runId: item.runId,
        phase: after.phase,
        state: after.state,
        jobName: after.jobName,
        jobsAtKill: (await jobsOf(item.launchId)).length,
        ...(expectedImage ? { expectedImage } : {}),
      });
    }
    for (const item of await unfinished()) {
      if (stagedIds.has(item.id) || item.state !== 'claimed') continue;
      const phase = item.phase ?? 'claimed';
      others[phase] = (others[phase] ?? 0) + 1;
    }
    mark('killed');
    roundTimes.push(Date.now() - started);
    if (process.env.CRASH_TIMINGS) console.info(`round ${n}: ${marks.join(', ')} s`);
  } catch (error) {
    await dump(`round ${n}`, agent);
    throw error;
  } finally {
    hold.release();
    for (const point of POINTS) gate.open(`crash-${n}-${point}`);
    emu.faults.clear('artifactregistry.docker.push');
    emu.faults.clear('aiplatform.customJobs.create');
    if (agent.child.exitCode === null && agent.child.signalCode === null) await agent.kill9().catch(() => undefined);
  }
}

describe('kill -9 of the agent at named points', () => {
  it('every launch ends terminal with exactly one job', async () => {
    const t0 = Date.now();
    for (let n = 0; n < ROUNDS; n++) await round(n);
    // A last agent finishes everything and stops on SIGTERM.
    const last = standby ?? startAgentProcess(agentConfig, emu.env, { standby: true });
    standby = undefined;
    last.go();
    try {
      const tracked = hits.find((h) => h.round === ROUNDS - 1 && h.point === 'tracking') as Hit;
      await until(
        () => {
          if (last.child.exitCode !== null) throw new Error(`the last agent exited (${last.child.exitCode})`);
          return last.logs.some((l) => l.itemId === tracked.itemId && l.msg?.startsWith('re-attached to'));
        },
        're-attached to the last tracked job',
        60_000,
      );
      await emu.clock.advance(LONG_RUN_MS);
      await until(async () => (await unfinished()).length === 0, 'all launches finished', 90_000, 100);
    } catch (error) {
      await dump('the last agent', last);
      throw error;
    }
    last.child.kill('SIGTERM');
    expect((await last.exited).code).toBe(0);
    const elapsed = Date.now() - t0;

    // Each kill caught every staged launch at its point.
    for (const hit of hits) {
      const at = `${hit.runId}: ${hit.state} ${hit.phase} ${hit.jobName ?? ''}`;
      expect(hit.state, at).toBe('claimed');
      switch (hit.point) {
        case 'after-claim':
          expect(hit.phase, at).toBe('claimed');
          expect(hit.jobsAtKill, at).toBe(0);
          break;
        case 'mid-build':
        case 'mid-upload':
          expect(hit.phase, at).toBe('building');
          expect(hit.jobsAtKill, at).toBe(0);
          break;
        case 'after-create':
          expect(hit.phase, at).toBe('submitting');
          expect(hit.jobName, at).toBeUndefined();
          expect(hit.jobsAtKill, at).toBe(1);
          break;
        case 'tracking':
          expect(['submitted', 'running'], at).toContain(hit.phase);
          expect(hit.jobName, at).toMatch(/customJobs\/\d+$/);
          break;
      }
    }

    // Every launch finished, succeeded, with exactly one job: the one its item names.
    const items = await allItems();
    expect(items.length).toBe(ROUNDS * (POINTS.length + FILLERS));
    const notSucceeded = items
      .filter((i) => i.state !== 'finished' || i.outcome !== 'succeeded')
      .map((i) => `${i.runId}: ${i.state} ${i.outcome ?? ''} ${i.failure?.message ?? ''} | ${eventText(i)}`);
    expect(notSucceeded, notSucceeded.join('\n')).toEqual([]);
    const jobs = await runner.list({ limit: 5000 });
    const perLaunch = new Map(items.map((i) => [sanitizeLabelValue(i.launchId), [] as string[]]));
    for (const job of jobs) perLaunch.get(job.labels[LAUNCH_ID_LABEL] ?? '')?.push(job.name);
    const duplicates = [...perLaunch.values()].filter((names) => names.length > 1).length;
    const lost = [...perLaunch.values()].filter((names) => names.length === 0).length;
    expect(duplicates).toBe(0);
    expect(lost).toBe(0);
    for (const item of items)
      expect(item.jobName, item.runId).toBe(perLaunch.get(sanitizeLabelValue(item.launchId))?.[0]);

    // How each staged launch was resumed.
    const byId = new Map(items.map((i) => [i.id, i]));
    let rebuilt = 0;
    let reused = 0;
    for (const hit of hits) {
      const item = byId.get(hit.itemId) as QueueItem;
      const history = eventText(item);
      // The next agent took it over from the phase it was killed in (more attempts only when a heartbeat was late).
      expect(item.attempts, hit.runId).toBeGreaterThanOrEqual(2);
      expect(item.events.find((e) => e.type === 'lease_expired')?.phase, hit.runId).toBe(hit.phase);
      if (hit.point === 'after-create') expect(history, hit.runId).toContain('found by launch id');
      if (hit.point === 'tracking')
        expect(history, hit.runId).toContain(`resuming at phase ${hit.phase}, job ${hit.jobName}`);
      if (hit.expectedImage) {
        // The job runs the image built from the source, under its content tag, and the registry has it.
        expect(item.imageUri, hit.runId).toBe(hit.expectedImage);
        const built = /^built, image (\S+): (pushed|content tag exists; build skipped)$/m.exec(history);
        expect(built?.[1], hit.runId).toBe(hit.expectedImage);
        if (history.includes('build skipped')) reused += 1;
        else rebuilt += 1;
        expect(await manifestStatus(hit.expectedImage), hit.runId).toBe(200);
      }
    }
    const reattached = items.filter((i) => eventText(i).includes('found by launch id')).length;
    const interrupted = hits.length + Object.values(others).reduce((a, b) => a + b, 0);
    const perPoint = POINTS.map((p) => `${p} ${hits.filter((h) => h.point === p).length}`).join(', ');
    const otherPhases = Object.entries(others)
      .map(([phase, count]) => `${phase} ${count}`)
      .join(', ');
    console.info(
      `[reliability] agent kill -9: ${ROUNDS} kills with ${hits.length} launches held at named points (${perPoint}) and ${interrupted - hits.length} more in flight (${otherPhases || 'none'}), ${items.length} launches, ${jobs.filter((j) => perLaunch.has(j.labels[LAUNCH_ID_LABEL] ?? '')).length} jobs, ${duplicates} duplicates, ${lost} lost; ${reattached} re-attached by launch id, ${rebuilt} rebuilt, ${reused} builds reused; kills ${killDelays.join(', ')} ms after the claim; ${Math.round(elapsed / 1000)} s (rounds ${roundTimes.map((t) => Math.round(t / 1000)).join(', ')} s); seed ${SEED}`,
    );
  }, 280_000);
});

/** HTTP status of the manifest of `uri` in the emulator's registry. */
async function manifestStatus(uri: string): Promise<number> {
  const auth = emu.dockerAuth();
  const colon = uri.lastIndexOf(':');
  const res = await fetch(
    `http://${emu.registry.address}/v2/${uri.slice(0, colon)}/manifests/${uri.slice(colon + 1)}`,
    {
      method: 'HEAD',
      headers: {
        accept: 'application/vnd.docker.distribution.manifest.v2+json',
        authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`,
      },
    },
  );
  return res.status;
}
