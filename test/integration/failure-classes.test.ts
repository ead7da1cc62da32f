// Every failure class the emulator can produce, through the real Vertex client: the job ends with Vertex's words and
// classifyFailure() names the class (docs/agent.md, Logs).
import { classifyFailure, waitForJob } from '@vertex-launch/core';
import type { Emulator } from '@vertex-launch/emulator';
import type { VertexRunner } from '@vertex-launch/vertex';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { emulator, runnerFor } from '../../packages/vertex/test/support.js';

let emu: Emulator;
let runner: VertexRunner;

beforeAll(async () => {
  emu = await emulator({ jobTimings: { queuedMs: 20, pendingMs: 20, runningMs: 100 } });
  runner = runnerFor(emu);
}, 60_000);

afterAll(async () => {
  await runner?.close();
  await emu?.stop();
});

async function ended(
  key: string,
  env: Record<string, string>,
  scheduling?: Record<string, unknown>,
  machineSpec: Record<string, unknown> = { machineType: 'n1-standard-4' },
) {
  const { jobName } = await runner.submit(
    {
      parent: `projects/${emu.projectId}/locations/${emu.region}`,
      customJob: {
        displayName: `failure-${key}`,
        labels: { 'vertex-launch-run-id': key },
        jobSpec: {
          workerPoolSpecs: [
            {
              machineSpec,
              replicaCount: '1',
              containerSpec: {
                imageUri: 'us-docker.pkg.dev/vxl-emulator/train/trainer:1',
                env: Object.entries(env).map(([name, value]) => ({ name, value })),
              },
            },
          ],
          ...(scheduling ? { scheduling } : {}),
        },
      } as never,
    },
    { launchId: `launch-${key}` },
  );
  const job = await waitForJob(runner, jobName, { timeoutMs: 30_000 });
  return { job, failure: classifyFailure({ status: job.status, error: job.error, region: job.region }) };
}

test.each([
  ['stockout', { VXL_EMULATOR_FAILURE: 'stockout' }, undefined, undefined],
  ['image_pull', { VXL_EMULATOR_FAILURE: 'image_pull' }, undefined, undefined],
  ['preempted', { VXL_EMULATOR_FAILURE: 'preempted' }, { strategy: 'SPOT' }, undefined],
  ['out_of_memory', { VXL_EMULATOR_FAILURE: 'out_of_memory' }, undefined, 137],
  ['user_code', { VXL_EMULATOR_EXIT_CODE: '3' }, undefined, 3],
  ['timeout', { VXL_EMULATOR_RUN_MS: '5000' }, { timeout: { seconds: 1 } }, undefined],
] as const)('%s', async (expected, env, scheduling, exitCode) => {
  const { job, failure } = await ended(expected, env, scheduling);
  expect(job.state).toBe('JOB_STATE_FAILED');
  expect(failure?.class).toBe(expected);
  expect(failure?.exitCode).toBe(exitCode);
  expect(failure?.fix).toBeTruthy();
});

test('flex_wait_expired: a FLEX_START job that never got capacity', async () => {
  const { job, failure } = await ended(
    'flex',
    { VXL_EMULATOR_FAILURE: 'flex_wait_expired' },
    { strategy: 'FLEX_START', maxWaitDuration: { seconds: 1800 } },
    { machineType: 'g2-standard-4', acceleratorType: 'NVIDIA_L4', acceleratorCount: 1 },
  );
  expect(job.error?.message).toContain('max_wait_duration of 1800s');
  expect(failure).toMatchObject({ class: 'flex_wait_expired', fix: expect.stringMatching(/max_wait_duration/) });
});

test('a job that succeeds has no failure class', async () => {
  const { job, failure } = await ended('ok', {});
  expect(job.state).toBe('JOB_STATE_SUCCEEDED');
  expect(failure).toBeUndefined();
});
