// `vertex-launch agent -q/--queue` and `-j/--max-jobs` over launch-config.yaml (as `wandb launch-agent` takes them).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/helpers.js';
import { agentConfigWithFlags } from '../src/commands/agent.js';
import { CLEAN_ENV, runCli } from './run-cli.js';

let dir: { path: string; cleanup: () => Promise<void> };
let file: string;

beforeAll(async () => {
  dir = await tempDir('vxl-cli-agent-flags-');
  file = join(dir.path, 'launch-config.yaml');
  await writeFile(file, 'queues: [default]\nmax_jobs: 2\npoll_interval: 3\n');
});
afterAll(async () => {
  await dir?.cleanup();
});

describe('agent --queue / --max-jobs', () => {
  it('the flags win over queues and max_jobs of the file; the rest of the file stays', async () => {
    const config = await agentConfigWithFlags({ queue: ['gpu-t4', 'cpu', 'gpu-t4'], maxJobs: '4' }, file);
    expect(config.queues).toEqual(['gpu-t4', 'cpu']);
    expect(config.max_jobs).toBe(4);
    expect(config.poll_interval).toBe(3);
    const onlyJobs = await agentConfigWithFlags({ maxJobs: '-1' }, file);
    expect(onlyJobs.queues).toEqual(['default']);
    expect(onlyJobs.max_jobs).toBe(-1);
    const none = await agentConfigWithFlags({}, file);
    expect([none.queues, none.max_jobs]).toEqual([['default'], 2]);
  });

  it('with --queue the file may be missing; without it a missing file is still the error it was', async () => {
    const missing = join(dir.path, 'nope.yaml');
    const config = await agentConfigWithFlags({ queue: ['default'] }, missing);
    expect(config.queues).toEqual(['default']);
    expect(config.max_jobs).toBe(1);
    await expect(agentConfigWithFlags({ maxJobs: '3' }, missing)).rejects.toThrow(/Agent config file/);
  });

  it('bad values are usage errors naming the flag', async () => {
    await expect(agentConfigWithFlags({ queue: ['GPU'] }, file)).rejects.toThrow(/--queue "GPU": not a queue name/);
    await expect(agentConfigWithFlags({ maxJobs: '0' }, file)).rejects.toThrow(/--max-jobs 0: a whole number/);
    await expect(agentConfigWithFlags({ maxJobs: '2.5' }, file)).rejects.toThrow(/--max-jobs 2.5/);
  });

  it('the built CLI takes -q and -j and exits 2 on a bad one, before any credentials are looked for', async () => {
    const r = await runCli(['agent', '--config', file, '-q', 'ok', '-q', 'Not_OK', '-j', '2'], {
      env: { ...CLEAN_ENV },
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--queue "Not_OK": not a queue name');
    const j = await runCli(['agent', '--config', file, '-j', 'many'], { env: { ...CLEAN_ENV } });
    expect(j.code).toBe(2);
    expect(j.stderr).toContain('--max-jobs many: a whole number of jobs at once');
  });
});
