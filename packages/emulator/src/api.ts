/** The public shapes of the emulator: the options of `startEmulator()` and the handle it resolves with. */
import type { EmulatorGrpcClientOptions } from './client-options/grpc.js';
import type { StorageClientOptions } from './client-options/storage.js';
import type { StoredLogEntry } from './context.js';
import type { Fault } from './faults.js';
import type { AuthorizedUserCredentials, ExternalIdentity, ServiceAccountKey } from './iam.js';
import type { AcceleratorQuotaRule, CapacityRule } from './jobs/capacity.js';
import type { JobExecutor } from './jobs/executor.js';

/** Options of {@link startEmulator}. */
export interface EmulatorOptions {
  /** Project id the emulator serves. Default `vxl-emulator`. */
  projectId?: string;
  /** Project number used in Vertex resource names. Default: derived from the project id (12 digits). */
  projectNumber?: string;
  /** Vertex region (location) served. Default `us-central1`. */
  region?: string;
  /**
   * Every region the Vertex job service serves, e.g. `['us-central1', 'europe-west4']` (`region` is always one, and
   * stays the default). Jobs keep the region they were created in. Default: `[region]`.
   */
  regions?: string[];
  /** Loopback address to listen on: `127.0.0.1` (default), `::1` or `localhost`. Anything else is refused. */
  host?: string;
  /** HTTP port (0, the default, picks a free port). */
  httpPort?: number;
  /** gRPC (TLS) port (0, the default, picks a free port). */
  grpcPort?: number;
  /** Persist state (IAM, tokens, jobs, logs, storage, the TLS certificate) here. Default: in memory only. */
  dataDir?: string;
  /** Lifetime of issued access tokens, in seconds. Default 3600. */
  tokenLifetimeSeconds?: number;
  /** Durations of the job phases on the emulator clock. Defaults 200 / 200 / 1000 / 100 ms. */
  jobTimings?: { queuedMs?: number; pendingMs?: number; runningMs?: number; cancellingMs?: number };
  /** Per-minute quotas per region. 0 or Infinity: unlimited. Defaults 600 reads and 60 creates. */
  quotas?: { vertexReadsPerMinute?: number; vertexCreatesPerMinute?: number };
  /** Service account the metadata server presents as `default`. Default: the admin service account. */
  metadataServiceAccount?: string;
  /**
   * Runs jobs once they reach RUNNING: `'clock'` (the default: runs nothing, waits `runningMs`), `'docker'` (runs
   * the first replica's container from the emulator's registry; fails to start when the daemon does not answer),
   * `'auto'` (docker when the daemon answers, else clock) or any {@link JobExecutor}.
   */
  executor?: JobExecutor | 'clock' | 'docker' | 'auto';
  /** Docker socket for the docker executor and Cloud Build. Default: `DOCKER_HOST` (unix://) or /var/run/docker.sock. */
  dockerSocket?: string;
  /** Port of the Docker registry (the auth proxy clients push to; 0, the default, picks a free port). Always on 127.0.0.1. */
  registryPort?: number;
  /** Path of the `docker-registry` binary. Default: `VERTEX_LAUNCH_REGISTRY_BINARY`, else `docker-registry` on PATH. */
  registryBinary?: string;
  /**
   * Seed of the injected faults with a `rate` below 1: whether the N-th call of a method (since the fault was
   * injected) is hit depends only on this seed, the fault, the method and N, so a run with the same seed and the same
   * calls gets the same faults. Any safe integer. Default 0.
   */
  faultSeed?: number;
  /**
   * APIs that start disabled (Service Usage), e.g. `['aiplatform.googleapis.com']`: their calls are refused with
   * PERMISSION_DENIED / SERVICE_DISABLED until `services.enable` (or {@link Emulator.services}) enables them. Default:
   * every API is enabled.
   */
  disabledServices?: string[];
}

