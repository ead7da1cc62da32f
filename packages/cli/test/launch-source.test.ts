// `vertex-launch launch --queue-config FILE --source DIR --image REPOSITORY`: the built CLI builds the source with
// local Docker, pushes it to the emulator's Artifact Registry under its content tag, and the job runs that image.
import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildBusyboxBaseImage, type Emulator, startEmulator } from '@vertex-launch/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, tempDir } from '../../../test/helpers.js';
import { runCli } from './run-cli.js';

let emu: Emulator;
let dir: { path: string; cleanup: () => Promise<void> };
let env: Record<string, string>;
let firstTag: string | undefined;
const hello = join(repoRoot, 'examples', 'hello');
const repository = 'us-central1-docker.pkg.dev/vxl-emulator/demo/hello';

beforeAll(async () => {
  emu = await startEmulator({ executor: 'docker', jobTimings: { queuedMs: 50, pendingMs: 50 } });
  await buildBusyboxBaseImage({ emulator: emu, imageUri: 'us-central1-docker.pkg.dev/vxl-emulator/demo/busybox:1' });
  dir = await tempDir('vxl-cli-source-');
  await cp(hello, join(dir.path, 'hello'), { recursive: true });
  env = { ...emu.env, NO_COLOR: '1' };
}, 60_000);
afterAll(async () => {
  await emu?.stop();
  await dir?.cleanup();
});

describe('vertex-launch launch --source', () => {
  const args = () => [
    'launch',
    '--queue-config',
    join(dir.path, 'hello', 'queue.yaml'),
    '--source',
    join(dir.path, 'hello'),
    '--image',
    repository,
    '--follow',
  ];

  it('builds, pushes under the content tag, runs the image and prints its output; a relaunch reuses the image', async () => {
    const first = await runCli(args(), { env, timeoutMs: 100_000 });
    expect(first.stderr).toMatch(/Building us-central1-docker\.pkg\.dev\/vxl-emulator\/demo\/hello:ctx-[0-9a-f]{12}/);
    expect(first.stderr).toMatch(/✓ Pushed \S+:ctx-[0-9a-f]{12} \(sha256:[0-9a-f]{64}\)/);
    expect(first.stdout).toContain('hello from Vertex Launch');
    expect(first.stdout).toContain('epoch 3/3 loss=0.216');
    expect(first.code).toBe(0);
    const tag = /hello:(ctx-[0-9a-f]{12})/.exec(first.stderr)?.[1];
    firstTag = tag;

    const pushes = emu.counters()['artifactregistry.docker.push'] ?? 0;
    const second = await runCli(args(), { env, timeoutMs: 100_000 });
    expect(second.code).toBe(0);
    expect(second.stderr).toContain('✓ Build skipped');
    expect(second.stderr).not.toContain('Building ');
    expect(second.stdout).toContain('hello from Vertex Launch');
    expect(emu.counters()['artifactregistry.docker.push'] ?? 0).toBe(pushes);

    // The dry run names the same content tag without building anything.
    const dry = await runCli([...args().filter((a) => a !== '--follow'), '--dry-run', '--json'], { env });
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout).customJob.jobSpec.workerPoolSpecs[0].containerSpec.imageUri).toBe(
      `${repository}:${tag}`,
    );
  }, 200_000);

  it('touching one file changes the tag; a tagged --image is built and pushed under that tag; a digest is refused', async () => {
    await writeFile(join(dir.path, 'hello', 'train.sh'), '#!/bin/sh\necho changed\n');
    const dry = await runCli([...args().filter((a) => a !== '--follow'), '--dry-run', '--json'], { env });
    const image = JSON.parse(dry.stdout).customJob.jobSpec.workerPoolSpecs[0].containerSpec.imageUri as string;
    expect(image).toMatch(/hello:ctx-[0-9a-f]{12}$/);
    expect(firstTag).toMatch(/^ctx-/);
    expect(image).not.toBe(`${repository}:${firstTag}`);

    const noFollow = args().filter((a) => a !== '--follow');
    const tagged = await runCli(
      [...noFollow.map((a) => (a === repository ? `${repository}:v1` : a)), '--no-cache', '--progress', 'plain'],
      { env, timeoutMs: 100_000 },
    );
    expect(tagged.code).toBe(0);
    expect(tagged.stderr).toContain(`Building ${repository}:v1 with docker`);
    expect(tagged.stderr).toMatch(new RegExp(`✓ Pushed ${repository}:v1 \\(sha256:[0-9a-f]{64}\\)`));
    // Steps with the time since the build started, each once; the push in bytes; no layer from the cache.
    expect(tagged.stderr).toMatch(
      /\n\[\+\d+(ms|s)\] \[step 1\/5\] ARG BASE_IMAGE=.*\n\[\+\d+(ms|s)\] \[step 2\/5\] FROM /,
    );
    expect(tagged.stderr).toMatch(/\[push\] layer [0-9a-f]{12} done \(\d+(\.\d)? (B|KiB|MiB)\)/);
    expect(tagged.stderr).toContain('follow it: vertex-launch jobs logs ');
    expect(tagged.stderr).not.toMatch(/^\s*Step \d+\/\d+ : /m);
    expect(tagged.stderr).toMatch(/\[done\] \d+ steps, \d+(\.\d)? (B|KiB|MiB) pushed in \d+ layers?/);
    expect(tagged.stderr).not.toContain('Using cache');
    expect(tagged.stderr).not.toContain('\r');
    expect(tagged.stdout).toMatch(/^projects\/\d+\/locations\/us-central1\/customJobs\/\d+\n$/);

    const digest = await runCli(
      [...noFollow.map((a) => (a === repository ? `${repository}@sha256:${'0'.repeat(64)}` : a))],
      {
        env,
      },
    );
    expect(digest.code).toBe(2);
    expect(digest.stderr).toContain('has a digest; pass the repository');
    const buildFlagsAlone = await runCli(
      ['launch', '--queue-config', join(dir.path, 'hello', 'queue.yaml'), '--image', `${repository}:v1`, '--no-cache'],
      { env },
    );
    expect(buildFlagsAlone.code).toBe(2);
    expect(buildFlagsAlone.stderr).toContain('--no-cache only apply with --source DIR');
  }, 150_000);
});
