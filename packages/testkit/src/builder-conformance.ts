/**
 * The conformance suite every image builder plugin runs against the Vertex Launch emulator (real Docker, the
 * emulator's real registry, and its Cloud Storage and Cloud Build): a fixture project becomes an image with the
 * expected files and entrypoint (read back through the registry), an unchanged rebuild does no work, a changed
 * file changes the tag, a broken build is a BuildError with the log tail, and escaping symlinks and credential
 * files are refused before anything is sent.
 *
 * The emulator is passed in (`startEmulator`) rather than imported, so the testkit depends only on core.
 */

import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  BuildContextError,
  type BuildEvent,
  type BuilderCredentials,
  type BuildRequest,
  contextTag,
  fingerprintContext,
  type ImageBuilder,
  resolveImage,
} from '../../core/src/build/index.js';
import { BuildError } from '../../core/src/index.js';
import { readRegistryImage } from './builder-registry.js';

/** The part of `@vertex-launch/emulator`'s `Emulator` the suite uses. */
export interface ConformanceEmulator {
  readonly projectId: string;
  readonly region: string;
  readonly adminToken: string;
  readonly env: Record<string, string>;
  readonly registry: { readonly address: string };
  toLocalImageRef(uri: string): string;
  createDockerRepository(location: string, repositoryId: string): string;
  counters(): Record<string, number>;
  stop(): Promise<void>;
}

/** What the suite hands the builder factory. */
export interface BuilderConformanceContext {
  emulator: ConformanceEmulator;
  /** Push credentials (the emulator's admin token). */
  credentials: BuilderCredentials;
  /** An Artifact Registry URI of the busybox base image, present on the daemon and in the registry. */
  baseImage: string;
  /** The entrypoint the fixture image must have (builders that generate their Dockerfile set it). */
  entrypoint: string[];
  /** Where builders that generate their Dockerfile copy the sources. */
  workdir: string;
}

/** Options of {@link builderConformance}. */
export interface BuilderConformanceOptions {
  /** Starts a fresh emulator, e.g. `() => startEmulator()` from `@vertex-launch/emulator`. */
  startEmulator: () => Promise<ConformanceEmulator>;
  /** Builds the busybox base image into the emulator's registry (and tags it locally) as `imageUri`. */
  buildBaseImage: (emulator: ConformanceEmulator, imageUri: string) => Promise<unknown>;
  /**
   * `context` (default): the builder builds the context's Dockerfile. `generated`: the builder writes its own
   * Dockerfile from `ctx.baseImage` / `ctx.entrypoint`; its broken build is a base image that does not exist.
   */
  dockerfile?: 'context' | 'generated';
  /** Emulator counters that mean work was done (a build, an upload). Default: uploads, builds, object inserts. */
  workCounters?: string[];
  /** Removes images the suite made from the local daemon. Default: `docker image rm -f` of each reference. */
  removeImages?: (refs: string[]) => Promise<void>;
}

/** The emulator counter of registry writes (blob uploads, manifest puts). */
const PUSH_COUNTER = 'artifactregistry.docker.push';

const DEFAULT_WORK_COUNTERS = [PUSH_COUNTER, 'cloudbuild.builds.create', 'storage.objects.insert'];

const FIXTURE_ENTRYPOINT = ['sh', '/app/train.sh'];

function fixtureDockerfile(base: string): string {
  return [`FROM ${base}`, 'COPY . /app', 'WORKDIR /app', `ENTRYPOINT ${JSON.stringify(FIXTURE_ENTRYPOINT)}`, ''].join(
    '\n',
  );
}

async function writeTree(root: string, files: Record<string, string>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), content, { mode: path.endsWith('.sh') ? 0o755 : 0o644 });
  }
}

function delta(before: Record<string, number>, after: Record<string, number>, names: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of names) {
    const d = (after[name] ?? 0) - (before[name] ?? 0);
    if (d !== 0) out[name] = d;
  }
  return out;
}

function dockerRemove(refs: string[]): Promise<void> {
  if (refs.length === 0) return Promise.resolve();
  return new Promise((resolve) => {
    execFile('docker', ['image', 'rm', '-f', ...refs], () => resolve());
  });
}

/**
 * Registers the builder conformance suite (a vitest `describe`) for the builder `name`. `makeBuilder` is called
 * per test with the emulator, push credentials and the base image.
 *
 * @example
 * builderConformance('docker', (ctx) => dockerBuilder({ env: ctx.emulator.env, credentials: ctx.credentials }), {
 *   startEmulator: () => startEmulator(),
 *   buildBaseImage: (emulator, imageUri) => buildBusyboxBaseImage({ emulator: emulator as Emulator, imageUri }),
 * });
 */
