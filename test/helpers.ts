// Shared helpers for tests across packages (not published).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/** NODE_OPTIONS that load the loopback-only network guard into a child Node process. */
export function guardedNodeOptions(existing = process.env.NODE_OPTIONS ?? ''): string {
  const guard = pathToFileURL(join(repoRoot, 'test', 'net-guard.mjs')).href;
  return `${existing} --import ${guard}`.trim();
}

/** Environment for a child process: guarded network, no metadata probing, no real gcloud config. */
export function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_OPTIONS: guardedNodeOptions(),
    METADATA_SERVER_DETECTION: 'none',
    NO_COLOR: '1',
    ...extra,
  };
  for (const [k, v] of Object.entries(extra)) if (v === undefined) delete env[k];
  return env;
}

/** A temp directory removed by the returned cleanup function. */
export async function tempDir(prefix = 'vxl-test-'): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

/**
 * A clock (core's `Clock`) that only moves when something sleeps on it: each sleep advances `now()` by its delay at
 * once and is recorded in `slept`.
 */
export function steppingClock(): { now(): number; sleep(ms: number): Promise<void>; slept: number[] } {
  let now = 0;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
  };
}
