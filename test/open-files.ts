// What files of a directory this process holds open, read from /proc/self/fd (Linux): the tests that stop a build
// early check with it that nothing is still reading the build context once the build has settled.
import { createCipheriv } from 'node:crypto';
import { readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { sep } from 'node:path';

/** Paths under `dir` that this process has open right now (each open descriptor once). */
export function openFilesUnder(dir: string): string[] {
  return openFilesUnderPrefix(`${realpathSync(dir)}${sep}`);
}

/**
 * Open paths of this process that start with `prefix` (an absolute, resolved path), including files already
 * removed (Linux shows them with a ` (deleted)` suffix).
 */
export function openFilesUnderPrefix(prefix: string): string[] {
  const open: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // closed meanwhile (the descriptor readdir itself used, among others)
    }
    if (target.startsWith(prefix)) open.push(target);
  }
  return open;
}

/** Incompressible but deterministic bytes (AES-128-CTR of zeros under a fixed key), so gzip cannot shrink them. */
export function noise(bytes: number, key = 'vertex-launch-16'): Buffer {
  return createCipheriv('aes-128-ctr', Buffer.from(key.padEnd(16, '-').slice(0, 16)), Buffer.alloc(16)).update(
    Buffer.alloc(bytes),
  );
}
