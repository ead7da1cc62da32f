// examples/programmatic-launch run as a user runs it (`tsx src/main.ts`), with the emulator's environment: the SDK
// resolves credentials, submits the CustomJob built from the config object, reports every progress event and waits.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { v1 } from '@google-cloud/aiplatform';
import { type Emulator, startEmulator } from '@vertex-launch/emulator';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { childEnv, repoRoot } from '../../../test/helpers.js';

const exampleDir = join(repoRoot, 'examples', 'programmatic-launch');
let emulator: Emulator;
let env: Record<string, string>;

beforeAll(async () => {
  emulator = await startEmulator({ jobTimings: { queuedMs: 100, pendingMs: 100, runningMs: 1000 } });
  env = {
    ...emulator.env,
    TRAINER_IMAGE: `us-central1-docker.pkg.dev/${emulator.projectId}/train/trainer:1`,
    STAGING_BUCKET: 'gs://vxl-sdk-example',
  };
});
afterAll(async () => {
  await emulator?.stop();
});

it('launches, reports the events in order, waits to SUCCEEDED and prints the logs; exit 0', async () => {
  const r = await runMain(['--learning-rate', '0.05', '--run-name', 'lr-sweep-1'], env);
  expect(r.code, r.output).toBe(0);
  const lines = r.output.split('\n');

  expect(lines[0]).toBe(`credentials: environment (principal not named)`);
  expect(lines[1]).toMatch(/^resolved run [a-z0-9]{8} \(launch [0-9a-f-]{36}\) for vxl-emulator\/us-central1$/);
  const jobName = /^submitted (projects\/\d+\/locations\/us-central1\/customJobs\/\d+)$/.exec(lines[2] ?? '')?.[1];
  expect(jobName, r.output).toBeDefined();
  expect(lines[3]).toMatch(/^ {2}console: https:\/\/console\.cloud\.google\.com\/vertex-ai\/.*\?project=vxl-emulator$/);
  // State changes with elapsed time, ending in SUCCEEDED; then `finished` once.
  const changes = lines.filter((l) => /^\[\+\d+(ms|s)\] /.test(l));
  expect(changes.length).toBeGreaterThanOrEqual(1);
  expect(changes.at(-1)).toMatch(/-> JOB_STATE_SUCCEEDED$/);
  const order = ['JOB_STATE_QUEUED', 'JOB_STATE_PENDING', 'JOB_STATE_RUNNING', 'JOB_STATE_SUCCEEDED'];
  const seen = changes.map((l) => order.indexOf(l.split(' -> ')[1] as string));
  expect(seen).toEqual([...seen].sort((a, b) => a - b));
  expect(lines.filter((l) => l.startsWith('finished '))).toEqual([
    expect.stringMatching(/^finished JOB_STATE_SUCCEEDED after \d+/),
  ]);
  // The job's logs (the emulator's clock executor names the command it would run).
  expect(r.output).toContain('  log | Running command: python -m trainer.task --learning-rate 0.05');
  expect(r.output).toContain('  log | Job finished with exit code 0');

  // What Vertex received: the config object, the variable and the run name filled in.
  const jobs = new v1.JobServiceClient(emulator.jobServiceClientOptions());
  try {
    const [job] = await jobs.getCustomJob({ name: jobName as string });
    expect(job.displayName).toBe('sdk-lr-sweep-1');
    const container = job.jobSpec?.workerPoolSpecs?.[0]?.containerSpec;
    expect(container?.imageUri).toBe(env.TRAINER_IMAGE);
    expect(container?.command).toEqual(['python', '-m', 'trainer.task']);
    expect(container?.args).toEqual(['--learning-rate', '0.05']);
    expect(container?.env).toEqual([{ name: 'RUN_NAME', value: 'lr-sweep-1' }]);
    const runId = /^resolved run ([a-z0-9]{8}) \(launch ([0-9a-f-]{36})\)/.exec(lines[1] ?? '');
    expect(job.labels).toEqual({
      team: 'ml',
      launched_by: 'programmatic-launch',
      'vertex-launch-run-id': runId?.[1],
      'vertex-launch-launch-id': runId?.[2],
    });
    expect(job.jobSpec?.scheduling?.timeout?.seconds).toBe('3600');
  } finally {
    await jobs.close();
  }
}, 90_000);

it('a value outside the declared range stops the launch before anything is submitted', async () => {
  const before = emulator.counters()['aiplatform.customJobs.create'] ?? 0;
  const r = await runMain(['--learning-rate', '2'], env);
  expect(r.code).not.toBe(0);
  expect(r.output).toContain('variable `learning_rate` must be at most 1 (maximum), got 2');
  expect(r.output).not.toContain('submitted ');
  expect(emulator.counters()['aiplatform.customJobs.create'] ?? 0).toBe(before);
});

/** Runs `tsx src/main.ts ...args` in the example directory; resolves with the exit code and stdout + stderr. */
function runMain(args: string[], extra: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
      cwd: exampleDir,
      env: childEnv(extra),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 80_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}
