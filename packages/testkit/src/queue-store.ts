/**
 * The conformance suite every `QueueStore` runs: each rule of the contract in `@vertex-launch/core`
 * (`queue/store.ts`) as a test, against a fresh store per test with a controllable clock.
 *
 * Core is imported from its sources (not `@vertex-launch/core`) so that core's own tests can run this suite and
 * type-check without a core <-> testkit package cycle; at run time it is the same module the alias resolves to.
 */

import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { ConfigError } from '../../core/src/index.js';
import {
  AGENT_RECORD_RETENTION_MS,
  type AgentHeartbeat,
  type CreateQueueInput,
  LAUNCH_PHASES,
  type QueueErrorReason,
  type QueueItem,
  type QueueStore,
  seedQueueConfig,
} from '../../core/src/queue/index.js';

/** The clock a conformance test drives; the store under test must read time only from `now`. */
export interface ConformanceClock {
  /** Current time in epoch milliseconds. */
  now: () => number;
  /** Move time forward. */
  advance: (ms: number) => void;
}

/** What the factory of a store under test returns. */
export interface StoreUnderTest {
  store: QueueStore;
  /** Close the store and remove whatever it created (files). */
  cleanup: () => Promise<void>;
}

/** Makes a fresh, empty store that reads time from `clock.now`. */
export type MakeQueueStore = (clock: ConformanceClock) => Promise<StoreUnderTest>;

/** Start of the conformance clock: 2030-01-01T00:00:00Z. */
export const CONFORMANCE_EPOCH = Date.parse('2030-01-01T00:00:00.000Z');

/** A queue config that validates: the seed config with a staging bucket. */
export function validQueueConfig(patch: Record<string, unknown> = {}): Record<string, unknown> {
  return seedQueueConfig({ spec: { staging_bucket: 'gs://vxl-conformance' }, ...patch });
}

