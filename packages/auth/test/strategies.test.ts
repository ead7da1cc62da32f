// Behaviour of the individual strategies and the chain beyond the conformance suite: validation messages,
// precedence, credential file types, refused credentials, 401 retry — all against the emulator.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, NoCredentialsError } from '@vertex-launch/core';
import { type Emulator, startEmulator } from '@vertex-launch/emulator';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { tempDir } from '../../../test/helpers.js';
import { auto, environment, gcloudAdc, resolveCredentials, serviceAccountKey, workloadIdentity } from '../src/index.js';
import {
  baseEnv,
  context,
  emulatorEnv,
  findLeaks,
  LIST_JOBS,
  listJobs,
  secretGuard,
  useSecretGuard,
  writeJson,
} from './support.js';

useSecretGuard();

let emulator: Emulator;
let dir: { path: string; cleanup: () => Promise<void> };
let n = 0;

beforeAll(async () => {
  emulator = await startEmulator();
  dir = await tempDir('vxl-auth-strat-');
  secretGuard.secret(emulator.adminToken);
});
afterAll(async () => {
  await emulator?.stop();
  await dir?.cleanup();
});

async function newKey(permissions = [LIST_JOBS]) {
  const key = await emulator.iam.createServiceAccount(`strat-sa-${++n}`, { permissions });
  secretGuard.secret(key.private_key);
  return key;
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'expected a rejection').toBeInstanceOf(Error);
  secretGuard.captureError(error);
  return error as Error;
}

describe('serviceAccountKey()', () => {
  test('lists every problem of an invalid key, without echoing the key', async () => {
    const key = await newKey();
    const broken = {
      ...key,
      type: 'authorized_user',
      client_email: 'not-an-email',
      private_key: 'MIIEvQ-secret-material',
    };
    secretGuard.secret('MIIEvQ-secret-material');
    const error = await rejection((async () => serviceAccountKey({ credentials: broken }))());
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'type: must be "service_account", got "authorized_user" (this is a gcloud user credential: use gcloudAdc() or environment())',
      'client_email: must be the service account email (name@project.iam.gserviceaccount.com)',
      'private_key: must be a PEM private key (-----BEGIN PRIVATE KEY-----...)',
    ]);
    expect(error.message).toMatch(
      /^\[vertex-launch\] \[auth:service-account-key\] the `credentials` option is not a valid service-account key: /,
    );
    expect(error.message).toContain('gcloud iam service-accounts keys create');
  });

  test('a key file that is not JSON is named with a line and column, never quoted', async () => {
    const key = await newKey();
    const file = join(dir.path, 'truncated.json');
    const text = JSON.stringify(key, null, 2).slice(0, 400);
    await writeFile(file, text, { mode: 0o600 });
    const error = await rejection(serviceAccountKey({ keyFile: file }).resolve(context(baseEnv()).ctx));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(
      new RegExp(
        `^\\[vertex-launch\\] \\[auth:service-account-key\\] ${file.replace(/[/.]/g, '\\$&')} is not valid JSON \\(line \\d+, column \\d+\\)\\.`,
      ),
    );
    expect(error.message).not.toContain(text.slice(300, 340));
  });

  test('warns when the key file is readable by group or others', async () => {
    const key = await newKey();
    const file = await writeJson(join(dir.path, 'group.json'), key, 0o640);
    const { ctx, warnings } = context(emulatorEnv(emulator));
    await serviceAccountKey({ keyFile: file }).resolve(ctx);
    expect(warnings).toEqual([
      `[vertex-launch] [auth:service-account-key] ${file} is readable by group (mode 0640); it holds a secret. Run \`chmod 600 ${file}\`.`,
    ]);
    const quiet = context(emulatorEnv(emulator));
    await serviceAccountKey({ keyFile: await writeJson(join(dir.path, 'private.json'), key) }).resolve(quiet.ctx);
    expect(quiet.warnings).toEqual([]);
  });

  test('accepts the key as a JSON string, and needs exactly one of keyFile / credentials', async () => {
    const key = await newKey();
    const creds = await resolveCredentials(
      serviceAccountKey({ credentials: JSON.stringify(key), projectId: 'other-proj' }),
      {
        env: emulatorEnv(emulator),
      },
    );
    expect(creds.projectId).toBe('other-proj');
    expect(await listJobs(emulator, creds)).toBe(0);
    const both = await rejection((async () => serviceAccountKey({ keyFile: 'k.json', credentials: key } as never))());
    expect(both.message).toBe(
      '[vertex-launch] [auth:service-account-key] Pass exactly one of `keyFile` (path of a JSON key) or `credentials` (the key object), not both.',
    );
  });

  test('a key the token endpoint refuses fails with the strategy, the account and the reason', async () => {
    const key = await newKey();
    const forged = { ...key, client_email: `ghost-${n}@${emulator.projectId}.iam.gserviceaccount.com` };
    const creds = await resolveCredentials(serviceAccountKey({ credentials: forged }), { env: emulatorEnv(emulator) });
    const error = await rejection(creds.accessToken());
    expect(error.message).toMatch(
      /^\[vertex-launch\] \[auth:service-account-key\] Could not get an access token from service account ghost-\d+@vxl-emulator\.iam\.gserviceaccount\.com \(key inline credentials\): .*invalid_grant.*unknown service account/,
    );
  });
});

