// Several regions, simulated capacity per region and machine, and GPU quota, through the real aiplatform client: what
// a fallback ladder needs to run end to end (issue #20). Vertex's own words for a stockout and a quota refusal.
import { v1 } from '@google-cloud/aiplatform';
import { type Emulator, startEmulator } from '@vertex-launch/emulator';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { tempDir } from '../../../test/helpers.js';
import { customJob, grpcError } from './support.js';

const QUEUED = 1_000;
const PENDING = 1_000;
const RUNNING = 60_000;
const EU = 'europe-west4';
const L4 = { type: 'NVIDIA_L4', count: 1 };

let emu: Emulator;
let client: InstanceType<typeof v1.JobServiceClient>;
const parentOf = (region: string) => `projects/${emu.projectId}/locations/${region}`;

beforeAll(async () => {
  emu = await startEmulator({
    regions: ['us-central1', EU],
    jobTimings: { queuedMs: QUEUED, pendingMs: PENDING, runningMs: RUNNING, cancellingMs: 100 },
    quotas: { vertexReadsPerMinute: 0, vertexCreatesPerMinute: 0 },
  });
  client = new v1.JobServiceClient(emu.jobServiceClientOptions());
});
afterEach(() => {
  emu.setCapacity([]);
  emu.setAcceleratorQuota([]);
});
afterAll(async () => {
  await client?.close();
  await emu?.stop();
});

async function create(region: string, job: ReturnType<typeof customJob>) {
  const [created] = await client.createCustomJob({ parent: parentOf(region), customJob: job });
  return created;
}
const get = async (name: string | null | undefined) => (await client.getCustomJob({ name }))[0];
const g2 = (name: string, extra: Parameters<typeof customJob>[1] = {}) =>
  customJob(name, { machineType: 'g2-standard-8', accelerator: L4, ...extra });

describe('regions', () => {
  test('jobs keep the region they were created in; list, get and cancel go by it', async () => {
    expect(emu.regions).toEqual(['us-central1', EU]);
    const us = await create('us-central1', customJob('in-us'));
    const eu = await create(EU, customJob('in-eu'));
    expect(us.name).toMatch(/\/locations\/us-central1\/customJobs\/\d+$/);
    expect(eu.name).toMatch(new RegExp(`/locations/${EU}/customJobs/\\d+$`));
    expect((await get(eu.name)).displayName).toBe('in-eu');
    const [listed] = await client.listCustomJobs({
      parent: parentOf(EU),
      filter: 'display_name="in-eu" OR display_name="in-us"',
    });
    expect(listed.map((j) => j.displayName)).toEqual(['in-eu']);
    // The id of a job of one region under another region's name does not exist there.
    const message = await grpcError(get(eu.name?.replace(`/locations/${EU}/`, '/locations/us-central1/')), 5);
    expect(message).toContain('does not exist');
    await client.cancelCustomJob({ name: eu.name });
    expect((await get(eu.name)).state).toBe('JOB_STATE_CANCELLING');
  });

  test('a job keeps its region across a restart with a data dir; capacity rules are not persisted', async () => {
    const dir = await tempDir();
    const options = { dataDir: dir.path, regions: [EU], jobTimings: { queuedMs: QUEUED, pendingMs: PENDING } };
    let name: string;
    try {
      const first = await startEmulator(options);
      const c1 = new v1.JobServiceClient(first.jobServiceClientOptions());
      first.setCapacity([{ region: EU, available: 0 }]);
      const [job] = await c1.createCustomJob({
        parent: `projects/${first.projectId}/locations/${EU}`,
        customJob: customJob('kept-in-eu'),
      });
      name = job.name as string;
      await c1.close();
      await first.stop();
      const second = await startEmulator(options);
      try {
        expect(second.regions).toEqual(['us-central1', EU]);
        const c2 = new v1.JobServiceClient(second.jobServiceClientOptions());
        const [listed] = await c2.listCustomJobs({ parent: `projects/${second.projectId}/locations/${EU}` });
        expect(listed.map((j) => j.name)).toEqual([name]);
        // The stockout rule of the first run is gone: the job runs.
        await second.clock.advance(QUEUED + PENDING);
        expect((await c2.getCustomJob({ name }))[0].state).toBe('JOB_STATE_RUNNING');
        await c2.close();
      } finally {
        await second.stop();
      }
    } finally {
      await dir.cleanup();
    }
  });

  test('a region that is not served is refused, naming the ones that are', async () => {
    const message = await grpcError(create('asia-east1', customJob('asia')), 3);
    expect(message).toContain(
      'Location "asia-east1" is not served by this endpoint, which serves "us-central1", "europe-west4"',
    );
    await expect(startEmulator({ regions: ['us-central1', 'Mars'] })).rejects.toThrow(
      'regions[1]: "Mars" is not a region such as europe-west4',
    );
  });
});

