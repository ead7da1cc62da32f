// Issue #11, part 6: a bounded soak. An agent process (the built CLI, `vertex-launch agent`, authorised by a
// service-account key) drains a steady stream of launches for VXL_SOAK_SECONDS (default 60 s) against an emulator
// whose tokens live 6 s — so the agent fetches a new token every few seconds — and the emulator is stopped and
// started again (same ports, same data dir) three times while it works. Memory (RSS from /proc, heap after a full GC
// from a preload probe), file descriptors and active handles must stay flat after warm-up; every launch must end in
// exactly one job; no MaxListenersExceededWarning may appear.
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { auto, resolveCredentials } from '@vertex-launch/auth';
import type { QueueItem, QueueStore } from '@vertex-launch/core';
import { type Emulator, type EmulatorOptions, startEmulator } from '@vertex-launch/emulator';
import { sqliteQueueStore } from '@vertex-launch/queue-sqlite';
import { vertexRunner } from '@vertex-launch/vertex';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { childEnv, guardedNodeOptions, repoRoot, tempDir } from '../helpers.js';
import {
  mb,
  median,
  type ProbeSample,
  readProbe,
  readProc,
  sampleProcess,
  thirds,
  writeProbe,
} from './support/soak-sampler.js';

const SECONDS = Number(process.env.VXL_SOAK_SECONDS ?? 60);
const TOKEN_SECONDS = 6;
const ENQUEUE_EVERY_MS = 400;
const RESTARTS_AT = [0.3, 0.55, 0.8];
const IMAGE = 'us-docker.pkg.dev/vxl-emulator/train/trainer:1';
const cliBin = join(repoRoot, 'packages', 'cli', 'dist', 'bin.js');

let dir: { path: string; cleanup: () => Promise<void> };
let emu: Emulator | undefined;
let emulatorOptions: EmulatorOptions;
let store: QueueStore;
let agent: ChildProcess | undefined;
const tokenCounts: number[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(250);
  }
}

/** Stops the emulator, keeps its token counter, waits, and starts it again on the same ports and data dir. */
async function restartEmulator(downMs: number): Promise<number> {
  const t = Date.now();
  tokenCounts.push(emu?.counters()['oauth2.token'] ?? 0);
  await emu?.stop();
  emu = undefined;
  await sleep(downMs);
  emu = await startEmulator(emulatorOptions);
  return Date.now() - t;
}

beforeAll(async () => {
  dir = await tempDir('vxl-soak-');
  const dataDir = join(dir.path, 'emulator');
  const base: EmulatorOptions = {
    dataDir,
    tokenLifetimeSeconds: TOKEN_SECONDS,
    jobTimings: { queuedMs: 50, pendingMs: 50, runningMs: 300, cancellingMs: 50 },
    quotas: { vertexReadsPerMinute: 0, vertexCreatesPerMinute: 0 },
  };
  emu = await startEmulator(base);
  emulatorOptions = { ...base, httpPort: Number(new URL(emu.httpUrl).port), grpcPort: emu.grpc.port };
  store = sqliteQueueStore({ path: join(dir.path, 'queues.db') });
  await store.createQueue({
    name: 'soak',
    config: {
      spec: {
        worker_pool_specs: [
          {
            machine_spec: { machine_type: 'n1-standard-4' },
            replica_count: 1,
            container_spec: { image_uri: '${image_uri}', env: [{ name: 'VXL_EMULATOR_RUN_MS', value: '300' }] },
          },
        ],
        staging_bucket: 'gs://vxl-soak',
      },
    },
  });
}, 60_000);

afterAll(async () => {
  agent?.kill('SIGKILL');
  await store?.close();
  await emu?.stop();
  await dir?.cleanup();
});

