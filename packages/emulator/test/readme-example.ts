// The "From code" and "Faults, quotas, counters" examples of packages/emulator/README.md, run by readme-example.test.ts (which checks that the
// README shows exactly the code between the readme-example markers).
// readme-example:start
import { v1 } from '@google-cloud/aiplatform';
// readme-example:end
import type { Emulator } from '@vertex-launch/emulator';
import { startEmulator } from '@vertex-launch/emulator';

export async function example() {
  // readme-example:start
  const emulator = await startEmulator({ jobTimings: { queuedMs: 50, pendingMs: 50, runningMs: 200 } });
  const jobs = new v1.JobServiceClient(emulator.jobServiceClientOptions()); // TLS + the admin token
  const [job] = await jobs.createCustomJob({
    parent: `projects/${emulator.projectId}/locations/${emulator.region}`,
    customJob: {
      displayName: 'hello',
      jobSpec: {
        workerPoolSpecs: [
          { machineSpec: { machineType: 'n1-standard-4' }, replicaCount: 1, containerSpec: { imageUri: 'busybox' } },
        ],
      },
    },
  });
  console.log(job.name, job.state); // projects/<number>/locations/us-central1/customJobs/<id> JOB_STATE_QUEUED
  await jobs.close();
  await emulator.stop();
  // readme-example:end
  return { job, projectNumber: emulator.projectNumber };
}

/** The "Faults, quotas, counters" fragment, on a running emulator. */
export function faultsExample(emulator: Emulator) {
  // readme-example:start faults
  emulator.faults.inject('aiplatform.customJobs.create', { code: 'DEADLINE_EXCEEDED', phase: 'after', times: 1 });
  emulator.faults.inject('aiplatform.customJobs.get', { code: 'UNAVAILABLE', rate: 0.2 });
  emulator.faults.inject('aiplatform.customJobs.list', { latencyMs: 500 });
  emulator.faults.inject('artifactregistry.tags.get', { latencyMs: 300, rate: 0.05 }); // latency spikes
  emulator.faults.inject('storage.uploads.put', { code: 'UNAVAILABLE', phase: 'after', skip: 2, times: 1 });
  emulator.setQuota('vertex.creates', 10); // per minute per region; 0 = unlimited
  emulator.counters(); // { 'aiplatform.customJobs.create': 3, ... }
  emulator.faults.injected(); // { 'aiplatform.customJobs.create DEADLINE_EXCEEDED after-commit': 1, ... }
  // readme-example:end
}
