/**
 * A placeholder image pushed with the Docker registry protocol alone (no Docker): an image config and no layers,
 * nothing to run. It makes an image "exist" in the emulator's Artifact Registry, so the image check of a launch
 * passes for a job that runs on the emulator's clock (which never pulls it).
 */
import { createHash } from 'node:crypto';
import { splitImageReference } from '@vertex-launch/core';

const MANIFEST_TYPE = 'application/vnd.docker.distribution.manifest.v2+json';
const CONFIG_TYPE = 'application/vnd.docker.container.image.v1+json';

/** Where to push: the emulator registry's `127.0.0.1:<port>` and an access token it issued. */
export interface PlaceholderImageTarget {
  registry: string;
  token: string;
}

/** Thrown when the registry refuses a step; `status` is its HTTP status, `message` its own words. */
export class PlaceholderPushError extends Error {
  override name = 'PlaceholderPushError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Pushes a placeholder image as `imageUri` (`<loc>-docker.pkg.dev/<project>/<repo>/<image>[:tag]`, tag default
 * `latest`) to the emulator registry; resolves with its manifest digest. The repository must exist.
 */
export async function pushPlaceholderImage(target: PlaceholderImageTarget, imageUri: string): Promise<string> {
  const { name, tag } = splitImageReference(imageUri);
  const base = `http://${target.registry}/v2/${name}`;
  const auth = { authorization: `Bearer ${target.token}` };
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Labels: { 'dev.vertex-launch.placeholder': 'true' } },
      rootfs: { type: 'layers', diff_ids: [] },
    }),
  );
  const configDigest = `sha256:${createHash('sha256').update(config).digest('hex')}`;
  const upload = await call(`${base}/blobs/uploads/`, { method: 'POST', headers: auth });
  const location = new URL(upload.headers.get('location') ?? '', `http://${target.registry}`);
  location.searchParams.set('digest', configDigest);
  await call(location.toString(), {
    method: 'PUT',
    headers: { ...auth, 'content-type': 'application/octet-stream' },
    body: config,
  });
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: MANIFEST_TYPE,
    config: { mediaType: CONFIG_TYPE, size: config.length, digest: configDigest },
    layers: [],
  });
  const pushed = await call(`${base}/manifests/${tag ?? 'latest'}`, {
    method: 'PUT',
    headers: { ...auth, 'content-type': MANIFEST_TYPE },
    body: manifest,
  });
  return pushed.headers.get('docker-content-digest') ?? '';
}

async function call(url: string, init: RequestInit): Promise<Response> {
  const res = await fetch(url, init);
  if (res.ok) {
    await res.body?.cancel();
    return res;
  }
  const text = await res.text();
  let message = text.trim();
  try {
    const body = JSON.parse(text) as { errors?: { message?: string }[] };
    message = body.errors?.map((e) => e.message).join('; ') || message;
  } catch {
    // not JSON: the text as it came
  }
  throw new PlaceholderPushError(res.status, message.replace(/\.+$/, ''));
}
