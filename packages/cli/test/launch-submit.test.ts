// `vertex-launch launch` submitting for real and `vertex-launch jobs ...`, against the emulator (the built CLI as a
// process, the emulator in this test process).
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Emulator, startEmulator } from '@vertex-launch/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childEnv, repoRoot, tempDir } from '../../../test/helpers.js';
import { cliBin, runCli } from './run-cli.js';

let emu: Emulator;
let dir: { path: string; cleanup: () => Promise<void> };
let env: Record<string, string>;
const queue = (name: string) => join(dir.path, name);
const image = 'us-docker.pkg.dev/vxl-emulator/train/trainer:1';

/** A queue config whose container env sets the emulator's outcome knobs. */
async function writeQueue(name: string, knobs: Record<string, string> = {}): Promise<string> {
  const envLines = Object.entries(knobs).map(([k, v]) => `            - { name: ${k}, value: "${v}" }`);
  await writeFile(
    queue(name),
    [
      'spec:',
      '  worker_pool_specs:',
      '    - machine_spec: { machine_type: n1-standard-4 }',
      '      replica_count: 1',
      '      container_spec:',
      '        image_uri: ${image_uri}',
      '        command: [python, -m, trainer]',
      ...(envLines.length ? ['        env:', ...envLines] : []),
      '  staging_bucket: gs://vxl-test-bucket',
    ].join('\n'),
  );
  return queue(name);
}

beforeAll(async () => {
  emu = await startEmulator({
    jobTimings: { queuedMs: 50, pendingMs: 50, runningMs: 300, cancellingMs: 50 },
    quotas: { vertexReadsPerMinute: 0, vertexCreatesPerMinute: 0 },
  });
  // A launch checks its image in Artifact Registry before it submits: the emulator has a placeholder of it.
  await emu.seedImage(image);
  dir = await tempDir('vxl-cli-launch-');
  env = { ...emu.env, NO_COLOR: '1' };
});
afterAll(async () => {
  await emu?.stop();
  await dir?.cleanup();
});

