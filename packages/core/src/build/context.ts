/**
 * The build context: scan a directory honouring `.dockerignore` (Docker's rules), refuse escaping symlinks and
 * credential-like files, fingerprint the content (with a persisted stat cache), and pack it as a deterministic,
 * streamed tar.gz. Same sources, same bytes, same `ctx-<12 hex>` tag.
 */
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { ConfigError } from '../errors.js';
import { BuildContextError } from './context-error.js';
import { type GenerateDockerfileOptions, generateDockerfile, INJECTED_DOCKERFILE_NAME } from './dockerfile.js';
import { compileDockerignore, type DockerIgnore, parseDockerignore } from './dockerignore.js';
import { gzipBlocks } from './gzip.js';
import {
  CHUNK,
  FileChangedError,
  forEachLimited,
  hashFile,
  hashFileSync,
  readChunks,
  readHead,
  readWhole,
} from './read.js';
import {
  type CredentialFinding,
  type CredentialKind,
  credentialKindByName,
  describeCredentialFindings,
  isAllowedSecret,
  normalizeAllowSecrets,
  SNIFF_BYTES,
  shouldSniff,
  sniffCredential,
} from './secrets.js';
import { type CacheRow, defaultStatCachePath, listingRecord, nowMs, StatCache, type StatKey } from './stat-cache.js';
import { endOfArchive, entryHeader, padding, type TarEntryType } from './tar.js';

/** Options of {@link fingerprintContext} and {@link packContext}. */
export interface PackOptions {
  /** The directory to send (the Docker build context). */
  contextDir: string;
  /**
   * The Dockerfile, relative to `contextDir` or absolute. It may lie outside the context; then it is added to the tar
   * as `Dockerfile.vertex-launch`. Default: `Dockerfile` (or `dockerfile`) at the context root, else a generated one
   * for Python projects.
   */
  dockerfile?: string;
  /** Options of the Dockerfile generated when the context has none (Python projects only). */
  generateDockerfile?: GenerateDockerfileOptions;
  /** Leave every `.git` directory or file out of the context, even without a `.dockerignore`. Default `true`. */
  ignoreGit?: boolean;
  /**
   * Paths (relative to `contextDir`; a directory covers everything below it) that may be sent although they look like
   * credentials. Everything else that looks like a credential stops the build.
   */
  allowSecrets?: string[];
  /** The stat cache file; `false` disables it. Default: a file under `$XDG_CACHE_HOME/vertex-launch/stat-cache/`. */
  statCachePath?: string | false;
  /**
   * gzip level of the packed context, 0-9 (as `gzip -0` to `gzip -9`; 0 stores without compressing). Default 6.
   * Lower is faster and larger (level 1 packs the bench's 200 MB tree about three times as fast as 6, for a fifth
   * more bytes), which pays when the upload is fast; 0 suits a local Docker daemon, which reads the context over a
   * socket. The level changes the packed bytes, never the fingerprint or the content tag.
   */
  compression?: number;
}

/** {@link PackOptions} plus the build parameters that enter the fingerprint. */
export interface FingerprintOptions extends PackOptions {
  /** Build args; they enter the fingerprint sorted by name. */
  buildArgs?: Record<string, string>;
  /** The Dockerfile stage to build. */
  target?: string;
  /** Platform; default `linux/amd64` (the only one Vertex AI runs). */
  platform?: string;
}

/** What was (or would be) sent. */
export interface ContextManifest {
  /** Number of tar entries (files, directories, symlinks). */
  entries: number;
  /** Total size of the file contents, in bytes (not the tar size). */
  bytes: number;
  /** sha256 (hex) over the normalised entries, the Dockerfile, build args, target and platform. */
  fingerprint: string;
  /** `ctx-` + the first 12 hex digits of the fingerprint. */
  tag: string;
  /** Path of the Dockerfile inside the tar (pass it to the builder, e.g. `docker build -f`). */
  dockerfilePath: string;
  /** Set when the Dockerfile was generated: its text. */
  generatedDockerfile?: string;
  /** Every entry path, sorted as in the tar (directories without a trailing slash). */
  files?: string[];
  /** Stat cache use of this run: files whose hash came from the cache, and files that were read. */
  cache?: { hits: number; misses: number };
}

