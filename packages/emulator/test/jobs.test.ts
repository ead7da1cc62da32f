// Vertex AI JobService over TLS gRPC, driven with the real @google-cloud/aiplatform client.
import { v1 } from '@google-cloud/aiplatform';
import { type Emulator, startEmulator } from '@vertex-launch/emulator';
import { OAuth2Client } from 'google-auth-library';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { customJob, grpcError, logLines } from './support.js';

const QUEUED = 60_000;
const PENDING = 60_000;
const RUNNING = 600_000;

let emu: Emulator;
let client: InstanceType<typeof v1.JobServiceClient>;
let parent: string;

beforeAll(async () => {
  // Long phases: nothing moves unless a test advances the emulator clock.
  emu = await startEmulator({
    jobTimings: { queuedMs: QUEUED, pendingMs: PENDING, runningMs: RUNNING, cancellingMs: 100 },
    quotas: { vertexReadsPerMinute: 0, vertexCreatesPerMinute: 0 },
  });
  client = new v1.JobServiceClient(emu.jobServiceClientOptions());
  parent = `projects/${emu.projectId}/locations/${emu.region}`;
});

afterAll(async () => {
  await client?.close();
  await emu?.stop();
});

async function create(job: ReturnType<typeof customJob>) {
  const [created] = await client.createCustomJob({ parent, customJob: job });
  return created;
}

async function state(name: string | null | undefined) {
  const [job] = await client.getCustomJob({ name });
  return job;
}

describe('create and get', () => {
  test('creates a queued job named with the project number and reads it back by number or id', async () => {
    const created = await create(customJob('create-get', { labels: { team: 'vision' } }));
    expect(created.name).toMatch(
      new RegExp(`^projects/${emu.projectNumber}/locations/us-central1/customJobs/\\d{19}$`),
    );
    expect(created.state).toBe('JOB_STATE_QUEUED');
    expect(created.displayName).toBe('create-get');
    expect(created.labels).toEqual({ team: 'vision' });
    expect(created.jobSpec?.workerPoolSpecs?.[0]?.containerSpec?.args).toEqual(['--epochs', '3']);
    expect(Number(created.createTime?.seconds)).toBeGreaterThan(1_600_000_000);
    expect(created.startTime).toBeNull();

    const byNumber = await state(created.name);
    expect(byNumber.name).toBe(created.name);
    const byId = await state(created.name?.replace(`projects/${emu.projectNumber}`, `projects/${emu.projectId}`));
    expect(byId.name).toBe(created.name);
    expect(byId.updateTime).toEqual(created.updateTime);
  });

  test('answers NOT_FOUND for a job that does not exist', async () => {
    const message = await grpcError(state(`${parent}/customJobs/1234567890123456789`), 5);
    expect(message).toContain('customJobs/1234567890123456789');
    expect(message).toContain('does not exist');
  });
});

