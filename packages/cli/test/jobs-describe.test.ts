// `vertex-launch jobs describe` (and its alias `status`), job references (ids, names, console URLs), the list flags
// (--filter, --sort-by, --format, several --state) and errors as JSON on stdout: the built CLI as a process, against
// the emulator in this test process.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Emulator, startEmulator } from '@vertex-launch/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/helpers.js';
import { runCli } from './run-cli.js';

let emu: Emulator;
let dir: { path: string; cleanup: () => Promise<void> };
let env: Record<string, string>;
const image = 'us-docker.pkg.dev/vxl-emulator/train/trainer:1';

interface JobJson {
  name: string;
  id: string;
  displayName: string;
  state: string;
  labels: Record<string, string>;
  workerPools: unknown[];
}
let train: JobJson;
let evaluate: JobJson;

/** Launches a queue config (YAML lines), waits for the end, and returns the job's JSON. */
async function launched(name: string, lines: string[], code: number): Promise<JobJson> {
  const file = join(dir.path, `${name}.yaml`);
  await writeFile(file, lines.join('\n'));
  const r = await runCli(['launch', '--queue-config', file, '--image', image, '--run-id', name, '--wait', '--json'], {
    env,
    timeoutMs: 60_000,
  });
  expect(r.code, r.stderr).toBe(code);
  return JSON.parse(r.stdout).job;
}

beforeAll(async () => {
  emu = await startEmulator({
    jobTimings: { queuedMs: 20, pendingMs: 20, runningMs: 100, cancellingMs: 20 },
    quotas: { vertexReadsPerMinute: 0, vertexCreatesPerMinute: 0 },
  });
  dir = await tempDir('vxl-cli-describe-');
  env = { ...emu.env, NO_COLOR: '1' };
  // launch checks that the image exists before it submits.
  await emu.seedImage(image);
  train = await launched(
    'train',
    [
      'spec:',
      '  display_name: train-a',
      '  labels: { team: ml }',
      '  worker_pool_specs:',
      '    - machine_spec: { machine_type: n1-standard-4, accelerator_type: NVIDIA_TESLA_T4, accelerator_count: 1 }',
      '      replica_count: 1',
      '      container_spec:',
      '        image_uri: ${image_uri}',
      '        command: [python, -m, trainer]',
      '        args: [--epochs, "3", --note, two words]',
      '  staging_bucket: gs://vxl-test-bucket',
    ],
    0,
  );
  evaluate = await launched(
    'evaluate',
    [
      'spec:',
      '  display_name: eval-b',
      '  labels: { team: web }',
      '  worker_pool_specs:',
      '    - machine_spec: { machine_type: n1-standard-4 }',
      '      replica_count: 1',
      '      container_spec:',
      '        image_uri: ${image_uri}',
      '        env: [{ name: VXL_EMULATOR_EXIT_CODE, value: "5" }]',
      '    - machine_spec: { machine_type: n1-standard-8 }',
      '      replica_count: 2',
      '      container_spec: { image_uri: "${image_uri}", args: [--role, worker] }',
      '  staging_bucket: gs://vxl-test-bucket',
    ],
    1,
  );
}, 120_000);
afterAll(async () => {
  await emu?.stop();
  await dir?.cleanup();
});

