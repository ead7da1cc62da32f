// How the emulator's Cloud Build ends builds that fail, as Cloud Build does (Build.Status and Build.FailureInfo in
// google/devtools/cloudbuild/v1/cloudbuild.proto), read with the real @google-cloud/cloudbuild client: a source fetch
// that fails is FAILURE with failureInfo FETCH_SOURCE_FAILED, one that takes too long is TIMEOUT with the FETCHSOURCE
// phase unfinished and no step started, no Docker daemon is INTERNAL_ERROR, and a daemon that refuses a build while
// its context is still being sent fails the step, with the context packing stopped before the workspace is removed.
import { readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { CloudBuildClient, type protos } from '@google-cloud/cloudbuild';
import { Storage } from '@google-cloud/storage';
import { type Emulator, startEmulator } from '@vertex-launch/emulator';
import { pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { tempDir } from '../../../test/helpers.js';
import { noise, openFilesUnderPrefix } from '../../../test/open-files.js';

type Build = protos.google.devtools.cloudbuild.v1.IBuild;

let dir: { path: string; cleanup: () => Promise<void> };
let daemon: FakeDaemon;
/** Its Docker "daemon" answers pings and refuses every build at once, without reading the context. */
let emu: Emulator;
let builds: CloudBuildClient;
let storage: Storage;
/** No Docker daemon at all. */
let noDocker: Emulator;
let noDockerBuilds: CloudBuildClient;

/** A gzipped tarball of `files`. */
async function tarball(files: Record<string, string | Buffer>): Promise<Buffer> {
  const tar = pack();
  const chunks: Buffer[] = [];
  tar.on('data', (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve) => tar.on('end', () => resolve()));
  for (const [name, content] of Object.entries(files)) tar.entry({ name, mode: 0o644 }, content);
  tar.finalize();
  await done;
  return gzipSync(Buffer.concat(chunks));
}

async function upload(store: Storage, object: string, files: Record<string, string | Buffer>) {
  await store
    .bucket('vxl-src')
    .file(object)
    .save(await tarball(files), { resumable: false });
  return { storageSource: { bucket: 'vxl-src', object } };
}

/**
 * Docker's HTTP API on a unix socket, as far as the emulator's build step gets: ping, and a build refused at once
 * (`refuse`), or, in `vanish` mode, a daemon that answers the ping and then goes away (its socket removed).
 */
interface FakeDaemon {
  socket: string;
  mode: 'refuse' | 'vanish';
  builds: number;
  server: Server;
  listen(): Promise<void>;
}

async function fakeDaemon(socket: string): Promise<FakeDaemon> {
  const state: FakeDaemon = {
    socket,
    mode: 'refuse',
    builds: 0,
    server: createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://docker').pathname.replace(/^\/v[\d.]+/, '');
      if (path === '/_ping') {
        if (state.mode === 'refuse') {
          res.writeHead(200, { 'content-type': 'text/plain' }).end('OK');
          return;
        }
        // Closing the server removes its socket, and this connection is not kept: the build meets ENOENT.
        res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' }).end('OK');
        state.server.close();
      } else if (path === '/build') {
        state.builds += 1;
        // Answer before reading the body, and hang up: the client is still sending the context.
        res.writeHead(500, { 'content-type': 'application/json', connection: 'close' });
        res.end(JSON.stringify({ message: 'this daemon refuses every build' }), () => req.socket.destroy());
      } else {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ message: `no ${path} here` }));
      }
    }),
    listen: () => new Promise<void>((resolve) => state.server.listen(socket, resolve)),
  };
  await state.listen();
  return state;
}

/** Context files: 300 of 16 KiB, so a daemon that hangs up does so long before the emulator has sent them all. */
function manyFiles(): Record<string, string | Buffer> {
  const files: Record<string, string | Buffer> = { Dockerfile: 'FROM scratch\nCOPY . /data\n' };
  for (let i = 0; i < 300; i++) files[`data/${String(i).padStart(3, '0')}.bin`] = noise(16 * 1024, `file-${i}`);
  return files;
}

/**
 * Runs `body` and fails when an exception went uncaught meanwhile or in the 300 ms after, or when a file of build
 * `id`'s workspace is still open (a packer stuck on a consumer that went away, or still reading).
 */
