// docs/getting-started.md, track A, run as a reader runs it in two terminals: every shell block marked
// `<!-- test: getting-started -->`, in order, verbatim, in one bash session started at the repository root (the first
// terminal), and the block marked `<!-- test: getting-started terminal-2 -->` — `vertex-launch emulator start` — in a
// second bash process in the same folder, started when the first reaches it in the page. The first terminal knows the
// emulator only by what the second printed (`emulator env`); nothing else passes between them. The only differences
// from a reader's terminals: the network guard is loaded into every Node process, HOME/TMPDIR point into a temp dir,
// the first shell waits where a reader would wait for the second terminal's output, and "press Ctrl-C" is a SIGINT.
// The page promises a SUCCEEDED job; this test holds it to that.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { childEnv, repoRoot, tempDir } from './helpers.js';

const page = join(repoRoot, 'docs', 'getting-started.md');
const cliBin = join(repoRoot, 'packages', 'cli', 'dist', 'bin.js');

/** The shell blocks of the page marked to be run by this test, in order, each with the terminal it runs in. */
function gettingStartedBlocks(markdown: string): { terminal: 1 | 2; code: string }[] {
  return [...markdown.matchAll(/<!-- test: getting-started( terminal-2)? -->\n```sh\n([\s\S]*?)```/g)].map((m) => ({
    terminal: m[1] ? 2 : 1,
    code: m[2] as string,
  }));
}

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

it('track A of docs/getting-started.md reaches a SUCCEEDED job with only the commands shown', async () => {
  if (!existsSync(cliBin)) throw new Error(`${cliBin} is missing: run \`pnpm build\` first (\`pnpm test\` does).`);
  const markdown = readFileSync(page, 'utf8');
  const blocks = gettingStartedBlocks(markdown);
  expect(blocks.filter((b) => b.terminal === 1).length).toBeGreaterThanOrEqual(7);
  const secondTerminal = blocks.filter((b) => b.terminal === 2);
  expect(secondTerminal).toHaveLength(1);
  // The setup block a reader runs first, which this test relies on having been run (the build).
  expect(markdown.indexOf('pnpm install && pnpm build')).toBeLessThan(
    markdown.indexOf('<!-- test: getting-started -->'),
  );

  const tmp = await tempDir('vxl-getting-started-');
  cleanups.push(tmp.cleanup);
  const home = join(tmp.path, 'home');
  const sync = join(tmp.path, 'sync');
  mkdirSync(sync);
  // Where the page opens the second terminal, the first tells the test its folder and waits for the emulator's output.
  const reachedSecond = join(sync, 'reached-terminal-2');
  const secondReady = join(sync, 'terminal-2-ready');
  const script = [
    'set -euo pipefail',
    ...blocks.map((b) =>
      b.terminal === 1
        ? b.code
        : `printf '%s' "$PWD" > '${reachedSecond}'\nuntil [ -e '${secondReady}' ]; do sleep 0.2; done\n`,
    ),
  ].join('\n');
  const env = childEnv({
    HOME: home,
    TMPDIR: tmp.path,
    // Nothing of the developer's setup may leak in: the page has to set up everything itself.
    XDG_CONFIG_HOME: undefined,
    XDG_DATA_HOME: undefined,
    XDG_STATE_HOME: undefined,
    VERTEX_LAUNCH_QUEUE_DB: undefined,
    GOOGLE_CLOUD_PROJECT: undefined,
    GOOGLE_CLOUD_REGION: undefined,
    GOOGLE_OAUTH_ACCESS_TOKEN: undefined,
    VERTEX_LAUNCH_EMULATOR_HTTP: undefined,
    VERTEX_LAUNCH_EMULATOR_GRPC: undefined,
    VERTEX_LAUNCH_EMULATOR_CA: undefined,
    VERTEX_LAUNCH_EMULATOR_REGISTRY: undefined,
  });
  const first = shell(script, repoRoot, env);
  cleanups.push(() => killGroup(first.pid));

  // The second terminal: the same folder and PATH (step 1's `export PATH=...` line), then the page's block.
  const t0 = Date.now();
  while (!existsSync(reachedSecond)) {
    if (first.exited() || Date.now() - t0 > 120_000) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(existsSync(reachedSecond), first.output()).toBe(true);
  const folder = readFileSync(reachedSecond, 'utf8');
  const second = shell(
    `set -euo pipefail\nexport PATH="$PWD/bin:$PATH"\n${(secondTerminal[0] as { code: string }).code}`,
    folder,
    env,
  );
  cleanups.push(() => killGroup(second.pid));
  while (!second.stdout().includes('Press Ctrl-C to stop.')) {
    if (second.exited() || Date.now() - t0 > 120_000) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(second.stdout(), second.output()).toContain('Press Ctrl-C to stop.');
  // What the second terminal shows: every variable the first needs, the token included, and how to get them again.
  expect(second.stdout()).toMatch(/^export GOOGLE_OAUTH_ACCESS_TOKEN=\S+$/m);
  expect(second.stdout()).toContain('eval "$(vertex-launch emulator env)"');
  writeFileSync(secondReady, '');

  const code = await first.code;
  // When the script fails half-way, the agent it started may still hold the output pipes.
  killGroup(first.pid);
  await first.closed;
  const output = `${first.output()}\n--- terminal 2\n${second.output()}`;
  expect(code, output).toBe(0);

  // Step 6: the direct launch was followed to SUCCEEDED.
  expect(first.stdout() + first.stderr(), output).toMatch(/customJobs\/\d+ SUCCEEDED after/);
  // Step 7: the agent drained the queue; the item's job succeeded.
  expect(first.stdout(), output).toMatch(/^[0-9a-f-]{36}\s+\S+\s+succeeded\s+1\s+submitted\s+succeeded\s+\d+/m);
  // Everything the page configured stayed in its scratch folder (mktemp -d under TMPDIR), not in HOME.
  const scratch = readdirSync(tmp.path).filter((name) => name.startsWith('tmp.'));
  expect(scratch).toHaveLength(1);
  const dir = join(tmp.path, scratch[0] as string);
  expect(folder).toBe(dir);
  expect(existsSync(join(dir, 'config', 'vertex-launch', 'launch-config.yaml'))).toBe(true);
  expect(existsSync(join(dir, 'data', 'vertex-launch', 'queues.db'))).toBe(true);
  expect(existsSync(join(home, '.config'))).toBe(false);
  const stateFile = join(home, '.local', 'state', 'vertex-launch', 'emulator.json');
  expect(existsSync(stateFile)).toBe(true);

  // Step 8: Ctrl-C in the second terminal stops the emulator, which removes its state file.
  process.kill(-second.pid, 'SIGINT');
  expect(await second.code, second.output()).toBe(0);
  await second.closed;
  expect(second.stderr()).toContain('emulator stopped');
  expect(existsSync(stateFile)).toBe(false);
}, 300_000);

/** A bash process in its own process group, with its output collected. */
function shell(script: string, cwd: string, env: NodeJS.ProcessEnv) {
  const child = spawn('bash', ['-c', script], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let exited = false;
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const code = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (c) => {
      exited = true;
      resolve(c);
    });
  });
  return {
    pid: child.pid as number,
    code,
    closed,
    exited: () => exited,
    stdout: () => stdout,
    stderr: () => stderr,
    output: () => `--- stdout\n${stdout}\n--- stderr\n${stderr}`,
  };
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