/** A packed context: the tar.gz byte stream (not yet flowing) and its manifest. */
export interface PackedContext {
  /** Deterministic tar.gz bytes, produced as they are read (backpressure respected). Errors if a file changes. */
  stream: Readable;
  manifest: ContextManifest;
  /**
   * Stops packing (destroys `stream` if it is still open) and resolves once no file of the context is open or being
   * read any more, read-ahead included. Never rejects. Call it before a build settles, so that a caller that removes
   * the context directory once the build has failed or been aborted meets no late read.
   */
  close(): Promise<void>;
}

/**
 * One tar entry. Files carry their `lstat` key (size, mtimeMs, ctimeMs, ino) flat on the entry, so a scan allocates
 * one object per file; the other kinds have zeros there.
 */
interface Entry extends StatKey {
  path: string;
  type: TarEntryType;
  mode: number;
  abs: string;
  linkname?: string;
  /** Content of an entry that does not come from the tree (an injected Dockerfile). */
  content?: Buffer;
  /** Content hash of a file that was read (or is empty or injected). */
  sha256?: string;
  /** The stat cache row holding the content hash of a file that was not read, else -1. */
  row: number;
  credential?: CredentialKind;
}

interface Scan {
  root: string;
  entries: Entry[];
  dockerfilePath: string;
  dockerfileContent: Buffer;
  generatedDockerfile: string | undefined;
}

const DEFAULT_PLATFORM = 'linux/amd64';
const PLATFORM = /^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?$/;
const HASH_CONCURRENCY = 8;
const FINGERPRINT_VERSION = 'vertex-launch build context v1';

const toPosix = sep === '/' ? (p: string) => p : (p: string) => p.split(sep).join('/');

function isInside(rel: string): boolean {
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

function resolveRoot(contextDir: string): string {
  let root: string;
  try {
    root = realpathSync(resolve(contextDir));
  } catch (cause) {
    throw new ConfigError(`[vertex-launch] [build] The build context ${contextDir} does not exist.`, [], {
      cause,
      hint: 'Pass `contextDir` pointing at the directory with your training code.',
    });
  }
  if (!statSync(root).isDirectory()) {
    throw new ConfigError(`[vertex-launch] [build] The build context ${contextDir} is not a directory.`, [], {
      hint: 'Pass `contextDir` pointing at the directory with your training code.',
    });
  }
  return root;
}

/** Where a symlink inside the context leads; `undefined` when it stays inside, else why it escapes. */
function symlinkEscape(root: string, linkRel: string, target: string): string | undefined {
  if (isAbsolute(target) || target.startsWith('/')) return `absolute target ${target}`;
  const stack = linkRel.split('/').slice(0, -1);
  const queue = target.split('/');
  let hops = 0;
  let missing = false;
  while (queue.length > 0) {
    const part = queue.shift()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (stack.length === 0) return `target ${target} leaves the context`;
      stack.pop();
      continue;
    }
    stack.push(part);
    if (missing) continue;
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(join(root, ...stack));
    } catch {
      missing = true; // dangling: only the lexical path matters from here on
      continue;
    }
    if (st?.isSymbolicLink()) {
      if (++hops > 40) return `too many levels of symbolic links behind ${target}`;
      const next = readlinkSync(join(root, ...stack));
      if (isAbsolute(next)) return `target ${target} leads through ${stack.join('/')} to absolute ${next}`;
      stack.pop();
      queue.unshift(...next.split('/'));
    }
  }
  return undefined;
}