async function expectCleanEnd(id: () => string | undefined | null, body: () => Promise<void>): Promise<void> {
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown) => uncaught.push(error);
  process.on('uncaughtException', onUncaught);
  try {
    await body();
    const prefix = `vxl-build-${id()?.slice(0, 8)}-`;
    expect(readdirSync(tmpdir()).filter((name) => name.startsWith(prefix))).toEqual([]);
    expect(openFilesUnderPrefix(join(tmpdir(), prefix))).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(openFilesUnderPrefix(join(tmpdir(), prefix))).toEqual([]);
    expect(uncaught).toEqual([]);
  } finally {
    process.off('uncaughtException', onUncaught);
  }
}

/**
 * Waits for the operation of a CreateBuild (once: an operation that has ended does not settle a second `promise()`)
 * and returns how it failed and the ended Build as GetBuild gives it (enums as names).
 */
async function ended(
  client: CloudBuildClient,
  projectId: string,
  operation: { promise(): Promise<unknown>; metadata: unknown },
): Promise<{ build: Build; error: Error | undefined }> {
  const error = await operation.promise().then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  const id = (operation.metadata as { build?: { id?: string } }).build?.id as string;
  const [build] = await client.getBuild({ projectId, id });
  return { build: build as Build, error };
}

beforeAll(async () => {
  dir = await tempDir('vxl-cloudbuild-failures-');
  daemon = await fakeDaemon(join(dir.path, 'docker.sock'));
  emu = await startEmulator({ dockerSocket: daemon.socket });
  builds = new CloudBuildClient(emu.cloudBuildClientOptions());
  storage = new Storage(emu.storageClientOptions());
  await storage.createBucket('vxl-src');
  noDocker = await startEmulator({ dockerSocket: join(dir.path, 'no-docker.sock') });
  noDockerBuilds = new CloudBuildClient(noDocker.cloudBuildClientOptions());
  await new Storage(noDocker.storageClientOptions()).createBucket('vxl-src');
});

afterAll(async () => {
  await builds?.close();
  await noDockerBuilds?.close();
  await emu?.stop();
  await noDocker?.stop();
  if (daemon?.server.listening) await new Promise((resolve) => daemon.server.close(resolve));
  await dir?.cleanup();
});

const step = { name: 'gcr.io/cloud-builders/docker', args: ['build', '-t', 'us-central1-docker.pkg.dev/p/r/i:t', '.'] };

describe('source fetch', () => {
  test('an UNAVAILABLE storage read ends the build FAILURE with failureInfo FETCH_SOURCE_FAILED, no step run', async () => {
    const source = await upload(storage, 'ctx/unavailable.tgz', { Dockerfile: 'FROM scratch\n' });
    emu.faults.inject('storage.objects.get', { code: 'UNAVAILABLE', times: 1 });
    const [operation] = await builds.createBuild({ projectId: emu.projectId, build: { source, steps: [step] } });
    const { build, error } = await ended(builds, emu.projectId, operation);
    expect(error?.message).toContain('Build failed; check build logs for details');
    expect(emu.faults.injected()['storage.objects.get UNAVAILABLE']).toBe(1);
    expect(build.status).toBe('FAILURE');
    expect(build.failureInfo?.type).toBe('FETCH_SOURCE_FAILED');
    expect(build.failureInfo?.detail).toBe(
      'failed to fetch source gs://vxl-src/ctx/unavailable.tgz: Cannot read gs://vxl-src/ctx/unavailable.tgz: HTTP 503 Injected fault: UNAVAILABLE for storage.objects.get.',
    );
    expect(build.statusDetail).toBe(build.failureInfo?.detail);
    expect(build.steps?.map((s) => s.status)).toEqual(['QUEUED']);
    expect(build.timing?.FETCHSOURCE?.endTime).toBeTruthy();
    expect(build.timing?.BUILD).toBeUndefined();
    expect(daemon.builds).toBe(0);
  });

  test('a missing source object is FETCH_SOURCE_FAILED too', async () => {
    const source = { storageSource: { bucket: 'vxl-src', object: 'ctx/never-uploaded.tgz' } };
    const [operation] = await builds.createBuild({ projectId: emu.projectId, build: { source, steps: [step] } });
    const { build } = await ended(builds, emu.projectId, operation);
    expect(build.status).toBe('FAILURE');
    expect(build.failureInfo?.type).toBe('FETCH_SOURCE_FAILED');
    expect(build.failureInfo?.detail).toContain('HTTP 404');
  });

  test('a fetch slower than the build timeout ends TIMEOUT at the deadline, FETCHSOURCE unfinished, no step started', async () => {
    const source = await upload(storage, 'ctx/slow.tgz', { Dockerfile: 'FROM scratch\n' });
    emu.faults.inject('storage.objects.get', { latencyMs: 5_000, times: 1 });
    const started = Date.now();
    const [operation] = await builds.createBuild({
      projectId: emu.projectId,
      build: { source, steps: [step], timeout: { seconds: 1 } },
    });
    const { build, error } = await ended(builds, emu.projectId, operation);
    expect(error?.message).toContain('Build timed out');
    // The read is abandoned at the deadline, not waited for.
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(build.status).toBe('TIMEOUT');
    expect(build.failureInfo).toBeFalsy();
    expect(build.steps?.map((s) => s.status)).toEqual(['QUEUED']);
    expect(build.steps?.[0]?.timing).toBeFalsy();
    expect(build.timing?.FETCHSOURCE?.startTime).toBeTruthy();
    expect(build.timing?.FETCHSOURCE?.endTime).toBeFalsy();
    expect(emu.faults.injected()['storage.objects.get latency']).toBe(1);
  });
});

