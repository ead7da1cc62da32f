/** The Cloud Storage emulator's records and their persistence (one JSON file, written atomically, 0600). */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A bucket as stored (rendered to the JSON API's `storage#bucket` on the way out). */
export interface BucketRecord {
  name: string;
  location: string;
  locationType: string;
  storageClass: string;
  timeCreated: string;
  updated: string;
  metageneration: number;
  /** Uniform bucket-level access (records saved before it was kept: true). */
  uniformAccess?: boolean;
  labels?: Record<string, string>;
}

/** Object fields a client may set at upload time. */
export interface ObjectWritableFields {
  contentType?: string;
  cacheControl?: string;
  contentDisposition?: string;
  contentEncoding?: string;
  contentLanguage?: string;
  metadata?: Record<string, string>;
}

/** The live generation of an object. `dataFile` is relative to the storage root. */
export interface ObjectRecord extends ObjectWritableFields {
  bucket: string;
  name: string;
  generation: string;
  metageneration: number;
  size: number;
  crc32c: string;
  md5Hash: string;
  timeCreated: string;
  updated: string;
  dataFile: string;
}

/** Generation/metageneration preconditions (query parameters of the JSON API). */
export interface Preconditions {
  ifGenerationMatch?: string;
  ifGenerationNotMatch?: string;
  ifMetagenerationMatch?: string;
  ifMetagenerationNotMatch?: string;
}

/** A resumable upload session. The upload id in its URI is the capability to write to it. */
export interface SessionRecord {
  id: string;
  bucket: string;
  name: string;
  fields: ObjectWritableFields;
  expected: { crc32c?: string; md5Hash?: string };
  preconditions: Preconditions;
  /** Declared total size (`X-Upload-Content-Length`, or the `/N` of a Content-Range), if known. */
  totalSize?: number;
  size: number;
  createdAt: number;
  dataFile: string;
  /** Set once the upload committed: later status queries answer with this object. */
  committed?: ObjectRecord;
}

/** Everything the storage surface persists. */
export interface StorageState {
  version: 1;
  lastGeneration: number;
  buckets: BucketRecord[];
  objects: ObjectRecord[];
  sessions: SessionRecord[];
}

const STATE_FILE = 'state.json';

/** Loads the state file under `root`, or undefined when there is none yet. */
export async function loadState(root: string): Promise<StorageState | undefined> {
  let text: string;
  try {
    text = await readFile(join(root, STATE_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let parsed: StorageState;
  try {
    parsed = JSON.parse(text) as StorageState;
  } catch {
    throw new Error(
      `[vertex-launch] [emulator:storage] ${join(root, STATE_FILE)} is not valid JSON. Remove it (and the storage data next to it) to start with empty storage.`,
    );
  }
  if (parsed.version !== 1) {
    throw new Error(
      `[vertex-launch] [emulator:storage] ${join(root, STATE_FILE)} has unsupported version ${String(parsed.version)}; expected 1.`,
    );
  }
  return parsed;
}

/** Writes the state file atomically (temp file + rename), readable only by the owner. */
export async function saveState(root: string, state: StorageState): Promise<void> {
  await mkdir(root, { recursive: true, mode: 0o700 });
  const target = join(root, STATE_FILE);
  const tmp = `${target}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, `${JSON.stringify(state)}\n`, { mode: 0o600, flush: true });
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
