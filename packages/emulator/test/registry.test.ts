// The emulator's Docker registry: docker-registry behind the auth proxy, driven by the real Docker daemon.
import { ArtifactRegistryClient } from '@google-cloud/artifact-registry';
import { type Emulator, startEmulator } from '@vertex-launch/emulator';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { tempDir } from '../../../test/helpers.js';
import { pushImage } from '../src/docker/client.js';
import { basic, busyboxBase, docker, MANIFEST_ACCEPT, removeTestImages, tagAs } from './docker-support.js';

let emu: Emulator;
let baseUri: string;
let baseDigest: string;

beforeAll(async () => {
  emu = await startEmulator();
  baseUri = `us-central1-docker.pkg.dev/${emu.projectId}/base/busybox:1`;
  const base = await busyboxBase(emu, baseUri);
  baseDigest = base.digest;
});

afterAll(async () => {
  await removeTestImages();
  await emu?.stop();
});

function registryUrl(path: string): string {
  return `http://${emu.registry.address}${path}`;
}

async function pushError(ref: string, password: string): Promise<string> {
  return import('../src/docker/client.js').then(({ pushImage }) =>
    pushImage(docker, ref, { username: 'oauth2accesstoken', password, serveraddress: emu.registry.address }).then(
      () => 'pushed',
      (e: Error) => e.message,
    ),
  );
}