describe('lifecycle on the emulator clock', () => {
  test('QUEUED -> PENDING -> RUNNING -> SUCCEEDED with times and log entries', async () => {
    const created = await create(customJob('lifecycle'));
    await emu.clock.advance(QUEUED);
    expect((await state(created.name)).state).toBe('JOB_STATE_PENDING');
    await emu.clock.advance(PENDING);
    const running = await state(created.name);
    expect(running.state).toBe('JOB_STATE_RUNNING');
    expect(Number(running.startTime?.seconds)).toBeGreaterThanOrEqual(Number(created.createTime?.seconds) + 120);
    expect(running.endTime).toBeNull();
    await emu.clock.advance(RUNNING);
    const done = await state(created.name);
    expect(done.state).toBe('JOB_STATE_SUCCEEDED');
    expect(done.error).toBeNull();
    expect(Number(done.endTime?.seconds) - Number(running.startTime?.seconds)).toBe(RUNNING / 1000);

    const id = created.name?.split('/').pop();
    const lines = logLines(emu, 'job_id', id);
    expect(lines).toEqual([
      'Job started',
      'Running command: python -m trainer --epochs 3',
      'Job finished with exit code 0',
    ]);
    const entry = emu.logEntries().find((e) => e.resource.labels.job_id === id);
    expect(entry?.resource).toEqual({
      type: 'ml_job',
      labels: { job_id: id, project_id: emu.projectId, task_name: 'workerpool0-0' },
    });
  });

  test('job log entries are served by Cloud Logging entries:list (no Node logging client here: google-auth-library request)', async () => {
    const created = await create(customJob('logged', { env: { VXL_EMULATOR_RUN_MS: '1000' } }));
    await emu.clock.advance(QUEUED + PENDING + 1_000);
    const id = created.name?.split('/').pop();
    const http = new OAuth2Client();
    http.setCredentials({ access_token: emu.adminToken, expiry_date: Date.now() + 3_600_000 });
    const res = await http.request<{ entries?: { textPayload: string; resource: { type: string } }[] }>({
      url: `${emu.httpUrl}/v2/entries:list`,
      method: 'POST',
      data: {
        resourceNames: [`projects/${emu.projectId}`],
        filter: `resource.type="ml_job" AND resource.labels.job_id="${id}"`,
        orderBy: 'timestamp asc',
      },
    });
    expect(res.data.entries?.map((e) => e.textPayload)).toEqual([
      'Job started',
      'Running command: python -m trainer --epochs 3',
      'Job finished with exit code 0',
    ]);
  });

  test('VXL_EMULATOR_EXIT_CODE fails the job with Vertex’s message; VXL_EMULATOR_RUN_MS sets the running time', async () => {
    const created = await create(
      customJob('exit-2', { env: { VXL_EMULATOR_EXIT_CODE: '2', VXL_EMULATOR_RUN_MS: '5000' } }),
    );
    await emu.clock.advance(QUEUED + PENDING + 4_000);
    expect((await state(created.name)).state).toBe('JOB_STATE_RUNNING');
    await emu.clock.advance(1_000);
    const failed = await state(created.name);
    expect(failed.state).toBe('JOB_STATE_FAILED');
    expect(failed.error?.code).toBe(3);
    expect(failed.error?.message).toContain('The replica workerpool0-0 exited with a non-zero status of 2');
    const id = created.name?.split('/').pop();
    const last = emu
      .logEntries()
      .filter((e) => e.resource.labels.job_id === id)
      .pop();
    expect(last).toMatchObject({ textPayload: 'Job finished with exit code 2', severity: 'ERROR' });
  });

  test('scheduling.timeout shorter than the run fails the job when it runs out', async () => {
    const created = await create(customJob('timeout', { timeoutSeconds: 10 }));
    expect(created.jobSpec?.scheduling?.timeout?.seconds).toBe('10');
    await emu.clock.advance(QUEUED + PENDING + 9_000);
    expect((await state(created.name)).state).toBe('JOB_STATE_RUNNING');
    await emu.clock.advance(1_000);
    const failed = await state(created.name);
    expect(failed.state).toBe('JOB_STATE_FAILED');
    expect(failed.error?.code).toBe(4);
    expect(failed.error?.message).toContain('scheduling.timeout of 10s');
  });

  test('cancel moves a running job through CANCELLING to CANCELLED; a finished job cannot be cancelled', async () => {
    const created = await create(customJob('cancel-running'));
    await emu.clock.advance(QUEUED + PENDING);
    expect((await state(created.name)).state).toBe('JOB_STATE_RUNNING');
    await client.cancelCustomJob({ name: created.name });
    expect((await state(created.name)).state).toBe('JOB_STATE_CANCELLING');
    await emu.clock.advance(100);
    const cancelled = await state(created.name);
    expect(cancelled.state).toBe('JOB_STATE_CANCELLED');
    expect(cancelled.error).toMatchObject({ code: 1, message: 'CANCELED' });
    // The run never completes after a cancel.
    await emu.clock.advance(RUNNING);
    expect((await state(created.name)).state).toBe('JOB_STATE_CANCELLED');
    const message = await grpcError(client.cancelCustomJob({ name: created.name }), 9);
    expect(message).toContain('JOB_STATE_CANCELLED');
  });

  test('a queued job can be cancelled before it starts', async () => {
    const created = await create(customJob('cancel-queued'));
    await client.cancelCustomJob({ name: created.name });
    await emu.clock.advance(QUEUED + PENDING);
    const job = await state(created.name);
    expect(job.state).toBe('JOB_STATE_CANCELLED');
    expect(job.startTime).toBeNull();
  });

  test('delete refuses a running job and deletes an ended one through a long-running operation', async () => {
    const created = await create(customJob('delete-me'));
    const message = await grpcError(client.deleteCustomJob({ name: created.name }), 9);
    expect(message).toContain('JOB_STATE_QUEUED');
    await client.cancelCustomJob({ name: created.name });
    await emu.clock.advance(100);
    const [operation] = await client.deleteCustomJob({ name: created.name });
    expect(operation.name).toContain(`${created.name}/operations/`);
    await operation.promise();
    await grpcError(state(created.name), 5);
  });

  test('enable_web_access yields web access URIs once the job runs', async () => {
    const created = await create(customJob('web', { enableWebAccess: true }));
    expect(created.webAccessUris).toEqual({});
    await emu.clock.advance(QUEUED + PENDING);
    const running = await state(created.name);
    expect(Object.keys(running.webAccessUris ?? {})).toEqual(['workerpool0-0']);
    expect(running.webAccessUris?.['workerpool0-0']).toMatch(
      /^https:\/\/[0-9a-f]+-dot-us-central1\.aiplatform-training/,
    );
  });
});

