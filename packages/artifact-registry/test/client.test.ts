// The Artifact Registry plugin with the real @google-cloud/artifact-registry client against the emulator.
import { artifactRegistry } from '@vertex-launch/artifact-registry';
import { type AuthCredentials, resolveServiceEndpoints } from '@vertex-launch/core';
import { type Emulator, startEmulator } from '@vertex-launch/emulator';
import Docker from 'dockerode';
import { OAuth2Client } from 'google-auth-library';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const docker = new Docker({ socketPath: '/var/run/docker.sock' });
let emu: Emulator;
let baseUri: string;
let baseDigest: string;
const localTags: string[] = [];

/** Credentials of `email` as @vertex-launch/auth would hand them over (a token-based client). */
function credentialsOf(email: string): AuthCredentials & { tokensIssued: () => number } {
  let issued = 0;
  const authClient = new OAuth2Client();
  const fresh = () => {
    issued++;
    return emu.iam.issueToken(email);
  };
  authClient.setCredentials({ access_token: fresh(), expiry_date: Date.now() + 3_600_000 });
  return {
    strategy: 'test',
    authClient,
    projectId: emu.projectId,
    region: emu.region,
    principal: email,
    source: 'test credentials',
    accessToken: async () => ({ token: fresh(), expiresAt: new Date(Date.now() + 3_600_000) }),
    tokensIssued: () => issued,
  };
}

beforeAll(async () => {
  emu = await startEmulator();
  const { buildBusyboxBaseImage } = await import('@vertex-launch/emulator');
  baseUri = `us-central1-docker.pkg.dev/${emu.projectId}/train/busybox:1`;
  const base = await buildBusyboxBaseImage({ emulator: emu, imageUri: baseUri });
  localTags.push(base.imageUri, base.localRef);
  baseDigest = base.digest;
});

afterAll(async () => {
  for (const tag of localTags)
    await docker
      .getImage(tag)
      .remove({ force: true })
      .catch(() => undefined);
  await emu?.stop();
});

describe('options', () => {
  test('credentials are required and named in the error', () => {
    expect(() => artifactRegistry({})).toThrow(
      '[vertex-launch] [registry:artifact-registry] Missing required option `credentials` (or `authClient`).',
    );
    expect(() => artifactRegistry({ authClient: {} as never })).toThrow('must be a google-auth-library client');
  });

  test('the plugin object has a name and creates no client until used', async () => {
    const plugin = artifactRegistry({ credentials: credentialsOf(emu.iam.adminEmail), env: emu.env });
    expect(plugin.name).toBe('artifact-registry');
    await plugin.close();
  });
});

