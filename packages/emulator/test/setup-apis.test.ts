// The APIs `vertex-launch setup` calls, with Google's request shapes, as the emulator serves them: Service Usage
// (get, enable, batchEnable; a disabled API refuses calls with SERVICE_DISABLED), IAM service accounts (create, get),
// the project's and a service account's IAM policy (read-modify-write with etags, ABORTED on a stale one), an
// Artifact Registry repository's IAM policy through the real client, and what Google refuses: bad ids, unknown
// roles and members, wrong locations, a caller without the permission.

import { v1 } from '@google-cloud/aiplatform';
import { ArtifactRegistryClient } from '@google-cloud/artifact-registry';
import { Storage } from '@google-cloud/storage';
import { type Emulator, startEmulator } from '@vertex-launch/emulator';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

let emu: Emulator;
const SA_USER = 'roles/iam.serviceAccountUser';

beforeAll(async () => {
  emu = await startEmulator({ disabledServices: ['aiplatform.googleapis.com'] });
});
afterAll(async () => {
  await emu?.stop();
});

async function call(method: 'GET' | 'POST', path: string, body?: unknown, token = emu.adminToken) {
  const response = await fetch(`${emu.httpUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  // biome-ignore lint/suspicious/noExplicitAny: Google's JSON answers, read field by field in the assertions
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

describe('Service Usage', () => {
  test('a disabled API refuses calls with SERVICE_DISABLED until it is enabled', async () => {
    const client = new v1.JobServiceClient(emu.jobServiceClientOptions());
    const parent = `projects/${emu.projectId}/locations/${emu.region}`;
    await expect(client.listCustomJobs({ parent })).rejects.toThrow(/has not been used in project .*SERVICE_DISABLED/);
    const p = `/v1/projects/${emu.projectId}/services`;
    expect((await call('GET', `${p}/aiplatform.googleapis.com`)).body).toMatchObject({
      name: `projects/${emu.projectNumber}/services/aiplatform.googleapis.com`,
      state: 'DISABLED',
    });
    const enabled = await call('POST', `${p}:batchEnable`, { serviceIds: ['aiplatform.googleapis.com'] });
    expect(enabled.body).toMatchObject({ done: true, response: { services: [{ state: 'ENABLED' }] } });
    const [jobs] = await client.listCustomJobs({ parent });
    expect(jobs).toEqual([]);
    await client.close();
    expect((await call('POST', `${p}/storage.googleapis.com:enable`)).body.response.service.state).toBe('ENABLED');
  });

  test('an unknown service and a caller without serviceusage.services.enable are refused', async () => {
    const p = `/v1/projects/${emu.projectId}/services`;
    const unknown = await call('GET', `${p}/nosuch.googleapis.com`);
    expect(unknown).toMatchObject({ status: 403, body: { error: { message: expect.stringContaining('Not found') } } });
    const reader = emu.iam.issueToken(
      (await emu.iam.createServiceAccount('su-reader', { permissions: ['serviceusage.services.get'] })).client_email,
    );
    expect((await call('GET', `${p}/aiplatform.googleapis.com`, undefined, reader)).status).toBe(200);
    const refused = await call('POST', `${p}/aiplatform.googleapis.com:enable`, {}, reader);
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toContain('serviceusage.services.enable');
  });
});

describe('IAM', () => {
  test('service accounts: create, get, ALREADY_EXISTS, bad ids refused', async () => {
    const base = `/v1/projects/${emu.projectId}/serviceAccounts`;
    const created = await call('POST', base, { accountId: 'trainer-sa', serviceAccount: { displayName: 'Jobs' } });
    expect(created.body).toMatchObject({
      email: `trainer-sa@${emu.projectId}.iam.gserviceaccount.com`,
      displayName: 'Jobs',
    });
    expect((await call('GET', `${base}/${created.body.email}`)).body.uniqueId).toBe(created.body.uniqueId);
    expect((await call('POST', base, { accountId: 'trainer-sa' })).status).toBe(409);
    expect((await call('POST', base, { accountId: 'Bad_Id' })).status).toBe(400);
    expect((await call('POST', base, { accountId: 'abc' })).status).toBe(400);
    expect((await call('GET', `${base}/nobody-here@${emu.projectId}.iam.gserviceaccount.com`)).status).toBe(404);
  });

  test('project policy: roles grant their permissions; a stale etag is ABORTED; bad roles and members refused', async () => {
    const path = `/v1/projects/${emu.projectId}`;
    const key = await emu.iam.createServiceAccount('policy-user');
    const member = `serviceAccount:${key.client_email}`;
    const token = emu.iam.issueToken(key.client_email);
    const tip = () =>
      call('POST', `${path}:testIamPermissions`, { permissions: ['aiplatform.customJobs.create'] }, token);
    expect((await tip()).body.permissions).toBeUndefined();
    const read = (await call('POST', `${path}:getIamPolicy`, {})).body;
    const policy = { ...read, bindings: [...read.bindings, { role: 'roles/aiplatform.user', members: [member] }] };
    emu.iam.addBinding('roles/logging.viewer', 'user:someone@example.com'); // someone else writes meanwhile
    const stale = await call('POST', `${path}:setIamPolicy`, { policy });
    expect(stale).toMatchObject({ status: 409, body: { error: { status: 'ABORTED' } } });
    const again = (await call('POST', `${path}:getIamPolicy`, {})).body;
    const written = await call('POST', `${path}:setIamPolicy`, {
      policy: { ...again, bindings: [...again.bindings, { role: 'roles/aiplatform.user', members: [member] }] },
    });
    expect(written.status).toBe(200);
    expect(written.body.etag).not.toBe(again.etag);
    expect(written.body.bindings.map((b: { role: string }) => b.role).sort()).toEqual([
      'roles/aiplatform.user',
      'roles/logging.viewer',
    ]);
    expect((await tip()).body.permissions).toEqual(['aiplatform.customJobs.create']);

    const bad = async (binding: unknown) =>
      (await call('POST', `${path}:setIamPolicy`, { policy: { bindings: [binding] } })).body.error?.message;
    expect(await bad({ role: 'roles/no.such', members: [member] })).toContain('is not supported');
    expect(await bad({ role: 'roles/aiplatform.user', members: [key.client_email] })).toContain('Invalid member');
    expect(
      await bad({
        role: 'roles/aiplatform.user',
        members: [`serviceAccount:ghost-sa@${emu.projectId}.iam.gserviceaccount.com`],
      }),
    ).toContain('does not exist');
    const denied = await call('POST', `${path}:setIamPolicy`, { policy: again }, token);
    expect(denied.status).toBe(403);
    expect(denied.body.error.message).toContain('resourcemanager.projects.setIamPolicy');
  });

  test("a service account's policy: roles/iam.serviceAccountUser grants actAs on it", async () => {
    const account = (await emu.iam.createServiceAccount('job-runner-sa')).client_email;
    const caller = (await emu.iam.createServiceAccount('launcher-sa')).client_email;
    const path = `/v1/projects/-/serviceAccounts/${account}`;
    const read = (await call('POST', `${path}:getIamPolicy`, {})).body;
    expect(read.bindings).toEqual([]);
    await call('POST', `${path}:setIamPolicy`, {
      policy: { ...read, bindings: [{ role: SA_USER, members: [`serviceAccount:${caller}`] }] },
    });
    const answer = await call(
      'POST',
      `${path}:testIamPermissions`,
      { permissions: ['iam.serviceAccounts.actAs'] },
      emu.iam.issueToken(caller),
    );
    expect(answer.body.permissions).toEqual(['iam.serviceAccounts.actAs']);
  });
});

describe('Artifact Registry and Cloud Storage', () => {
  test("a repository's IAM policy over gRPC, with etags; a wrong location is refused", async () => {
    const client = new ArtifactRegistryClient(emu.artifactRegistryClientOptions());
    const parent = `projects/${emu.projectId}/locations/us-central1`;
    await expect(
      client.createRepository({
        parent: `projects/${emu.projectId}/locations/us-central9`,
        repositoryId: 'x',
        repository: { format: 'DOCKER' },
      }),
    ).rejects.toThrow(/not available/);
    const [op] = await client.createRepository({ parent, repositoryId: 'images', repository: { format: 'DOCKER' } });
    await op.promise();
    const resource = `${parent}/repositories/images`;
    const [policy] = await client.getIamPolicy({ resource });
    const agent = `serviceAccount:service-${emu.projectNumber}@gcp-sa-aiplatform-cc.iam.gserviceaccount.com`;
    const [set] = await client.setIamPolicy({
      resource,
      policy: { etag: policy.etag, bindings: [{ role: 'roles/artifactregistry.reader', members: [agent] }] },
    });
    expect(set.bindings).toEqual([
      expect.objectContaining({ role: 'roles/artifactregistry.reader', members: [agent] }),
    ]);
    await expect(client.setIamPolicy({ resource, policy: { etag: policy.etag, bindings: [] } })).rejects.toThrow(
      /concurrent policy changes/,
    );
    await client.close();
  });

  test('buckets: the location must exist; uniform bucket-level access is kept as asked', async () => {
    const storage = new Storage(emu.storageClientOptions());
    await expect(storage.createBucket('vxl-nowhere', { location: 'US-CENTRAL9' })).rejects.toThrow(/Invalid location/);
    const [bucket] = await storage.createBucket('vxl-uniform', {
      location: 'US-CENTRAL1',
      iamConfiguration: { uniformBucketLevelAccess: { enabled: true } },
    });
    expect(bucket.metadata.iamConfiguration?.uniformBucketLevelAccess?.enabled).toBe(true);
    const [plain] = await storage.createBucket('vxl-fine-grained', { location: 'EU' });
    expect(plain.metadata.iamConfiguration?.uniformBucketLevelAccess?.enabled).toBe(false);
  });
});