function readDockerignore(root: string): DockerIgnore | undefined {
  let text: string;
  try {
    text = readFileSync(join(root, '.dockerignore'), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new BuildContextError(`Cannot read ${join(root, '.dockerignore')}.`, {
      paths: ['.dockerignore'],
      cause: error,
    });
  }
  return compileDockerignore(parseDockerignore(text));
}

type DockerfileLocation =
  | { kind: 'inside'; rel: string; abs: string }
  | { kind: 'outside'; abs: string }
  | { kind: 'none' };

function locateDockerfile(root: string, options: PackOptions): DockerfileLocation {
  const classify = (abs: string): DockerfileLocation => {
    const rel = relative(root, abs);
    return isInside(rel) ? { kind: 'inside', rel: toPosix(rel), abs } : { kind: 'outside', abs };
  };
  if (options.dockerfile !== undefined) {
    const given = resolve(options.contextDir, options.dockerfile);
    let abs: string;
    try {
      abs = realpathSync(given);
      if (!statSync(abs).isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
    } catch (cause) {
      throw new ConfigError(`[vertex-launch] [build] The Dockerfile ${given} does not exist or is not a file.`, [], {
        cause,
        hint: 'Pass `dockerfile` as a path relative to `contextDir`, or an absolute path.',
      });
    }
    return classify(abs);
  }
  for (const name of ['Dockerfile', 'dockerfile']) {
    try {
      const abs = realpathSync(join(root, name));
      if (statSync(abs).isFile()) return classify(abs);
    } catch {
      // not there
    }
  }
  return { kind: 'none' };
}

interface Escape {
  path: string;
  reason: string;
}

const NO_THROW = { throwIfNoEntry: false } as const;

/** An entry with every field set, so all entries share one object shape (they are made per file). */
function newEntry(
  path: string,
  type: TarEntryType,
  mode: number,
  size: number,
  mtimeMs: number,
  ctimeMs: number,
  ino: number,
  abs: string,
  linkname: string | undefined,
): Entry {
  return {
    path,
    type,
    mode,
    size,
    mtimeMs,
    ctimeMs,
    ino,
    abs,
    linkname,
    content: undefined,
    sha256: undefined,
    row: -1,
    credential: undefined,
  };
}

function walk(
  root: string,
  ignore: DockerIgnore | undefined,
  ignoreGit: boolean,
  forced: ReadonlySet<string>,
): { entries: Entry[]; escapes: Escape[] } {
  const entries: Entry[] = [];
  const escapes: Escape[] = [];
  const forcedDirs = new Set<string>();
  for (const path of forced) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) forcedDirs.add(parts.slice(0, i).join('/'));
  }
  // Names only (no Dirent objects), sorted so the entries come out nearly in path order; one lstat per name that is
  // not left out gives its type and stat key.
  const visit = (dirAbs: string, dirRel: string): boolean => {
    let names: string[];
    try {
      names = readdirSync(dirAbs).sort();
    } catch (cause) {
      throw new BuildContextError(`Cannot read the directory ${dirRel || '.'} of the build context.`, {
        paths: [dirRel || '.'],
        hint: 'Fix its permissions or add it to .dockerignore.',
        cause,
      });
    }
    let included = false;
    for (const name of names) {
      if (ignoreGit && name === '.git') continue;
      const rel = dirRel === '' ? name : `${dirRel}/${name}`;
      const excluded = ignore?.ignores(rel) === true;
      // Left out whatever it is: no lstat needed.
      if (excluded && !forced.has(rel) && !forcedDirs.has(rel) && !ignore!.mayIncludeBelow(rel)) continue;
      const abs = dirAbs + sep + name;
      const st = lstatSync(abs, NO_THROW);
      if (st === undefined) continue; // deleted since readdir
      if (st.isDirectory()) {
        if (excluded && !forcedDirs.has(rel) && !ignore!.mayIncludeBelow(rel)) continue;
        entries.push(newEntry(rel, 'directory', 0o755, 0, 0, 0, 0, abs, undefined));
        const inner = visit(abs, rel);
        if (excluded && !inner) entries.pop();
        else included = true;
        continue;
      }
      if (excluded && !forced.has(rel)) continue;
      if (st.isFile()) {
        const mode = (st.mode & 0o111) === 0 ? 0o644 : 0o755;
        entries.push(newEntry(rel, 'file', mode, st.size, st.mtimeMs, st.ctimeMs, st.ino, abs, undefined));
        included = true;
      } else if (st.isSymbolicLink()) {
        const target = readlinkSync(abs);
        const reason = symlinkEscape(root, rel, target);
        if (reason === undefined) {
          entries.push(newEntry(rel, 'symlink', 0o777, 0, 0, 0, 0, abs, target));
          included = true;
        } else {
          escapes.push({ path: rel, reason });
        }
      }
      // Sockets, FIFOs and devices are not sent.
    }
    return included;
  };
  visit(root, '');
  return { entries, escapes };
}

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

function isSortedByPath(entries: readonly Entry[]): boolean {
  for (let i = 1; i < entries.length; i++) if (!(entries[i - 1]!.path < entries[i]!.path)) return false;
  return true;
}