describe('vertex-launch launch (submit)', () => {
  it('--wait --json: submits, waits to SUCCEEDED, prints one JSON object, exit 0', async () => {
    const file = await writeQueue('ok.yaml');
    const r = await runCli(
      ['launch', '--queue-config', file, '--image', image, '--run-id', 'cliok1', '--wait', '--json'],
      {
        env,
        timeoutMs: 60_000,
      },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const body = JSON.parse(r.stdout);
    expect(body.jobName).toMatch(new RegExp(`^projects/${emu.projectNumber}/locations/us-central1/customJobs/\\d+$`));
    expect(body.runId).toBe('cliok1');
    expect(body.warnings).toEqual([]);
    expect(body.job.state).toBe('JOB_STATE_SUCCEEDED');
    expect(body.job.labels['vertex-launch-run-id']).toBe('cliok1');
    expect(body.job.imageUri).toBe(image);
    expect(body.consoleUrl).toContain(`/training/${body.job.id}?project=${emu.projectId}`);
  });

  it('--follow prints the logs and state changes with elapsed time; a failed job exits 1 with Vertex’s error', async () => {
    // Long enough for the tracker (2 s after a change) to see it running.
    const file = await writeQueue('fail.yaml', { VXL_EMULATOR_EXIT_CODE: '2', VXL_EMULATOR_RUN_MS: '4500' });
    const r = await runCli(['launch', '--queue-config', file, '--image', image, '--follow'], {
      env,
      timeoutMs: 60_000,
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('Job started');
    expect(r.stdout).toContain('Running command: python -m trainer');
    expect(r.stdout).toMatch(/ERROR Job finished with exit code 2/);
    expect(r.stderr).toMatch(/✓ Submitted projects\/\d+\/locations\/us-central1\/customJobs\/\d+/);
    expect(r.stderr).toMatch(/\[\+\d+(ms|s)\] RUNNING/);
    expect(r.stderr).toMatch(/\[\+\d+(ms|s)\] FAILED/);
    expect(r.stderr).toContain('The replica workerpool0-0 exited with a non-zero status of 2');
  });

  it('shows the config warnings before submitting: on stderr, and in --json as { path, message }', async () => {
    const file = queue('warns.yaml');
    await writeFile(
      file,
      [
        'spec:',
        '  worker_pool_specs:',
        '    - machine_spec: { machine_type: n1-standard-4 }',
        '      replica_count: 1',
        '      container_spec: { image_uri: "${image_uri}" }',
        '  staging_bucket: gs://vxl-test-bucket',
        '  labels: { team: ml }',
        'run:',
        '  max_wait_duration: 10m',
      ].join('\n'),
    );
    const warning = `${file}: run.max_wait_duration: warning: only applies with \`scheduling_strategy: FLEX_START\``;
    const json = await runCli(['launch', '--queue-config', file, '--image', image, '--json'], { env });
    expect(json.code).toBe(0);
    expect(json.stderr).toBe(`warnings:\n${warning}\n`);
    const body = JSON.parse(json.stdout);
    expect(body.warnings).toEqual([
      { path: 'run.max_wait_duration', message: 'only applies with `scheduling_strategy: FLEX_START`' },
    ]);
    expect(body.job.labels.team).toBe('ml');

    const text = await runCli(['launch', '--queue-config', file, '--image', image], { env });
    expect(text.code).toBe(0);
    // The warning comes first, before the job is submitted.
    expect(text.stderr.startsWith(`warnings:\n${warning}\n✓ Submitted projects/`), text.stderr).toBe(true);
    expect(text.stdout).toMatch(/^projects\/\d+\/locations\/us-central1\/customJobs\/\d+\n$/);
  });

  it('without --wait prints the job name and returns at once', async () => {
    const file = await writeQueue('nowait.yaml', { VXL_EMULATOR_RUN_MS: '60000' });
    const r = await runCli(['launch', '--queue-config', file, '--image', image], { env });
    expect(r.code).toBe(0);
    const name = r.stdout.trim();
    expect(name).toMatch(/customJobs\/\d+$/);
    const status = await runCli(['jobs', 'status', name, '--json'], { env });
    expect(status.code).toBe(0);
    expect(['JOB_STATE_QUEUED', 'JOB_STATE_PENDING', 'JOB_STATE_RUNNING']).toContain(JSON.parse(status.stdout).state);
    const cancel = await runCli(['jobs', 'cancel', name.split('/').pop() as string, '--wait'], { env });
    expect(cancel.code).toBe(0);
    expect(cancel.stderr).toContain(`✓ ${name} CANCELLED`);
  });

  it('an image that is not in Artifact Registry is refused before the submit: exit 2 naming the image and the fix', async () => {
    const file = await writeQueue('missing-image.yaml');
    const before = (await runCli(['jobs', 'list', '--all', '--json'], { env })).stdout;
    const noRepo = await runCli(
      ['launch', '--queue-config', file, '--image', 'us-docker.pkg.dev/vxl-emulator/nope/trainer:1'],
      { env },
    );
    expect(noRepo.code).toBe(2);
    expect(noRepo.stdout).toBe('');
    expect(noRepo.stderr).toContain(
      'error Image `us-docker.pkg.dev/vxl-emulator/nope/trainer:1` cannot exist: the Artifact Registry repository us-docker.pkg.dev/vxl-emulator/nope does not exist. Nothing was submitted.',
    );
    expect(noRepo.stderr).toContain(
      'gcloud artifacts repositories create nope --repository-format=docker --location=us',
    );
    const noTag = await runCli(['launch', '--queue-config', file, '--image', `${image.split(':')[0]}:2`], { env });
    expect(noTag.code).toBe(2);
    expect(noTag.stderr).toContain(
      'error Image `us-docker.pkg.dev/vxl-emulator/train/trainer:2` does not exist: us-docker.pkg.dev/vxl-emulator/train/trainer has no tag `2` in Artifact Registry. Nothing was submitted.',
    );
    expect(noTag.stderr).toContain(
      'vertex-launch build --source DIR --destination us-docker.pkg.dev/vxl-emulator/train/trainer',
    );
    const invalid = await runCli(
      ['launch', '--queue-config', file, '--image', 'us-docker.pkg.dev/vxl-emulator/train/Trainer:1'],
      { env },
    );
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('--image us-docker.pkg.dev/vxl-emulator/train/Trainer:1: not an image reference');
    for (const r of [noRepo, noTag, invalid]) expect(r.stderr).not.toMatch(/\n\s+at /);
    // Nothing was created by any of them.
    expect((await runCli(['jobs', 'list', '--all', '--json'], { env })).stdout).toBe(before);
  });

  it('an image without a tag is looked up as :latest, with a warning (as Docker and Vertex AI pull it)', async () => {
    const repository = 'us-docker.pkg.dev/vxl-emulator/train/untagged';
    const file = await writeQueue('untagged.yaml');
    const missing = await runCli(['launch', '--queue-config', file, '--image', repository], { env });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`error Image \`${repository}:latest\` does not exist`);
    await emu.seedImage(`${repository}:latest`);
    const r = await runCli(['launch', '--queue-config', file, '--image', repository, '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      `--image: warning: \`${repository}\` has no tag: Vertex AI pulls \`${repository}:latest\`, as Docker does.`,
    );
    expect(JSON.parse(r.stdout).jobName).toMatch(/customJobs\/\d+$/);
  });

  it('needs --image to submit, naming the flag', async () => {
    const file = await writeQueue('noimage.yaml');
    const r = await runCli(['launch', '--queue-config', file], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--image');
  });

  it('a permission problem exits 3 with the hint', async () => {
    const member = 'cli-launcher@vxl-emulator.iam.gserviceaccount.com';
    // Enough to read the image's tag (checked before the submit), not to create a job.
    await emu.iam.createServiceAccount(member, {
      permissions: ['aiplatform.customJobs.list', 'artifactregistry.tags.get', 'artifactregistry.repositories.get'],
    });
    const file = await writeQueue('denied.yaml');
    const r = await runCli(['launch', '--queue-config', file, '--image', image], {
      env: { ...env, GOOGLE_OAUTH_ACCESS_TOKEN: emu.iam.issueToken(member) },
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("Permission 'aiplatform.customJobs.create' denied");
    expect(r.stderr).toContain('hint Grant roles/aiplatform.user on project vxl-emulator');
    expect(r.stderr).not.toContain(emu.iam.issueToken(member).slice(0, 12));
  });
});

/** Runs the CLI, sends SIGINT once `ready` matches its stderr, and resolves when it exits. */
function interrupt(args: string[], ready: RegExp): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliBin, ...args], { cwd: repoRoot, env: childEnv(env), stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    let sent = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (!sent && ready.test(stderr)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end();
  });
}

describe('Ctrl-C during launch --wait', () => {
  it('with --cancel-on-interrupt cancels the job, exit 130', async () => {
    const file = await writeQueue('long.yaml', { VXL_EMULATOR_RUN_MS: '600000' });
    const r = await interrupt(
      ['launch', '--queue-config', file, '--image', image, '--wait', '--cancel-on-interrupt'],
      /RUNNING/,
    );
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/Cancelling projects\/.*customJobs\/\d+/);
    expect(r.stderr).toMatch(/CANCELLED projects\//);
  });

  it('without a terminal and without the flag leaves the job running and says how to cancel it, exit 130', async () => {
    const file = await writeQueue('long2.yaml', { VXL_EMULATOR_RUN_MS: '600000' });
    const r = await interrupt(['launch', '--queue-config', file, '--image', image, '--wait'], /RUNNING/);
    expect(r.code).toBe(130);
    const name = /keeps running\.\n {2}Cancel it with: vertex-launch jobs cancel (\S+)/.exec(r.stderr)?.[1];
    expect(name).toMatch(/customJobs\/\d+$/);
    const status = await runCli(['jobs', 'status', name as string, '--json'], { env });
    expect(JSON.parse(status.stdout).state).toBe('JOB_STATE_RUNNING');
    await runCli(['jobs', 'cancel', name as string], { env });
  });
});

describe('vertex-launch jobs', () => {
  let jobName: string;
  let job: { id: string };
  beforeAll(async () => {
    const file = await writeQueue('jobs.yaml', { VXL_EMULATOR_EXIT_CODE: '5' });
    const launched = await runCli(
      ['launch', '--queue-config', file, '--image', image, '--run-id', 'listme', '--wait', '--json'],
      { env, timeoutMs: 60_000 },
    );
    expect(launched.code).toBe(1);
    ({ jobName, job } = JSON.parse(launched.stdout));
  });

  it('list --json: our jobs by label, newest first', async () => {
    const list = await runCli(['jobs', 'list', '--json'], { env });
    expect(list.code).toBe(0);
    const listed = JSON.parse(list.stdout);
    expect(listed.project).toBe(emu.projectId);
    expect(listed.jobs[0].name).toBe(jobName);
    const created = listed.jobs.map((j: { createTime: string }) => Date.parse(j.createTime));
    expect([...created].sort((a, b) => b - a)).toEqual(created);
    expect(listed.jobs.every((j: { labels: Record<string, string> }) => j.labels['vertex-launch-run-id'])).toBe(true);
  });

  it('list --state: a table of the jobs in that state', async () => {
    const table = await runCli(['jobs', 'list', '--state', 'failed'], { env });
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+STATE\s+CREATED\s+DISPLAY NAME\s+CONSOLE$/);
    expect(table.stdout).toContain(`${job.id}  FAILED`);
    expect(table.stdout).not.toContain('SUCCEEDED');
  });

  it('status by bare id shows the state and Vertex’s error', async () => {
    const status = await runCli(['jobs', 'status', job.id], { env });
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/State:\s+FAILED/);
    expect(status.stdout).toMatch(
      /Error:\s+The replica workerpool0-0 exited with a non-zero status of 5\..* \(code 3\)\n/,
    );
    expect(status.stdout).toMatch(/run id:\s+listme/);
  });

  it('logs prints the entries, as text or JSON lines', async () => {
    const logs = await runCli(['jobs', 'logs', jobName], { env });
    expect(logs.code).toBe(0);
    expect(
      logs.stdout
        .trim()
        .split('\n')
        .map((l) => l.replace(/^\S+ \S+\s+/, '')),
    ).toEqual(['Job started', 'Running command: python -m trainer', 'Job finished with exit code 5']);
    const jsonLogs = await runCli(['jobs', 'logs', job.id, '--json'], { env });
    expect(
      jsonLogs.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).severity),
    ).toEqual(['INFO', 'INFO', 'ERROR']);
  });

  it('names a malformed job reference and a bad --state, exit 2', async () => {
    const bad = await runCli(['jobs', 'status', 'my-job'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('"my-job" is not a CustomJob');
    const state = await runCli(['jobs', 'list', '--state', 'done'], { env });
    expect(state.code).toBe(2);
    expect(state.stderr).toContain('--state done');
  });

  it('a job that does not exist exits 4 naming it', async () => {
    const r = await runCli(['jobs', 'status', '1234567890123456789'], { env });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('customJobs/1234567890123456789');
    expect(r.stderr).toContain('does not exist');
  });
});
