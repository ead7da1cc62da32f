import {
  ApiError,
  type AuthClientLike,
  type AuthCredentials,
  AuthError,
  type Clock,
  ConfigError,
  credentialRefusalMessage,
  type EmulatorConnection,
  emulatorConnectionOf,
  emulatorGrpcClientOptions,
  endpointsOption,
  GrpcCode,
  grpcCodeOf,
  isCredentialRefusal,
  optionsError,
  PermissionError,
  type RetryPolicy,
  retry,
  type ServiceEndpoints,
  unknownOptions,
} from '@vertex-launch/core';
import {
  type ArtifactImageRef,
  formatImageUri,
  parseImageUri,
  repositoryResourceName,
  tagResourceName,
} from './image-uri.js';

const PLUGIN = '[vertex-launch] [registry:artifact-registry]';

/**
 * How a read is tried again while it fails with a transient gRPC code (gax retries no Artifact Registry read by
 * itself): 5 attempts, full jitter under a bound of 200 ms doubling.
 */
const READ_RETRY: RetryPolicy = { maxAttempts: 5, initialDelayMs: 200, multiplier: 2 };

/** Options of {@link artifactRegistry}. Give `credentials` or `authClient`. */
export interface ArtifactRegistryOptions {
  /** Credentials from `@vertex-launch/auth` (preferred: `accessToken()` feeds the push credentials). */
  credentials?: AuthCredentials;
  /** A bare google-auth-library client, when no {@link AuthCredentials} are at hand. */
  authClient?: AuthClientLike;
  /**
   * Where the Google APIs are: the runtime's `endpoints` (from `resolveRuntime()` or `resolveServiceEndpoints()`),
   * Google's or the emulator's. Default: those of `env`.
   */
  endpoints?: ServiceEndpoints;
  /** Environment to read the endpoints from when `endpoints` is not given. Default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Extra options for `new ArtifactRegistryClient(...)` (e.g. `apiEndpoint` for a private endpoint). */
  clientOptions?: Record<string, unknown>;
  /** Sleeps between the attempts of a read. Default: the system clock. */
  clock?: Clock;
  /** Jitter of the retry delays, numbers in [0, 1). Default `Math.random`; tests pass a seeded one. */
  random?: () => number;
}

/** What {@link ArtifactRegistryPlugin.ensureRepository} checks: an image URI or the repository's coordinates. */
export type RepositoryRef = string | Pick<ArtifactImageRef, 'project' | 'location' | 'repository'>;

/** What {@link ArtifactRegistryPlugin.describeRepository} found. */
export type RepositoryDescription =
  | { exists: false; name: string }
  | {
      exists: true;
      /** `projects/<p>/locations/<l>/repositories/<r>`. */
      name: string;
      /** The repository format, e.g. `DOCKER`, `PYTHON`. */
      format: string;
      /** Where the repository is, e.g. `us-central1` or `us`. */
      location: string;
    };

/** A repository that exists and holds Docker images. */
export interface RepositoryInfo {
  /** `projects/<p>/locations/<l>/repositories/<r>`. */
  name: string;
  location: string;
  repository: string;
  project: string;
  /** True when this call created it. */
  created: boolean;
}

/** Docker Engine `authconfig` for a push: `oauth2accesstoken` and a fresh access token. Never log it. */
export interface DockerPushCredentials {
  username: 'oauth2accesstoken';
  password: string;
  /** `<location>-docker.pkg.dev`, or the emulator registry's `127.0.0.1:<port>`. */
  serveraddress: string;
}

/** The Artifact Registry plugin object. */
export interface ArtifactRegistryPlugin {
  readonly name: 'artifact-registry';
  /** True when the image's tag (default `latest`) exists; one GetTag call (again on transient errors); NOT_FOUND is false. */
  tagExists(uri: string): Promise<boolean>;
  /**
   * The repository as it is: missing, or its format and location (one GetRepository call). Throws PermissionError /
   * AuthError / ApiError when it cannot be read.
   */
  describeRepository(ref: RepositoryRef): Promise<RepositoryDescription>;
  /** Checks that the repository exists, is a DOCKER repository in the expected location; creates it only with `create: true`. */
  ensureRepository(ref: RepositoryRef, options?: { create?: boolean }): Promise<RepositoryInfo>;
  /**
   * Adds `{ role, member }` bindings to the repository's IAM policy (GetIamPolicy, then SetIamPolicy with its etag;
   * on ABORTED — a concurrent change — read again and retry). Never removes a binding; writes nothing when all are
   * there. Resolves the members that were added.
   */
  addRepositoryBindings(
    ref: RepositoryRef,
    bindings: readonly { role: string; member: string }[],
  ): Promise<{ added: { role: string; member: string }[]; conflicts: number }>;
  /** Credentials for `docker push` of `uri` (the registry address follows the URI, or the emulator). */
  pushCredentials(uri: string): Promise<DockerPushCredentials>;
  /** The manifest digest (`sha256:...`) the image's tag points at, or undefined when the tag does not exist. */
  getDigest(uri: string): Promise<string | undefined>;
  /** True when the repository of the image exists (one GetRepository call; of any format). */
  repositoryExists(uri: string): Promise<boolean>;
  /** Closes the underlying client (if one was created). */
  close(): Promise<void>;
}

