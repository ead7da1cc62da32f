// Crashes, part 3 of the reliability suite: the emulator's registry process (`docker-registry serve`, spawned by the
// emulator behind its auth proxy) is killed with SIGKILL while `vertex-launch build` pushes to it.
//
// - Killed in the middle of a layer upload: the emulator starts a new registry process on the next request (same
//   storage), Docker retries the layer, and the build succeeds; the pushed image is complete (every blob is there and
//   hashes to its digest) and the Artifact Registry API lists its tag.
// - Killed while the manifest is being written, and not back before the push gives up (the emulator's watchdog is
//   paused, so the proxy still forwards to the dead process): Docker does not retry a manifest, so the build fails —
//   with one clear error naming the push, no stack trace — and running the same build again succeeds.

import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { artifactRegistry } from '@vertex-launch/artifact-registry';
import { auto, resolveCredentials } from '@vertex-launch/auth';
import { buildBusyboxBaseImage, type Emulator, startEmulator } from '@vertex-launch/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childEnv, tempDir } from '../helpers.js';
import { testSeed } from '../seed.js';
import { cliBin } from './support/crash-agent.js';
import { alive, findRegistryProcess, type RegistryProcess, until, uploadingBytes } from './support/crash-processes.js';

const exec = promisify(execFile);
const MiB = 1024 * 1024;
/** The layer killed mid-upload: random bytes, so Docker's gzip keeps the upload going for a while. */
const PAYLOAD = 16 * MiB;
/** The run's seed: the emulator's faults draw from it (these faults have no rate, so they hit every call anyway). */
const SEED = testSeed();

let emu: Emulator;
let dir: { path: string; cleanup: () => Promise<void> };
let baseUri: string;
let repository: string;

interface CliRun {
  code: Promise<number | null>;
  output: () => { stdout: string; stderr: string };
  /** Throws when the build already exited (a wait for something during the build cannot succeed any more). */
  running: () => void;
}

function build(source: string): CliRun {
  const child = spawn(process.execPath, [cliBin, 'build', '--source', source, '--destination', repository], {
    env: childEnv(emu.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  let exit: number | null | undefined;
  const code = new Promise<number | null>((resolve) =>
    child.on('close', (c) => {
      exit = c;
      resolve(c);
    }),
  );
  const running = () => {
    if (exit !== undefined) throw new Error(`the build exited early (${exit}):\n${stdout}\n${stderr}`);
  };
  return { code, output: () => ({ stdout, stderr }), running };
}

async function project(name: string, payloadBytes: number): Promise<string> {
  const path = join(dir.path, name);
  await mkdir(path, { recursive: true });
  await writeFile(join(path, 'Dockerfile'), `FROM ${baseUri}\nCOPY payload.bin /payload.bin\n`);
  await writeFile(join(path, 'payload.bin'), randomBytes(payloadBytes));
  return path;
}

function authHeader(): string {
  const auth = emu.dockerAuth();
  return `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
}

/** The image's manifest from the registry, and every blob it names fetched and hashed. */
async function verifyImage(uri: string): Promise<{ digest: string; layers: number; bytes: number }> {
  const colon = uri.lastIndexOf(':');
  const name = uri.slice(0, colon);
  const res = await fetch(`http://${emu.registry.address}/v2/${name}/manifests/${uri.slice(colon + 1)}`, {
    headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json', authorization: authHeader() },
  });
  expect(res.status, `manifest of ${uri}`).toBe(200);
  const manifest = (await res.json()) as {
    config: { digest: string; size: number };
    layers: { digest: string; size: number }[];
  };
  let bytes = 0;
  for (const blob of [manifest.config, ...manifest.layers]) {
    const got = await fetch(`http://${emu.registry.address}/v2/${name}/blobs/${blob.digest}`, {
      headers: { authorization: authHeader() },
    });
    expect(got.status, `blob ${blob.digest}`).toBe(200);
    const body = Buffer.from(await got.arrayBuffer());
    expect(body.length, `blob ${blob.digest}`).toBe(blob.size);
    expect(`sha256:${createHash('sha256').update(body).digest('hex')}`, `blob ${blob.digest}`).toBe(blob.digest);
    bytes += body.length;
  }
  return { digest: res.headers.get('docker-content-digest') ?? '', layers: manifest.layers.length, bytes };
}

const destinationOf = (stderr: string) => /Building (\S+) with docker/.exec(stderr)?.[1];
const noStackTrace = (text: string) => !/^\s+at .+\(?.+:\d+:\d+\)?$/m.test(text) && !text.includes('This is a bug');

beforeAll(async () => {
  emu = await startEmulator({ faultSeed: SEED });
  dir = await tempDir('vxl-crash-registry-');
  const nonce = randomBytes(4).toString('hex');
  baseUri = `us-central1-docker.pkg.dev/${emu.projectId}/crash/busybox:${nonce}`;
  repository = `us-central1-docker.pkg.dev/${emu.projectId}/crash/pushed-${nonce}`;
  await buildBusyboxBaseImage({ emulator: emu, imageUri: baseUri });
}, 120_000);

afterAll(async () => {
  if (emu) {
    const refs = await exec('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}']).then(
      (r) => r.stdout.split('\n').filter((ref) => ref.includes(repository) || ref.includes(baseUri)),
      () => [] as string[],
    );
    if (refs.length > 0) await exec('docker', ['rmi', '-f', ...refs]).catch(() => undefined);
  }
  await emu?.stop();
  await dir?.cleanup();
});

