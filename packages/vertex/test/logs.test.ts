// Job logs from the emulator's Cloud Logging entries:list, read and followed.

import type { JobLogEntry } from '@vertex-launch/core';
import type { Emulator } from '@vertex-launch/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VertexRunner } from '../src/index.js';
import { emulator, request, runnerFor } from './support.js';

let emu: Emulator;
let runner: VertexRunner;

beforeAll(async () => {
  emu = await emulator();
  // A wide re-read window: every follow read returns earlier entries again, which must not be printed twice.
  runner = runnerFor(emu, { logs: { pollIntervalMs: 15, lagMs: 60_000 } });
});
afterAll(async () => {
  await runner?.close();
  await emu?.stop();
});

async function collect(logs: AsyncIterable<JobLogEntry>): Promise<JobLogEntry[]> {
  const out: JobLogEntry[] = [];
  for await (const entry of logs) out.push(entry);
  return out;
}

describe('logs', () => {
  it('follows a job from submit to its end, each entry once, then stops', async () => {
    const { jobName } = await runner.submit(
      request(emu, { launchId: 'logs-follow', env: { VXL_EMULATOR_RUN_MS: '400' } }),
      { launchId: 'logs-follow' },
    );
    const entries = await collect(runner.logs(jobName, { follow: true }));
    expect(entries.map((e) => e.text)).toEqual([
      'Job started',
      'Running command: python -m trainer',
      'Job finished with exit code 0',
    ]);
    expect(entries[0]).toMatchObject({ severity: 'INFO', task: 'workerpool0-0', insertId: expect.any(String) });
    expect((await runner.get(jobName)).state).toBe('JOB_STATE_SUCCEEDED');
  });

  it('tail: the last entries, newest read first, yielded oldest first; with follow, the new ones after it, once', async () => {
    const { jobName, job } = await runner.submit(
      request(emu, { launchId: 'logs-tail', env: { VXL_EMULATOR_RUN_MS: '300' } }),
      { launchId: 'logs-tail' },
    );
    await runner.wait(jobName, { initial: job });
    const before = emu.counters()['logging.entries.list'] ?? 0;
    expect((await collect(runner.logs(jobName, { tail: 2 }))).map((e) => e.text)).toEqual([
      'Running command: python -m trainer',
      'Job finished with exit code 0',
    ]);
    // One page of two entries answered it.
    expect((emu.counters()['logging.entries.list'] ?? 0) - before).toBe(1);
    expect((await collect(runner.logs(jobName, { tail: 1, follow: true }))).map((e) => e.text)).toEqual([
      'Job finished with exit code 0',
    ]);
    expect(await collect(runner.logs(jobName, { tail: 0 }))).toEqual([]);
    // A task the job has no replica of: nothing; the chief: everything.
    expect(await collect(runner.logs(jobName, { task: 'workerpool1-0' }))).toEqual([]);
    expect(await collect(runner.logs(jobName, { task: 'workerpool1-0', follow: true }))).toEqual([]);
    expect((await collect(runner.logs(jobName, { task: 'workerpool0-0' }))).length).toBe(3);
  });

  it('reads the logs of an ended, failed job (ERROR severity on the last line)', async () => {
    const { jobName, job } = await runner.submit(
      request(emu, { launchId: 'logs-failed', env: { VXL_EMULATOR_EXIT_CODE: '7' } }),
      { launchId: 'logs-failed' },
    );
    await runner.wait(jobName, { initial: job });
    const entries = await collect(runner.logs(job.id));
    expect(entries.map((e) => e.text)).toEqual([
      'Job started',
      'Running command: python -m trainer',
      'Job finished with exit code 7',
    ]);
    expect(entries.at(-1)?.severity).toBe('ERROR');
    // `since` skips what came before.
    const late = await collect(runner.logs(jobName, { since: new Date(Date.parse(entries[2]!.timestamp)) }));
    expect(late.map((e) => e.text)).toEqual(['Job finished with exit code 7']);
  });

  it('stops following when the signal aborts, rejecting with its reason as wait() does, leaving the job running', async () => {
    const { jobName } = await runner.submit(
      request(emu, { launchId: 'logs-abort', env: { VXL_EMULATOR_RUN_MS: '60000' } }),
      { launchId: 'logs-abort' },
    );
    const controller = new AbortController();
    const reason = new Error('stop reading');
    const seen: string[] = [];
    const read = async () => {
      for await (const entry of runner.logs(jobName, { follow: true, signal: controller.signal })) {
        seen.push(entry.text);
        if (entry.text.startsWith('Running command')) controller.abort(reason);
      }
    };
    await expect(read()).rejects.toBe(reason);
    expect(seen).toEqual(['Job started', 'Running command: python -m trainer']);
    // wait() on the same signal rejects the same way.
    await expect(runner.wait(jobName, { signal: controller.signal })).rejects.toBe(reason);
    expect((await runner.get(jobName)).state).toBe('JOB_STATE_RUNNING');
    await runner.cancel(jobName);
  });

  it('twelve jobs followed at once share one Cloud Logging query per poll; each gets its own entries, once', async () => {
    const follower = runnerFor(emu, { logs: { pollIntervalMs: 200, lagMs: 60_000 } });
    try {
      const jobs = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          follower.submit(
            request(emu, { launchId: `logs-many-${i}`, env: { VXL_EMULATOR_RUN_MS: String(400 + 150 * i) } }),
            { launchId: `logs-many-${i}` },
          ),
        ),
      );
      emu.resetCounters();
      const started = Date.now();
      const all = await Promise.all(jobs.map(({ jobName }) => collect(follower.logs(jobName, { follow: true }))));
      const seconds = (Date.now() - started) / 1000;
      const reads = emu.counters()['logging.entries.list'] ?? 0;
      console.info(`[logs] 12 jobs followed for ${seconds.toFixed(1)} s: ${reads} entries:list reads`);
      for (const entries of all) {
        expect(entries.map((e) => e.text)).toEqual([
          'Job started',
          'Running command: python -m trainer',
          'Job finished with exit code 0',
        ]);
      }
      // One query per 200 ms poll for all twelve (plus the first read of each follower's arrival at most): a reader
      // per job would have made 12 per poll.
      expect(reads).toBeLessThanOrEqual(Math.ceil(seconds / 0.2) + 3);
      expect(reads).toBeLessThan(12 * Math.floor(seconds / 0.2));
    } finally {
      await follower.close();
    }
  });

  it('a refused log read is a PermissionError naming Cloud Logging’s role', async () => {
    const member = 'no-logs@vxl-emulator.iam.gserviceaccount.com';
    await emu.iam.createServiceAccount(member, { permissions: ['aiplatform.customJobs.get'] });
    const { vertexRunner } = await import('../src/index.js');
    const { tokenClient } = await import('./support.js');
    const r = vertexRunner({
      authClient: tokenClient(emu.iam.issueToken(member)),
      projectId: emu.projectId,
      region: emu.region,
      principal: member,
      env: emu.env,
    });
    const error = (await collect(r.logs('1234567890123456789')).catch((e: unknown) => e)) as Error & {
      hint?: string;
    };
    expect(error.name).toBe('PermissionError');
    expect(error.message).toContain('logging.logEntries.list');
    expect(error.hint).toContain(`Grant roles/logging.viewer on project ${emu.projectId} to ${member}`);
    await r.close();
  });
});