describe('environment()', () => {
  test('a raw token wins over GOOGLE_APPLICATION_CREDENTIALS; CLOUDSDK_AUTH_ACCESS_TOKEN works too', async () => {
    const key = await newKey();
    const file = await writeJson(join(dir.path, `env-${n}.json`), key);
    const token = emulator.iam.issueToken(key.client_email);
    secretGuard.secret(token);
    const creds = await resolveCredentials(environment(), {
      env: emulatorEnv(emulator, { CLOUDSDK_AUTH_ACCESS_TOKEN: token, GOOGLE_APPLICATION_CREDENTIALS: file }),
    });
    expect(creds.source).toBe('access token from $CLOUDSDK_AUTH_ACCESS_TOKEN');
    expect((await creds.accessToken()).expiresAt).toBeUndefined();
    expect(await listJobs(emulator, creds)).toBe(0);
  });

  test('GOOGLE_APPLICATION_CREDENTIALS naming a missing file is an error, not a silent fallthrough', async () => {
    const missing = join(dir.path, 'nope.json');
    const error = await rejection(
      resolveCredentials(auto(), { env: emulatorEnv(emulator, { GOOGLE_APPLICATION_CREDENTIALS: missing }) }),
    );
    expect(error.message).toBe(
      `[vertex-launch] [auth:environment] $GOOGLE_APPLICATION_CREDENTIALS names ${missing}, which does not exist.`,
    );
  });

  test('an unsupported credential type names the supported ones', async () => {
    const file = await writeJson(join(dir.path, 'gdch.json'), { type: 'gdch_service_account' });
    const error = await rejection(
      resolveCredentials(environment(), { env: baseEnv({ GOOGLE_APPLICATION_CREDENTIALS: file }) }),
    );
    expect(error.message).toBe(
      `[vertex-launch] [auth:environment] ${file} has credential type "gdch_service_account"; Vertex Launch supports service_account, authorized_user, external_account, impersonated_service_account.`,
    );
  });
});

describe('gcloudAdc()', () => {
  async function gcloud(adc: unknown, config?: string) {
    const root = join(dir.path, `gcloud-${++n}`);
    await writeJson(join(root, 'application_default_credentials.json'), adc);
    if (config) {
      await mkdir(join(root, 'configurations'), { recursive: true });
      await writeFile(join(root, 'active_config'), 'ci\n');
      await writeFile(join(root, 'configurations', 'config_ci'), config);
    }
    return root;
  }

  test('impersonated_service_account (gcloud --impersonate-service-account) acts as the target', async () => {
    const userEmail = `imp-user-${++n}@example.com`;
    const user = emulator.iam.createUser(userEmail);
    secretGuard.secret(user.refresh_token, user.client_secret);
    const target = await newKey();
    emulator.iam.grant(
      `user:${userEmail}`,
      ['iam.serviceAccounts.getAccessToken'],
      emulator.iam.serviceAccountResource(target.client_email),
    );
    const root = await gcloud(
      {
        type: 'impersonated_service_account',
        service_account_impersonation_url: `https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/${target.client_email}:generateAccessToken`,
        source_credentials: user,
        delegates: [],
      },
      '[core]\nproject = ci-proj\n',
    );
    const creds = await resolveCredentials(gcloudAdc(), { env: emulatorEnv(emulator, { CLOUDSDK_CONFIG: root }) });
    expect(creds.principal).toBe(target.client_email);
    expect(creds.projectId).toBe('ci-proj');
    expect(creds.source).toContain(
      `user credentials (authorized_user) in ${root}/application_default_credentials.json, impersonating ${target.client_email}`,
    );
    expect(await listJobs(emulator, creds)).toBe(0);
  });

  test('a revoked refresh token fails with the fix (`gcloud auth application-default login`)', async () => {
    const root = await gcloud({
      type: 'authorized_user',
      client_id: 'x.apps.googleusercontent.com',
      client_secret: 'sekrit-123456',
      refresh_token: '1//revoked-refresh-token-abc',
    });
    secretGuard.secret('sekrit-123456', '1//revoked-refresh-token-abc');
    const creds = await resolveCredentials(gcloudAdc(), { env: emulatorEnv(emulator, { CLOUDSDK_CONFIG: root }) });
    const error = await rejection(creds.accessToken());
    expect(error.message).toMatch(
      /^\[vertex-launch\] \[auth:gcloud-adc\] Could not get an access token from user credentials \(authorized_user\) in .*: .*invalid_grant/,
    );
    expect((error as { hint?: string }).hint).toBe(
      'The gcloud credentials were refused; run `gcloud auth application-default login` again.',
    );
  });
});

