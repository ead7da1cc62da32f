// Runs the built CLI as a separate process, the way users run it.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { childEnv, repoRoot } from '../../../test/helpers.js';

export const cliBin = join(repoRoot, 'packages', 'cli', 'dist', 'bin.js');

/**
 * Unsets what the test's own environment could bring into a command's runtime: project and region variables, a raw
 * token, the queue store and the emulator (so each test says exactly where these come from).
 */
export const CLEAN_ENV: Readonly<Record<string, undefined>> = {
  GOOGLE_CLOUD_PROJECT: undefined,
  GCLOUD_PROJECT: undefined,
  CLOUDSDK_CORE_PROJECT: undefined,
  GOOGLE_CLOUD_REGION: undefined,
  CLOUDSDK_AI_REGION: undefined,
  CLOUDSDK_COMPUTE_REGION: undefined,
  GOOGLE_OAUTH_ACCESS_TOKEN: undefined,
  CLOUDSDK_AUTH_ACCESS_TOKEN: undefined,
  VERTEX_LAUNCH_QUEUE_DB: undefined,
  VERTEX_LAUNCH_EMULATOR_HTTP: undefined,
  VERTEX_LAUNCH_EMULATOR_GRPC: undefined,
  VERTEX_LAUNCH_EMULATOR_CA: undefined,
  VERTEX_LAUNCH_EMULATOR_REGISTRY: undefined,
};

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `vertex-launch ...args` with the network guard loaded; resolves when it exits. */
export function runCli(
  args: readonly string[],
  options: { env?: Record<string, string | undefined>; cwd?: string; input?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  if (!existsSync(cliBin)) throw new Error(`${cliBin} is missing: run \`pnpm build\` first (\`pnpm test\` does).`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliBin, ...args], {
      cwd: options.cwd ?? repoRoot,
      env: childEnv(options.env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}
