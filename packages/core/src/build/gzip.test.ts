// The parallel gzip writes one standard gzip member that independent decoders read back (Node's zlib, GNU gzip and
// busybox's own inflate; the Docker builder's tests cover Go's, through the daemon), and the same bytes whatever the
// input chunking and the number of blocks in flight. Random inputs take their seed from VXL_GZIP_SEED (printed).
import { execFileSync } from 'node:child_process';
import { constants, crc32, gunzipSync, inflateRawSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { gzipBlocks } from './gzip.js';

const SEED = Number.parseInt(process.env.VXL_GZIP_SEED ?? '', 10) || 20_261_203;
console.log(`gzip tests: seed ${SEED} (set VXL_GZIP_SEED to repeat)`);

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `bytes` of a mix of text-like runs and random noise, so blocks compress and reference each other. */
function sample(bytes: number, seed = SEED): Buffer {
  const random = prng(seed);
  const out = Buffer.allocUnsafe(bytes);
  const words = ['import', 'torch', 'tensor', 'def', 'return', 'model', 'batch', 'loss', '\n', '    ', '= 0.5'];
  let i = 0;
  while (i < bytes) {
    if (random() < 0.1) {
      const n = Math.min(bytes - i, 1 + Math.floor(random() * 300));
      for (let k = 0; k < n; k++) out[i + k] = Math.floor(random() * 256);
      i += n;
    } else {
      i += out.write(`${words[Math.floor(random() * words.length)]} `, i);
    }
  }
  return out;
}

/** Splits `data` into chunks of the sizes `size()` gives. */
async function* chunks(data: Buffer, size: () => number): AsyncGenerator<Buffer> {
  for (let at = 0; at < data.length; ) {
    const n = Math.max(1, size());
    yield data.subarray(at, at + n);
    at += n;
  }
}

async function gzip(data: Buffer, options: Parameters<typeof gzipBlocks>[1], size = () => 64 * 1024) {
  const parts: Buffer[] = [];
  for await (const part of gzipBlocks(chunks(data, size), options)) parts.push(part);
  return Buffer.concat(parts);
}

/** Decodes with GNU gzip and busybox (independent inflate implementations) and checks GNU gzip's own test. */
function externalGunzip(gz: Buffer): Buffer[] {
  execFileSync('gzip', ['-t'], { input: gz });
  const big = { input: gz, maxBuffer: 64 * 1024 * 1024 };
  return [execFileSync('gzip', ['-dc'], big), execFileSync('busybox', ['gunzip', '-c'], big)];
}

/** The member's parts: header, one raw deflate stream that ends exactly at the trailer, CRC-32 and ISIZE. */
function member(gz: Buffer) {
  const body = gz.subarray(10, gz.length - 8);
  const { buffer, engine } = inflateRawSync(body, { info: true }) as unknown as {
    buffer: Buffer;
    engine: { bytesWritten: number };
  };
  return {
    header: gz.subarray(0, 10),
    inflated: buffer,
    consumed: engine.bytesWritten,
    bodyLength: body.length,
    crc: gz.readUInt32LE(gz.length - 8),
    isize: gz.readUInt32LE(gz.length - 4),
  };
}

const BLOCK = 64 * 1024;

describe('gzipBlocks', () => {
  test.each([
    ['empty input', 0],
    ['1 byte', 1],
    ['one byte short of a block', BLOCK - 1],
    ['exactly one block', BLOCK],
    ['one byte over a block', BLOCK + 1],
    ['a block boundary exactly at the end', 5 * BLOCK],
    ['many blocks and a partial one', 7 * BLOCK + 12_345],
  ])('%s: one gzip member that zlib, GNU gzip and busybox read back', async (_name, bytes) => {
    const data = sample(bytes);
    const gz = await gzip(data, { level: 6, blockBytes: BLOCK, concurrency: 3 });
    expect(gunzipSync(gz).equals(data)).toBe(true);
    for (const out of externalGunzip(gz)) expect(out.equals(data)).toBe(true);
    const m = member(gz);
    expect(m.header).toEqual(Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3])); // no name, MTIME 0, Unix
    expect(m.inflated.equals(data)).toBe(true);
    expect(m.consumed).toBe(m.bodyLength); // the final deflate block ends at the trailer: nothing else follows
    expect(m.crc).toBe(crc32(data));
    expect(m.isize).toBe(bytes);
  });

  test('the same bytes for any chunking of the input and any number of blocks in flight', async () => {
    const data = sample(6 * BLOCK + 777);
    const random = prng(SEED + 1);
    const reference = await gzip(data, { level: 6, blockBytes: BLOCK, concurrency: 1 }, () => data.length);
    const variants: [number, () => number][] = [
      [1, () => 1 + Math.floor(random() * 5000)],
      [2, () => BLOCK],
      [4, () => 1 + Math.floor(random() * 3 * BLOCK)],
      [8, () => 4096],
    ];
    for (const [concurrency, size] of variants) {
      const gz = await gzip(data, { level: 6, blockBytes: BLOCK, concurrency }, size);
      expect(gz.equals(reference), `concurrency ${concurrency}`).toBe(true);
    }
    // And across runs (a second pass over the same input).
    expect((await gzip(data, { level: 6, blockBytes: BLOCK, concurrency: 2 })).equals(reference)).toBe(true);
  });

  test('output comes in pieces of at most 64 KiB, also from 1 MiB blocks that do not compress', async () => {
    const noise = prng(SEED + 2);
    const data = Buffer.alloc(3 * 1024 * 1024 + 5);
    for (let i = 0; i < data.length; i++) data[i] = Math.floor(noise() * 256);
    const sizes: number[] = [];
    const parts: Buffer[] = [];
    for await (const part of gzipBlocks(
      chunks(data, () => 1024 * 1024),
      { level: 1 },
    )) {
      sizes.push(part.length);
      parts.push(part);
    }
    expect(Math.max(...sizes)).toBe(64 * 1024);
    expect(gunzipSync(Buffer.concat(parts)).equals(data)).toBe(true);
  });

  test('one byte at a time still fills whole blocks', async () => {
    const data = sample(2 * BLOCK + 3);
    const byByte = await gzip(data, { level: 6, blockBytes: BLOCK }, () => 1);
    const whole = await gzip(data, { level: 6, blockBytes: BLOCK }, () => data.length);
    expect(byByte.equals(whole)).toBe(true);
    expect(gunzipSync(byByte).equals(data)).toBe(true);
  });

  test('blocks reach back into the previous block: barely larger than one zlib stream', async () => {
    // Repetitive data whose matches cross block boundaries: without the dictionary every block would start cold.
    const line = Buffer.from(sample(3000).toString('latin1').repeat(2), 'latin1');
    const data = Buffer.concat(Array.from({ length: Math.ceil((8 * BLOCK) / line.length) }, () => line));
    const ours = await gzip(data, { level: 6, blockBytes: BLOCK });
    const { gzipSync } = await import('node:zlib');
    const single = gzipSync(data, { level: 6 });
    expect(gunzipSync(ours).equals(data)).toBe(true);
    expect(ours.length).toBeLessThan(single.length * 1.05 + 64);
  });

  test('every level 0-9 decodes, sets XFL as zlib does, and higher levels compress more', async () => {
    const data = sample(3 * BLOCK);
    const sizes: number[] = [];
    for (let level = 0; level <= 9; level++) {
      const gz = await gzip(data, { level, blockBytes: BLOCK });
      expect(gunzipSync(gz).equals(data), `level ${level}`).toBe(true);
      expect(gz[8], `XFL of level ${level}`).toBe(level === 9 ? 2 : level < 2 ? 4 : 0);
      sizes.push(gz.length);
    }
    expect(sizes[0]).toBeGreaterThan(data.length); // stored
    expect(sizes[1]).toBeLessThan(sizes[0]!);
    expect(sizes[9]).toBeLessThanOrEqual(sizes[1]!);
    for (const out of externalGunzip(await gzip(data, { level: 0, blockBytes: BLOCK }))) {
      expect(out.equals(data)).toBe(true);
    }
  });

  test('non-final blocks end with a sync flush marker, the last with a final block', async () => {
    const data = sample(2 * BLOCK);
    const gz = await gzip(data, { level: 6, blockBytes: BLOCK, concurrency: 1 });
    const parts: Buffer[] = [];
    for await (const part of gzipBlocks(
      chunks(data, () => BLOCK),
      { level: 6, blockBytes: BLOCK },
    ))
      parts.push(part);
    expect(parts).toHaveLength(4); // header, block 1, block 2, trailer
    expect(parts[1]!.subarray(-4)).toEqual(Buffer.from([0, 0, 0xff, 0xff])); // empty stored block (RFC 1951 3.2.4)
    expect(Buffer.concat(parts).equals(gz)).toBe(true);
    // Block 1 alone is a deflate stream without an end: inflating it needs more input.
    expect(() => inflateRawSync(parts[1]!, { finishFlush: constants.Z_FINISH })).toThrow(/unexpected end/);
  });

  test('refuses a level outside 0-9', async () => {
    const run = gzipBlocks(
      chunks(Buffer.from('x'), () => 1),
      { level: 10 },
    );
    await expect(run.next()).rejects.toThrow('gzip level 10 is not 0-9');
  });
});