function byPath(a: { path: string }, b: { path: string }): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

function injectedEntry(content: Buffer): Entry {
  const e = newEntry(INJECTED_DOCKERFILE_NAME, 'file', 0o644, content.length, 0, 0, 0, '', undefined);
  e.content = content;
  e.sha256 = sha256(content);
  return e;
}

function entrypointFor(paths: ReadonlySet<string>, root: string): string[] {
  for (const script of ['train.py', 'main.py']) if (paths.has(script)) return ['python', script];
  throw new ConfigError(
    `[vertex-launch] [build] Cannot tell how to start the training code in ${root}: there is no Dockerfile, train.py or main.py.`,
    [{ path: 'generateDockerfile.entrypoint', message: 'required', severity: 'error' }],
    { hint: "Pass `generateDockerfile: { entrypoint: ['python', 'your_script.py'] }`, or add a Dockerfile." },
  );
}

function scanContext(options: PackOptions): Scan {
  const root = resolveRoot(options.contextDir);
  const location = locateDockerfile(root, options);
  const forced = new Set(['.dockerignore']);
  if (location.kind === 'inside') forced.add(location.rel);
  const { entries, escapes } = walk(root, readDockerignore(root), options.ignoreGit ?? true, forced);
  if (escapes.length > 0) {
    const n = escapes.length;
    throw new BuildContextError(
      `Refusing to build: ${n} symlink${n === 1 ? '' : 's'} in the build context point${n === 1 ? 's' : ''} outside it:\n` +
        escapes.map((e) => `  - ${e.path} (${e.reason})`).join('\n'),
      {
        paths: escapes.map((e) => e.path),
        hint:
          'A build cannot follow links out of its context. Copy the target into the context, make the link point ' +
          `inside it, or add the link to .dockerignore (e.g. \`${escapes[0]!.path}\`).`,
      },
    );
  }
  let dockerfilePath: string;
  let dockerfileContent: Buffer;
  let generatedDockerfile: string | undefined;
  if (location.kind === 'inside') {
    dockerfilePath = location.rel;
    dockerfileContent = readFileSync(location.abs);
  } else {
    const paths = new Set(entries.map((e) => e.path));
    if (paths.has(INJECTED_DOCKERFILE_NAME)) {
      throw new BuildContextError(
        `The build context already has a file named ${INJECTED_DOCKERFILE_NAME}, the name used for the Dockerfile added to it.`,
        { paths: [INJECTED_DOCKERFILE_NAME], hint: `Rename it, or add it to .dockerignore.` },
      );
    }
    if (location.kind === 'outside') {
      dockerfileContent = readFileSync(location.abs);
    } else {
      const gen = options.generateDockerfile ?? {};
      const requirements = gen.requirementsFile ?? 'requirements.txt';
      const hasRequirements = paths.has(requirements);
      const hasPyproject = paths.has('pyproject.toml');
      if (!hasRequirements && !hasPyproject && gen.install === undefined) {
        throw new BuildContextError(
          `No Dockerfile in ${root}, and it is not a Python project (no ${requirements} or pyproject.toml), so none can be generated.`,
          {
            paths: ['Dockerfile'],
            hint: 'Add a Dockerfile to the context, pass `dockerfile` (a path, may be outside the context), or add a requirements.txt / pyproject.toml.',
          },
        );
      }
      generatedDockerfile = generateDockerfile({
        ...gen,
        install: gen.install ?? (hasRequirements ? 'requirements' : 'project'),
        entrypoint: gen.entrypoint ?? entrypointFor(paths, root),
      });
      dockerfileContent = Buffer.from(generatedDockerfile);
    }
    entries.push(injectedEntry(dockerfileContent));
    dockerfilePath = INJECTED_DOCKERFILE_NAME;
  }
  // The walk reads each directory's names sorted, so the entries usually come out in order already.
  if (!isSortedByPath(entries)) entries.sort(byPath);
  return { root, entries, dockerfilePath, dockerfileContent, generatedDockerfile };
}

function changedError(error: unknown): unknown {
  if (error instanceof FileChangedError) {
    return new BuildContextError(`${error.path} changed while the build context was read.`, {
      paths: [error.path],
      hint: 'Retry once it stops changing (e.g. after training output is written), or add it to .dockerignore.',
    });
  }
  return error;
}

