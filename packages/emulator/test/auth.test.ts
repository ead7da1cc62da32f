// Identity and IAM: tokens, self-signed JWTs, the OAuth2/STS/IAM Credentials grants, the metadata server
// and permission checks, each driven with the real google-auth-library and aiplatform clients.
import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { v1 } from '@google-cloud/aiplatform';
import { type Emulator, type ServiceAccountKey, startEmulator } from '@vertex-launch/emulator';
import {
  ExternalAccountClient,
  GoogleAuth,
  gaxios,
  Impersonated,
  JWT,
  OAuth2Client,
  UserRefreshClient,
} from 'google-auth-library';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { tempDir } from '../../../test/helpers.js';
import { customJob, grpcError } from './support.js';

const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';

let emu: Emulator;
let parent: string;
const clients: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  emu = await startEmulator({ quotas: { vertexReadsPerMinute: 0, vertexCreatesPerMinute: 0 } });
  parent = `projects/${emu.projectId}/locations/${emu.region}`;
});

afterAll(async () => {
  for (const c of clients) await c.close();
  await emu?.stop();
});

/** A real JobServiceClient authenticating with `auth` (token, google-auth-library client, or null). */
function jobClient(auth: unknown) {
  const client = new v1.JobServiceClient(emu.jobServiceClientOptions(auth));
  clients.push(client);
  return client;
}

async function listWith(auth: unknown) {
  return jobClient(auth).listCustomJobs({ parent }, { autoPaginate: false });
}

/** Resource Manager has no Node client here: call testIamPermissions through google-auth-library's request(). */
async function testIamPermissions(client: OAuth2Client, permissions: string[]) {
  const res = await client.request<{ permissions?: string[] }>({
    url: `${emu.httpUrl}/v1/projects/${emu.projectId}:testIamPermissions`,
    method: 'POST',
    data: { permissions },
  });
  return res.data.permissions ?? [];
}

function tokenClient(token: string): OAuth2Client {
  const client = new OAuth2Client();
  client.setCredentials({ access_token: token, expiry_date: Date.now() + 3_600_000 });
  return client;
}

describe('bearer tokens on gRPC', () => {
  test('no credentials -> UNAUTHENTICATED', async () => {
    const message = await grpcError(listWith(null), 16);
    expect(message).toContain('missing required authentication credential');
  });

  test('a token the emulator did not issue -> UNAUTHENTICATED', async () => {
    const message = await grpcError(listWith('ya29.vxl.not-a-real-token'), 16);
    expect(message).toContain('was not issued by this emulator');
    expect(message).not.toContain('not-a-real-token');
  });

  test('an expired token -> UNAUTHENTICATED saying it expired', async () => {
    const token = emu.iam.issueToken(emu.iam.adminEmail, 60);
    const [jobs] = await listWith(token);
    expect(Array.isArray(jobs)).toBe(true);
    await emu.clock.advance(61_000);
    const message = await grpcError(listWith(token), 16);
    expect(message).toContain('the access token expired at');
  });

  test('the admin token (default options) is accepted', async () => {
    const [jobs] = await jobClient(undefined).listCustomJobs({ parent }, { autoPaginate: false });
    expect(jobs).toEqual([]);
  });
});

