import { describe, expect, test } from 'vitest';
import type { JobSnapshot } from '../launch/runner.js';
import { sweepJobs } from './orphans.js';
import type { QueueItem } from './store.js';

const job = (id: string, labels: Record<string, string>, terminal = false): JobSnapshot => ({
  name: `projects/123/locations/us-central1/customJobs/${id}`,
  id,
  region: 'us-central1',
  displayName: `job-${id}`,
  state: terminal ? 'JOB_STATE_SUCCEEDED' : 'JOB_STATE_RUNNING',
  status: terminal ? 'succeeded' : 'running',
  terminal,
  createTime: undefined,
  startTime: undefined,
  endTime: undefined,
  updateTime: undefined,
  error: undefined,
  labels,
  imageUri: undefined,
  consoleUrl: '',
});

const item = (id: string, fields: Partial<QueueItem>): QueueItem => ({
  id,
  queue: 'GPU.Team',
  launchId: `launch-${id}`,
  runId: `run-${id}`,
  request: { image: 'img:1' },
  state: 'claimed',
  cancelRequested: false,
  attempts: 1,
  retries: 0,
  rung: 0,
  enqueuedAt: '2026-12-04T00:00:00Z',
  updatedAt: '2026-12-04T00:00:00Z',
  events: [],
  ...fields,
});

// The queue label holds the queue name made label-safe: "GPU.Team" -> "gpu_team".
const ours = (launch: string, queue = 'gpu_team') => ({
  'vertex-launch-run-id': 'r',
  'vertex-launch-launch-id': launch,
  'vertex-launch-queue': queue,
});

describe('sweepJobs', () => {
  const items = [
    item('1', { jobName: 'projects/p/locations/us-central1/customJobs/11' }),
    item('2', {
      state: 'finished',
      outcome: 'failed',
      finishedAt: '2026-12-04T01:00:00Z',
      jobName: 'projects/123/locations/us-central1/customJobs/22',
    }),
    item('3', { jobName: 'projects/123/locations/us-central1/customJobs/33' }),
    item('5', { state: 'queued' }),
  ];
  const jobs = [
    job('11', ours('launch-1')),
    job('22', ours('launch-2')),
    job('34', ours('launch-3')),
    job('44', ours('launch-gone')),
    job('55', ours('launch-5')),
    job('66', { 'vertex-launch-run-id': 'r', 'vertex-launch-launch-id': 'direct' }),
    job('77', ours('launch-x', 'other_queue')),
    job('88', ours('launch-gone'), true),
  ];
  const entries = sweepJobs(jobs, ['GPU.Team'], items);
  const verdict = (id: string) => entries.find((e) => e.job.id === id);

  test('an unfinished item owns its job, matched by id whatever the project is spelled as', () => {
    expect(verdict('11')).toMatchObject({ verdict: 'owned', queue: 'GPU.Team', reason: 'item 1 is claimed' });
  });
  test('a queued item owns a job of its launch id that it has not recorded yet (submit unknown)', () => {
    expect(verdict('55')?.verdict).toBe('owned');
  });
  test('a finished item, a missing item and a second job of one launch make orphans, each saying why', () => {
    expect(verdict('22')).toMatchObject({
      verdict: 'orphan',
      reason: expect.stringMatching(/item 2 finished \(failed at 2026-12-04T01:00:00Z\)/),
    });
    expect(verdict('34')).toMatchObject({
      verdict: 'orphan',
      reason: expect.stringMatching(/second job of launch launch-3: item 3 tracks .*\/33/),
    });
    expect(verdict('44')).toMatchObject({ verdict: 'orphan', reason: 'no item of queue "GPU.Team" has its launch id' });
  });
  test('jobs without a queue, and of queues this store does not have, are never orphans', () => {
    expect(verdict('66')?.verdict).toBe('direct');
    expect(verdict('77')).toMatchObject({
      verdict: 'other_store',
      reason: expect.stringMatching(/"other_queue" is not in this queue store/),
    });
  });
  test('finished jobs are left out', () => {
    expect(verdict('88')).toBeUndefined();
    expect(entries).toHaveLength(7);
  });
});