describe("kill -9 of the emulator's registry during a push", () => {
  it('mid-upload: the registry comes back on the next request, Docker retries the layer, the image is complete', async () => {
    const t0 = Date.now();
    const before = (await findRegistryProcess()) as RegistryProcess;
    expect(before, 'the registry process of this emulator').toBeDefined();
    const source = await project('mid-upload', PAYLOAD);
    const run = build(source);
    let inFlight = 0;
    await until(
      async () => {
        run.running();
        inFlight = await uploadingBytes(before.root);
        return inFlight > 2 * 1024 * 1024;
      },
      'a layer upload in progress',
      90_000,
      10,
    );
    process.kill(before.pid, 'SIGKILL');
    const code = await run.code;
    const { stdout, stderr } = run.output();
    expect(code, stderr).toBe(0);
    const uri = destinationOf(stderr) as string;
    expect(stdout).toContain(`Pushed ${uri}`);
    // Docker saw the upload break and retried it.
    expect(stderr).toMatch(/Retrying in \d+ seconds?/);

    // A new registry process, on the same storage.
    const after = (await findRegistryProcess()) as RegistryProcess;
    expect(alive(before.pid)).toBe(false);
    expect(after.pid).not.toBe(before.pid);
    expect(after.root).toBe(before.root);

    const image = await verifyImage(uri);
    expect(stdout).toContain(`digest ${image.digest}`);
    expect(image.bytes).toBeGreaterThan(PAYLOAD);
    const credentials = await resolveCredentials(auto({ env: emu.env }), { env: emu.env });
    await expect(artifactRegistry({ credentials, env: emu.env }).tagExists(uri)).resolves.toBe(true);
    console.info(
      `[reliability] registry kill -9 mid-upload: killed with ${(inFlight / MiB).toFixed(1)} of ${PAYLOAD / MiB} MiB of a layer uploaded; registry restarted on the next request (pid ${before.pid} -> ${after.pid}), Docker retried the layer, build exit 0; ${image.layers} layers, ${(image.bytes / MiB).toFixed(1)} MiB, every blob verified, tag listed; 0 lost; ${((Date.now() - t0) / 1000).toFixed(1)} s; seed ${SEED}`,
    );
  }, 150_000);

  it('while the manifest is written, down until the push gave up: a clean build error, and a retry succeeds', async () => {
    const t0 = Date.now();
    const before = (await findRegistryProcess()) as RegistryProcess;
    expect(before).toBeDefined();
    const source = await project('manifest', 256 * 1024);
    // Every push request waits at the proxy before it is forwarded, so the test sees each one arrive.
    emu.faults.inject('artifactregistry.docker.push', { latencyMs: 700 });
    const run = build(source);
    let uri: string | undefined;
    let configBlob: string | undefined;
    let seen = emu.counters()['artifactregistry.docker.push'] ?? 0;
    let paused = false;
    let failure = '';
    try {
      await until(
        async () => {
          run.running();
          uri ??= destinationOf(run.output().stderr);
          if (uri && !configBlob) {
            // The image config is uploaded last before the manifest; its digest is the local image id.
            const id = await exec('docker', ['image', 'inspect', '--format', '{{.Id}}', emu.toLocalImageRef(uri)]).then(
              (r) => r.stdout.trim(),
              () => '',
            );
            const hex = /^sha256:([0-9a-f]{64})$/.exec(id)?.[1];
            if (hex) {
              configBlob = join(before.root, 'data/docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
            }
          }
          const count = emu.counters()['artifactregistry.docker.push'] ?? 0;
          const arrived = count > seen;
          seen = count;
          // A push request that arrives once the config blob is stored is the manifest's.
          return arrived && configBlob !== undefined && existsSync(configBlob);
        },
        'the manifest upload',
        90_000,
        10,
      );
      // Kill the registry while the manifest request waits at the proxy, and pause the watchdog so the emulator does
      // not notice before the push has failed: for the push, the registry stays down.
      process.kill(before.watchdogPid, 'SIGSTOP');
      paused = true;
      process.kill(before.pid, 'SIGKILL');
      const code = await run.code;
      const { stdout, stderr } = run.output();
      expect(code, stderr).toBe(1);
      expect(stdout).toBe('');
      // One error line naming the builder and the push, and a hint that says what happened and what to do.
      expect(stderr.match(/^error .*$/gm)).toEqual([
        expect.stringMatching(
          new RegExp(
            `^error \\[vertex-launch\\] \\[builder:docker\\] Pushing ${uri?.replace(/[.]/g, '\\.')} failed: .*500`,
          ),
        ),
      ]);
      expect(stderr).toMatch(/^hint The registry \S+ failed or could not be reached during the push; retry the build/m);
      expect(noStackTrace(stderr), stderr).toBe(true);
      failure = /failed: (.*)$/m.exec(stderr)?.[1] ?? '';
    } finally {
      if (paused) process.kill(before.watchdogPid, 'SIGCONT');
      emu.faults.clear('artifactregistry.docker.push');
    }
    // The watchdog sees its registry gone and exits; the emulator starts a new one on the next request.
    await until(() => !alive(before.watchdogPid), 'the old watchdog exited', 10_000);

    const retry = build(source);
    const retryCode = await retry.code;
    const { stdout, stderr } = retry.output();
    expect(retryCode, stderr).toBe(0);
    expect(stdout).toContain(`Pushed ${uri}`);
    const image = await verifyImage(uri as string);
    expect(stdout).toContain(`digest ${image.digest}`);
    const after = (await findRegistryProcess()) as RegistryProcess;
    expect(after.pid).not.toBe(before.pid);
    const credentials = await resolveCredentials(auto({ env: emu.env }), { env: emu.env });
    await expect(artifactRegistry({ credentials, env: emu.env }).tagExists(uri as string)).resolves.toBe(true);
    console.info(
      `[reliability] registry kill -9 mid-manifest: killed while the manifest upload waited at the proxy, registry kept down for the push; build exit 1 with one error (Pushing ... failed: ${failure}), a hint, no stack trace; the retry (registry restarted, pid ${before.pid} -> ${after.pid}) pushed it, exit 0, every blob verified, tag listed; 0 lost; ${((Date.now() - t0) / 1000).toFixed(1)} s; seed ${SEED}`,
    );
  }, 150_000);
});