describe('capacity', () => {
  test('one L4 in us-central1: the first job runs, the second fails for want of resources, europe-west4 still runs', async () => {
    emu.setCapacity([{ region: 'us-central1', acceleratorType: 'NVIDIA_L4', available: 1 }]);
    const first = await create('us-central1', g2('cap-1'));
    await emu.clock.advance(QUEUED + PENDING);
    expect((await get(first.name)).state).toBe('JOB_STATE_RUNNING');
    const second = await create('us-central1', g2('cap-2'));
    const eu = await create(EU, g2('cap-eu'));
    // A CPU-only job is not governed by the L4 rule.
    const cpu = await create('us-central1', customJob('cap-cpu'));
    await emu.clock.advance(QUEUED + PENDING);
    const failed = await get(second.name);
    expect(failed.state).toBe('JOB_STATE_FAILED');
    expect(failed.error).toMatchObject({
      code: 8,
      message:
        'The resources are insufficient in region: us-central1. Please try a different region. If you use K80, please consider using P100 or V100 instead.',
    });
    expect((await get(eu.name)).state).toBe('JOB_STATE_RUNNING');
    expect((await get(cpu.name)).state).toBe('JOB_STATE_RUNNING');
    // Once the first ends, its L4 is free again.
    await emu.clock.advance(RUNNING);
    expect((await get(first.name)).state).toBe('JOB_STATE_SUCCEEDED');
    const third = await create('us-central1', g2('cap-3'));
    await emu.clock.advance(QUEUED + PENDING);
    expect((await get(third.name)).state).toBe('JOB_STATE_RUNNING');
    await emu.clock.advance(RUNNING);
  });

  test('a stockout names the job region; the most specific rule governs a pool', async () => {
    emu.setCapacity([
      { region: EU, available: 0 },
      { region: EU, machineType: 'n1-standard-4', available: 5 },
    ]);
    const g2job = await create(EU, g2('eu-g2'));
    const n1job = await create(EU, customJob('eu-n1'));
    await emu.clock.advance(QUEUED + PENDING);
    expect((await get(g2job.name)).error?.message).toContain(`insufficient in region: ${EU}.`);
    expect((await get(n1job.name)).state).toBe('JOB_STATE_RUNNING');
    await emu.clock.advance(RUNNING);
  });

  test('FLEX_START waits in PENDING for capacity and runs once it frees; without it, it expires', async () => {
    emu.setCapacity([{ region: 'us-central1', acceleratorType: 'NVIDIA_L4', available: 0 }]);
    const flex = (name: string, maxWaitSeconds: number) => {
      const job = g2(name);
      job.jobSpec!.scheduling = { strategy: 'FLEX_START', maxWaitDuration: { seconds: maxWaitSeconds } };
      return job;
    };
    const waits = await create('us-central1', flex('flex-waits', 3600));
    const expires = await create('us-central1', flex('flex-expires', 5));
    await emu.clock.advance(QUEUED + PENDING);
    expect((await get(waits.name)).state).toBe('JOB_STATE_PENDING');
    await emu.clock.advance(6_000);
    const expired = await get(expires.name);
    expect(expired.state).toBe('JOB_STATE_FAILED');
    expect(expired.error).toMatchObject({
      code: 4,
      message: 'The job could not obtain the requested resources within its max_wait_duration of 5s.',
    });
    expect((await get(waits.name)).state).toBe('JOB_STATE_PENDING');
    emu.setCapacity([]);
    await emu.clock.advance(PENDING);
    expect((await get(waits.name)).state).toBe('JOB_STATE_RUNNING');
    await emu.clock.advance(RUNNING);
  });

  test('bad rules are refused naming the rule and the key', () => {
    expect(() => emu.setCapacity([{ region: 'nowhere', available: -1 }])).toThrow(
      'rules[0].region: must be a region such as us-central1; rules[0].available: must be a whole number of replicas, 0 or more',
    );
    expect(() => emu.setAcceleratorQuota([{ region: EU, acceleratorType: 'l4', limit: 1 }])).toThrow(
      'rules[0].acceleratorType: must be an AcceleratorType such as NVIDIA_L4',
    );
  });
});

describe('accelerator quota', () => {
  test('a create above the GPU quota is refused with RESOURCE_EXHAUSTED and the quota metric', async () => {
    emu.setAcceleratorQuota([{ region: 'us-central1', acceleratorType: 'NVIDIA_L4', limit: 1 }]);
    const first = await create('us-central1', g2('quota-1'));
    const message = await grpcError(create('us-central1', g2('quota-2')), 8);
    expect(message).toBe(
      'The following quota metrics exceed quota limits: aiplatform.googleapis.com/custom_model_training_nvidia_l4_gpus (region us-central1: 1 requested, 1 in use, limit 1). Request a quota increase in the Google Cloud console.',
    );
    // Another region has its own quota; a job without that accelerator is not counted.
    await create(EU, g2('quota-eu'));
    await create('us-central1', customJob('quota-cpu'));
    await client.cancelCustomJob({ name: first.name });
    await emu.clock.advance(200);
    expect((await get(first.name)).state).toBe('JOB_STATE_CANCELLED');
    expect((await create('us-central1', g2('quota-3'))).state).toBe('JOB_STATE_QUEUED');
  });
});
