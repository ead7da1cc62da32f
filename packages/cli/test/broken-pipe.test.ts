// Output closed early (`vertex-launch ... | head -1`): the CLI stops quietly with 141, as git does, instead of dying
// on an unhandled EPIPE with a stack trace. The pipes are real OS pipes whose read end is closed before the CLI writes.
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { childEnv, repoRoot } from '../../../test/helpers.js';
import { cliBin } from './run-cli.js';

/** Runs the CLI with the read end of its stdout (or stderr) pipe closed at once; collects the other stream. */
function runWithClosed(
  closed: 'stdout' | 'stderr',
  args: readonly string[],
): Promise<{ code: number | null; signal: NodeJS.Signals | null; other: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliBin, ...args], {
      cwd: repoRoot,
      env: childEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Closed before the child has even loaded Node: its first write to it fails with EPIPE.
    child[closed].destroy();
    let other = '';
    child[closed === 'stdout' ? 'stderr' : 'stdout'].setEncoding('utf8').on('data', (d: string) => (other += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, other }));
  });
}

const defaultQueue = join(repoRoot, 'examples', 'queue.yaml');

describe('a closed stdout or stderr', () => {
  // A dry run says what the request can spend on stderr before it prints the request: that line, and nothing after.
  const spend =
    "Spend: no accelerators; at most 168 replica-hours (168h of Vertex's default timeout (no run.timeout set))\n";
  it.each([
    [['--help'], ''],
    [['launch', '--help'], ''],
    [['completion', 'bash'], ''],
    [['queue', 'validate', defaultQueue, '--json'], ''],
    [
      [
        'launch',
        '--queue-config',
        defaultQueue,
        '--image',
        'img:1',
        '--project',
        'my-project',
        '--region',
        'us-central1',
        '--dry-run',
      ],
      spend,
    ],
  ])('vertex-launch %j with stdout closed: exit 141, no error on stderr', async (args, stderr) => {
    const r = await runWithClosed('stdout', args);
    expect(r.other).toBe(stderr);
    expect(r.signal).toBeNull();
    expect(r.code).toBe(141);
  });

  it('stderr closed while reporting an error: exit 141 and nothing more on stdout', async () => {
    const r = await runWithClosed('stderr', ['lunch']);
    expect(r.other).toBe('');
    expect(r.code).toBe(141);
  });

  it('in a shell pipeline: `| head -c 0` ends the CLI quietly; pipefail sees 141, as for git', () => {
    const script = `set -o pipefail; "$0" "$1" launch --help | head -c 0; echo "status=$?"`;
    const r = spawnSync('bash', ['-c', script, process.execPath, cliBin], {
      cwd: repoRoot,
      env: childEnv(),
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('status=141\n');
  });

  it('`launch --help | head -1` prints the first line, and nothing on stderr', () => {
    const r = spawnSync(
      'bash',
      ['-c', `set -o pipefail; "$0" "$1" launch --help | head -1`, process.execPath, cliBin],
      {
        cwd: repoRoot,
        env: childEnv(),
        encoding: 'utf8',
      },
    );
    expect(r.stdout).toBe('Usage: vertex-launch launch [options]\n');
    expect(r.stderr).toBe('');
    // head may exit before or after the CLI's single write: 0 or 141, never a crash (1) or a stack trace.
    expect([0, 141]).toContain(r.status);
  });
});