type Client = InstanceType<typeof import('@google-cloud/artifact-registry').ArtifactRegistryClient>;
/** google.iam.v1.Policy as the client takes it. */
type IamPolicy = import('@google-cloud/artifact-registry').protos.google.iam.v1.IPolicy;

interface GrpcLikeError {
  details?: string;
  message?: string;
}

/**
 * Creates the Artifact Registry plugin. Options are checked now; the Google client is created on first use.
 *
 * ```ts
 * const registry = artifactRegistry({ credentials });
 * if (!(await registry.tagExists(uri))) { ... build and push ... }
 * ```
 */
export function artifactRegistry(options: ArtifactRegistryOptions): ArtifactRegistryPlugin {
  checkOptions(options);
  const authClient = options.credentials?.authClient ?? (options.authClient as AuthClientLike);
  const emulator = emulatorConnectionOf(endpointsOption(options.endpoints, options.env));
  let clientPromise: Promise<Client> | undefined;
  const client = () => {
    clientPromise ??= createClient(authClient, emulator, options.clientOptions).catch((error: unknown) => {
      clientPromise = undefined;
      throw error;
    });
    return clientPromise;
  };
  const retryRead = <T>(read: () => Promise<T>): Promise<T> =>
    retry(read, {
      policy: READ_RETRY,
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.random ? { random: options.random } : {}),
    });

  const getTag = async (ref: ArtifactImageRef): Promise<string | undefined> => {
    const name = tagResourceName(ref);
    try {
      const c = await client();
      const [tag] = await retryRead(() => c.getTag({ name }));
      return tag.version ?? undefined;
    } catch (error) {
      if (grpcCodeOf(error) === GrpcCode.NOT_FOUND) return undefined;
      throw apiError(
        error,
        `look up tag ${ref.tag} of ${formatImageUri({ ...ref, digest: undefined })}`,
        'artifactregistry.tags.get',
      );
    }
  };

  async function describeRepository(refOrUri: RepositoryRef): Promise<RepositoryDescription> {
    const ref = typeof refOrUri === 'string' ? parseImageUri(refOrUri) : refOrUri;
    const name = repositoryResourceName(ref);
    const c = await client();
    let repository: { name?: string | null; format?: unknown } | undefined;
    try {
      [repository] = await retryRead(() => c.getRepository({ name }));
    } catch (error) {
      if (grpcCodeOf(error) === GrpcCode.NOT_FOUND) return { exists: false, name };
      throw apiError(
        error,
        `check repository ${ref.repository} in ${ref.location}`,
        'artifactregistry.repositories.get',
      );
    }
    return {
      exists: true,
      name,
      format: formatName(repository.format),
      location: repository.name?.split('/')[3] ?? ref.location,
    };
  }

  return {
    name: 'artifact-registry',

    async tagExists(uri) {
      const ref = withDefaultTag(parseImageUri(uri));
      return (await getTag(ref)) !== undefined;
    },

    async getDigest(uri) {
      const ref = parseImageUri(uri);
      if (ref.digest !== undefined) {
        const name = `${repositoryResourceName(ref)}/dockerImages/${encodeURIComponent(ref.image)}@${ref.digest}`;
        try {
          const c = await client();
          await retryRead(() => c.getDockerImage({ name }));
          return ref.digest;
        } catch (error) {
          if (grpcCodeOf(error) === GrpcCode.NOT_FOUND) return undefined;
          throw apiError(error, `look up ${uri}`, 'artifactregistry.dockerimages.get');
        }
      }
      const version = await getTag(withDefaultTag(ref));
      return version === undefined ? undefined : version.slice(version.lastIndexOf('/') + 1);
    },

    describeRepository,

    async repositoryExists(uri) {
      return (await describeRepository(uri)).exists;
    },

    async ensureRepository(refOrUri, ensureOptions = {}) {
      const ref = typeof refOrUri === 'string' ? parseImageUri(refOrUri) : refOrUri;
      const name = repositoryResourceName(ref);
      const c = await client();
      const fix = `gcloud artifacts repositories create ${ref.repository} --repository-format=docker --location=${ref.location} --project=${ref.project}`;
      const found = await describeRepository(ref);
      if (found.exists) {
        if (found.format !== 'DOCKER') {
          throw new ConfigError(
            `${PLUGIN} Repository "${ref.repository}" in ${ref.location} (project ${ref.project}) has format ${found.format}, but images need a DOCKER repository. Use another repository, or create one: ${fix}.`,
          );
        }
        if (found.location !== ref.location) {
          throw new ConfigError(
            `${PLUGIN} Repository "${ref.repository}" is in ${found.location}, but the image URI names ${ref.location}. Use ${found.location}-docker.pkg.dev in the image URI.`,
          );
        }
        return { name, location: ref.location, repository: ref.repository, project: ref.project, created: false };
      }
      if (!ensureOptions.create) {
        throw new ConfigError(
          `${PLUGIN} Artifact Registry repository "${ref.repository}" does not exist in ${ref.location} (project ${ref.project}). Create it: ${fix} — or let Vertex Launch create it ({ create: true }).`,
        );
      }
      try {
        const [operation] = await c.createRepository({
          parent: `projects/${ref.project}/locations/${ref.location}`,
          repositoryId: ref.repository,
          repository: { format: 'DOCKER', description: 'Created by Vertex Launch.' },
        });
        await operation.promise();
        return { name, location: ref.location, repository: ref.repository, project: ref.project, created: true };
      } catch (error) {
        if (grpcCodeOf(error) === GrpcCode.ALREADY_EXISTS) {
          return { name, location: ref.location, repository: ref.repository, project: ref.project, created: false };
        }
        throw apiError(
          error,
          `create repository ${ref.repository} in ${ref.location} (or create it yourself: ${fix})`,
          'artifactregistry.repositories.create',
        );
      }
    },

    async addRepositoryBindings(refOrUri, wanted) {
      const ref = typeof refOrUri === 'string' ? parseImageUri(refOrUri) : refOrUri;
      const resource = repositoryResourceName(ref);
      const c = await client();
      let conflicts = 0;
      for (let attempt = 1; ; attempt++) {
        let policy: IamPolicy;
        try {
          [policy] = await retryRead(() => c.getIamPolicy({ resource, options: { requestedPolicyVersion: 3 } }));
        } catch (error) {
          throw apiError(error, `read the IAM policy of ${resource}`, 'artifactregistry.repositories.getIamPolicy');
        }
        const bindings = (policy.bindings ??= []);
        const added: { role: string; member: string }[] = [];
        for (const { role, member } of wanted) {
          const holder = bindings.find((b) => b.role === role && !b.condition);
          if (holder?.members?.includes(member)) continue;
          added.push({ role, member });
          if (holder) holder.members = [...(holder.members ?? []), member];
          else bindings.push({ role, members: [member] });
        }
        if (added.length === 0) return { added, conflicts };
        try {
          await c.setIamPolicy({ resource, policy });
          return { added, conflicts };
        } catch (error) {
          if (grpcCodeOf(error) === GrpcCode.ABORTED && attempt < 5) {
            conflicts++;
            continue;
          }
          throw apiError(
            error,
            `grant ${added.map((a) => `${a.role} to ${a.member}`).join(', ')} on ${resource}`,
            'artifactregistry.repositories.setIamPolicy',
          );
        }
      }
    },

    async pushCredentials(uri) {
      const ref = parseImageUri(uri);
      let token: string | undefined;
      try {
        token = options.credentials
          ? (await options.credentials.accessToken()).token
          : ((await authClient.getAccessToken()).token ?? undefined);
      } catch (error) {
        throw new AuthError(`${PLUGIN} Could not get an access token to push ${uri}: ${(error as Error).message}`, {
          cause: error,
        });
      }
      if (!token) throw new AuthError(`${PLUGIN} The credentials returned no access token to push ${uri}.`);
      return {
        username: 'oauth2accesstoken',
        password: token,
        serveraddress: emulator?.registry ?? ref.host,
      };
    },

    async close() {
      const pending = clientPromise;
      clientPromise = undefined;
      if (pending) await (await pending.catch(() => undefined))?.close();
    },
  };
}

