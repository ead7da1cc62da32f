import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Storage } from '@google-cloud/storage';
import { afterEach, expect, it } from 'vitest';
import { tempDir } from '../../../test/helpers.js';
import { storageClientOptions } from '../src/client-options/storage.js';
import { storageService } from '../src/services/storage.js';
import { type Harness, startHarness, TestContext } from './harness/service-harness.js';

const TOKEN = 'ya29.persist';
const PERMS = [
  'storage.buckets.create',
  'storage.buckets.get',
  'storage.objects.create',
  'storage.objects.get',
  'storage.objects.list',
];
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(
  dataDir: string,
): Promise<{ harness: Harness; storage: Storage; service: ReturnType<typeof storageService> }> {
  const service = storageService(new TestContext(TOKEN, { permissions: PERMS, dataDir }));
  const harness = await startHarness([service]);
  const storage = new Storage({
    ...storageClientOptions({ httpUrl: harness.url, projectId: 'p', token: TOKEN }),
    retryOptions: { autoRetry: false },
  });
  return { harness, storage, service };
}

it('keeps buckets, objects and open resumable sessions across a restart with the same data dir', async () => {
  const dir = await tempDir('vxl-storage-persist-');
  cleanups.push(dir.cleanup);
  const first = await start(dir.path);
  await first.storage.createBucket('keep', { location: 'us-east1' });
  await first.storage.bucket('keep').file('a/b.txt').save('persisted', { resumable: false, contentType: 'text/plain' });
  const [uri] = await first.storage.bucket('keep').file('half.bin').createResumableUpload();
  const data = Buffer.alloc(300 * 1024, 3);
  const chunk = await fetch(uri, {
    method: 'PUT',
    headers: { 'Content-Range': `bytes 0-${256 * 1024 - 1}/*` },
    body: data.subarray(0, 256 * 1024),
  });
  expect(chunk.status).toBe(308);
  await first.service.flush?.();
  await first.harness.close();

  const state = await stat(join(dir.path, 'storage', 'state.json'));
  expect(state.mode & 0o777).toBe(0o600);
  expect((await stat(join(dir.path, 'storage'))).mode & 0o777).toBe(0o700);

  const second = await start(dir.path);
  cleanups.push(() => second.harness.close());
  const [meta] = await second.storage.bucket('keep').getMetadata();
  expect(meta.location).toBe('US-EAST1');
  const [text] = await second.storage.bucket('keep').file('a/b.txt').download();
  expect(text.toString()).toBe('persisted');
  // The session survives: resume it from the offset the new instance reports.
  const newUri = uri.replace(first.harness.url, second.harness.url);
  const status = await fetch(newUri, { method: 'PUT', headers: { 'Content-Range': 'bytes */*' } });
  expect(status.status).toBe(308);
  expect(status.headers.get('range')).toBe(`bytes=0-${256 * 1024 - 1}`);
  await new Promise<void>((resolve, reject) => {
    const ws = second.storage.bucket('keep').file('half.bin').createWriteStream({ uri: newUri });
    ws.on('error', reject).on('finish', resolve);
    ws.end(data);
  });
  const [content] = await second.storage.bucket('keep').file('half.bin').download();
  expect(content.equals(data)).toBe(true);
});
