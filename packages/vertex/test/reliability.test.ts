// Retries, idempotent submits and quota limits against the emulator's injected faults and quotas.
import { LAUNCH_ID_LABEL, type RetryEvent, SubmitUnknownError, type SubmitUnknownEvent } from '@vertex-launch/core';
import type { Emulator } from '@vertex-launch/emulator';
import { afterEach, describe, expect, it } from 'vitest';
import { testSeed } from '../../../test/seed.js';
import type { VertexRunner } from '../src/index.js';
import { emulator, request, runnerFor } from './support.js';

let emu: Emulator | undefined;
let runner: VertexRunner | undefined;
afterEach(async () => {
  await runner?.close();
  await emu?.stop();
  runner = undefined;
  emu = undefined;
});

describe('idempotent submit', () => {
  it('100 launches under 20% UNAVAILABLE and 5% DEADLINE_EXCEEDED-after-commit make exactly 100 jobs', async () => {
    // The calls the rates hit are drawn from the run's seed (VXL_TEST_SEED replays them), printed below.
    const seed = testSeed();
    emu = await emulator({ faultSeed: seed, jobTimings: { queuedMs: 60_000, pendingMs: 60_000, runningMs: 60_000 } });
    const retries: RetryEvent[] = [];
    runner = runnerFor(emu, { onRetry: (e) => retries.push(e) });
    emu.faults.inject('aiplatform.customJobs.create', { code: 'UNAVAILABLE', rate: 0.2 });
    emu.faults.inject('aiplatform.customJobs.create', { code: 'DEADLINE_EXCEEDED', rate: 0.05, phase: 'after' });
    const launchIds = Array.from({ length: 100 }, (_, i) => `launch-flaky-${i}`);
    const r = runner;
    const e = emu;
    const results = await Promise.all(launchIds.map((launchId) => r.submit(request(e, { launchId }), { launchId })));
    emu.faults.clear();

    const jobs = await runner.list({ all: true, limit: 1000 });
    const creates = emu.counters()['aiplatform.customJobs.create'] ?? 0;
    const found = results.filter((x) => x.existing);
    console.info(
      `[100 launches] creates sent: ${creates}, retries: ${retries.length}, found by launch id: ${found.length}, jobs: ${jobs.length}, faults injected: ${JSON.stringify(emu.faults.injected())}; seed ${seed}`,
    );
    expect(jobs).toHaveLength(100);
    expect(new Set(jobs.map((j) => j.labels[LAUNCH_ID_LABEL]))).toEqual(new Set(launchIds));
    expect(new Set(results.map((x) => x.jobName)).size).toBe(100);
    // The faults did hit, and every attempt was ours (gax retried nothing): our count is the emulator's.
    expect(creates).toBeGreaterThan(100);
    expect(runner.calls().createCustomJob).toBe(creates);
    expect(retries.some((x) => (x.error as { code?: number }).code === 14)).toBe(true);
    // Launches whose create committed but answered DEADLINE_EXCEEDED were found by their launch id.
    const afterFaults = retries.filter((x) => (x.error as { code?: number }).code === 4).length;
    expect(found.length).toBeLessThanOrEqual(afterFaults);
  });

  it('a create that committed but timed out is found by its launch id, not created again', async () => {
    emu = await emulator({ jobTimings: { queuedMs: 60_000, pendingMs: 60_000, runningMs: 60_000 } });
    runner = runnerFor(emu);
    emu.faults.inject('aiplatform.customJobs.create', { code: 'DEADLINE_EXCEEDED', phase: 'after', times: 1 });
    const result = await runner.submit(request(emu, { launchId: 'launch-once' }), { launchId: 'launch-once' });
    expect(result.existing).toBe(true);
    expect(result.job.labels[LAUNCH_ID_LABEL]).toBe('launch-once');
    expect(emu.counters()['aiplatform.customJobs.create']).toBe(1);
    expect(emu.counters()['aiplatform.customJobs.list']).toBe(1);
    expect((await runner.list({ all: true })).map((j) => j.name)).toEqual([result.jobName]);
  });

  it('a create the server cut off (CANCELLED, as a server shutting down answers) is settled, never failed or doubled', async () => {
    emu = await emulator({ jobTimings: { queuedMs: 60_000, pendingMs: 60_000, runningMs: 60_000 } });
    runner = runnerFor(emu);
    // Committed, then cut off: found by its launch id.
    emu.faults.inject('aiplatform.customJobs.create', { code: 'CANCELLED', phase: 'after', times: 1 });
    const committed = await runner.submit(request(emu, { launchId: 'launch-cut-after' }), {
      launchId: 'launch-cut-after',
    });
    expect(committed.existing).toBe(true);
    // Cut off before it was applied: looked up, absent, created once.
    emu.faults.inject('aiplatform.customJobs.create', { code: 'CANCELLED', times: 1 });
    const retried = await runner.submit(request(emu, { launchId: 'launch-cut-before' }), {
      launchId: 'launch-cut-before',
    });
    expect(retried.existing).toBe(false);
    const jobs = await runner.list({ all: true });
    expect(jobs.map((j) => j.labels[LAUNCH_ID_LABEL]).sort()).toEqual(['launch-cut-after', 'launch-cut-before']);
    expect(emu.counters()['aiplatform.customJobs.create']).toBe(3);
  });

  it('an UNAVAILABLE before the create looks the launch id up, finds nothing and creates once', async () => {
    emu = await emulator({ jobTimings: { queuedMs: 60_000, pendingMs: 60_000, runningMs: 60_000 } });
    runner = runnerFor(emu);
    emu.faults.inject('aiplatform.customJobs.create', { code: 'UNAVAILABLE', times: 2 });
    const result = await runner.submit(request(emu, { launchId: 'launch-u' }), { launchId: 'launch-u' });
    expect(result.existing).toBe(false);
    expect(emu.counters()['aiplatform.customJobs.create']).toBe(3);
    expect(emu.counters()['aiplatform.customJobs.list']).toBe(2);
    expect(await runner.list({ all: true })).toHaveLength(1);
  });

  it('gives up after the last attempt with an ApiError that says so', async () => {
    emu = await emulator();
    runner = runnerFor(emu, { retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 2 } });
    emu.faults.inject('aiplatform.customJobs.create', { code: 'UNAVAILABLE' });
    const error = (await runner
      .submit(request(emu, { launchId: 'launch-down' }), { launchId: 'launch-down' })
      .catch((e: unknown) => e)) as Error & { hint?: string; grpcCode?: number };
    expect(error.message).toContain('UNAVAILABLE');
    expect(error.grpcCode).toBe(14);
    expect(error.hint).toContain('unavailable through every retry');
    expect(emu.counters()['aiplatform.customJobs.create']).toBe(3);
    expect(await runner.list({ all: true })).toHaveLength(0);
  });
});

