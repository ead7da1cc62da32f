/**
 * A persisted stat cache: the previous run's listing of a context — for every entry the record the fingerprint
 * hashes (path, type, mode, size, content hash or link target) — with each file's stat key (size + mtime + ctime +
 * inode), so fingerprinting an unchanged tree reads no file. Entries whose timestamps are too close to the time the
 * cache was filled are "racy" (a same-size rewrite within the filesystem's clock tick would not change the stat) and
 * are re-hashed, as git does with its index. The file is written atomically with mode 0600.
 *
 * When every entry of a run matches its row (same position, same record, same stat key, not racy), the listing is
 * the one stored and is hashed as it is, so a warm run of an unchanged tree costs its `lstat` walk plus one read.
 * The file is binary, so loading it allocates almost nothing per entry:
 *
 * ```text
 * 0   "VXLSTAT\n"                                   magic
 * 8   u32 format, u32 detector version              little-endian, as every number below
 * 16  f64 filledAtMs
 * 24  u32 rows, u32 root bytes, u32 listing-version bytes, u32 listing bytes, u32 credential bytes
 * 44  u32 CRC-32 of the whole file with these four bytes read as zero (a damaged file is ignored)
 * 48  root · listing version · credentials (JSON [[row, kind], ...]), all UTF-8; zero padding to a multiple of 8
 *     f64 × 4 per row: size, mtimeMs, ctimeMs, ino  (zeros for rows without a stat key)
 *     u32 × 2 per row: mode | 0x10000 when the row has a stat key; start of its record in the listing (UTF-16 units)
 *     the listing: the records, UTF-8, sorted by path
 * ```
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { endianness, homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { CredentialKind } from './secrets.js';
import { DETECTOR_VERSION } from './secrets.js';

const MAGIC = Buffer.from('VXLSTAT\n', 'latin1');
const FORMAT = 3;
const HEADER_BYTES = 48;
/** f64 per row: size, mtimeMs, ctimeMs, ino. */
const NUMS = 4;
/** u32 per row: mode and flags, record start. */
const META = 2;
const KEYED = 0x10000;
const MODE_MASK = 0xffff;
/** Timestamps within this many ms before the cache was filled are not trusted (filesystem clocks are coarse). */
const RACY_MARGIN_MS = 50;
/** Typed arrays over the file read its numbers in place, which needs the machine to be little-endian. */
const LITTLE_ENDIAN = endianness() === 'LE';

/**
 * The stat fields a file's cache row is keyed by. Times are the `lstat` double milliseconds (`mtimeMs`), whose
 * resolution at today's epoch is a quarter of a microsecond; number stats are markedly cheaper than bigint ones.
 */
export interface StatKey {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
}

/**
 * The listing record of one entry: five NUL-terminated fields (path, type, octal mode, size, content), unambiguous
 * as paths and link targets cannot contain NUL. `content` is the sha256 (hex) of a file, the target of a symlink and
 * empty for a directory. The fingerprint hashes the records of all entries in path order.
 */
export function listingRecord(path: string, type: string, mode: number, size: number, content: string): string {
  return `${path}\0${type}\0${mode.toString(8)}\0${size}\0${content}\0`;
}

/** One entry as the cache stores it. */
export interface CacheRow {
  /** Its {@link listingRecord}. */
  record: string;
  mode: number;
  /** The stat key of a file whose content was hashed; absent for entries whose record needs no read. */
  key: StatKey | undefined;
  /** The credential verdict, when the file looks like one. */
  credential: CredentialKind | undefined;
}

/** The directory of Vertex Launch's caches: `$XDG_CACHE_HOME/vertex-launch` (or the platform's cache directory). */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'vertex-launch');
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Caches', 'vertex-launch');
  if (process.platform === 'win32' && env.LOCALAPPDATA) return join(env.LOCALAPPDATA, 'vertex-launch', 'cache');
  return join(homedir(), '.cache', 'vertex-launch');
}

