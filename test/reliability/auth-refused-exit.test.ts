// Issue #25, part 4: refused credentials exit 3 with the auth message, never 4 "UNKNOWN: Getting metadata...".
// The real clients talk to the emulator; the emulator's token endpoint refuses the refresh token (invalid_grant),
// which google-auth-library raises inside gRPC's metadata plugin; a token the emulator does not know is refused by
// the API itself (UNAUTHENTICATED).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Emulator, startEmulator } from '@vertex-launch/emulator';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCli } from '../../packages/cli/test/run-cli.js';
import { tempDir } from '../helpers.js';

let emu: Emulator;
let dir: { path: string; cleanup: () => Promise<void> };
let queueConfig: string;
const counts = { runs: 0, exit3: 0 };

beforeAll(async () => {
  emu = await startEmulator({});
  dir = await tempDir('vxl-auth-refused-');
  queueConfig = join(dir.path, 'q.yaml');
  await writeFile(
    queueConfig,
    'spec:\n  worker_pool_specs:\n    - machine_spec: {machine_type: n1-standard-4}\n      container_spec: {image_uri: "${image_uri}"}\n  staging_bucket: gs://vxl-test-bucket\n',
  );
});
afterAll(async () => {
  console.log(
    `[reliability] refused credentials: ${counts.runs} CLI runs, ${counts.exit3} exit 3 with the auth message`,
  );
  await emu?.stop();
  await dir?.cleanup();
});

/** Emulator endpoints, no usable credentials: `kind` says which refusal. */
async function refusedEnv(kind: 'invalid_grant' | 'unknown token'): Promise<Record<string, string | undefined>> {
  const base = {
    ...emu.env,
    NO_COLOR: '1',
    GOOGLE_OAUTH_ACCESS_TOKEN: undefined,
    CLOUDSDK_AUTH_ACCESS_TOKEN: undefined,
  };
  if (kind === 'unknown token') return { ...base, GOOGLE_OAUTH_ACCESS_TOKEN: 'ya29.not-a-token-the-emulator-issued' };
  const adc = join(dir.path, 'adc.json');
  await writeFile(
    adc,
    JSON.stringify({
      type: 'authorized_user',
      client_id: 'unknown-client.apps.googleusercontent.com',
      client_secret: 'not-a-secret',
      refresh_token: 'refresh-token-the-emulator-never-issued',
    }),
    { mode: 0o600 },
  );
  return { ...base, GOOGLE_APPLICATION_CREDENTIALS: adc, CLOUDSDK_CONFIG: join(dir.path, 'no-gcloud') };
}

describe('refused credentials exit 3 (#25.4)', () => {
  for (const kind of ['invalid_grant', 'unknown token'] as const) {
    for (const args of [
      ['jobs', 'list'],
      ['launch', '--queue-config', 'Q', '--image', 'us-docker.pkg.dev/my-proj/r/i:1'],
    ]) {
      test(`${args.slice(0, 2).join(' ')} with ${kind}`, async () => {
        const env = await refusedEnv(kind);
        const result = await runCli(
          args.map((a) => (a === 'Q' ? queueConfig : a)),
          { env, timeoutMs: 60_000 },
        );
        counts.runs++;
        expect(result.stderr).not.toMatch(/UNKNOWN: Getting metadata/);
        expect(result.stderr).toMatch(/credentials were refused/);
        expect(result.stderr).not.toMatch(/\n\s+at /);
        expect(result.stderr).not.toContain('refresh-token-the-emulator-never-issued');
        expect(result.code).toBe(3);
        counts.exit3++;
      });
    }
  }
});
