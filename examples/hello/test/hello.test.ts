// examples/hello as a user launches it: `vertex-launch launch --queue-config queue.yaml --source . --follow` builds the
// Dockerfile with local Docker, pushes it to the emulator's Artifact Registry, submits the CustomJob and follows its
// logs; the emulator's docker executor really runs train.sh.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { v1 } from '@google-cloud/aiplatform';
import { fingerprintContext } from '@vertex-launch/core/build';
import { buildBusyboxBaseImage, type Emulator, startEmulator } from '@vertex-launch/emulator';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { childEnv, repoRoot } from '../../../test/helpers.js';
import { runExampleCli } from './run-cli.js';

const exampleDir = join(repoRoot, 'examples', 'hello');
let emulator: Emulator;

beforeAll(async () => {
  emulator = await startEmulator({ executor: 'docker', jobTimings: { queuedMs: 100, pendingMs: 100 } });
  // The Dockerfile's default BASE_IMAGE, as `vertex-launch demo` publishes it.
  const dockerfile = readFileSync(join(exampleDir, 'Dockerfile'), 'utf8');
  const base = /^ARG BASE_IMAGE=(\S+)$/m.exec(dockerfile)?.[1];
  expect(base).toBe(`us-central1-docker.pkg.dev/${emulator.projectId}/demo/busybox:1`);
  await buildBusyboxBaseImage({ emulator, imageUri: base as string });
});
afterAll(async () => {
  await emulator?.stop();
});

it('builds, launches and follows examples/hello to SUCCEEDED with the output of train.sh', async () => {
  const repository = `us-central1-docker.pkg.dev/${emulator.projectId}/demo/hello`;
  const r = await runExampleCli(
    [
      'launch',
      '--queue-config',
      'queue.yaml',
      '--source',
      '.',
      '--image',
      repository,
      '--set-var',
      'epochs=4',
      '--run-id',
      'hello-example',
      '--follow',
      '--json',
    ],
    { cwd: exampleDir, env: childEnv({ ...emulator.env }), timeoutMs: 80_000 },
  );
  expect(r.code, r.stderr).toBe(0);
  const result = JSON.parse(r.stdout);
  expect(result.job.state).toBe('JOB_STATE_SUCCEEDED');
  expect(result.imageUri).toMatch(new RegExp(`^${repository.replace(/[.]/g, '\\.')}:ctx-[0-9a-f]{12}$`));

  // With --json the job's logs go to stderr: train.sh ran in the container with the queue's EPOCHS.
  const id = result.jobName.split('/').pop();
  expect(r.stderr).toContain(`hello from Vertex Launch: job ${id}, 4 epochs`);
  expect(r.stderr).toContain('epoch 4/4 loss=0.129');
  expect(r.stderr).toContain('model would be saved to gs://vxl-demo-staging/');
  expect(r.stderr).toContain('done');

  // The CustomJob Vertex received: the built image, the queue's env, machine, display name, timeout and labels.
  const jobs = new v1.JobServiceClient(emulator.jobServiceClientOptions());
  try {
    const [job] = await jobs.getCustomJob({ name: result.jobName });
    expect(job.displayName).toBe('hello-hello-example');
    const pool = job.jobSpec?.workerPoolSpecs?.[0];
    expect(pool?.machineSpec?.machineType).toBe('n1-standard-4');
    expect(pool?.containerSpec?.imageUri).toBe(result.imageUri);
    expect(pool?.containerSpec?.env).toEqual([{ name: 'EPOCHS', value: '4' }]);
    expect(job.jobSpec?.scheduling?.timeout?.seconds).toBe('600');
    expect(job.jobSpec?.baseOutputDirectory?.outputUriPrefix).toMatch(/^gs:\/\/vxl-demo-staging\//);
    expect(job.labels).toMatchObject({ 'vertex-launch-run-id': 'hello-example' });
  } finally {
    await jobs.close();
  }
}, 90_000);

it('sends only the job files: .dockerignore keeps the workspace package (package.json, test/, node_modules/) out', async () => {
  const manifest = await fingerprintContext({ contextDir: exampleDir, statCachePath: false });
  expect(manifest.files).toEqual(['.dockerignore', 'Dockerfile', 'train.sh']);
  expect(manifest.dockerfilePath).toBe('Dockerfile');
  expect(manifest.generatedDockerfile).toBeUndefined();
});
