/** Owner-only, atomic JSON persistence for the emulator's data dir. */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * Creates `dir` (and parents) with owner-only permissions. An existing directory keeps its permissions
 * (so `--data-dir ~` never locks down a home directory); the files written into it are 0600 regardless.
 */
export async function ensurePrivateDir(dir: string): Promise<void> {
  const created = await mkdir(dir, { recursive: true, mode: 0o700 });
  // mkdir's mode is filtered by the umask; make the directories we created exactly 0700.
  if (created !== undefined) await chmod(dir, 0o700);
}

/** Writes `value` as JSON to `file` atomically (temp file + rename), mode 0600. */
export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await ensurePrivateDir(dirname(file));
  const tmp = join(dirname(file), `.${randomBytes(6).toString('hex')}.tmp`);
  await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, file);
}

/** Reads a JSON file written by {@link writeJsonAtomic}; undefined when it does not exist. */
export async function readJson<T>(file: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new Error(`The emulator state file ${file} is not valid JSON; delete it or use another --data-dir.`, {
      cause: error,
    });
  }
}

/**
 * Coalesces frequent "state changed" notifications into one save at most every `delayMs`,
 * and lets `flush()` force the pending save.
 */
export function debouncedSaver(save: () => Promise<void>, delayMs = 100): { touch(): void; flush(): Promise<void> } {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const run = () => {
    timer = undefined;
    running = running.then(save, save);
    return running;
  };
  return {
    touch() {
      if (timer) return;
      timer = setTimeout(run, delayMs);
      timer.unref();
    },
    async flush() {
      if (timer) clearTimeout(timer);
      await run();
    },
  };
}