export function builderConformance(
  name: string,
  makeBuilder: (ctx: BuilderConformanceContext) => ImageBuilder | Promise<ImageBuilder>,
  options: BuilderConformanceOptions,
): void {
  const generated = options.dockerfile === 'generated';
  const workCounters = options.workCounters ?? DEFAULT_WORK_COUNTERS;
  const removeImages = options.removeImages ?? dockerRemove;

  describe(`builder conformance: ${name}`, () => {
    let emulator: ConformanceEmulator;
    let ctx: BuilderConformanceContext;
    let root: string;
    let repo: string;
    const refs = new Set<string>();
    let fixtureCount = 0;

    beforeAll(async () => {
      emulator = await options.startEmulator();
      emulator.createDockerRepository(emulator.region, 'conformance');
      // A tag of its own per run: conformance suites of several builders run at once and each removes its images after.
      const baseImage = `${emulator.region}-docker.pkg.dev/${emulator.projectId}/conformance/busybox:base-${randomUUID().slice(0, 8)}`;
      await options.buildBaseImage(emulator, baseImage);
      refs.add(baseImage).add(emulator.toLocalImageRef(baseImage));
      repo = `${emulator.region}-docker.pkg.dev/${emulator.projectId}/conformance/${name}-fixture`;
      root = await mkdtemp(join(tmpdir(), `vxl-builder-conformance-${name}-`));
      const token = emulator.adminToken;
      ctx = {
        emulator,
        credentials: { accessToken: async () => ({ token }) },
        baseImage,
        entrypoint: FIXTURE_ENTRYPOINT,
        workdir: '/app',
      };
    });

    afterAll(async () => {
      await removeImages([...refs]);
      await emulator?.stop();
      if (root) await rm(root, { recursive: true, force: true });
    });

    /** A fresh fixture project: a training script, data, a .dockerignore'd log, a .git directory. */
    async function fixture(extra: Record<string, string> = {}): Promise<string> {
      const dir = join(root, `project-${++fixtureCount}`);
      await writeTree(dir, {
        Dockerfile: fixtureDockerfile(ctx.baseImage),
        '.dockerignore': '*.log\n',
        'train.sh': '#!/bin/sh\necho "trained on $(cat /app/data/config.txt)"\n',
        'data/config.txt': 'conformance-data-v1\n',
        'debug.log': 'must not be sent\n',
        '.git/HEAD': 'ref: refs/heads/main\n',
        // Distinct content per fixture, so no test reuses another test's image.
        'data/fixture.txt': `fixture ${fixtureCount}\n`,
        ...extra,
      });
      return dir;
    }

    /** The request a launch would make: the destination carries the content tag of the sources. */
    async function requestFor(contextDir: string, events: BuildEvent[]): Promise<BuildRequest> {
      const manifest = await fingerprintContext({ contextDir, statCachePath: false });
      const destination = contextTag(repo, manifest);
      refs.add(destination).add(emulator.toLocalImageRef(destination));
      return { contextDir, destination, statCachePath: false, onEvent: (e) => events.push(e) };
    }

    test('builds a fixture project into the registry with its files and entrypoint, for linux/amd64', async () => {
      const builder = await makeBuilder(ctx);
      expect(builder.name).toBe(name);
      const events: BuildEvent[] = [];
      const request = await requestFor(await fixture(), events);
      const result = await builder.build(request);
      expect(result.imageUri).toBe(request.destination);
      expect(result.digest).toMatch(/^sha256:[0-9a-f]{64}$/);

      const image = await readRegistryImage(emulator.toLocalImageRef(request.destination), emulator.adminToken);
      expect(image.digest).toBe(result.digest);
      expect(image.os).toBe('linux');
      expect(image.architecture).toBe('amd64');
      expect(image.entrypoint).toEqual(FIXTURE_ENTRYPOINT);
      expect(image.workingDir).toBe('/app');
      expect(image.files).toContain('app/train.sh');
      expect(image.files).toContain('app/data/config.txt');
      expect(image.files).toContain('bin/busybox');
      expect(image.readFile('app/data/config.txt')).toBe('conformance-data-v1\n');
      expect(image.readFile('app/train.sh')).toContain('trained on');
      expect([...image.files].filter((f) => f.startsWith('app/.git') || f === 'app/debug.log')).toEqual([]);
      expect(events.some((e) => e.type === 'skipped')).toBe(false);
      if (builder.exists) {
        expect(await builder.exists(request.destination)).toBe(true);
        expect(await builder.exists(`${repo}:ctx-000000000000`)).toBe(false);
      }
    });

    test('an unchanged rebuild through resolveImage does no build and no upload; touching one file changes the tag', async () => {
      const builder = await makeBuilder(ctx);
      const dir = await fixture();
      const first: BuildEvent[] = [];
      const request = await requestFor(dir, first);
      const start = emulator.counters();
      const built = await builder.build(request);
      const pushed = delta(start, emulator.counters(), [PUSH_COUNTER]);
      expect(pushed[PUSH_COUNTER]).toBeGreaterThan(0);

      // The builder's digestOf() / exists() answers for the tag it pushed, so resolveImage() builds nothing.
      const before = emulator.counters();
      const second: BuildEvent[] = [];
      const again = await resolveImage({
        contextDir: dir,
        image: repo,
        builder,
        statCachePath: false,
        credentials: ctx.credentials,
        onEvent: (e) => second.push(e),
      });
      expect(again).toMatchObject({ imageUri: request.destination, built: false });
      if (builder.digestOf) expect(again.digest).toBe(built.digest);
      expect(second).toEqual([
        { type: 'skipped', imageUri: request.destination, reason: expect.stringContaining(request.destination) },
      ]);
      expect(delta(before, emulator.counters(), workCounters)).toEqual({});

      await writeFile(join(dir, 'data/config.txt'), 'conformance-data-v2\n');
      const third: BuildEvent[] = [];
      const changed = await requestFor(dir, third);
      expect(changed.destination).not.toBe(request.destination);
      const rebuilt = await builder.build(changed);
      expect(rebuilt.digest).not.toBe(built.digest);
      expect(third.some((e) => e.type === 'skipped')).toBe(false);
      const image = await readRegistryImage(emulator.toLocalImageRef(changed.destination), emulator.adminToken);
      expect(image.readFile('app/data/config.txt')).toBe('conformance-data-v2\n');
    });

    test('a broken build rejects with a BuildError naming the builder and carrying the log tail', async () => {
      const events: BuildEvent[] = [];
      let builder: ImageBuilder;
      let request: BuildRequest;
      let expected: RegExp;
      if (generated) {
        const missing = `${ctx.baseImage.split(':')[0]}-missing:none`;
        builder = await makeBuilder({ ...ctx, baseImage: emulator.toLocalImageRef(missing) });
        request = await requestFor(await fixture(), events);
        expected = /missing|not found|unknown|denied|unauthorized/i;
      } else {
        builder = await makeBuilder(ctx);
        const dir = await fixture({
          Dockerfile: `FROM ${ctx.baseImage}\nRUN echo conformance-broken-step && exit 3\n`,
        });
        request = await requestFor(dir, events);
        expected = /conformance-broken-step|non-zero|exit/;
      }
      const before = emulator.counters();
      const error = await builder.build(request).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(BuildError);
      expect((error as BuildError).builder).toBe(name);
      expect((error as BuildError).code).toBe('BUILD');
      expect((error as BuildError).message).toContain(`[builder:${name}]`);
      expect((error as BuildError).logTail.length).toBeGreaterThan(0);
      expect((error as BuildError).logTail.join('\n')).toMatch(expected);
      expect((error as BuildError).message).not.toContain(emulator.adminToken);
      expect(delta(before, emulator.counters(), [PUSH_COUNTER])).toEqual({});
    });

    test('a symlink escaping the context is refused before anything is sent', async () => {
      const builder = await makeBuilder(ctx);
      await writeTree(root, { 'outside.txt': 'secret outside the context\n' });
      const dir = await fixture();
      await symlink('../outside.txt', join(dir, 'leak'));
      const events: BuildEvent[] = [];
      const before = emulator.counters();
      const error = await builder
        .build({
          contextDir: dir,
          destination: `${repo}:symlink`,
          statCachePath: false,
          onEvent: (e) => events.push(e),
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toBeInstanceOf(BuildContextError);
      expect((error as BuildContextError).paths).toEqual(['leak']);
      expect((error as Error).message).toContain('leak');
      expect(events.filter((e) => e.type !== 'log')).toEqual([]);
      expect(delta(before, emulator.counters(), workCounters)).toEqual({});
    });

    test('a credential file in the context is refused before anything is sent', async () => {
      const builder = await makeBuilder(ctx);
      const key = JSON.stringify({
        type: 'service_account',
        project_id: 'p',
        private_key_id: 'abc',
        private_key: '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n',
        client_email: 'sa@p.iam.gserviceaccount.com',
      });
      const dir = await fixture({ 'keys/sa.json': key });
      const events: BuildEvent[] = [];
      const before = emulator.counters();
      const error = await builder
        .build({ contextDir: dir, destination: `${repo}:secret`, statCachePath: false, onEvent: (e) => events.push(e) })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toBeInstanceOf(BuildContextError);
      expect((error as BuildContextError).paths).toEqual(['keys/sa.json']);
      expect((error as Error).message).toContain('keys/sa.json');
      expect((error as Error).message).not.toContain('BEGIN PRIVATE KEY');
      expect(events.filter((e) => e.type !== 'log')).toEqual([]);
      expect(delta(before, emulator.counters(), workCounters)).toEqual({});
    });
  });
}

export { listTar, type RegistryImage, readRegistryImage } from './builder-registry.js';
