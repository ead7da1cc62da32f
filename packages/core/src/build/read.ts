/**
 * Low-overhead file reading for hashing and packing: plain callback `fs` calls (FileHandle promises cost several times
 * more per file), a bounded number of files in flight, reusable buffers, and a check that a file did not change while
 * it was read.
 */
import { createHash } from 'node:crypto';
import { close, closeSync, fstat, fstatSync, open, openSync, read, readSync } from 'node:fs';

/** Chunk size of reads. */
export const CHUNK = 1024 * 1024;

/** Thrown (internally) when a file's size or timestamps changed between the scan and the read. */
export class FileChangedError extends Error {
  override name = 'FileChangedError';
  constructor(readonly path: string) {
    super(`${path} changed while it was read`);
  }
}

function openP(path: string): Promise<number> {
  return new Promise((resolve, reject) => open(path, 'r', (e, fd) => (e ? reject(e) : resolve(fd))));
}
function readP(fd: number, buf: Buffer, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) =>
    read(fd, buf, offset, length, position, (e, n) => (e ? reject(e) : resolve(n))),
  );
}
function closeP(fd: number): Promise<void> {
  return new Promise((resolve) => close(fd, () => resolve()));
}
function fstatP(fd: number): Promise<{ size: number; mtimeMs: number }> {
  return new Promise((resolve, reject) => fstat(fd, (e, st) => (e ? reject(e) : resolve(st))));
}

/** A file to read: where it is and what the scan saw (its `lstat` size and mtime). */
export interface FileJob {
  /** Path relative to the context root (for errors). */
  path: string;
  abs: string;
  size: number;
  mtimeMs: number;
}

async function checkUnchanged(fd: number, job: FileJob, bytesRead: number): Promise<void> {
  const st = await fstatP(fd);
  if (bytesRead !== job.size || st.size !== job.size || st.mtimeMs !== job.mtimeMs) {
    throw new FileChangedError(job.path);
  }
}

/**
 * sha256 of a file's content, and its first `headBytes` bytes (a copy) when `headBytes > 0`. Rejects with
 * {@link FileChangedError} when the file is not the one the scan saw.
 */
export async function hashFile(
  job: FileJob,
  buf: Buffer,
  headBytes: number,
): Promise<{ sha256: string; head: Buffer | undefined }> {
  const fd = await openP(job.abs);
  try {
    const hash = createHash('sha256');
    let head: Buffer | undefined;
    let position = 0;
    // Growth, shrinking and rewrites are caught by the fstat check after the last read.
    for (;;) {
      const n = await readP(fd, buf, 0, buf.length, position);
      if (n === 0) break;
      if (position === 0 && headBytes > 0) head = Buffer.from(buf.subarray(0, Math.min(n, headBytes)));
      hash.update(buf.subarray(0, n));
      position += n;
      if (position >= job.size) break;
    }
    await checkUnchanged(fd, job, position);
    return { sha256: hash.digest('hex'), head };
  } finally {
    await closeP(fd);
  }
}

/**
 * {@link hashFile} with synchronous calls, for small files: one file costs four system calls on this thread instead
 * of four round trips through the thread pool, which dominate when thousands of small files are hashed.
 */
export function hashFileSync(
  job: FileJob,
  buf: Buffer,
  headBytes: number,
): { sha256: string; head: Buffer | undefined } {
  const fd = openSync(job.abs, 'r');
  try {
    const hash = createHash('sha256');
    let head: Buffer | undefined;
    let position = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, position);
      if (n === 0) break;
      if (position === 0 && headBytes > 0) head = Buffer.from(buf.subarray(0, Math.min(n, headBytes)));
      hash.update(buf.subarray(0, n));
      position += n;
      if (position >= job.size) break;
    }
    const st = fstatSync(fd);
    if (position !== job.size || st.size !== job.size || st.mtimeMs !== job.mtimeMs) {
      throw new FileChangedError(job.path);
    }
    return { sha256: hash.digest('hex'), head };
  } finally {
    closeSync(fd);
  }
}

/** The first `bytes` bytes of a file. */
export async function readHead(abs: string, bytes: number): Promise<Buffer> {
  const fd = await openP(abs);
  try {
    const buf = Buffer.allocUnsafe(bytes);
    const n = await readP(fd, buf, 0, bytes, 0);
    return buf.subarray(0, n);
  } finally {
    await closeP(fd);
  }
}

/**
 * A whole (small) file, checked against the scan: a view of `into` when given (at least `job.size` bytes), else of a
 * new buffer.
 */
export async function readWhole(job: FileJob, into?: Buffer): Promise<Buffer> {
  const fd = await openP(job.abs);
  try {
    const buf = into === undefined ? Buffer.allocUnsafe(job.size) : into.subarray(0, job.size);
    let position = 0;
    while (position < buf.length) {
      const n = await readP(fd, buf, position, buf.length - position, position);
      if (n === 0) break;
      position += n;
    }
    await checkUnchanged(fd, job, position);
    return buf.subarray(0, position);
  } finally {
    await closeP(fd);
  }
}

/**
 * A (large) file in chunks of at most {@link CHUNK} bytes, checked against the scan at the end: fresh chunks, or
 * views of `reuse` (read again for every chunk, so each is valid only until the next is asked for).
 */
export async function* readChunks(job: FileJob, reuse?: Buffer): AsyncGenerator<Buffer> {
  const fd = await openP(job.abs);
  try {
    let position = 0;
    while (position < job.size) {
      const want = Math.min(reuse?.length ?? CHUNK, job.size - position);
      const buf = reuse === undefined ? Buffer.allocUnsafe(want) : reuse.subarray(0, want);
      const n = await readP(fd, buf, 0, want, position);
      if (n === 0) break;
      position += n;
      yield n === want ? buf : buf.subarray(0, n);
    }
    await checkUnchanged(fd, job, position);
  } finally {
    await closeP(fd);
  }
}

/** Run `worker` over `items` with at most `concurrency` in flight; rejects with the first error. */
export async function forEachLimited<T>(
  items: readonly T[],
  concurrency: number,
  worker: (item: T, slot: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const run = async (slot: number): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next++]!;
      try {
        await worker(item, slot);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, (_, slot) => run(slot)));
}