describe('against the emulator', () => {
  test('tagExists: one GetTag call; a missing tag or image is false', async () => {
    const registry = artifactRegistry({ credentials: credentialsOf(emu.iam.adminEmail), env: emu.env });
    try {
      emu.resetCounters();
      expect(await registry.tagExists(baseUri)).toBe(true);
      expect(emu.counters()['artifactregistry.tags.get']).toBe(1);
      expect(await registry.tagExists(`us-central1-docker.pkg.dev/${emu.projectId}/train/busybox:2`)).toBe(false);
      expect(await registry.tagExists(`us-central1-docker.pkg.dev/${emu.projectId}/train/team/app:1`)).toBe(false);
      // No tag means latest, which was never pushed.
      expect(await registry.tagExists(`us-central1-docker.pkg.dev/${emu.projectId}/train/busybox`)).toBe(false);
    } finally {
      await registry.close();
    }
  });

  test('getDigest returns the pushed manifest digest, or undefined', async () => {
    const authClient = new OAuth2Client();
    authClient.setCredentials({ access_token: emu.adminToken, expiry_date: Date.now() + 3_600_000 });
    const registry = artifactRegistry({ authClient, env: emu.env });
    try {
      expect(await registry.getDigest(baseUri)).toBe(baseDigest);
      expect(await registry.getDigest(`us-central1-docker.pkg.dev/${emu.projectId}/train/busybox@${baseDigest}`)).toBe(
        baseDigest,
      );
      expect(
        await registry.getDigest(`us-central1-docker.pkg.dev/${emu.projectId}/train/busybox:nope`),
      ).toBeUndefined();
      expect(
        await registry.getDigest(`us-central1-docker.pkg.dev/${emu.projectId}/train/busybox@sha256:${'1'.repeat(64)}`),
      ).toBeUndefined();
    } finally {
      await registry.close();
    }
  });

  test('ensureRepository: exists -> ok; missing -> a clear error with the gcloud fix; create: true creates it', async () => {
    const registry = artifactRegistry({ credentials: credentialsOf(emu.iam.adminEmail), env: emu.env });
    try {
      expect(await registry.ensureRepository(baseUri)).toEqual({
        name: `projects/${emu.projectId}/locations/us-central1/repositories/train`,
        project: emu.projectId,
        location: 'us-central1',
        repository: 'train',
        created: false,
      });
      const missing = `europe-west4-docker.pkg.dev/${emu.projectId}/fresh/app:v1`;
      await expect(registry.ensureRepository(missing)).rejects.toThrow(
        `Artifact Registry repository "fresh" does not exist in europe-west4 (project ${emu.projectId}). Create it: gcloud artifacts repositories create fresh --repository-format=docker --location=europe-west4 --project=${emu.projectId}`,
      );
      const created = await registry.ensureRepository(missing, { create: true });
      expect(created).toMatchObject({ repository: 'fresh', location: 'europe-west4', created: true });
      expect(
        (await registry.ensureRepository({ project: emu.projectId, location: 'europe-west4', repository: 'fresh' }))
          .created,
      ).toBe(false);
    } finally {
      await registry.close();
    }
  });

  test('ensureRepository refuses a repository that is not DOCKER', async () => {
    const { ArtifactRegistryClient } = await import('@google-cloud/artifact-registry');
    const admin = new ArtifactRegistryClient(emu.artifactRegistryClientOptions());
    const [op] = await admin.createRepository({
      parent: `projects/${emu.projectId}/locations/us-central1`,
      repositoryId: 'pypi',
      repository: { format: 'PYTHON' },
    });
    await op.promise();
    await admin.close();
    const registry = artifactRegistry({ credentials: credentialsOf(emu.iam.adminEmail), env: emu.env });
    try {
      await expect(registry.ensureRepository(`us-central1-docker.pkg.dev/${emu.projectId}/pypi/app:1`)).rejects.toThrow(
        'Repository "pypi" in us-central1 (project vxl-emulator) has format PYTHON, but images need a DOCKER repository',
      );
    } finally {
      await registry.close();
    }
  });

  test('a caller without the permission gets a PermissionError naming it', async () => {
    const sa = await emu.iam.createServiceAccount('no-ar-rights');
    const registry = artifactRegistry({ credentials: credentialsOf(sa.client_email), env: emu.env });
    try {
      const error = await registry.tagExists(baseUri).catch((e: unknown) => e);
      expect(error).toMatchObject({
        name: 'PermissionError',
        code: 'PERMISSION',
        permission: 'artifactregistry.tags.get',
      });
      expect((error as Error).message).toContain('Grant artifactregistry.tags.get');
    } finally {
      await registry.close();
    }
  });

  test('pushCredentials: oauth2accesstoken, a fresh token, the emulator registry; Docker pushes with them', async () => {
    const credentials = credentialsOf(emu.iam.adminEmail);
    const registry = artifactRegistry({ credentials, env: emu.env });
    const before = credentials.tokensIssued();
    const auth = await registry.pushCredentials(baseUri);
    expect(credentials.tokensIssued()).toBe(before + 1);
    expect(auth).toMatchObject({ username: 'oauth2accesstoken', serveraddress: emu.registry.address });
    expect(auth.password).toMatch(/^ya29\./);

    const target = emu.toLocalImageRef(`us-central1-docker.pkg.dev/${emu.projectId}/train/busybox:pushed`);
    await docker
      .getImage(emu.toLocalImageRef(baseUri))
      .tag({ repo: target.slice(0, target.lastIndexOf(':')), tag: 'pushed' });
    localTags.push(target);
    const stream = await docker
      .getImage(target.slice(0, target.lastIndexOf(':')))
      .push({ tag: 'pushed', authconfig: auth });
    const events: { error?: string; aux?: { Digest?: string } }[] = await new Promise((resolve, reject) =>
      docker.modem.followProgress(stream, (err: Error | null, out: unknown[]) =>
        err ? reject(err) : resolve(out as never),
      ),
    );
    expect(events.filter((e) => e.error)).toEqual([]);
    expect(events.find((e) => e.aux?.Digest)?.aux?.Digest).toBe(baseDigest);
    expect(await registry.tagExists(`us-central1-docker.pkg.dev/${emu.projectId}/train/busybox:pushed`)).toBe(true);
    await registry.close();
  });

  test('without the emulator, push credentials name the Artifact Registry host', async () => {
    const registry = artifactRegistry({
      credentials: credentialsOf(emu.iam.adminEmail),
      endpoints: resolveServiceEndpoints({}),
    });
    const auth = await registry.pushCredentials('europe-docker.pkg.dev/some-project/repo/app:1');
    expect(auth.serveraddress).toBe('europe-docker.pkg.dev');
    await registry.close();
  });
});
