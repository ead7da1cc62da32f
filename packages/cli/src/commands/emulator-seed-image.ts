import { createHash } from 'node:crypto';
import { artifactRegistryDockerLocation, imageReferenceProblem, splitImageReference } from '@vertex-launch/core';
import { ExitCode, UsageError } from '../exit-codes.js';
import type { GlobalOptions } from '../options.js';
import { green, type Io, printJson } from '../output.js';
import { emulatorStateFile, runningEmulatorState } from './emulator-state.js';

export interface EmulatorSeedImageOptions extends GlobalOptions {
  image: string;
}

const MANIFEST_TYPE = 'application/vnd.docker.distribution.manifest.v2+json';
const CONFIG_TYPE = 'application/vnd.docker.container.image.v1+json';

/**
 * `vertex-launch emulator seed-image URI`: pushes a placeholder image (an image config and no layers, nothing to run)
 * to the running emulator's Artifact Registry with the Docker registry protocol, so a launch's image check passes on
 * the emulator without Docker. Jobs of the clock executor never pull it; `--docker` jobs need a real image.
 */
export default async function emulatorSeedImage(
  options: EmulatorSeedImageOptions,
  io: Io,
  env = process.env,
): Promise<number> {
  const uri = options.image;
  const problem = imageReferenceProblem(uri);
  if (problem) throw new UsageError(`emulator seed-image ${uri}: not an image reference: ${problem}.`);
  const { name, tag, digest } = splitImageReference(uri);
  if (digest !== undefined) {
    throw new UsageError(`emulator seed-image ${uri}: give a tag, not a digest (the digest is the pushed content's).`);
  }
  if (artifactRegistryDockerLocation(name.slice(0, name.indexOf('/'))) === undefined) {
    throw new UsageError(
      `emulator seed-image ${uri}: not an Artifact Registry image; use <region>-docker.pkg.dev/<project>/<repository>/<image>:<tag>.`,
    );
  }
  // The emulator this shell points at; else the running one's state file.
  let registry = env.VERTEX_LAUNCH_EMULATOR_REGISTRY?.trim();
  let token = env.GOOGLE_OAUTH_ACCESS_TOKEN?.trim();
  if (!registry || !token) {
    const state = await runningEmulatorState(emulatorStateFile(env));
    registry = state.env.VERTEX_LAUNCH_EMULATOR_REGISTRY as string;
    token = state.env.GOOGLE_OAUTH_ACCESS_TOKEN as string;
  }
  const base = `http://${registry}/v2/${name}`;
  const headers = { authorization: `Bearer ${token}` };
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Labels: { 'dev.vertex-launch.placeholder': 'true' } },
      rootfs: { type: 'layers', diff_ids: [] },
    }),
  );
  const configDigest = `sha256:${createHash('sha256').update(config).digest('hex')}`;
  const upload = await registryCall(uri, `${base}/blobs/uploads/`, { method: 'POST', headers });
  const location = new URL(upload.headers.get('location') ?? '', `http://${registry}`);
  location.searchParams.set('digest', configDigest);
  await registryCall(uri, location.toString(), {
    method: 'PUT',
    headers: { ...headers, 'content-type': 'application/octet-stream' },
    body: config,
  });
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: MANIFEST_TYPE,
    config: { mediaType: CONFIG_TYPE, size: config.length, digest: configDigest },
    layers: [],
  });
  const pushed = await registryCall(uri, `${base}/manifests/${tag ?? 'latest'}`, {
    method: 'PUT',
    headers: { ...headers, 'content-type': MANIFEST_TYPE },
    body: manifest,
  });
  const imageUri = tag === undefined ? `${uri}:latest` : uri;
  const manifestDigest = pushed.headers.get('docker-content-digest') ?? '';
  if (options.json) printJson(io, { imageUri, digest: manifestDigest, placeholder: true });
  else io.stdout(`${green(io, '✓')} pushed the placeholder image ${imageUri} (${manifestDigest}) to the emulator\n`);
  return ExitCode.OK;
}

/** One call of the registry protocol; a refusal names the image and the registry's own message. */
async function registryCall(uri: string, url: string, init: RequestInit): Promise<Response> {
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
  const fix =
    res.status === 404 || /not found/i.test(message)
      ? ' Create the repository first (`vertex-launch setup`, or gcloud artifacts repositories create).'
      : '';
  throw new UsageError(
    `emulator seed-image ${uri}: the emulator registry refused it (HTTP ${res.status}): ${message.replace(/\.+$/, '')}.${fix}`,
  );
}
