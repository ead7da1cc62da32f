/** Writing object data to disk while computing the CRC-32C and MD5 Cloud Storage reports. */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { crc32cBase64, crc32cUpdate } from './crc32c.js';

/** Hashes of a finished blob, in the base64 forms of the JSON API (`crc32c`, `md5Hash`). */
export interface BlobDigest {
  size: number;
  crc32c: string;
  md5Hash: string;
}

/**
 * Appends bytes to a file and hashes exactly what was written. Each `write` is awaited, so an aborted
 * request leaves the file and the running hashes consistent (`size` always equals the bytes on disk).
 */
export class BlobWriter {
  private crc: number;
  private md5: Hash | undefined;
  private constructor(
    private readonly fh: FileHandle,
    public size: number,
    crc: number,
    md5: Hash | undefined,
  ) {
    this.crc = crc;
    this.md5 = md5;
  }

  /** Opens `path` for appending. `resume` carries the hash state of the bytes already in the file. */
  static async open(path: string, resume?: { size: number; crc: number; md5: Hash | undefined }): Promise<BlobWriter> {
    const fh = await open(path, 'a', 0o600);
    if (resume) return new BlobWriter(fh, resume.size, resume.crc, resume.md5);
    return new BlobWriter(fh, 0, 0, createHash('md5'));
  }

  async write(chunk: Buffer): Promise<void> {
    if (chunk.length === 0) return;
    let written = 0;
    try {
      while (written < chunk.length) {
        const { bytesWritten } = await this.fh.write(chunk, written, chunk.length - written);
        written += bytesWritten;
      }
    } catch (err) {
      // The bytes on disk no longer match the hashes: make the caller recompute from the file.
      this.size += written;
      this.md5 = undefined;
      this.crc = Number.NaN;
      throw err;
    }
    this.crc = crc32cUpdate(this.crc, chunk);
    this.md5?.update(chunk);
    this.size += chunk.length;
  }

  /** The hash state to carry into a later `open` of the same file (e.g. the next resumable chunk). */
  state(): { size: number; crc: number; md5: Hash | undefined } {
    return { size: this.size, crc: this.crc, md5: Number.isNaN(this.crc) ? undefined : this.md5?.copy() };
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

/** Digest from a carried hash state, or (after a restart or a disk error) by reading the file once. */
export async function finishDigest(
  path: string,
  state: { size: number; crc: number; md5: Hash | undefined } | undefined,
): Promise<BlobDigest> {
  if (state?.md5 && !Number.isNaN(state.crc)) {
    return { size: state.size, crc32c: crc32cBase64(state.crc), md5Hash: state.md5.copy().digest('base64') };
  }
  let crc = 0;
  let size = 0;
  const md5 = createHash('md5');
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    crc = crc32cUpdate(crc, chunk);
    md5.update(chunk);
    size += chunk.length;
  }
  return { size, crc32c: crc32cBase64(crc), md5Hash: md5.digest('base64') };
}
