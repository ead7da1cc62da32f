// Artifact Registry API over TLS gRPC, driven with the real @google-cloud/artifact-registry client, reading
// what Docker pushed into the emulator's registry.
import { ArtifactRegistryClient } from '@google-cloud/artifact-registry';
import { type Emulator, startEmulator } from '@vertex-launch/emulator';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { pushImage } from '../src/docker/client.js';
import { busyboxBase, docker, removeTestImages, tagAs } from './docker-support.js';
import { grpcError } from './support.js';

let emu: Emulator;
let client: ArtifactRegistryClient;
let repoName: string;
let baseDigest: string;
let appDigest: string;

beforeAll(async () => {
  emu = await startEmulator({ region: 'europe-west4' });
  client = new ArtifactRegistryClient(emu.artifactRegistryClientOptions());
  repoName = `projects/${emu.projectId}/locations/europe-west4/repositories/images`;
  const base = await busyboxBase(emu, `europe-west4-docker.pkg.dev/${emu.projectId}/images/busybox:1.36`);
  baseDigest = base.digest;
  // The same image under a second tag, and a different image under a nested path.
  const also = emu.toLocalImageRef(`europe-west4-docker.pkg.dev/${emu.projectId}/images/busybox:stable`);
  await tagAs(base.localRef, also);
  await pushImage(docker, also, emu.dockerAuth());
  const app = emu.toLocalImageRef(`europe-west4-docker.pkg.dev/${emu.projectId}/images/team/app:v1`);
  await tagAs(base.localRef, app);
  appDigest = (await pushImage(docker, app, emu.dockerAuth())).digest;
});

afterAll(async () => {
  await client?.close();
  await removeTestImages();
  await emu?.stop();
});

describe('repositories', () => {
  test('create (long-running), get and list, by project id or number', async () => {
    const [operation] = await client.createRepository({
      parent: `projects/${emu.projectId}/locations/us-central1`,
      repositoryId: 'made-by-api',
      repository: { format: 'DOCKER', description: 'from the test', labels: { team: 'ml' } },
    });
    const [created] = await operation.promise();
    expect(created.name).toBe(`projects/${emu.projectId}/locations/us-central1/repositories/made-by-api`);
    // Decoded through the long-running operation, enums arrive as numbers (DOCKER = 1), as with Google.
    expect(created.format).toBe(1);
    expect(created.description).toBe('from the test');

    const [byNumber] = await client.getRepository({
      name: `projects/${emu.projectNumber}/locations/us-central1/repositories/made-by-api`,
    });
    expect(byNumber).toMatchObject({
      name: created.name,
      format: 'DOCKER',
      labels: { team: 'ml' },
      mode: 'STANDARD_REPOSITORY',
    });
    expect(Number(byNumber.createTime?.seconds)).toBeGreaterThan(1_600_000_000);

    const [inUs] = await client.listRepositories({ parent: `projects/${emu.projectId}/locations/us-central1` });
    expect(inUs.map((r) => r.name)).toEqual([created.name]);
    const [inEurope] = await client.listRepositories({ parent: `projects/${emu.projectId}/locations/europe-west4` });
    expect(inEurope.map((r) => r.name)).toEqual([repoName]);
  });

  test('a duplicate is ALREADY_EXISTS, a missing one NOT_FOUND, a missing format INVALID_ARGUMENT', async () => {
    const parent = `projects/${emu.projectId}/locations/europe-west4`;
    const dup = await grpcError(
      client.createRepository({ parent, repositoryId: 'images', repository: { format: 'DOCKER' } }),
      6,
    );
    expect(dup).toContain(repoName);
    const missing = await grpcError(client.getRepository({ name: `${parent}/repositories/nope` }), 5);
    expect(missing).toContain(
      'gcloud artifacts repositories create nope --repository-format=docker --location=europe-west4',
    );
    const noFormat = await grpcError(client.createRepository({ parent, repositoryId: 'no-format', repository: {} }), 3);
    expect(noFormat).toContain('format must be set');
  });

  test('permissions are checked on the repository', async () => {
    const sa = await emu.iam.createServiceAccount('ar-reader', { permissions: ['artifactregistry.tags.get'] });
    const limited = new ArtifactRegistryClient(emu.artifactRegistryClientOptions(emu.iam.issueToken(sa.client_email)));
    try {
      const message = await grpcError(limited.getRepository({ name: repoName }), 7);
      expect(message).toContain("Permission 'artifactregistry.repositories.get' denied");
      const [tag] = await limited.getTag({ name: `${repoName}/packages/busybox/tags/1.36` });
      expect(tag.version).toBe(`${repoName}/packages/busybox/versions/${baseDigest}`);
    } finally {
      await limited.close();
    }
  });
});