describe('auto()', () => {
  test('order: explicit key, then environment, then gcloud ADC', async () => {
    const explicitKey = await newKey();
    const envKey = await newKey();
    const adcUser = emulator.iam.createUser(`order-${++n}@example.com`);
    secretGuard.secret(adcUser.refresh_token, adcUser.client_secret);
    const root = join(dir.path, `order-${n}`);
    await writeJson(join(root, 'application_default_credentials.json'), adcUser);
    const envFile = await writeJson(join(dir.path, `order-env-${n}.json`), envKey);
    const env = emulatorEnv(emulator, { CLOUDSDK_CONFIG: root, GOOGLE_APPLICATION_CREDENTIALS: envFile });
    expect((await resolveCredentials(auto({ credentials: explicitKey }), { env })).principal).toBe(
      explicitKey.client_email,
    );
    expect((await resolveCredentials(auto(), { env })).principal).toBe(envKey.client_email);
    const adc = await resolveCredentials(auto(), { env: { ...env, GOOGLE_APPLICATION_CREDENTIALS: undefined } });
    expect(adc.strategy).toBe('gcloud-adc');
  });

  test('explicit project and region beat the environment, which beats the source', async () => {
    const key = await newKey();
    const env = emulatorEnv(emulator, { GOOGLE_CLOUD_PROJECT: 'env-proj', GOOGLE_CLOUD_REGION: 'env-region1' });
    const fromEnv = await resolveCredentials(auto({ credentials: key }), { env });
    expect([fromEnv.projectId, fromEnv.region]).toEqual(['env-proj', 'env-region1']);
    const explicit = await resolveCredentials(auto({ credentials: key, projectId: 'opt-proj', region: 'us-east5' }), {
      env,
    });
    expect([explicit.projectId, explicit.region, explicit.authClient.projectId]).toEqual([
      'opt-proj',
      'us-east5',
      'opt-proj',
    ]);
  });

  test('when nothing applies, NoCredentialsError lists each strategy and its reason', async () => {
    const error = await rejection(resolveCredentials(auto(), { env: baseEnv(), homedir: dir.path }));
    expect(error).toBeInstanceOf(NoCredentialsError);
    expect((error as NoCredentialsError).attempts.map((a) => a.strategy)).toEqual([
      'environment',
      'gcloud-adc',
      'workload-identity',
    ]);
    expect((error as NoCredentialsError).hint).toContain('gcloud auth application-default login');
  });
});

describe('workloadIdentity()', () => {
  test('METADATA_SERVER_DETECTION=assume-present uses the emulator metadata server without a probe', async () => {
    const creds = await resolveCredentials(workloadIdentity(), {
      env: emulatorEnv(emulator, { METADATA_SERVER_DETECTION: 'assume-present' }),
    });
    expect(creds.principal).toBe(emulator.iam.adminEmail);
    expect(creds.source).toMatch(/^GCE metadata server \(metadata server at 127\.0\.0\.1:\d+\) as /);
    expect(await listJobs(emulator, creds)).toBe(0);
  });

  test('a federation config of another type is refused with the command that makes the right one', async () => {
    const key = await newKey();
    const file = await writeJson(join(dir.path, `not-wif-${n}.json`), key);
    const error = await rejection(workloadIdentity({ credentialConfig: file }).resolve(context(baseEnv()).ctx));
    expect(error.message).toContain(
      'workload identity federation needs an external_account config (`gcloud iam workload-identity-pools create-cred-config`)',
    );
  });
});

describe('ManagedAuthClient.request()', () => {
  test('retries once with a fresh token after a 401', async () => {
    const member = `retry-${++n}@example.com`;
    emulator.iam.grant(member, ['*']);
    const key = await newKey(['*']);
    const creds = await resolveCredentials(serviceAccountKey({ credentials: key }), { env: emulatorEnv(emulator) });
    const first = (await creds.accessToken()).token;
    secretGuard.secret(first);
    emulator.iam.revoke(key.client_email, []);
    // Expire the cached token on the server only: the next request gets 401, then succeeds with a new token.
    await emulator.clock.advance(2 * 3600_000);
    const res = await creds.authClient.request<{ permissions?: string[] }>({
      url: `${emulator.httpUrl}/v1/projects/${emulator.projectId}:testIamPermissions`,
      method: 'POST',
      data: { permissions: [LIST_JOBS] },
    });
    expect(res.data.permissions).toEqual([LIST_JOBS]);
    const second = (await creds.accessToken()).token;
    secretGuard.secret(second);
    expect(second).not.toBe(first);
    expect(creds.authClient.refreshCount).toBe(2);
  });
});

describe('the secret guard', () => {
  test('finds a token or one line of a private key in captured output', async () => {
    const key = await newKey();
    const line = key.private_key.split('\n')[3] as string;
    expect(findLeaks(['ok', `oops ${line} leaked`], [key.private_key, 'ya29.vxl.not-leaked'])).toEqual(['-----B…']);
    expect(findLeaks(['Bearer ya29.vxl.abc123'], ['ya29.vxl.abc123'])).toEqual(['ya29.v…']);
    expect(findLeaks(['nothing here'], [key.private_key])).toEqual([]);
  });
});
