// `vertex-launch ui` and `demo --ui` as users run them: the built CLI in its own process serving the dashboard over
// the queue database it is given, refusing what it must, stopping on a signal; and never loaded by other commands.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { seedQueueConfig } from '@vertex-launch/core/queue';
import { sqliteQueueStore } from '@vertex-launch/queue-sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { childEnv, guardedNodeOptions, repoRoot, tempDir } from '../../../test/helpers.js';
import { rawRequest, signIn } from '../../dashboard/test/http.js';
import { cliBin, runCli } from './run-cli.js';

interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

function start(args: string[], env: Record<string, string | undefined> = {}): Running {
  const child = spawn(process.execPath, [cliBin, ...args], { cwd: repoRoot, env: childEnv(env) });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

async function until<T>(what: string, read: () => T | undefined, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const urlIn = (text: string) =>
  /Vertex Launch dashboard: (http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)\n/.exec(text)?.[1];

describe('vertex-launch ui', () => {
  it('serves the queue database it is given, with the token and Host checks, until SIGTERM', async () => {
    const dir = await tempDir('vxl-ui-cli-');
    try {
      const db = join(dir.path, 'queues.db');
      const store = sqliteQueueStore({ path: db });
      await store.createQueue({
        name: 'gpu-t4',
        config: seedQueueConfig({ spec: { staging_bucket: 'gs://vxl-ui-cli' } }),
        description: 'from the CLI test',
      });
      await store.close();

      const ui = start(['ui', '--no-open', '--db', db], { XDG_CONFIG_HOME: dir.path });
      const url = await until('the URL', () => urlIn(ui.stdout()));
      const { port, cookie } = await signIn(url);
      expect((await rawRequest(port, '/')).status).toBe(401);
      const queues = await rawRequest(port, '/', { headers: { cookie } });
      expect(queues.status).toBe(200);
      expect(queues.body).toContain('/queues/gpu-t4');
      expect(queues.body).toContain(`sqlite ${db}`);
      const rebinding = await rawRequest(port, '/', { headers: { cookie, host: `rebind.example:${port}` } });
      expect(rebinding.status).toBe(403);
      // The doctor page runs `vertex-launch doctor` in the dashboard's process: no agent config here.
      const doctor = await rawRequest(port, '/doctor?run=1', { headers: { cookie } });
      expect(doctor.status).toBe(200);
      expect(doctor.body).toContain('data-check="agent-config"');
      expect(doctor.body).toContain('launch-config.yaml does not exist');

      ui.child.kill('SIGTERM');
      expect(await ui.exited).toBe(0);
      expect(ui.stderr()).toContain('The URL carries this session’s token: share it with no one.');
      expect(ui.stderr()).toContain('stopping the dashboard (SIGTERM)');
    } finally {
      await dir.cleanup();
    }
  });

  it('names a bad --port (exit 2)', async () => {
    const r = await runCli(['ui', '--no-open', '--port', 'eighty']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--port eighty: use a port number from 1 to 65535, or 0 for any free port.');
  });

  it('is never loaded by other commands', async () => {
    const dir = await tempDir('vxl-ui-lazy-');
    try {
      const trace = join(dir.path, 'trace.txt');
      await writeFile(trace, '');
      const hook = pathToFileURL(join(repoRoot, 'packages/cli/test/fixtures/trace-dashboard-imports.mjs')).href;
      const env = { TRACE_FILE: trace, NODE_OPTIONS: `${guardedNodeOptions()} --import ${hook}` };
      const queueFile = join(repoRoot, 'examples', 'hello', 'queue.yaml');
      for (const args of [
        ['--help'],
        ['queue', 'validate', queueFile],
        ['queue', 'list', '--db', join(dir.path, 'q.db')],
        ['ui', '--help'],
      ]) {
        const r = await runCli(args, { env });
        expect(r.code, args.join(' ')).toBe(0);
      }
      expect(await readFile(trace, 'utf8')).toBe('');
      // Control: the hook sees the dashboard when `ui` runs.
      const ui = start(['ui', '--no-open', '--db', join(dir.path, 'q.db')], env);
      await until('the URL', () => urlIn(ui.stdout()));
      ui.child.kill('SIGTERM');
      await ui.exited;
      expect(await readFile(trace, 'utf8')).toMatch(/dashboard[\\/]dist[\\/]index\.js/);
    } finally {
      await dir.cleanup();
    }
  });
});

describe('vertex-launch demo --ui', () => {
  it("serves the dashboard on the demo's emulator: the launch SUCCEEDED, its page shows the job; Ctrl-C ends", async () => {
    const demo = start(['demo', '--no-docker', '--ui', '--no-open']);
    const url = await until('the URL', () => urlIn(demo.stdout()), 90_000);
    await until(
      'the demo to finish',
      () => (demo.stderr().includes('the dashboard stays open on it until Ctrl-C') ? true : undefined),
      90_000,
    );
    const { port, cookie } = await signIn(url);
    const queue = await rawRequest(port, '/queues/demo', { headers: { cookie } });
    expect(queue.status).toBe(200);
    expect(queue.body).toContain('SUCCEEDED');
    const item = /href="\/items\/([0-9a-f-]{36})"/.exec(queue.body)?.[1];
    const page = await rawRequest(port, `/items/${item}`, { headers: { cookie } });
    expect(page.body).toMatch(/<code>projects\/\d+\/locations\/us-central1\/customJobs\/\d+<\/code>/);
    expect(page.body).toContain('data-job-state="JOB_STATE_SUCCEEDED"');
    demo.child.kill('SIGINT');
    expect(await demo.exited).toBe(0);
    expect(demo.stderr()).toContain('emulator stopped');
    expect(demo.stdout()).toMatch(/✓ demo job projects\/\d+\/locations\/us-central1\/customJobs\/\d+ SUCCEEDED/);
  }, 120_000);
});