describe('Docker', () => {
  test('without a Docker daemon the build ends INTERNAL_ERROR, saying so, with no failure type', async () => {
    const source = await upload(new Storage(noDocker.storageClientOptions()), 'ctx/no-docker.tgz', {
      Dockerfile: 'FROM scratch\n',
    });
    const [operation] = await noDockerBuilds.createBuild({
      projectId: noDocker.projectId,
      build: { source, steps: [step] },
    });
    const { build, error } = await ended(noDockerBuilds, noDocker.projectId, operation);
    expect(error?.message).toContain('Build failed');
    expect(build.status).toBe('INTERNAL_ERROR');
    expect(build.statusDetail).toBe(
      "The emulator could not run the build: the emulator's Docker daemon does not answer (start dockerd, or point DOCKER_HOST or the emulator's dockerSocket option at its socket)",
    );
    expect(build.failureInfo).toBeFalsy();
    expect(build.steps?.map((s) => s.status)).toEqual(['QUEUED']);
    expect(build.timing?.FETCHSOURCE?.endTime).toBeTruthy();
  });

  test('a daemon that refuses the build mid-context fails the step; the packing stops before the workspace goes', async () => {
    const source = await upload(storage, 'ctx/refused.tgz', manyFiles());
    let id: string | null | undefined;
    await expectCleanEnd(
      () => id,
      async () => {
        const before = daemon.builds;
        const [operation] = await builds.createBuild({ projectId: emu.projectId, build: { source, steps: [step] } });
        const { build } = await ended(builds, emu.projectId, operation);
        id = build.id;
        expect(daemon.builds - before).toBe(1);
        expect(build.status).toBe('FAILURE');
        expect(build.failureInfo?.type).toBe('USER_BUILD_STEP');
        expect(build.failureInfo?.detail).toContain('Build step 0 "gcr.io/cloud-builders/docker" failed');
        expect(build.steps?.map((s) => s.status)).toEqual(['FAILURE']);
      },
    );
  });

  test('a daemon gone between the ping and the build is INTERNAL_ERROR, and nothing reads the removed workspace', async () => {
    const source = await upload(storage, 'ctx/vanished.tgz', manyFiles());
    daemon.mode = 'vanish';
    let id: string | null | undefined;
    try {
      await expectCleanEnd(
        () => id,
        async () => {
          const [operation] = await builds.createBuild({ projectId: emu.projectId, build: { source, steps: [step] } });
          const { build } = await ended(builds, emu.projectId, operation);
          id = build.id;
          expect(build.status).toBe('INTERNAL_ERROR');
          expect(build.statusDetail).toContain(
            'The emulator could not run the build: the emulator lost its Docker daemon during build step 0: connect ENOENT',
          );
          expect(build.failureInfo).toBeFalsy();
          expect(build.steps?.map((s) => s.status)).toEqual(['INTERNAL_ERROR']);
        },
      );
    } finally {
      daemon.mode = 'refuse';
      if (!daemon.server.listening) await daemon.listen();
    }
  });
});
