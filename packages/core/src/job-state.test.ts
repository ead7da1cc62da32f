import { expect, test } from 'vitest';
import { JOB_STATES, jobStateToStatus } from './job-state.js';

test('every Vertex JobState maps to a launch status with a terminal flag', () => {
  expect(Object.fromEntries(JOB_STATES.map((s) => [s, jobStateToStatus(s)]))).toMatchInlineSnapshot(`
    {
      "JOB_STATE_CANCELLED": {
        "state": "JOB_STATE_CANCELLED",
        "status": "cancelled",
        "terminal": true,
      },
      "JOB_STATE_CANCELLING": {
        "state": "JOB_STATE_CANCELLING",
        "status": "cancelling",
        "terminal": false,
      },
      "JOB_STATE_EXPIRED": {
        "state": "JOB_STATE_EXPIRED",
        "status": "expired",
        "terminal": true,
      },
      "JOB_STATE_FAILED": {
        "state": "JOB_STATE_FAILED",
        "status": "failed",
        "terminal": true,
      },
      "JOB_STATE_PARTIALLY_SUCCEEDED": {
        "state": "JOB_STATE_PARTIALLY_SUCCEEDED",
        "status": "partially_succeeded",
        "terminal": true,
      },
      "JOB_STATE_PAUSED": {
        "state": "JOB_STATE_PAUSED",
        "status": "paused",
        "terminal": false,
      },
      "JOB_STATE_PENDING": {
        "state": "JOB_STATE_PENDING",
        "status": "pending",
        "terminal": false,
      },
      "JOB_STATE_QUEUED": {
        "state": "JOB_STATE_QUEUED",
        "status": "queued",
        "terminal": false,
      },
      "JOB_STATE_RUNNING": {
        "state": "JOB_STATE_RUNNING",
        "status": "running",
        "terminal": false,
      },
      "JOB_STATE_SUCCEEDED": {
        "state": "JOB_STATE_SUCCEEDED",
        "status": "succeeded",
        "terminal": true,
      },
      "JOB_STATE_UNSPECIFIED": {
        "state": "JOB_STATE_UNSPECIFIED",
        "status": "unknown",
        "terminal": false,
      },
      "JOB_STATE_UPDATING": {
        "state": "JOB_STATE_UPDATING",
        "status": "updating",
        "terminal": false,
      },
    }
  `);
});

test('accepts enum numbers, short names and nothing', () => {
  expect(jobStateToStatus(3)).toEqual({ status: 'running', terminal: false, state: 'JOB_STATE_RUNNING' });
  expect(jobStateToStatus('4')).toEqual({ status: 'succeeded', terminal: true, state: 'JOB_STATE_SUCCEEDED' });
  expect(jobStateToStatus('failed')).toEqual({ status: 'failed', terminal: true, state: 'JOB_STATE_FAILED' });
  expect(jobStateToStatus(undefined)).toEqual({ status: 'unknown', terminal: false, state: 'JOB_STATE_UNSPECIFIED' });
  expect(jobStateToStatus(99)).toEqual({ status: 'unknown', terminal: false, state: '99' });
  expect(jobStateToStatus('JOB_STATE_NEW_THING')).toEqual({
    status: 'unknown',
    terminal: false,
    state: 'JOB_STATE_NEW_THING',
  });
});