/** The default stat cache file of a context root (one file per root). */
export function defaultStatCachePath(root: string, env: NodeJS.ProcessEnv = process.env): string {
  const id = createHash('sha256').update(root).digest('hex').slice(0, 16);
  return join(defaultCacheDir(env), 'stat-cache', `${id}.bin`);
}

/** Wall-clock time in ms, comparable with file timestamps. */
export function nowMs(): number {
  return Date.now();
}

interface Loaded {
  rows: number;
  nums: Float64Array;
  meta: Uint32Array;
  /** The listing's bytes (hashed as they are) and text (where rows are compared). */
  listing: Buffer;
  text: string;
  credentials: Map<number, CredentialKind>;
  filledAtMs: number;
}

const EMPTY: Loaded = {
  rows: 0,
  nums: new Float64Array(0),
  meta: new Uint32Array(0),
  listing: Buffer.alloc(0),
  text: '',
  credentials: new Map(),
  filledAtMs: 0,
};

const align8 = (n: number): number => (n + 7) & ~7;
const CRC_AT = 44;
const ZERO_CRC = Buffer.alloc(4);

/** CRC-32 of `file` with its CRC field read as zeros. */
function checksum(file: Buffer): number {
  return crc32(file.subarray(CRC_AT + 4), crc32(ZERO_CRC, crc32(file.subarray(0, CRC_AT))));
}

/** A typed array over `file[at, at + count * bytes)`, copied when the offset is not aligned (pooled buffers). */
function view<T extends Float64Array | Uint32Array>(
  Type: { new (length: number): T; new (buffer: ArrayBufferLike, offset: number, length: number): T },
  file: Buffer,
  at: number,
  count: number,
  bytes: number,
): T {
  if ((file.byteOffset + at) % bytes === 0) return new Type(file.buffer, file.byteOffset + at, count);
  const copy = new Type(count);
  new Uint8Array(copy.buffer).set(file.subarray(at, at + count * bytes));
  return copy;
}

/** Parses a cache file; `undefined` when it is not a well-formed file of this format for `root` and `version`. */
function parse(file: Buffer, root: string, version: string): Loaded | undefined {
  if (!LITTLE_ENDIAN || file.length < HEADER_BYTES || !file.subarray(0, 8).equals(MAGIC)) return undefined;
  if (file.readUInt32LE(8) !== FORMAT || file.readUInt32LE(12) !== DETECTOR_VERSION) return undefined;
  if (file.readUInt32LE(CRC_AT) !== checksum(file)) return undefined;
  const filledAtMs = file.readDoubleLE(16);
  const rows = file.readUInt32LE(24);
  const rootBytes = file.readUInt32LE(28);
  const versionBytes = file.readUInt32LE(32);
  const listingBytes = file.readUInt32LE(36);
  const credentialBytes = file.readUInt32LE(40);
  const versionAt = HEADER_BYTES + rootBytes;
  const credentialsAt = versionAt + versionBytes;
  const numsAt = align8(credentialsAt + credentialBytes);
  const metaAt = numsAt + rows * NUMS * 8;
  const listingAt = metaAt + rows * META * 4;
  if (file.length !== listingAt + listingBytes) return undefined;
  if (file.toString('utf8', HEADER_BYTES, versionAt) !== root) return undefined;
  if (file.toString('utf8', versionAt, credentialsAt) !== version) return undefined;
  const credentials = new Map<number, CredentialKind>();
  if (credentialBytes > 0) {
    const list = JSON.parse(file.toString('utf8', credentialsAt, credentialsAt + credentialBytes)) as unknown;
    if (!Array.isArray(list)) return undefined;
    for (const item of list) {
      if (!Array.isArray(item) || typeof item[0] !== 'number' || typeof item[1] !== 'string') return undefined;
      credentials.set(item[0], item[1] as CredentialKind);
    }
  }
  const nums = view(Float64Array, file, numsAt, rows * NUMS, 8);
  const meta = view(Uint32Array, file, metaAt, rows * META, 4);
  const listing = file.subarray(listingAt);
  const text = listing.toString('utf8');
  for (let r = 0; r < rows; r++) {
    const start = meta[r * META + 1]!;
    if (start >= text.length || (r > 0 && start <= meta[(r - 1) * META + 1]!)) return undefined;
  }
  return { rows, nums, meta, listing, text, credentials, filledAtMs };
}

