// The Vertex runner against the emulator: submit, get, wait, cancel, list, errors with hints.
import { ApiError, ConfigError, LAUNCH_ID_LABEL, PermissionError, RUN_ID_LABEL } from '@vertex-launch/core';
import type { Emulator } from '@vertex-launch/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type VertexRunner, vertexRunner } from '../src/index.js';
import { emulator, request, runnerFor, tokenClient } from './support.js';

let emu: Emulator;
let runner: VertexRunner;

beforeAll(async () => {
  emu = await emulator();
  runner = runnerFor(emu);
});
afterAll(async () => {
  await runner?.close();
  await emu?.stop();
});

describe('submit, get, wait', () => {
  it('submits a job with our labels and waits until SUCCEEDED, hearing each state', async () => {
    const req = request(emu, { runId: 'happy1', launchId: 'launch-happy-1' });
    const { jobName, job, existing } = await runner.submit(req, { launchId: 'launch-happy-1' });
    expect(existing).toBe(false);
    expect(jobName).toMatch(new RegExp(`^projects/${emu.projectNumber}/locations/us-central1/customJobs/\\d+$`));
    expect(job.state).toBe('JOB_STATE_QUEUED');
    expect(job.labels[LAUNCH_ID_LABEL]).toBe('launch-happy-1');
    expect(job.labels[RUN_ID_LABEL]).toBe('happy1');
    expect(job.consoleUrl).toBe(
      `https://console.cloud.google.com/vertex-ai/locations/us-central1/training/${job.id}?project=${emu.projectId}`,
    );
    const seen: string[] = [];
    const final = await runner.wait(jobName, { initial: job, onChange: (j) => seen.push(j.state) });
    expect(final.state).toBe('JOB_STATE_SUCCEEDED');
    expect(final.status).toBe('succeeded');
    expect(final.terminal).toBe(true);
    expect(final.error).toBeUndefined();
    expect(seen.at(-1)).toBe('JOB_STATE_SUCCEEDED');
    expect(final.endTime?.getTime()).toBeGreaterThanOrEqual(final.startTime?.getTime() ?? Number.NaN);
    // get by bare id resolves the project and region of the runner.
    const again = await runner.get(job.id);
    expect(again.name).toBe(jobName);
    expect(again.state).toBe('JOB_STATE_SUCCEEDED');
  });

  it('reports a failed job with Vertex’s error', async () => {
    const { jobName, job } = await runner.submit(
      request(emu, { env: { VXL_EMULATOR_EXIT_CODE: '3' }, launchId: 'launch-fail-1' }),
      {
        launchId: 'launch-fail-1',
      },
    );
    const final = await runner.wait(jobName, { initial: job });
    expect(final.state).toBe('JOB_STATE_FAILED');
    expect(final.status).toBe('failed');
    expect(final.error?.code).toBe(3);
    expect(final.error?.message).toContain('The replica workerpool0-0 exited with a non-zero status of 3');
  });

  it('cancel returns once Vertex reports CANCELLED; cancelling an ended job reports its state', async () => {
    const { jobName } = await runner.submit(
      request(emu, { env: { VXL_EMULATOR_RUN_MS: '60000' }, launchId: 'launch-cancel-1' }),
      {
        launchId: 'launch-cancel-1',
      },
    );
    const cancelled = await runner.cancel(jobName);
    expect(cancelled.state).toBe('JOB_STATE_CANCELLED');
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.error).toEqual({ code: 1, message: 'CANCELED' });
    const again = await runner.cancel(jobName);
    expect(again.state).toBe('JOB_STATE_CANCELLED');
  });

  it('cancel times out saying so when the job does not stop in time', async () => {
    const slow = await emulator({
      jobTimings: { queuedMs: 30, pendingMs: 30, runningMs: 60_000, cancellingMs: 60_000 },
    });
    const r = runnerFor(slow);
    try {
      const { jobName } = await r.submit(request(slow, { launchId: 'launch-cancel-slow' }), {
        launchId: 'launch-cancel-slow',
      });
      const error = await r.cancel(jobName, { timeoutMs: 200 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toContain(`waiting for job ${jobName} to be cancelled`);
      expect((error as Error).message).toContain('JOB_STATE_CANCELLING');
    } finally {
      await r.close();
      await slow.stop();
    }
  });

  it('lists our jobs newest first, filtered by label', async () => {
    const before = await runner.list();
    const a = await runner.submit(request(emu, { runId: 'list-a', launchId: 'launch-list-a' }), {
      launchId: 'launch-list-a',
    });
    const b = await runner.submit(request(emu, { runId: 'list-b', launchId: 'launch-list-b' }), {
      launchId: 'launch-list-b',
    });
    const jobs = await runner.list();
    expect(jobs.length).toBe(before.length + 2);
    expect(jobs[0]?.name).toBe(b.jobName);
    expect(jobs[1]?.name).toBe(a.jobName);
    const one = await runner.list({ filter: `labels.${RUN_ID_LABEL}="list-a"` });
    expect(one.map((j) => j.name)).toEqual([a.jobName]);
    expect(await runner.list({ limit: 1 })).toHaveLength(1);
  });
});

describe('errors', () => {
  it('INVALID_ARGUMENT surfaces at once as ApiError with Google’s message, without retries', async () => {
    const req = request(emu, { launchId: 'launch-invalid' });
    req.customJob.jobSpec.workerPoolSpecs[0]!.machineSpec!.machineType = 'n1-superfast-3';
    const before = emu.counters()['aiplatform.customJobs.create'] ?? 0;
    const error = await runner.submit(req, { launchId: 'launch-invalid' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).grpcCode).toBe(3);
    expect((error as ApiError).message).toContain(
      'Field: custom_job.job_spec.worker_pool_specs[0].machine_spec.machine_type; Message: `n1-superfast-3` is not a machine type Vertex AI custom training lists',
    );
    expect((error as ApiError).hint).toContain('queue config');
    expect(emu.counters()['aiplatform.customJobs.create']).toBe(before + 1);
  });

  it('a missing actAs permission is a PermissionError naming the service account and the principal', async () => {
    const member = 'launcher@vxl-emulator.iam.gserviceaccount.com';
    await emu.iam.createServiceAccount(member, {
      permissions: ['aiplatform.customJobs.create', 'aiplatform.customJobs.get', 'aiplatform.customJobs.list'],
    });
    const r = vertexRunner({
      authClient: tokenClient(emu.iam.issueToken(member)),
      projectId: emu.projectId,
      region: emu.region,
      principal: member,
      env: emu.env,
      retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 2 },
    });
    try {
      const error = await r
        .submit(request(emu, { serviceAccount: emu.iam.runnerEmail, launchId: 'launch-actas' }), {
          launchId: 'launch-actas',
        })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PermissionError);
      expect((error as PermissionError).permission).toBe('iam.serviceAccounts.actAs');
      expect((error as PermissionError).message).toContain("Permission 'iam.serviceAccounts.actAs' denied");
      expect((error as PermissionError).hint).toContain(
        `Grant roles/iam.serviceAccountUser on ${emu.iam.runnerEmail} to ${member}`,
      );
    } finally {
      await r.close();
    }
  });

  it('SubmitOptions.timeoutMs (run.create_request_timeout) is the deadline of the CreateCustomJob call', async () => {
    const once = runnerFor(emu, { retry: { maxAttempts: 1 } });
    try {
      emu.faults.inject('aiplatform.customJobs.create', { latencyMs: 1_500, times: 1 });
      const started = Date.now();
      const error = await once
        .submit(request(emu, { launchId: 'launch-deadline' }), { launchId: 'launch-deadline', timeoutMs: 200 })
        .catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(1_400);
      expect(error).toBeInstanceOf(ApiError);
      expect((error as ApiError).grpcCode).toBe(4);
      // The same latency within the default deadline (60 s) is no failure.
      emu.faults.inject('aiplatform.customJobs.create', { latencyMs: 1_500, times: 1 });
      const { job } = await once.submit(request(emu, { launchId: 'launch-no-deadline' }), {
        launchId: 'launch-no-deadline',
      });
      expect(job.state).toBe('JOB_STATE_QUEUED');
    } finally {
      await once.close();
    }
  });

  it('names every missing option when the runner is created', () => {
    expect(() => vertexRunner({ region: 'nowhere' })).toThrow(
      /`authClient` \(or `credentials`\) is required; `projectId` is required.*`region`: `nowhere` \(from the `region` option\) is not a region name/,
    );
    // A malformed region gets its did-you-mean.
    expect(() => vertexRunner({ region: 'US-CENTRAL1' })).toThrow('Did you mean `us-central1`?');
  });

  it('an unknown or misnamed option is an error naming the right name (plain JS gets no type check)', () => {
    const options = { authClient: tokenClient('t'), project: 'p', location: 'us-central1', retyr: {} };
    let error: unknown;
    try {
      vertexRunner(options as never);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe(
      '[vertex-launch] [runner:vertex] 3 problems with the options:\n' +
        '  - Unknown option `project`; did you mean `projectId`?\n' +
        '  - Unknown option `location`; did you mean `region`?\n' +
        '  - Unknown option `retyr`; did you mean `retry`?',
    );
    expect((error as ConfigError).issues.map((i) => i.path)).toEqual(['project', 'location', 'retyr']);
  });

  it('NOT_FOUND names the job and how to check it', async () => {
    const error = await runner.get('1234567890123456789').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).message).toContain('customJobs/1234567890123456789');
    expect((error as ApiError).hint).toContain('--project');
  });
});
