/**
 * Deterministic gzip on all cores: the input is cut into fixed-size blocks, each compressed as raw deflate on its own
 * (with the previous block's last 32 KiB as its dictionary, so matches reach across block boundaries as in one
 * stream), and the pieces are concatenated into one standard gzip member (RFC 1952) — the idea of pigz. Every block
 * but the last ends with a sync flush (an empty stored block, RFC 1951 §3.2.4, which leaves the output byte-aligned
 * and the stream open) and the last with a final block, so the concatenation is one valid deflate stream that any
 * gunzip reads (Go's compress/gzip in Cloud Build and the Docker daemon, zlib, GNU gzip, busybox).
 *
 * Node's asynchronous zlib calls run in the libuv thread pool, so blocks compress in parallel without worker
 * threads; a bounded number of blocks is in flight, which bounds memory. The output depends only on the input bytes,
 * the level and the block size — not on how the input is chunked, the number of blocks in flight or their timing.
 */
import { availableParallelism } from 'node:os';
import { constants, crc32, deflateRaw, type ZlibOptions } from 'node:zlib';

/** Options of {@link gzipBlocks}. */
export interface GzipBlocksOptions {
  /** zlib level 0-9 (0 stores without compressing). */
  level: number;
  /** Uncompressed bytes per block. Default {@link GZIP_BLOCK_BYTES}. */
  blockBytes?: number;
  /** Blocks compressing at once. Default: the CPUs, at most the thread pool's size less one (kept for file reads). */
  concurrency?: number;
}

/** Default block size: large enough that the per-block cost (dictionary, flush, a thread pool round trip) is ~1%. */
export const GZIP_BLOCK_BYTES = 1024 * 1024;
/** Deflate's window: the most a match can reach back (RFC 1951 §2), so the most a block needs of the one before. */
const WINDOW = 32 * 1024;

/** The number of blocks compressed at once by default. */
export function defaultGzipConcurrency(env: NodeJS.ProcessEnv = process.env): number {
  // libuv's pool has UV_THREADPOOL_SIZE threads (default 4); one is left for the reads of the files being packed.
  const pool = Number.parseInt(env.UV_THREADPOOL_SIZE ?? '', 10) || 4;
  return Math.max(1, Math.min(availableParallelism(), pool - 1));
}

/**
 * The 10-byte member header: no name or comment, MTIME 0 (none), XFL as zlib sets it (2 for level 9, 4 for the
 * fastest levels), OS 3 (Unix) whatever the platform.
 */
function header(level: number): Buffer {
  const xfl = level === 9 ? 2 : level < 2 ? 4 : 0;
  return Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 3]);
}

function trailer(crc: number, size: number): Buffer {
  const out = Buffer.allocUnsafe(8);
  out.writeUInt32LE(crc >>> 0, 0);
  out.writeUInt32LE(size % 2 ** 32, 4); // ISIZE: the input size modulo 2^32
  return out;
}

/**
 * Output is yielded in pieces of at most this size (views, not copies): the chunk size zlib streams give, which
 * consumers are tuned for. @google-cloud/storage 7's resumable upload loses its offset when it resumes after a
 * failure with larger writes ("The offset is lower than the number of bytes written", seen in
 * test/reliability/api-faults-upload.test.ts).
 */
const PIECE_BYTES = 64 * 1024;

function* pieces(data: Buffer): Generator<Buffer> {
  for (let at = 0; at < data.length; at += PIECE_BYTES) yield data.subarray(at, at + PIECE_BYTES);
}

function compress(data: Buffer, options: ZlibOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => deflateRaw(data, options, (e, out) => (e ? reject(e) : resolve(out))));
}

/**
 * Gzip `source` (chunks of any size) with blocks compressed in parallel, yielding the gzip member's bytes in order
 * (pieces of at most 64 KiB). Byte-for-byte the same output for the same input bytes, `level` and `blockBytes`.
 */
export async function* gzipBlocks(source: AsyncIterable<Buffer>, options: GzipBlocksOptions): AsyncGenerator<Buffer> {
  const { level } = options;
  if (!Number.isInteger(level) || level < 0 || level > 9) throw new RangeError(`gzip level ${level} is not 0-9`);
  const blockBytes = options.blockBytes ?? GZIP_BLOCK_BYTES;
  const concurrency = Math.max(1, options.concurrency ?? defaultGzipConcurrency());
  // Output buffers big enough for a whole block, so a block is compressed in one thread pool job rather than many
  // 16 KiB round trips through the main thread (deflate's worst case grows the input by ~0.03%, RFC 1951 stored
  // blocks: 5 bytes per 64 KiB).
  const chunkSize = blockBytes + (blockBytes >> 6) + 1024;
  // Each block in flight with the buffer it was cut into: a buffer compressed is filled again (zlib is done with its
  // input when the job ends, and copies the dictionary when the job starts), so a whole context costs
  // `concurrency + 2` block buffers instead of a fresh one per MiB for the garbage collector to find.
  const pending: { job: Promise<Buffer>; buffer: Buffer }[] = [];
  const free: Buffer[] = [];
  const next = async (): Promise<Buffer> => {
    const { job, buffer } = pending.shift()!;
    const out = await job;
    free.push(buffer);
    return out;
  };
  let crc = 0;
  let size = 0;
  let dictionary: Buffer | undefined;
  const dispatch = (data: Buffer, buffer: Buffer, last: boolean): void => {
    crc = crc32(data, crc);
    size += data.length;
    const job = compress(data, {
      level,
      chunkSize,
      finishFlush: last ? constants.Z_FINISH : constants.Z_SYNC_FLUSH,
      ...(dictionary === undefined ? {} : { dictionary }),
    });
    job.catch(() => undefined); // awaited in order below; an early failure must not go unhandled meanwhile
    pending.push({ job, buffer });
    dictionary = data.length >= WINDOW ? data.subarray(data.length - WINDOW) : data;
  };

  yield header(level);
  let block: Buffer = Buffer.allocUnsafe(blockBytes);
  let fill = 0;
  for await (const chunk of source) {
    let at = 0;
    while (at < chunk.length) {
      // A full block is sent only once more input shows it is not the last (the last one gets the final flush).
      if (fill === blockBytes) {
        dispatch(block, block, false);
        fill = 0;
        while (pending.length > concurrency) yield* pieces(await next());
        block = free.pop() ?? Buffer.allocUnsafe(blockBytes);
      }
      const n = Math.min(blockBytes - fill, chunk.length - at);
      chunk.copy(block, fill, at, at + n);
      fill += n;
      at += n;
    }
  }
  dispatch(block.subarray(0, fill), block, true);
  while (pending.length > 0) yield* pieces(await next());
  yield trailer(crc, size);
}
