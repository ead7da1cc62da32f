// Pins what @google-cloud/storage 7.22 does with credentials against a custom endpoint (see the comment in
// src/client-options/storage.ts), and that storageClientOptions() sends the token on every request kind.
import { createRequire } from 'node:module';
import { Storage } from '@google-cloud/storage';
import { OAuth2Client as OAuth2ClientV10 } from 'google-auth-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storageClientOptions } from '../src/client-options/storage.js';
import { storageService } from '../src/services/storage.js';
import { type Harness, startHarness, TestContext } from './harness/service-harness.js';

const TOKEN = 'ya29.client-auth-token';
let ctx: TestContext;
let harness: Harness;

// storage's own (9.x) google-auth-library, resolved from the storage package's location.
const storageRequire = createRequire(createRequire(import.meta.url).resolve('@google-cloud/storage'));
const { OAuth2Client: OwnOAuth2Client } = storageRequire('google-auth-library') as typeof import('google-auth-library');

beforeAll(async () => {
  ctx = new TestContext(TOKEN, {
    permissions: ['storage.buckets.get', 'storage.buckets.create', 'storage.objects.create', 'storage.objects.get'],
  });
  harness = await startHarness([storageService(ctx)]);
  const seed = new Storage({ ...storageClientOptions({ httpUrl: harness.url, projectId: 'p', token: TOKEN }) });
  await seed.createBucket('auth-bucket');
});

afterAll(async () => {
  await harness?.close();
});

describe('@google-cloud/storage 7.22 auth against a custom endpoint', () => {
  it("useAuthWithCustomEndpoint + storage's own OAuth2Client authenticates JSON calls but not resumable uploads", async () => {
    const authClient = new OwnOAuth2Client();
    authClient.setCredentials({ access_token: TOKEN, expiry_date: Date.now() + 3600_000 });
    const storage = new Storage({
      apiEndpoint: harness.url,
      projectId: 'p',
      useAuthWithCustomEndpoint: true,
      // biome-ignore lint/suspicious/noExplicitAny: storage's own 9.x client, typed here through the v10 import
      authClient: authClient as any,
      retryOptions: { autoRetry: false },
    });
    const [meta] = await storage.bucket('auth-bucket').getMetadata();
    expect(meta.name).toBe('auth-bucket');
    await storage.bucket('auth-bucket').file('simple.txt').save('ok', { resumable: false });
    // createWriteStream/save (resumable by default) drop the auth client for a non-googleapis host.
    await expect(storage.bucket('auth-bucket').file('resumable.txt').save('lost')).rejects.toMatchObject({
      response: { status: 401 },
    });
  });

  it("a google-auth-library 10 client's Authorization header is lost", async () => {
    const authClient = new OAuth2ClientV10();
    authClient.setCredentials({ access_token: TOKEN, expiry_date: Date.now() + 3600_000 });
    const storage = new Storage({
      apiEndpoint: harness.url,
      projectId: 'p',
      useAuthWithCustomEndpoint: true,
      // biome-ignore lint/suspicious/noExplicitAny: deliberately passing the v10 client the v9 types reject
      authClient: authClient as any,
      retryOptions: { autoRetry: false },
    });
    await expect(storage.bucket('auth-bucket').getMetadata()).rejects.toMatchObject({ code: 401 });
  });
});

describe('storageClientOptions', () => {
  it('sends the bearer token on JSON, multipart, resumable, chunked and media requests', async () => {
    let calls = 0;
    const storage = new Storage({
      ...storageClientOptions({
        httpUrl: `${harness.url}/ignored-path`,
        projectId: 'p',
        token: () => {
          calls++;
          return TOKEN;
        },
      }),
      retryOptions: { autoRetry: false },
    });
    const bucket = storage.bucket('auth-bucket');
    await bucket.getMetadata();
    await bucket.file('m.txt').save('multipart', { resumable: false });
    await bucket.file('r.txt').save('resumable');
    await new Promise<void>((resolve, reject) => {
      const ws = bucket.file('c.bin').createWriteStream({ chunkSize: 256 * 1024 });
      ws.on('error', reject).on('finish', resolve);
      ws.end(Buffer.alloc(600 * 1024, 7));
    });
    const [uri] = await bucket.file('u.txt').createResumableUpload();
    expect(uri.startsWith(`${harness.url}/upload/storage/v1/b/auth-bucket/o?`)).toBe(true);
    const [text] = await bucket.file('r.txt').download();
    expect(text.toString()).toBe('resumable');
    const [chunked] = await bucket.file('c.bin').getMetadata();
    expect(chunked.size).toBe(String(600 * 1024));
    expect(calls).toBeGreaterThanOrEqual(7);
  });

  it('rejects options that cannot work, with the fix in the message', () => {
    expect(() => storageClientOptions({ httpUrl: 'localhost:8080', projectId: 'p', token: 't' })).toThrow(
      /not a URL|must be http/,
    );
    expect(() => storageClientOptions({ httpUrl: 'http://127.0.0.1:1', projectId: '', token: 't' })).toThrow(
      /projectId/,
    );
    expect(() => storageClientOptions({ httpUrl: 'http://127.0.0.1:1', projectId: 'p', token: '' })).toThrow(/token/);
    const opts = storageClientOptions({ httpUrl: 'http://127.0.0.1:9/x', projectId: 'p', token: 'secret-token' });
    expect(opts).toMatchObject({ apiEndpoint: 'http://127.0.0.1:9', projectId: 'p', useAuthWithCustomEndpoint: false });
    const req = opts.interceptors_[0]!.request({ headers: { authorization: 'Bearer old', 'X-Other': '1' } });
    expect(req.headers).toEqual({ Authorization: 'Bearer secret-token', 'X-Other': '1' });
  });
});