describe('images, packages and tags come from the registry content', () => {
  test('GetTag finds a pushed tag and its version digest; a missing tag is NOT_FOUND', async () => {
    const [tag] = await client.getTag({ name: `${repoName}/packages/busybox/tags/stable` });
    expect(tag).toMatchObject({
      name: `${repoName}/packages/busybox/tags/stable`,
      version: `${repoName}/packages/busybox/versions/${baseDigest}`,
    });
    const [nested] = await client.getTag({ name: `${repoName}/packages/team%2Fapp/tags/v1` });
    expect(nested.version).toBe(`${repoName}/packages/team%2Fapp/versions/${appDigest}`);
    const message = await grpcError(client.getTag({ name: `${repoName}/packages/busybox/tags/nope` }), 5);
    expect(message).toContain('tags/nope');
  });

  test('ListTags lists the tags of a package, and filters by version', async () => {
    const [tags] = await client.listTags({ parent: `${repoName}/packages/busybox` });
    expect(tags.map((t) => t.name?.split('/').pop())).toEqual(['1.36', 'stable']);
    const [byVersion] = await client.listTags({
      parent: `${repoName}/packages/busybox`,
      filter: `version="${repoName}/packages/busybox/versions/${baseDigest}"`,
    });
    expect(byVersion).toHaveLength(2);
  });

  test('ListDockerImages and GetDockerImage report URIs, tags, sizes and media types', async () => {
    const [images] = await client.listDockerImages({ parent: repoName });
    const byUri = Object.fromEntries(images.map((i) => [i.uri, i]));
    const busyboxUri = `europe-west4-docker.pkg.dev/${emu.projectId}/images/busybox@${baseDigest}`;
    expect(Object.keys(byUri).sort()).toEqual(
      [busyboxUri, `europe-west4-docker.pkg.dev/${emu.projectId}/images/team/app@${appDigest}`].sort(),
    );
    const busybox = byUri[busyboxUri];
    expect(busybox?.tags).toEqual(['1.36', 'stable']);
    expect(busybox?.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(Number(busybox?.imageSizeBytes)).toBeGreaterThan(500_000);
    expect(busybox?.name).toBe(`${repoName}/dockerImages/busybox@${baseDigest}`);
    expect(Number(busybox?.uploadTime?.seconds)).toBeGreaterThan(1_600_000_000);

    const [one] = await client.getDockerImage({ name: `${repoName}/dockerImages/team%2Fapp@${appDigest}` });
    expect(one).toMatchObject({
      uri: `europe-west4-docker.pkg.dev/${emu.projectId}/images/team/app@${appDigest}`,
      tags: ['v1'],
    });
    await grpcError(client.getDockerImage({ name: `${repoName}/dockerImages/busybox@sha256:${'0'.repeat(64)}` }), 5);
  });

  test('ListPackages lists the image paths', async () => {
    const [packages] = await client.listPackages({ parent: repoName });
    expect(packages.map((p) => [p.name, p.displayName])).toEqual([
      [`${repoName}/packages/busybox`, 'busybox'],
      [`${repoName}/packages/team%2Fapp`, 'team/app'],
    ]);
  });
});