/** The IAM controls of a running emulator. */
export interface EmulatorIam {
  /** Creates a service account (account id or email) and returns a new JSON key for it; optionally grants project permissions. */
  createServiceAccount(name: string, opts?: { permissions?: string[] }): Promise<ServiceAccountKey>;
  /** Creates a user with `authorized_user` credentials redeemable at the emulator's `/token`. */
  createUser(email: string, opts?: { permissions?: string[] }): AuthorizedUserCredentials;
  /** Registers a federated subject; STS exchanges the returned subject token for an access token. */
  addExternalIdentity(
    subject: string,
    opts?: { pool?: string; provider?: string; permissions?: string[] },
  ): ExternalIdentity;
  /** Grants permissions to a member (email or member string) on a resource (default: the project). */
  grant(member: string, permissions: string[], resource?: string): void;
  /** Revokes permissions from a member on a resource (default: the project). */
  revoke(member: string, permissions: string[], resource?: string): void;
  /**
   * The IAM policy (role bindings) of a resource (default: the project), as `getIamPolicy` answers it. Setting it
   * changes the etag, as a concurrent `setIamPolicy` by someone else would.
   */
  getPolicy(resource?: string): { version: number; bindings: { role: string; members: string[] }[]; etag: string };
  /** Adds `member` to the binding of `role` on a resource (default: the project), as another admin would. */
  addBinding(role: string, member: string, resource?: string): void;
  /** Issues an access token for a member. */
  issueToken(member: string, ttlSeconds?: number): string;
  /** The resource name of a service account, for `iam.serviceAccounts.*` grants. */
  serviceAccountResource(email: string): string;
  /** Email of the default admin service account (holds every permission). */
  readonly adminEmail: string;
  /** Email of the default job service account (the admin may act as it). */
  readonly runnerEmail: string;
}

/** Fault injection controls. Method names: `aiplatform.customJobs.create`, `oauth2.token`, `storage.objects.insert`, ... or `*`. */
export interface EmulatorFaults {
  /** The seed that decides which calls a fault with a `rate` hits: {@link EmulatorOptions.faultSeed}. */
  readonly seed: number;
  inject(method: string, fault: Fault): void;
  clear(method?: string): void;
  /**
   * The faults that hit since start (or the last `resetCounters()`), per method and kind: `<method> <CODE>`,
   * `<method> <CODE> after-commit`, `<method> latency`.
   */
  injected(): Record<string, number>;
}

