// Starting, describing, persisting and stopping the emulator as a whole.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { v1 } from '@google-cloud/aiplatform';
import { Storage } from '@google-cloud/storage';
import { startEmulator } from '@vertex-launch/emulator';
import { JWT } from 'google-auth-library';
import { describe, expect, test } from 'vitest';
import { childEnv, repoRoot, tempDir } from '../../../test/helpers.js';
import { customJob, logLines } from './support.js';

describe('loopback only', () => {
  test.each(['0.0.0.0', '192.168.1.10', '::', 'example.com'])('refuses host %s', async (host) => {
    await expect(startEmulator({ host })).rejects.toThrow(
      `Refusing to listen on "${host}": the emulator only listens on loopback`,
    );
  });

  test.each([
    ['localhost', '127.0.0.1'],
    ['::1', '::1'],
  ])('accepts %s and listens on %s', async (host, bound) => {
    const emu = await startEmulator({ host });
    try {
      expect(emu.grpc.host).toBe(bound);
      expect(new URL(emu.httpUrl).hostname).toBe(bound.includes(':') ? `[${bound}]` : bound);
      const res = await fetch(`${emu.httpUrl}/computeMetadata/v1/project/project-id`, {
        headers: { 'Metadata-Flavor': 'Google' },
      });
      expect(await res.text()).toBe(emu.projectId);
      const client = new v1.JobServiceClient(emu.jobServiceClientOptions());
      const [jobs] = await client.listCustomJobs(
        { parent: `projects/${emu.projectId}/locations/${emu.region}` },
        { autoPaginate: false },
      );
      expect(jobs).toEqual([]);
      await client.close();
    } finally {
      await emu.stop();
    }
  });

  test('invalid options are reported together', async () => {
    await expect(startEmulator({ projectId: 'Bad_Project', region: 'moon', httpPort: 70000 })).rejects.toThrow(
      /projectId: "Bad_Project" is not a valid project id.*region: "moon" is not a region.*httpPort: must be a port number/,
    );
  });
});

test('starts in under 2 s and describes itself', async () => {
  const started = performance.now();
  const emu = await startEmulator({ projectId: 'team-sandbox', region: 'europe-west4' });
  const elapsed = performance.now() - started;
  try {
    expect(elapsed).toBeLessThan(2_000);
    expect(emu.projectNumber).toMatch(/^\d{12}$/);
    expect(emu.httpUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(emu.env).toEqual({
      VERTEX_LAUNCH_EMULATOR_HTTP: emu.httpUrl,
      VERTEX_LAUNCH_EMULATOR_GRPC: `127.0.0.1:${emu.grpc.port}`,
      VERTEX_LAUNCH_EMULATOR_CA: emu.caFile,
      VERTEX_LAUNCH_EMULATOR_REGISTRY: emu.registry.address,
      GOOGLE_CLOUD_PROJECT: 'team-sandbox',
      GOOGLE_CLOUD_REGION: 'europe-west4',
      GOOGLE_OAUTH_ACCESS_TOKEN: emu.adminToken,
      METADATA_SERVER_DETECTION: 'none',
    });
    expect(await readFile(emu.caFile, 'utf8')).toBe(emu.caCertPem);
    const summary = emu.summary();
    expect(JSON.parse(JSON.stringify(summary))).toEqual({
      projectId: 'team-sandbox',
      projectNumber: emu.projectNumber,
      region: 'europe-west4',
      endpoints: {
        http: emu.httpUrl,
        grpc: `127.0.0.1:${emu.grpc.port}`,
        oauth2Token: `${emu.httpUrl}/token`,
        sts: `${emu.httpUrl}/v1/token`,
        iamCredentials: emu.httpUrl,
        metadataHost: new URL(emu.httpUrl).host,
        storage: emu.httpUrl,
        logging: emu.httpUrl,
        registry: emu.registry.address,
      },
      caFile: emu.caFile,
      env: emu.env,
      dataDir: null,
      pid: process.pid,
    });
    const unknown = await fetch(`${emu.httpUrl}/v2/nothing-here`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({
      error: { code: 404, status: 'NOT_FOUND', message: 'The emulator serves no GET /v2/nothing-here.' },
    });
  } finally {
    await emu.stop();
    await emu.stop(); // idempotent
  }
  expect(existsSync(emu.caFile)).toBe(false);
});

test('a script that starts and stops the emulator exits at once after stop()', async () => {
  // Cloud Build's close() raced the builds against a 10 s timer it never cleared, so `node script.mjs` lingered
  // 10 s after stop(). Runs the built package as an SDK user would (`pnpm test` builds it first).
  const dist = pathToFileURL(join(repoRoot, 'packages', 'emulator', 'dist', 'index.js')).href;
  const script = `import { startEmulator } from '${dist}';
const emu = await startEmulator();
await emu.stop();
process.stdout.write('stopped ' + Date.now() + '\\n');`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env: childEnv() });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const code = await new Promise((resolve) => child.on('exit', resolve));
  const exitedAt = Date.now();
  expect(code).toBe(0);
  const stoppedAt = Number(/stopped (\d+)/.exec(out)?.[1]);
  expect(exitedAt - stoppedAt).toBeLessThan(5_000);
});

