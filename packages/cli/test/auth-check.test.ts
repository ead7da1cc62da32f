// `vertex-launch auth check` in-process against the emulator: strategy, principal, project, region, token
// expiry (never the token), the missing launch permissions by name, exit 3.
import { join } from 'node:path';
import { LAUNCH_PERMISSIONS } from '@vertex-launch/auth';
import { isVertexLaunchError } from '@vertex-launch/core';
import { type Emulator, startEmulator } from '@vertex-launch/emulator';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { tempDir } from '../../../test/helpers.js';
import { baseEnv, secretGuard, useSecretGuard, writeJson } from '../../auth/test/support.js';
import authCheck from '../src/commands/auth-check.js';
import { exitCodeFor } from '../src/exit-codes.js';
import type { Io } from '../src/output.js';

useSecretGuard();

let emulator: Emulator;
let dir: { path: string; cleanup: () => Promise<void> };
const ALL = LAUNCH_PERMISSIONS.map((p) => p.permission);

beforeAll(async () => {
  emulator = await startEmulator();
  dir = await tempDir('vxl-auth-check-');
  secretGuard.secret(emulator.adminToken);
});
afterAll(async () => {
  await emulator?.stop();
  await dir?.cleanup();
});

function captureIo(): Io & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    isTTY: false,
    color: false,
    stdout: (t: string) => {
      io.out += t;
      secretGuard.capture(t);
    },
    stderr: (t: string) => {
      io.err += t;
      secretGuard.capture(t);
    },
  };
  return io;
}

async function keyFor(name: string, permissions: string[]) {
  const key = await emulator.iam.createServiceAccount(name, { permissions });
  secretGuard.secret(key.private_key);
  return { key, file: await writeJson(join(dir.path, `${name}.json`), key) };
}

function env(keyFile: string) {
  return baseEnv({
    VERTEX_LAUNCH_EMULATOR_HTTP: emulator.httpUrl,
    GOOGLE_APPLICATION_CREDENTIALS: keyFile,
    GOOGLE_CLOUD_PROJECT: emulator.projectId,
    GOOGLE_CLOUD_REGION: emulator.region,
  });
}

