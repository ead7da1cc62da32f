// Issue #24, item 3: SIGTERM, SIGHUP or SIGINT during `vertex-launch launch --follow --cancel-on-interrupt` (the
// built CLI as a child process, the emulator in this process) cancel the job, wait for CANCELLED, say what happened,
// and exit 128 + the signal's number. The order of the signals is drawn from the run's seed (VXL_TEST_SEED).
import { execFile, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Emulator, startEmulator } from '@vertex-launch/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childEnv, repoRoot, tempDir } from '../helpers.js';
import { seededRandom, testSeed } from '../seed.js';
import { cliBin, PREBUILT_IMAGE } from './support/agent-harness.js';

const run = promisify(execFile);
const EXIT_CODES = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 } as const;
type Signal = keyof typeof EXIT_CODES;

const seed = testSeed();
const random = seededRandom(seed, 'signal order');
const signals = (Object.keys(EXIT_CODES) as Signal[])
  .map((signal) => ({ signal, key: random() }))
  .sort((a, b) => a.key - b.key)
  .map(({ signal }) => signal);

let emulator: Emulator;
let dir: { path: string; cleanup: () => Promise<void> };
let config: string;
const counts = { launches: 0, cancelled: 0, exitCodesRight: 0, saidWhat: 0 };

beforeAll(async () => {
  emulator = await startEmulator({
    faultSeed: seed,
    // The clock executor runs no container: a job runs for VXL_EMULATOR_RUN_MS (10 min: until it is cancelled).
    executor: 'clock',
    jobTimings: { queuedMs: 20, pendingMs: 20, runningMs: 600_000, cancellingMs: 200 },
    quotas: { vertexReadsPerMinute: 0, vertexCreatesPerMinute: 0 },
  });
  // A CLI launch checks its image in Artifact Registry before it submits.
  await emulator.seedImage(PREBUILT_IMAGE);
  dir = await tempDir('vxl-signals-');
  config = join(dir.path, 'queue.yaml');
  await writeFile(
    config,
    [
      'spec:',
      '  worker_pool_specs:',
      '    - machine_spec: { machine_type: n1-standard-4 }',
      '      replica_count: 1',
      '      container_spec:',
      '        image_uri: "${image_uri}"',
      '        env: [{ name: VXL_EMULATOR_RUN_MS, value: "600000" }]',
      '  staging_bucket: gs://vxl-signals',
    ].join('\n'),
  );
});
afterAll(async () => {
  console.info(
    `[signals] seed ${seed}: order ${signals.join(', ')}; ${counts.launches} launches, ${counts.cancelled} jobs CANCELLED, ${counts.exitCodesRight} right exit codes, ${counts.saidWhat} said what happened`,
  );
  await emulator?.stop();
  await dir?.cleanup();
});

/** Runs `launch --follow --cancel-on-interrupt`, sends `signal` once the job is submitted, resolves when the CLI exits. */
function launchAndSignal(signal: Signal): Promise<{ code: number | null; stderr: string }> {
  const args = ['launch', '--queue-config', config, '--image', PREBUILT_IMAGE, '--follow', '--cancel-on-interrupt'];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliBin, ...args], {
      cwd: repoRoot,
      env: childEnv({ ...emulator.env, NO_COLOR: '1' }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    let sent = false;
    const started = Date.now();
    child.stdout.resume();
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      // Sent once the job is submitted: the CLI writes that line (stderr on a pipe: synchronously) just before it
      // starts waiting, and a signal is handled on a later turn of its event loop, so it always lands in the wait.
      if (!sent && /Submitted \S+\n/.test(stderr)) {
        sent = true;
        stderr += `[test] ${signal} sent after ${Date.now() - started} ms\n`;
        child.kill(signal);
      }
    });
    // Generous: on a loaded machine the CLI takes seconds to load the Google clients before it submits.
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code, killedBy) => {
      clearTimeout(timer);
      resolve({ code, stderr: killedBy ? `${stderr}[test] killed by ${killedBy}\n` : stderr });
    });
    child.stdin.end();
  });
}

/** `vertex-launch jobs status NAME --json`, parsed. */
async function jobsStatus(name: string): Promise<{ state: string }> {
  const { stdout } = await run(process.execPath, [cliBin, 'jobs', 'status', name, '--json'], {
    cwd: repoRoot,
    env: childEnv(emulator.env),
  });
  return JSON.parse(stdout) as { state: string };
}

describe('signals during launch --follow --cancel-on-interrupt', () => {
  it.each(signals)(
    '%s cancels the job, waits for CANCELLED, says so and exits 128 + its number',
    { timeout: 150_000 },
    async (signal) => {
      const r = await launchAndSignal(signal);
      counts.launches += 1;
      expect(r.stderr, 'the signal was sent').toMatch(/\[test\] SIG\w+ sent after/);
      const name = /Cancelling (projects\/\S+\/customJobs\/\d+) \.\.\./.exec(r.stderr)?.[1];
      const said = { SIGINT: 'Interrupted (SIGINT)', SIGTERM: 'Terminated (SIGTERM)', SIGHUP: 'Hung up (SIGHUP)' }[
        signal
      ];
      expect(r.stderr).toContain(`${said}. Cancelling ${name} ...`);
      counts.saidWhat += 1;
      expect(r.stderr).toContain(`CANCELLED ${name}`);
      expect(r.code).toBe(EXIT_CODES[signal]);
      counts.exitCodesRight += 1;
      // The emulator agrees: the job is CANCELLED, not left running.
      const status = await jobsStatus(name as string);
      expect(status.state).toBe('JOB_STATE_CANCELLED');
      counts.cancelled += 1;
    },
  );
});
