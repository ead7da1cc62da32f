// docs/getting-started.md, track A, run as a reader runs it: every shell block marked `<!-- test: getting-started -->`,
// in order, verbatim, in one bash session started at the repository root, against the bundled emulator. The only
// difference from a reader's shell: the network guard is loaded into every Node process and HOME/TMPDIR point into a
// temp dir. The page promises a SUCCEEDED job; this test holds it to that.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { childEnv, repoRoot, tempDir } from './helpers.js';

const page = join(repoRoot, 'docs', 'getting-started.md');
const cliBin = join(repoRoot, 'packages', 'cli', 'dist', 'bin.js');

/** The shell blocks of the page marked to be run by this test, in order. */
function gettingStartedBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/<!-- test: getting-started -->\n```sh\n([\s\S]*?)```/g)].map((m) => m[1] as string);
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
  expect(blocks.length).toBeGreaterThanOrEqual(7);
  // The setup block a reader runs first, which this test relies on having been run (the build).
  expect(markdown.indexOf('pnpm install && pnpm build')).toBeLessThan(
    markdown.indexOf('<!-- test: getting-started -->'),
  );

  const tmp = await tempDir('vxl-getting-started-');
  cleanups.push(tmp.cleanup);
  const home = join(tmp.path, 'home');
  const script = ['set -euo pipefail', ...blocks].join('\n');
  const env = childEnv({
    HOME: home,
    TMPDIR: tmp.path,
    // Nothing of the developer's setup may leak in: the page has to set up everything itself.
    XDG_CONFIG_HOME: undefined,
    XDG_DATA_HOME: undefined,
    VERTEX_LAUNCH_QUEUE_DB: undefined,
    GOOGLE_CLOUD_PROJECT: undefined,
    GOOGLE_CLOUD_REGION: undefined,
    GOOGLE_OAUTH_ACCESS_TOKEN: undefined,
    VERTEX_LAUNCH_EMULATOR_HTTP: undefined,
    VERTEX_LAUNCH_EMULATOR_GRPC: undefined,
    VERTEX_LAUNCH_EMULATOR_CA: undefined,
    VERTEX_LAUNCH_EMULATOR_REGISTRY: undefined,
  });
  const child = spawn('bash', ['-c', script], {
    cwd: repoRoot,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // The script starts the emulator and an agent in the background: stop the whole process group whatever happens.
  cleanups.push(() => killGroup(child.pid as number));
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', resolve);
  });
  // When the script fails half-way, the emulator or the agent it started may still hold the output pipes.
  killGroup(child.pid as number);
  await closed;
  const output = `--- stdout\n${stdout}\n--- stderr\n${stderr}`;
  expect(code, output).toBe(0);

  // Step 6: the direct launch was followed to SUCCEEDED.
  expect(stdout + stderr, output).toMatch(/customJobs\/\d+ SUCCEEDED after/);
  // Step 7: the agent drained the queue; the item's job succeeded.
  expect(stdout, output).toMatch(/^[0-9a-f-]{36}\s+\S+\s+succeeded\s+submitted\s+succeeded\s+\d+/m);
  // Everything the page configured stayed in its scratch folder (mktemp -d under TMPDIR), not in HOME.
  const scratch = readdirSync(tmp.path).filter((name) => name.startsWith('tmp.'));
  expect(scratch).toHaveLength(1);
  const dir = join(tmp.path, scratch[0] as string);
  expect(existsSync(join(dir, 'config', 'vertex-launch', 'launch-config.yaml'))).toBe(true);
  expect(existsSync(join(dir, 'data', 'vertex-launch', 'queues.db'))).toBe(true);
  expect(existsSync(join(home, '.config'))).toBe(false);
  // The emulator was stopped by the page's last step.
  const { pid } = JSON.parse(readFileSync(join(dir, 'emulator.json'), 'utf8')) as { pid: number };
  expect(isAlive(pid)).toBe(false);
}, 300_000);

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
