// `vertex-launch build` as a process against the emulator: build + push with the content tag, progress on stderr,
// JSON on stdout, reuse of an unchanged source, and usage errors.
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildBusyboxBaseImage, type Emulator, startEmulator } from '@vertex-launch/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/helpers.js';
import { runCli } from './run-cli.js';

let emulator: Emulator;
let dir: { path: string; cleanup: () => Promise<void> };
let base: string;
let repo: string;
const refs = new Set<string>();

beforeAll(async () => {
  emulator = await startEmulator();
  emulator.createDockerRepository('us-central1', 'cli');
  base = `us-central1-docker.pkg.dev/${emulator.projectId}/cli/busybox:base`;
  await buildBusyboxBaseImage({ emulator, imageUri: base });
  refs.add(base).add(emulator.toLocalImageRef(base));
  repo = `us-central1-docker.pkg.dev/${emulator.projectId}/cli/trainer`;
  dir = await tempDir('vxl-cli-build-');
});

afterAll(async () => {
  await new Promise((done) => execFile('docker', ['image', 'rm', '-f', ...refs], () => done(undefined)));
  await emulator?.stop();
  await dir?.cleanup();
});

async function project(name: string): Promise<string> {
  const root = join(dir.path, name);
  await mkdir(root, { recursive: true });
  await writeFile(
    join(root, 'Dockerfile'),
    `FROM ${base}\nARG EPOCHS\nCOPY . /app\nRUN echo "epochs=$EPOCHS" > /app/epochs\n`,
  );
  await writeFile(join(root, 'train.sh'), `echo ${name}\n`);
  return root;
}

describe('vertex-launch build', () => {
  it('builds and pushes with the content tag, then reuses the unchanged source', async () => {
    const source = await project('reuse');
    const env = { ...emulator.env, XDG_CACHE_HOME: join(dir.path, 'cache') };
    const first = await runCli(['build', '--source', source, '--destination', repo, '--build-arg', 'EPOCHS=3'], {
      env,
      timeoutMs: 50_000,
    });
    expect(first.stderr).toContain('[step 1/5] FROM');
    expect(first.stderr).toMatch(/\[upload\] \d+(\.\d)? (B|KiB) of build context sent/);
    expect(first.code).toBe(0);
    const uri = /Pushed (\S+)/.exec(first.stdout)?.[1] ?? '';
    expect(uri).toMatch(new RegExp(`^${repo}:ctx-[0-9a-f]{12}$`));
    refs.add(uri).add(emulator.toLocalImageRef(uri));
    const digest = /digest (sha256:[0-9a-f]{64})/.exec(first.stdout)?.[1];
    expect(digest).toBeDefined();
    expect(first.stdout + first.stderr).not.toContain(emulator.adminToken);

    const before = emulator.counters();
    const again = await runCli(
      ['build', '--source', source, '--destination', repo, '--build-arg', 'EPOCHS=3', '--json'],
      {
        env,
        timeoutMs: 50_000,
      },
    );
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({ imageUri: uri, digest, reused: true, builder: 'docker' });
    expect(
      (emulator.counters()['artifactregistry.docker.push'] ?? 0) - (before['artifactregistry.docker.push'] ?? 0),
    ).toBe(0);

    // Another build arg is another image.
    const other = await runCli(
      ['build', '--source', source, '--destination', repo, '--build-arg', 'EPOCHS=4', '--json'],
      {
        env,
        timeoutMs: 50_000,
      },
    );
    expect(other.code).toBe(0);
    const otherJson = JSON.parse(other.stdout) as { imageUri: string; reused: boolean };
    refs.add(otherJson.imageUri).add(emulator.toLocalImageRef(otherJson.imageUri));
    expect(otherJson.reused).toBe(false);
    expect(otherJson.imageUri).not.toBe(uri);
  });

  it('cloudbuild: each step shown once with its time (the log repeats it), --no-cache said not to apply', async () => {
    const source = await project('cloud');
    const r = await runCli(
      [
        'build',
        '--source',
        source,
        '--destination',
        repo,
        '--builder',
        'cloudbuild',
        '--build-arg',
        'EPOCHS=5',
        '--no-cache',
        '--progress',
        'plain',
      ],
      { env: { ...emulator.env, XDG_CACHE_HOME: join(dir.path, 'cache') }, timeoutMs: 90_000 },
    );
    const uri = /Pushed (\S+)/.exec(r.stdout)?.[1] ?? '';
    refs.add(uri).add(emulator.toLocalImageRef(uri));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      'warning --no-cache does not apply to --builder cloudbuild: every Cloud Build runs on a fresh worker',
    );
    // Each step once, in order (the emulator's Cloud Build adds a LABEL step of its own: the total comes from the log).
    const steps = [...r.stderr.matchAll(/^\[\+\d+(?:ms|s)\] \[step (\d+)\/(\d+)\] /gm)].map((m) => [
      Number(m[1]),
      Number(m[2]),
    ]);
    const total = steps[0]?.[1] ?? 0;
    expect(total).toBeGreaterThanOrEqual(5);
    expect(steps).toEqual(Array.from({ length: total }, (_, i) => [i + 1, total]));
    expect(r.stderr).toMatch(/^\[\+\d+(ms|s)\] \[step 1\/\d+\] FROM /m);
    expect(r.stderr).not.toMatch(/Step \d+\/\d+ : /);
    expect(r.stderr).toContain(`[done] ${total} steps`);
  });

  it('exits 2 on bad flags and 1 with the log tail when the build fails', async () => {
    const source = await project('bad');
    const badArg = await runCli(['build', '--source', source, '--destination', repo, '--build-arg', 'NOVALUE'], {
      env: emulator.env,
    });
    expect(badArg.code).toBe(2);
    expect(badArg.stderr).toContain('--build-arg NOVALUE: expected NAME=value');
    const badBuilder = await runCli(['build', '--source', source, '--builder', 'kaniko'], { env: emulator.env });
    expect(badBuilder.code).toBe(2);
    expect(badBuilder.stderr).toContain('--builder kaniko: use docker or cloudbuild');

    await writeFile(join(source, 'Dockerfile'), `FROM ${base}\nRUN echo cli-broken-step && exit 7\n`);
    const broken = await runCli(['build', '--source', source, '--destination', repo], {
      env: { ...emulator.env, XDG_CACHE_HOME: join(dir.path, 'cache') },
      timeoutMs: 50_000,
    });
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain('[builder:docker]');
    expect(broken.stderr).toContain('cli-broken-step');
  });
});