/** Whether the content of a file entry is read from the tree (and so cached by its stat key). */
const isTreeFile = (e: Entry): boolean => e.type === 'file' && e.content === undefined && e.size > 0;

/** The listing record of an entry whose content is known (hashed, cached, or not a file). */
function recordOf(e: Entry, cache: StatCache): string {
  let content = '';
  if (e.type === 'file') content = e.sha256 ?? cache.sha256(e.row);
  else if (e.type === 'symlink') content = e.linkname!;
  return listingRecord(e.path, e.type, e.mode, e.size, content);
}

/**
 * Hashes the files the stat cache cannot answer for and sets every entry's content hash (or cache row) and
 * credential verdict. Resolves `true` when every entry matched the cache row at its position, i.e. the listing is
 * the cached one.
 */
async function hashEntries(scan: Scan, cache: StatCache): Promise<boolean> {
  const jobs: Entry[] = [];
  const { entries } = scan;
  let unchanged = entries.length === cache.rows;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (e.type === 'file' && e.content === undefined && e.size > 0) {
      const row = cache.lookup(e.path, e, e.mode);
      if (row < 0) {
        jobs.push(e);
        unchanged = false;
      } else {
        e.row = row;
        e.credential = cache.credential(row);
        if (row !== i) unchanged = false;
      }
      continue;
    }
    if (e.type === 'file' && e.content === undefined) {
      e.sha256 = EMPTY_SHA256;
      e.credential = credentialKindByName(e.path);
    }
    if (unchanged && !cache.hasRecord(i, recordOf(e, cache))) unchanged = false;
  }
  const done = (e: Entry, hex: string, head: Buffer | undefined): void => {
    e.sha256 = hex;
    e.credential = sniffCredential(e.path, head);
  };
  // Large files go through the thread pool (reads overlap with hashing); small ones are read with synchronous calls,
  // yielding to the event loop every few MiB, because per-file round trips through the pool cost more than their reads.
  const large = jobs.filter((e) => e.size > SYNC_READ_MAX_FILE);
  const small = jobs.filter((e) => e.size <= SYNC_READ_MAX_FILE);
  const buffers = Array.from({ length: Math.min(HASH_CONCURRENCY, large.length) }, () => Buffer.allocUnsafe(CHUNK));
  let failed = false;
  const hashLarge = forEachLimited(large, HASH_CONCURRENCY, async (e, slot) => {
    const { sha256: hex, head } = await hashFile(e, buffers[slot]!, shouldSniff(e.size) ? SNIFF_BYTES : 0);
    done(e, hex, head);
  }).catch((error: unknown) => {
    failed = true;
    throw error;
  });
  hashLarge.catch(() => undefined);
  try {
    if (small.length > 0) {
      const buf = Buffer.allocUnsafe(SYNC_READ_MAX_FILE);
      let sinceYield = 0;
      for (const e of small) {
        if (failed) break;
        const { sha256: hex, head } = hashFileSync(e, buf, shouldSniff(e.size) ? SNIFF_BYTES : 0);
        done(e, hex, head);
        sinceYield += e.size + SYNC_READ_FILE_COST;
        if (sinceYield >= SYNC_READ_YIELD_BYTES) {
          sinceYield = 0;
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      }
    }
    await hashLarge;
  } catch (error) {
    throw changedError(error);
  }
  return unchanged;
}

/** Files up to this size are hashed with synchronous reads. */
const SYNC_READ_MAX_FILE = 64 * 1024;
/** Synchronous reads give the event loop a turn after about this many bytes (files count as {@link SYNC_READ_FILE_COST}). */
const SYNC_READ_YIELD_BYTES = 4 * 1024 * 1024;
const SYNC_READ_FILE_COST = 16 * 1024;

const EMPTY_SHA256 = sha256('');

function checkCredentials(scan: Scan, allowSecrets: readonly string[] | undefined): void {
  const allowed = normalizeAllowSecrets(allowSecrets);
  const findings: CredentialFinding[] = [];
  for (const e of scan.entries) {
    if (e.credential !== undefined && !isAllowedSecret(e.path, allowed))
      findings.push({ path: e.path, kind: e.credential });
  }
  if (findings.length > 0) {
    const { message, hint } = describeCredentialFindings(findings);
    throw new BuildContextError(message, { paths: findings.map((f) => f.path), hint });
  }
}

