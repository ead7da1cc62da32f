/**
 * Artifact Registry API (`google.devtools.artifactregistry.v1.ArtifactRegistry`) over the emulator's TLS gRPC:
 * repositories (get, list, create, delete), Docker images (get, list), packages (get, list) and tags
 * (get, list). Repositories are metadata the emulator keeps; images, packages and tags are read live from the
 * local registry's content, so what `docker push` stored is what the API reports.
 */
import { randomUUID } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import { VERTEX_AI_REGIONS } from '@vertex-launch/core';
import { EmulatorError, type ServiceContext } from '../context.js';
import { type LroOperation, type OperationOwner, packAny } from '../grpc/operations.js';
import { loadClientProtos, lookup } from '../grpc/protos.js';
import { type GrpcServiceModule, unary } from '../grpc/server.js';
import type { PolicyStore } from '../iam-policies.js';
import { registryName } from '../registry/names.js';
import type { ManifestInfo, RegistryReader } from '../registry/reader.js';
import type { RepositoryRecord, RepositoryStore } from './repositories.js';

const PACKAGE = '@google-cloud/artifact-registry';
const PROTO = 'google/devtools/artifactregistry/v1/service.proto';
const SERVICE = 'google.devtools.artifactregistry.v1.ArtifactRegistry';
const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;

/** Options of {@link ArtifactRegistryService}. */
export interface ArtifactRegistryServiceOptions {
  ctx: ServiceContext;
  repositories: RepositoryStore;
  registry: RegistryReader;
  /** Resolves the caller (throws UNAUTHENTICATED). */
  authenticate(authorization: string | undefined): void;
  /** The IAM policies (repository policies live here, keyed by the repository name). */
  policies: PolicyStore;
}

/** The locations Artifact Registry offers: the regions and the multi-regions. */
const REPOSITORY_LOCATIONS = new Set([...VERTEX_AI_REGIONS, 'us', 'europe', 'asia']);

interface IamPolicyInput {
  version?: number;
  bindings?: { role?: string; members?: string[] }[];
  etag?: Buffer | Uint8Array | string;
}

interface Paged {
  pageSize?: number;
  pageToken?: string;
}

function timestamp(ms: number): { seconds: string; nanos: number } {
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 };
}

function decodeSegment(segment: string, what: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new EmulatorError('INVALID_ARGUMENT', `The ${what} "${segment}" is not valid percent-encoding.`);
  }
}

/** The Artifact Registry gRPC surface; also owns the operations its create/delete calls return. */
export class ArtifactRegistryService implements OperationOwner {
  private readonly operations = new Map<string, LroOperation>();
  private readonly ctx: ServiceContext;
  private serialize: { repository?: (value: unknown) => Buffer } = {};

  constructor(private readonly options: ArtifactRegistryServiceOptions) {
    this.ctx = options.ctx;
  }

  /** The gRPC module for `google.devtools.artifactregistry.v1.ArtifactRegistry`. */
  grpcModules(): GrpcServiceModule[] {
    const root = loadClientProtos(PACKAGE, [PROTO]);
    const service = lookup<grpc.ServiceClientConstructor>(root, SERVICE);
    this.serialize.repository = service.service.GetRepository?.responseSerialize as (value: unknown) => Buffer;
    const impl: grpc.UntypedServiceImplementation = {};
    for (const method of Object.keys(service.service)) {
      impl[method] = unary(async () => {
        throw new EmulatorError(
          'UNIMPLEMENTED',
          `The emulator does not implement ArtifactRegistry.${method}; repositories, Docker images, packages and tags are served.`,
        );
      });
    }
    Object.assign(impl, {
      GetRepository: unary((req: { name?: string }, call) => this.getRepository(req, call.authorization)),
      ListRepositories: unary((req: { parent?: string } & Paged, call) =>
        this.listRepositories(req, call.authorization),
      ),
      CreateRepository: unary((req: { parent?: string; repositoryId?: string; repository?: RepositoryInput }, call) =>
        this.createRepository(req, call.authorization),
      ),
      DeleteRepository: unary((req: { name?: string }, call) => this.deleteRepository(req, call.authorization)),
      ListDockerImages: unary((req: { parent?: string } & Paged, call) =>
        this.listDockerImages(req, call.authorization),
      ),
      GetDockerImage: unary((req: { name?: string }, call) => this.getDockerImage(req, call.authorization)),
      ListPackages: unary((req: { parent?: string } & Paged, call) => this.listPackages(req, call.authorization)),
      GetPackage: unary((req: { name?: string }, call) => this.getPackage(req, call.authorization)),
      ListTags: unary((req: { parent?: string; filter?: string } & Paged, call) =>
        this.listTags(req, call.authorization),
      ),
      GetTag: unary((req: { name?: string }, call) => this.getTag(req, call.authorization)),
      GetIamPolicy: unary((req: { resource?: string }, call) => this.iamPolicy(req, undefined, call.authorization)),
      SetIamPolicy: unary((req: { resource?: string; policy?: IamPolicyInput }, call) =>
        this.iamPolicy(req, req.policy ?? {}, call.authorization),
      ),
    });
    return [{ name: SERVICE, definition: service.service, implementation: impl }];
  }