/** Expect `promise` to reject with a `QueueError` of `reason` whose message contains every `texts`. */
export async function expectQueueError(
  promise: Promise<unknown>,
  reason: QueueErrorReason,
  ...texts: string[]
): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected a QueueError ${reason}`).toBeInstanceOf(Error);
  expect((error as Error).name).toBe('QueueError');
  expect((error as { reason?: string }).reason).toBe(reason);
  for (const text of texts) expect((error as Error).message).toContain(text);
  return error as Error;
}

async function expectConfigError(promise: Promise<unknown>): Promise<ConfigError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const LEASE = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Register the queue store conformance suite under `describe(name)`. `makeStore` is called before every test and
 * must return an empty store that reads time from the given clock; `cleanup` runs after every test.
 */
export function queueStoreConformance(name: string, makeStore: MakeQueueStore): void {
  describe(`queue store conformance: ${name}`, () => {
    let store: QueueStore;
    let cleanup: () => Promise<void>;
    let time: number;
    const clock: ConformanceClock = {
      now: () => time,
      advance: (ms) => {
        time += ms;
      },
    };

    beforeEach(async () => {
      time = CONFORMANCE_EPOCH;
      ({ store, cleanup } = await makeStore(clock));
    });
    afterEach(async () => {
      await cleanup();
    });

    const createQueue = (queueName: string, input: Partial<CreateQueueInput> = {}) =>
      store.createQueue({ name: queueName, config: validQueueConfig(), ...input });
    const claimed = async (agentId: string, queues: string[], leaseMs = LEASE): Promise<QueueItem> => {
      const item = await store.claim({ agentId, queues, leaseMs });
      expect(item, `agent ${agentId} expected work in ${queues.join(', ')}`).toBeDefined();
      return item!;
    };

    describe('queues', () => {
      test('create saves a validated queue with defaults; get and list return it', async () => {
        const created = await createQueue('gpu-t4', { project: 'my-project-123', region: 'us-central1' });
        expect(created).toEqual({
          name: 'gpu-t4',
          resource: 'gcp-vertex',
          config: validQueueConfig(),
          project: 'my-project-123',
          region: 'us-central1',
          createdAt: iso(CONFORMANCE_EPOCH),
          updatedAt: iso(CONFORMANCE_EPOCH),
        });
        expect(await store.getQueue('gpu-t4')).toEqual(created);
        await createQueue('cpu');
        expect((await store.listQueues()).map((q) => q.name)).toEqual(['cpu', 'gpu-t4']);
        expect(await store.getQueue('missing')).toBeUndefined();
      });

      test('the seed config refuses to save until staging_bucket is set', async () => {
        const error = await expectConfigError(store.createQueue({ name: 'seed' }));
        expect(error.message).toContain('queue `seed`');
        expect(error.issues.filter((i) => i.severity === 'error')).toEqual([
          expect.objectContaining({ path: 'config.spec.staging_bucket' }),
        ]);
        expect(error.issues[0]!.message).toContain('<REQUIRED>');
        expect(await store.listQueues()).toEqual([]);
      });

      test('create lists every problem: name, region and config', async () => {
        const error = await expectConfigError(
          store.createQueue({
            name: 'GPU Queue',
            region: 'Central US',
            config: { spec: { staging_bucket: '<REQUIRED>', worker_pool_specs: [] }, bogus: 1 },
          }),
        );
        const paths = error.issues.filter((i) => i.severity === 'error').map((i) => i.path);
        expect(paths).toEqual(expect.arrayContaining(['name', 'region', 'config.bogus', 'config.spec.staging_bucket']));
        expect(error.message).toContain('invalid queue name `GPU Queue`');
        expect(await store.listQueues()).toEqual([]);
        const upper = await expectConfigError(
          store.createQueue({ name: 'gpu', region: 'US-CENTRAL1', config: { spec: { staging_bucket: 'b-bucket' } } }),
        );
        expect(upper.issues.find((i) => i.path === 'region')?.message).toContain('Did you mean `us-central1`?');
      });

      test.each([
        ['GPU', false],
        ['-gpu', false],
        ['gpu queue', false],
        ['', false],
        ['a'.repeat(64), false],
        ['a', true],
        ['gpu-t4_2', true],
        ['0queue', true],
        ['a'.repeat(63), true],
      ])('queue name %j valid: %s', async (queueName, valid) => {
        if (valid) expect((await createQueue(queueName)).name).toBe(queueName);
        else expect((await expectConfigError(createQueue(queueName))).issues[0]!.path).toBe('name');
      });

      test('template_variables and allowed_overrides are kept at the top level of the config', async () => {
        const config = validQueueConfig({
          template_variables: { machine: { type: 'string', default: 'n1-standard-8' } },
          allowed_overrides: ['run.timeout'],
        });
        const queue = await createQueue('vars', { config });
        expect(queue.config.template_variables).toEqual({ machine: { type: 'string', default: 'n1-standard-8' } });
        expect(queue.config.allowed_overrides).toEqual(['run.timeout']);
      });

      test('create refuses a name that is taken', async () => {
        await createQueue('dup');
        await expectQueueError(createQueue('dup'), 'queue_exists', '`dup`');
      });

      test('update revalidates the config and changes or removes settings', async () => {
        await createQueue('q', { project: 'my-project-123', region: 'us-central1' });
        clock.advance(1000);
        const config = validQueueConfig({ run: { timeout: '2h' } });
        const updated = await store.updateQueue('q', { config, project: null, region: 'europe-west4' });
        expect(updated.config).toEqual(config);
        expect(updated.project).toBeUndefined();
        expect(updated.region).toBe('europe-west4');
        expect(updated.createdAt).toBe(iso(CONFORMANCE_EPOCH));
        expect(updated.updatedAt).toBe(iso(CONFORMANCE_EPOCH + 1000));
        expect(await store.getQueue('q')).toEqual(updated);

        const error = await expectConfigError(
          store.updateQueue('q', { config: { spec: { staging_bucket: 'gs://b', worker_pool_specs: [] } } }),
        );
        expect(error.message).toContain('Cannot update queue `q`');
        expect(await store.getQueue('q')).toEqual(updated);
        await expectQueueError(store.updateQueue('nope', { region: 'us-east1' }), 'queue_not_found', '`nope`');
      });

      test('delete removes an idle queue; unknown queues are named', async () => {
        await createQueue('idle');
        await store.deleteQueue('idle');
        expect(await store.getQueue('idle')).toBeUndefined();
        await expectQueueError(store.deleteQueue('idle'), 'queue_not_found', 'queue create idle');
      });

      test('delete of a queue with unfinished items needs force, then fails them with phase agent', async () => {
        await createQueue('busy');
        const done = await store.enqueue('busy', { image: 'img:1' });
        const running = await store.enqueue('busy', { image: 'img:2' });
        const waiting = await store.enqueue('busy', { image: 'img:3' });
        const first = await claimed('agent-a', ['busy']);
        expect(first.id).toBe(done.id);
        await store.complete(done.id, 'agent-a', { status: 'succeeded', jobName: 'jobs/1' });
        expect((await claimed('agent-a', ['busy'])).id).toBe(running.id);
        await store.recordPhase(running.id, 'agent-a', { phase: 'submitted', jobName: 'jobs/2' });

        await expectQueueError(store.deleteQueue('busy'), 'queue_not_empty', '2 unfinished items', 'force');
        expect((await store.get(waiting.id))!.state).toBe('queued');

        await store.deleteQueue('busy', { force: true });
        expect(await store.getQueue('busy')).toBeUndefined();
        for (const id of [running.id, waiting.id]) {
          const item = (await store.get(id))!;
          expect(item.state).toBe('finished');
          expect(item.outcome).toBe('failed');
          expect(item.failure?.phase).toBe('agent');
          expect(item.failure?.message).toContain('queue `busy` was deleted');
        }
        expect((await store.get(running.id))!.failure?.message).toContain('jobs/2');
        expect((await store.get(done.id))!.outcome).toBe('succeeded');
        await expectQueueError(store.heartbeat(running.id, 'agent-a', LEASE), 'lease_lost', 'already finished');
      });
    });

    describe('enqueue', () => {
      test('creates a queued item with a launch id, a run id and its history', async () => {
        await createQueue('q');
        const item = await store.enqueue('q', { image: 'us-docker.pkg.dev/p/r/i:1', submitter: 'alice' });
        expect(item).toMatchObject({
          queue: 'q',
          state: 'queued',
          request: { image: 'us-docker.pkg.dev/p/r/i:1', submitter: 'alice' },
          cancelRequested: false,
          attempts: 0,
          enqueuedAt: iso(CONFORMANCE_EPOCH),
          updatedAt: iso(CONFORMANCE_EPOCH),
        });
        expect(item.launchId).toMatch(UUID);
        expect(item.runId).toMatch(/^[a-z][a-z0-9]{7}$/);
        expect(item.phase).toBeUndefined();
        expect(item.agentId).toBeUndefined();
        expect(item.events).toEqual([
          {
            at: iso(CONFORMANCE_EPOCH),
            type: 'enqueued',
            message: `enqueued by alice: run ${item.runId}, image us-docker.pkg.dev/p/r/i:1`,
          },
        ]);
        expect(await store.get(item.id)).toEqual(item);
        const other = await store.enqueue('q', { source: './train', runId: 'exp-42' });
        expect(other.runId).toBe('exp-42');
        expect(other.id).not.toBe(item.id);
        expect(other.launchId).not.toBe(item.launchId);
      });

      test('checks the request against the queue: image xor source, run id, variables, overrides', async () => {
        await createQueue('strict', {
          config: validQueueConfig({
            template_variables: { epochs: { type: 'integer', minimum: 1 } },
            allowed_overrides: ['run.timeout'],
          }),
        });
        const error = await expectConfigError(
          store.enqueue('strict', {
            image: 'i:1',
            source: '.',
            runId: 'Bad Run',
            variables: { epoch: '3' },
            overrides: { spec: { service_account: 'sa@p.iam.gserviceaccount.com' } },
          }),
        );
        const paths = error.issues.filter((i) => i.severity === 'error').map((i) => i.path);
        expect(paths).toEqual(
          expect.arrayContaining([
            'image',
            'runId',
            'template_variables',
            'template_variables.epochs',
            'overrides.spec.service_account',
          ]),
        );
        expect(error.message).toContain('queue `strict`');
        expect(error.message).toContain('did you mean `epochs`');
        expect(await store.list({ queue: 'strict' })).toEqual([]);
        const ok = await store.enqueue('strict', {
          image: 'i:1',
          variables: { epochs: '3' },
          overrides: { run: { timeout: '2h' } },
        });
        expect(ok.request).toEqual({ image: 'i:1', variables: { epochs: '3' }, overrides: { run: { timeout: '2h' } } });
      });

      test('refuses an unknown queue', async () => {
        await expectQueueError(store.enqueue('ghost', { image: 'i:1' }), 'queue_not_found', '`ghost`');
      });
    });

    describe('claim', () => {
      test('takes the oldest queued item under a lease; nothing left gives undefined', async () => {
        await createQueue('q');
        const first = await store.enqueue('q', { image: 'i:1' });
        clock.advance(10);
        const second = await store.enqueue('q', { image: 'i:2' });
        clock.advance(10);
        const item = await claimed('agent-a', ['q']);
        expect(item).toMatchObject({
          id: first.id,
          state: 'claimed',
          phase: 'claimed',
          agentId: 'agent-a',
          leaseExpiresAt: iso(CONFORMANCE_EPOCH + 20 + LEASE),
          attempts: 1,
        });
        expect(item.events.at(-1)).toEqual({
          at: iso(CONFORMANCE_EPOCH + 20),
          type: 'claimed',
          agentId: 'agent-a',
          phase: 'claimed',
          message: 'claimed by agent agent-a',
        });
        expect((await claimed('agent-b', ['q'])).id).toBe(second.id);
        expect(await store.claim({ agentId: 'agent-c', queues: ['q'], leaseMs: LEASE })).toBeUndefined();
      });

      test('refuses unknown queues and bad options', async () => {
        await createQueue('q');
        await expectQueueError(
          store.claim({ agentId: 'a', queues: ['q', 'ghost'], leaseMs: LEASE }),
          'queue_not_found',
          '`ghost`',
        );
        await expectQueueError(store.claim({ agentId: 'a', queues: ['q'], leaseMs: 0 }), 'invalid_argument', 'leaseMs');
        await expectQueueError(store.claim({ agentId: 'a', queues: [], leaseMs: LEASE }), 'invalid_argument', 'queues');
        await expectQueueError(
          store.claim({ agentId: '', queues: ['q'], leaseMs: LEASE }),
          'invalid_argument',
          'agentId',
        );
      });

      test('concurrent claims never hand out the same item and lose none', async () => {
        await createQueue('q');
        const ids = new Set<string>();
        for (let i = 0; i < 12; i++) ids.add((await store.enqueue('q', { image: `i:${i}` })).id);
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            store.claim({ agentId: `agent-${i % 4}`, queues: ['q'], leaseMs: LEASE }),
          ),
        );
        const got = results.filter((r): r is QueueItem => r !== undefined).map((r) => r.id);
        expect(got).toHaveLength(12);
        expect(new Set(got)).toEqual(ids);
      });

      test('rotates across queues (round-robin), also across agents', async () => {
        for (const q of ['a', 'b', 'c']) {
          await createQueue(q);
          for (let i = 0; i < 3; i++) await store.enqueue(q, { image: `${q}:${i}` });
        }
        const order: string[] = [];
        for (let i = 0; i < 6; i++) order.push((await claimed(`agent-${i % 2}`, ['a', 'b'])).queue);
        expect(order).toEqual(['a', 'b', 'a', 'b', 'a', 'b']);
        // `c` was never served, so it goes first even when listed last.
        expect((await claimed('agent-0', ['a', 'c'])).queue).toBe('c');
        expect(await store.claim({ agentId: 'agent-0', queues: ['a', 'b'], leaseMs: LEASE })).toBeUndefined();
        expect((await claimed('agent-1', ['a', 'b', 'c'])).queue).toBe('c');
      });
    });

    describe('leases and fencing', () => {
      test('heartbeat extends the lease; other agents and expired leases are refused', async () => {
        await createQueue('q');
        const { id } = await store.enqueue('q', { image: 'i:1' });
        await claimed('agent-a', ['q']);
        clock.advance(LEASE - 1);
        const beat = await store.heartbeat(id, 'agent-a', LEASE);
        expect(beat.leaseExpiresAt).toBe(iso(CONFORMANCE_EPOCH + 2 * LEASE - 1));
        expect(beat.events.map((e) => e.type)).toEqual(['enqueued', 'claimed']);
        clock.advance(LEASE - 1);
        expect(await store.claim({ agentId: 'agent-b', queues: ['q'], leaseMs: LEASE })).toBeUndefined();
        await expectQueueError(store.heartbeat(id, 'agent-b', LEASE), 'lease_lost', '`agent-b`', '`agent-a` holds it');
        clock.advance(1);
        await expectQueueError(store.heartbeat(id, 'agent-a', LEASE), 'lease_lost', 'lease expired', id);
        await expectQueueError(store.heartbeat('nope', 'agent-a', LEASE), 'item_not_found', '`nope`');
      });

      test('recordPhase persists phases, image, job and status; phases only move forward', async () => {
        await createQueue('q');
        const { id } = await store.enqueue('q', { source: './app' });
        await claimed('agent-a', ['q']);
        await store.recordPhase(id, 'agent-a', { phase: 'building' });
        clock.advance(5);
        await store.recordPhase(id, 'agent-a', { phase: 'built', imageUri: 'reg/app@sha256:abc' });
        await store.recordPhase(id, 'agent-a', { phase: 'submitting' });
        const submitted = await store.recordPhase(id, 'agent-a', {
          phase: 'submitted',
          jobName: 'projects/p/locations/us-central1/customJobs/1',
          status: 'pending',
          message: 'created',
        });
        expect(submitted).toMatchObject({
          state: 'claimed',
          phase: 'submitted',
          imageUri: 'reg/app@sha256:abc',
          jobName: 'projects/p/locations/us-central1/customJobs/1',
          status: 'pending',
          updatedAt: iso(CONFORMANCE_EPOCH + 5),
        });
        expect(submitted.events.slice(2)).toEqual([
          { at: iso(CONFORMANCE_EPOCH), type: 'phase', agentId: 'agent-a', phase: 'building', message: 'building' },
          {
            at: iso(CONFORMANCE_EPOCH + 5),
            type: 'phase',
            agentId: 'agent-a',
            phase: 'built',
            message: 'built, image reg/app@sha256:abc',
          },
          {
            at: iso(CONFORMANCE_EPOCH + 5),
            type: 'phase',
            agentId: 'agent-a',
            phase: 'submitting',
            message: 'submitting',
          },
          {
            at: iso(CONFORMANCE_EPOCH + 5),
            type: 'phase',
            agentId: 'agent-a',
            phase: 'submitted',
            message: 'submitted, job projects/p/locations/us-central1/customJobs/1, status pending: created',
          },
        ]);
        expect(await store.get(id)).toEqual(submitted);
        const running = await store.recordPhase(id, 'agent-a', { phase: 'running', status: 'running' });
        expect(running.imageUri).toBe('reg/app@sha256:abc');
        await expectQueueError(
          store.recordPhase(id, 'agent-a', { phase: 'building' }),
          'invalid_transition',
          'cannot go back to building',
        );
        await expectQueueError(store.recordPhase(id, 'agent-b', { phase: 'running' }), 'lease_lost', 'agent-b');
        expect(LAUNCH_PHASES).toEqual(['claimed', 'building', 'built', 'submitting', 'submitted', 'running']);
      });

      test('an expired lease is re-claimed with the persisted phase and job; the old agent is fenced', async () => {
        await createQueue('q');
        const { id } = await store.enqueue('q', { image: 'i:1' });
        await claimed('agent-a', ['q'], 1000);
        await store.recordPhase(id, 'agent-a', { phase: 'submitting' });
        await store.recordPhase(id, 'agent-a', { phase: 'submitted', jobName: 'jobs/7', imageUri: 'i:1' });
        clock.advance(999);
        expect(await store.claim({ agentId: 'agent-b', queues: ['q'], leaseMs: LEASE })).toBeUndefined();
        clock.advance(1);
        const again = await claimed('agent-b', ['q']);
        expect(again).toMatchObject({
          id,
          state: 'claimed',
          phase: 'submitted',
          jobName: 'jobs/7',
          imageUri: 'i:1',
          agentId: 'agent-b',
          attempts: 2,
          leaseExpiresAt: iso(CONFORMANCE_EPOCH + 1000 + LEASE),
        });
        expect(again.events.slice(-2)).toEqual([
          {
            at: iso(CONFORMANCE_EPOCH + 1000),
            type: 'lease_expired',
            agentId: 'agent-a',
            phase: 'submitted',
            message: `lease of agent agent-a expired at ${iso(CONFORMANCE_EPOCH + 1000)} in phase submitted`,
          },
          {
            at: iso(CONFORMANCE_EPOCH + 1000),
            type: 'claimed',
            agentId: 'agent-b',
            phase: 'submitted',
            message: 'claimed by agent agent-b (attempt 2, resuming at phase submitted, job jobs/7)',
          },
        ]);
        await expectQueueError(
          store.recordPhase(id, 'agent-a', { phase: 'running' }),
          'lease_lost',
          '`agent-b` holds it',
        );
        await expectQueueError(store.complete(id, 'agent-a', { status: 'succeeded', jobName: 'jobs/7' }), 'lease_lost');
        await expectQueueError(store.fail(id, 'agent-a', { phase: 'run', message: 'x' }), 'lease_lost');
        await expectQueueError(store.requeue(id, 'agent-a', 'x'), 'lease_lost');
        const done = await store.complete(id, 'agent-b', { status: 'succeeded', jobName: 'jobs/7' });
        expect(done.outcome).toBe('succeeded');
      });

      test('an item whose agents keep dying is given up after maxAttempts, and the next item is served', async () => {
        await createQueue('q');
        const poison = await store.enqueue('q', { image: 'crashes:1' });
        const next = await store.enqueue('q', { image: 'fine:1' });
        const claim = (agentId: string) => store.claim({ agentId, queues: ['q'], leaseMs: 1000, maxAttempts: 2 });
        expect((await claim('agent-a'))?.id).toBe(poison.id);
        await store.recordPhase(poison.id, 'agent-a', { phase: 'submitted', jobName: 'jobs/p' });
        clock.advance(1000);
        expect(await claim('agent-b')).toMatchObject({ id: poison.id, attempts: 2 });
        clock.advance(1000);
        expect((await claim('agent-c'))?.id).toBe(next.id);
        const given = (await store.get(poison.id))!;
        expect(given).toMatchObject({ state: 'finished', outcome: 'failed', attempts: 2, failure: { phase: 'agent' } });
        expect(given.failure?.message).toContain('gave up after 2 attempts');
        expect(given.failure?.message).toContain('last agent agent-b, phase submitted, job jobs/p may still run');
        expect(given.events.slice(-2).map((e) => [e.type, e.agentId, e.phase])).toEqual([
          ['lease_expired', 'agent-b', 'submitted'],
          ['failed', undefined, 'agent'],
        ]);
        await expectQueueError(
          store.claim({ agentId: 'a', queues: ['q'], leaseMs: LEASE, maxAttempts: 0 }),
          'invalid_argument',
          'maxAttempts',
        );
      });
    });

    describe('finishing', () => {
      test('complete finishes with the outcome of the final status', async () => {
        await createQueue('q');
        const a = await store.enqueue('q', { image: 'i:1' });
        const b = await store.enqueue('q', { image: 'i:2' });
        await claimed('agent-a', ['q']);
        await claimed('agent-a', ['q']);
        await expectQueueError(
          store.complete(a.id, 'agent-a', { status: 'running' as never, jobName: 'jobs/1' }),
          'invalid_argument',
          'not final',
        );
        clock.advance(50);
        const ok = await store.complete(a.id, 'agent-a', { status: 'succeeded', jobName: 'jobs/1' });
        expect(ok).toMatchObject({
          state: 'finished',
          outcome: 'succeeded',
          status: 'succeeded',
          jobName: 'jobs/1',
          finishedAt: iso(CONFORMANCE_EPOCH + 50),
        });
        expect(ok.agentId).toBeUndefined();
        expect(ok.leaseExpiresAt).toBeUndefined();
        expect(ok.failure).toBeUndefined();
        expect(ok.events.at(-1)).toEqual({
          at: iso(CONFORMANCE_EPOCH + 50),
          type: 'completed',
          agentId: 'agent-a',
          message: 'job jobs/1 ended succeeded',
        });
        const bad = await store.complete(b.id, 'agent-a', { status: 'expired', jobName: 'jobs/2' });
        expect(bad).toMatchObject({
          outcome: 'failed',
          failure: { phase: 'run', message: 'job jobs/2 ended expired' },
        });
        await expectQueueError(store.heartbeat(a.id, 'agent-a', LEASE), 'lease_lost', 'already finished (succeeded)');
        expect(await store.claim({ agentId: 'agent-b', queues: ['q'], leaseMs: LEASE })).toBeUndefined();
      });

      test('fail records the failure phase and message', async () => {
        await createQueue('q');
        const { id } = await store.enqueue('q', { source: './app' });
        await claimed('agent-a', ['q']);
        await expectQueueError(
          store.fail(id, 'agent-a', { phase: 'deploy' as never, message: 'x' }),
          'invalid_argument',
          'agent, build, run',
        );
        const failed = await store.fail(id, 'agent-a', { phase: 'build', message: 'docker build exited 1' });
        expect(failed).toMatchObject({
          state: 'finished',
          outcome: 'failed',
          failure: { phase: 'build', message: 'docker build exited 1' },
        });
        expect(failed.events.at(-1)).toMatchObject({ type: 'failed', phase: 'build', agentId: 'agent-a' });
      });

      test('requeue gives the item back keeping its phase and job; the next agent resumes it', async () => {
        await createQueue('q');
        const { id } = await store.enqueue('q', { image: 'i:1' });
        await claimed('agent-a', ['q']);
        await store.recordPhase(id, 'agent-a', { phase: 'submitted', jobName: 'jobs/9' });
        const back = await store.requeue(id, 'agent-a', 'agent shutting down');
        expect(back).toMatchObject({ state: 'queued', phase: 'submitted', jobName: 'jobs/9', attempts: 1 });
        expect(back.agentId).toBeUndefined();
        expect(back.events.at(-1)).toMatchObject({ type: 'requeued', message: 'requeued: agent shutting down' });
        await expectQueueError(store.heartbeat(id, 'agent-a', LEASE), 'lease_lost', 'given back');
        const next = await claimed('agent-b', ['q']);
        expect(next).toMatchObject({ id, phase: 'submitted', jobName: 'jobs/9', attempts: 2, agentId: 'agent-b' });
      });
    });

    describe('retries, backoff and admission', () => {
      const DAY = 86_400_000;

      test('new items have retries 0 and rung 0, no notBefore and no admission', async () => {
        await createQueue('q');
        const item = await store.enqueue('q', { image: 'i:1' });
        expect(item).toMatchObject({ retries: 0, rung: 0, attempts: 0 });
        expect(item.notBefore).toBeUndefined();
        expect(item.admission).toBeUndefined();
        expect(await store.get(item.id)).toEqual(item);
        expect(await claimed('agent-a', ['q'])).toMatchObject({ id: item.id, retries: 0, rung: 0, attempts: 1 });
      });

      test('requeue with delayMs sets notBefore; the item is not claimable until then, younger items are', async () => {
        await createQueue('q');
        const { id } = await store.enqueue('q', { image: 'i:1' });
        await claimed('agent-a', ['q']);
        const back = await store.requeue(id, 'agent-a', 'try again later', { delayMs: 30_000 });
        expect(back).toMatchObject({ state: 'queued', attempts: 1, notBefore: iso(CONFORMANCE_EPOCH + 30_000) });
        expect(back.events.at(-1)).toEqual({
          at: iso(CONFORMANCE_EPOCH),
          type: 'requeued',
          agentId: 'agent-a',
          phase: 'claimed',
          message: 'requeued: try again later',
        });
        expect(await store.get(id)).toEqual(back);
        const younger = await store.enqueue('q', { image: 'i:2' });
        expect((await claimed('agent-b', ['q'])).id).toBe(younger.id);
        clock.advance(29_999);
        expect(await store.claim({ agentId: 'agent-b', queues: ['q'], leaseMs: LEASE })).toBeUndefined();
        clock.advance(1);
        const again = await claimed('agent-b', ['q']);
        expect(again).toMatchObject({ id, state: 'claimed', attempts: 2 });
        expect(again.notBefore).toBeUndefined();
        expect(await store.get(id)).toEqual(again);
        for (const delayMs of [-1, 1.5, DAY + 1]) {
          await expectQueueError(store.requeue(id, 'agent-b', 'x', { delayMs }), 'invalid_argument', 'delayMs');
        }
        expect(await store.get(id)).toEqual(again);
      });

      test('a deferral does not count an attempt and writes a `deferred` event', async () => {
        await createQueue('q');
        const { id } = await store.enqueue('q', { image: 'i:1' });
        await claimed('agent-a', ['q']);
        const deferred = await store.requeue(id, 'agent-a', 'queue limits reached', { deferred: true, delayMs: 5000 });
        expect(deferred).toMatchObject({ state: 'queued', attempts: 0, notBefore: iso(CONFORMANCE_EPOCH + 5000) });
        expect(deferred.agentId).toBeUndefined();
        expect(deferred.events.at(-1)).toEqual({
          at: iso(CONFORMANCE_EPOCH),
          type: 'deferred',
          agentId: 'agent-a',
          phase: 'claimed',
          message: 'deferred: queue limits reached',
        });
        await expectQueueError(store.heartbeat(id, 'agent-a', LEASE), 'lease_lost', 'given back');
        clock.advance(5000);
        const again = await claimed('agent-a', ['q']);
        expect(again).toMatchObject({ id, attempts: 1 });
        expect(again.events.at(-1)?.message).toBe('claimed by agent agent-a');
      });

      test('retry: queued again with retries + 1 and the rung, no phase or job, the image kept, after the delay', async () => {
        await createQueue('q');
        const { id } = await store.enqueue('q', { source: './app' });
        await claimed('agent-a', ['q']);
        await store.recordPhase(id, 'agent-a', { phase: 'built', imageUri: 'reg/app@sha256:abc' });
        await store.recordPhase(id, 'agent-a', { phase: 'running', jobName: 'jobs/1', status: 'running' });
        const update = {
          jobName: 'jobs/1',
          status: 'failed' as const,
          failure: { class: 'preempted' as const, summary: 'The replica workerpool0-0 was preempted' },
          rung: 1,
          delayMs: 30_000,
          message: 'retry 1 of 3: job jobs/1 was preempted; attempt 2 in 30s',
        };
        await expectQueueError(store.retry(id, 'agent-b', update), 'lease_lost', '`agent-a` holds it');
        await expectQueueError(store.retry(id, 'agent-a', { ...update, rung: -1 }), 'invalid_argument', 'rung');
        await expectQueueError(
          store.retry(id, 'agent-a', { ...update, failure: { class: 'gremlins' as never } }),
          'invalid_argument',
          '`class`',
        );
        await expectQueueError(
          store.retry(id, 'agent-a', { ...update, delayMs: DAY + 1 }),
          'invalid_argument',
          'delayMs',
        );
        clock.advance(10);
        const retried = await store.retry(id, 'agent-a', update);
        expect(retried).toMatchObject({
          state: 'queued',
          retries: 1,
          rung: 1,
          attempts: 0,
          imageUri: 'reg/app@sha256:abc',
          notBefore: iso(CONFORMANCE_EPOCH + 10 + 30_000),
          updatedAt: iso(CONFORMANCE_EPOCH + 10),
        });
        for (const key of ['phase', 'jobName', 'status', 'agentId', 'leaseExpiresAt', 'outcome', 'failure'] as const) {
          expect(retried[key], key).toBeUndefined();
        }
        expect(retried.events.at(-1)).toEqual({
          at: iso(CONFORMANCE_EPOCH + 10),
          type: 'retried',
          agentId: 'agent-a',
          phase: 'running',
          message: 'retry 1 of 3: job jobs/1 was preempted; attempt 2 in 30s',
        });
        expect(await store.get(id)).toEqual(retried);
        await expectQueueError(store.retry(id, 'agent-a', update), 'lease_lost', 'given back');
        await expectQueueError(store.heartbeat(id, 'agent-a', LEASE), 'lease_lost');
        clock.advance(29_999);
        expect(await store.claim({ agentId: 'agent-b', queues: ['q'], leaseMs: LEASE })).toBeUndefined();
        clock.advance(1);
        const next = await claimed('agent-b', ['q']);
        expect(next).toMatchObject({ id, phase: 'claimed', retries: 1, rung: 1, attempts: 1 });
        expect(next.imageUri).toBe('reg/app@sha256:abc');
        expect(next.jobName).toBeUndefined();
        expect(next.events.at(-1)?.message).toBe('claimed by agent agent-b');
        const twice = await store.retry(id, 'agent-b', {
          status: 'failed',
          failure: { class: 'quota' },
          rung: 2,
          delayMs: 0,
          message: '',
        });
        expect(twice).toMatchObject({ state: 'queued', retries: 2, rung: 2 });
        expect(twice.notBefore).toBeUndefined();
        expect(twice.events.at(-1)?.message).toBe('the launch ended failed (quota); attempt 3');
        expect((await claimed('agent-b', ['q'])).id).toBe(id);
      });

      test('complete with a failure class keeps the class, exit code and fix; the message has the summary', async () => {
        await createQueue('q');
        const a = await store.enqueue('q', { image: 'i:1' });
        const b = await store.enqueue('q', { image: 'i:2' });
        const c = await store.enqueue('q', { image: 'i:3' });
        for (let i = 0; i < 3; i++) await claimed('agent-a', ['q']);
        const stockout = await store.complete(a.id, 'agent-a', {
          status: 'failed',
          jobName: 'jobs/1',
          failure: {
            class: 'stockout',
            fix: 'add a fallback region',
            summary: 'The resources are insufficient in region: us-central1',
          },
        });
        expect(stockout.failure).toEqual({
          phase: 'run',
          message: 'job jobs/1 ended failed (stockout): The resources are insufficient in region: us-central1',
          class: 'stockout',
          fix: 'add a fallback region',
        });
        expect(stockout.events.at(-1)?.message).toBe('job jobs/1 ended failed (stockout)');
        expect(await store.get(a.id)).toEqual(stockout);
        const crashed = await store.complete(b.id, 'agent-a', {
          status: 'failed',
          jobName: 'jobs/2',
          failure: { class: 'user_code', exitCode: 3 },
        });
        expect(crashed.failure).toEqual({
          phase: 'run',
          message: 'job jobs/2 ended failed (user_code)',
          class: 'user_code',
          exitCode: 3,
        });
        expect(await store.get(b.id)).toEqual(crashed);
        const ok = await store.complete(c.id, 'agent-a', {
          status: 'succeeded',
          jobName: 'jobs/3',
          failure: { class: 'unknown' },
        });
        expect(ok.outcome).toBe('succeeded');
        expect(ok.failure).toBeUndefined();
        expect(await store.get(c.id)).toEqual(ok);
      });

      test('fail with a failure class keeps it; an unknown class is refused', async () => {
        await createQueue('q');
        const { id } = await store.enqueue('q', { image: 'i:1' });
        await claimed('agent-a', ['q']);
        await expectQueueError(
          store.fail(id, 'agent-a', { phase: 'run', message: 'x', class: 'gremlins' as never }),
          'invalid_argument',
          '`class`',
        );
        expect((await store.get(id))!.state).toBe('claimed');
        const failed = await store.fail(id, 'agent-a', {
          phase: 'run',
          message: 'the create call was refused: quota exceeded',
          class: 'quota',
          fix: 'request more quota',
        });
        expect(failed.failure).toEqual({
          phase: 'run',
          message: 'the create call was refused: quota exceeded',
          class: 'quota',
          fix: 'request more quota',
        });
        expect(await store.get(id)).toEqual(failed);
      });

      test('admit under maxConcurrent: the second launch is refused, changing nothing, until the first ends', async () => {
        await createQueue('q');
        await createQueue('other');
        const first = await store.enqueue('q', { image: 'i:1' });
        const second = await store.enqueue('q', { image: 'i:2' });
        const elsewhere = await store.enqueue('other', { image: 'i:3' });
        await claimed('agent-a', ['q']);
        await claimed('agent-b', ['q']);
        await claimed('agent-c', ['other']);
        const request = { accelerators: 1, acceleratorHours: 2.5, limits: { maxConcurrent: 1 } };
        // Another queue's launch in flight does not count.
        expect((await store.admit(elsewhere.id, 'agent-c', request)).admitted).toBe(true);
        clock.advance(10);
        const admitted = await store.admit(first.id, 'agent-a', request);
        expect(admitted.admitted).toBe(true);
        expect(admitted.item.admission).toEqual({
          at: iso(CONFORMANCE_EPOCH + 10),
          accelerators: 1,
          acceleratorHours: 2.5,
        });
        expect(admitted.item.events.at(-1)).toEqual({
          at: iso(CONFORMANCE_EPOCH + 10),
          type: 'admitted',
          agentId: 'agent-a',
          phase: 'claimed',
          message: 'admitted: 1 accelerator, at most 2.5 accelerator-hours, 1 of 1 launches in flight',
        });
        expect(await store.get(first.id)).toEqual(admitted.item);
        const before = await store.get(second.id);
        const refused = await store.admit(second.id, 'agent-b', request);
        expect(refused).toMatchObject({ admitted: false, limit: 'max_concurrent', never: false });
        if (refused.admitted) throw new Error('expected a refusal');
        expect(refused.reason).toBe('1 launch of queue `q` in flight, the limit is 1');
        expect(refused.item).toEqual(before);
        expect(await store.get(second.id)).toEqual(before);
        await expectQueueError(store.admit(second.id, 'agent-a', request), 'lease_lost', '`agent-b` holds it');
        await store.complete(first.id, 'agent-a', { status: 'succeeded', jobName: 'jobs/1' });
        const now = await store.admit(second.id, 'agent-b', request);
        expect(now.admitted).toBe(true);
        expect(now.item.admission?.accelerators).toBe(1);
        expect(await store.get(second.id)).toEqual(now.item);
      });

      test('admit under maxAccelerators sums the accelerators of the launches in flight', async () => {
        await createQueue('q');
        const ids: string[] = [];
        for (let i = 0; i < 3; i++) ids.push((await store.enqueue('q', { image: `i:${i}` })).id);
        for (let i = 0; i < 3; i++) await claimed(`agent-${i}`, ['q']);
        const limits = { maxAccelerators: 8 };
        expect((await store.admit(ids[0]!, 'agent-0', { accelerators: 4, acceleratorHours: 4, limits })).admitted).toBe(
          true,
        );
        const two = await store.admit(ids[1]!, 'agent-1', { accelerators: 2, acceleratorHours: 2, limits });
        expect(two.admitted).toBe(true);
        expect(two.item.events.at(-1)?.message).toBe(
          'admitted: 2 accelerators, at most 2 accelerator-hours, 6 of 8 accelerators in flight',
        );
        const refused = await store.admit(ids[2]!, 'agent-2', { accelerators: 4, acceleratorHours: 4, limits });
        expect(refused).toMatchObject({
          admitted: false,
          limit: 'max_accelerators',
          reason: '6 accelerators in flight + 4 for this launch would exceed the limit of 8',
          never: false,
        });
        expect((await store.get(ids[2]!))!.admission).toBeUndefined();
        expect((await store.admit(ids[2]!, 'agent-2', { accelerators: 2, acceleratorHours: 2, limits })).admitted).toBe(
          true,
        );
      });

      test('admit under dailyAcceleratorHours counts launches admitted within 24 hours, finished ones too', async () => {
        await createQueue('q');
        const a = await store.enqueue('q', { image: 'i:1' });
        const b = await store.enqueue('q', { image: 'i:2' });
        const limits = { dailyAcceleratorHours: 10 };
        await claimed('agent-a', ['q']);
        expect((await store.admit(a.id, 'agent-a', { accelerators: 2, acceleratorHours: 6, limits })).admitted).toBe(
          true,
        );
        await store.complete(a.id, 'agent-a', { status: 'succeeded', jobName: 'jobs/1' });
        expect((await store.get(a.id))!.admission).toEqual({
          at: iso(CONFORMANCE_EPOCH),
          accelerators: 2,
          acceleratorHours: 6,
        });
        await claimed('agent-b', ['q']);
        const refused = await store.admit(b.id, 'agent-b', { accelerators: 1, acceleratorHours: 5, limits });
        expect(refused).toMatchObject({
          admitted: false,
          limit: 'daily_accelerator_hours',
          reason:
            '6 accelerator-hours admitted in the last 24 hours + at most 5 for this launch would exceed the budget of 10',
          never: false,
        });
        expect(
          (await store.admit(b.id, 'agent-b', { accelerators: 1, acceleratorHours: 4, limits })).item,
        ).toMatchObject({ admission: { at: iso(CONFORMANCE_EPOCH), accelerators: 1, acceleratorHours: 4 } });
        // Exactly a day later both admissions still count (this launch's own too); a moment after, neither does.
        await store.requeue(b.id, 'agent-b', 'agent stopping');
        clock.advance(DAY);
        await claimed('agent-b', ['q']);
        const still = await store.admit(b.id, 'agent-b', { accelerators: 1, acceleratorHours: 7, limits });
        expect(still).toMatchObject({ admitted: false, limit: 'daily_accelerator_hours' });
        clock.advance(1);
        const later = await store.admit(b.id, 'agent-b', { accelerators: 1, acceleratorHours: 7, limits });
        expect(later.admitted).toBe(true);
        expect(later.item.admission).toEqual({
          at: iso(CONFORMANCE_EPOCH + DAY + 1),
          accelerators: 1,
          acceleratorHours: 7,
        });
        expect(later.item.events.at(-1)?.message).toBe(
          'admitted: 1 accelerator, at most 7 accelerator-hours, 7 of 10 accelerator-hours today',
        );
      });

      test('admit says `never` when the launch alone exceeds a limit', async () => {
        await createQueue('q');
        const { id } = await store.enqueue('q', { image: 'i:1' });
        await claimed('agent-a', ['q']);
        const before = await store.get(id);
        expect(
          await store.admit(id, 'agent-a', { accelerators: 16, acceleratorHours: 1, limits: { maxAccelerators: 8 } }),
        ).toMatchObject({
          admitted: false,
          limit: 'max_accelerators',
          reason: '0 accelerators in flight + 16 for this launch would exceed the limit of 8',
          never: true,
        });
        expect(
          await store.admit(id, 'agent-a', {
            accelerators: 1,
            acceleratorHours: 12,
            limits: { dailyAcceleratorHours: 10 },
          }),
        ).toMatchObject({ admitted: false, limit: 'daily_accelerator_hours', never: true });
        expect(
          await store.admit(id, 'agent-a', { accelerators: 1, acceleratorHours: 1, limits: { maxConcurrent: 0 } }),
        ).toMatchObject({ admitted: false, limit: 'max_concurrent', never: true });
        expect(await store.get(id)).toEqual(before);
        // No limits: admitted.
        expect(
          (await store.admit(id, 'agent-a', { accelerators: 16, acceleratorHours: 12, limits: {} })).admitted,
        ).toBe(true);
      });

      test('admit refuses invalid requests and items the agent does not hold', async () => {
        await createQueue('q');
        const { id } = await store.enqueue('q', { image: 'i:1' });
        const ok = { accelerators: 1, acceleratorHours: 1, limits: {} };
        await expectQueueError(store.admit(id, 'agent-a', ok), 'lease_lost', 'given back');
        await expectQueueError(store.admit('nope', 'agent-a', ok), 'item_not_found', '`nope`');
        await claimed('agent-a', ['q']);
        const before = await store.get(id);
        await expectQueueError(
          store.admit(id, 'agent-a', { ...ok, accelerators: -1 }),
          'invalid_argument',
          'accelerators',
        );
        await expectQueueError(
          store.admit(id, 'agent-a', { ...ok, accelerators: 1.5 }),
          'invalid_argument',
          'accelerators',
        );
        await expectQueueError(
          store.admit(id, 'agent-a', { ...ok, acceleratorHours: Number.NaN }),
          'invalid_argument',
          'acceleratorHours',
        );
        await expectQueueError(
          store.admit(id, 'agent-a', { ...ok, limits: { maxConcurrent: -1 } }),
          'invalid_argument',
          'limits.maxConcurrent',
        );
        await expectQueueError(store.admit(id, '', ok), 'invalid_argument', 'agent id');
        expect(await store.get(id)).toEqual(before);
      });

      test('every new field round-trips through get, list and claim', async () => {
        await createQueue('q');
        const { id } = await store.enqueue('q', { image: 'i:1' });
        await claimed('agent-a', ['q']);
        const admitted = await store.admit(id, 'agent-a', {
          accelerators: 3,
          acceleratorHours: 1.75,
          limits: { maxConcurrent: 2, maxAccelerators: 8, dailyAcceleratorHours: 100 },
        });
        clock.advance(7);
        const retried = await store.retry(id, 'agent-a', {
          status: 'failed',
          failure: { class: 'stockout', summary: 'no capacity' },
          rung: 2,
          delayMs: 1234,
          message: 'retry 1 of 2: stockout; attempt 2 on fallback 2 in 1.234s',
        });
        expect(retried).toMatchObject({
          retries: 1,
          rung: 2,
          notBefore: iso(CONFORMANCE_EPOCH + 7 + 1234),
          admission: admitted.item.admission,
        });
        expect(await store.get(id)).toEqual(retried);
        expect(await store.list({ queue: 'q' })).toEqual([retried]);
        clock.advance(1234);
        const again = await claimed('agent-b', ['q']);
        expect(again).toEqual(await store.get(id));
        const readmitted = await store.admit(id, 'agent-b', {
          accelerators: 2,
          acceleratorHours: 0.5,
          limits: { dailyAcceleratorHours: 100 },
        });
        // The attempts of one launch within a day add up against the daily budget.
        expect(readmitted.item.admission).toEqual({
          at: iso(CONFORMANCE_EPOCH + 7 + 1234),
          accelerators: 2,
          acceleratorHours: 2.25,
        });
        expect(await store.get(id)).toEqual(readmitted.item);
        const done = await store.complete(id, 'agent-b', {
          status: 'failed',
          jobName: 'jobs/2',
          failure: { class: 'user_code', exitCode: 137, fix: 'check the training script', summary: 'exit 137' },
        });
        expect(done).toMatchObject({
          retries: 1,
          rung: 2,
          failure: { class: 'user_code', exitCode: 137, fix: 'check the training script' },
        });
        expect(await store.get(id)).toEqual(done);
        expect(await store.list({ queue: 'q', states: ['finished'] })).toEqual([done]);
      });
    });

    describe('cancel', () => {
      test('a queued item is cancelled at once', async () => {
        await createQueue('q');
        const { id } = await store.enqueue('q', { image: 'i:1' });
        const cancelled = await store.requestCancel(id);
        expect(cancelled).toMatchObject({ state: 'finished', outcome: 'cancelled', cancelRequested: true });
        expect(cancelled.events.at(-1)).toMatchObject({ type: 'cancelled' });
        expect(await store.claim({ agentId: 'a', queues: ['q'], leaseMs: LEASE })).toBeUndefined();
        expect(await store.requestCancel(id)).toEqual(cancelled);
        await expectQueueError(store.requestCancel('nope'), 'item_not_found');
      });

      test('a claimed item gets the flag; the agent sees it and finishes it cancelled', async () => {
        await createQueue('q');
        const { id } = await store.enqueue('q', { image: 'i:1' });
        await claimed('agent-a', ['q']);
        await store.recordPhase(id, 'agent-a', { phase: 'running', jobName: 'jobs/3' });
        const flagged = await store.requestCancel(id);
        expect(flagged).toMatchObject({ state: 'claimed', cancelRequested: true, agentId: 'agent-a' });
        expect(flagged.events.at(-1)).toMatchObject({ type: 'cancel_requested' });
        expect((await store.heartbeat(id, 'agent-a', LEASE)).cancelRequested).toBe(true);
        const done = await store.complete(id, 'agent-a', { status: 'cancelled', jobName: 'jobs/3' });
        expect(done).toMatchObject({ state: 'finished', outcome: 'cancelled', status: 'cancelled' });
      });

      test('a requeued item that may have a job keeps waiting for an agent to cancel the job', async () => {
        await createQueue('q');
        const { id } = await store.enqueue('q', { image: 'i:1' });
        await claimed('agent-a', ['q']);
        await store.recordPhase(id, 'agent-a', { phase: 'submitting' });
        await store.requeue(id, 'agent-a', 'restart');
        const flagged = await store.requestCancel(id);
        expect(flagged).toMatchObject({ state: 'queued', cancelRequested: true });
        expect(await claimed('agent-b', ['q'])).toMatchObject({ id, cancelRequested: true, phase: 'submitting' });
      });
    });

    describe('reading', () => {
      test('get and list return copies, newest first, filtered and paged', async () => {
        await createQueue('a');
        await createQueue('b');
        const made: QueueItem[] = [];
        for (let i = 0; i < 5; i++) {
          clock.advance(1);
          made.push(await store.enqueue(i % 2 === 0 ? 'a' : 'b', { image: `i:${i}` }));
        }
        await claimed('agent', ['a']);
        expect((await store.list()).map((i) => i.request.image)).toEqual(['i:4', 'i:3', 'i:2', 'i:1', 'i:0']);
        expect((await store.list({ queue: 'a' })).map((i) => i.request.image)).toEqual(['i:4', 'i:2', 'i:0']);
        expect((await store.list({ states: ['claimed'] })).map((i) => i.id)).toEqual([made[0]!.id]);
        expect((await store.list({ queue: 'a', states: ['queued'] })).map((i) => i.request.image)).toEqual([
          'i:4',
          'i:2',
        ]);
        const page1 = await store.list({ limit: 2 });
        expect(page1.map((i) => i.request.image)).toEqual(['i:4', 'i:3']);
        const page2 = await store.list({ limit: 2, before: page1[1]!.id });
        expect(page2.map((i) => i.request.image)).toEqual(['i:2', 'i:1']);
        expect((await store.list({ limit: 2, before: made[0]!.id })).length).toBe(0);
        await expectQueueError(store.list({ before: 'nope' }), 'item_not_found');
        await expectQueueError(store.list({ limit: 0 }), 'invalid_argument', 'limit');

        const item = (await store.get(made[1]!.id))!;
        (item.request as { image?: string }).image = 'changed';
        (item.events as unknown[]).length = 0;
        const fresh = (await store.get(made[1]!.id))!;
        expect(fresh.request.image).toBe('i:1');
        expect(fresh.events).toHaveLength(1);
        expect(await store.get('nope')).toBeUndefined();
      });

      test('items of a deleted queue stay readable', async () => {
        await createQueue('gone');
        const { id } = await store.enqueue('gone', { image: 'i:1' });
        await store.requestCancel(id);
        await store.deleteQueue('gone');
        expect((await store.get(id))!.outcome).toBe('cancelled');
        expect((await store.list({ queue: 'gone' })).map((i) => i.id)).toEqual([id]);
      });
    });

    describe('agents', () => {
      const report = (agentId: string, patch: Partial<AgentHeartbeat> = {}): AgentHeartbeat => ({
        agentId,
        host: 'build-7',
        pid: 4242,
        queues: ['gpu', 'cpu'],
        maxJobs: 2,
        active: 0,
        state: 'running',
        heartbeatIntervalMs: 20_000,
        ...patch,
      });

      test('recordAgent saves a report; the next one replaces it and keeps startedAt', async () => {
        expect(await store.listAgents()).toEqual([]);
        const first = await store.recordAgent(report('agent-a'));
        expect(first).toEqual({
          ...report('agent-a'),
          startedAt: iso(CONFORMANCE_EPOCH),
          heartbeatAt: iso(CONFORMANCE_EPOCH),
        });
        clock.advance(20_000);
        const second = await store.recordAgent(report('agent-a', { active: 2, queues: ['gpu'], state: 'stopping' }));
        expect(second).toMatchObject({
          active: 2,
          queues: ['gpu'],
          state: 'stopping',
          startedAt: iso(CONFORMANCE_EPOCH),
          heartbeatAt: iso(CONFORMANCE_EPOCH + 20_000),
        });
        expect(await store.listAgents()).toEqual([second]);
        // A report without a pid has none.
        const noPid = report('agent-b');
        delete noPid.pid;
        expect(await store.recordAgent(noPid)).not.toHaveProperty('pid');
      });

      test('listAgents: most recently heard from first; agents silent for the retention time are dropped', async () => {
        await store.recordAgent(report('old'));
        clock.advance(1000);
        await store.recordAgent(report('agent-z'));
        clock.advance(1000);
        await store.recordAgent(report('agent-y', { maxJobs: -1 }));
        expect((await store.listAgents()).map((a) => [a.agentId, a.maxJobs])).toEqual([
          ['agent-y', -1],
          ['agent-z', 2],
          ['old', 2],
        ]);
        clock.advance(AGENT_RECORD_RETENTION_MS - 1500);
        expect((await store.listAgents()).map((a) => a.agentId)).toEqual(['agent-y', 'agent-z']);
        await store.recordAgent(report('agent-y', { state: 'stopped' }));
        clock.advance(1000);
        expect((await store.listAgents()).map((a) => [a.agentId, a.state])).toEqual([['agent-y', 'stopped']]);
      });

      test('listAgents returns copies', async () => {
        await store.recordAgent(report('agent-a'));
        const [record] = await store.listAgents();
        (record!.queues as string[]).push('changed');
        expect((await store.listAgents())[0]!.queues).toEqual(['gpu', 'cpu']);
      });

      test('recordAgent refuses a bad report, naming the field', async () => {
        await expectQueueError(store.recordAgent(report('')), 'invalid_argument', 'agent id');
        await expectQueueError(store.recordAgent(report('a', { maxJobs: 0 })), 'invalid_argument', '`maxJobs`');
        await expectQueueError(store.recordAgent(report('a', { active: -1 })), 'invalid_argument', '`active`');
        await expectQueueError(
          store.recordAgent(report('a', { state: 'asleep' as AgentHeartbeat['state'] })),
          'invalid_argument',
          '`state`',
        );
        await expectQueueError(
          store.recordAgent(report('a', { queues: 'gpu' as unknown as string[] })),
          'invalid_argument',
          '`queues`',
        );
        await expectQueueError(
          store.recordAgent(report('a', { heartbeatIntervalMs: 0 })),
          'invalid_argument',
          '`heartbeatIntervalMs`',
        );
        expect(await store.listAgents()).toEqual([]);
      });
    });
  });
}
