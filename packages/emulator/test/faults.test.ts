// Injected faults, latency, quotas and call counters, seen through the real aiplatform client.
import { v1 } from '@google-cloud/aiplatform';
import { type Emulator, startEmulator } from '@vertex-launch/emulator';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { customJob, grpcError } from './support.js';

let emu: Emulator;
let client: InstanceType<typeof v1.JobServiceClient>;
let parent: string;

beforeAll(async () => {
  emu = await startEmulator({ quotas: { vertexReadsPerMinute: 5, vertexCreatesPerMinute: 3 } });
  client = new v1.JobServiceClient(emu.jobServiceClientOptions());
  parent = `projects/${emu.projectId}/locations/${emu.region}`;
});

afterAll(async () => {
  await client?.close();
  await emu?.stop();
});

beforeEach(async () => {
  emu.faults.clear();
  emu.resetCounters();
  // A fresh quota window for every test.
  await emu.clock.advance(61_000);
});

async function jobsNamed(displayName: string) {
  emu.setQuota('vertex.reads', 0);
  try {
    const [jobs] = await client.listCustomJobs({ parent, filter: `display_name="${displayName}"` });
    return jobs;
  } finally {
    emu.setQuota('vertex.reads', 5);
  }
}

describe('injected faults', () => {
  test.each([
    ['UNAVAILABLE', 14],
    ['RESOURCE_EXHAUSTED', 8],
    ['INTERNAL', 13],
  ] as const)('%s before the call: nothing is created', async (code, number) => {
    emu.faults.inject('aiplatform.customJobs.create', { code, times: 1 });
    const message = await grpcError(client.createCustomJob({ parent, customJob: customJob(`fault-${code}`) }), number);
    expect(message).toContain(`Injected fault: ${code} for aiplatform.customJobs.create`);
    expect(await jobsNamed(`fault-${code}`)).toEqual([]);
    // `times: 1` — the next call goes through.
    const [job] = await client.createCustomJob({ parent, customJob: customJob(`fault-${code}`) });
    expect(job.state).toBe('JOB_STATE_QUEUED');
    expect(emu.counters()['aiplatform.customJobs.create']).toBe(2);
  });

  test('DEADLINE_EXCEEDED after commit: the client gets an error but the job exists (a naive retry duplicates it)', async () => {
    emu.faults.inject('aiplatform.customJobs.create', { code: 'DEADLINE_EXCEEDED', phase: 'after', times: 1 });
    const message = await grpcError(client.createCustomJob({ parent, customJob: customJob('committed') }), 4);
    expect(message).toContain('after the change was committed');
    const existing = await jobsNamed('committed');
    expect(existing.map((j) => j.state)).toEqual(['JOB_STATE_QUEUED']);
    await client.createCustomJob({ parent, customJob: customJob('committed') });
    expect(await jobsNamed('committed')).toHaveLength(2);
  });

  test("phase 'late': the client gets the error at once, the job appears commitDelayMs later while lists fail", async () => {
    emu.faults.inject('aiplatform.customJobs.create', {
      code: 'DEADLINE_EXCEEDED',
      phase: 'late',
      commitDelayMs: 400,
      times: 1,
    });
    emu.faults.inject('aiplatform.customJobs.list', { code: 'UNAVAILABLE', times: 2 });
    const sent = Date.now();
    const message = await grpcError(client.createCustomJob({ parent, customJob: customJob('late') }), 4);
    expect(message).toContain('the change is committed later');
    // ListCustomJobs fails at the same time (an existing fault), then answers: nothing yet.
    await grpcError(client.listCustomJobs({ parent, filter: 'display_name="late"' }), 14);
    await grpcError(client.listCustomJobs({ parent, filter: 'display_name="late"' }), 14);
    expect(await jobsNamed('late')).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const [job] = await jobsNamed('late');
    expect(job?.state).toBe('JOB_STATE_QUEUED');
    // Its create time is the commit's, after the error was answered.
    expect(Number(job?.createTime?.seconds) * 1000 + 999).toBeGreaterThanOrEqual(sent + 400 - 1_000);
    expect(emu.faults.injected()).toMatchObject({
      'aiplatform.customJobs.create DEADLINE_EXCEEDED late-commit': 1,
      'aiplatform.customJobs.list UNAVAILABLE': 2,
    });
    expect(() => emu.faults.inject('m', { code: 'INTERNAL', commitDelayMs: 5 })).toThrow(/phase: 'late'/);
    expect(() => emu.faults.inject('m', { latencyMs: 5, phase: 'late' })).toThrow(/needs a `code`/);
  });

  test('rate 0 never fires; a fault on another method does not touch this one', async () => {
    emu.faults.inject('aiplatform.customJobs.get', { code: 'INTERNAL', rate: 0 });
    emu.faults.inject('aiplatform.customJobs.cancel', { code: 'INTERNAL' });
    const [job] = await client.createCustomJob({ parent, customJob: customJob('rate-zero') });
    const [got] = await client.getCustomJob({ name: job.name });
    expect(got.name).toBe(job.name);
    await grpcError(client.cancelCustomJob({ name: job.name }), 13);
    emu.faults.clear('aiplatform.customJobs.cancel');
    await client.cancelCustomJob({ name: job.name });
  });

  test('latency delays the answer', async () => {
    emu.faults.inject('aiplatform.customJobs.list', { latencyMs: 300 });
    const started = performance.now();
    await client.listCustomJobs({ parent, pageSize: 1 }, { autoPaginate: false });
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    emu.faults.clear();
    const again = performance.now();
    await client.listCustomJobs({ parent, pageSize: 1 }, { autoPaginate: false });
    expect(performance.now() - again).toBeLessThan(290);
  });

  test('faults on HTTP surfaces answer Google JSON errors', async () => {
    emu.faults.inject('resourcemanager.projects.testIamPermissions', { code: 'UNAVAILABLE', times: 1 });
    const res = await fetch(`${emu.httpUrl}/v1/projects/${emu.projectId}:testIamPermissions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${emu.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ permissions: ['aiplatform.customJobs.get'] }),
    });
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      error: {
        code: 503,
        status: 'UNAVAILABLE',
        message: 'Injected fault: UNAVAILABLE for resourcemanager.projects.testIamPermissions.',
      },
    });
  });

  test('faultSeed decides which calls a rate hits: the same seed replays the same hits, another differs', async () => {
    /** 24 calls of an HTTP method under a fault at rate 0.5, as `.` (answered) and `x` (503). */
    const pattern = async (target: Emulator) => {
      target.faults.inject('resourcemanager.projects.testIamPermissions', { code: 'UNAVAILABLE', rate: 0.5 });
      let out = '';
      for (let i = 0; i < 24; i++) {
        const res = await fetch(`${target.httpUrl}/v1/projects/${target.projectId}:testIamPermissions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${target.adminToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ permissions: ['aiplatform.customJobs.get'] }),
        });
        await res.arrayBuffer();
        out += res.status === 503 ? 'x' : res.status === 200 ? '.' : `?${res.status}`;
      }
      target.faults.clear();
      return out;
    };
    const seeded = [await startEmulator({ faultSeed: 1234 }), await startEmulator({ faultSeed: 1234 })];
    try {
      expect(seeded.map((e) => e.faults.seed)).toEqual([1234, 1234]);
      expect(emu.faults.seed).toBe(0);
      const [first, second] = [await pattern(seeded[0] as Emulator), await pattern(seeded[1] as Emulator)];
      expect(first).toMatch(/^[.x]{24}$/);
      expect(first).toContain('x');
      expect(first).toContain('.');
      expect(second).toBe(first);
      expect(await pattern(emu)).not.toBe(first);
    } finally {
      await Promise.all(seeded.map((e) => e.stop()));
    }
    await expect(startEmulator({ faultSeed: 0.5 })).rejects.toThrow(
      'Invalid options: faultSeed: must be an integer (e.g. 42), got 0.5.',
    );
  });

  test('invalid fault definitions are refused', () => {
    expect(() => emu.faults.inject('x', { code: 'INTERNAL', rate: 2 })).toThrow('between 0 and 1');
    expect(() => emu.faults.inject('x', {})).toThrow('needs a `code`, a `latencyMs`, or both');
  });
});

