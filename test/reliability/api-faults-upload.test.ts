// Issue #11, part 2: "uploads resume rather than restart". The Cloud Build builder uploads the build context to
// Cloud Storage in one resumable session, in 256 KiB chunks here. The emulator fails a chunk in the middle of the
// upload — after storing it (the answer is lost) or before reading it, several requests in a row, the offset query of
// the resume among them — and counts every byte the upload requests carry: each byte of the context must cross the
// wire once, in one session.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cloudBuild } from '@vertex-launch/builder-cloudbuild';
import type { BuildEvent } from '@vertex-launch/core';
import { contextTag, fingerprintContext } from '@vertex-launch/core/build';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentWorld, formatCounts, startWorld } from './support/agent-harness.js';

const CHUNK = 256 * 1024;

let world: AgentWorld;
const images = new Set<string>();

beforeAll(async () => {
  world = await startWorld();
  world.emulator.createDockerRepository('us-central1', 'upload');
});
afterAll(async () => {
  if (images.size > 0) {
    await new Promise((resolve) => execFile('docker', ['rmi', '-f', ...images], () => resolve(undefined)));
  }
  await world?.close();
});

/** A context of ~1.3 MB that gzip cannot shrink: six chunks. */
async function context(name: string): Promise<{ dir: string; destination: string }> {
  const dir = join(world.dir, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY blob.bin /blob.bin\n');
  await writeFile(join(dir, 'blob.bin'), randomBytes(5 * CHUNK + 20_000));
  const destination = contextTag(
    `us-central1-docker.pkg.dev/${world.emulator.projectId}/upload/trainer`,
    await fingerprintContext({ contextDir: dir, statCachePath: false }),
  );
  images.add(destination).add(world.emulator.toLocalImageRef(destination));
  return { dir, destination };
}

async function buildWithFaults(name: string, inject: () => void) {
  const { emulator, credentials } = world;
  const { dir, destination } = await context(name);
  const builder = cloudBuild({ credentials, env: emulator.env, pollIntervalMs: 100, uploadChunkBytes: CHUNK });
  emulator.resetCounters();
  inject();
  const events: BuildEvent[] = [];
  const started = Date.now();
  const result = await builder.build({ contextDir: dir, destination, onEvent: (e) => events.push(e) });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const injected = emulator.faults.injected();
  emulator.faults.clear();
  const counters = emulator.counters();
  const uploaded = events.filter((e) => e.type === 'upload').at(-1);
  const size = uploaded?.type === 'upload' ? (uploaded.totalBytes ?? 0) : 0;
  return { result, events, injected, counters, size, seconds, destination };
}

describe('context upload under Cloud Storage faults', () => {
  it('a chunk stored but answered 503 is not sent again: the upload asks for the offset and goes on', async () => {
    const run = await buildWithFaults('after-commit', () =>
      // The third chunk is stored, then the answer is lost.
      world.emulator.faults.inject('storage.uploads.put', { code: 'UNAVAILABLE', phase: 'after', skip: 2, times: 1 }),
    );
    const received = run.counters['storage.uploads.bytes'] ?? 0;
    const chunks = Math.ceil(run.size / CHUNK);
    console.info(
      `[reliability] context upload, chunk 3 of ${chunks} stored then answered UNAVAILABLE: context ${run.size} bytes, received ${received} bytes (${received - run.size} sent twice), sessions ${run.counters['storage.uploads.sessions']}, upload requests ${run.counters['storage.uploads.put']}, faults injected: ${formatCounts(run.injected)}; ${run.seconds} s; seed ${world.seed}`,
    );
    expect(run.result.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(run.injected).toEqual({ 'storage.uploads.put UNAVAILABLE after-commit': 1 });
    expect(chunks).toBeGreaterThanOrEqual(6);
    expect(received).toBe(run.size);
    expect(run.counters['storage.uploads.sessions']).toBe(1);
  });

  it('when several requests in a row fail mid-upload (the offset query too), the builder resumes the same session at the stored offset', async () => {
    const run = await buildWithFaults('give-up', () =>
      // From the third request on, the next three fail before a byte is read.
      world.emulator.faults.inject('storage.uploads.put', { code: 'UNAVAILABLE', skip: 2, times: 3 }),
    );
    const received = run.counters['storage.uploads.bytes'] ?? 0;
    const resumed = run.events.filter(
      (e) => e.type === 'log' && e.line.startsWith('Upload of the context interrupted'),
    );
    console.info(
      `[reliability] context upload, 3 requests from chunk 3 on refused (builder resumed ${resumed.length}x): context ${run.size} bytes, received ${received} bytes (${received - run.size} sent twice), sessions ${run.counters['storage.uploads.sessions']}, faults injected: ${formatCounts(run.injected)}; ${run.seconds} s; seed ${world.seed}`,
    );
    expect(run.result.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(run.injected).toEqual({ 'storage.uploads.put UNAVAILABLE': 3 });
    expect(resumed.length).toBeGreaterThanOrEqual(1);
    expect(received).toBe(run.size);
    expect(run.counters['storage.uploads.sessions']).toBe(1);
  });
});