describe('IAM permissions', () => {
  let key: ServiceAccountKey;
  let token: string;

  beforeAll(async () => {
    key = await emu.iam.createServiceAccount('limited-sa', { permissions: ['aiplatform.customJobs.list'] });
    token = emu.iam.issueToken(key.client_email);
  });

  test('a missing permission is PERMISSION_DENIED naming it; granting it lets the call through', async () => {
    const client = jobClient(token);
    const [listed] = await client.listCustomJobs({ parent }, { autoPaginate: false });
    expect(listed).toEqual([]);
    const message = await grpcError(client.createCustomJob({ parent, customJob: customJob('denied') }), 7);
    expect(message).toContain(`Permission 'aiplatform.customJobs.create' denied on resource '${parent}'`);
    expect(message).toContain(`serviceAccount:${key.client_email}`);

    emu.iam.grant(key.client_email, ['aiplatform.customJobs.create']);
    const [job] = await client.createCustomJob({ parent, customJob: customJob('allowed') });
    expect(job.state).toBe('JOB_STATE_QUEUED');
    const get = await grpcError(client.getCustomJob({ name: job.name }), 7);
    expect(get).toContain("Permission 'aiplatform.customJobs.get' denied");

    emu.iam.revoke(key.client_email, ['aiplatform.customJobs.create']);
    await grpcError(client.createCustomJob({ parent, customJob: customJob('revoked') }), 7);
  });

  test('running a job as a service account needs iam.serviceAccounts.actAs on it', async () => {
    emu.iam.grant(key.client_email, ['aiplatform.customJobs.create']);
    const client = jobClient(token);
    const job = customJob('act-as', { serviceAccount: emu.iam.runnerEmail });
    const message = await grpcError(client.createCustomJob({ parent, customJob: job }), 7);
    expect(message).toContain("Permission 'iam.serviceAccounts.actAs' denied");
    expect(message).toContain(emu.iam.runnerEmail);

    emu.iam.grant(key.client_email, ['iam.serviceAccounts.actAs'], emu.iam.runnerEmail);
    const [created] = await client.createCustomJob({ parent, customJob: job });
    expect(created.jobSpec?.serviceAccount).toBe(emu.iam.runnerEmail);
  });

  test('testIamPermissions answers for the caller', async () => {
    const asked = ['aiplatform.customJobs.list', 'aiplatform.customJobs.cancel', 'storage.objects.get'];
    expect(await testIamPermissions(tokenClient(token), asked)).toEqual(['aiplatform.customJobs.list']);
    expect(await testIamPermissions(tokenClient(emu.adminToken), asked)).toEqual(asked);
    const bad = await testIamPermissions(tokenClient('ya29.vxl.bogus'), asked).catch((e) => e);
    expect(bad.status).toBe(401);
    expect(bad.response.data.error).toMatchObject({ code: 401, status: 'UNAUTHENTICATED' });
  });
});

describe('service-account keys', () => {
  let key: ServiceAccountKey;

  beforeAll(async () => {
    key = await emu.iam.createServiceAccount('keyed-sa', { permissions: ['aiplatform.customJobs.list'] });
  });

  test('the key file looks like Google’s and points at the emulator', () => {
    expect(key).toMatchObject({
      type: 'service_account',
      project_id: emu.projectId,
      client_email: `keyed-sa@${emu.projectId}.iam.gserviceaccount.com`,
      token_uri: `${emu.httpUrl}/token`,
    });
    expect(key.private_key).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(key.private_key_id).toMatch(/^[0-9a-f]{40}$/);
  });

  test('self-signed JWTs from google-auth-library are accepted on gRPC', async () => {
    const jwt = new JWT({ email: key.client_email, key: key.private_key, keyId: key.private_key_id });
    const [jobs] = await listWith(jwt);
    expect(Array.isArray(jobs)).toBe(true);
    // Same claims, wrong key: refused.
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const forged = new JWT({
      email: key.client_email,
      key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      keyId: key.private_key_id,
    });
    const message = await grpcError(listWith(forged), 16);
    expect(message).toContain('signature does not match');
  });

  test('the JWT-bearer grant at /token (google-auth-library redirected with a transporter interceptor)', async () => {
    const transporter = new gaxios.Gaxios();
    transporter.interceptors.request.add({
      resolved: async (options) => {
        if (String(options.url) === 'https://oauth2.googleapis.com/token')
          options.url = new URL(`${emu.httpUrl}/token`);
        return options;
      },
    });
    const jwt = new JWT({
      email: key.client_email,
      key: key.private_key,
      keyId: key.private_key_id,
      scopes: [CLOUD_PLATFORM],
      transporter,
    });
    const { token } = await jwt.getAccessToken();
    expect(token).toMatch(/^ya29\.vxl\./);
    expect(emu.counters()['oauth2.token']).toBeGreaterThanOrEqual(1);
    expect(await testIamPermissions(tokenClient(token as string), ['aiplatform.customJobs.list'])).toEqual([
      'aiplatform.customJobs.list',
    ]);
    const [jobs] = await listWith(jwt);
    expect(Array.isArray(jobs)).toBe(true);
  });
});

