import { artifactRegistryDockerLocation, imageReferenceProblem, splitImageReference } from '@vertex-launch/core';
import { ExitCode, UsageError } from '../exit-codes.js';
import type { GlobalOptions } from '../options.js';
import { green, type Io, printJson } from '../output.js';
import { emulatorStateFile, runningEmulatorState } from './emulator-state.js';

export interface EmulatorPushPlaceholderOptions extends GlobalOptions {
  image: string;
}

/**
 * `vertex-launch emulator push-placeholder URI`: pushes a placeholder image (an image config and no layers, nothing to run)
 * to the running emulator's Artifact Registry with the Docker registry protocol, so a launch's image check passes on
 * the emulator without Docker. Jobs of the clock executor never pull it; `--docker` jobs need a real image.
 */
export default async function emulatorPushPlaceholder(
  options: EmulatorPushPlaceholderOptions,
  io: Io,
  env = process.env,
): Promise<number> {
  const uri = options.image;
  const problem = imageReferenceProblem(uri);
  if (problem) throw new UsageError(`emulator push-placeholder ${uri}: not an image reference: ${problem}.`);
  const { name, tag, digest } = splitImageReference(uri);
  if (digest !== undefined) {
    throw new UsageError(
      `emulator push-placeholder ${uri}: give a tag, not a digest (the digest is the pushed content's).`,
    );
  }
  if (artifactRegistryDockerLocation(name.slice(0, name.indexOf('/'))) === undefined) {
    throw new UsageError(
      `emulator push-placeholder ${uri}: not an Artifact Registry image; use <region>-docker.pkg.dev/<project>/<repository>/<image>:<tag>.`,
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
  const { pushPlaceholderImage, PlaceholderPushError } = await import('@vertex-launch/emulator');
  let manifestDigest: string;
  try {
    manifestDigest = await pushPlaceholderImage({ registry, token }, uri);
  } catch (error) {
    if (!(error instanceof PlaceholderPushError)) throw error;
    const fix = /not found/i.test(error.message)
      ? ' Create the repository first: `vertex-launch setup`, or gcloud artifacts repositories create.'
      : '';
    throw new UsageError(
      `emulator push-placeholder ${uri}: the emulator registry refused it (HTTP ${error.status}): ${error.message}.${fix}`,
    );
  }
  const imageUri = tag === undefined ? `${uri}:latest` : uri;
  if (options.json) printJson(io, { imageUri, digest: manifestDigest, placeholder: true });
  else io.stdout(`${green(io, '✓')} pushed the placeholder image ${imageUri} (${manifestDigest}) to the emulator\n`);
  return ExitCode.OK;
}