it(`soak: ${SECONDS} s of launches with ${TOKEN_SECONDS} s tokens and ${RESTARTS_AT.length} emulator restarts: flat memory, no leaks, every launch exactly once`, async () => {
  const current = () => emu as Emulator;
  const key = await current().iam.createServiceAccount('soak-agent', { permissions: ['*'] });
  const keyFile = join(dir.path, 'key.json');
  await writeFile(keyFile, JSON.stringify(key), { mode: 0o600 });
  const config = join(dir.path, 'launch-config.yaml');
  await writeFile(
    config,
    [
      'queues: [soak]',
      'max_jobs: 6',
      `environment: { project: ${current().projectId}, region: ${current().region} }`,
      `auth: { key_file: ${keyFile} }`,
      `queue_db: ${join(dir.path, 'queues.db')}`,
      'quotas: { creates_per_minute: 0, reads_per_minute: 0 }',
      'poll_interval: 0.2',
      // The emulator commits a create before it answers: a create cut by a restart is settled in 2 s.
      'create_lookup_window: 2',
    ].join('\n'),
  );
  const probeFile = join(dir.path, 'probe.jsonl');
  const probeFlags = await writeProbe(dir.path, probeFile, 2000);

  const env = { ...current().env, GOOGLE_OAUTH_ACCESS_TOKEN: undefined, VERTEX_LAUNCH_QUEUE_DB: undefined };
  const started = Date.now();
  const child = spawn(
    process.execPath,
    [cliBin, 'agent', '--config', config, '--log-format', 'json', '--status-interval', '5'],
    {
      env: childEnv({ ...env, NODE_OPTIONS: `${guardedNodeOptions()} ${probeFlags}` }),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  agent = child;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const levels = { info: 0, warn: 0, error: 0, other: 0 };
  const problems: string[] = [];
  const warnings: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      const { level, msg } = JSON.parse(line) as { level: number; msg: string };
      if (level >= 50) {
        levels.error++;
        if (problems.length < 10) problems.push(msg);
      } else if (level >= 40) {
        levels.warn++;
        if (warnings.length < 40) warnings.push(msg);
      } else levels.info++;
    } catch {
      levels.other++;
    }
  });
  const proc = sampleProcess(child.pid!, 1000);

  // A steady stream of launches; the emulator goes away and comes back three times meanwhile.
  const items: QueueItem[] = [];
  const restartMs: number[] = [];
  const end = started + SECONDS * 1000;
  const restarts = RESTARTS_AT.map((f) => started + f * SECONDS * 1000);
  while (Date.now() < end) {
    if (child.exitCode !== null) throw new Error(`the agent exited early (${child.exitCode}):\n${stderr}`);
    items.push(await store.enqueue('soak', { image: IMAGE }));
    if (restarts.length > 0 && Date.now() >= (restarts[0] as number)) {
      restarts.shift();
      restartMs.push(await restartEmulator(1000));
    }
    await sleep(ENQUEUE_EVERY_MS);
  }
  await until(
    async () => (await store.list({ queue: 'soak', states: ['finished'], limit: 100_000 })).length === items.length,
    90_000,
    `the agent finishing all ${items.length} launches`,
  ).catch(async (error: unknown) => {
    const left = (await store.list({ queue: 'soak', limit: 100_000 })).filter((i) => i.state !== 'finished');
    console.error(
      left.slice(0, 3).map((i) => ({ state: i.state, phase: i.phase, events: i.events.map((e) => e.message) })),
    );
    console.error(problems.join('\n'), stderr);
    throw error;
  });
  const drainedAt = Date.now();
  await sleep(3000); // idle: in-flight requests settle before the last samples
  proc.stop();
  const idle = await readProc(child.pid!);
  child.kill('SIGTERM');
  const exit = await exited;
  agent = undefined;
  tokenCounts.push(current().counters()['oauth2.token'] ?? 0);
  const tokenFetches = tokenCounts.reduce((a, b) => a + b, 0);

  // Every launch ended, and made exactly one job.
  const done = await store.list({ queue: 'soak', limit: 100_000 });
  const outcomes = new Map<string, number>();
  for (const item of done) outcomes.set(String(item.outcome), (outcomes.get(String(item.outcome)) ?? 0) + 1);
  const credentials = await resolveCredentials(auto({ env: current().env }), { env: current().env });
  const runner = vertexRunner({
    credentials,
    projectId: current().projectId,
    region: current().region,
    env: current().env,
    quotas: { createsPerMinute: 0, readsPerMinute: 0 },
  });
  const jobs = await runner.list({ limit: 100_000 });
  await runner.close();
  const perLaunch = new Map(items.map((i) => [i.launchId, 0]));
  for (const job of jobs) {
    const id = job.labels['vertex-launch-launch-id'];
    if (id !== undefined && perLaunch.has(id)) perLaunch.set(id, (perLaunch.get(id) ?? 0) + 1);
  }
  const notOnce = [...perLaunch.values()].filter((n) => n !== 1).length;

  // Resources after warm-up: first third against last third.
  const rss = thirds(proc.samples.map((s) => s.rssBytes));
  const fds = thirds(proc.samples.map((s) => s.fds));
  const probe: ProbeSample[] = await readProbe(probeFile);
  const heap = thirds(probe.map((s) => s.heapUsed));
  const handles = thirds(probe.map((s) => s.resources));
  const listeners = thirds(probe.map((s) => s.processListeners));
  const rssFirst = median(rss.first);
  const rssLast = median(rss.last);
  const heapFirst = median(heap.first);
  const heapLast = median(heap.last);
  const pct = (a: number, b: number) => `${b >= a ? '+' : ''}${(((b - a) / a) * 100).toFixed(1)}%`;
  const maxListenerWarnings = stderr.split('MaxListenersExceededWarning').length - 1;
  const lastHandles = probe.at(-1)?.byType ?? {};

  console.info(
    `[reliability] soak: ${SECONDS} s, ${items.length} launches (${[...outcomes].map(([o, n]) => `${n} ${o}`).join(', ')}; ${jobs.length} jobs, ${notOnce} launches not exactly once), drained ${((drainedAt - end) / 1000).toFixed(1)} s after the last; ` +
      `${RESTARTS_AT.length} emulator restarts (${restartMs.map((ms) => `${(ms / 1000).toFixed(1)} s`).join(', ')} down); ${tokenFetches} token fetches (oauth2.token, ${tokenCounts.join(' + ')} per emulator run) with ${TOKEN_SECONDS} s tokens; ` +
      `RSS ${mb(rssFirst)} -> ${mb(rssLast)} (${pct(rssFirst, rssLast)}, max ${mb(Math.max(...rss.warm))}), heap after GC ${mb(heapFirst)} -> ${mb(heapLast)} (${pct(heapFirst, heapLast)}), ` +
      `fds ${median(fds.first)} -> ${median(fds.last)} (idle ${idle?.fds}), active handles ${median(handles.first)} -> ${median(handles.last)} (${Object.entries(
        lastHandles,
      )
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}), process listeners ${median(listeners.first)} -> ${median(listeners.last)}; ` +
      `${proc.samples.length} /proc samples, ${probe.length} probe samples; agent log ${levels.info} info, ${levels.warn} warn, ${levels.error} error lines; MaxListenersExceededWarning ${maxListenerWarnings}; exit ${exit.code ?? exit.signal}`,
  );

  expect(exit.code, stderr).toBe(0);
  expect(done).toHaveLength(items.length);
  // A launch that did not succeed says why: its failure, its history and the agent's warnings.
  const unsucceeded = done
    .filter((i) => i.outcome !== 'succeeded')
    .map((i) => ({ failure: i.failure, phase: i.phase, events: i.events.map((e) => `${e.type}: ${e.message ?? ''}`) }));
  expect(
    outcomes.get('succeeded'),
    `${JSON.stringify([...outcomes])}\n${JSON.stringify(unsucceeded, null, 2)}\nagent warnings:\n${warnings.join('\n')}`,
  ).toBe(items.length);
  expect(notOnce).toBe(0);
  expect(maxListenerWarnings, stderr).toBe(0);
  expect(stderr).not.toMatch(/Warning: Possible .* memory leak/);
  // Tokens expired and were fetched again all along (at least one per two lifetimes).
  expect(tokenFetches).toBeGreaterThanOrEqual(Math.floor(SECONDS / TOKEN_SECONDS / 2));
  expect(proc.samples.length).toBeGreaterThan(SECONDS / 2);
  expect(probe.length).toBeGreaterThan(SECONDS / 4);
  // Flat memory after warm-up: the last third within +20% (and +15 MB) of the first third.
  expect(rssLast).toBeLessThanOrEqual(Math.min(rssFirst * 1.2, rssFirst + 15 * 1024 * 1024));
  expect(heapLast).toBeLessThanOrEqual(Math.min(heapFirst * 1.2, heapFirst + 15 * 1024 * 1024));
  // No handle or descriptor leak: restarts and token refreshes leave nothing behind.
  expect(median(fds.last)).toBeLessThanOrEqual(median(fds.first) + 6);
  expect(idle!.fds).toBeLessThanOrEqual(median(fds.first) + 6);
  expect(median(handles.last)).toBeLessThanOrEqual(median(handles.first) + 6);
  expect(median(listeners.last)).toBeLessThanOrEqual(median(listeners.first));
}, 300_000);
