/**
 * The state file of a running `vertex-launch emulator start`: `$XDG_STATE_HOME/vertex-launch/emulator.json` (else
 * `~/.local/state/vertex-launch/emulator.json`), owner-only, with the emulator's pid and the environment that points
 * another shell at it (its access token included). `vertex-launch emulator env` reads it; the emulator removes it
 * when it stops.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { UsageError } from '../exit-codes.js';

/** What the state file holds. */
export interface EmulatorState {
  pid: number;
  projectId: string;
  region: string;
  executor: string;
  env: Record<string, string>;
}

/** Where the state file of a running emulator is (the XDG base directory rule, as for the agent config). */
export function emulatorStateFile(env: NodeJS.ProcessEnv = process.env, home = homedir()): string {
  const xdg = env.XDG_STATE_HOME;
  const base = xdg !== undefined && isAbsolute(xdg) ? xdg : join(home, '.local', 'state');
  return join(base, 'vertex-launch', 'emulator.json');
}

/** Writes the state file (0600: it holds the emulator's access token). */
export async function writeEmulatorState(file: string, state: EmulatorState): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

/** Removes the state file when it still describes the emulator of process `pid` (a later emulator may own it). */
export async function removeEmulatorState(file: string, pid: number): Promise<void> {
  const state = await readState(file).catch(() => undefined);
  if (state?.pid === pid) await rm(file, { force: true });
}

const START_HINT =
  'Start one in another terminal with `vertex-launch emulator start` (it keeps running), then run `eval "$(vertex-launch emulator env)"` here.';

/**
 * The state of the running emulator. Throws a {@link UsageError} naming the file and the fix when no emulator is
 * running: no state file, an unreadable one, or one whose process has ended or whose endpoint does not answer.
 */
export async function runningEmulatorState(file: string): Promise<EmulatorState> {
  let state: EmulatorState;
  try {
    state = await readState(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`No emulator is running (no ${file}). ${START_HINT}`);
    throw new UsageError(`Cannot read the emulator state ${file}: ${(error as Error).message}. ${START_HINT}`);
  }
  if (!isAlive(state.pid)) {
    await rm(file, { force: true }).catch(() => {});
    throw new UsageError(
      `No emulator is running: the one recorded in ${file} (pid ${state.pid}) has stopped. ${START_HINT}`,
    );
  }
  const http = state.env.VERTEX_LAUNCH_EMULATOR_HTTP;
  if (!(await answers(http))) {
    throw new UsageError(
      `The emulator recorded in ${file} (pid ${state.pid}) does not answer at ${http}. Restart it with \`vertex-launch emulator start\`.`,
    );
  }
  return state;
}

async function readState(file: string): Promise<EmulatorState> {
  const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<EmulatorState>;
  if (typeof parsed.pid !== 'number' || typeof parsed.env !== 'object' || parsed.env === null) {
    throw new Error('not an emulator state file (no pid or env)');
  }
  return parsed as EmulatorState;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True when the emulator's metadata endpoint answers within 3 s (loopback only: the URL is the emulator's). */
async function answers(httpUrl: string | undefined): Promise<boolean> {
  if (httpUrl === undefined) return false;
  try {
    const res = await fetch(`${httpUrl}/computeMetadata/v1/project/project-id`, {
      headers: { 'Metadata-Flavor': 'Google' },
      signal: AbortSignal.timeout(3000),
    });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

/** The `export` lines of an emulator environment, quoted for sh/bash/zsh. */
export function exportLines(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([k, v]) => `export ${k}=${shellQuote(v)}\n`)
    .join('');
}

function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`;
}
