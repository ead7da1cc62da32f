import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guardedNodeOptions, repoRoot, tempDir } from '../../../test/helpers.js';
import { runCli } from './run-cli.js';

let dir: { path: string; cleanup: () => Promise<void> };
const file = (name: string) => join(dir.path, name);
const write = (name: string, text: string) => writeFile(file(name), text);
const defaultQueue = join(repoRoot, 'examples', 'queue.yaml');
const image = 'us-central1-docker.pkg.dev/my-proj/train/hello:1';
const noStack = (text: string) => expect(text).not.toMatch(/\n\s+at .+:\d+:\d+/);

beforeAll(async () => {
  dir = await tempDir('vxl-cli-');
});
afterAll(async () => {
  await dir.cleanup();
});

describe('vertex-launch --help', () => {
  it('lists the commands and the exit codes', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: vertex-launch');
    expect(r.stdout).toMatch(/queue\s/);
    expect(r.stdout).toMatch(/launch\s/);
    expect(r.stdout).toContain('2    bad usage, invalid config or a refused build context (nothing was submitted)');
  });

  it('shows examples on a subcommand', async () => {
    const r = await runCli(['launch', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--queue-config <file>');
    expect(r.stdout).toContain('Examples:');
  });

  it('answers an unknown command with exit 2', async () => {
    const r = await runCli(['lunch']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown command 'lunch'");
  });
});

describe('vertex-launch queue validate', () => {
  it('accepts the default queue config', async () => {
    const r = await runCli(['queue', 'validate', defaultQueue]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`✓ ${defaultQueue} is a valid queue config\n`);
  });

  it('lists every problem at once, naming the snake_case keys, exit 2', async () => {
    await write(
      'camel.yaml',
      [
        'spec:',
        '  workerPoolSpecs:',
        '    - machine_spec: { machine_type: n1-standard-4 }',
        '  stage_bucket: gs://b',
        'run:',
        '  timeout: soon',
      ].join('\n'),
    );
    const r = await runCli(['queue', 'validate', file('camel.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('workerPoolSpecs');
    expect(r.stderr).toContain('worker_pool_specs');
    expect(r.stderr).toContain('staging_bucket');
    expect(r.stderr).toContain('run.timeout');
    noStack(r.stderr);
  });

  it('prints one JSON object with --json', async () => {
    await write('missing-bucket.yaml', 'spec:\n  worker_pool_specs: []\n');
    const r = await runCli(['queue', 'validate', file('missing-bucket.yaml'), '--json']);
    expect(r.code).toBe(2);
    const body = JSON.parse(r.stdout);
    expect(body.valid).toBe(false);
    expect(body.file).toBe(file('missing-bucket.yaml'));
    const paths = body.issues.map((i: { path: string }) => i.path);
    expect(paths).toContain('spec.worker_pool_specs');
    expect(paths).toContain('spec.staging_bucket');
    for (const issue of body.issues) expect(Object.keys(issue).sort()).toEqual(['message', 'path', 'severity']);
  });

  it('names a missing file', async () => {
    const r = await runCli(['queue', 'validate', file('nope.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(file('nope.yaml'));
    noStack(r.stderr);
  });

  it('reports a YAML syntax error with its line', async () => {
    await write('broken.yaml', 'spec:\n  staging_bucket: [unclosed\n');
    const r = await runCli(['queue', 'validate', file('broken.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(file('broken.yaml'));
    expect(r.stderr).toMatch(/line \d+|:\d+:\d+/);
    noStack(r.stderr);
  });
});

describe('vertex-launch launch --dry-run --json', () => {
  const base = [
    'launch',
    '--queue-config',
    defaultQueue,
    '--image',
    image,
    '--project',
    'my-proj',
    '--region',
    'us-central1',
  ];

  it('prints exactly the CreateCustomJobRequest in Vertex REST v1 form', async () => {
    const r = await runCli([...base, '--run-id', 'abc123', '--dry-run', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const body = JSON.parse(r.stdout);
    expect(Object.keys(body).sort()).toEqual(['customJob', 'maxSpend', 'parent', 'warnings']);
    expect(body.warnings).toEqual([]);
    // No accelerator and no run.timeout: nothing in accelerator-hours, Vertex's 7 days of one replica.
    expect(body.maxSpend).toMatchObject({
      acceleratorHours: 0,
      replicaHours: 168,
      timeoutSeconds: 604800,
      timeoutFrom: 'vertex_default',
      pools: [{ pool: 0, machineType: 'n1-standard-4', replicas: 1, acceleratorCount: 0, acceleratorHours: 0 }],
    });
    expect(body.parent).toBe('projects/my-proj/locations/us-central1');
    const pool = body.customJob.jobSpec.workerPoolSpecs[0];
    expect(pool.containerSpec.imageUri).toBe(image);
    expect(pool.machineSpec.machineType).toBe('n1-standard-4');
    expect(pool.replicaCount).toBe('1'); // int64 as a string in proto3 JSON
    expect(body.customJob.labels['vertex-launch-run-id']).toBe('abc123');
    expect(body.customJob.jobSpec.baseOutputDirectory.outputUriPrefix).toContain('gs://my-staging-bucket/');
    expect(body.customJob.labels['vertex-launch-launch-id']).toMatch(/^[0-9a-f-]{36}$/);
    // restart_job_on_worker_restart: false is proto3's default, so the JSON leaves scheduling out.
    expect(body.customJob.jobSpec.scheduling).toBeUndefined();
    expect(body.customJob.displayName).toBe('vertex-launch-abc123');
  });

  it("--prices turns the spend bound into money at the table's prices, and names what has no price", async () => {
    await write(
      'gpu.yaml',
      [
        'spec:',
        '  worker_pool_specs:',
        '    - machine_spec: { machine_type: g2-standard-8, accelerator_type: NVIDIA_L4, accelerator_count: 1 }',
        '      container_spec: { image_uri: "${image_uri}" }',
        '    - machine_spec: { machine_type: n1-standard-4 }',
        '      container_spec: { image_uri: "${image_uri}" }',
        '  staging_bucket: gs://my-staging-bucket',
        'run: { timeout: 3h }',
      ].join('\n'),
    );
    await write('prices.yaml', 'currency: EUR\nmachines: { g2-standard-8: 0.5 }\naccelerators: { NVIDIA_L4: 0.7 }\n');
    const gpu = [...base.slice(0, 2), file('gpu.yaml'), ...base.slice(3)];
    const r = await runCli([...gpu, '--dry-run', '--prices', file('prices.yaml')]);
    expect(r.code).toBe(0);
    // 1 replica x 3 h x (0.5 + 0.7) = 3.60; the n1-standard-4 pool has no price in the table.
    expect(r.stderr).toContain(
      'Cost:  at most 3.60 EUR at the prices given, without the pools of n1-standard-4 (no price in the table)\n',
    );
    const json = JSON.parse((await runCli([...gpu, '--dry-run', '--json', '--prices', file('prices.yaml')])).stdout);
    expect(json.maxCost).toEqual({
      currency: 'EUR',
      total: 3.6,
      pools: [{ pool: 0, cost: 3.6 }, { pool: 1 }],
      missing: ['n1-standard-4'],
    });
    await write('bad-prices.yaml', 'currency: euro\nmachines: { g2-standard-8: -1 }\nregion: us\n');
    const bad = await runCli([...gpu, '--dry-run', '--prices', file('bad-prices.yaml')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(file('bad-prices.yaml'));
    expect(bad.stderr).toContain('currency: must be a three-letter currency code such as USD or EUR');
    expect(bad.stderr).toContain('machines.g2-standard-8: must be a price of 0 or more per hour');
    expect(bad.stderr).toContain('region: unknown key: a price table has `currency`, `machines` and `accelerators`');
    expect(bad.stderr).not.toMatch(/\n\s+at /);
    const noDry = await runCli([...gpu, '--prices', file('prices.yaml')]);
    expect(noDry.code).toBe(2);
    expect(noDry.stderr).toContain('add --dry-run');
  });

  it('fills template variables and overrides, durations as "Ns"', async () => {
    await write(
      'vars.yaml',
      [
        'template_variables:',
        '  replicas: { type: integer, minimum: 1, maximum: 4, default: 1 }',
        '  machine: { type: string, default: n1-standard-8 }',
        'allowed_overrides: [run.timeout]',
        'spec:',
        '  worker_pool_specs:',
        '    - machine_spec: { machine_type: "{{machine}}" }',
        '      container_spec: { image_uri: "${image_uri}", args: ["--run", "${run_id}"] }',
        '    - machine_spec: { machine_type: n1-standard-8 }',
        '      replica_count: "{{replicas}}"',
        '      container_spec: { image_uri: "${image_uri}" }',
        '  staging_bucket: my-bucket',
      ].join('\n'),
    );
    const r = await runCli([
      ...base.map((a) => (a === defaultQueue ? file('vars.yaml') : a)),
      '--run-id',
      'r1',
      '--set-var',
      'replicas=3',
      '--set-var',
      'machine=n1-standrd-8',
      '--override',
      '{"run":{"timeout":"2h"}}',
      '--dry-run',
      '--json',
    ]);
    // The warnings are those of the resolved config: the machine type typo comes from --set-var.
    expect(r.stderr).toBe(
      `warnings:\n${file('vars.yaml')}: spec.worker_pool_specs[0].machine_spec.machine_type: warning: \`n1-standrd-8\` is not a machine type Vertex AI custom training lists (https://cloud.google.com/vertex-ai/docs/training/configure-compute#machine-types); did you mean \`n1-standard-8\`?\n`,
    );
    expect(r.code).toBe(0);
    const { customJob, warnings } = JSON.parse(r.stdout);
    expect(warnings.map((w: { path: string }) => w.path)).toEqual([
      'spec.worker_pool_specs[0].machine_spec.machine_type',
    ]);
    expect(customJob.jobSpec.workerPoolSpecs[1].replicaCount).toBe('3');
    expect(customJob.jobSpec.workerPoolSpecs[0].containerSpec.args).toEqual(['--run', 'r1']);
    expect(customJob.jobSpec.scheduling.timeout).toBe('7200s');
  });

  it('shows the warnings `queue validate` shows: on stderr, and in the JSON as { path, message }', async () => {
    await write(
      'warns.yaml',
      [
        'spec:',
        '  worker_pool_specs:',
        '    - machine_spec: { machine_type: n1-standrd-4 }',
        '      replica_count: 1',
        '      container_spec: { image_uri: "${image_uri}" }',
        '  staging_bucket: gs://my-bucket',
        'run:',
        '  max_wait_duration: 10m',
      ].join('\n'),
    );
    const args = base.map((a) => (a === defaultQueue ? file('warns.yaml') : a));
    const typo =
      '`n1-standrd-4` is not a machine type Vertex AI custom training lists (https://cloud.google.com/vertex-ai/docs/training/configure-compute#machine-types); did you mean `n1-standard-4`?';
    const expected = [
      `${file('warns.yaml')}: spec.worker_pool_specs[0].machine_spec.machine_type: warning: ${typo}`,
      `${file('warns.yaml')}: run.max_wait_duration: warning: only applies with \`scheduling_strategy: FLEX_START\``,
    ];
    const validate = await runCli(['queue', 'validate', file('warns.yaml')]);
    expect(validate.code).toBe(0);
    expect(validate.stderr).toBe(`warnings:\n${expected.join('\n')}\n`);

    const json = await runCli([...args, '--dry-run', '--json']);
    expect(json.code).toBe(0);
    expect(json.stderr).toBe(validate.stderr);
    const body = JSON.parse(json.stdout);
    expect(body.warnings).toEqual([
      { path: 'spec.worker_pool_specs[0].machine_spec.machine_type', message: typo },
      { path: 'run.max_wait_duration', message: 'only applies with `scheduling_strategy: FLEX_START`' },
    ]);
    // A warning is no rewrite: the request carries the machine type as written.
    expect(body.customJob.jobSpec.workerPoolSpecs[0].machineSpec.machineType).toBe('n1-standrd-4');

    const text = await runCli([...args, '--dry-run']);
    expect(text.code).toBe(0);
    // The warnings, then what the request can spend at most.
    expect(text.stderr).toBe(
      `${validate.stderr}Spend: no accelerators; at most 168 replica-hours (168h of Vertex's default timeout (no run.timeout set))\n`,
    );
    // stdout stays the request alone.
    expect(Object.keys(JSON.parse(text.stdout)).sort()).toEqual(['customJob', 'parent']);
  });

  it('prints each problem of an invalid config once (and its warnings once), exit 2', async () => {
    await write(
      'bad-launch.yaml',
      [
        'spec:',
        '  worker_pool_specs:',
        '    - machine_spec: { machine_type: n1-standard-4 }',
        '      replica_count: 1',
        '      container_spec: { image_uri: "${image_uri}" }',
        '  staging_bucket: gs://NOT_A_BUCKET',
        '  labels: { Team: ml }',
        'run:',
        '  timeout: soon',
        '  max_wait_duration: 10m',
      ].join('\n'),
    );
    const r = await runCli([...base.map((a) => (a === defaultQueue ? file('bad-launch.yaml') : a)), '--dry-run']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const count = (part: string) => r.stderr.split(part).length - 1;
    expect(r.stderr).toMatch(/^error Invalid queue config .*bad-launch\.yaml \(3 problems\):\n/);
    expect(count('spec.staging_bucket: must be a Cloud Storage bucket')).toBe(1);
    expect(count('run.timeout: must be a duration')).toBe(1);
    expect(count('spec.labels.Team: label keys are lowercase: use `team`')).toBe(1);
    expect(count('run.max_wait_duration: warning: only applies with `scheduling_strategy: FLEX_START`')).toBe(1);
    expect(count('hint ')).toBe(1);
    noStack(r.stderr);
  });

  it('refuses a variable outside its range, naming it', async () => {
    const r = await runCli([
      ...base.map((a) => (a === defaultQueue ? file('vars.yaml') : a)),
      '--set-var',
      'replicas=9',
      '--dry-run',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('replicas');
    noStack(r.stderr);
  });

  it('refuses overrides outside the allowed paths', async () => {
    const r = await runCli([
      ...base.map((a) => (a === defaultQueue ? file('vars.yaml') : a)),
      '--override',
      '{"spec":{"service_account":"evil@p.iam.gserviceaccount.com"}}',
      '--dry-run',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('spec.service_account');
    expect(r.stdout).toBe('');
  });

  it('refuses ${env:...} inside overrides', async () => {
    const r = await runCli([...base, '--override', '{"spec":{"labels":{"x":"${env:HOME}"}}}', '--dry-run'], {
      env: { HOME: '/root' },
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('env:');
    expect(r.stdout).toBe('');
  });

  it('names the missing --project flag', async () => {
    const r = await runCli(
      ['launch', '--queue-config', defaultQueue, '--image', image, '--region', 'us-central1', '--dry-run'],
      {
        env: { GOOGLE_CLOUD_PROJECT: undefined, CLOUDSDK_CORE_PROJECT: undefined },
      },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--project');
    noStack(r.stderr);
  });

  it('takes project and region from the environment', async () => {
    const r = await runCli(['launch', '--queue-config', defaultQueue, '--image', image, '--dry-run', '--json'], {
      env: { GOOGLE_CLOUD_PROJECT: 'env-proj', GOOGLE_CLOUD_REGION: 'europe-west4' },
    });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).parent).toBe('projects/env-proj/locations/europe-west4');
  });

  it('names a malformed --set-var', async () => {
    const r = await runCli([...base, '--set-var', 'novalue', '--dry-run']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--set-var');
    expect(r.stderr).toContain('name=value');
  });

  it('never loads the Google client libraries', async () => {
    const trace = file('trace.txt');
    await writeFile(trace, '');
    const hook = pathToFileURL(join(repoRoot, 'packages/cli/test/fixtures/trace-google-imports.mjs')).href;
    const env = { TRACE_FILE: trace, NODE_OPTIONS: `${guardedNodeOptions()} --import ${hook}` };
    for (const args of [['--help'], ['queue', 'validate', defaultQueue], [...base, '--dry-run', '--json']]) {
      const r = await runCli(args, { env });
      expect(r.code).toBe(0);
    }
    expect(await readFile(trace, 'utf8')).toBe('');

    // Control: the same hook does see a Google library when one is loaded.
    const { spawnSync } = await import('node:child_process');
    const control = spawnSync(process.execPath, ['--input-type=module', '-e', "await import('google-auth-library')"], {
      cwd: join(repoRoot, 'packages', 'auth'),
      env: { ...process.env, ...env },
      encoding: 'utf8',
    });
    expect(control.status).toBe(0);
    expect(await readFile(trace, 'utf8')).toContain('google-auth-library');
  });
});
