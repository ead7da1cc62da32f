// `vertex-launch jobs logs --since/--tail/--task` against the emulator's Cloud Logging (the built CLI as a process).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Emulator, startEmulator } from '@vertex-launch/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/helpers.js';
import { runCli } from './run-cli.js';

let emu: Emulator;
let env: Record<string, string>;
const jobId = '4242424242';
/** Entry times are minutes before this test file's start (fixed, so a slow run does not move them). */
const start = Date.now();
const ago = (minutes: number) => new Date(start - minutes * 60_000).toISOString();

/** Writes one log entry of the job, as Vertex does (resource ml_job, labels job_id and task_name). */
async function write(text: string, task: string, timestamp: string): Promise<void> {
  const res = await fetch(`${emu.httpUrl}/v2/entries:write`, {
    method: 'POST',
    headers: { authorization: `Bearer ${emu.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      logName: `projects/${emu.projectId}/logs/workerpool0-0`,
      resource: { type: 'ml_job', labels: { job_id: jobId, project_id: emu.projectId, task_name: task } },
      entries: [{ textPayload: text, severity: 'INFO', timestamp }],
    }),
  });
  expect(res.status).toBe(200);
}

const texts = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { text: string; task: string });

beforeAll(async () => {
  emu = await startEmulator({ jobTimings: { queuedMs: 50, pendingMs: 50, runningMs: 300, cancellingMs: 50 } });
  env = { ...emu.env, NO_COLOR: '1' };
  // launch checks that the image exists before it submits.
  await emu.seedImage('us-docker.pkg.dev/vxl-emulator/train/trainer:1');
  await write('old chief', 'workerpool0-0', ago(180));
  await write('old worker', 'workerpool1-0', ago(170));
  for (let i = 1; i <= 5; i++) await write(`chief ${i}`, 'workerpool0-0', ago(10 - i));
  await write('worker 1', 'workerpool1-0', ago(3));
});
afterAll(async () => {
  await emu?.stop();
});

describe('vertex-launch jobs logs flags', () => {
  it('--tail N prints the last N entries, oldest first', async () => {
    const r = await runCli(['jobs', 'logs', jobId, '--tail', '3', '--json'], { env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(texts(r.stdout).map((e) => e.text)).toEqual(['chief 4', 'chief 5', 'worker 1']);
  });

  it('--task picks one replica; with --tail, the last entries of that replica', async () => {
    const all = await runCli(['jobs', 'logs', jobId, '--task', 'workerpool1-0', '--json'], { env });
    expect(all.code).toBe(0);
    expect(texts(all.stdout)).toEqual([
      expect.objectContaining({ text: 'old worker', task: 'workerpool1-0' }),
      expect.objectContaining({ text: 'worker 1', task: 'workerpool1-0' }),
    ]);
    const tail = await runCli(['jobs', 'logs', jobId, '--task', 'workerpool0-0', '--tail', '2', '--json'], { env });
    expect(texts(tail.stdout).map((e) => e.text)).toEqual(['chief 4', 'chief 5']);
  });

  it('--since takes a duration back from now or a timestamp', async () => {
    const recent = await runCli(['jobs', 'logs', jobId, '--since', '1h', '--json'], { env });
    expect(recent.code).toBe(0);
    expect(texts(recent.stdout).map((e) => e.text)).toEqual([
      'chief 1',
      'chief 2',
      'chief 3',
      'chief 4',
      'chief 5',
      'worker 1',
    ]);
    const at = await runCli(['jobs', 'logs', jobId, '--since', ago(5.5), '--json'], { env });
    expect(texts(at.stdout).map((e) => e.text)).toEqual(['chief 5', 'worker 1']);
  });

  it('--tail with --follow on an ended job: its last entries, once each, then exit 0', async () => {
    const dir = await tempDir('vxl-cli-logs-');
    try {
      const file = join(dir.path, 'queue.yaml');
      await writeFile(
        file,
        'spec:\n  worker_pool_specs:\n    - machine_spec: { machine_type: n1-standard-4 }\n      replica_count: 1\n      container_spec: { image_uri: "${image_uri}", command: [python, -m, trainer] }\n  staging_bucket: gs://vxl-test-bucket\n',
      );
      const launched = await runCli(
        ['launch', '--queue-config', file, '--image', 'us-docker.pkg.dev/vxl-emulator/train/trainer:1', '--wait'],
        { env, timeoutMs: 60_000 },
      );
      expect(launched.code).toBe(0);
      const id = launched.stdout.trim().split('/').at(-1) as string;
      const all = texts((await runCli(['jobs', 'logs', id, '--json'], { env })).stdout).map((e) => e.text);
      expect(all.length).toBeGreaterThanOrEqual(3);
      const r = await runCli(['jobs', 'logs', id, '--tail', '2', '--follow', '--json'], { env, timeoutMs: 30_000 });
      expect(r.code).toBe(0);
      expect(texts(r.stdout).map((e) => e.text)).toEqual(all.slice(-2));
    } finally {
      await dir.cleanup();
    }
  });

  it('bad values exit 2 naming the flag and the expected form, before any call', async () => {
    const since = await runCli(['jobs', 'logs', jobId, '--since', 'yesterday'], { env });
    expect(since.code).toBe(2);
    expect(since.stderr).toContain('--since "yesterday": expected a duration back from now');
    expect(since.stderr).not.toMatch(/\n\s+at /);
    const tail = await runCli(['jobs', 'logs', jobId, '--tail', '-5'], { env });
    expect(tail.code).toBe(2);
    expect(tail.stderr).toContain('--tail "-5": expected a number of entries');
    const task = await runCli(['jobs', 'logs', jobId, '--task', 'chief'], { env });
    expect(task.code).toBe(2);
    expect(task.stderr).toContain('--task "chief": expected a replica name workerpool<pool>-<replica>');
  });
});