describe('quotas', () => {
  it('the client-side limiter keeps creates under the Vertex quota (no RESOURCE_EXHAUSTED)', async () => {
    emu = await emulator({ quotas: { vertexCreatesPerMinute: 3, vertexReadsPerMinute: 0 } });
    const e = emu;
    const retries: RetryEvent[] = [];
    const start = emu.clock.now();
    // The runner's clock is the emulator's, and its sleeps advance it: a minute passes instantly.
    runner = runnerFor(emu, {
      quotas: { createsPerMinute: 3, readsPerMinute: 0 },
      clock: { now: () => e.clock.now(), sleep: (ms) => e.clock.advance(ms) },
      onRetry: (x) => retries.push(x),
    });
    for (let i = 0; i < 7; i++) {
      await runner.submit(request(emu, { launchId: `launch-q-${i}` }), { launchId: `launch-q-${i}` });
    }
    expect(retries).toEqual([]);
    expect(emu.counters()['aiplatform.customJobs.create']).toBe(7);
    // 7 creates at 3 per minute: the 7th waited for the third minute.
    expect(emu.clock.now() - start).toBeGreaterThanOrEqual(120_000);
  });

  it('RESOURCE_EXHAUSTED is retried with backoff and makes no duplicate', async () => {
    emu = await emulator({ quotas: { vertexCreatesPerMinute: 2, vertexReadsPerMinute: 0 } });
    const e = emu;
    const retries: RetryEvent[] = [];
    runner = runnerFor(emu, {
      retry: { maxAttempts: 10, initialDelayMs: 10_000, maxDelayMs: 60_000, multiplier: 2 },
      clock: { now: () => e.clock.now(), sleep: (ms) => e.clock.advance(ms) },
      random: () => 0.99,
      onRetry: (x) => retries.push(x),
    });
    for (let i = 0; i < 3; i++) {
      await runner.submit(request(emu, { launchId: `launch-re-${i}` }), { launchId: `launch-re-${i}` });
    }
    expect(retries.length).toBeGreaterThan(0);
    expect(retries.every((x) => (x.error as { code?: number }).code === 8)).toBe(true);
    // RESOURCE_EXHAUSTED is refused before any change: no lookup was needed.
    expect(emu.counters()['aiplatform.customJobs.list'] ?? 0).toBe(0);
    expect(await runner.list({ all: true })).toHaveLength(3);
  });
});