describe('user credentials and the refresh-token grant', () => {
  test('UserRefreshClient with the token endpoint overridden', async () => {
    const creds = emu.iam.createUser('dev@example.com', { permissions: ['aiplatform.customJobs.list'] });
    expect(creds.type).toBe('authorized_user');
    const user = new UserRefreshClient({
      clientId: creds.client_id,
      clientSecret: creds.client_secret,
      refreshToken: creds.refresh_token,
      endpoints: { oauth2TokenUrl: `${emu.httpUrl}/token` },
    });
    const { token } = await user.getAccessToken();
    expect(
      await testIamPermissions(tokenClient(token as string), ['aiplatform.customJobs.list', 'storage.objects.get']),
    ).toEqual(['aiplatform.customJobs.list']);
    const [jobs] = await listWith(token);
    expect(Array.isArray(jobs)).toBe(true);

    const wrong = new UserRefreshClient({
      clientId: creds.client_id,
      clientSecret: 'wrong-secret',
      refreshToken: creds.refresh_token,
      endpoints: { oauth2TokenUrl: `${emu.httpUrl}/token` },
    });
    const error = await wrong.getAccessToken().catch((e) => e);
    expect(error.response?.data).toMatchObject({ error: 'invalid_grant' });
  });
});

describe('workload identity federation (STS) and impersonation (IAM Credentials)', () => {
  test('an external_account config exchanges its subject token and impersonates a service account', async () => {
    const dir = await tempDir();
    try {
      const identity = emu.iam.addExternalIdentity('ci-runner-42');
      const target = await emu.iam.createServiceAccount('federated-target', {
        permissions: ['aiplatform.customJobs.list'],
      });
      emu.iam.grant(identity.member, ['iam.serviceAccounts.getAccessToken'], target.client_email);
      const subjectFile = join(dir.path, 'subject-token');
      await writeFile(subjectFile, identity.subjectToken);
      const client = ExternalAccountClient.fromJSON({
        type: 'external_account',
        audience: identity.audience,
        subject_token_type: identity.subjectTokenType,
        token_url: `${emu.httpUrl}/v1/token`,
        credential_source: { file: subjectFile },
        service_account_impersonation_url: `${emu.httpUrl}/v1/projects/-/serviceAccounts/${target.client_email}:generateAccessToken`,
      });
      expect(client).not.toBeNull();
      const { token } = await (client as NonNullable<typeof client>).getAccessToken();
      expect(emu.counters()).toMatchObject({ 'sts.token': 1, 'iamcredentials.generateAccessToken': 1 });
      // The token is the impersonated service account's.
      expect(await testIamPermissions(tokenClient(token as string), ['aiplatform.customJobs.list'])).toEqual([
        'aiplatform.customJobs.list',
      ]);
      const [jobs] = await listWith(token);
      expect(Array.isArray(jobs)).toBe(true);
    } finally {
      await dir.cleanup();
    }
  });

  test('a subject token for another audience is refused', async () => {
    const identity = emu.iam.addExternalIdentity('someone', { provider: 'other-provider' });
    const dir = await tempDir();
    try {
      const subjectFile = join(dir.path, 'subject-token');
      await writeFile(subjectFile, identity.subjectToken);
      const client = ExternalAccountClient.fromJSON({
        type: 'external_account',
        audience: identity.audience.replace('other-provider', 'emulator-provider'),
        subject_token_type: identity.subjectTokenType,
        token_url: `${emu.httpUrl}/v1/token`,
        credential_source: { file: subjectFile },
      });
      const error = await (client as NonNullable<typeof client>).getAccessToken().catch((e) => e);
      expect(String(error.message)).toContain('does not match the provider');
    } finally {
      await dir.cleanup();
    }
  });

  test('Impersonated needs iam.serviceAccounts.getAccessToken on the target', async () => {
    const source = await emu.iam.createServiceAccount('impersonator', { permissions: ['aiplatform.customJobs.list'] });
    const sourceClient = tokenClient(emu.iam.issueToken(source.client_email));
    const impersonated = new Impersonated({
      sourceClient,
      targetPrincipal: emu.iam.runnerEmail,
      targetScopes: [CLOUD_PLATFORM],
      lifetime: 600,
      endpoint: emu.httpUrl,
    });
    const denied = await impersonated.getAccessToken().catch((e) => e);
    expect(String(denied.message)).toContain("Permission 'iam.serviceAccounts.getAccessToken' denied");

    emu.iam.grant(source.client_email, ['iam.serviceAccounts.getAccessToken'], emu.iam.runnerEmail);
    const allowed = new Impersonated({
      sourceClient,
      targetPrincipal: emu.iam.runnerEmail,
      targetScopes: [CLOUD_PLATFORM],
      lifetime: 600,
      endpoint: emu.httpUrl,
    });
    const { token, res } = await allowed.getAccessToken();
    expect(token).toMatch(/^ya29\.vxl\./);
    const expireTime = Date.parse((res?.data as { expireTime?: string } | undefined)?.expireTime ?? '');
    expect(expireTime - emu.clock.now()).toBeGreaterThan(590_000);
    expect(expireTime - emu.clock.now()).toBeLessThanOrEqual(600_000);
  });
});

