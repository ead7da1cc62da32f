// Shared pieces of the reliability tests that drive agents against the emulator: a world (emulator, credentials,
// Vertex runner, SQLite queue store in a temp dir), a queue config for the emulator's clock executor, polling, and
// the end-of-test accounting (queue items vs. CustomJobs by launch id) every test prints.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { auto, resolveCredentials } from '@vertex-launch/auth';
import {
  type AuthCredentials,
  type JobSnapshot,
  LAUNCH_ID_LABEL,
  type QueueItem,
  type QueueStore,
} from '@vertex-launch/core';
import { type Emulator, type EmulatorOptions, startEmulator } from '@vertex-launch/emulator';
import { sqliteQueueStore } from '@vertex-launch/queue-sqlite';
import { type VertexRunner, type VertexRunnerOptions, vertexRunner } from '@vertex-launch/vertex';
import { type AgentChild, spawnAgentChild } from '../../agent-child.js';
import { childEnv, repoRoot, tempDir } from '../../helpers.js';
import { seededRandom, testSeed } from '../../seed.js';

/** The built CLI (`pnpm build` makes it; the root `pnpm test` builds first). */
export const cliBin = join(repoRoot, 'packages', 'cli', 'dist', 'bin.js');

/** An image launches use when they are not built (the clock executor never pulls it). */
export const PREBUILT_IMAGE = 'us-docker.pkg.dev/vxl-emulator/train/trainer:1';

/** The emulator, real credentials read from its env, a Vertex runner on it, and a queue database in a temp dir. */
export interface AgentWorld {
  /** The run's seed (test/seed.ts): the emulator's `faultSeed` and the runner's retry jitter come from it. */
  seed: number;
  emulator: Emulator;
  credentials: AuthCredentials;
  runner: VertexRunner;
  /** The queue store of this test process (agents in child processes open `dbPath` themselves). */
  store: QueueStore;
  dbPath: string;
  /** The temp dir (removed by `close`), for fixtures. */
  dir: string;
  /** Stops the runner, the store and the emulator and removes the temp dir. */
  close(): Promise<void>;
}

/** Options of {@link startWorld}. */
export interface WorldOptions {
  /** Emulator options; default: clock executor, jobs done in ~60 ms, no Vertex quotas. */
  emulator?: EmulatorOptions;
  /** Extra options of the test's Vertex runner (quotas are off and the tracker is fast by default). */
  runner?: Partial<VertexRunnerOptions>;
}

/** Starts an {@link AgentWorld}. */
export async function startWorld(options: WorldOptions = {}): Promise<AgentWorld> {
  const seed = testSeed();
  const emulator = await startEmulator({
    faultSeed: seed,
    executor: 'clock',
    jobTimings: { queuedMs: 20, pendingMs: 20, runningMs: 20, cancellingMs: 20 },
    quotas: { vertexReadsPerMinute: 0, vertexCreatesPerMinute: 0 },
    ...options.emulator,
  });
  const dir = await tempDir('vxl-reliability-');
  try {
    const home = join(dir.path, 'home');
    const credentials = await resolveCredentials(auto(), {
      env: emulator.env,
      homedir: home,
      warn: () => undefined,
    });
    const runner = vertexRunner({
      credentials,
      projectId: emulator.projectId,
      region: emulator.region,
      env: emulator.env,
      quotas: { createsPerMinute: 0, readsPerMinute: 0 },
      tracker: { minIntervalMs: 50, maxIntervalMs: 250 },
      random: seededRandom(seed, 'vertex runner retry jitter'),
      // The emulator commits a create before it answers (unless a test injects a late commit and sets its own
      // window): a short lookup window after a lost answer is enough here.
      createLookup: { windowMs: 2_000, intervalMs: 100 },
      ...options.runner,
    });
    // Load the Google client now: its first load blocks the event loop long enough to stall heartbeats.
    await runner.list({ limit: 1 });
    const dbPath = join(dir.path, 'queues.db');
    const store = sqliteQueueStore({ path: dbPath });
    return {
      seed,
      emulator,
      credentials,
      runner,
      store,
      dbPath,
      dir: dir.path,
      async close() {
        await store.close();
        await runner.close();
        await emulator.stop();
        await dir.cleanup();
      },
    };
  } catch (error) {
    await emulator.stop();
    await dir.cleanup();
    throw error;
  }
}

/**
 * A queue config for the emulator's clock executor: `run_ms` (template variable, default 30) is how long each job
 * runs on the emulator clock.
 */
export function clockQueueConfig(stagingBucket = 'gs://vxl-reliability'): Record<string, unknown> {
  return {
    template_variables: { run_ms: { type: 'string', default: '30' } },
    spec: {
      worker_pool_specs: [
        {
          machine_spec: { machine_type: 'n1-standard-4' },
          replica_count: 1,
          container_spec: { image_uri: '${image_uri}', env: [{ name: 'VXL_EMULATOR_RUN_MS', value: '{{run_ms}}' }] },
        },
      ],
      staging_bucket: stagingBucket,
    },
  };
}