/** The bytes of a cache file holding `rows` (in path order, as {@link StatCache} looks them up). */
function serialize(root: string, version: string, filledAtMs: number, rows: readonly CacheRow[]): Buffer {
  const rootBuf = Buffer.from(root);
  const versionBuf = Buffer.from(version);
  const listingBuf = Buffer.from(rows.map((r) => r.record).join(''));
  const credentialList: [number, CredentialKind][] = [];
  rows.forEach((r, i) => {
    if (r.credential !== undefined) credentialList.push([i, r.credential]);
  });
  const credentialsBuf = Buffer.from(credentialList.length === 0 ? '' : JSON.stringify(credentialList));
  const numsAt = align8(HEADER_BYTES + rootBuf.length + versionBuf.length + credentialsBuf.length);
  const metaAt = numsAt + rows.length * NUMS * 8;
  const listingAt = metaAt + rows.length * META * 4;
  const file = Buffer.alloc(listingAt + listingBuf.length);
  MAGIC.copy(file, 0);
  file.writeUInt32LE(FORMAT, 8);
  file.writeUInt32LE(DETECTOR_VERSION, 12);
  file.writeDoubleLE(filledAtMs, 16);
  file.writeUInt32LE(rows.length, 24);
  file.writeUInt32LE(rootBuf.length, 28);
  file.writeUInt32LE(versionBuf.length, 32);
  file.writeUInt32LE(listingBuf.length, 36);
  file.writeUInt32LE(credentialsBuf.length, 40);
  let at = HEADER_BYTES;
  for (const part of [rootBuf, versionBuf, credentialsBuf]) at += part.copy(file, at);
  let start = 0;
  rows.forEach((r, i) => {
    const n = numsAt + i * NUMS * 8;
    if (r.key !== undefined) {
      file.writeDoubleLE(r.key.size, n);
      file.writeDoubleLE(r.key.mtimeMs, n + 8);
      file.writeDoubleLE(r.key.ctimeMs, n + 16);
      file.writeDoubleLE(r.key.ino, n + 24);
    }
    file.writeUInt32LE((r.mode & MODE_MASK) | (r.key === undefined ? 0 : KEYED), metaAt + i * META * 4);
    file.writeUInt32LE(start, metaAt + i * META * 4 + 4);
    start += r.record.length;
  });
  listingBuf.copy(file, listingAt);
  file.writeUInt32LE(checksum(file), CRC_AT);
  return file;
}

/**
 * An in-memory view of one cache file. Files are looked up in ascending path order (the order of the tar entries),
 * with a cursor over the sorted rows: no per-row index is built.
 */
export class StatCache {
  private readonly data: Loaded;
  private readonly trustedBeforeMs: number;
  private cursor = 0;
  /** File lookups answered from the cache. */
  hits = 0;
  /** File lookups that needed the file to be read. */
  misses = 0;

  private constructor(
    private readonly path: string | undefined,
    private readonly root: string,
    private readonly version: string,
    data: Loaded,
  ) {
    this.data = data;
    this.trustedBeforeMs = data.filledAtMs - RACY_MARGIN_MS;
  }

  /** A cache that remembers nothing and saves nothing. */
  static disabled(root: string): StatCache {
    return new StatCache(undefined, root, '', EMPTY);
  }

