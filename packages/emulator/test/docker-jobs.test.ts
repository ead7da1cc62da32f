// Vertex CustomJobs that really run: the docker executor pulls the pushed image from the emulator's registry and
// runs workerpool0-0 as a container; driven with the real @google-cloud/aiplatform client.
import { v1 } from '@google-cloud/aiplatform';
import { type Emulator, startEmulator } from '@vertex-launch/emulator';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { pushImage } from '../src/docker/client.js';
import { busyboxBase, docker, removeTestImages, tagAs } from './docker-support.js';

let emu: Emulator;
let client: InstanceType<typeof v1.JobServiceClient>;
let parent: string;
let image: string;

beforeAll(async () => {
  emu = await startEmulator({ executor: 'docker', jobTimings: { queuedMs: 20, pendingMs: 20, cancellingMs: 50 } });
  client = new v1.JobServiceClient(emu.jobServiceClientOptions());
  parent = `projects/${emu.projectId}/locations/${emu.region}`;
  image = `us-central1-docker.pkg.dev/${emu.projectId}/train/busybox:1`;
  await busyboxBase(emu, image);
});

afterAll(async () => {
  await client?.close();
  await emu?.stop();
  await removeTestImages();
});

function job(
  displayName: string,
  script: string,
  opts: { timeoutSeconds?: number; imageUri?: string; env?: Record<string, string>; replicas?: number } = {},
) {
  return {
    displayName,
    jobSpec: {
      workerPoolSpecs: [
        {
          machineSpec: { machineType: 'n1-standard-4' },
          replicaCount: 1,
          containerSpec: {
            imageUri: opts.imageUri ?? image,
            command: ['sh', '-c'],
            args: [script],
            env: Object.entries(opts.env ?? {}).map(([name, value]) => ({ name, value })),
          },
        },
        ...(opts.replicas
          ? [
              {
                machineSpec: { machineType: 'n1-standard-4' },
                replicaCount: opts.replicas,
                containerSpec: { imageUri: image },
              },
            ]
          : []),
      ],
      baseOutputDirectory: { outputUriPrefix: 'gs://vxl-out/run-1' },
      ...(opts.timeoutSeconds ? { scheduling: { timeout: { seconds: opts.timeoutSeconds } } } : {}),
    },
  };
}

async function create(customJob: ReturnType<typeof job>) {
  const [created] = await client.createCustomJob({ parent, customJob });
  return { name: created.name as string, id: (created.name as string).split('/').pop() as string };
}