/** Every option of {@link artifactRegistry}. */
const OPTIONS: readonly (keyof ArtifactRegistryOptions)[] = [
  'credentials',
  'authClient',
  'endpoints',
  'env',
  'clientOptions',
];

function checkOptions(options: ArtifactRegistryOptions): void {
  if (options === null || typeof options !== 'object') {
    throw new ConfigError(`${PLUGIN} Options must be an object with \`credentials\` or \`authClient\`.`);
  }
  const unknown = unknownOptions(options, OPTIONS, { emulator: 'endpoints' });
  if (unknown.length > 0) throw optionsError(PLUGIN, unknown, 'Check the options passed to artifactRegistry().');
  const issues: { path: string; message: string; severity: 'error' }[] = [];
  if (options.credentials === undefined && options.authClient === undefined) {
    issues.push({
      path: 'credentials',
      message: 'Missing required option `credentials` (or `authClient`)',
      severity: 'error',
    });
  }
  if (options.credentials !== undefined && options.authClient !== undefined) {
    issues.push({ path: 'authClient', message: 'Give `credentials` or `authClient`, not both', severity: 'error' });
  }
  if (options.credentials !== undefined && typeof options.credentials?.accessToken !== 'function') {
    issues.push({ path: 'credentials', message: 'must be AuthCredentials (with accessToken())', severity: 'error' });
  }
  if (options.authClient !== undefined && typeof options.authClient?.getRequestHeaders !== 'function') {
    issues.push({
      path: 'authClient',
      message: 'must be a google-auth-library client (with getRequestHeaders())',
      severity: 'error',
    });
  }
  if (issues.length > 0) {
    throw new ConfigError(`${PLUGIN} ${issues.map((i) => `${i.message}.`).join(' ')}`, issues);
  }
}

