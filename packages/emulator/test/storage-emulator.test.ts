// The storage surface as mounted by startEmulator: real IAM tokens, the core's faults and counters.
import { Storage } from '@google-cloud/storage';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { storageClientOptions } from '../src/client-options/storage.js';
import { type Emulator, startEmulator } from '../src/index.js';

let emu: Emulator;
let storage: Storage;

beforeAll(async () => {
  emu = await startEmulator();
  storage = new Storage({
    ...storageClientOptions({ httpUrl: emu.httpUrl, projectId: emu.projectId, token: emu.adminToken }),
    retryOptions: { autoRetry: false },
  });
});

afterAll(async () => {
  await emu?.stop();
});

it('serves buckets and objects to the real client with the admin token', async () => {
  await storage.createBucket('emu-bucket', { location: emu.region });
  const [meta] = await storage.bucket('emu-bucket').getMetadata();
  expect(meta.location).toBe(emu.region.toUpperCase());
  const data = Buffer.alloc(700 * 1024, 42);
  await new Promise<void>((resolve, reject) => {
    const ws = storage
      .bucket('emu-bucket')
      .file('staging/pkg.tar.gz')
      .createWriteStream({ chunkSize: 256 * 1024 });
    ws.on('error', reject).on('finish', resolve);
    ws.end(data);
  });
  const [content] = await storage.bucket('emu-bucket').file('staging/pkg.tar.gz').download();
  expect(content.equals(data)).toBe(true);
  expect(emu.counters()['storage.objects.insert']).toBeGreaterThanOrEqual(1);
});

it('answers 401 for a token the emulator did not issue', async () => {
  const stranger = new Storage({
    ...storageClientOptions({ httpUrl: emu.httpUrl, projectId: emu.projectId, token: 'ya29.not-issued' }),
    retryOptions: { autoRetry: false },
  });
  await expect(stranger.bucket('emu-bucket').getMetadata()).rejects.toMatchObject({ code: 401 });
});

it('applies faults injected through the emulator', async () => {
  emu.faults.inject('storage.objects.get', {
    code: 'UNAVAILABLE',
    times: 1,
    message: 'storage backend down (injected)',
  });
  await expect(storage.bucket('emu-bucket').file('staging/pkg.tar.gz').getMetadata()).rejects.toMatchObject({
    code: 503,
    message: 'storage backend down (injected)',
  });
  const [meta] = await storage.bucket('emu-bucket').file('staging/pkg.tar.gz').getMetadata();
  expect(meta.size).toBe(String(700 * 1024));
});