describe("a create the server commits after the client's deadline", () => {
  const slow = { jobTimings: { queuedMs: 60_000, pendingMs: 60_000, runningMs: 60_000 } };

  it('keeps looking the launch id up (through failing lists) and finds the late job: one create, one job', async () => {
    emu = await emulator(slow);
    const unknown: SubmitUnknownEvent[] = [];
    runner = runnerFor(emu, { createLookup: { windowMs: 3_000, intervalMs: 50 } });
    emu.faults.inject('aiplatform.customJobs.create', {
      code: 'DEADLINE_EXCEEDED',
      phase: 'late',
      commitDelayMs: 600,
      times: 1,
    });
    emu.faults.inject('aiplatform.customJobs.list', { code: 'UNAVAILABLE', times: 30 });
    const result = await runner.submit(request(emu, { launchId: 'launch-late' }), {
      launchId: 'launch-late',
      onUnknown: (event) => {
        unknown.push(event);
      },
    });
    expect(result.existing).toBe(true);
    expect(emu.counters()['aiplatform.customJobs.create']).toBe(1);
    expect((await runner.list({ all: true })).map((j) => j.name)).toEqual([result.jobName]);
    expect(unknown).toMatchObject([{ launchId: 'launch-late', filter: `labels.${LAUNCH_ID_LABEL}="launch-late"` }]);
  });

  it('with lists failing until the window ends: SubmitUnknownError naming the filter, and no second create', async () => {
    emu = await emulator(slow);
    runner = runnerFor(emu, { createLookup: { windowMs: 800, intervalMs: 50 } });
    emu.faults.inject('aiplatform.customJobs.create', { code: 'DEADLINE_EXCEEDED', phase: 'late', commitDelayMs: 300 });
    emu.faults.inject('aiplatform.customJobs.list', { code: 'UNAVAILABLE' });
    const error = await runner
      .submit(request(emu, { launchId: 'launch-dark' }), { launchId: 'launch-dark' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SubmitUnknownError);
    const e = error as SubmitUnknownError;
    expect(e.code).toBe('SUBMIT_UNKNOWN');
    expect(e.message).toContain('may exist');
    expect(e.filter).toBe(`labels.${LAUNCH_ID_LABEL}="launch-dark"`);
    expect(e.hint).toContain(`gcloud ai custom-jobs list --project=${emu.projectId} --region=${emu.region}`);
    expect(emu.counters()['aiplatform.customJobs.create']).toBe(1);
    emu.faults.clear();
    expect(await runner.list({ all: true })).toHaveLength(1);
  });

  it('a create that never committed is created again only after a lookup past the window answers none', async () => {
    emu = await emulator(slow);
    runner = runnerFor(emu, { createLookup: { windowMs: 500, intervalMs: 100 } });
    emu.faults.inject('aiplatform.customJobs.create', { code: 'DEADLINE_EXCEEDED', times: 1 });
    const started = Date.now();
    const result = await runner.submit(request(emu, { launchId: 'launch-lost' }), { launchId: 'launch-lost' });
    expect(result.existing).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    expect(emu.counters()['aiplatform.customJobs.create']).toBe(2);
    expect(emu.counters()['aiplatform.customJobs.list']).toBeGreaterThanOrEqual(2);
    expect(await runner.list({ all: true })).toHaveLength(1);
  });
});
