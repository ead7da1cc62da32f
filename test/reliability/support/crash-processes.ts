// Process helpers of the crash tests: finding the emulator's registry process, watching its uploads, waiting for
// conditions, and the CLI run as a process.
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Waits until `condition` holds, polling every `everyMs`; throws naming `what` after `timeoutMs`. */
export async function until(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 30_000,
  everyMs = 20,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`${what}: not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

async function procStat(pid: number): Promise<{ ppid: number } | undefined> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state ppid ...; comm may hold spaces and parentheses, so split after the last `)`.
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(rest[1]) };
  } catch {
    return undefined;
  }
}

async function cmdline(pid: number): Promise<string[]> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/** Pids of the direct children of `parent`. */
export async function childPids(parent: number): Promise<number[]> {
  const out: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if ((await procStat(pid))?.ppid === parent) out.push(pid);
  }
  return out;
}

/** The emulator's registry process. */
export interface RegistryProcess {
  /** The `docker-registry serve` process. */
  pid: number;
  /** The shell watchdog the emulator spawned around it. */
  watchdogPid: number;
  /** The registry's root (config.yml and data/). */
  root: string;
}

/**
 * The `docker-registry serve <config>` started by an emulator running in process `emulatorPid` (this process for an
 * in-process emulator): the emulator spawns `sh -c <watchdog> vxl-registry <binary> <config>`, which runs the
 * registry as its child.
 */
export async function findRegistryProcess(emulatorPid = process.pid): Promise<RegistryProcess | undefined> {
  for (const watchdogPid of await childPids(emulatorPid)) {
    const args = await cmdline(watchdogPid);
    if (!args.includes('vxl-registry')) continue;
    for (const pid of await childPids(watchdogPid)) {
      const registryArgs = await cmdline(pid);
      if (registryArgs[1] !== 'serve' || registryArgs[2] === undefined) continue;
      return { pid, watchdogPid, root: dirname(registryArgs[2]) };
    }
  }
  return undefined;
}

/** True while `pid` exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Bytes the registry holds in unfinished blob uploads (`.../_uploads/<id>/data`) under its data directory. */
export async function uploadingBytes(registryRoot: string): Promise<number> {
  let total = 0;
  const walk = async (dir: string, depth: number): Promise<void> => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name === '_layers' || entry.name === '_manifests' || entry.name === 'blobs') continue;
        if (depth < 12) await walk(path, depth + 1);
      } else if (entry.name === 'data' && dir.includes('/_uploads/')) {
        total += await stat(path).then(
          (s) => s.size,
          () => 0,
        );
      }
    }
  };
  await walk(join(registryRoot, 'data', 'docker', 'registry', 'v2', 'repositories'), 0);
  return total;
}
