// One tracker for many jobs: batched list calls per cycle, counted in the emulator.

import type { JobSnapshot } from '@vertex-launch/core';
import type { Emulator } from '@vertex-launch/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrackerCycle, VertexRunner } from '../src/index.js';
import { emulator, request, runnerFor } from './support.js';

let emu: Emulator;
let runner: VertexRunner;
const cycles: TrackerCycle[] = [];

beforeAll(async () => {
  // Jobs run until the test advances the emulator clock.
  emu = await emulator({ jobTimings: { queuedMs: 10, pendingMs: 10, runningMs: 600_000, cancellingMs: 10 } });
  runner = runnerFor(emu, {
    tracker: { minIntervalMs: 20, maxIntervalMs: 40 },
    onTrackerCycle: (c) => cycles.push(c),
  });
});
afterAll(async () => {
  await runner?.close();
  await emu?.stop();
});

async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('tracking 200 running jobs', () => {
  it('costs at most 2 list calls (and no gets) per cycle, and every final state frees its watcher', async () => {
    const submitted = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        runner.submit(request(emu, { launchId: `track-${i}` }), { launchId: `track-${i}` }),
      ),
    );
    // Let them all reach RUNNING before tracking starts.
    await emu.clock.advance(100);

    const states = new Map<string, string>();
    const finals = new Map<string, JobSnapshot>();
    for (const { jobName, job } of submitted) {
      runner.watch(
        jobName,
        {
          onChange: (j) => {
            states.set(j.name, j.state);
            if (j.terminal) finals.set(j.name, j);
          },
          onError: (e) => {
            throw e;
          },
        },
        job,
      );
    }
    emu.resetCounters();
    cycles.length = 0;
    await until(() => cycles.length >= 6, '6 tracker cycles');
    const running = cycles.slice(0, 6);
    const counters = emu.counters();
    expect(running.every((c) => c.tracked === 200)).toBe(true);
    expect(running.every((c) => c.listCalls <= 2 && c.getCalls === 0)).toBe(true);
    expect(counters['aiplatform.customJobs.get'] ?? 0).toBe(0);
    expect((counters['aiplatform.customJobs.list'] ?? 0) / cycles.length).toBeLessThanOrEqual(2);
    expect([...states.values()].filter((s) => s === 'JOB_STATE_RUNNING')).toHaveLength(200);
    console.info(
      `[tracker] 200 running jobs: list calls per cycle ${running.map((c) => c.listCalls).join(',')}; emulator list calls ${counters['aiplatform.customJobs.list']} in ${cycles.length} cycles`,
    );

    // A burst: cancel 3, let everything else finish at once; all watchers hear their final state.
    for (const { jobName } of submitted.slice(0, 3)) await runner.cancel(jobName, { wait: false });
    cycles.length = 0;
    await emu.clock.advance(600_000);
    await until(() => finals.size === 200, 'all 200 final states');
    expect(cycles.every((c) => c.listCalls <= 2 && c.getCalls === 0)).toBe(true);
    const byState = new Map<string, number>();
    for (const j of finals.values()) byState.set(j.state, (byState.get(j.state) ?? 0) + 1);
    expect(Object.fromEntries(byState)).toEqual({ JOB_STATE_CANCELLED: 3, JOB_STATE_SUCCEEDED: 197 });
    // Nothing is tracked any more, so the tracker stops polling.
    const after = emu.counters()['aiplatform.customJobs.list'];
    await new Promise((r) => setTimeout(r, 150));
    expect(emu.counters()['aiplatform.customJobs.list']).toBe(after);
  });

  it('a job watched by name alone is read first, then tracked; a deleted job is reported to its watcher', async () => {
    const { jobName } = await runner.submit(request(emu, { launchId: 'track-plain' }), { launchId: 'track-plain' });
    const seen: string[] = [];
    const error = await new Promise<unknown>((resolve) => {
      runner.watch(jobName, {
        onChange: (j) => {
          seen.push(j.state);
          if (j.state === 'JOB_STATE_RUNNING') void runner.cancel(jobName, { wait: false });
          if (j.state === 'JOB_STATE_CANCELLED') resolve(undefined);
        },
        onError: resolve,
      });
    });
    expect(error).toBeUndefined();
    expect(seen.at(-1)).toBe('JOB_STATE_CANCELLED');

    const gone = await runner.submit(request(emu, { launchId: 'track-gone' }), { launchId: 'track-gone' });
    await runner.cancel(gone.jobName);
    const { v1 } = await import('@google-cloud/aiplatform');
    const raw = new v1.JobServiceClient(emu.jobServiceClientOptions());
    const [op] = await raw.deleteCustomJob({ name: gone.jobName });
    await op.promise();
    await raw.close();
    const deleted = await new Promise<unknown>((resolve) => {
      runner.watch(gone.jobName, { onChange: () => {}, onError: resolve });
    });
    expect((deleted as Error).message).toContain('does not exist');
  });

  it('an unchanged job keeps its snapshot from cycle to cycle; a change brings a new one', async () => {
    const { jobName, job } = await runner.submit(request(emu, { launchId: 'track-same' }), {
      launchId: 'track-same',
    });
    const heard: JobSnapshot[] = [];
    const stop = runner.watch(jobName, { onChange: (j) => heard.push(j), onError: () => {} }, job);
    await emu.clock.advance(100);
    await until(() => heard.some((j) => j.state === 'JOB_STATE_RUNNING'), 'RUNNING');
    const running = heard.find((j) => j.state === 'JOB_STATE_RUNNING') as JobSnapshot;
    // Later cycles list the same job again (same state, same update time): the tracker keeps the snapshot it has,
    // which a watcher added now is given — the very object, not an equal copy built from each list answer.
    cycles.length = 0;
    await until(() => cycles.length >= 3, '3 more tracker cycles');
    const later: JobSnapshot[] = [];
    const stopLater = runner.watch(jobName, { onChange: (j) => later.push(j), onError: () => {} });
    await until(() => later.length === 1, 'the snapshot of the second watcher');
    expect(later[0]).toBe(running);
    expect(heard.filter((j) => j.state === 'JOB_STATE_RUNNING')).toHaveLength(1);
    // A change is a new snapshot, with the new state and times.
    await runner.cancel(jobName, { wait: false });
    await emu.clock.advance(100);
    await until(() => heard.at(-1)?.terminal === true, 'the final state');
    const final = heard.at(-1) as JobSnapshot;
    expect(final).not.toBe(running);
    expect(final.state).toBe('JOB_STATE_CANCELLED');
    expect(final.updateTime?.getTime()).toBeGreaterThan(running.updateTime?.getTime() ?? 0);
    stop();
    stopLater();
  });

  it('a second watcher that read a newer state tells the first one: no watcher misses RUNNING', async () => {
    // A tracker that does not poll during the test: only the second watcher's snapshot can tell the first.
    const slow = runnerFor(emu, { tracker: { minIntervalMs: 120_000, maxIntervalMs: 120_000 } });
    try {
      const { jobName, job } = await slow.submit(request(emu, { launchId: 'track-newer' }), {
        launchId: 'track-newer',
      });
      expect(job.state).not.toBe('JOB_STATE_RUNNING');
      const seen: string[] = [];
      const stop = slow.watch(jobName, { onChange: (j) => seen.push(j.state), onError: () => {} }, job);
      // Another reader (a log follower) gets the job after it started and watches it with that snapshot.
      await emu.clock.advance(100);
      const running = await slow.get(jobName);
      expect(running.state).toBe('JOB_STATE_RUNNING');
      expect(seen).toEqual([]);
      const stopOther = slow.watch(jobName, { onChange: () => {}, onError: () => {} }, running);
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(seen).toEqual(['JOB_STATE_RUNNING']);
      stop();
      stopOther();
      await slow.cancel(jobName, { wait: false });
    } finally {
      await slow.close();
    }
  });
});
