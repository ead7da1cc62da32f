// Credentials for the Cloud Build builder's tests: the real auth chain (`auto()`) reading the emulator's env.
import { auto, resolveCredentials } from '@vertex-launch/auth';
import type { AuthCredentials } from '@vertex-launch/core';
import { tempDir } from '../../../test/helpers.js';

/** Resolves credentials from the emulator's environment (GOOGLE_OAUTH_ACCESS_TOKEN), with an empty home dir. */
export async function emulatorCredentials(env: Record<string, string>): Promise<AuthCredentials> {
  const home = await tempDir('vxl-cloudbuild-home-');
  try {
    return await resolveCredentials(auto(), { env, homedir: home.path, warn: () => undefined });
  } finally {
    await home.cleanup();
  }
}
