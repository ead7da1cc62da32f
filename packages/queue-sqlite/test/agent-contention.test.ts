// The agent on a SQLite file another process holds the write lock of: the agent's writes meet SQLITE_BUSY once the
// busy timeout has passed. A launch whose job exists must never end failed for that: the agent tries the write again
// with backoff (core's retry()) and the launch succeeds with its one job.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  formatJobName,
  type JobRunner,
  type JobSnapshot,
  jobConsoleUrl,
  jobStateToStatus,
  parseJobName,
  resolveJobName,
} from '@vertex-launch/core';
import { type AgentLogger, createAgent } from '@vertex-launch/core/agent';
import { seedQueueConfig } from '@vertex-launch/core/queue';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { childEnv, tempDir } from '../../../test/helpers.js';
import { seededRandom, testSeed } from '../../../test/seed.js';
import { sqliteQueueStore } from '../src/index.js';

const holder = fileURLToPath(new URL('./fixtures/hold-lock.mjs', import.meta.url));
const IMAGE = 'us-docker.pkg.dev/p/r/train:1';
const BUSY_TIMEOUT_MS = 100;
const HOLD_MS = 5 * BUSY_TIMEOUT_MS;

let dir: { path: string; cleanup: () => Promise<void> };
beforeEach(async () => {
  dir = await tempDir('vxl-agent-busy-');
});
afterEach(async () => {
  await dir.cleanup();
});

/** Takes the database's write lock in another process for `holdMs`; resolves once it holds it. */
async function holdLock(db: string, holdMs: number): Promise<{ released: Promise<void> }> {
  const child = spawn(process.execPath, [holder, db, String(holdMs)], {
    env: childEnv(),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const [first] = (await once(lines, 'line')) as [string];
  expect(first).toBe('locked');
  // Wrapped: an async function returning the bare promise would wait for it.
  return {
    released: once(child, 'exit').then(([code]) => {
      expect(code).toBe(0);
    }),
  };
}

/** A runner whose one job ends SUCCEEDED on its first read; that read first has another process lock the database. */
function lockingRunner(db: string, holdMs: number) {
  const jobs = new Map<string, JobSnapshot>();
  const submits: string[] = [];
  let released: Promise<void> | undefined;
  const snapshot = (name: string, state: string, labels: Record<string, string>): JobSnapshot => {
    const parts = parseJobName(name)!;
    return {
      name,
      id: parts.id,
      region: parts.region,
      displayName: 'job',
      ...jobStateToStatus(state),
      state,
      createTime: new Date(),
      startTime: undefined,
      endTime: undefined,
      updateTime: new Date(),
      error: undefined,
      labels,
      imageUri: IMAGE,
      consoleUrl: jobConsoleUrl(parts),
    };
  };
  const runner: JobRunner = {
    name: 'locking',
    jobName: (ref) => resolveJobName(ref, { project: 'proj-test', region: 'us-central1' }),
    async submit(request, { launchId }) {
      submits.push(launchId);
      const name = formatJobName({ project: 'proj-test', region: 'us-central1', id: String(1000 + jobs.size) });
      const job = snapshot(name, 'JOB_STATE_QUEUED', request.customJob.labels ?? {});
      jobs.set(name, job);
      return { jobName: name, job, existing: false };
    },
    async get(name) {
      const job = jobs.get(name)!;
      if (!job.terminal) {
        // The job ends; just then another process writes to the queue database for a while.
        ({ released } = await holdLock(db, holdMs));
        jobs.set(name, snapshot(name, 'JOB_STATE_SUCCEEDED', job.labels));
      }
      return jobs.get(name)!;
    },
    async list() {
      return [...jobs.values()].reverse();
    },
    async cancel(name) {
      return jobs.get(name)!;
    },
    async *logs() {},
    consoleUrl: (name) => jobConsoleUrl(parseJobName(name)!),
  };
  return { runner, submits, released: () => released };
}

test('a launch whose job succeeded while another process held the write lock ends succeeded, not failed', async () => {
  const seed = testSeed();
  const db = join(dir.path, 'queues.db');
  const store = sqliteQueueStore({ path: db, busyTimeoutMs: BUSY_TIMEOUT_MS });
  await store.createQueue({
    name: 'q',
    config: seedQueueConfig({ spec: { staging_bucket: 'gs://vxl-busy-test' } }),
    project: 'proj-test',
    region: 'us-central1',
  });
  const item = await store.enqueue('q', { image: IMAGE });
  // Several busy timeouts: the agent's write of the job's end fails with SQLITE_BUSY (an agent without the fix took
  // that for an unexpected error, tried to fail the launch, and left it to a later attempt at best).
  const { runner, submits, released } = lockingRunner(db, HOLD_MS);
  const logs: { level: string; fields: Record<string, unknown>; message: string }[] = [];
  const at = (level: string) => (fields: Record<string, unknown>, message: string) => {
    logs.push({ level, fields, message });
  };
  const logger: AgentLogger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  const agent = createAgent({
    store,
    runner,
    queues: ['q'],
    pollIntervalMs: 10,
    leaseMs: 10_000,
    statusIntervalMs: 0,
    logger,
    random: seededRandom(seed, 'agent-contention'),
  });
  const running = agent.start();
  const deadline = Date.now() + 20_000;
  while ((await store.get(item.id))?.state !== 'finished') {
    if (Date.now() > deadline) throw new Error(`item not finished in time (seed ${seed})`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await released();
  await agent.stop();
  await running;
  const done = (await store.get(item.id))!;
  await store.close();

  expect(done, `seed ${seed}`).toMatchObject({ outcome: 'succeeded', status: 'succeeded', attempts: 1 });
  expect(submits).toEqual([item.launchId]);
  expect(done.events.map((event) => event.type)).not.toContain('failed');
  const retries = logs.filter((line) => line.fields.event === 'store_retry');
  expect(retries.length).toBeGreaterThanOrEqual(1);
  expect(String(retries[0]!.fields.error)).toContain('SQLITE_BUSY');
  expect(logs.filter((line) => line.level === 'error')).toEqual([]);
  console.info(
    `[agent-contention] write lock held ${HOLD_MS} ms by another process: ${retries.length} store write(s) retried, outcome ${done.outcome}; seed ${seed}`,
  );
});
