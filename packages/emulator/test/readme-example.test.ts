import { fileURLToPath } from 'node:url';
import { v1 } from '@google-cloud/aiplatform';
import { expect, test, vi } from 'vitest';
import { exampleRegions, README_DRIFT, readmeBlock } from '../../../test/readme-example.js';
import { startEmulator } from '../src/index.js';
import { example, faultsExample } from './readme-example.js';

const readme = fileURLToPath(new URL('../README.md', import.meta.url));
const source = fileURLToPath(new URL('./readme-example.ts', import.meta.url));

test('the README shows the tested examples', () => {
  expect(readmeBlock(readme), README_DRIFT).toBe(exampleRegions(source));
  expect(readmeBlock(readme, 'faults'), README_DRIFT).toBe(exampleRegions(source, 'faults'));
});

test('the README example creates a CustomJob with the real aiplatform client', async () => {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  const { job, projectNumber } = await example();
  expect(job.name).toMatch(new RegExp(`^projects/${projectNumber}/locations/us-central1/customJobs/\\d+$`));
  expect(job.displayName).toBe('hello');
  expect(log).toHaveBeenCalledWith(job.name, 'JOB_STATE_QUEUED');
});

test('the README faults: a create that fails after its commit leaves the job behind', async () => {
  const emulator = await startEmulator();
  const jobs = new v1.JobServiceClient(emulator.jobServiceClientOptions());
  try {
    faultsExample(emulator);
    const parent = `projects/${emulator.projectId}/locations/${emulator.region}`;
    const customJob = {
      displayName: 'faulty',
      jobSpec: {
        workerPoolSpecs: [
          { machineSpec: { machineType: 'n1-standard-4' }, replicaCount: 1, containerSpec: { imageUri: 'busybox' } },
        ],
      },
    };
    await expect(jobs.createCustomJob({ parent, customJob }, { retry: null } as never)).rejects.toMatchObject({
      code: 4, // DEADLINE_EXCEEDED
    });
    const [listed] = await jobs.listCustomJobs({ parent }, { autoPaginate: false });
    expect(listed.map((job) => job.displayName)).toEqual(['faulty']);
    expect(emulator.counters()).toMatchObject({ 'aiplatform.customJobs.create': 1 });
    expect(emulator.faults.injected()).toMatchObject({
      'aiplatform.customJobs.create DEADLINE_EXCEEDED after-commit': 1,
    });
  } finally {
    await jobs.close();
    await emulator.stop();
  }
});
