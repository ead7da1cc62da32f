// The Cloud Build builder against the emulator when builds fail: a build that Cloud Build itself failed (the source
// fetch failed, INTERNAL_ERROR) runs again under the same content tag, a bounded number of times, each retry logged
// with its reason; a failing step is never run again; and a build that fails or is aborted while the context is
// being uploaded has stopped reading the context before build() settles.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CloudBuildClient } from '@google-cloud/cloudbuild';
import type { AuthCredentials, BuildEvent } from '@vertex-launch/core';
import { contextTag, fingerprintContext } from '@vertex-launch/core/build';
import { type Emulator, startEmulator } from '@vertex-launch/emulator';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/helpers.js';
import { noise, openFilesUnder } from '../../../test/open-files.js';
import { cloudBuild } from '../src/index.js';
import { emulatorCredentials } from './support.js';

const docker = new Docker({ socketPath: '/var/run/docker.sock' });
let emulator: Emulator;
let credentials: AuthCredentials;
/** An emulator whose Cloud Build finds no Docker daemon: every build ends INTERNAL_ERROR. */
let noDocker: Emulator;
let noDockerCredentials: AuthCredentials;
let dir: { path: string; cleanup: () => Promise<void> };
const refs = new Set<string>();

beforeAll(async () => {
  dir = await tempDir('vxl-cloudbuild-retries-');
  emulator = await startEmulator();
  emulator.createDockerRepository('us-central1', 'cb');
  credentials = await emulatorCredentials(emulator.env);
  noDocker = await startEmulator({ dockerSocket: join(dir.path, 'no-docker.sock') });
  noDocker.createDockerRepository('us-central1', 'cb');
  noDockerCredentials = await emulatorCredentials(noDocker.env);
});

afterAll(async () => {
  for (const ref of refs)
    await docker
      .getImage(ref)
      .remove({ force: true })
      .catch(() => undefined);
  await emulator?.stop();
  await noDocker?.stop();
  await dir?.cleanup();
});

async function project(name: string, files: Record<string, string | Buffer>): Promise<string> {
  const root = join(dir.path, name);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), content);
  }
  return root;
}

async function destinationFor(emu: Emulator, contextDir: string): Promise<string> {
  const repo = `us-central1-docker.pkg.dev/${emu.projectId}/cb/trainer`;
  const uri = contextTag(repo, await fingerprintContext({ contextDir, statCachePath: false }));
  refs.add(uri).add(emu.toLocalImageRef(uri));
  return uri;
}

const creates = (emu: Emulator) => emu.counters()['cloudbuild.builds.create'] ?? 0;
const retryLines = (events: BuildEvent[]) =>
  events
    .filter((e) => e.type === 'log' && e.line.includes('so the build runs again'))
    .map((e) => (e as { line: string }).line);

