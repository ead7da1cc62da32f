import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { contextTag, fingerprintContext } from './context.js';
import { BuildContextError } from './context-error.js';
import type { BuildEvent, BuildRequest, ImageBuilder, ImageRegistry } from './contract.js';
import { prepareImage, resolveImage } from './resolve-image.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vxl-resolve-image-'));
  await writeFile(join(dir, 'Dockerfile'), 'FROM busybox\nCOPY train.sh /train.sh\n');
  await writeFile(join(dir, 'train.sh'), 'echo hi\n');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const REPO = 'us-central1-docker.pkg.dev/p/r/train';

/** A builder that records its requests and reads the packed context it was handed. */
function recordingBuilder(): ImageBuilder & { requests: BuildRequest[]; packedBytes: number[] } {
  const requests: BuildRequest[] = [];
  const packedBytes: number[] = [];
  return {
    name: 'recording',
    requests,
    packedBytes,
    async build(request) {
      requests.push(request);
      let bytes = 0;
      for await (const chunk of request.context?.pack().stream ?? []) bytes += (chunk as Buffer).length;
      packedBytes.push(bytes);
      request.onEvent?.({ type: 'log', line: 'built' });
      return { imageUri: request.destination, digest: `sha256:${'b'.repeat(64)}` };
    },
  };
}

/** A registry that answers from a set of pushed URIs, counting its calls. */
function registry(pushed: Set<string>): ImageRegistry & { asked: string[] } {
  const asked: string[] = [];
  return {
    name: 'memory',
    asked,
    tagExists: async (uri) => {
      asked.push(uri);
      return pushed.has(uri);
    },
    getDigest: async (uri) => {
      asked.push(uri);
      return pushed.has(uri) ? `sha256:${'c'.repeat(64)}` : undefined;
    },
  };
}

describe('resolveImage', () => {
  test('fingerprints once, asks the registry once, and hands the builder the prepared context', async () => {
    const builder = recordingBuilder();
    const pushed = new Set<string>();
    const reg = registry(pushed);
    const events: BuildEvent[] = [];
    const result = await resolveImage({
      contextDir: dir,
      image: REPO,
      builder,
      registry: reg,
      statCachePath: false,
      onEvent: (e) => events.push(e),
    });
    const expected = contextTag(REPO, await fingerprintContext({ contextDir: dir, statCachePath: false }));
    expect(result).toMatchObject({ imageUri: expected, built: true, digest: `sha256:${'b'.repeat(64)}` });
    expect(reg.asked).toEqual([expected]);
    expect(builder.requests).toHaveLength(1);
    expect(builder.requests[0]?.destination).toBe(expected);
    expect(builder.requests[0]?.context?.manifest.tag).toBe(result.manifest.tag);
    expect(builder.packedBytes[0]).toBeGreaterThan(0);
    expect(events).toEqual([
      { type: 'started', builder: 'recording', imageUri: expected },
      { type: 'log', line: 'built' },
    ]);

    // Pushed now: the same sources build nothing, and the registry's digest is reported.
    pushed.add(expected);
    const again: BuildEvent[] = [];
    const reused = await resolveImage({
      contextDir: dir,
      image: REPO,
      builder,
      registry: reg,
      statCachePath: false,
      onEvent: (e) => again.push(e),
    });
    expect(reused).toMatchObject({ imageUri: expected, built: false, digest: `sha256:${'c'.repeat(64)}` });
    expect(builder.requests).toHaveLength(1);
    expect(again).toEqual([
      { type: 'skipped', imageUri: expected, reason: `${expected} already exists (same sources, same content tag)` },
    ]);
  });

  test("without a registry the builder's digestOf answers; an explicit tag is always built and never looked up", async () => {
    const builder = recordingBuilder();
    const looked: string[] = [];
    builder.digestOf = async (uri) => {
      looked.push(uri);
      return undefined;
    };
    await resolveImage({ contextDir: dir, image: REPO, builder, statCachePath: false });
    expect(looked).toHaveLength(1);
    const tagged = await resolveImage({ contextDir: dir, image: `${REPO}:v1`, builder, statCachePath: false });
    expect(tagged.imageUri).toBe(`${REPO}:v1`);
    expect(looked).toHaveLength(1);
    expect(builder.requests.map((r) => r.destination)).toEqual([
      expect.stringMatching(/:ctx-[0-9a-f]{12}$/),
      `${REPO}:v1`,
    ]);
  });

  test('prepareImage names the image before anything is asked; a refused context throws before the registry is', async () => {
    const builder = recordingBuilder();
    const reg = registry(new Set());
    const plan = await prepareImage({ contextDir: dir, image: REPO, builder, registry: reg, statCachePath: false });
    expect(plan.imageUri).toMatch(/:ctx-[0-9a-f]{12}$/);
    expect(reg.asked).toEqual([]);
    await writeFile(
      join(dir, 'key.json'),
      JSON.stringify({ type: 'service_account', private_key: '-----BEGIN PRIVATE KEY-----' }),
    );
    try {
      await expect(
        resolveImage({ contextDir: dir, image: REPO, builder, registry: reg, statCachePath: false }),
      ).rejects.toBeInstanceOf(BuildContextError);
      expect(reg.asked).toEqual([]);
      expect(builder.requests).toEqual([]);
    } finally {
      await rm(join(dir, 'key.json'));
    }
  });
});