describe('metadata server', () => {
  test('google-auth-library’s Compute credentials read project, email and token from it', async () => {
    const saved = { host: process.env.GCE_METADATA_HOST, detection: process.env.METADATA_SERVER_DETECTION };
    process.env.GCE_METADATA_HOST = new URL(emu.httpUrl).host;
    process.env.METADATA_SERVER_DETECTION = 'assume-present';
    try {
      const auth = new GoogleAuth({ scopes: [CLOUD_PLATFORM] });
      expect(await auth.getProjectId()).toBe(emu.projectId);
      const credentials = await auth.getCredentials();
      expect(credentials.client_email).toBe(emu.iam.adminEmail);
      const token = await auth.getAccessToken();
      expect(token).toMatch(/^ya29\.vxl\./);
      expect(await testIamPermissions(tokenClient(token as string), ['aiplatform.customJobs.create'])).toEqual([
        'aiplatform.customJobs.create',
      ]);
      const [jobs] = await listWith(await auth.getClient());
      expect(Array.isArray(jobs)).toBe(true);
    } finally {
      if (saved.host === undefined) delete process.env.GCE_METADATA_HOST;
      else process.env.GCE_METADATA_HOST = saved.host;
      process.env.METADATA_SERVER_DETECTION = saved.detection ?? 'none';
    }
  });

  test('requests without Metadata-Flavor: Google are refused (no client sends those, so plain fetch)', async () => {
    const refused = await fetch(`${emu.httpUrl}/computeMetadata/v1/project/project-id`);
    expect(refused.status).toBe(403);
    expect(refused.headers.get('metadata-flavor')).toBe('Google');
    expect(await refused.text()).toContain('Metadata-Flavor');
    const ok = await fetch(`${emu.httpUrl}/computeMetadata/v1/project/numeric-project-id`, {
      headers: { 'Metadata-Flavor': 'Google' },
    });
    expect(await ok.text()).toBe(emu.projectNumber);
  });
});