describe('pushing and reading with the admin token', () => {
  test('the base image was pushed under its Artifact Registry path and the registry serves its manifest', async () => {
    expect(emu.registry.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(emu.env.VERTEX_LAUNCH_EMULATOR_REGISTRY).toBe(emu.registry.address);
    expect(emu.toLocalImageRef(baseUri)).toBe(`${emu.registry.address}/${baseUri}`);
    expect(emu.fromLocalImageRef(emu.toLocalImageRef(baseUri))).toBe(baseUri);
    expect(baseDigest).toMatch(/^sha256:[a-f0-9]{64}$/);

    const res = await fetch(registryUrl(`/v2/us-central1-docker.pkg.dev/${emu.projectId}/base/busybox/manifests/1`), {
      headers: { authorization: basic(emu.adminToken), accept: MANIFEST_ACCEPT },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-content-digest')).toBe(baseDigest);
    const manifest = (await res.json()) as { mediaType: string; layers: { size: number }[] };
    expect(manifest.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    // busybox (~2 MB) in one layer, the applet links in the second.
    expect(manifest.layers).toHaveLength(2);
    expect(manifest.layers[0]?.size).toBeGreaterThan(500_000);
  });

  test('an image FROM the base runs busybox applets', async () => {
    const container = await docker.createContainer({
      Image: emu.toLocalImageRef(baseUri),
      Cmd: ['sh', '-c', 'echo hello from $(basename $(readlink /bin/sh))'],
      HostConfig: { NetworkMode: 'host' },
      Labels: { 'vertex-launch-emulator': '1' },
    });
    await container.start();
    await container.wait();
    const logs = (await container.logs({ stdout: true, stderr: true })) as Buffer;
    await container.remove({ force: true });
    expect(logs.toString('utf8')).toContain('hello from busybox');
  });

  test('the catalog lists what the caller may read', async () => {
    const res = await fetch(registryUrl('/v2/_catalog'), { headers: { authorization: basic(emu.adminToken) } });
    expect(await res.json()).toEqual({ repositories: [`us-central1-docker.pkg.dev/${emu.projectId}/base/busybox`] });
    const nobody = await emu.iam.createServiceAccount('nobody');
    const empty = await fetch(registryUrl('/v2/_catalog'), {
      headers: { authorization: basic(emu.iam.issueToken(nobody.client_email)) },
    });
    expect(await empty.json()).toEqual({ repositories: [] });
  });
});

describe('credentials', () => {
  test('no credentials: 401 with a Basic challenge, so Docker sends its login', async () => {
    const res = await fetch(registryUrl('/v2/'));
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="/);
    expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    const body = (await res.json()) as { errors: { code: string }[] };
    expect(body.errors[0]?.code).toBe('UNAUTHORIZED');
    const ok = await fetch(registryUrl('/v2/'), { headers: { authorization: basic(emu.adminToken) } });
    expect(ok.status).toBe(200);
  });

  test('a token the emulator did not issue, or another user name, is refused', async () => {
    const forged = await fetch(registryUrl('/v2/'), { headers: { authorization: basic('ya29.forged-token') } });
    expect(forged.status).toBe(401);
    const otherUser = await fetch(registryUrl('/v2/'), { headers: { authorization: basic(emu.adminToken, 'admin') } });
    expect(otherUser.status).toBe(401);
    expect(JSON.stringify(await otherUser.json())).not.toContain(emu.adminToken);
  });

  test('docker push with a wrong password fails with unauthorized', async () => {
    const message = await pushError(emu.toLocalImageRef(baseUri), 'not-a-token');
    expect(message).toMatch(/unauthorized|authentication/i);
    expect(message).not.toContain('not-a-token');
  });

  test('pull needs downloadArtifacts, push needs uploadArtifacts', async () => {
    const reader = await emu.iam.createServiceAccount('reader', {
      permissions: ['artifactregistry.repositories.downloadArtifacts'],
    });
    const token = emu.iam.issueToken(reader.client_email);
    const manifest = await fetch(
      registryUrl(`/v2/us-central1-docker.pkg.dev/${emu.projectId}/base/busybox/manifests/1`),
      {
        method: 'HEAD',
        headers: { authorization: basic(token), accept: MANIFEST_ACCEPT },
      },
    );
    expect(manifest.status).toBe(200);
    expect(manifest.headers.get('docker-content-digest')).toBe(baseDigest);
    const message = await pushError(emu.toLocalImageRef(baseUri), token);
    expect(message).toContain(
      `Permission "artifactregistry.repositories.uploadArtifacts" denied on resource "projects/${emu.projectId}/locations/us-central1/repositories/base"`,
    );
  });
});

describe('repositories', () => {
  test('a push to a repository the Artifact Registry API does not know is refused as name unknown', async () => {
    const uri = `us-central1-docker.pkg.dev/${emu.projectId}/missing-repo/busybox:1`;
    const ref = emu.toLocalImageRef(uri);
    await tagAs(emu.toLocalImageRef(baseUri), ref);
    const message = await pushError(ref, emu.adminToken);
    expect(message).toContain(
      `Repository "projects/${emu.projectId}/locations/us-central1/repositories/missing-repo" not found`,
    );
    expect(message).toContain('gcloud artifacts repositories create missing-repo');
  });

  test('names outside Artifact Registry paths are not served', async () => {
    const res = await fetch(registryUrl('/v2/library/busybox/manifests/latest'), {
      headers: { authorization: basic(emu.adminToken) },
    });
    expect(res.status).toBe(404);
    const body = (await res.json()) as { errors: { code: string; message: string }[] };
    expect(body.errors[0]?.code).toBe('NAME_UNKNOWN');
    expect(body.errors[0]?.message).toContain('is not an Artifact Registry image path');
  });
});

test('with a data dir, repositories and pushed images survive a restart', async () => {
  const dir = await tempDir();
  try {
    const first = await startEmulator({ dataDir: dir.path });
    const uri = `us-central1-docker.pkg.dev/${first.projectId}/keep/busybox:1`;
    let digest: string;
    try {
      first.createDockerRepository('us-central1', 'keep');
      const ref = first.toLocalImageRef(uri);
      await tagAs(emu.toLocalImageRef(baseUri), ref);
      ({ digest } = await pushImage(docker, ref, first.dockerAuth()));
    } finally {
      await first.stop();
    }
    const second = await startEmulator({ dataDir: dir.path });
    const ar = new ArtifactRegistryClient(second.artifactRegistryClientOptions());
    try {
      const [tag] = await ar.getTag({
        name: `projects/${second.projectId}/locations/us-central1/repositories/keep/packages/busybox/tags/1`,
      });
      expect(tag.version?.endsWith(`/versions/${digest}`)).toBe(true);
    } finally {
      await ar.close();
      await second.stop();
    }
  } finally {
    await dir.cleanup();
  }
});

test('without the registry binary the registry answers 503 with the install hint', async () => {
  const bare = await startEmulator({ registryBinary: '/nonexistent/docker-registry' });
  try {
    bare.createDockerRepository('us-central1', 'repo');
    const res = await fetch(
      `http://${bare.registry.address}/v2/us-central1-docker.pkg.dev/${bare.projectId}/repo/img/tags/list`,
      {
        headers: { authorization: basic(bare.adminToken) },
      },
    );
    expect(res.status).toBe(503);
    const body = (await res.json()) as { errors: { message: string }[] };
    expect(body.errors[0]?.message).toContain('apt-get install docker-registry');
  } finally {
    await bare.stop();
  }
});
