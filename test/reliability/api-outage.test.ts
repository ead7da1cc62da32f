// Issue #24, item 2: an API outage must not fail launches for good. One agent (core createAgent, SQLite store, the
// real Vertex runner on the emulator) drains launches while the emulator answers every create and list with a
// transient error (the code drawn from VXL_TEST_SEED); a shorter outage than the issue's ~40 s, with short backoffs,
// runs the same code path. Launches claimed during it go back to their queue with backoff (each attempt in their
// history) and all succeed once the API answers, one job each; the agent logs the outage once, not per call. A
// permanent error (a resource quota) still fails. At start, an agent waits for an API that does not answer, saying so.
import type { QueueItem, QueueItemEvent } from '@vertex-launch/core';
import {
  type AgentLogger,
  ApiOutageLog,
  createAgent,
  isTransientApiError,
  whenApiAnswers,
} from '@vertex-launch/core/agent';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededInt, seededRandom } from '../seed.js';
import {
  type AgentWorld,
  account,
  allItems,
  clockQueueConfig,
  formatCounts,
  PREBUILT_IMAGE,
  startAgentProcess,
  startWorld,
  waitFor,
} from './support/agent-harness.js';

const LAUNCHES = 6;
/** The runner's own retries: 3 attempts, fast (the agent's release backoff is what this test is about). */
const RUNNER_RETRY = { maxAttempts: 3, initialDelayMs: 20, maxDelayMs: 100 };
/** The agent's release backoff, scaled down from API_RELEASE_POLICY (2 s .. 2 min) to fit a test. */
const RELEASE = { maxAttempts: 60, initialDelayMs: 100, maxDelayMs: 400, multiplier: 2, jitter: 'equal' as const };
/**
 * Outage answers that say no job was made: a call that never got a connection, a rate quota refusal. (A create that
 * may have reached the server — UNAVAILABLE mid-call, INTERNAL, DEADLINE_EXCEEDED — is "submit unknown" instead and
 * settled by the launch-id lookup: ambiguous-create.test.ts.)
 */
const OUTAGE_CODES = [
  {
    code: 'UNAVAILABLE' as const,
    message: 'No connection established. Last error: connect ECONNREFUSED 127.0.0.1:443',
  },
  {
    code: 'RESOURCE_EXHAUSTED' as const,
    message: "Quota exceeded for quota metric 'CustomJob create requests' and limit 'requests per minute per region'",
  },
];

interface Line {
  level: string;
  fields: Record<string, unknown>;
  msg: string;
}

let world: AgentWorld;
/** The outage log the runner's retry hook feeds (as the CLI wires it); each part sets its own. */
let outage: ApiOutageLog | undefined;
const summary: string[] = [];