test('storageClientOptions() points the real Storage client at the emulator with a chosen token', async () => {
  const emu = await startEmulator();
  try {
    const admin = new Storage({ ...emu.storageClientOptions(), retryOptions: { autoRetry: false } });
    await admin.createBucket('handoff-bucket');
    await admin.bucket('handoff-bucket').file('a.txt').save('hello', { resumable: false });
    const reader = await emu.iam.createServiceAccount('object-reader', { permissions: ['storage.objects.get'] });
    const asReader = new Storage({
      ...emu.storageClientOptions(emu.iam.issueToken(reader.client_email)),
      retryOptions: { autoRetry: false },
    });
    const [content] = await asReader.bucket('handoff-bucket').file('a.txt').download();
    expect(content.toString()).toBe('hello');
    const denied = await asReader
      .bucket('handoff-bucket')
      .file('b.txt')
      .save('no', { resumable: false })
      .catch((e) => e);
    expect(denied.code).toBe(403);
    expect(String(denied.message)).toContain('storage.objects.create');
  } finally {
    await emu.stop();
  }
});

test('--data-dir keeps IAM, tokens, jobs, logs and the certificate across a restart, owner-only', async () => {
  const dir = await tempDir();
  const timings = { queuedMs: 10_000, pendingMs: 10_000, runningMs: 60_000 };
  try {
    const first = await startEmulator({ dataDir: dir.path, jobTimings: timings });
    const key = await first.iam.createServiceAccount('persisted-sa', { permissions: ['aiplatform.customJobs.get'] });
    let finishedName: string;
    let runningName: string;
    {
      const client = new v1.JobServiceClient(first.jobServiceClientOptions());
      const [finished] = await client.createCustomJob({
        parent: `projects/${first.projectId}/locations/${first.region}`,
        customJob: customJob('finished-before-restart'),
      });
      await first.clock.advance(80_000);
      const [running] = await client.createCustomJob({
        parent: `projects/${first.projectId}/locations/${first.region}`,
        customJob: customJob('running-across-restart'),
      });
      await first.clock.advance(20_000);
      finishedName = finished.name as string;
      runningName = running.name as string;
      const [now] = await client.getCustomJob({ name: runningName });
      expect(now.state).toBe('JOB_STATE_RUNNING');
      await client.close();
    }
    const logCount = first.logEntries().length;
    await first.stop();

    const dirMode = (await stat(dir.path)).mode & 0o777;
    const stateMode = (await stat(join(dir.path, 'emulator.json'))).mode & 0o777;
    const keyMode = (await stat(join(dir.path, 'tls', 'key.pem'))).mode & 0o777;
    expect([dirMode, stateMode, keyMode]).toEqual([0o700, 0o600, 0o600]);
    const saved = await readFile(join(dir.path, 'emulator.json'), 'utf8');
    expect(saved).not.toContain(key.private_key.split('\n')[1]);

    const second = await startEmulator({ dataDir: dir.path, jobTimings: timings });
    try {
      expect(second.adminToken).toBe(first.adminToken);
      expect(second.caCertPem).toBe(first.caCertPem);
      expect(second.logEntries()).toHaveLength(logCount);
      // A key issued before the restart still signs valid JWTs.
      const jwt = new JWT({ email: key.client_email, key: key.private_key, keyId: key.private_key_id });
      const client = new v1.JobServiceClient(second.jobServiceClientOptions(jwt));
      const [finished] = await client.getCustomJob({ name: finishedName });
      expect(finished.state).toBe('JOB_STATE_SUCCEEDED');
      const [running] = await client.getCustomJob({ name: runningName });
      expect(running.state).toBe('JOB_STATE_RUNNING');
      await second.clock.advance(60_000);
      const [done] = await client.getCustomJob({ name: runningName });
      expect(done.state).toBe('JOB_STATE_SUCCEEDED');
      const id = runningName.split('/').pop();
      const lines = logLines(second, 'job_id', id);
      expect(lines).toEqual([
        'Job started',
        'Running command: python -m trainer --epochs 3',
        'Job finished with exit code 0',
      ]);
      await client.close();
    } finally {
      await second.stop();
    }
  } finally {
    await dir.cleanup();
  }
});
