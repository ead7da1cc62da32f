// `vertex-launch completion bash|zsh|fish` as a process: every command of the program appears in each script, the
// bash script parses (`bash -n`) and completes commands, subcommands, options and files when sourced.
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { childEnv, tempDir } from '../../../test/helpers.js';
import { commandTree } from '../src/commands/completion.js';
import { createProgram } from '../src/main.js';
import type { Io } from '../src/output.js';
import { cliBin, runCli } from './run-cli.js';

const silent: Io = { stdout: () => {}, stderr: () => {}, isTTY: false, color: false };
const tree = commandTree(createProgram(silent, () => {}));
const leafNames = [...new Set(tree.flatMap((n) => n.path))];

let dir: { path: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  dir = await tempDir('vxl-completion-');
});
afterAll(async () => {
  await dir.cleanup();
});

/** Sources the bash script and asks for completions of `line` (the cursor at its end). */
function bashComplete(script: string, words: string[], env?: NodeJS.ProcessEnv): string[] {
  const cword = words.length - 1;
  const program = `source "$1"; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${cword}; _vertex_launch; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = spawnSync('bash', ['-c', program, 'bash', script], {
    encoding: 'utf8',
    cwd: dir.path,
    ...(env ? { env } : {}),
  });
  expect(r.stderr).toBe('');
  return r.stdout.split('\n').filter((l) => l !== '');
}

describe('vertex-launch completion', () => {
  test('the command tree has every command, nested ones included', () => {
    expect(tree.map((n) => n.path.join(' '))).toEqual(
      expect.arrayContaining([
        '',
        'queue',
        'queue validate',
        'queue create',
        'jobs list',
        'auth check',
        'doctor',
        'init',
        'config show',
        'completion',
      ]),
    );
  });

  test('bash: mentions every command, parses with bash -n, and completes', async () => {
    const r = await runCli(['completion', 'bash']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    for (const name of leafNames) expect(r.stdout).toContain(name);
    expect(r.stdout).toContain('complete -F _vertex_launch vertex-launch\ncomplete -F _vertex_launch vxl\n');
    const file = join(dir.path, 'vertex-launch.bash');
    await writeFile(file, r.stdout);
    const syntax = spawnSync('bash', ['-n', file], { encoding: 'utf8' });
    expect(syntax.stderr).toBe('');
    expect(syntax.status).toBe(0);

    const top = bashComplete(file, ['vertex-launch', '']);
    for (const name of tree.filter((n) => n.path.length === 1).map((n) => n.path[0])) expect(top).toContain(name);
    expect(bashComplete(file, ['vertex-launch', 'qu'])).toEqual(['queue']);
    expect(bashComplete(file, ['vertex-launch', 'queue', 'cr'])).toEqual(['create']);
    expect(bashComplete(file, ['vertex-launch', 'jobs', 'list', '--st'])).toEqual(['--state']);
    expect(bashComplete(file, ['vertex-launch', 'doctor', '--queue-c'])).toEqual(['--queue-config']);
    expect(bashComplete(file, ['vertex-launch', 'config', 'show', '--j'])).toEqual(['--json']);
    // After an option that takes a file, file names.
    await writeFile(join(dir.path, 'queue.yaml'), 'spec: {}\n');
    expect(bashComplete(file, ['vertex-launch', 'doctor', '--queue-config', 'que'])).toEqual(['queue.yaml']);
  });

  test('zsh and fish: every command and option of doctor; zsh parses when zsh is installed', async () => {
    for (const shell of ['zsh', 'fish']) {
      const r = await runCli(['completion', shell]);
      expect(r.code).toBe(0);
      for (const name of leafNames) expect(r.stdout).toContain(name);
      for (const flag of ['--queue-config', '--json', '--staging-bucket']) expect(r.stdout).toContain(flag.slice(2));
    }
    const zsh = (await runCli(['completion', 'zsh'])).stdout;
    expect(zsh.startsWith('#compdef vertex-launch vxl\n')).toBe(true);
    expect(zsh).toContain("'queue create')");
    const fish = (await runCli(['completion', 'fish'])).stdout;
    expect(fish).toContain(
      "complete -c vertex-launch -n '__fish_seen_subcommand_from queue; and not __fish_seen_subcommand_from validate create list show update delete items cancel export import migrate' -a create -d 'Save a queue; refuses until its config is complete (exit 2).'",
    );
    expect(fish).toContain(
      "complete -c vertex-launch -n '__fish_seen_subcommand_from doctor' -l queue-config -r -F -d 'check this queue config file instead of a stored queue'",
    );
    if (spawnSync('zsh', ['--version']).status === 0) {
      const file = join(dir.path, '_vertex-launch');
      await writeFile(file, zsh);
      expect(spawnSync('zsh', ['-n', file], { encoding: 'utf8' }).status).toBe(0);
    }
  });

  test('bash and fish complete option values and queue names (from the queue store, asked at completion time)', async () => {
    const db = join(dir.path, 'queues.db');
    const config = join(dir.path, 'q.yaml');
    await writeFile(
      config,
      'spec:\n  worker_pool_specs:\n    - machine_spec: { machine_type: n1-standard-4 }\n      replica_count: 1\n      container_spec: { image_uri: "${image_uri}" }\n  staging_bucket: gs://vxl-completion\n',
    );
    for (const name of ['gpu-t4', 'gpu-a100', 'cpu']) {
      const created = await runCli(['queue', 'create', name, '--queue-config', config, '--db', db]);
      expect(created.stderr).not.toContain('error');
      expect(created.code).toBe(0);
    }
    // The script runs the binary it completes for (COMP_WORDS[0]): a wrapper around the built CLI.
    const bin = join(dir.path, 'vertex-launch');
    await writeFile(bin, `#!/bin/sh\nexec "${process.execPath}" "${cliBin}" "$@"\n`, { mode: 0o755 });
    const file = join(dir.path, 'values.bash');
    await writeFile(file, (await runCli(['completion', 'bash'])).stdout);
    const env = childEnv({ VERTEX_LAUNCH_QUEUE_DB: db });
    expect(bashComplete(file, [bin, 'launch', '--queue', 'gpu'], env)).toEqual(['gpu-a100', 'gpu-t4']);
    expect(bashComplete(file, [bin, 'agent', '-q', ''], env)).toEqual(['cpu', 'gpu-a100', 'gpu-t4']);
    expect(bashComplete(file, [bin, 'queue', 'show', 'c'], env)).toEqual(['cpu']);
    expect(bashComplete(file, [bin, 'queue', 'items', '--j'], env)).toEqual(['--json']);
    expect(bashComplete(file, [bin, 'build', '--progress', ''], env)).toEqual(['auto', 'plain', 'tty']);
    expect(bashComplete(file, [bin, 'launch', '--progress', 'p'], env)).toEqual(['plain']);
    expect(bashComplete(file, [bin, 'jobs', 'list', '--state', 'r'], env)).toEqual(['running']);
    expect(bashComplete(file, [bin, 'queue', 'items', 'cpu', '--state', ''], env)).toEqual([
      'queued',
      'claimed',
      'finished',
    ]);
    expect(bashComplete(file, [bin, 'completion', 'z'], env)).toEqual(['zsh']);
    // Without a store there is nothing to offer, and nothing printed into the prompt.
    expect(
      bashComplete(
        file,
        [bin, 'launch', '--queue', ''],
        childEnv({ VERTEX_LAUNCH_QUEUE_DB: join(dir.path, 'none', 'x.db') }),
      ),
    ).toEqual([]);

    const fish = (await runCli(['completion', 'fish'])).stdout;
    expect(fish).toContain(
      "complete -c vertex-launch -n '__fish_seen_subcommand_from agent' -l queue -s q -r -f -a '(vertex-launch __complete queues 2>/dev/null)'",
    );
    expect(fish).toContain("-l progress -r -f -a 'auto plain tty'");
    expect(fish).toContain("__fish_seen_subcommand_from show' -a '(vertex-launch __complete queues 2>/dev/null)'");
  });

  test('an unknown shell: exit 2 naming the shells', async () => {
    const r = await runCli(['completion', 'powershell']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error Unknown shell "powershell": use one of bash, zsh, fish.');
  });
});