function capture(lines: Line[]): AgentLogger {
  const at = (level: string) => (fields: Record<string, unknown>, msg: string) => lines.push({ level, fields, msg });
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

const events = (lines: Line[], event: string) => lines.filter((l) => l.fields.event === event);
const requeues = (item: QueueItem): QueueItemEvent[] => item.events.filter((e) => e.type === 'requeued');

beforeAll(async () => {
  world = await startWorld({
    runner: {
      retry: RUNNER_RETRY,
      onRetry: ({ error, method }) => {
        if (isTransientApiError(error, { jobMayExist: false })) outage?.failed(error, `Vertex AI ${method}`);
      },
    },
  });
});
afterAll(async () => {
  console.info(`[api-outage] seed ${world?.seed}: ${summary.join('; ')}`);
  await world?.close();
});

describe('API outage', () => {
  it(`${LAUNCHES} launches claimed during an outage go back with backoff and all succeed after it, one job each`, async () => {
    const { emulator, store, runner, seed } = world;
    const random = seededRandom(seed, 'api outage');
    const fault = OUTAGE_CODES[seededInt(random, 0, OUTAGE_CODES.length)]!;
    await store.createQueue({
      name: 'outage',
      config: clockQueueConfig(),
      project: emulator.projectId,
      region: emulator.region,
    });
    const lines: Line[] = [];
    const logger = capture(lines);
    outage = new ApiOutageLog(logger, { agentId: 'outage-agent' });
    emulator.faults.inject('aiplatform.customJobs.create', fault);
    for (let i = 0; i < LAUNCHES; i++) await store.enqueue('outage', { image: PREBUILT_IMAGE, runId: `outage-${i}` });
    const agent = createAgent({
      store,
      runner,
      queues: ['outage'],
      maxJobs: 3,
      pollIntervalMs: 50,
      leaseMs: 20_000,
      statusIntervalMs: 0,
      agentId: 'outage-agent',
      apiRelease: RELEASE,
      apiOutage: outage,
      random: seededRandom(seed, 'api outage agent'),
      logger,
    });
    const running = agent.start();
    try {
      // The outage lasts until the launches it let the agent claim (max_jobs of them: the others wait in the queue)
      // each went back to their queue at least twice.
      await waitFor(
        'every launch claimed during the outage released twice',
        async () => {
          const claimed = (await allItems(store)).filter((item) => item.attempts > 0);
          return claimed.length >= 3 && claimed.every((item) => requeues(item).length >= 2);
        },
        { timeoutMs: 90_000, detail: async () => (await allItems(store)).map((i) => requeues(i).length) },
      );
      const duringOutage = lines.length;
      expect(lines.filter((l) => l.msg.startsWith('launch failed'))).toEqual([]);
      emulator.faults.clear();
      await waitFor('every launch finished', async () => (await allItems(store)).every((i) => i.state === 'finished'), {
        timeoutMs: 90_000,
      });
      const items = await allItems(store);
      const counted = await account(store, runner);
      expect(counted.outcomes).toEqual({ succeeded: LAUNCHES });
      expect(counted.jobs).toBe(LAUNCHES);
      expect(counted.duplicates).toEqual([]);
      expect(counted.lost).toEqual([]);
      expect(counted.strays).toEqual([]);
      let released = 0;
      for (const item of items) {
        const back = requeues(item);
        released += back.length;
        expect(item.attempts).toBe(back.length + 1);
        for (const [n, e] of back.entries()) {
          expect(e.message).toMatch(/failed with a transient API error/);
          expect(e.message).toMatch(/no job is known yet, given back to the queue after a backoff of \d/);
          expect(e.message).toContain(`attempt ${n + 1} of ${RELEASE.maxAttempts}`);
        }
      }
      // One line when the outage started, one when it ended; no warning per failed call.
      const started = events(lines, 'api_unavailable');
      const ended = events(lines, 'api_available');
      expect(started).toHaveLength(1);
      expect(started[0]!.fields.code).toBe(fault.code);
      expect(ended).toHaveLength(1);
      const failedCalls = ended[0]!.fields.failedCalls as number;
      expect(failedCalls).toBeGreaterThanOrEqual(released * RUNNER_RETRY.maxAttempts);
      expect(ended[0]!.fields.outageMs).toBeGreaterThan(0);
      const warnings = lines.slice(0, duringOutage).filter((l) => l.level === 'warn' || l.level === 'error');
      expect(warnings.map((l) => l.fields.event)).toEqual(['api_unavailable']);
      summary.push(
        `outage with ${fault.code}: ${LAUNCHES} launches (${items.filter((i) => requeues(i).length > 0).length} claimed during it), ${released} releases with backoff, ${failedCalls} failed calls logged in 2 lines, outcomes ${formatCounts(counted.outcomes)}, ${counted.jobs} jobs, ${counted.duplicates.length} duplicates`,
      );
    } finally {
      emulator.faults.clear();
      await agent.stop('test over');
      await running;
      outage = undefined;
    }
  });

  it('a permanent error (a resource quota, not a rate quota) still fails the launch at once', async () => {
    const { emulator, store, runner, seed } = world;
    const lines: Line[] = [];
    const logger = capture(lines);
    emulator.faults.inject('aiplatform.customJobs.create', {
      code: 'RESOURCE_EXHAUSTED',
      message:
        'The following quota metrics exceed quota limits: aiplatform.googleapis.com/custom_model_training_nvidia_t4_gpus',
    });
    const item = await store.enqueue('outage', { image: PREBUILT_IMAGE, runId: 'quota-1' });
    const agent = createAgent({
      store,
      runner,
      queues: ['outage'],
      pollIntervalMs: 50,
      statusIntervalMs: 0,
      apiRelease: RELEASE,
      random: seededRandom(seed, 'api outage quota agent'),
      logger,
    });
    const running = agent.start();
    try {
      await waitFor('the quota launch finished', async () => (await store.get(item.id))?.state === 'finished');
      const done = (await store.get(item.id)) as QueueItem;
      expect(done.outcome).toBe('failed');
      expect(done.failure?.phase).toBe('run');
      expect(done.failure?.message).toMatch(/could not submit the job: .*RESOURCE_EXHAUSTED/);
      expect(requeues(done)).toEqual([]);
      expect(done.attempts).toBe(1);
      expect(events(lines, 'api_unavailable')).toEqual([]);
      summary.push('resource quota: 1 launch failed at once, 0 releases');
    } finally {
      emulator.faults.clear();
      await agent.stop('test over');
      await running;
    }
  });

  it('at start, waits for an API that does not answer (one line per try) and goes on when it answers', async () => {
    const { emulator, runner, seed } = world;
    const random = seededRandom(seed, 'api outage start');
    const waits = seededInt(random, 1, 4);
    // Each call of the runner makes RUNNER_RETRY.maxAttempts attempts: `waits` calls fail, the next one answers.
    const failing = waits * RUNNER_RETRY.maxAttempts + 1;
    emulator.faults.inject('aiplatform.customJobs.list', { code: 'UNAVAILABLE', times: failing });
    const lines: Line[] = [];
    const logger = capture(lines);
    outage = new ApiOutageLog(logger, { agentId: 'starting' });
    try {
      const jobs = await whenApiAnswers(() => runner.list({ limit: 1 }), {
        what: 'Vertex AI listCustomJobs',
        outage,
        log: logger,
        random,
        policy: { initialDelayMs: 50, maxDelayMs: 200, multiplier: 2, jitter: 'equal' },
      });
      expect(Array.isArray(jobs)).toBe(true);
      expect(events(lines, 'api_unavailable')).toHaveLength(1);
      const tries = events(lines, 'api_wait');
      expect(tries.map((l) => l.fields.attempt)).toEqual(Array.from({ length: waits }, (_, i) => i + 1));
      expect(tries[0]!.msg).toMatch(/does not answer .*waiting for it before starting, next try in/);
      const ended = events(lines, 'api_available');
      expect(ended).toHaveLength(1);
      expect(ended[0]!.fields.failedCalls).toBe(failing);
      summary.push(`start: ${waits} waits, ${failing} failed calls, 1 outage start and 1 end line`);
    } finally {
      emulator.faults.clear();
      outage = undefined;
    }
  });

  it('vertex-launch agent started while Vertex fails says so in JSON at once and starts once it answers', async () => {
    world.emulator.faults.inject('aiplatform.customJobs.list', { code: 'UNAVAILABLE', times: 2 });
    const agent = await startAgentProcess(world, 'outage-start', ['queues: [outage]']);
    try {
      await waitFor('the agent started', () => agent.logs.some((l) => /^agent .* started/.test(String(l.msg))), {
        timeoutMs: 90_000,
        detail: () => ({ logs: agent.logs.map((l) => l.msg), stderr: agent.stderr() }),
      });
      const byEvent = (event: string) => agent.logs.filter((l) => l.event === event);
      expect(byEvent('api_unavailable')).toHaveLength(1);
      expect(byEvent('api_available')).toHaveLength(1);
      expect(byEvent('api_available')[0]!.failedCalls).toBe(2);
      const order = agent.logs.map((l) => String(l.event ?? l.msg));
      expect(order.indexOf('api_unavailable')).toBeLessThan(order.indexOf('api_available'));
      expect(agent.logs.every((l) => !l.unparsed)).toBe(true);
      summary.push('CLI agent: outage at start logged in 2 JSON lines, then started');
    } finally {
      world.emulator.faults.clear();
      const exit = await agent.stop();
      expect(exit.code, `${JSON.stringify(agent.logs)}\n${agent.stderr()}`).toBe(0);
    }
  });
});