describe('vertex-launch jobs describe', { timeout: 120_000 }, () => {
  it('--json carries each worker pool: machine spec, accelerators, replica count, command and args', async () => {
    const r = await runCli(['jobs', 'describe', train.name, '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    const job = JSON.parse(r.stdout);
    expect(job.workerPools).toEqual([
      {
        machineSpec: { machineType: 'n1-standard-4', acceleratorType: 'NVIDIA_TESLA_T4', acceleratorCount: 1 },
        replicaCount: 1,
        imageUri: image,
        command: ['python', '-m', 'trainer'],
        args: ['--epochs', '3', '--note', 'two words'],
      },
    ]);
    const two = JSON.parse((await runCli(['jobs', 'describe', evaluate.id, '--json'], { env })).stdout);
    expect(
      two.workerPools.map((p: { machineSpec: object; replicaCount: number; args: string[] }) => [
        p.machineSpec,
        p.replicaCount,
        p.args,
      ]),
    ).toEqual([
      [{ machineType: 'n1-standard-4', acceleratorType: null, acceleratorCount: 0 }, 1, []],
      [{ machineType: 'n1-standard-8', acceleratorType: null, acceleratorCount: 0 }, 2, ['--role', 'worker']],
    ]);
  });

  it('shows the pools to people, and `status` is the same command', async () => {
    const r = await runCli(['jobs', 'describe', train.id], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/State:\s+SUCCEEDED\n/);
    expect(r.stdout).toMatch(/Pool 0:\s+1 × n1-standard-4, 1 × NVIDIA_TESLA_T4 each\n/);
    expect(r.stdout).toMatch(/ {2}args:\s+--epochs 3 --note 'two words'\n/);
    const alias = await runCli(['jobs', 'status', train.id], { env });
    expect(alias.code).toBe(0);
    expect(alias.stdout).toBe(r.stdout);
  });

  it('takes the console URL of a job, its project and region from the URL', async () => {
    const url = `https://console.cloud.google.com/vertex-ai/locations/us-central1/training/${evaluate.id}/cpu?project=${emu.projectId}`;
    // No project or region in the environment: the URL's are used.
    const bare = { ...env, GOOGLE_CLOUD_PROJECT: undefined, GOOGLE_CLOUD_REGION: undefined };
    const r = await runCli(['jobs', 'describe', url, '--json'], { env: bare });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ id: evaluate.id, displayName: 'eval-b', state: 'JOB_STATE_FAILED' });
    const logs = await runCli(['jobs', 'logs', url.replace('/cpu', '')], { env: bare });
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toContain('Job finished with exit code 5');
    const page = await runCli(['jobs', 'describe', 'https://console.cloud.google.com/vertex-ai/training/custom-jobs'], {
      env,
    });
    expect(page.code).toBe(2);
    expect(page.stderr).toContain('is not the console page of a CustomJob');
  });

  it('--help of describe is its help; an unknown subcommand is exit 2 with a did-you-mean, --help or not', async () => {
    const help = await runCli(['jobs', 'describe', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: vertex-launch jobs describe|status [options] <job>');
    expect(help.stdout).toContain('console page');
    for (const args of [
      ['jobs', 'describ', '--help'],
      ['jobs', 'describ', '123'],
    ]) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain("error: unknown command 'describ' for 'vertex-launch jobs'");
      expect(r.stderr).toContain('(Did you mean describe?)');
    }
    const queue = await runCli(['queue', 'itmes', '--json']);
    expect(queue.code).toBe(2);
    expect(queue.stderr).toContain('(Did you mean items?)');
    expect(JSON.parse(queue.stdout).error).toMatchObject({
      code: 'USAGE',
      message: expect.stringContaining("'itmes'"),
    });
  });
});

describe('vertex-launch jobs list: --state, --filter, --sort-by, --format', { timeout: 120_000 }, () => {
  it('takes several states, repeated or comma-separated', async () => {
    const ids = async (...args: string[]) => {
      const r = await runCli(['jobs', 'list', ...args, '--format', 'value(id)'], { env });
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.trim().split('\n').filter(Boolean).sort();
    };
    expect(await ids('--state', 'succeeded,failed')).toEqual([train.id, evaluate.id].sort());
    expect(await ids('--state', 'FAILED', '--state', 'cancelled')).toEqual([evaluate.id]);
    expect(await ids('--state', 'Succeeded,,JOB_STATE_SUCCEEDED')).toEqual([train.id]);
    const bad = await runCli(['jobs', 'list', '--state', 'running,done'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--state done: not a job state; use queued, pending, running');
  });

  it('filters on any field, sorts, and prints table(...), value(...), yaml', async () => {
    const table = await runCli(
      [
        'jobs',
        'list',
        '--filter',
        'labels.team=ml OR displayName~^eval',
        '--sort-by',
        '~displayName',
        '--format',
        'table(displayName,state,workerPools.1.replicaCount)',
      ],
      { env },
    );
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toBe(
      'DISPLAYNAME  STATE                WORKERPOOLS.1.REPLICACOUNT\n' +
        'train-a      JOB_STATE_SUCCEEDED\n' +
        'eval-b       JOB_STATE_FAILED     2\n',
    );
    const value = await runCli(['jobs', 'list', '--filter', 'state=SUCCEEDED', '--format', 'value(name,labels.team)'], {
      env,
    });
    expect(value.stdout).toBe(`${train.name}\tml\n`);
    const yaml = await runCli(['jobs', 'list', '--filter', 'labels.team=web', '--format', 'yaml'], { env });
    expect(yaml.stdout).toContain(`jobs:\n  - name: ${evaluate.name}\n`);
    expect(yaml.stdout).toContain('        machineType: n1-standard-8\n');
    const json = await runCli(['jobs', 'list', '--format', 'json', '--filter', 'displayName:eval'], { env });
    expect(JSON.parse(json.stdout).jobs.map((j: JobJson) => j.id)).toEqual([evaluate.id]);
    const none = await runCli(['jobs', 'list', '--filter', 'labels.team=nobody'], { env });
    expect(none.code).toBe(0);
    expect(none.stderr).toContain('--filter labels.team=nobody');
  });

  it('names the flag and the valid fields for an unknown field or format, before any API call', async () => {
    // No emulator and no project: the flags are refused first.
    const r = await runCli(['jobs', 'list', '--sort-by', 'created'], { env: {} });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--sort-by "created": jobs list has no field `created`. Fields of jobs list: name, id,');
    expect(r.stderr).toContain('createTime');
    const format = await runCli(['jobs', 'list', '--format', 'csv(id)'], { env: {} });
    expect(format.code).toBe(2);
    expect(format.stderr).toContain(
      '--format csv(id): not a format; use json, yaml, table, table(FIELD,...) or value(FIELD,...).',
    );
  });
});

describe('errors in JSON mode', { timeout: 120_000 }, () => {
  it('go to stdout as one JSON object too; stderr keeps the message; the exit code is the same', async () => {
    const missing = await runCli(['jobs', 'describe', '1234567890123456789', '--json'], { env });
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain('does not exist');
    const body = JSON.parse(missing.stdout);
    expect(Object.keys(body)).toEqual(['error']);
    expect(body.error).toMatchObject({
      code: 'API',
      message: expect.stringContaining('customJobs/1234567890123456789'),
    });
    expect(body.error).toHaveProperty('hint');
    const filter = await runCli(['jobs', 'list', '--format', 'json', '--filter', 'nope=1'], { env });
    expect(filter.code).toBe(2);
    expect(JSON.parse(filter.stdout).error).toMatchObject({ code: 'USAGE', hint: null });
    expect(filter.stderr).toContain('error --filter "nope=1"');
    const option = await runCli(['jobs', 'list', '--json', '--nope'], { env });
    expect(option.code).toBe(2);
    expect(JSON.parse(option.stdout).error).toEqual({
      code: 'USAGE',
      message: "unknown option '--nope'",
      hint: 'Run the command with --help for its usage.',
    });
  });
});

describe('vertex-launch --version', () => {
  it('prints the version of the CLI package (-V too)', async () => {
    const { version } = (await import('../package.json', { with: { type: 'json' } })).default;
    for (const flag of ['--version', '-V']) {
      const r = await runCli([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`${version}\n`);
    }
  });
});
