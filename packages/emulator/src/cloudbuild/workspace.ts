/** A build's /workspace on disk: unpacking the uploaded source tarball, and packing a Docker build context. */
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, readdir, readlink, symlink } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extract, type Header, pack } from 'tar-stream';

/** True when `path` is `root` or inside it. */
export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/**
 * Unpacks a (gzipped) tar into `dir`. Entries that would land outside `dir` (absolute paths, `..`) and links that
 * point outside are refused, as are device files.
 */
export async function unpackSource(data: Buffer, dir: string): Promise<number> {
  const gzipped = data[0] === 0x1f && data[1] === 0x8b;
  const source = Readable.from([data]);
  const tar = extract();
  let files = 0;
  tar.on('entry', (header: Header, stream, next) => {
    const done = (error?: unknown) => (error ? next(error as Error) : next());
    const target = resolve(dir, header.name);
    if (!isInside(dir, target)) {
      stream.resume();
      return done(new Error(`the source archive entry "${header.name}" points outside the workspace`));
    }
    const mode = (header.mode ?? 0o644) & 0o777;
    (async () => {
      if (header.type === 'directory') {
        await mkdir(target, { recursive: true, mode: mode | 0o700 });
        stream.resume();
        return;
      }
      await mkdir(dirname(target), { recursive: true });
      if (header.type === 'file' || header.type === 'contiguous-file') {
        await pipeline(stream, createWriteStream(target, { mode: mode | 0o600 }));
        files++;
        return;
      }
      stream.resume();
      if (header.type === 'symlink' && header.linkname) {
        if (!isInside(dir, resolve(dirname(target), header.linkname))) {
          throw new Error(`the source archive link "${header.name}" points outside the workspace`);
        }
        await symlink(header.linkname, target);
        return;
      }
      throw new Error(`the source archive entry "${header.name}" has unsupported type ${header.type}`);
    })().then(() => done(), done);
  });
  const input = gzipped ? source.pipe(createGunzip()) : source;
  await pipeline(input, tar);
  return files;
}

/** A Docker build context being packed from a directory by {@link packDirectory}. */
export interface PackedDirectory {
  /** The tar bytes. Errors (a file that cannot be read) arrive as its 'error' event. */
  stream: Readable;
  /**
   * Stops packing when it is still running and resolves once no file of the directory is open or being read. Never
   * rejects. Call it before the directory is removed: a consumer that gave up early (the Docker daemon refused the
   * build, the build was cancelled) otherwise leaves the walk reading files that are gone.
   */
  close(): Promise<void>;
}

/** Packs directory `dir` (files, directories, symlinks) into a tar stream for the Docker build API. */
export function packDirectory(dir: string): PackedDirectory {
  const tar = pack();
  const out = new PassThrough();
  const stop = new AbortController();
  // A file read failing destroys its entry, and the entry the pack: report that through `out` while packing runs.
  tar.on('error', (error: Error) => {
    if (!stop.signal.aborted) out.destroy(error);
  });
  tar.pipe(out);
  const addFile = async (full: string, rel: string, size: number, mode: number): Promise<void> => {
    const input = createReadStream(full, { signal: stop.signal });
    const inputClosed = new Promise<void>((resolve) => input.once('close', () => resolve()));
    try {
      await new Promise<void>((resolve, reject) => {
        const entry = tar.entry({ name: rel, size, mode }, (error) => (error ? reject(error) : resolve()));
        input.once('error', (error) => {
          reject(error);
          entry.destroy(error);
        });
        input.pipe(entry);
      });
    } finally {
      input.destroy();
      await inputClosed;
    }
  };
  const walk = async (path: string): Promise<void> => {
    for (const name of (await readdir(path)).sort()) {
      if (stop.signal.aborted) return;
      const full = join(path, name);
      const rel = relative(dir, full).split(sep).join('/');
      const info = await lstat(full);
      if (stop.signal.aborted) return;
      if (info.isDirectory()) {
        tar.entry({ name: rel, type: 'directory', mode: info.mode & 0o777 });
        await walk(full);
      } else if (info.isSymbolicLink()) {
        const linkname = await readlink(full);
        if (stop.signal.aborted) return;
        tar.entry({ name: rel, type: 'symlink', linkname });
      } else if (info.isFile()) {
        await addFile(full, rel, info.size, info.mode & 0o777);
      }
    }
  };
  const walking = walk(dir).then(
    () => {
      if (!stop.signal.aborted) tar.finalize();
    },
    (error: unknown) => {
      if (!stop.signal.aborted) out.destroy(error as Error);
    },
  );
  return {
    stream: out,
    async close() {
      stop.abort();
      tar.destroy();
      out.destroy();
      await walking;
    },
  };
}
