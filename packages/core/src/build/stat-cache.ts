/**
 * A persisted stat cache: content hashes (and credential verdicts) of files keyed by path + size + mtime + inode +
 * ctime, so fingerprinting an unchanged tree reads no file. Entries whose timestamps are too close to the time the
 * cache was filled are "racy" (a same-size rewrite within the filesystem's clock tick would not change the stat) and
 * are re-hashed, as git does with its index. The file is JSON, written atomically with mode 0600.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { CredentialKind } from './secrets.js';
import { DETECTOR_VERSION } from './secrets.js';

const FORMAT = 2;
/** Timestamps within this many ms before the cache was filled are not trusted (filesystem clocks are coarse). */
const RACY_MARGIN_MS = 50;
/** Values per row in the flat `rows` array of the file: path, size, mtimeMs, ctimeMs, ino, sha256, credential. */
const ROW = 7;

/**
 * The stat fields a cache entry is keyed by. Times are the `lstat` double milliseconds (`mtimeMs`), whose resolution
 * at today's epoch is a quarter of a microsecond; number stats are markedly cheaper than bigint ones per file.
 */
export interface StatKey {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
}

/** What is cached about one file. */
export interface CachedContent {
  /** sha256 of the content, hex. */
  sha256: string;
  /** The credential verdict, when the file looks like one. */
  credential: CredentialKind | undefined;
}

type Row = [
  path: string,
  size: number,
  mtimeMs: number,
  ctimeMs: number,
  ino: number,
  sha256: string,
  credential: string,
];

interface CacheFile {
  format: number;
  detector: number;
  root: string;
  filledAtMs: number;
  /** Flat rows of {@link ROW} values: one JSON array parses much faster than an object per file. */
  rows: (string | number)[];
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
  return join(defaultCacheDir(env), 'stat-cache', `${id}.json`);
}

/** Wall-clock time in ms, comparable with file timestamps. */
export function nowMs(): number {
  return Date.now();
}

/** An in-memory view of one cache file. */
export class StatCache {
  private readonly rows: (string | number)[];
  private readonly index = new Map<string, number>();
  private readonly trustedBeforeMs: number;
  private readonly next: Row[] = [];
  private readonly kept: number[] = [];
  private changed = false;
  /** Lookups answered from the cache. */
  hits = 0;
  /** Lookups that needed the file to be read. */
  misses = 0;

  private constructor(
    private readonly path: string | undefined,
    private readonly root: string,
    rows: (string | number)[],
    filledAtMs: number,
  ) {
    this.rows = rows;
    for (let i = 0; i + ROW <= rows.length; i += ROW) this.index.set(rows[i] as string, i);
    this.trustedBeforeMs = filledAtMs - RACY_MARGIN_MS;
  }

  /** A cache that remembers nothing and saves nothing. */
  static disabled(root: string): StatCache {
    return new StatCache(undefined, root, [], 0);
  }

  /** Load the cache file at `path` (a missing, unreadable or foreign file gives an empty cache). */
  static async load(path: string, root: string): Promise<StatCache> {
    try {
      const data = JSON.parse(await readFile(path, 'utf8')) as CacheFile;
      if (
        data.format === FORMAT &&
        data.detector === DETECTOR_VERSION &&
        data.root === root &&
        Array.isArray(data.rows) &&
        typeof data.filledAtMs === 'number'
      ) {
        return new StatCache(path, root, data.rows, data.filledAtMs);
      }
    } catch {
      // No cache yet, or not ours: start empty.
    }
    return new StatCache(path, root, [], 0);
  }

  /** The cached content of `path` when its stat is unchanged and not racy; counts a hit or a miss. */
  get(path: string, key: StatKey): CachedContent | undefined {
    const i = this.index.get(path);
    const rows = this.rows;
    if (
      i !== undefined &&
      rows[i + 1] === key.size &&
      rows[i + 2] === key.mtimeMs &&
      rows[i + 3] === key.ctimeMs &&
      rows[i + 4] === key.ino &&
      key.mtimeMs < this.trustedBeforeMs &&
      key.ctimeMs < this.trustedBeforeMs
    ) {
      this.hits++;
      this.kept.push(i);
      const credential = rows[i + 6] as string;
      return {
        sha256: rows[i + 5] as string,
        credential: credential === '' ? undefined : (credential as CredentialKind),
      };
    }
    this.misses++;
    return undefined;
  }

  /** Remember the content of `path`. */
  set(path: string, key: StatKey, content: CachedContent): void {
    this.changed = true;
    this.next.push([path, key.size, key.mtimeMs, key.ctimeMs, key.ino, content.sha256, content.credential ?? '']);
  }

  /**
   * Write the entries seen in this run (dropping files that are gone) when anything changed. `filledAtMs` is the time
   * the run started looking at files. Best effort: a cache that cannot be written is skipped.
   */
  async save(filledAtMs: number): Promise<void> {
    if (this.path === undefined) return;
    if (!this.changed && this.kept.length === this.index.size) return;
    const rows: (string | number)[] = [];
    for (const i of this.kept) for (let k = 0; k < ROW; k++) rows.push(this.rows[i + k]!);
    for (const row of this.next) rows.push(...row);
    const data: CacheFile = { format: FORMAT, detector: DETECTOR_VERSION, root: this.root, filledAtMs, rows };
    const tmp = `${this.path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
      await writeFile(tmp, JSON.stringify(data), { mode: 0o600 });
      await chmod(tmp, 0o600);
      await rename(tmp, this.path);
    } catch {
      await rm(tmp, { force: true }).catch(() => undefined);
    }
  }
}
