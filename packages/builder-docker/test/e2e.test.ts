// End to end against the emulator: source -> docker build -> push -> Vertex CustomJob runs the image (docker
// executor) -> SUCCEEDED with the program's output in the job logs. Relaunching unchanged sources builds and pushes
// nothing; touching one file changes the tag.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { artifactRegistry } from '@vertex-launch/artifact-registry';
import { auto, resolveCredentials } from '@vertex-launch/auth';
import { type AuthCredentials, type LaunchEvent, launch } from '@vertex-launch/core';
import { buildBusyboxBaseImage, dockerExecutor, type Emulator, startEmulator } from '@vertex-launch/emulator';
import { vertexRunner } from '@vertex-launch/vertex';
import Docker from 'dockerode';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { tempDir } from '../../../test/helpers.js';
import { dockerBuilder } from '../src/index.js';

const docker = new Docker({ socketPath: '/var/run/docker.sock' });
let emulator: Emulator;
let credentials: AuthCredentials;
let dir: { path: string; cleanup: () => Promise<void> };
let base: string;
const refs = new Set<string>();

const QUEUE_CONFIG = {
  spec: {
    worker_pool_specs: [
      {
        machine_spec: { machine_type: 'n1-standard-4' },
        replica_count: 1,
        container_spec: { image_uri: '${image_uri}' },
      },
    ],
    staging_bucket: 'gs://vxl-e2e-staging',
  },
};

beforeAll(async () => {
  emulator = await startEmulator({
    executor: dockerExecutor(),
    jobTimings: { queuedMs: 50, pendingMs: 50, cancellingMs: 50 },
  });
  emulator.createDockerRepository('us-central1', 'e2e');
  base = `us-central1-docker.pkg.dev/${emulator.projectId}/e2e/busybox:base`;
  await buildBusyboxBaseImage({ emulator, imageUri: base });
  refs.add(base).add(emulator.toLocalImageRef(base));
  dir = await tempDir('vxl-e2e-');
  credentials = await resolveCredentials(auto(), { env: emulator.env, homedir: dir.path, warn: () => undefined });
});

afterAll(async () => {
  for (const ref of refs)
    await docker
      .getImage(ref)
      .remove({ force: true })
      .catch(() => undefined);
  await emulator?.stop();
  await dir?.cleanup();
});

it('source -> build -> push -> CustomJob SUCCEEDED with the output in the logs; unchanged sources are reused', async () => {
  const source = join(dir.path, 'trainer');
  await mkdir(join(source, 'data'), { recursive: true });
  await writeFile(join(source, 'Dockerfile'), `FROM ${base}\nCOPY . /app\nENTRYPOINT ["sh", "/app/train.sh"]\n`);
  await writeFile(join(source, 'train.sh'), 'echo "loss=0.125 after $(cat /app/data/epochs) epochs"\n');
  await writeFile(join(source, 'data/epochs'), '3');
  const image = `us-central1-docker.pkg.dev/${emulator.projectId}/e2e/trainer`;
  const runner = vertexRunner({ credentials, env: emulator.env, logs: { pollIntervalMs: 200, lagMs: 500 } });
  const builder = dockerBuilder({ credentials, env: emulator.env });
  const registry = artifactRegistry({ credentials, env: emulator.env });

  const run = async () => {
    const events: LaunchEvent[] = [];
    const handle = await launch({
      config: QUEUE_CONFIG,
      projectId: emulator.projectId,
      region: 'us-central1',
      source: { contextDir: source, image, statCachePath: join(dir.path, 'stat-cache.json') },
      builder,
      registry,
      runner,
      onEvent: (e) => events.push(e),
    });
    refs.add(handle.imageUri).add(emulator.toLocalImageRef(handle.imageUri));
    const final = await handle.wait();
    const lines: string[] = [];
    for await (const entry of handle.logs()) lines.push(entry.text);
    return { handle, final, events, lines };
  };

  try {
    const first = await run();
    expect(first.final.state).toBe('JOB_STATE_SUCCEEDED');
    expect(first.handle.imageUri).toMatch(new RegExp(`^${image}:ctx-[0-9a-f]{12}$`));
    expect(first.events.map((e) => e.type)).toContain('build-pushed');
    expect(first.lines.some((l) => l.includes('loss=0.125 after 3 epochs'))).toBe(true);

    const before = emulator.counters();
    const second = await run();
    expect(second.handle.imageUri).toBe(first.handle.imageUri);
    expect(second.events.filter((e) => e.type.startsWith('build-')).map((e) => e.type)).toEqual(['build-skipped']);
    expect(
      (emulator.counters()['artifactregistry.docker.push'] ?? 0) - (before['artifactregistry.docker.push'] ?? 0),
    ).toBe(0);
    expect(second.final.state).toBe('JOB_STATE_SUCCEEDED');

    await writeFile(join(source, 'data/epochs'), '4');
    const third = await run();
    expect(third.handle.imageUri).not.toBe(first.handle.imageUri);
    expect(third.events.map((e) => e.type)).toContain('build-pushed');
    expect(third.lines.some((l) => l.includes('loss=0.125 after 4 epochs'))).toBe(true);
  } finally {
    await runner.close?.();
    await registry.close();
  }
});