describe('quotas', () => {
  test('creates beyond the per-minute quota are RESOURCE_EXHAUSTED until the minute passes', async () => {
    for (let i = 0; i < 3; i++) await client.createCustomJob({ parent, customJob: customJob(`quota-${i}`) });
    const message = await grpcError(client.createCustomJob({ parent, customJob: customJob('quota-3') }), 8);
    expect(message).toContain("Quota exceeded for quota metric 'aiplatform.googleapis.com/custom_job_create_requests'");
    expect(message).toContain('3 per minute');
    expect(await jobsNamed('quota-3')).toEqual([]);
    await emu.clock.advance(60_001);
    const [job] = await client.createCustomJob({ parent, customJob: customJob('quota-3') });
    expect(job.displayName).toBe('quota-3');
  });

  test('reads (get and list) share their own quota', async () => {
    for (let i = 0; i < 5; i++) await client.listCustomJobs({ parent, pageSize: 1 }, { autoPaginate: false });
    const message = await grpcError(client.listCustomJobs({ parent, pageSize: 1 }, { autoPaginate: false }), 8);
    expect(message).toContain('Resource management (CRUD) requests per minute per region');
    // Creates are metered separately.
    const [job] = await client.createCustomJob({ parent, customJob: customJob('separate-meter') });
    await grpcError(client.getCustomJob({ name: job.name }), 8);
    emu.setQuota('vertex.reads', Number.POSITIVE_INFINITY);
    const [got] = await client.getCustomJob({ name: job.name });
    expect(got.name).toBe(job.name);
    emu.setQuota('vertex.reads', 5);
  });
});

test('counters count every call per method, failed ones included', async () => {
  const [job] = await client.createCustomJob({ parent, customJob: customJob('counted') });
  await client.getCustomJob({ name: job.name });
  await client.getCustomJob({ name: job.name });
  await grpcError(client.getCustomJob({ name: `${parent}/customJobs/1` }), 5);
  await client.listCustomJobs({ parent, pageSize: 1 }, { autoPaginate: false });
  expect(emu.counters()).toEqual({
    'aiplatform.customJobs.create': 1,
    'aiplatform.customJobs.get': 3,
    'aiplatform.customJobs.list': 1,
  });
  emu.resetCounters();
  expect(emu.counters()).toEqual({});
});
