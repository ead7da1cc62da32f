// `vertex-launch launch --labels/--args/--display-name` and the next-step hint (the built CLI as a process).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Emulator, startEmulator } from '@vertex-launch/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/helpers.js';
import { CLEAN_ENV, runCli } from './run-cli.js';

let emu: Emulator;
let dir: { path: string; cleanup: () => Promise<void> };
let file: string;
const image = 'us-docker.pkg.dev/vxl-emulator/train/trainer:1';
const where = ['--project', 'my-proj', '--region', 'us-central1'];

beforeAll(async () => {
  emu = await startEmulator({ jobTimings: { queuedMs: 50, pendingMs: 50, runningMs: 200, cancellingMs: 50 } });
  dir = await tempDir('vxl-cli-launch-flags-');
  // launch checks that the image exists before it submits.
  await emu.seedImage(image);
  file = join(dir.path, 'queue.yaml');
  await writeFile(
    file,
    [
      'spec:',
      '  labels: { team: vision, env: dev }',
      '  worker_pool_specs:',
      '    - machine_spec: { machine_type: n1-standard-4 }',
      '      replica_count: 1',
      '      container_spec: { image_uri: "${image_uri}", command: [python, -m, trainer], args: [--epochs=1] }',
      '    - machine_spec: { machine_type: n1-highcpu-16 }',
      '      replica_count: 1',
      '      container_spec: { image_uri: us-docker.pkg.dev/vertex-ai-restricted/training/reductionserver:latest }',
      '  staging_bucket: gs://vxl-test-bucket',
    ].join('\n'),
  );
});
afterAll(async () => {
  await emu?.stop();
  await dir?.cleanup();
});

/** `launch --dry-run` with the flags (`--json` unless the first is `human`: errors are then JSON too). */
const dryRun = async (...flags: string[]) => {
  const human = flags[0] === 'human';
  const r = await runCli(
    [
      'launch',
      '--queue-config',
      file,
      '--image',
      image,
      ...where,
      '--dry-run',
      ...(human ? flags.slice(1) : ['--json', ...flags]),
    ],
    { env: { ...CLEAN_ENV, NO_COLOR: '1' } },
  );
  return { ...r, body: r.code === 0 && !human ? JSON.parse(r.stdout) : undefined };
};

describe('vertex-launch launch --labels/--args/--display-name', () => {
  it('lays the flags over the queue config: labels added, args of the image pools replaced, display name set', async () => {
    const r = await dryRun(
      '--labels',
      'env=prod,exp=lr-sweep',
      '--labels=owner=ana',
      '--args=--epochs=5',
      '--args',
      '--lr=0.1',
      '--display-name',
      'lr sweep 0.1',
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const job = r.body.customJob;
    expect(job.displayName).toBe('lr sweep 0.1');
    expect(job.labels).toMatchObject({ team: 'vision', env: 'prod', exp: 'lr-sweep', owner: 'ana' });
    expect(job.jobSpec.workerPoolSpecs[0].containerSpec.args).toEqual(['--epochs=5', '--lr=0.1']);
    expect(job.jobSpec.workerPoolSpecs[0].containerSpec.command).toEqual(['python', '-m', 'trainer']);
    // The reduction server pool does not run the image: its args are left alone.
    expect(job.jobSpec.workerPoolSpecs[1].containerSpec.args).toBeUndefined();
  });

  it('without the flags the config is sent as written', async () => {
    const r = await dryRun();
    expect(r.body.customJob.labels).toMatchObject({ team: 'vision', env: 'dev' });
    expect(r.body.customJob.jobSpec.workerPoolSpecs[0].containerSpec.args).toEqual(['--epochs=1']);
  });

  it('a label Vertex would refuse exits 2 naming --labels and the rule', async () => {
    const upper = await dryRun('human', '--labels', 'Team=ml');
    expect(upper.code).toBe(2);
    expect(upper.stderr).toContain('--labels "Team=ml": label keys are lowercase: use `team`');
    expect(upper.stderr).not.toMatch(/\n\s+at /);
    const long = await dryRun('human', '--labels', `k=${'x'.repeat(64)}`);
    expect(long.code).toBe(2);
    expect(long.stderr).toContain('label values are at most 63 characters; this one has 64');
    const reserved = await dryRun('human', '--labels', 'vertex-launch-run-id=x');
    expect(reserved.code).toBe(2);
    expect(reserved.stderr).toContain('labels are set by Vertex Launch itself');
    const noValue = await dryRun('human', '--labels', 'team');
    expect(noValue.code).toBe(2);
    expect(noValue.stderr).toContain('--labels "team": expected key=value pairs');
    const name = await dryRun('human', '--display-name', 'x'.repeat(129));
    expect(name.code).toBe(2);
    expect(name.stderr).toContain('--display-name: must be 1 to 128 characters, got 129');
  });

  it('a launch that does not wait prints the job name, then how to follow it on stderr', async () => {
    const r = await runCli(['launch', '--queue-config', file, '--image', image, '--region', 'us-central1'], {
      env: { ...emu.env, NO_COLOR: '1' },
      timeoutMs: 60_000,
    });
    expect(r.code).toBe(0);
    const name = r.stdout.trim();
    expect(name).toMatch(/^projects\/\d+\/locations\/us-central1\/customJobs\/\d+$/);
    const id = name.split('/').at(-1);
    expect(r.stderr).toContain(`follow it: vertex-launch jobs logs ${id} --region us-central1 --follow`);
    expect(r.stderr).toContain(`its state: vertex-launch jobs describe ${id} --region us-central1`);
    // The hint's command works as printed.
    const status = await runCli(['jobs', 'status', id as string, '--region', 'us-central1', '--json'], {
      env: { ...emu.env, NO_COLOR: '1' },
    });
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout).name).toBe(name);
  });
});