function checkPlatform(platform: string): void {
  if (!PLATFORM.test(platform)) {
    throw new ConfigError(
      `[vertex-launch] [build] Platform "${platform}" is not of the form os/arch, e.g. linux/amd64.`,
      [{ path: 'platform', message: 'expected os/arch[/variant]', severity: 'error' }],
      { hint: 'Vertex AI runs linux/amd64 images; leave `platform` unset to build for it.' },
    );
  }
}

/** The listing the fingerprint hashes: the records of all entries, in path order. */
function listingOf(scan: Scan, cache: StatCache): string[] {
  return scan.entries.map((e) => recordOf(e, cache));
}

function computeFingerprint(scan: Scan, options: FingerprintOptions, listing: Buffer | readonly string[]): string {
  const platform = options.platform ?? DEFAULT_PLATFORM;
  const buildArgs = Object.entries(options.buildArgs ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const hash = createHash('sha256');
  hash.update(`${FINGERPRINT_VERSION}\n`);
  hash.update(
    `${JSON.stringify({
      platform,
      target: options.target ?? null,
      buildArgs,
      dockerfile: [scan.dockerfilePath, sha256(scan.dockerfileContent)],
    })}\n`,
  );
  if (Buffer.isBuffer(listing)) {
    hash.update(listing);
  } else {
    // In slices: one string of a large listing would be built only to be encoded again.
    for (let i = 0; i < listing.length; i += 1024) hash.update(listing.slice(i, i + 1024).join(''));
  }
  return hash.digest('hex');
}

/** What the stat cache keeps of a run: every entry's record, and the stat key of files read from the tree. */
function cacheRows(entries: readonly Entry[], listing: readonly string[]): CacheRow[] {
  return entries.map((e, i) => ({
    record: listing[i]!,
    mode: e.mode,
    key: isTreeFile(e) ? e : undefined,
    credential: e.credential,
  }));
}

function openCache(root: string, statCachePath: string | false | undefined): StatCache {
  if (statCachePath === false) return StatCache.disabled(root);
  return StatCache.load(statCachePath ?? defaultStatCachePath(root), root, FINGERPRINT_VERSION);
}

async function prepare(options: FingerprintOptions): Promise<{ scan: Scan; manifest: ContextManifest }> {
  checkPlatform(options.platform ?? DEFAULT_PLATFORM);
  const startedAt = nowMs();
  const scan = scanContext(options);
  const cache = openCache(scan.root, options.statCachePath);
  let listing: Buffer | string[];
  if (await hashEntries(scan, cache)) {
    listing = cache.listing(); // nothing changed: the cache stays as it is
  } else {
    const records = listingOf(scan, cache);
    listing = records;
    await cache.save(startedAt, () => cacheRows(scan.entries, records));
  }
  checkCredentials(scan, options.allowSecrets);
  const fingerprint = computeFingerprint(scan, options, listing);
  let bytes = 0;
  for (const e of scan.entries) bytes += e.size;
  const manifest: ContextManifest = {
    entries: scan.entries.length,
    bytes,
    fingerprint,
    tag: `ctx-${fingerprint.slice(0, 12)}`,
    dockerfilePath: scan.dockerfilePath,
    ...(scan.generatedDockerfile === undefined ? {} : { generatedDockerfile: scan.generatedDockerfile }),
    files: scan.entries.map((e) => e.path),
    cache: { hits: cache.hits, misses: cache.misses },
  };
  return { scan, manifest };
}

/**
 * Fingerprint a build context without packing it: scan (honouring `.dockerignore`), refuse escaping symlinks and
 * credential-like files, hash contents (small files read directly, large ones 8 at a time through the thread pool;
 * unchanged files come from the stat cache) and combine them with the Dockerfile, build args, target and platform.
 *
 * @throws BuildContextError for escaping symlinks, credential-like files, files changing while read, no Dockerfile.
 * @throws ConfigError for a missing context directory or Dockerfile, or an invalid platform.
 */
export async function fingerprintContext(options: FingerprintOptions): Promise<ContextManifest> {
  return (await prepare(options)).manifest;
}

const ZEROS = Buffer.alloc(512);
const READ_AHEAD_MAX_FILE = 256 * 1024;
const READ_AHEAD_FILES = 16;

/**
 * The tar stream of `entries`, in chunks that are valid only until the next one is asked for: file contents are
 * read into buffers that are used again (16 of 256 KiB for the small files read ahead, one of 1 MiB for a large file
 * read in chunks), so packing a context allocates a few MiB, not its size. Only for a consumer that copies what it
 * keeps before it asks for more — {@link gzipBlocks} copies each chunk into its block.
 */
async function* tarChunks(entries: readonly Entry[]): AsyncGenerator<Buffer> {
  // Small files are read a few at a time ahead of the writer, so reads overlap with compression.
  // Reads started and not yet taken stay here, so stopping early (the stream destroyed) can wait for them.
  const ahead = new Map<number, { read: Promise<Buffer>; buffer: Buffer }>();
  const free: Buffer[] = [];
  let chunkBuffer: Buffer | undefined;
  let aheadIndex = 0;
  const fill = (): void => {
    while (aheadIndex < entries.length && ahead.size < READ_AHEAD_FILES) {
      const e = entries[aheadIndex]!;
      if (e.type === 'file' && e.content === undefined && e.size > 0 && e.size <= READ_AHEAD_MAX_FILE) {
        const buffer = free.pop() ?? Buffer.allocUnsafe(READ_AHEAD_MAX_FILE);
        const read = readWhole(e, buffer);
        read.catch(() => undefined);
        ahead.set(aheadIndex, { read, buffer });
      }
      aheadIndex++;
    }
  };
  try {
    for (let i = 0; i < entries.length; i++) {
      fill();
      const e = entries[i]!;
      yield entryHeader(e.path, e.type, e.mode, e.type === 'file' ? e.size : 0, e.linkname);
      if (e.type !== 'file' || e.size === 0) continue;
      if (e.content !== undefined) {
        yield e.content;
      } else {
        const pending = ahead.get(i);
        if (pending !== undefined) {
          ahead.delete(i);
          yield await pending.read;
          free.push(pending.buffer); // the consumer asked for more: it is done with the content
        } else {
          chunkBuffer ??= Buffer.allocUnsafe(CHUNK);
          for await (const chunk of readChunks(e, chunkBuffer)) yield chunk;
        }
      }
      const pad = padding(e.size);
      if (pad > 0) yield ZEROS.subarray(0, pad);
    }
    yield endOfArchive();
  } catch (error) {
    throw changedError(error);
  } finally {
    // Reached when the archive is complete, when a read fails, and when the stream is destroyed early (the
    // generator is returned): no file of the context stays open or is read after this generator has ended.
    await Promise.allSettled([...ahead.values()].map((a) => a.read));
  }
}

const DEFAULT_COMPRESSION = 6;

function checkCompression(level: number | undefined): number {
  if (level === undefined) return DEFAULT_COMPRESSION;
  if (!Number.isInteger(level) || level < 0 || level > 9) {
    throw new ConfigError(
      `[vertex-launch] [build] compression ${level} is not a gzip level: expected an integer from 0 (store) to 9 (smallest).`,
      [{ path: 'compression', message: 'expected an integer 0-9', severity: 'error' }],
      { hint: 'Leave `compression` unset for level 6, or pass e.g. `compression: 1` to pack faster.' },
    );
  }
  return level;
}

/**
 * A build context scanned, checked and fingerprinted once: its manifest (with the content tag) and as many
 * deterministic tar.gz streams of it as the builder needs (a retried upload packs it again without a new scan).
 * Made by {@link prepareContext}; `resolveImage()` hands it to the builder in `BuildRequest.context`.
 */
export interface PreparedContext {
  readonly manifest: ContextManifest;
  /**
   * A new deterministic tar.gz stream of the context (not yet flowing); it errors if a file changed since the scan.
   * `compression` (gzip level 0-9) defaults to the one the context was prepared with (6 unless set). Await its
   * `close()` before the build settles (see {@link PackedContext.close}).
   */
  pack(options?: { compression?: number | undefined }): PackedContext;
}

function packScan(scan: Scan, manifest: ContextManifest, level: number): PackedContext {
  const stream = Readable.from(gzipBlocks(tarChunks(scan.entries), { level }), { objectMode: false });
  // `Readable.from` emits 'close' only once its generator has ended: destroying the stream returns the generator,
  // which returns tarChunks (waiting for the read it is in, and for the read-ahead in its `finally`) before it ends.
  const readsDone = new Promise<void>((resolve) => stream.once('close', () => resolve()));
  const close = async (): Promise<void> => {
    stream.destroy();
    await readsDone;
  };
  return { stream, manifest, close };
}

/**
 * Scan, check and fingerprint a build context once (the checks of {@link fingerprintContext}), keeping the scan so
 * the context can be packed later — as often as needed — without scanning or hashing again.
 *
 * @throws BuildContextError / ConfigError as {@link fingerprintContext}.
 */
export async function prepareContext(options: FingerprintOptions): Promise<PreparedContext> {
  const level = checkCompression(options.compression);
  const { scan, manifest } = await prepare(options);
  return {
    manifest,
    pack: (packOptions = {}) =>
      packScan(
        scan,
        manifest,
        packOptions.compression === undefined ? level : checkCompression(packOptions.compression),
      ),
  };
}

/**
 * Pack a build context as a deterministic tar.gz: entries sorted by path, mtime 0, uid/gid 0, no user/group names,
 * modes 0644/0755 (by the owner's executable bit; directories 0755), symlinks kept as links, pax headers for long or
 * non-ASCII names. The tar is gzipped on all cores (fixed-size blocks deflated in parallel into one standard gzip
 * member, no timestamp, a fixed OS byte) at level `compression` (default 6): the same sources and level give the
 * same bytes. Files are streamed (a few small ones read ahead), never the whole context in memory. The same checks
 * as {@link fingerprintContext} run first, so a refused context rejects before any byte is produced and the manifest
 * (with the tag) is known before packing.
 *
 * The stream errors with a {@link BuildContextError} when a file changes while it is packed.
 *
 * @throws ConfigError for a `compression` that is not an integer 0-9, and as {@link fingerprintContext}.
 */
export async function packContext(options: FingerprintOptions): Promise<PackedContext> {
  return (await prepareContext(options)).pack();
}

/**
 * The content-addressed image reference `<image>:ctx-<12 hex>`.
 *
 * @param imageWithoutTag e.g. `europe-docker.pkg.dev/my-project/train/trainer` (no tag, no digest).
 * @throws ConfigError when `imageWithoutTag` already has a tag or digest.
 */
export function contextTag(imageWithoutTag: string, manifest: Pick<ContextManifest, 'tag'>): string {
  const lastSegment = imageWithoutTag.slice(imageWithoutTag.lastIndexOf('/') + 1);
  if (imageWithoutTag === '' || lastSegment.includes(':') || lastSegment.includes('@')) {
    throw new ConfigError(
      `[vertex-launch] [build] Image "${imageWithoutTag}" must be given without a tag or digest; the tag is derived from the content.`,
      [{ path: 'image', message: 'must not have a tag or digest', severity: 'error' }],
      { hint: `Pass e.g. "${imageWithoutTag.replace(/[:@][^/]*$/, '')}".` },
    );
  }
  return `${imageWithoutTag}:${manifest.tag}`;
}

/**
 * Files of a build context that look like credentials (service-account keys, refresh tokens, `.env` files, private
 * keys, npm tokens), honouring `.dockerignore` and leaving out paths covered by `allowSecrets`. Reads at most the
 * first 64 KiB of files up to 1 MiB; never returns contents.
 */
export async function findCredentialFiles(
  options: Pick<PackOptions, 'contextDir' | 'ignoreGit' | 'allowSecrets'>,
): Promise<CredentialFinding[]> {
  const root = resolveRoot(options.contextDir);
  const { entries } = walk(root, readDockerignore(root), options.ignoreGit ?? true, new Set(['.dockerignore']));
  const allowed = normalizeAllowSecrets(options.allowSecrets);
  const files = entries.filter((e) => e.type === 'file' && !isAllowedSecret(e.path, allowed));
  const findings: CredentialFinding[] = [];
  await forEachLimited(files, HASH_CONCURRENCY, async (e) => {
    const head = shouldSniff(e.size) ? await readHead(e.abs, SNIFF_BYTES) : undefined;
    const kind = sniffCredential(e.path, head);
    if (kind !== undefined) findings.push({ path: e.path, kind });
  });
  return findings.sort(byPath);
}