async function waitFor(name: string, states: string[], timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [current] = await client.getCustomJob({ name });
    if (states.includes(String(current.state))) return current;
    if (Date.now() > deadline) throw new Error(`job ${name} is ${current.state}, not ${states.join('/')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function logsOf(id: string) {
  return emu.logEntries().filter((e) => e.resource.labels.job_id === id);
}

async function containersOf(id: string) {
  return docker.listContainers({ all: true, filters: { label: [`vertex-launch-emulator.job=${id}`] } });
}

describe('a job runs its image', () => {
  test('exit 0: SUCCEEDED; stdout is INFO and stderr ERROR in the job log; Vertex environment is set', async () => {
    expect(emu.executor).toBe('docker');
    const { name, id } = await create(
      job(
        'hello',
        'echo "hello from $CLOUD_ML_JOB_ID"; echo "to stderr" >&2; echo "model=$AIP_MODEL_DIR ckpt=$AIP_CHECKPOINT_DIR tb=$AIP_TENSORBOARD_LOG_DIR"; echo "mine=$MINE"; echo "tf=$TF_CONFIG"; echo "cluster=$CLUSTER_SPEC"',
        { env: { MINE: 'set by the spec' }, replicas: 2 },
      ),
    );
    const done = await waitFor(name, ['JOB_STATE_SUCCEEDED', 'JOB_STATE_FAILED']);
    expect(done.state).toBe('JOB_STATE_SUCCEEDED');
    const entries = logsOf(id);
    const text = entries.map((e) => e.textPayload);
    expect(text).toContain(`hello from ${id}`);
    expect(text).toContain(
      'model=gs://vxl-out/run-1/model/ ckpt=gs://vxl-out/run-1/checkpoints/ tb=gs://vxl-out/run-1/logs/',
    );
    expect(text).toContain('mine=set by the spec');
    expect(entries.find((e) => e.textPayload === 'to stderr')?.severity).toBe('ERROR');
    expect(entries.find((e) => e.textPayload === `hello from ${id}`)).toMatchObject({
      severity: 'INFO',
      resource: { type: 'ml_job', labels: { job_id: id, task_name: 'workerpool0-0' } },
    });
    expect(text).toContain('The emulator runs replica workerpool0-0 only; the other 2 replicas are simulated.');
    const tf = JSON.parse((text.find((t) => t.startsWith('tf=')) ?? 'tf={}').slice(3));
    expect(tf).toMatchObject({
      cluster: { chief: ['workerpool0-0:2222'], worker: ['workerpool1-0:2222', 'workerpool1-1:2222'] },
      task: { type: 'chief', index: 0 },
    });
    const cluster = JSON.parse((text.find((t) => t.startsWith('cluster=')) ?? 'cluster={}').slice(8));
    expect(cluster).toMatchObject({
      task: { type: 'workerpool0', index: 0 },
      cluster: { workerpool0: ['workerpool0-0:2222'] },
    });
    expect(await containersOf(id)).toEqual([]);
  });

  test('a non-zero exit fails the job with Vertex’s message', async () => {
    const { name, id } = await create(job('exit-3', 'echo failing; exit 3'));
    const failed = await waitFor(name, ['JOB_STATE_SUCCEEDED', 'JOB_STATE_FAILED']);
    expect(failed.state).toBe('JOB_STATE_FAILED');
    expect(failed.error?.code).toBe(3);
    expect(failed.error?.message).toContain('The replica workerpool0-0 exited with a non-zero status of 3.');
    expect(logsOf(id).map((e) => e.textPayload)).toContain('failing');
  });

  test('logs stream while it runs; cancel stops the container -> CANCELLED', async () => {
    const { name, id } = await create(job('cancel-me', 'echo started; sleep 30; echo never'));
    const deadline = Date.now() + 15_000;
    while (!logsOf(id).some((e) => e.textPayload === 'started')) {
      if (Date.now() > deadline) throw new Error('no log line while running');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((await waitFor(name, ['JOB_STATE_RUNNING'])).state).toBe('JOB_STATE_RUNNING');
    expect(await containersOf(id)).toHaveLength(1);
    await client.cancelCustomJob({ name });
    const cancelled = await waitFor(name, ['JOB_STATE_CANCELLED']);
    expect(cancelled.error).toMatchObject({ code: 1, message: 'CANCELED' });
    expect(logsOf(id).map((e) => e.textPayload)).not.toContain('never');
    const gone = Date.now() + 5_000;
    while ((await containersOf(id)).length > 0 && Date.now() < gone) await new Promise((r) => setTimeout(r, 50));
    expect(await containersOf(id)).toEqual([]);
  });

  test('scheduling.timeout stops the container and fails the job', async () => {
    const started = Date.now();
    const { name, id } = await create(job('too-slow', 'echo working; sleep 30', { timeoutSeconds: 2 }));
    const failed = await waitFor(name, ['JOB_STATE_FAILED', 'JOB_STATE_SUCCEEDED']);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(failed.error?.code).toBe(4);
    expect(failed.error?.message).toContain('scheduling.timeout of 2s');
    expect(logsOf(id).map((e) => e.textPayload)).toContain('working');
  });

  test('an image that was never pushed fails the job with the pull error', async () => {
    const { name, id } = await create(
      job('missing-image', 'true', { imageUri: `us-central1-docker.pkg.dev/${emu.projectId}/train/nothing:1` }),
    );
    const failed = await waitFor(name, ['JOB_STATE_FAILED', 'JOB_STATE_SUCCEEDED']);
    expect(failed.state).toBe('JOB_STATE_FAILED');
    expect(failed.error?.message).toContain(
      `Unable to pull the image us-central1-docker.pkg.dev/${emu.projectId}/train/nothing:1`,
    );
    expect(logsOf(id)[0]?.severity).toBe('ERROR');
  });

  test('images from other registries are never pulled', async () => {
    const { name } = await create(job('hub-image', 'true', { imageUri: 'docker.io/library/alpine:3' }));
    const failed = await waitFor(name, ['JOB_STATE_FAILED', 'JOB_STATE_SUCCEEDED']);
    expect(failed.error?.message).toContain('the emulator never pulls from other registries');
  });
});

test('executor "auto" picks docker when the daemon answers; stop() kills running containers', async () => {
  const auto = await startEmulator({ executor: 'auto', jobTimings: { queuedMs: 10, pendingMs: 10 } });
  let id = '';
  try {
    expect(auto.executor).toBe('docker');
    auto.createDockerRepository('us-central1', 'train');
    const ref = auto.toLocalImageRef(image);
    await tagAs(emu.toLocalImageRef(image), ref);
    await pushImage(docker, ref, auto.dockerAuth());
    const jobs = new v1.JobServiceClient(auto.jobServiceClientOptions());
    const [created] = await jobs.createCustomJob({
      parent: `projects/${auto.projectId}/locations/${auto.region}`,
      customJob: job('left-running', 'echo up; sleep 60'),
    });
    await jobs.close();
    id = (created.name as string).split('/').pop() as string;
    const deadline = Date.now() + 15_000;
    while (!auto.logEntries().some((e) => e.resource.labels.job_id === id && e.textPayload === 'up')) {
      if (Date.now() > deadline) throw new Error('the job did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await containersOf(id)).toHaveLength(1);
  } finally {
    await auto.stop();
  }
  expect(await containersOf(id)).toEqual([]);
});

test('executor "docker" without a daemon refuses to start; "auto" falls back to the clock', async () => {
  await expect(startEmulator({ executor: 'docker', dockerSocket: '/nonexistent/docker.sock' })).rejects.toThrow(
    'executor "docker": the Docker daemon does not answer at /nonexistent/docker.sock',
  );
  const auto = await startEmulator({ executor: 'auto', dockerSocket: '/nonexistent/docker.sock' });
  try {
    expect(auto.executor).toBe('clock');
  } finally {
    await auto.stop();
  }
});