  /**
   * Load the cache file at `path` for the context `root`, whose listing records are those of `version` (a
   * missing, unreadable or foreign file, or one of another version, gives an empty cache).
   */
  static load(path: string, root: string, version: string): StatCache {
    let data: Loaded | undefined;
    try {
      // One synchronous read: four round trips through the thread pool cost more than reading a file this size.
      data = parse(readFileSync(path), root, version);
    } catch {
      // No cache yet, or not ours: start empty.
    }
    return new StatCache(path, root, version, data ?? EMPTY);
  }

  /** Number of rows (entries of the run that filled the cache). */
  get rows(): number {
    return this.data.rows;
  }

  private start(row: number): number {
    return this.data.meta[row * META + 1]!;
  }

  /** The path of a row: its record up to the first NUL. */
  private rowPath(row: number): string {
    const start = this.start(row);
    return this.data.text.slice(start, this.data.text.indexOf('\0', start));
  }

  /**
   * The row of `path`, or -1. Paths must come in ascending order (as the entries do): the cursor only moves on, so
   * a path asked out of order is not found (a miss, never a wrong hit).
   */
  private rowOf(path: string): number {
    const { text, meta, rows } = this.data;
    for (; this.cursor < rows; this.cursor++) {
      // Is `path` the path of this row (its record up to the first NUL)? Once per file of the tree: no allocation.
      const start = meta[this.cursor * META + 1]!;
      if (text.startsWith(path, start) && text.charCodeAt(start + path.length) === 0) return this.cursor++;
      if (this.rowPath(this.cursor) > path) return -1;
    }
    return -1;
  }

  /**
   * The row of the file `path` when its mode and stat key are unchanged and not racy, else -1; counts a hit or a
   * miss. Its content hash is {@link sha256}.
   */
  lookup(path: string, key: StatKey, mode: number): number {
    const row = this.data.rows === 0 ? -1 : this.rowOf(path);
    const { nums, meta } = this.data;
    const at = row * NUMS;
    if (
      row >= 0 &&
      meta[row * META] === ((mode & MODE_MASK) | KEYED) &&
      nums[at] === key.size &&
      nums[at + 1] === key.mtimeMs &&
      nums[at + 2] === key.ctimeMs &&
      nums[at + 3] === key.ino &&
      key.mtimeMs < this.trustedBeforeMs &&
      key.ctimeMs < this.trustedBeforeMs
    ) {
      this.hits++;
      return row;
    }
    this.misses++;
    return -1;
  }

  /** True when row `row` is an entry without a stat key whose record is `record`. */
  hasRecord(row: number, record: string): boolean {
    if (row >= this.data.rows || (this.data.meta[row * META]! & KEYED) !== 0) return false;
    const start = this.start(row);
    const end = row + 1 < this.data.rows ? this.start(row + 1) : this.data.text.length;
    return end - start === record.length && this.data.text.startsWith(record, start);
  }

  /** The content hash of a file row returned by {@link lookup}: the last field of its record. */
  sha256(row: number): string {
    const end = row + 1 < this.data.rows ? this.start(row + 1) : this.data.text.length;
    return this.data.text.slice(end - 65, end - 1);
  }

  /** The cached credential verdict of a row returned by {@link lookup}. */
  credential(row: number): CredentialKind | undefined {
    return this.data.credentials.size === 0 ? undefined : this.data.credentials.get(row);
  }

  /** The UTF-8 bytes of the cached listing: the records of all rows. */
  listing(): Buffer {
    return this.data.listing;
  }

  /**
   * Replace the file with `rows` (every entry of this run, in path order; asked for only when the cache is
   * enabled). `filledAtMs` is the time the run started looking at files. Best effort: a cache that cannot be written
   * is skipped.
   */
  async save(filledAtMs: number, rows: () => readonly CacheRow[]): Promise<void> {
    if (this.path === undefined) return;
    const file = serialize(this.root, this.version, filledAtMs, rows());
    const tmp = `${this.path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
      await writeFile(tmp, file, { mode: 0o600 });
      await chmod(tmp, 0o600);
      await rename(tmp, this.path);
    } catch {
      await rm(tmp, { force: true }).catch(() => undefined);
    }
  }
}
