import { createHash } from 'node:crypto';
import { Storage } from '@google-cloud/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/helpers.js';
import { storageClientOptions } from '../src/client-options/storage.js';
import { storageService } from '../src/services/storage.js';
import { type Harness, startHarness, TestContext } from './harness/service-harness.js';

const TOKEN = 'ya29.test-token-storage';
const ALL = [
  'storage.buckets.get',
  'storage.buckets.create',
  'storage.buckets.list',
  'storage.buckets.delete',
  'storage.objects.create',
  'storage.objects.get',
  'storage.objects.list',
  'storage.objects.delete',
  'storage.objects.update',
];

let ctx: TestContext;
let harness: Harness;
let storage: Storage;
let dir: { path: string; cleanup: () => Promise<void> };

function bytes(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

const md5 = (b: Buffer) => createHash('md5').update(b).digest('base64');

beforeAll(async () => {
  dir = await tempDir('vxl-storage-');
  ctx = new TestContext(TOKEN, { permissions: ALL, dataDir: dir.path });
  harness = await startHarness([storageService(ctx)]);
  storage = new Storage({
    ...storageClientOptions({ httpUrl: harness.url, projectId: 'test-project', token: TOKEN }),
    retryOptions: { autoRetry: false },
  });
  await storage.createBucket('data', { location: 'us-central1' });
});

afterAll(async () => {
  await harness?.close();
  await dir?.cleanup();
});

describe('buckets', () => {
  it('creates a bucket with a location and gets it back', async () => {
    const [bucket] = await storage.createBucket('regional-bucket', { location: 'europe-west4' });
    expect(bucket.name).toBe('regional-bucket');
    const [meta] = await storage.bucket('regional-bucket').getMetadata();
    expect(meta).toMatchObject({
      name: 'regional-bucket',
      location: 'EUROPE-WEST4',
      locationType: 'region',
      storageClass: 'STANDARD',
    });
    const [exists] = await storage.bucket('no-such-bucket').exists();
    expect(exists).toBe(false);
    await expect(storage.createBucket('regional-bucket')).rejects.toMatchObject({ code: 409 });
    expect(ctx.authorized).toContainEqual(['storage.buckets.create', 'projects/_/buckets/regional-bucket']);
  });
});

describe('objects', () => {
  it('saves a small object (multipart) and returns crc32c and md5Hash', async () => {
    const file = storage.bucket('data').file('small/hello.txt');
    await file.save('hello world', { resumable: false, contentType: 'text/plain', metadata: { metadata: { k: 'v' } } });
    const [meta] = await file.getMetadata();
    expect(meta).toMatchObject({
      name: 'small/hello.txt',
      bucket: 'data',
      size: '11',
      contentType: 'text/plain',
      crc32c: 'yZRlqg==',
      md5Hash: md5(Buffer.from('hello world')),
      metadata: { k: 'v' },
    });
    const [content] = await file.download();
    expect(content.toString()).toBe('hello world');
  });

  it('uploads a resumable object in several chunks', async () => {
    const data = bytes(3 * 256 * 1024 + 1234, 7);
    const file = storage.bucket('data').file('big/chunked.bin');
    const before = ctx.calls.get('storage.uploads.put') ?? 0;
    await new Promise<void>((resolve, reject) => {
      const ws = file.createWriteStream({ resumable: true, chunkSize: 256 * 1024, contentType: 'application/x-test' });
      ws.on('error', reject).on('finish', resolve);
      ws.end(data);
    });
    expect((ctx.calls.get('storage.uploads.put') ?? 0) - before).toBe(4);
    const [meta] = await file.getMetadata();
    expect(meta).toMatchObject({ size: String(data.length), md5Hash: md5(data), contentType: 'application/x-test' });
    const [content] = await file.download();
    expect(content.equals(data)).toBe(true);
    const [part] = await file.download({ start: 10, end: 19 });
    expect(part.equals(data.subarray(10, 20))).toBe(true);
  });

  it('resumes a chunked upload that failed part-way, from the offset the server reports', async () => {
    const data = bytes(4 * 256 * 1024 + 99, 11);
    const file = storage.bucket('data').file('resume/after-fault.bin');
    const [uri] = await file.createResumableUpload({ metadata: { contentType: 'application/octet-stream' } });
    expect(uri).toMatch(
      /\/upload\/storage\/v1\/b\/data\/o\?uploadType=resumable&name=resume%2Fafter-fault\.bin&upload_id=/,
    );
    // Call 1 is the client's status query, 2 the first chunk; the 2nd chunk's PUT fails.
    ctx.injectFault('storage.uploads.put', 'UNAVAILABLE', 'backend went away', { skip: 2 });
    const first = new Promise<void>((resolve, reject) => {
      const ws = file.createWriteStream({ uri, chunkSize: 256 * 1024 });
      ws.on('error', reject).on('finish', resolve);
      ws.end(data);
    });
    await expect(first).rejects.toThrow();
    const status = await fetch(uri, { method: 'PUT', headers: { 'Content-Range': 'bytes */*' } });
    expect(status.status).toBe(308);
    expect(status.headers.get('range')).toBe(`bytes=0-${256 * 1024 - 1}`);
    // Second attempt with the same session URI: the client asks for the offset and sends only the rest.
    const putsBefore = ctx.calls.get('storage.uploads.put') ?? 0;
    await new Promise<void>((resolve, reject) => {
      const ws = file.createWriteStream({ uri, chunkSize: 256 * 1024 });
      ws.on('error', reject).on('finish', resolve);
      ws.end(data);
    });
    // 1 status query + 4 remaining chunks (3 full + the 99-byte tail).
    expect((ctx.calls.get('storage.uploads.put') ?? 0) - putsBefore).toBe(5);
    const [content] = await file.download();
    expect(content.equals(data)).toBe(true);
    const [meta] = await file.getMetadata();
    expect(meta.md5Hash).toBe(md5(data));
    // A finished session answers status queries with the object.
    const done = await fetch(uri, { method: 'PUT', headers: { 'Content-Range': 'bytes */*' } });
    expect(done.status).toBe(200);
    expect(await done.json()).toMatchObject({ name: 'resume/after-fault.bin', size: String(data.length) });
  });

  it('resumes an upload whose connection dropped mid-request, keeping the bytes that arrived', async () => {
    const data = bytes(2 * 1024 * 1024, 5);
    const file = storage.bucket('data').file('resume/after-abort.bin');
    const [uri] = await file.createResumableUpload();
    await new Promise<void>((resolve) => {
      const ws = file.createWriteStream({ uri });
      ws.on('error', () => resolve());
      ws.write(data.subarray(0, 1024 * 1024), () => {
        setTimeout(() => ws.destroy(new Error('simulated network failure')), 300);
      });
    });
    let received = 0;
    for (let i = 0; i < 50; i++) {
      const status = await fetch(uri, { method: 'PUT', headers: { 'Content-Range': 'bytes */*' } });
      expect(status.status).toBe(308);
      const range = status.headers.get('range');
      received = range ? Number(range.split('-')[1]) + 1 : 0;
      if (received > 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThanOrEqual(1024 * 1024);
    await new Promise<void>((resolve, reject) => {
      const ws = file.createWriteStream({ uri });
      ws.on('error', reject).on('finish', resolve);
      ws.end(data);
    });
    const [content] = await file.download();
    expect(content.length).toBe(data.length);
    expect(content.equals(data)).toBe(true);
  });

  it('refuses to overwrite with ifGenerationMatch=0 and a stale generation (412)', async () => {
    const file = storage.bucket('data').file('pre/cond.txt');
    await file.save('v1', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } });
    const [m1] = await file.getMetadata();
    await expect(
      file.save('v2', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } }),
    ).rejects.toMatchObject({
      code: 412,
      message: expect.stringContaining('ifGenerationMatch=0'),
    });
    // Resumable sessions fail at initiation; the client surfaces the raw GaxiosError with the JSON error body.
    await expect(
      file.save('v2', { resumable: true, preconditionOpts: { ifGenerationMatch: 0 } }),
    ).rejects.toMatchObject({
      response: { status: 412, data: { error: { code: 412, errors: [{ reason: 'conditionNotMet' }] } } },
    });
    await file.save('v2', { resumable: false, preconditionOpts: { ifGenerationMatch: Number(m1.generation) } });
    const [m2] = await file.getMetadata();
    expect(BigInt(m2.generation as string)).toBeGreaterThan(BigInt(m1.generation as string));
    await expect(
      file.save('v3', { resumable: false, preconditionOpts: { ifGenerationMatch: Number(m1.generation) } }),
    ).rejects.toMatchObject({ code: 412 });
    const [content] = await file.download();
    expect(content.toString()).toBe('v2');
  });

  it('rejects an upload whose declared crc32c does not match the data', async () => {
    const file = storage.bucket('data').file('pre/corrupt.txt');
    await expect(
      file.save('some data', { resumable: false, validation: false, metadata: { crc32c: 'AAAAAA==' } }),
    ).rejects.toMatchObject({ code: 400, message: expect.stringContaining("doesn't match calculated CRC32C") });
    const [exists] = await file.exists();
    expect(exists).toBe(false);
  });

  it('downloads ranges and the tail of an object, and answers 416 past the end', async () => {
    const data = bytes(5000, 3);
    const file = storage.bucket('data').file('ranges.bin');
    await file.save(data, { resumable: false });
    const [mid] = await file.download({ start: 100, end: 1099 });
    expect(mid.equals(data.subarray(100, 1100))).toBe(true);
    const [tail] = await file.download({ start: 4990 });
    expect(tail.equals(data.subarray(4990))).toBe(true);
    const res = await fetch(`${harness.url}/download/storage/v1/b/data/o/ranges.bin?alt=media`, {
      headers: { Authorization: `Bearer ${TOKEN}`, Range: 'bytes=9000-' },
    });
    expect(res.status).toBe(416);
    expect(res.headers.get('content-range')).toBe('bytes */5000');
    const whole = await fetch(`${harness.url}/storage/v1/b/data/o/ranges.bin?alt=media`, {
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    expect(whole.headers.get('x-goog-hash')).toMatch(/^crc32c=[A-Za-z0-9+/=]{8},md5=[A-Za-z0-9+/=]{24}$/);
    expect(Buffer.from(await whole.arrayBuffer()).equals(data)).toBe(true);
  });

  it('lists with prefix, delimiter and pagination', async () => {
    const bucket = storage.bucket('data');
    const names = [
      'list/a.txt',
      'list/b.txt',
      'list/c.txt',
      'list/d/1.txt',
      'list/d/2.txt',
      'list/e.txt',
      'lister.txt',
    ];
    for (const n of names) await bucket.file(n).save(n, { resumable: false });

    const [all] = await bucket.getFiles({ prefix: 'list/' });
    expect(all.map((f) => f.name)).toEqual(names.slice(0, 6));

    const seen: string[] = [];
    let query: { prefix: string; maxResults: number; autoPaginate: false; pageToken?: string } | null = {
      prefix: 'list/',
      maxResults: 2,
      autoPaginate: false,
    };
    let pages = 0;
    while (query) {
      const [files, next] = (await bucket.getFiles(query)) as unknown as [
        { name: string }[],
        { pageToken?: string } | null,
      ];
      seen.push(...files.map((f) => f.name));
      pages++;
      query = next?.pageToken ? { ...query, pageToken: next.pageToken } : null;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(names.slice(0, 6));

    const [top, , api] = (await bucket.getFiles({
      prefix: 'list/',
      delimiter: '/',
      autoPaginate: false,
    })) as unknown as [{ name: string }[], unknown, { prefixes?: string[] }];
    expect(top.map((f) => f.name)).toEqual(['list/a.txt', 'list/b.txt', 'list/c.txt', 'list/e.txt']);
    expect(api.prefixes).toEqual(['list/d/']);

    // Prefixes count toward maxResults and pages never repeat a prefix.
    const page1 = (await bucket.getFiles({
      prefix: 'list/',
      delimiter: '/',
      maxResults: 4,
      autoPaginate: false,
    })) as unknown as [{ name: string }[], { pageToken?: string }, { prefixes?: string[] }];
    expect(page1[0].map((f) => f.name)).toEqual(['list/a.txt', 'list/b.txt', 'list/c.txt']);
    expect(page1[2].prefixes).toEqual(['list/d/']);
    const page2 = (await bucket.getFiles({
      prefix: 'list/',
      delimiter: '/',
      maxResults: 4,
      autoPaginate: false,
      pageToken: page1[1].pageToken!,
    })) as unknown as [{ name: string }[], unknown, { prefixes?: string[] }];
    expect(page2[0].map((f) => f.name)).toEqual(['list/e.txt']);
    expect(page2[2].prefixes).toBeUndefined();
  });

  it('deletes objects, honouring generation preconditions', async () => {
    const file = storage.bucket('data').file('del/me.txt');
    await file.save('bye', { resumable: false });
    await expect(file.delete({ ifGenerationMatch: 1 })).rejects.toMatchObject({ code: 412 });
    await file.delete();
    const [exists] = await file.exists();
    expect(exists).toBe(false);
    await expect(file.delete()).rejects.toMatchObject({ code: 404 });
    expect(ctx.authorized).toContainEqual(['storage.objects.delete', 'projects/_/buckets/data']);
  });

  it('streams a large object to disk and back with matching hashes', async () => {
    const data = bytes(24 * 1024 * 1024, 9);
    const file = storage.bucket('data').file('large/blob.bin');
    await new Promise<void>((resolve, reject) => {
      const ws = file.createWriteStream({ resumable: true, chunkSize: 8 * 1024 * 1024 });
      ws.on('error', reject).on('finish', resolve);
      ws.end(data);
    });
    const [meta] = await file.getMetadata();
    expect(meta.md5Hash).toBe(md5(data));
    const [content] = await file.download();
    expect(content.equals(data)).toBe(true);
  });
});

describe('auth, permissions and faults', () => {
  it('answers 401 without a token and with a bad token', async () => {
    const anonymous = new Storage({
      apiEndpoint: harness.url,
      projectId: 'test-project',
      retryOptions: { autoRetry: false },
    });
    await expect(anonymous.bucket('data').getMetadata()).rejects.toMatchObject({
      code: 401,
      message: expect.stringContaining('missing required authentication'),
    });
    const wrong = new Storage({
      ...storageClientOptions({ httpUrl: harness.url, projectId: 'test-project', token: 'not-the-token' }),
      retryOptions: { autoRetry: false },
    });
    await expect(wrong.bucket('data').file('x').save('x')).rejects.toMatchObject({
      response: { status: 401, data: { error: { message: 'Request had invalid authentication credentials.' } } },
    });
    await expect(wrong.bucket('data').file('x').save('x', { resumable: false })).rejects.toMatchObject({ code: 401 });
    await expect(wrong.bucket('data').file('small/hello.txt').download()).rejects.toMatchObject({ code: 401 });
  });

  it('answers 403 naming the missing permission', async () => {
    ctx.permissions.delete('storage.objects.list');
    try {
      await expect(storage.bucket('data').getFiles()).rejects.toMatchObject({
        code: 403,
        message: expect.stringContaining('storage.objects.list'),
      });
    } finally {
      ctx.permissions.add('storage.objects.list');
    }
    ctx.permissions.delete('storage.objects.create');
    try {
      await expect(storage.bucket('data').file('denied.txt').save('x')).rejects.toMatchObject({
        response: { status: 403, data: { error: { message: expect.stringContaining('storage.objects.create') } } },
      });
      await expect(storage.bucket('data').file('denied.txt').save('x', { resumable: false })).rejects.toMatchObject({
        code: 403,
        message: expect.stringContaining('storage.objects.create'),
      });
    } finally {
      ctx.permissions.add('storage.objects.create');
    }
  });

  it('turns an injected fault into a client error with its HTTP code', async () => {
    ctx.injectFault('storage.objects.get', 'RESOURCE_EXHAUSTED', 'Quota exceeded for storage reads (injected).');
    await expect(storage.bucket('data').file('small/hello.txt').getMetadata()).rejects.toMatchObject({
      code: 429,
      message: 'Quota exceeded for storage reads (injected).',
    });
    ctx.injectFault('storage.objects.insert', 'PERMISSION_DENIED', 'injected denial');
    await expect(storage.bucket('data').file('fault.txt').save('x', { resumable: false })).rejects.toMatchObject({
      code: 403,
    });
    const [exists] = await storage.bucket('data').file('fault.txt').exists();
    expect(exists).toBe(false);
  });

  it('accepts session PUTs without a token (the upload id is the capability) but rejects unknown sessions', async () => {
    const file = storage.bucket('data').file('capability.txt');
    const [uri] = await file.createResumableUpload();
    const put = await fetch(uri, { method: 'PUT', headers: { 'Content-Range': 'bytes 0-4/5' }, body: 'hello' });
    expect(put.status).toBe(200);
    expect(await put.json()).toMatchObject({ name: 'capability.txt', size: '5', crc32c: expect.any(String) });
    const forged = uri.replace(/upload_id=[^&]+/, 'upload_id=forged');
    const bad = await fetch(forged, { method: 'PUT', headers: { 'Content-Range': 'bytes 0-4/5' }, body: 'hello' });
    expect(bad.status).toBe(404);
    expect(await bad.json()).toMatchObject({ error: { code: 404, errors: [{ reason: 'notFound' }] } });
    const initiate = await fetch(`${harness.url}/upload/storage/v1/b/data/o?uploadType=resumable&name=x`, {
      method: 'POST',
    });
    expect(initiate.status).toBe(401);
  });
});