describe('validation', () => {
  async function invalid(job: unknown): Promise<string> {
    return grpcError(client.createCustomJob({ parent, customJob: job as ReturnType<typeof customJob> }), 3);
  }

  test('missing worker pools and display name are listed together', async () => {
    const message = await invalid({ jobSpec: {} });
    expect(message).toContain('List of found errors');
    expect(message).toContain('Field: custom_job.display_name; Message: Required field is not set.');
    expect(message).toContain('Field: custom_job.job_spec.worker_pool_specs; Message: Required field is not set.');
  });

  test('unknown machine type', async () => {
    const message = await invalid(customJob('bad-machine', { machineType: 'n1-superfast-3' }));
    expect(message).toContain('worker_pool_specs[0].machine_spec.machine_type');
    expect(message).toContain('`n1-superfast-3` is not a machine type Vertex AI custom training lists');
  });

  test('accelerators that do not fit the machine, or have the wrong count', async () => {
    const wrongFamily = await invalid(customJob('bad-gpu', { accelerator: { type: 'NVIDIA_TESLA_A100', count: 1 } }));
    expect(wrongFamily).toContain(
      'Field: custom_job.job_spec.worker_pool_specs[0].machine_spec.accelerator_type; Message: `n1-standard-4` (N1 general purpose, takes T4, V100, P100 or P4 GPUs) takes NVIDIA_TESLA_T4, NVIDIA_TESLA_V100, NVIDIA_TESLA_P100 or NVIDIA_TESLA_P4, not `NVIDIA_TESLA_A100`',
    );
    const noGpus = await invalid(
      customJob('e2-gpu', { machineType: 'e2-standard-8', accelerator: { type: 'NVIDIA_TESLA_T4', count: 1 } }),
    );
    expect(noGpus).toContain('takes no accelerator, but `NVIDIA_TESLA_T4` is set');
    const wrongCount = await invalid(
      customJob('a2-count', { machineType: 'a2-highgpu-2g', accelerator: { type: 'NVIDIA_TESLA_A100', count: 1 } }),
    );
    expect(wrongCount).toContain('a2-highgpu-2g comes with exactly 2 NVIDIA_TESLA_A100');
    const [ok] = await client.createCustomJob({
      parent,
      customJob: customJob('t4', { accelerator: { type: 'NVIDIA_TESLA_T4', count: 2 } }),
    });
    expect(ok.jobSpec?.workerPoolSpecs?.[0]?.machineSpec).toMatchObject({
      acceleratorType: 'NVIDIA_TESLA_T4',
      acceleratorCount: 2,
    });
  });

  test('label rules', async () => {
    const message = await invalid(
      customJob('bad-labels', { labels: { Team: 'x', ok: 'UPPER', 'aiplatform.googleapis.com/x': 'y' } }),
    );
    expect(message).toContain('Field: custom_job.labels[Team]; Message: Label keys must start with a lowercase letter');
    expect(message).toContain('Label value "UPPER" is invalid');
    expect(message).toContain('reserved for system labels');
  });

  test('a job service account must exist', async () => {
    const message = await invalid(
      customJob('ghost-sa', { serviceAccount: `ghost@${emu.projectId}.iam.gserviceaccount.com` }),
    );
    expect(message).toContain(`Service account ghost@${emu.projectId}.iam.gserviceaccount.com does not exist`);
  });

  test('the location must be the emulator’s region, and the parent well formed', async () => {
    const location = await grpcError(
      client.createCustomJob({
        parent: `projects/${emu.projectId}/locations/europe-west4`,
        customJob: customJob('eu'),
      }),
      3,
    );
    expect(location).toContain('Location "europe-west4" is not served by this endpoint');
    const malformed = await grpcError(client.createCustomJob({ parent: 'projects/x', customJob: customJob('p') }), 3);
    expect(malformed).toContain('expected projects/{project}/locations/{location}');
  });
});