  /** Operations named `projects/*\/locations/*\/operations/<uuid>` that this surface created. */
  async findOperation(name: string, authorization: string | undefined): Promise<LroOperation | undefined> {
    const operation = this.operations.get(name.replace(/^projects\/[^/]+\//, `projects/${this.ctx.projectId}/`));
    if (!operation) return undefined;
    this.options.authenticate(authorization);
    return operation;
  }

  // ---- calls -----------------------------------------------------------------------------------

  private async call<T>(
    method: string,
    authorization: string | undefined,
    resource: string,
    fn: () => Promise<T>,
  ): Promise<T> {
    await this.ctx.beforeCall(method);
    await this.ctx.authorize(authorization, method, resource);
    const result = await fn();
    await this.ctx.afterCall(method);
    return result;
  }

  private async getRepository(req: { name?: string }, authorization: string | undefined) {
    const ref = this.parseRepositoryName(req.name);
    return this.call('artifactregistry.repositories.get', authorization, ref.name, async () =>
      this.toRepository(this.repository(ref)),
    );
  }

  private async listRepositories(req: { parent?: string } & Paged, authorization: string | undefined) {
    const { project, location, parent } = this.parseParent(req.parent);
    return this.call('artifactregistry.repositories.list', authorization, parent, async () => {
      const all = this.options.repositories.list(project, location);
      const { page, nextPageToken } = paginate(all, req, `repos:${parent}`);
      return { repositories: page.map((r) => this.toRepository(r)), nextPageToken };
    });
  }

  private async createRepository(
    req: { parent?: string; repositoryId?: string; repository?: RepositoryInput },
    authorization: string | undefined,
  ) {
    const { project, location, parent } = this.parseParent(req.parent);
    return this.call('artifactregistry.repositories.create', authorization, parent, async () => {
      if (!REPOSITORY_LOCATIONS.has(location)) {
        throw new EmulatorError(
          'INVALID_ARGUMENT',
          `Location ${location} is not available for Artifact Registry; use a region such as ${this.ctx.region} or a multi-region (us, europe, asia).`,
        );
      }
      if (!this.options.repositories.isOurProject(project)) {
        throw new EmulatorError(
          'PERMISSION_DENIED',
          `Permission 'artifactregistry.repositories.create' denied on resource '${parent}' (or it may not exist); the emulator serves project ${this.ctx.projectId}.`,
        );
      }
      const input = req.repository ?? {};
      const format = input.format && input.format !== 'FORMAT_UNSPECIFIED' ? String(input.format) : undefined;
      if (!format) {
        throw new EmulatorError(
          'INVALID_ARGUMENT',
          'Repository format must be set, e.g. DOCKER (gcloud artifacts repositories create --repository-format=docker).',
        );
      }
      const record = this.options.repositories.create(project, location, req.repositoryId ?? '', {
        format,
        mode: input.mode && input.mode !== 'MODE_UNSPECIFIED' ? String(input.mode) : 'STANDARD_REPOSITORY',
        description: input.description ?? '',
        labels: input.labels ?? {},
        immutableTags: input.dockerConfig?.immutableTags === true,
      });
      const serialize = this.serialize.repository;
      if (!serialize) throw new EmulatorError('INTERNAL', 'The Repository encoder is not loaded.');
      return this.operation(location, {
        response: packAny('google.devtools.artifactregistry.v1.Repository', serialize(this.toRepository(record))),
      });
    });
  }

  /** GetIamPolicy (`policy` undefined) or SetIamPolicy of a repository; a stale etag is ABORTED. */
  private async iamPolicy(req: { resource?: string }, policy: IamPolicyInput | undefined, authorization?: string) {
    const ref = this.parseRepositoryName(req.resource);
    const verb = policy === undefined ? 'getIamPolicy' : 'setIamPolicy';
    return this.call(`artifactregistry.repositories.${verb}`, authorization, ref.name, async () => {
      const name = this.repository(ref).name;
      const etag = policy?.etag;
      const view =
        policy === undefined
          ? this.options.policies.get(name)
          : this.options.policies.set(name, {
              version: policy.version,
              bindings: policy.bindings,
              etag: etag && etag.length > 0 ? Buffer.from(etag as Uint8Array).toString('base64') : undefined,
            });
      return { version: view.version, bindings: view.bindings, etag: Buffer.from(view.etag, 'base64') };
    });
  }

  private async deleteRepository(req: { name?: string }, authorization: string | undefined) {
    const ref = this.parseRepositoryName(req.name);
    return this.call('artifactregistry.repositories.delete', authorization, ref.name, async () => {
      this.repository(ref);
      this.options.repositories.delete(ref.project, ref.location, ref.repository);
      return this.operation(ref.location, {
        response: packAny('google.protobuf.Empty', Buffer.alloc(0)),
      });
    });
  }

  private operation(location: string, result: Pick<LroOperation, 'response'>): LroOperation {
    const op: LroOperation = {
      name: `projects/${this.ctx.projectId}/locations/${location}/operations/${randomUUID()}`,
      done: true,
      metadata: packAny('google.devtools.artifactregistry.v1.OperationMetadata', Buffer.alloc(0)),
      ...result,
    };
    this.operations.set(op.name, op);
    return op;
  }

  private async listDockerImages(req: { parent?: string } & Paged, authorization: string | undefined) {
    const ref = this.parseRepositoryName(req.parent);
    return this.call('artifactregistry.dockerimages.list', authorization, ref.name, async () => {
      const repo = this.repository(ref);
      const images: ReturnType<ArtifactRegistryService['toDockerImage']>[] = [];
      for (const image of await this.imagesOf(repo)) {
        for (const [digest, { manifest, tags }] of await this.manifestsOf(repo, image)) {
          images.push(this.toDockerImage(repo, image, digest, manifest, tags));
        }
      }
      const { page, nextPageToken } = paginate(images, req, `images:${ref.name}`);
      return { dockerImages: page, nextPageToken };
    });
  }

  private async getDockerImage(req: { name?: string }, authorization: string | undefined) {
    const m = /^(projects\/[^/]+\/locations\/[^/]+\/repositories\/[^/]+)\/dockerImages\/([^/]+)$/.exec(req.name ?? '');
    if (!m) {
      throw new EmulatorError(
        'INVALID_ARGUMENT',
        `Invalid Docker image name "${req.name ?? ''}": expected projects/{project}/locations/{location}/repositories/{repository}/dockerImages/{url-encoded image}@sha256:{digest}.`,
      );
    }
    const ref = this.parseRepositoryName(m[1]);
    const [image, digest] = decodeSegment(m[2] as string, 'Docker image').split('@');
    return this.call('artifactregistry.dockerimages.get', authorization, ref.name, async () => {
      const repo = this.repository(ref);
      const manifest =
        image && digest ? await this.options.registry.manifest(this.imageName(repo, image), digest) : undefined;
      if (!manifest || !image || !digest) {
        throw new EmulatorError('NOT_FOUND', `Requested entity was not found: Docker image ${req.name}.`);
      }
      const tags = await this.manifestsOf(repo, image);
      return this.toDockerImage(repo, image, digest, manifest, tags.get(digest)?.tags ?? []);
    });
  }

  private async listPackages(req: { parent?: string } & Paged, authorization: string | undefined) {
    const ref = this.parseRepositoryName(req.parent);
    return this.call('artifactregistry.packages.list', authorization, ref.name, async () => {
      const repo = this.repository(ref);
      const packages = (await this.imagesOf(repo)).map((image) => this.toPackage(repo, image));
      const { page, nextPageToken } = paginate(packages, req, `packages:${ref.name}`);
      return { packages: page, nextPageToken };
    });
  }

  private async getPackage(req: { name?: string }, authorization: string | undefined) {
    const { repo: ref, image } = this.parsePackageName(req.name);
    return this.call('artifactregistry.packages.get', authorization, ref.name, async () => {
      const repo = this.repository(ref);
      if (!(await this.imagesOf(repo)).includes(image)) {
        throw new EmulatorError('NOT_FOUND', `Requested entity was not found: package ${req.name}.`);
      }
      return this.toPackage(repo, image);
    });
  }

  private async listTags(req: { parent?: string; filter?: string } & Paged, authorization: string | undefined) {
    const { repo: ref, image } = this.parsePackageName(req.parent);
    return this.call('artifactregistry.tags.list', authorization, ref.name, async () => {
      const repo = this.repository(ref);
      const versionFilter = parseTagFilter(req.filter);
      const tags: { name: string; version: string }[] = [];
      for (const [digest, { tags: names }] of await this.manifestsOf(repo, image)) {
        for (const tag of names) tags.push(this.toTag(repo, image, tag, digest));
      }
      tags.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const filtered = versionFilter ? tags.filter((t) => t.version === versionFilter) : tags;
      const { page, nextPageToken } = paginate(filtered, req, `tags:${req.parent}:${req.filter ?? ''}`);
      return { tags: page, nextPageToken };
    });
  }

  private async getTag(req: { name?: string }, authorization: string | undefined) {
    const m = /^(.+)\/tags\/([^/]+)$/.exec(req.name ?? '');
    if (!m) {
      throw new EmulatorError(
        'INVALID_ARGUMENT',
        `Invalid tag name "${req.name ?? ''}": expected projects/{project}/locations/{location}/repositories/{repository}/packages/{url-encoded package}/tags/{tag}.`,
      );
    }
    const { repo: ref, image } = this.parsePackageName(m[1]);
    const tag = decodeSegment(m[2] as string, 'tag');
    return this.call('artifactregistry.tags.get', authorization, ref.name, async () => {
      const repo = this.repository(ref);
      const manifest = /^[\w][\w.-]{0,127}$/.test(tag)
        ? await this.options.registry.manifest(this.imageName(repo, image), tag)
        : undefined;
      if (!manifest) throw new EmulatorError('NOT_FOUND', `Requested entity was not found: tag ${req.name}.`);
      return this.toTag(repo, image, tag, manifest.digest);
    });
  }

  // ---- names and reads -------------------------------------------------------------------------

  private parseParent(parent: string | undefined): { project: string; location: string; parent: string } {
    const m = /^projects\/([^/]+)\/locations\/([^/]+)$/.exec(parent ?? '');
    if (!m) {
      throw new EmulatorError(
        'INVALID_ARGUMENT',
        `Invalid parent "${parent ?? ''}": expected projects/{project}/locations/{location}, e.g. projects/${this.ctx.projectId}/locations/${this.ctx.region}.`,
      );
    }
    return { project: m[1] as string, location: m[2] as string, parent: parent as string };
  }

  private parseRepositoryName(name: string | undefined): {
    project: string;
    location: string;
    repository: string;
    name: string;
  } {
    const m = /^projects\/([^/]+)\/locations\/([^/]+)\/repositories\/([^/]+)$/.exec(name ?? '');
    if (!m) {
      throw new EmulatorError(
        'INVALID_ARGUMENT',
        `Invalid repository name "${name ?? ''}": expected projects/{project}/locations/{location}/repositories/{repository}.`,
      );
    }
    return { project: m[1] as string, location: m[2] as string, repository: m[3] as string, name: name as string };
  }

  private parsePackageName(name: string | undefined) {
    const m = /^(projects\/[^/]+\/locations\/[^/]+\/repositories\/[^/]+)\/packages\/([^/]+)$/.exec(name ?? '');
    if (!m) {
      throw new EmulatorError(
        'INVALID_ARGUMENT',
        `Invalid package name "${name ?? ''}": expected projects/{project}/locations/{location}/repositories/{repository}/packages/{package}, with a nested image path URL-encoded (team%2Fapp).`,
      );
    }
    return { repo: this.parseRepositoryName(m[1]), image: decodeSegment(m[2] as string, 'package') };
  }

  private repository(ref: { project: string; location: string; repository: string; name: string }): RepositoryRecord {
    const repo = this.options.repositories.isOurProject(ref.project)
      ? this.options.repositories.find(ref.project, ref.location, ref.repository)
      : undefined;
    if (!repo) {
      throw new EmulatorError(
        'NOT_FOUND',
        `Requested entity was not found: repository ${ref.name}. Create it with gcloud artifacts repositories create ${ref.repository} --repository-format=docker --location=${ref.location}.`,
      );
    }
    return repo;
  }

  private repoParts(repo: RepositoryRecord) {
    const [, project, , location, , repository] = repo.name.split('/') as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    return { project, location, repository };
  }

  private imageName(repo: RepositoryRecord, image: string): string {
    return registryName({ ...this.repoParts(repo), image });
  }

  /** Image paths in the repository (from the registry catalog). */
  private async imagesOf(repo: RepositoryRecord): Promise<string[]> {
    if (repo.format !== 'DOCKER') return [];
    const prefix = `${this.imageName(repo, '')}`;
    return (await this.options.registry.catalog())
      .filter((n) => n.startsWith(prefix))
      .map((n) => n.slice(prefix.length))
      .sort();
  }

  /** digest -> manifest and the tags pointing at it, for one image (tagged ones plus digests pushed untagged). */
  private async manifestsOf(repo: RepositoryRecord, image: string) {
    const name = this.imageName(repo, image);
    const result = new Map<string, { manifest: ManifestInfo; tags: string[] }>();
    for (const tag of await this.options.registry.tags(name)) {
      const manifest = await this.options.registry.manifest(name, tag);
      if (!manifest) continue;
      const entry = result.get(manifest.digest) ?? { manifest, tags: [] };
      entry.tags.push(tag);
      result.set(manifest.digest, entry);
    }
    for (const digest of this.options.repositories.uploadedDigests(name)) {
      if (result.has(digest)) continue;
      const manifest = await this.options.registry.manifest(name, digest);
      if (manifest) result.set(digest, { manifest, tags: [] });
    }
    return result;
  }

  // ---- messages --------------------------------------------------------------------------------

  private toRepository(r: RepositoryRecord) {
    return {
      name: r.name,
      format: r.format,
      mode: r.mode,
      description: r.description,
      labels: r.labels,
      createTime: timestamp(r.createTime),
      updateTime: timestamp(r.updateTime),
      ...(r.format === 'DOCKER' ? { dockerConfig: { immutableTags: r.immutableTags } } : {}),
      sizeBytes: '0',
    };
  }

  private toDockerImage(repo: RepositoryRecord, image: string, digest: string, manifest: ManifestInfo, tags: string[]) {
    const name = this.imageName(repo, image);
    const uploaded = this.options.repositories.uploadTime(name, digest) ?? repo.createTime;
    return {
      name: `${repo.name}/dockerImages/${encodeURIComponent(image)}@${digest}`,
      uri: `${name}@${digest}`,
      tags: [...tags].sort(),
      imageSizeBytes: String(manifest.sizeBytes),
      uploadTime: timestamp(uploaded),
      updateTime: timestamp(uploaded),
      mediaType: manifest.mediaType,
      imageManifests: manifest.platforms,
    };
  }

  private toPackage(repo: RepositoryRecord, image: string) {
    return {
      name: `${repo.name}/packages/${encodeURIComponent(image)}`,
      displayName: image,
      createTime: timestamp(repo.createTime),
      updateTime: timestamp(repo.updateTime),
    };
  }

  private toTag(repo: RepositoryRecord, image: string, tag: string, digest: string) {
    const pkg = `${repo.name}/packages/${encodeURIComponent(image)}`;
    return { name: `${pkg}/tags/${tag}`, version: `${pkg}/versions/${digest}` };
  }
}

/** The writable fields of a `Repository` in CreateRepository. */
interface RepositoryInput {
  format?: string | number;
  mode?: string | number;
  description?: string;
  labels?: Record<string, string>;
  dockerConfig?: { immutableTags?: boolean };
}

/** `version="projects/.../versions/sha256:..."` (the one ListTags filter the SDK uses). */
function parseTagFilter(filter: string | undefined): string | undefined {
  if (!filter?.trim()) return undefined;
  const m = /^\s*version\s*=\s*"([^"]+)"\s*$/.exec(filter);
  if (!m) {
    throw new EmulatorError(
      'INVALID_ARGUMENT',
      `Unsupported tag filter "${filter}": the emulator supports version="<version resource name>".`,
    );
  }
  return m[1];
}

function paginate<T>(items: readonly T[], req: Paged, key: string): { page: T[]; nextPageToken: string } {
  if (req.pageSize !== undefined && req.pageSize < 0) {
    throw new EmulatorError('INVALID_ARGUMENT', `page_size must not be negative; got ${req.pageSize}.`);
  }
  const size = req.pageSize && req.pageSize > 0 ? Math.min(req.pageSize, MAX_PAGE_SIZE) : DEFAULT_PAGE_SIZE;
  let offset = 0;
  if (req.pageToken) {
    let decoded: { o?: unknown; k?: unknown } = {};
    try {
      decoded = JSON.parse(Buffer.from(req.pageToken, 'base64url').toString('utf8'));
    } catch {
      /* invalid below */
    }
    if (typeof decoded.o !== 'number' || decoded.k !== key) {
      throw new EmulatorError(
        'INVALID_ARGUMENT',
        'Invalid page_token: pass the next_page_token of the previous response unchanged, with the same request.',
      );
    }
    offset = decoded.o;
  }
  const page = items.slice(offset, offset + size);
  const more = offset + size < items.length;
  return {
    page,
    nextPageToken: more ? Buffer.from(JSON.stringify({ o: offset + size, k: key })).toString('base64url') : '',
  };
}