describe('infrastructure failures', () => {
  it('a build whose source fetch failed (UNAVAILABLE on the storage read) runs again under the same content tag', async () => {
    const contextDir = await project('fetch-failed', {
      Dockerfile: 'FROM scratch\nCOPY data.txt /data.txt\n',
      'data.txt': 'fetch failed once\n',
    });
    const destination = await destinationFor(emulator, contextDir);
    const tag = destination.slice(destination.lastIndexOf(':') + 1);
    const builder = cloudBuild({ credentials, env: emulator.env, pollIntervalMs: 100 });
    // The builder's own look-up of the context object is the first storage read and is let through; the next one is
    // the build fetching its source. The first status read waits 600 ms, so the builder's log reads come after it.
    emulator.faults.inject('storage.objects.get', { code: 'UNAVAILABLE', skip: 1, times: 1 });
    emulator.faults.inject('cloudbuild.builds.get', { latencyMs: 600, times: 1 });
    const before = creates(emulator);
    const events: BuildEvent[] = [];
    const { digest } = await builder.build({
      contextDir,
      destination,
      statCachePath: false,
      onEvent: (e) => events.push(e),
    });
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(emulator.faults.injected()['storage.objects.get UNAVAILABLE']).toBe(1);
    expect(creates(emulator) - before).toBe(2);
    const retries = retryLines(events);
    expect(retries).toHaveLength(1);
    expect(retries[0]).toMatch(
      new RegExp(
        `^Cloud Build could not fetch the uploaded context \\(FETCH_SOURCE_FAILED: failed to fetch source gs://.+: HTTP 503 Injected fault: UNAVAILABLE for storage\\.objects\\.get\\.\\); Cloud Build [0-9a-f-]+ ended FAILURE without a failing step, so the build runs again under the same content tag ${tag} in \\d\\.\\d s \\(build 2 of 3\\)\\.$`,
      ),
    );
    // Both builds carry the content tag: the first ended as Cloud Build reports a failed fetch, the second pushed.
    const client = new CloudBuildClient(emulator.cloudBuildClientOptions());
    const [tagged] = await client.listBuilds({ projectId: emulator.projectId, filter: `tags="${tag}"` });
    await client.close();
    expect(tagged.map((b) => [b.status, b.failureInfo?.type ?? null]).reverse()).toEqual([
      ['FAILURE', 'FETCH_SOURCE_FAILED'],
      ['SUCCESS', null],
    ]);
    expect(tagged[0]?.results?.images?.[0]).toMatchObject({ name: destination, digest });
  });

  it('INTERNAL_ERROR is retried a bounded number of times, each retry logged, then fails naming the cause', async () => {
    const contextDir = await project('internal', { Dockerfile: 'FROM scratch\nCOPY a.txt /a.txt\n', 'a.txt': 'a\n' });
    const destination = await destinationFor(noDocker, contextDir);
    const builder = cloudBuild({ credentials: noDockerCredentials, env: noDocker.env, pollIntervalMs: 100 });
    const before = creates(noDocker);
    const events: BuildEvent[] = [];
    const started = Date.now();
    const error = await builder
      .build({ contextDir, destination, statCachePath: false, onEvent: (e) => events.push(e) })
      .then(
        () => undefined,
        (e: unknown) => e as Error & { hint?: string },
      );
    const seconds = (Date.now() - started) / 1000;
    expect(creates(noDocker) - before).toBe(3);
    expect(error?.message).toMatch(
      /^\[vertex-launch\] \[builder:cloudbuild\] Cloud Build [0-9a-f-]+ for .+ ended INTERNAL_ERROR \(3 Cloud Builds, each ended by a failure of Cloud Build's own\): The emulator could not run the build: the emulator's Docker daemon does not answer/,
    );
    expect(error?.hint).toContain('Cloud Build kept failing for reasons of its own; try again later');
    const retries = retryLines(events);
    expect(retries).toHaveLength(2);
    expect(retries[0]).toMatch(/^Cloud Build failed for an internal cause \(INTERNAL_ERROR\);.*\(build 2 of 3\)\.$/);
    expect(retries[1]).toMatch(/\(build 3 of 3\)\.$/);
    // Back-off: 0.5-1 s before the second build, 1-2 s before the third.
    const waits = retries.map((line) => Number(/ in (\d+\.\d) s /.exec(line)?.[1]));
    expect(waits[0]).toBeGreaterThanOrEqual(0.5);
    expect(waits[0]).toBeLessThanOrEqual(1);
    expect(waits[1]).toBeGreaterThanOrEqual(1);
    expect(waits[1]).toBeLessThanOrEqual(2);
    expect(seconds).toBeGreaterThanOrEqual(1.4);
    // The context was uploaded once; the retries found it there.
    expect(events.filter((e) => e.type === 'log' && e.line.includes('is already uploaded'))).toHaveLength(2);
  });

  it('a failing step (USER_BUILD_STEP) is not run again', async () => {
    const contextDir = await project('user-step', { Dockerfile: 'FROM scratch\nRUN ["/no/such/program"]\n' });
    const destination = await destinationFor(emulator, contextDir);
    const builder = cloudBuild({ credentials, env: emulator.env, pollIntervalMs: 100 });
    const before = creates(emulator);
    const events: BuildEvent[] = [];
    const error = await builder
      .build({ contextDir, destination, statCachePath: false, onEvent: (e) => events.push(e) })
      .then(
        () => undefined,
        (e: unknown) => e as Error & { hint?: string },
      );
    expect(creates(emulator) - before).toBe(1);
    expect(error?.message).toMatch(/ended FAILURE: Build step 0 "gcr\.io\/cloud-builders\/docker" failed/);
    expect(error?.hint).toContain('Fix the failing step');
    expect(retryLines(events)).toEqual([]);
  });
});

describe('the build log', () => {
  it('transient failures reading the log are read again: every line arrives once and the build succeeds', async () => {
    const contextDir = await project('log-faults', {
      Dockerfile: 'FROM scratch\nCOPY a.txt /a.txt\nCOPY b.txt /b.txt\n',
      'a.txt': 'a\n',
      'b.txt': 'b\n',
    });
    const destination = await destinationFor(emulator, contextDir);
    const builder = cloudBuild({ credentials, env: emulator.env, pollIntervalMs: 100 });
    const events: BuildEvent[] = [];
    // The emulator's fault counters add up over the file (an earlier test injected the same fault): count from here.
    const hits = () => emulator.faults.injected()['storage.objects.get UNAVAILABLE'] ?? 0;
    const hitsBefore = hits();
    let injected = false;
    const { digest } = await builder.build({
      contextDir,
      destination,
      statCachePath: false,
      onEvent: (e) => {
        events.push(e);
        // Once the build has fetched its source and logged its first step, every storage read is the builder's
        // own read of the log: the next four fail as an outage would (storage's own retries are off for them).
        if (e.type === 'step' && !injected) {
          injected = true;
          emulator.faults.inject('storage.objects.get', { code: 'UNAVAILABLE', times: 4 });
        }
      },
    });
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(injected).toBe(true);
    expect(hits() - hitsBefore).toBe(4);
    const lines = events.filter((e) => e.type === 'log').map((e) => (e as { line: string }).line);
    const steps = lines.filter((line) => /Step \d\/\d/.test(line));
    expect(steps).toEqual([...new Set(steps)]);
    expect(steps.length).toBeGreaterThanOrEqual(3);
    expect(lines.filter((line) => line === 'DONE')).toHaveLength(1);
  });
});

describe('stopping early', () => {
  /** A context whose upload takes many chunk requests: 8 MiB that gzip cannot shrink, and small files after it. */
  async function bigContext(name: string): Promise<string> {
    const files: Record<string, string | Buffer> = {
      Dockerfile: 'FROM scratch\nCOPY . /data\n',
      'a-big.bin': noise(8 * 1024 * 1024, name),
    };
    for (let i = 0; i < 40; i++) files[`small/${String(i).padStart(3, '0')}.txt`] = `${name} ${i}\n`.repeat(200);
    return project(name, files);
  }

  it('a build that fails before the upload (no staging bucket) has stopped reading the context when build() rejects', async () => {
    const contextDir = await bigContext('no-bucket');
    const destination = await destinationFor(emulator, contextDir);
    const builder = cloudBuild({ credentials, env: emulator.env, stagingBucket: 'vxl-no-such-bucket' });
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      const error = await builder.build({ contextDir, destination, statCachePath: false }).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      const open = openFilesUnder(contextDir);
      expect(error?.message).toBe(
        '[vertex-launch] [builder:cloudbuild] The staging bucket gs://vxl-no-such-bucket does not exist.',
      );
      expect(open).toEqual([]);
      await rm(contextDir, { recursive: true, force: true });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });

  it('a build that fails while the context upload is in flight has stopped reading it when build() rejects', async () => {
    const contextDir = await bigContext('upload-refused');
    const destination = await destinationFor(emulator, contextDir);
    const builder = cloudBuild({ credentials, env: emulator.env, uploadChunkBytes: 256 * 1024 });
    // The first chunk request is refused (403, not retried): the build fails with the packer mid-file.
    emulator.faults.inject('storage.uploads.put', { code: 'PERMISSION_DENIED', times: 1 });
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      const error = await builder.build({ contextDir, destination, statCachePath: false }).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      // Checked at once: nothing of the context is open when build() has settled.
      const open = openFilesUnder(contextDir);
      expect(error?.message).toContain('Could not upload the build context to gs://');
      expect(open).toEqual([]);
      // The caller removes the context right away: nothing reads it later.
      await rm(contextDir, { recursive: true, force: true });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
    expect(emulator.faults.injected()['storage.uploads.put PERMISSION_DENIED']).toBe(1);
  });

  it('an aborted build has stopped reading the context when build() rejects', async () => {
    const contextDir = await bigContext('upload-aborted');
    const destination = await destinationFor(emulator, contextDir);
    const builder = cloudBuild({ credentials, env: emulator.env, uploadChunkBytes: 256 * 1024 });
    const controller = new AbortController();
    const before = creates(emulator);
    const error = await builder
      .build({
        contextDir,
        destination,
        statCachePath: false,
        signal: controller.signal,
        onEvent: (e) => {
          if (e.type === 'upload' && e.bytes >= 512 * 1024) controller.abort();
        },
      })
      .then(
        () => undefined,
        (e: unknown) => e as Error & { code?: string },
      );
    const open = openFilesUnder(contextDir);
    expect(error?.code).toBe('INTERRUPTED');
    expect(open).toEqual([]);
    expect(creates(emulator) - before).toBe(0);
  });
});
