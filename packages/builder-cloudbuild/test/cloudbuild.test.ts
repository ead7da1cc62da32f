// Cloud Build builder specifics against the emulator: the context is uploaded once per content and found again,
// the build log streams as events while the build runs, the request that crosses the wire has the configured
// timeout/machine type/logs bucket, and aborting cancels the build.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Storage } from '@google-cloud/storage';
import { type AuthCredentials, type BuildEvent, ConfigError } from '@vertex-launch/core';
import { contextTag, fingerprintContext } from '@vertex-launch/core/build';
import { buildBusyboxBaseImage, type Emulator, startEmulator } from '@vertex-launch/emulator';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/helpers.js';
import { cloudBuild } from '../src/index.js';
import { emulatorCredentials } from './support.js';

const docker = new Docker({ socketPath: '/var/run/docker.sock' });
let emulator: Emulator;
let credentials: AuthCredentials;
let base: string;
let repo: string;
let dir: { path: string; cleanup: () => Promise<void> };
const refs = new Set<string>();

beforeAll(async () => {
  emulator = await startEmulator();
  emulator.createDockerRepository('us-central1', 'cb');
  base = `us-central1-docker.pkg.dev/${emulator.projectId}/cb/busybox:base`;
  await buildBusyboxBaseImage({ emulator, imageUri: base });
  refs.add(base).add(emulator.toLocalImageRef(base));
  repo = `us-central1-docker.pkg.dev/${emulator.projectId}/cb/trainer`;
  credentials = await emulatorCredentials(emulator.env);
  dir = await tempDir('vxl-cloudbuild-');
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

async function project(name: string, dockerfile: string): Promise<string> {
  const root = join(dir.path, name);
  await mkdir(root, { recursive: true });
  await writeFile(join(root, 'Dockerfile'), dockerfile);
  await writeFile(join(root, 'train.sh'), `echo ${name}\n`);
  return root;
}

async function destinationFor(contextDir: string, buildArgs?: Record<string, string>): Promise<string> {
  const uri = contextTag(
    repo,
    await fingerprintContext({ contextDir, statCachePath: false, ...(buildArgs ? { buildArgs } : {}) }),
  );
  refs.add(uri).add(emulator.toLocalImageRef(uri));
  return uri;
}

describe('cloudBuild', () => {
  it('uploads the context once, streams the build log, and returns the digest from results.images', async () => {
    const contextDir = await project('upload-once', `FROM ${base}\nARG WHO\nCOPY . /app\nRUN echo "built for $WHO"\n`);
    const builder = cloudBuild({
      credentials,
      env: emulator.env,
      pollIntervalMs: 100,
      machineType: 'E2_HIGHCPU_8',
      timeoutSeconds: 600,
    });
    const events: BuildEvent[] = [];
    const first = await destinationFor(contextDir, { WHO: 'first' });
    const before = emulator.counters();
    const built = await builder.build({
      contextDir,
      destination: first,
      buildArgs: { WHO: 'first' },
      statCachePath: false,
      onEvent: (e) => events.push(e),
    });
    expect(built.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(emulator.counters()['cloudbuild.builds.create']! - (before['cloudbuild.builds.create'] ?? 0)).toBe(1);
    const logLines = events.filter((e) => e.type === 'log').map((e) => e.line);
    expect(logLines.some((l) => l.includes('built for first'))).toBe(true);
    expect(events.some((e) => e.type === 'step' && e.text.startsWith('FROM '))).toBe(true);
    expect(events.some((e) => e.type === 'upload' && e.totalBytes !== undefined && e.totalBytes > 0)).toBe(true);

    // The object is content-addressed and carries the fingerprint.
    const manifest = await fingerprintContext({ contextDir, statCachePath: false, buildArgs: { WHO: 'first' } });
    const storage = new Storage(emulator.storageClientOptions());
    const [objects] = await storage
      .bucket(`${emulator.projectId}_cloudbuild`)
      .getFiles({ prefix: 'vertex-launch/contexts/' });
    expect(objects.map((o) => o.name)).toContain(`vertex-launch/contexts/${manifest.fingerprint}.tar.gz`);
    const object = storage
      .bucket(`${emulator.projectId}_cloudbuild`)
      .file(`vertex-launch/contexts/${manifest.fingerprint}.tar.gz`);
    const [uploaded] = await object.getMetadata();
    expect(uploaded.metadata?.['vertex-launch-fingerprint']).toBe(manifest.fingerprint);

    // The same context pushed under another (non-content) tag: built again, but the uploaded context is reused.
    const second = `${repo}:manual`;
    refs.add(second).add(emulator.toLocalImageRef(second));
    const secondEvents: BuildEvent[] = [];
    const mid = emulator.counters();
    await builder.build({
      contextDir,
      destination: second,
      buildArgs: { WHO: 'first' },
      statCachePath: false,
      onEvent: (e) => secondEvents.push(e),
    });
    const after = emulator.counters();
    expect(after['cloudbuild.builds.create']! - mid['cloudbuild.builds.create']!).toBe(1);
    const [again] = await object.getMetadata();
    expect(again.generation).toBe(uploaded.generation);
    expect(secondEvents.some((e) => e.type === 'upload')).toBe(false);
    expect(secondEvents.some((e) => e.type === 'log' && e.line.includes('already uploaded'))).toBe(true);
    expect(secondEvents.some((e) => e.type === 'log' && e.line.includes('built for first'))).toBe(true);
  });

  it('cancels the Cloud Build when the signal aborts', async () => {
    const contextDir = await project('cancel', `FROM ${base}\nRUN echo sleeping && sleep 30\n`);
    const destination = await destinationFor(contextDir);
    const builder = cloudBuild({ credentials, env: emulator.env, pollIntervalMs: 100 });
    const controller = new AbortController();
    const events: BuildEvent[] = [];
    const started = Date.now();
    const result = builder
      .build({
        contextDir,
        destination,
        statCachePath: false,
        signal: controller.signal,
        onEvent: (e) => {
          events.push(e);
          if (e.type === 'log' && e.line.includes('sleeping')) controller.abort();
        },
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    const error = await result;
    expect(error).toMatchObject({ code: 'INTERRUPTED' });
    expect((error as Error).message).toContain(destination);
    expect(Date.now() - started).toBeLessThan(25_000);
    expect(emulator.counters()['cloudbuild.builds.cancel']).toBeGreaterThanOrEqual(1);
    expect(await builder.exists!(destination)).toBe(false);
  });

  it('validates its options, naming the plugin', () => {
    expect(() => cloudBuild({})).toThrow('[vertex-launch] [builder:cloudbuild] Missing required option `credentials`.');
    expect(() => cloudBuild({ credentials: {} as never })).toThrow(
      '[vertex-launch] [builder:cloudbuild] Option `credentials`: must be AuthCredentials from @vertex-launch/auth',
    );
    // The runtime's credentials do (the registries pass the runtime as the factory's second argument).
    expect(cloudBuild({}, { credentials }).name).toBe('cloudbuild');
    expect(() => cloudBuild({ projectID: 'p' } as never, { credentials })).toThrow(
      '[vertex-launch] [builder:cloudbuild] Unknown option `projectID`; did you mean `projectId`?',
    );
    expect(() => cloudBuild({ credentials, timeoutSeconds: -1 })).toThrow(ConfigError);
    expect(() => cloudBuild({ credentials, logsBucket: 'logs' })).toThrow('must be gs://bucket[/path]');
    // Cloud Build refuses a bare email (Build.service_account is a resource name): the option says so first.
    expect(() => cloudBuild({ credentials, serviceAccount: 'builder@p.iam.gserviceaccount.com' })).toThrow(
      'must be a service account resource name, `projects/<project>/serviceAccounts/<email>` (not the bare email)',
    );
    expect(() =>
      cloudBuild({ credentials, serviceAccount: 'projects/p/serviceAccounts/builder@p.iam.gserviceaccount.com' }),
    ).not.toThrow();
  });
});
