// The Docker builder against the emulator's real registry: build + push + digest, push errors from the stream,
// platform, build args, target, labels, and the options check.
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BuildError, type BuildEvent, ConfigError } from '@vertex-launch/core';
import { buildBusyboxBaseImage, type Emulator, startEmulator } from '@vertex-launch/emulator';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/helpers.js';
import { dockerBuilder } from '../src/index.js';

const docker = new Docker({ socketPath: '/var/run/docker.sock' });
let emulator: Emulator;
let base: string;
let dir: { path: string; cleanup: () => Promise<void> };
const refs = new Set<string>();

beforeAll(async () => {
  emulator = await startEmulator();
  emulator.createDockerRepository('us-central1', 'train');
  base = `us-central1-docker.pkg.dev/${emulator.projectId}/train/busybox:docker-test`;
  const built = await buildBusyboxBaseImage({ emulator, imageUri: base });
  refs.add(built.imageUri).add(built.localRef);
  dir = await tempDir('vxl-docker-builder-');
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

async function project(name: string, files: Record<string, string>): Promise<string> {
  const root = join(dir.path, name);
  await mkdir(root, { recursive: true });
  for (const [file, content] of Object.entries(files)) await writeFile(join(root, file), content);
  return root;
}

function builderFor(em: Emulator, token = em.adminToken) {
  return dockerBuilder({ env: em.env, credentials: { accessToken: async () => ({ token }) } });
}

describe('dockerBuilder', () => {
  it('builds for linux/amd64 with build args, target and labels, pushes, and returns the registry digest', async () => {
    const contextDir = await project('args', {
      Dockerfile: [
        `FROM ${base} AS first`,
        'ARG GREETING',
        'RUN echo "$GREETING" > /greeting',
        'FROM first AS final',
        'RUN echo never > /never',
        '',
      ].join('\n'),
    });
    const destination = `us-central1-docker.pkg.dev/${emulator.projectId}/train/args:v1`;
    const events: BuildEvent[] = [];
    const result = await builderFor(emulator).build({
      contextDir,
      destination,
      buildArgs: { GREETING: 'hello-arg' },
      target: 'first',
      statCachePath: false,
      onEvent: (e) => events.push(e),
    });
    const local = emulator.toLocalImageRef(destination);
    refs.add(local);
    expect(result.imageUri).toBe(destination);
    expect(result.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const auth = emulator.dockerAuth();
    const manifest = await fetch(`http://${emulator.registry.address}/v2/${destination.split(':')[0]}/manifests/v1`, {
      headers: {
        accept: 'application/vnd.docker.distribution.manifest.v2+json',
        authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`,
      },
    });
    expect(manifest.status).toBe(200);
    expect(manifest.headers.get('docker-content-digest')).toBe(result.digest);
    const info = await docker.getImage(local).inspect();
    expect(info.Architecture).toBe('amd64');
    expect(info.Os).toBe('linux');
    expect(info.Config.Labels?.['dev.vertex-launch.fingerprint']).toMatch(/^[0-9a-f]{64}$/);
    const steps = events.filter((e) => e.type === 'step');
    expect(steps.map((s) => s.text)).toContain('ARG GREETING');
    expect(steps.some((s) => s.text.includes('/never'))).toBe(false);
    expect(events.some((e) => e.type === 'upload' && e.totalBytes !== undefined && e.bytes > 0)).toBe(true);
    expect(events.some((e) => e.type === 'push' && e.done === true)).toBe(true);
    // The arg reached the RUN step: run the image and read the file.
    const container = await docker.createContainer({
      Image: local,
      Cmd: ['cat', '/greeting'],
      HostConfig: { NetworkMode: 'host' },
    });
    await container.start();
    await container.wait();
    const out = (await container.logs({ stdout: true, stderr: false })) as Buffer;
    await container.remove();
    expect(out.subarray(8).toString()).toBe('hello-arg\n');
  });

  it('the daemon (Go gzip) reads a multi-block parallel-gzip context at the builder and request compression levels', async () => {
    // 3 MiB, half text and half noise: three gzip blocks, deflated in parallel and joined by sync flushes.
    const noise = Buffer.alloc(1.5 * 1024 * 1024);
    for (let i = 0, x = 7; i < noise.length; i++) noise[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
    const data = Buffer.concat([Buffer.alloc(1.5 * 1024 * 1024, 'layer.weight = 0.25\n'), noise]);
    const contextDir = await project('blocks', { Dockerfile: `FROM ${base}\nCOPY data.bin /data.bin\n` });
    await writeFile(join(contextDir, 'data.bin'), data);
    const sha = createHash('sha256').update(data).digest('hex');
    for (const [name, builderLevel, requestLevel] of [
      ['store', 0, undefined],
      ['best', 1, 9],
    ] as const) {
      const destination = `us-central1-docker.pkg.dev/${emulator.projectId}/train/blocks:${name}`;
      const builder = dockerBuilder({
        env: emulator.env,
        credentials: { accessToken: async () => ({ token: emulator.adminToken }) },
        compression: builderLevel,
      });
      const events: BuildEvent[] = [];
      await builder.build({
        contextDir,
        destination,
        statCachePath: false,
        ...(requestLevel === undefined ? {} : { compression: requestLevel }),
        onEvent: (e) => events.push(e),
      });
      const local = emulator.toLocalImageRef(destination);
      refs.add(local);
      // Level 0 sends more than the file; level 9 much less (the noise half stays, the text half nearly vanishes).
      const sent = events.findLast((e) => e.type === 'upload' && e.totalBytes !== undefined);
      const total = (sent as { totalBytes: number } | undefined)?.totalBytes ?? 0;
      if (name === 'store') expect(total).toBeGreaterThan(data.length);
      else expect(total).toBeLessThan(0.6 * data.length);
      const container = await docker.createContainer({
        Image: local,
        Cmd: ['sha256sum', '/data.bin'],
        HostConfig: { NetworkMode: 'host' },
      });
      await container.start();
      await container.wait();
      const out = (await container.logs({ stdout: true, stderr: false })) as Buffer;
      await container.remove();
      expect(out.subarray(8).toString()).toBe(`${sha}  /data.bin\n`);
    }
    expect(() => dockerBuilder({ compression: 10 })).toThrow('[vertex-launch] [builder:docker] Option `compression`');
  });

  it('rejects a push refused by the registry (reported as a stream message) with a BuildError naming the image, and removes the image', async () => {
    const contextDir = await project('denied', { Dockerfile: `FROM ${base}\nRUN echo denied > /d\n` });
    const destination = `us-central1-docker.pkg.dev/${emulator.projectId}/train/denied:v1`;
    refs.add(emulator.toLocalImageRef(destination));
    const error = await builderFor(emulator, 'not-a-token')
      .build({ contextDir, destination, statCachePath: false })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BuildError);
    expect((error as BuildError).builder).toBe('docker');
    expect((error as BuildError).message).toContain(`Pushing ${destination} failed`);
    expect((error as BuildError).message).not.toContain('not-a-token');
    expect((error as BuildError).hint).toMatch(/artifactregistry\.writer|credentials/);
    expect(await builderFor(emulator).exists!(destination)).toBe(false);
    // The image that was never published is not left in the daemon.
    const left = await docker
      .getImage(emulator.toLocalImageRef(destination))
      .inspect()
      .catch((e: { statusCode?: number }) => e.statusCode);
    expect(left).toBe(404);
  });

  it('validates its options and names itself', () => {
    expect(() => dockerBuilder({ nope: true } as never)).toThrow(ConfigError);
    expect(() => dockerBuilder({ nope: true } as never)).toThrow(
      '[vertex-launch] [builder:docker] Unknown option `nope`.',
    );
    expect(() => dockerBuilder({ credentials: {} as never })).toThrow('must have an accessToken() method');
    expect(dockerBuilder({}).name).toBe('docker');
  });
});