/** A running emulator. */
export interface Emulator {
  readonly projectId: string;
  readonly projectNumber: string;
  readonly region: string;
  /** `http://127.0.0.1:P` — every REST surface. */
  readonly httpUrl: string;
  /** The TLS gRPC endpoint. */
  readonly grpc: { host: string; port: number };
  /** The PEM certificate clients must trust for gRPC (self-signed; it is its own CA). */
  readonly caCertPem: string;
  /** The same certificate in a file (in the data dir, or a temp dir removed on stop). */
  readonly caFile: string;
  /** Access token of the default admin principal (long-lived). */
  readonly adminToken: string;
  /** The environment a user exports to point Vertex Launch at this emulator. */
  readonly env: Record<string, string>;
  readonly dataDir: string | undefined;
  /**
   * Options for `new v1.JobServiceClient(options)` from `@google-cloud/aiplatform`: TLS trusting the emulator's
   * certificate, plus per-call credentials from `authClient` (an object with `getRequestHeaders(url)`, such as a
   * google-auth-library client, or an access token string). Default: the admin token. `null`: no credentials.
   */
  jobServiceClientOptions(authClient?: unknown): EmulatorGrpcClientOptions;
  /** The same as {@link Emulator.jobServiceClientOptions}, for `new ArtifactRegistryClient(options)` from `@google-cloud/artifact-registry`. */
  artifactRegistryClientOptions(authClient?: unknown): EmulatorGrpcClientOptions;
  /** The same as {@link Emulator.jobServiceClientOptions}, for `new CloudBuildClient(options)` from `@google-cloud/cloudbuild`. */
  cloudBuildClientOptions(authClient?: unknown): EmulatorGrpcClientOptions;
  /** The service account builds run as unless they name one: `<project number>@cloudbuild.gserviceaccount.com`. */
  readonly cloudBuildServiceAccount: string;
  /**
   * Options for `new Storage(options)` from `@google-cloud/storage`: the emulator's endpoint and a request
   * interceptor sending `token` (default: the admin token; a function is asked on every request).
   */
  storageClientOptions(token?: string | (() => string)): StorageClientOptions;
  readonly iam: EmulatorIam;
  readonly faults: EmulatorFaults;
  /** The project's APIs (Service Usage), e.g. `services.disable('aiplatform.googleapis.com')`. */
  readonly services: {
    isEnabled(name: string): boolean;
    enable(name: string): void;
    disable(name: string): void;
  };
  /**
   * Calls per method since start (or the last reset), `storage.uploads.sessions` (resumable uploads started) and
   * `storage.uploads.bytes` (the bytes their PUTs carried, also bytes a session already had).
   */
  counters(): Record<string, number>;
  resetCounters(): void;
  /** Sets a per-minute quota (`vertex.reads`, `vertex.creates`, or any meter a surface uses). 0: unlimited. */
  setQuota(meter: string, perMinute: number): void;
  /** Every region the Vertex job service serves ({@link EmulatorOptions.regions}). */
  readonly regions: readonly string[];
  /**
   * Simulated capacity (replaces every rule; `[]`: unlimited). A job whose pools do not fit next to the region's
   * RUNNING jobs fails from PENDING as Vertex does ("The resources are insufficient in region: …", code 8), or, with
   * FLEX_START, waits until capacity frees or its `max_wait_duration` ends. In memory only (not persisted).
   */
  setCapacity(rules: readonly CapacityRule[]): void;
  /**
   * GPU quota per region and accelerator (replaces every rule; `[]`: unlimited): a create whose accelerators, with
   * those of the region's unfinished jobs, exceed the limit is refused with RESOURCE_EXHAUSTED and Vertex's words
   * ("The following quota metrics exceed quota limits: aiplatform.googleapis.com/custom_model_training_…_gpus").
   */
  setAcceleratorQuota(rules: readonly AcceleratorQuotaRule[]): void;
  /**
   * The Docker registry: `address` is `127.0.0.1:<port>` (also in `env` as `VERTEX_LAUNCH_EMULATOR_REGISTRY`).
   * Images are stored under their full Artifact Registry path (see {@link Emulator.toLocalImageRef}).
   */
  readonly registry: { readonly address: string };
  /** `us-central1-docker.pkg.dev/p/r/i:t` -> `127.0.0.1:<port>/us-central1-docker.pkg.dev/p/r/i:t`; other references unchanged. */
  toLocalImageRef(uri: string): string;
  /** The inverse of {@link Emulator.toLocalImageRef}. */
  fromLocalImageRef(ref: string): string;
  /**
   * Docker credentials for the registry, as `docker login -u oauth2accesstoken` uses them: a fresh access token of
   * `member` (default: the admin) as the password, and the registry address.
   */
  dockerAuth(member?: string): { username: 'oauth2accesstoken'; password: string; serveraddress: string };
  /** Creates a DOCKER repository in the emulated Artifact Registry unless it exists; returns its resource name. */
  createDockerRepository(location: string, repositoryId: string): string;
  /**
   * Pushes a placeholder image (an image config and no layers: nothing to run) as `imageUri`
   * (`<loc>-docker.pkg.dev/<project>/<repo>/<image>[:tag]`), creating its DOCKER repository when missing, so a launch's
   * image check finds it; resolves with its manifest digest. Jobs of the docker executor need a real image.
   */
  seedImage(imageUri: string): Promise<string>;
  /** Name of the job executor in use: `clock`, `docker`, or a custom executor's name. */
  readonly executor: string;
  /** The emulator clock; `advance` moves jobs (and token expiry) forward without waiting. */
  readonly clock: { now(): number; advance(ms: number): Promise<void> };
  /** Log entries written so far (jobs write theirs here; Cloud Logging `entries:list` reads them). */
  logEntries(): readonly StoredLogEntry[];
  /** The one JSON object `vertex-launch emulator start --json` prints. */
  summary(): EmulatorSummary;
  /** Closes the servers and timers and flushes state to the data dir. Idempotent. */
  stop(): Promise<void>;
}

/** What `emulator start --json` prints. */
export interface EmulatorSummary {
  projectId: string;
  projectNumber: string;
  region: string;
  endpoints: {
    http: string;
    grpc: string;
    oauth2Token: string;
    sts: string;
    iamCredentials: string;
    metadataHost: string;
    storage: string;
    logging: string;
    /** The Docker registry, `127.0.0.1:<port>`. */
    registry: string;
  };
  caFile: string;
  env: Record<string, string>;
  dataDir: string | null;
  pid: number;
}