describe('list', () => {
  const names: Record<string, string> = {};
  let between = '';

  beforeAll(async () => {
    const specs: [string, Record<string, string>][] = [
      ['train-alpha', { suite: 'filters', team: 'vision', gpu: 't4' }],
      ['train-beta', { suite: 'filters', team: 'nlp' }],
      ['eval-gamma', { suite: 'filters', team: 'vision' }],
    ];
    for (const [i, [name, labels]] of specs.entries()) {
      names[name] = (await create(customJob(name, { labels })))?.name as string;
      if (i === 0) {
        await emu.clock.advance(2_000);
        between = new Date(emu.clock.now() - 1_000).toISOString();
      }
    }
    // train-alpha is running by now; the others are queued or pending.
    await emu.clock.advance(QUEUED + PENDING - 2_000);
  });

  async function listNames(filter: string): Promise<string[]> {
    const [jobs] = await client.listCustomJobs({ parent, filter: `labels.suite="filters" AND (${filter})` });
    return jobs.map((j) => j.displayName as string).sort();
  }

  test('filters on labels, state, display_name and create_time with AND/OR/NOT', async () => {
    expect(await listNames('labels.team=vision')).toEqual(['eval-gamma', 'train-alpha']);
    expect(await listNames('labels.gpu:*')).toEqual(['train-alpha']);
    expect(await listNames('state="JOB_STATE_RUNNING"')).toEqual(['train-alpha']);
    expect(await listNames('state!=JOB_STATE_RUNNING')).toEqual(['eval-gamma', 'train-beta']);
    expect(await listNames('display_name="train-beta"')).toEqual(['train-beta']);
    expect(await listNames('display_name:"train-*"')).toEqual(['train-alpha', 'train-beta']);
    expect(await listNames('NOT display_name="train-beta"')).toEqual(['eval-gamma', 'train-alpha']);
    expect(await listNames('labels.team=nlp OR labels.gpu:*')).toEqual(['train-alpha', 'train-beta']);
    expect(await listNames('labels.team=vision AND NOT (labels.gpu:*)')).toEqual(['eval-gamma']);
    expect(await listNames(`create_time>"${between}"`)).toEqual(['eval-gamma', 'train-beta']);
    expect(await listNames(`create_time<="${between}"`)).toEqual(['train-alpha']);
  });

  test('an invalid filter is INVALID_ARGUMENT naming the problem', async () => {
    const field = await grpcError(client.listCustomJobs({ parent, filter: 'owner="me"' }), 3);
    expect(field).toContain('unsupported field `owner`');
    const stateName = await grpcError(client.listCustomJobs({ parent, filter: 'state=DONE' }), 3);
    expect(stateName).toContain('`DONE` is not a job state');
    const time = await grpcError(client.listCustomJobs({ parent, filter: 'create_time>"yesterday"' }), 3);
    expect(time).toContain('RFC 3339');
    const paren = await grpcError(client.listCustomJobs({ parent, filter: '(labels.a=b' }), 3);
    expect(paren).toContain('parenthesis is not closed');
  });

  test('pages with page_size and next_page_token, newest first', async () => {
    const created: string[] = [];
    for (let i = 0; i < 7; i++) {
      created.push((await create(customJob(`page-${i}`, { labels: { suite: 'pages' } })))?.name as string);
      await emu.clock.advance(10);
    }
    const request = { parent, filter: 'labels.suite=pages', pageSize: 3 };
    const [first, next, raw] = await client.listCustomJobs(request, { autoPaginate: false });
    expect(first.map((j) => j.displayName)).toEqual(['page-6', 'page-5', 'page-4']);
    expect(raw?.nextPageToken).toBeTruthy();
    const [second, next2] = await client.listCustomJobs(next as typeof request, { autoPaginate: false });
    expect(second.map((j) => j.displayName)).toEqual(['page-3', 'page-2', 'page-1']);
    const [third, next3] = await client.listCustomJobs(next2 as typeof request, { autoPaginate: false });
    expect(third.map((j) => j.displayName)).toEqual(['page-0']);
    expect(next3).toBeNull();

    const [all] = await client.listCustomJobs(request);
    expect(all.map((j) => j.name)).toEqual([...created].reverse());
    const iterated: string[] = [];
    for await (const job of client.listCustomJobsAsync(request)) iterated.push(job.name as string);
    expect(iterated).toEqual([...created].reverse());

    const badToken = await grpcError(
      client.listCustomJobs({ ...request, pageToken: 'nonsense' }, { autoPaginate: false }),
      3,
    );
    expect(badToken).toContain('page_token');
    const otherFilter = await grpcError(
      client.listCustomJobs({ parent, pageSize: 3, pageToken: raw?.nextPageToken as string }, { autoPaginate: false }),
      3,
    );
    expect(otherFilter).toContain('different filter');
  });
});