/** Polls `condition` every `intervalMs` until it holds; throws naming `what` (and the last `detail()`) on timeout. */
export async function waitFor(
  what: string,
  condition: () => Promise<boolean> | boolean,
  {
    timeoutMs = 60_000,
    intervalMs = 100,
    detail,
  }: { timeoutMs?: number; intervalMs?: number; detail?: () => unknown } = {},
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) {
      const extra = detail ? `; last state: ${JSON.stringify(await detail())}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${extra}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Every item of the store (all queues), oldest first. */
export async function allItems(store: QueueStore): Promise<QueueItem[]> {
  const out: QueueItem[] = [];
  let before: string | undefined;
  for (;;) {
    const page = await store.list({ limit: 1000, ...(before === undefined ? {} : { before }) });
    out.push(...page);
    if (page.length < 1000) return out.reverse();
    before = page.at(-1)!.id;
  }
}

/** What the emulator holds against what the queue says: the accounting every reliability test asserts on. */
export interface Accounting {
  items: number;
  finished: number;
  /** Items not finished. */
  unfinished: QueueItem[];
  jobs: number;
  /** Launch ids with more than one CustomJob. */
  duplicates: string[];
  /** Finished-as-succeeded items with no CustomJob, or whose job name differs from the one job of their launch id. */
  lost: string[];
  /** CustomJobs whose launch id is no item's. */
  strays: string[];
  /** Item outcomes, counted. */
  outcomes: Record<string, number>;
}

/** Lists every CustomJob in the emulator and matches them to the store's items by the launch-id label. */
export async function account(store: QueueStore, runner: VertexRunner): Promise<Accounting> {
  const items = await allItems(store);
  const jobs: JobSnapshot[] = await runner.list({ all: true, limit: 100_000 });
  const byLaunch = new Map<string, JobSnapshot[]>();
  for (const job of jobs) {
    const id = job.labels[LAUNCH_ID_LABEL] ?? '';
    byLaunch.set(id, [...(byLaunch.get(id) ?? []), job]);
  }
  const launchIds = new Set(items.map((item) => item.launchId));
  const outcomes: Record<string, number> = {};
  const lost: string[] = [];
  for (const item of items) {
    const key = item.outcome ?? item.state;
    outcomes[key] = (outcomes[key] ?? 0) + 1;
    if (item.outcome === 'succeeded') {
      const mine = byLaunch.get(item.launchId) ?? [];
      if (mine.length !== 1 || mine[0]?.name !== item.jobName) lost.push(item.id);
    }
  }
  return {
    items: items.length,
    finished: items.filter((item) => item.state === 'finished').length,
    unfinished: items.filter((item) => item.state !== 'finished'),
    jobs: jobs.length,
    duplicates: [...byLaunch].filter(([, list]) => list.length > 1).map(([id]) => id),
    lost,
    strays: [...byLaunch.keys()].filter((id) => !launchIds.has(id)),
    outcomes,
  };
}

/** `a 3, b 1` from a record of counts, largest first (for the summary lines). */
export function formatCounts(counts: Record<string, number>): string {
  const entries = Object.entries(counts).filter(([, n]) => n > 0);
  if (entries.length === 0) return 'none';
  return entries
    .sort((a, b) => b[1] - a[1])
    .map(([key, n]) => `${key} ${n}`)
    .join(', ');
}

/** A `vertex-launch agent` process on the world's queue database. */
export type AgentProcess = AgentChild;

/** Throws, saying how to make it, when the built CLI is missing. */
export function requireBuiltCli(): void {
  if (!existsSync(cliBin)) throw new Error(`${cliBin} is missing: run \`pnpm build\` first (\`pnpm test\` does).`);
}

/**
 * Starts `vertex-launch agent` (the built CLI, network guarded) on `world.dbPath` against the emulator. `lines` are
 * extra launch-config.yaml lines (`queues: [...]`, `max_jobs: N`). Kill leftovers with `child.kill()` in afterAll.
 */
export async function startAgentProcess(
  world: AgentWorld,
  name: string,
  lines: string[],
  /** Extra environment of the agent process. */
  env: Record<string, string | undefined> = {},
): Promise<AgentProcess> {
  requireBuiltCli();
  const config = join(world.dir, `${name}.yaml`);
  await writeFile(
    config,
    [
      `queue_db: ${world.dbPath}`,
      `environment: { project: ${world.emulator.projectId}, region: ${world.emulator.region} }`,
      'quotas: { creates_per_minute: 0, reads_per_minute: 0 }',
      'poll_interval: 0.1',
      // The emulator commits a create before answering (unless a `late` fault says otherwise): a short lookup window
      // settles items resumed at `submitting` (default 5 minutes).
      'create_lookup_window: 2',
      ...lines,
    ].join('\n'),
  );
  return spawnAgentChild([cliBin, 'agent', '--config', config, '--log-format', 'json'], {
    env: childEnv({ ...world.emulator.env, VERTEX_LAUNCH_QUEUE_DB: undefined, ...env }),
  });
}

/** Runs the built CLI with `args` on the world's queue database; resolves with its exit code and output (killed after `timeoutMs`). */
export function runCliOn(
  world: AgentWorld,
  args: readonly string[],
  { timeoutMs = 30_000 }: { timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliBin, ...args], {
      env: childEnv({ ...world.emulator.env, VERTEX_LAUNCH_QUEUE_DB: world.dbPath }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