function withDefaultTag(ref: ArtifactImageRef): ArtifactImageRef {
  return ref.tag === undefined ? { ...ref, tag: 'latest' } : ref;
}

const FORMATS: Record<number, string> = {
  0: 'FORMAT_UNSPECIFIED',
  1: 'DOCKER',
  2: 'MAVEN',
  3: 'NPM',
  5: 'APT',
  6: 'YUM',
  8: 'PYTHON',
};

function formatName(format: unknown): string {
  return typeof format === 'number' ? (FORMATS[format] ?? String(format)) : String(format ?? 'FORMAT_UNSPECIFIED');
}

/** Maps a gRPC error to the SDK's error family, with the action that failed and the permission it needs. */
function apiError(error: unknown, action: string, permission: string): Error {
  const e = error as GrpcLikeError;
  const detail = e.details ?? e.message ?? String(error);
  const code = grpcCodeOf(error);
  if (code === GrpcCode.PERMISSION_DENIED) {
    return new PermissionError(
      `${PLUGIN} Permission denied to ${action}: ${detail}. Grant ${permission} to the caller.`,
      {
        cause: error,
        permission,
      },
    );
  }
  if (isCredentialRefusal(error)) {
    return new AuthError(
      `${PLUGIN} Not authenticated to ${action}: the credentials were refused: ${credentialRefusalMessage(detail)}. Refresh your credentials (gcloud auth login).`,
      {
        cause: error,
      },
    );
  }
  return new ApiError('artifact-registry', `${PLUGIN} Could not ${action}: ${detail}`, {
    cause: error,
    ...(code === undefined ? {} : { grpcCode: code }),
  });
}

/** Builds the Google client: against the emulator (TLS with its CA + per-call credentials) or Google. */
async function createClient(
  authClient: AuthClientLike,
  emulator: EmulatorConnection | undefined,
  clientOptions: Record<string, unknown> | undefined,
): Promise<Client> {
  const { ArtifactRegistryClient } = await import('@google-cloud/artifact-registry');
  if (!emulator) return new ArtifactRegistryClient({ authClient, ...clientOptions } as never);
  const { grpc } = await import('google-gax');
  const options = await emulatorGrpcClientOptions(grpc as never, emulator, authClient, PLUGIN);
  return new ArtifactRegistryClient({ ...options, ...clientOptions } as never);
}