describe('vertex-launch auth check', () => {
  test('all permissions held: prints the chosen credentials and exits 0', async () => {
    const { key, file } = await keyFor(
      'check-all',
      ALL.filter((p) => p !== 'iam.serviceAccounts.actAs'),
    );
    const io = captureIo();
    const code = await authCheck({}, io, { env: env(file) });
    expect(io.err).toBe('');
    expect(code).toBe(0);
    expect(io.out).toContain('Strategy     environment\n');
    expect(io.out).toContain(
      `Source       $GOOGLE_APPLICATION_CREDENTIALS: service account ${key.client_email} (key ${file})\n`,
    );
    expect(io.out).toContain(`Principal    ${key.client_email}\n`);
    expect(io.out).toContain(`Project      ${emulator.projectId}\n`);
    expect(io.out).toContain(`Region       ${emulator.region}\n`);
    expect(io.out).toMatch(/Token {8}valid until \d{4}-\d\d-\d\dT[\d:.]+Z \(in (59|60) min\)\n/);
    expect(io.out).toContain(`Permissions on ${emulator.projectId}: 10/10 granted\n`);
    expect(io.out).toContain('  ✓ aiplatform.customJobs.create — submit the CustomJob\n');
    expect(io.out).toContain('(iam.serviceAccounts.actAs is checked with --service-account');
    expect(io.out).toContain(
      'ml.jobs.create → aiplatform.customJobs.create, ml.jobs.get → aiplatform.customJobs.get, ml.jobs.list → aiplatform.customJobs.list',
    );
  });

  test('a missing permission is named, with exit 3', async () => {
    const { file } = await keyFor(
      'check-some',
      ALL.filter((p) => p !== 'cloudbuild.builds.create' && p !== 'aiplatform.customJobs.cancel'),
    );
    const io = captureIo();
    const code = await authCheck({ serviceAccount: emulator.iam.runnerEmail }, io, { env: env(file) });
    expect(code).toBe(3);
    expect(io.out).toContain('  ✗ cloudbuild.builds.create — build the image with Cloud Build\n');
    expect(io.out).toContain('  ✓ iam.serviceAccounts.actAs — run the job as its service account\n');
    expect(io.err).toContain(
      'lacks 2 permissions the launch needs: aiplatform.customJobs.cancel, cloudbuild.builds.create.',
    );
    expect(io.err).toContain('hint Grant a role that holds them');
  });

  test('--json prints one document without the token; --project and --region win', async () => {
    const { key, file } = await keyFor('check-json', ['aiplatform.customJobs.create', 'aiplatform.customJobs.get']);
    const io = captureIo();
    const code = await authCheck(
      { json: true, project: emulator.projectId, region: 'europe-west4', serviceAccount: emulator.iam.runnerEmail },
      io,
      {
        env: { ...env(file), GOOGLE_CLOUD_PROJECT: 'ignored-proj' },
      },
    );
    expect(code).toBe(3);
    expect(io.err).toBe('');
    const doc = JSON.parse(io.out);
    expect(doc).toMatchObject({
      ok: false,
      strategy: 'environment',
      principal: key.client_email,
      project: emulator.projectId,
      region: 'europe-west4',
      legacyPermissions: { 'ml.jobs.create': 'aiplatform.customJobs.create' },
      warnings: [],
    });
    expect(new Date(doc.tokenExpiresAt).getTime()).toBeGreaterThan(Date.now());
    expect(doc.missing).toEqual([
      'aiplatform.customJobs.list',
      'aiplatform.customJobs.cancel',
      'storage.objects.create',
      'storage.objects.get',
      'storage.objects.list',
      'artifactregistry.repositories.uploadArtifacts',
      'artifactregistry.repositories.downloadArtifacts',
      'cloudbuild.builds.create',
      'iam.serviceAccounts.actAs',
    ]);
    const actAs = doc.permissions.find((p: { permission: string }) => p.permission === 'iam.serviceAccounts.actAs');
    expect(actAs).toMatchObject({ granted: false, resource: `projects/-/serviceAccounts/${emulator.iam.runnerEmail}` });
    expect(Object.keys(doc)).not.toContain('token');
  });

  test('a key file readable by others draws a warning', async () => {
    const key = await emulator.iam.createServiceAccount('check-mode', { permissions: ALL });
    secretGuard.secret(key.private_key);
    const file = await writeJson(join(dir.path, 'shared-key.json'), key, 0o644);
    const io = captureIo();
    expect(await authCheck({}, io, { env: env(file) })).toBe(0);
    expect(io.err).toContain(
      `warning [vertex-launch] [auth:environment] ${file} is readable by group and others (mode 0644); it holds a secret. Run \`chmod 600 ${file}\`.`,
    );
  });

  test('no credentials: one error lists every strategy and why it declined (exit 3)', async () => {
    const io = captureIo();
    const error = await authCheck({}, io, { env: baseEnv(), homedir: dir.path }).catch((e: unknown) => e);
    secretGuard.captureError(error);
    expect(isVertexLaunchError(error)).toBe(true);
    expect(exitCodeFor(error)).toBe(3);
    expect((error as Error).message).toBe(
      [
        '[vertex-launch] [auth] No credentials found. Tried, in order:',
        '  - environment: none of $GOOGLE_OAUTH_ACCESS_TOKEN, $CLOUDSDK_AUTH_ACCESS_TOKEN, $GOOGLE_APPLICATION_CREDENTIALS is set',
        '  - gcloud-adc: /nonexistent/vxl-auth-tests/gcloud/application_default_credentials.json does not exist (run `gcloud auth application-default login`)',
        '  - workload-identity: metadata server detection is disabled (METADATA_SERVER_DETECTION=none) and no credentialConfig is set',
      ].join('\n'),
    );
  });
});
