/**
 * The Artifact Registry repositories the emulator knows (the API's `Repository` resources) and the push times
 * the registry proxy records. Image content lives in the local Docker registry; this holds only metadata.
 */
import { EmulatorError } from '../context.js';

/** A repository as stored (times in ms on the emulator clock). */
export interface RepositoryRecord {
  /** `projects/<project id>/locations/<location>/repositories/<id>`. */
  name: string;
  /** The Format enum name, e.g. `DOCKER`. */
  format: string;
  /** The Mode enum name, e.g. `STANDARD_REPOSITORY`. */
  mode: string;
  description: string;
  labels: Record<string, string>;
  immutableTags: boolean;
  createTime: number;
  updateTime: number;
}

/** What persists between runs. */
export interface RepositoryState {
  repositories: RepositoryRecord[];
  /** `<registry image name>@<digest>` -> upload time (ms). */
  uploads: Record<string, number>;
}

/** The repository id rule of Artifact Registry. */
export const REPOSITORY_ID = /^[a-z]([a-z0-9-]*[a-z0-9])?$/;
const LOCATION = /^[a-z][a-z0-9-]*[a-z0-9]$/;

/** Options of {@link RepositoryStore}. */
export interface RepositoryStoreOptions {
  projectId: string;
  projectNumber: string;
  now(): number;
  onChange(): void;
}

/** Repositories keyed by canonical name, plus push times. */
export class RepositoryStore {
  private readonly repositories = new Map<string, RepositoryRecord>();
  private readonly uploads = new Map<string, number>();

  constructor(private readonly options: RepositoryStoreOptions) {}

  /** True when `project` is the emulated project, by id or number. */
  isOurProject(project: string): boolean {
    return project === this.options.projectId || project === this.options.projectNumber;
  }

  /** The canonical name (project id form) of a repository. */
  canonicalName(project: string, location: string, repositoryId: string): string {
    const p = this.isOurProject(project) ? this.options.projectId : project;
    return `projects/${p}/locations/${location}/repositories/${repositoryId}`;
  }

  /** The repository, or undefined. Accepts the project id or number. */
  find(project: string, location: string, repositoryId: string): RepositoryRecord | undefined {
    return this.repositories.get(this.canonicalName(project, location, repositoryId));
  }

  /** All repositories of a location of the project, sorted by name. */
  list(project: string, location: string): RepositoryRecord[] {
    const prefix = `${this.canonicalName(project, location, '')}`;
    return [...this.repositories.values()].filter((r) => r.name.startsWith(prefix)).sort(byName);
  }

  /** Creates a repository; ALREADY_EXISTS when the name is taken, INVALID_ARGUMENT for a bad id or location. */
  create(
    project: string,
    location: string,
    repositoryId: string,
    fields: Partial<Pick<RepositoryRecord, 'format' | 'mode' | 'description' | 'labels' | 'immutableTags'>> = {},
  ): RepositoryRecord {
    if (!REPOSITORY_ID.test(repositoryId) || repositoryId.length > 63) {
      throw new EmulatorError(
        'INVALID_ARGUMENT',
        `Invalid repository id "${repositoryId}": use 1-63 lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen.`,
      );
    }
    if (!LOCATION.test(location)) {
      throw new EmulatorError('INVALID_ARGUMENT', `Invalid location "${location}", e.g. us-central1 or europe.`);
    }
    const name = this.canonicalName(project, location, repositoryId);
    if (this.repositories.has(name)) {
      throw new EmulatorError('ALREADY_EXISTS', `the repository already exists: ${name}`);
    }
    const now = this.options.now();
    const record: RepositoryRecord = {
      name,
      format: fields.format ?? 'DOCKER',
      mode: fields.mode ?? 'STANDARD_REPOSITORY',
      description: fields.description ?? '',
      labels: { ...(fields.labels ?? {}) },
      immutableTags: fields.immutableTags ?? false,
      createTime: now,
      updateTime: now,
    };
    this.repositories.set(name, record);
    this.options.onChange();
    return record;
  }

  /** Removes a repository; false when it did not exist. */
  delete(project: string, location: string, repositoryId: string): boolean {
    const removed = this.repositories.delete(this.canonicalName(project, location, repositoryId));
    if (removed) this.options.onChange();
    return removed;
  }

  /** Notes that the registry accepted a manifest (the API reports it as the image's upload time). */
  recordUpload(imageName: string, digest: string): void {
    this.uploads.set(`${imageName}@${digest}`, this.options.now());
    this.options.onChange();
  }

  /** When the manifest `digest` of `imageName` was pushed through the emulator, if it was. */
  uploadTime(imageName: string, digest: string): number | undefined {
    return this.uploads.get(`${imageName}@${digest}`);
  }

  /** Digests pushed for `imageName` (including ones no tag points at any more). */
  uploadedDigests(imageName: string): string[] {
    const prefix = `${imageName}@`;
    return [...this.uploads.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
  }

  toJSON(): RepositoryState {
    return { repositories: [...this.repositories.values()], uploads: Object.fromEntries(this.uploads) };
  }

  load(state: RepositoryState): void {
    for (const r of state.repositories) this.repositories.set(r.name, r);
    for (const [k, v] of Object.entries(state.uploads)) this.uploads.set(k, v);
  }
}

function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
