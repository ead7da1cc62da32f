/**
 * `startEmulator()`: the identity/IAM core, the HTTP server (OAuth2, STS, IAM Credentials, metadata,
 * Resource Manager, Cloud Storage, Cloud Logging), the TLS gRPC server (Vertex AI JobService, Artifact
 * Registry, Cloud Build) and the Docker registry (an auth proxy in front of `docker-registry`), all on
 * loopback, sharing one {@link ServiceContext}.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { isIPv4, isIPv6 } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type * as grpcJs from '@grpc/grpc-js';
import { ConfigError } from '@vertex-launch/core';
import type { grpc as GaxGrpc } from 'google-gax';
import { type RepositoryState, RepositoryStore } from './artifactregistry/repositories.js';
import { ArtifactRegistryService } from './artifactregistry/service.js';
import { type StorageClientOptions, storageClientOptions } from './client-options/storage.js';
import { createClock } from './clock.js';
import { GcsClient } from './cloudbuild/gcs.js';
import { CloudBuildService } from './cloudbuild/service.js';
import {
  EmulatorError,
  type HttpService,
  type Principal,
  type ServiceContext,
  type StoredLogEntry,
} from './context.js';
import { connectDocker, dockerAnswers } from './docker/client.js';
import { DEFAULT_FAULT_SEED, type Fault, FaultInjector, faultSeedProblem, QuotaMeter } from './faults.js';
import { operationsModule } from './grpc/operations.js';
import { loadClientProtos, lookup } from './grpc/protos.js';
import { startGrpcServer } from './grpc/server.js';
import { startHttpServer } from './http/server.js';
import {
  type AuthorizedUserCredentials,
  type ExternalIdentity,
  IamModel,
  type IamState,
  type ServiceAccountKey,
} from './iam.js';
import { dockerExecutor } from './jobs/docker-executor.js';
import { clockExecutor, type JobExecutor } from './jobs/executor.js';
import { JobService } from './jobs/service.js';
import type { JobRecord } from './jobs/types.js';
import { MemoryLogStore } from './logs.js';
import { RegistryBackend } from './registry/backend.js';
import { fromLocalImageRef, toLocalImageRef } from './registry/names.js';
import { startRegistryProxy } from './registry/proxy.js';
import { RegistryReader } from './registry/reader.js';
import { iamPolicyService } from './services/iam-policy.js';
import { identityService } from './services/identity.js';
import { loggingService } from './services/logging.js';
import { storageService } from './services/storage.js';
import { debouncedSaver, ensurePrivateDir, readJson, writeJsonAtomic } from './state/persist.js';
import { loadTls } from './tls.js';

const require = createRequire(import.meta.url);

/**
 * Options that point a gax-based Google client (`@google-cloud/aiplatform`, `@google-cloud/artifact-registry`,
 * `@google-cloud/cloudbuild`) at the emulator's TLS gRPC endpoint. A type alias, so it is assignable both to the
 * clients' `ClientOptions` and to `Record<string, unknown>`.
 */
export type EmulatorGrpcClientOptions = {
  apiEndpoint: string;
  port: number;
  sslCreds: GaxGrpc.ChannelCredentials;
  universeDomain: string;
  'grpc.ssl_target_name_override': string;
};

/** Options of {@link startEmulator}. */
export interface EmulatorOptions {
  /** Project id the emulator serves. Default `vxl-emulator`. */
  projectId?: string;
  /** Project number used in Vertex resource names. Default: derived from the project id (12 digits). */
  projectNumber?: string;
  /** Vertex region (location) served. Default `us-central1`. */
  region?: string;
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
  /**
   * Calls per method since start (or the last reset), `storage.uploads.sessions` (resumable uploads started) and
   * `storage.uploads.bytes` (the bytes their PUTs carried, also bytes a session already had).
   */
  counters(): Record<string, number>;
  resetCounters(): void;
  /** Sets a per-minute quota (`vertex.reads`, `vertex.creates`, or any meter a surface uses). 0: unlimited. */
  setQuota(meter: string, perMinute: number): void;
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

const PROJECT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const REGION = /^[a-z]+-[a-z]+\d+$/;

/** Returns the loopback address to bind, or throws ConfigError for anything that is not loopback. */
export function loopbackHost(host: string | undefined): string {
  const h = (host ?? '127.0.0.1').replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return '127.0.0.1';
  if (h === '::1' || (isIPv4(h) && h.startsWith('127.'))) return h;
  if (isIPv6(h) && h === '0:0:0:0:0:0:0:1') return '::1';
  throw new ConfigError(
    `[vertex-launch] [emulator] Refusing to listen on "${host}": the emulator only listens on loopback (127.0.0.1, ::1 or localhost), because anyone who can reach it can mint credentials.`,
    [{ path: 'host', message: `"${host}" is not a loopback address`, severity: 'error' }],
  );
}

function derivedProjectNumber(projectId: string): string {
  const n = BigInt(`0x${createHash('sha256').update(projectId).digest('hex').slice(0, 12)}`) % 900000000000n;
  return String(100000000000n + n);
}

function checkOptions(options: EmulatorOptions) {
  const projectId = options.projectId ?? 'vxl-emulator';
  const region = options.region ?? 'us-central1';
  const issues: { path: string; message: string; severity: 'error' }[] = [];
  if (!PROJECT_ID.test(projectId)) {
    issues.push({
      path: 'projectId',
      message: `"${projectId}" is not a valid project id (6-30 lowercase letters, digits, dashes)`,
      severity: 'error',
    });
  }
  if (!REGION.test(region))
    issues.push({ path: 'region', message: `"${region}" is not a region such as us-central1`, severity: 'error' });
  if (options.projectNumber !== undefined && !/^\d{6,15}$/.test(options.projectNumber)) {
    issues.push({ path: 'projectNumber', message: 'must be 6-15 digits', severity: 'error' });
  }
  for (const key of ['httpPort', 'grpcPort', 'registryPort'] as const) {
    const port = options[key];
    if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) {
      issues.push({ path: key, message: `must be a port number 0-65535, got ${port}`, severity: 'error' });
    }
  }
  const lifetime = options.tokenLifetimeSeconds;
  if (lifetime !== undefined && !(lifetime > 0))
    issues.push({ path: 'tokenLifetimeSeconds', message: 'must be > 0', severity: 'error' });
  for (const [k, v] of Object.entries(options.jobTimings ?? {})) {
    if (v !== undefined && !(v >= 0))
      issues.push({ path: `jobTimings.${k}`, message: 'must be >= 0 ms', severity: 'error' });
  }
  if (options.faultSeed !== undefined) {
    const problem = faultSeedProblem(options.faultSeed);
    if (problem) issues.push({ path: 'faultSeed', message: problem, severity: 'error' });
  }
  if (issues.length > 0) {
    throw new ConfigError(
      `[vertex-launch] [emulator] Invalid options: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}.`,
      issues,
    );
  }
  return { projectId, region };
}

interface PersistedCore {
  version: 1;
  adminToken?: string;
  clockOffsetMs?: number;
  iam?: IamState;
  jobs?: JobRecord[];
  logs?: StoredLogEntry[];
  artifactRegistry?: RepositoryState;
}

/** Starts the emulator. Resolves once both servers listen. */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const host = loopbackHost(options.host);
  const { projectId, region } = checkOptions(options);
  const projectNumber = options.projectNumber ?? derivedProjectNumber(projectId);
  const dataDir = options.dataDir === undefined ? undefined : resolve(options.dataDir);
  if (dataDir) await ensurePrivateDir(dataDir);
  const stateFile = dataDir ? join(dataDir, 'emulator.json') : undefined;
  const persisted = stateFile ? await readJson<PersistedCore>(stateFile) : undefined;

  const clock = createClock(persisted?.clockOffsetMs ?? 0);
  const faults = new FaultInjector(options.faultSeed ?? DEFAULT_FAULT_SEED);
  let httpUrl = '';
  let saveState: () => Promise<void> = async () => {};
  const saver = debouncedSaver(() => saveState());
  const touch = () => {
    if (dataDir) saver.touch();
  };

  const iam = new IamModel({
    projectId,
    projectNumber,
    now: clock.now,
    httpUrl: () => httpUrl,
    tokenLifetimeSeconds: options.tokenLifetimeSeconds ?? 3600,
    onChange: touch,
  });
  if (persisted?.iam) iam.load(persisted.iam);
  const adminEmail = `emulator-admin@${projectId}.iam.gserviceaccount.com`;
  const runnerEmail = `vertex-runner@${projectId}.iam.gserviceaccount.com`;
  iam.ensureServiceAccount(adminEmail);
  iam.ensureServiceAccount(runnerEmail);
  iam.grant(adminEmail, ['*']);
  iam.grant(adminEmail, ['iam.serviceAccounts.actAs'], iam.serviceAccountResource(runnerEmail));
  let adminToken = persisted?.adminToken;
  try {
    if (adminToken === undefined || iam.authenticate(`Bearer ${adminToken}`).email !== adminEmail)
      adminToken = undefined;
  } catch {
    adminToken = undefined;
  }
  adminToken ??= iam.issueToken(adminEmail, 10 * 365 * 24 * 3600).token;

  const logs = new MemoryLogStore(clock.now, touch);
  if (persisted?.logs) logs.load(persisted.logs);
  const quotas = new QuotaMeter(clock.now, `project_number:${projectNumber}`, region);
  quotas.setLimit('vertex.reads', unlimitedAsZero(options.quotas?.vertexReadsPerMinute ?? 600));
  quotas.setLimit('vertex.creates', unlimitedAsZero(options.quotas?.vertexCreatesPerMinute ?? 60));

  const ctx: ServiceContext = {
    projectId,
    region,
    async authorize(authorization, permission, resource): Promise<Principal> {
      const principal = iam.authenticate(authorization);
      if (!iam.holds(principal.member, permission, resource)) {
        throw new EmulatorError(
          'PERMISSION_DENIED',
          `Permission '${permission}' denied on resource '${resource}' (or it may not exist). The caller ${principal.member} lacks it; grant it with emulator.iam.grant().`,
        );
      }
      return principal;
    },
    beforeCall: (method) => faults.apply(method, 'before'),
    afterCall: (method) => faults.apply(method, 'after'),
    count: (name, n) => faults.add(name, n),
    consumeQuota: (meter) => quotas.consume(meter),
    logs,
    dataDir,
    now: clock.now,
  };

  const timings = {
    queuedMs: options.jobTimings?.queuedMs ?? 200,
    pendingMs: options.jobTimings?.pendingMs ?? 200,
    runningMs: options.jobTimings?.runningMs ?? 1000,
    cancellingMs: options.jobTimings?.cancellingMs ?? 100,
  };
  const executor = await chooseExecutor(options, timings.runningMs);
  const serviceAgent = `service-${projectNumber}@gcp-sa-aiplatform-cc.iam.gserviceaccount.com`;
  iam.ensureServiceAccount(serviceAgent);
  iam.grant(serviceAgent, ['artifactregistry.repositories.downloadArtifacts']);
  let registryAddress = '';
  const jobs = new JobService({
    ctx,
    clock,
    projectNumber,
    timings,
    executor,
    authenticate: (authorization) => void iam.authenticate(authorization),
    serviceAccountExists: (email) => iam.hasServiceAccount(email),
    serviceAccountResource: (email) => iam.serviceAccountResource(email),
    onChange: touch,
    runServices: {
      projectId,
      projectNumber,
      region,
      registryAddress: () => registryAddress,
      pullAuth: () => ({
        username: 'oauth2accesstoken',
        password: iam.issueToken(serviceAgent, 3600).token,
        serveraddress: registryAddress,
      }),
    },
  });

  const repositories = new RepositoryStore({ projectId, projectNumber, now: clock.now, onChange: touch });
  if (persisted?.artifactRegistry) repositories.load(persisted.artifactRegistry);
  let registryDir: string | undefined;
  if (dataDir) {
    registryDir = join(dataDir, 'registry');
    await ensurePrivateDir(registryDir);
  }
  const registryRoot = registryDir ?? (await mkdtemp(join(tmpdir(), 'vxl-emulator-registry-')));
  const registryBackend = new RegistryBackend({ root: registryRoot, binary: options.registryBinary });

  saveState = async () => {
    if (!stateFile) return;
    const state: PersistedCore = {
      version: 1,
      adminToken,
      clockOffsetMs: clock.offset(),
      iam: iam.toJSON(),
      jobs: jobs.toJSON(),
      logs: [...logs.all()],
      artifactRegistry: repositories.toJSON(),
    };
    await writeJsonAtomic(stateFile, state);
  };

  const metadataServiceAccount = options.metadataServiceAccount ?? adminEmail;
  const services: HttpService[] = [
    identityService({ ctx, iam, projectNumber, httpUrl: () => httpUrl, metadataServiceAccount }),
    iamPolicyService({ ctx, iam, projectNumber }),
    storageService(ctx),
    loggingService(ctx),
  ];

  const tls = await loadTls(dataDir);
  let caDir: string | undefined;
  let caFile: string;
  if (dataDir) {
    caFile = join(dataDir, 'tls', 'cert.pem');
  } else {
    caDir = await mkdtemp(join(tmpdir(), 'vxl-emulator-'));
    caFile = join(caDir, 'ca.pem');
    await writeFile(caFile, tls.certPem, { mode: 0o600 });
  }

  const artifactRegistry = new ArtifactRegistryService({
    ctx,
    repositories,
    registry: new RegistryReader(registryBackend),
    authenticate: (authorization) => void iam.authenticate(authorization),
  });
  const cloudBuildServiceAccount = `${projectNumber}@cloudbuild.gserviceaccount.com`;
  iam.ensureServiceAccount(cloudBuildServiceAccount);
  iam.grant(cloudBuildServiceAccount, [
    'storage.objects.get',
    'storage.objects.list',
    'storage.objects.create',
    'storage.objects.delete',
    'storage.buckets.get',
    'artifactregistry.repositories.downloadArtifacts',
    'artifactregistry.repositories.uploadArtifacts',
    'logging.logEntries.create',
  ]);
  let dockerClient: ReturnType<typeof connectDocker> | undefined;
  const cloudBuild = new CloudBuildService({
    ctx,
    clock,
    projectNumber,
    authenticate: (authorization) => void iam.authenticate(authorization),
    serviceAccountExists: (email) => iam.hasServiceAccount(email),
    serviceAccountResource: (email) => iam.serviceAccountResource(email),
    defaultServiceAccount: cloudBuildServiceAccount,
    runner: {
      docker: () => {
        dockerClient ??= connectDocker(options.dockerSocket);
        return dockerClient;
      },
      registryAddress: () => registryAddress,
      tokenFor: (email) => iam.issueToken(email, 3600).token,
      adminToken: () => adminToken as string,
      gcs: new GcsClient(() => httpUrl),
    },
  });
  const operationsDefinition = lookup<{ service: grpcJs.ServiceDefinition }>(
    loadClientProtos('@google-cloud/aiplatform', ['google/cloud/aiplatform/v1/job_service.proto']),
    'google.longrunning.Operations',
  ).service;
  const grpcModules = [
    ...jobs.grpcModules().filter((m) => m.name !== 'google.longrunning.Operations'),
    ...artifactRegistry.grpcModules(),
    ...cloudBuild.grpcModules(),
    operationsModule(operationsDefinition, [artifactRegistry, cloudBuild], (name, authorization) =>
      jobs.getOperation({ name }, authorization),
    ),
  ];
  const removeTempDirs = async () => {
    if (caDir) await rm(caDir, { recursive: true, force: true });
    if (!registryDir) await rm(registryRoot, { recursive: true, force: true });
  };
  const grpcServer = await startGrpcServer(host, options.grpcPort ?? 0, tls, grpcModules).catch(async (error) => {
    await removeTempDirs();
    throw error;
  });
  const httpServer = await startHttpServer(host, options.httpPort ?? 0, () => services).catch(async (error) => {
    await grpcServer.stop();
    await removeTempDirs();
    throw error;
  });
  const registryProxy = await startRegistryProxy({
    ctx,
    port: options.registryPort ?? 0,
    backend: registryBackend,
    repositories,
    authenticate: (authorization) => iam.authenticate(authorization),
  }).catch(async (error) => {
    await Promise.all([grpcServer.stop(), httpServer.stop()]);
    await removeTempDirs();
    throw error;
  });
  registryAddress = registryProxy.address;
  const hostInUrl = host.includes(':') ? `[${host}]` : host;
  httpUrl = `http://${hostInUrl}:${httpServer.port}`;
  if (persisted?.jobs) jobs.load(persisted.jobs);
  touch();

  const grpcEndpoint = `${hostInUrl}:${grpcServer.port}`;
  const env: Record<string, string> = {
    VERTEX_LAUNCH_EMULATOR_HTTP: httpUrl,
    VERTEX_LAUNCH_EMULATOR_GRPC: grpcEndpoint,
    VERTEX_LAUNCH_EMULATOR_CA: caFile,
    VERTEX_LAUNCH_EMULATOR_REGISTRY: registryProxy.address,
    GOOGLE_CLOUD_PROJECT: projectId,
    GOOGLE_CLOUD_REGION: region,
    GOOGLE_OAUTH_ACCESS_TOKEN: adminToken,
    METADATA_SERVER_DETECTION: 'none',
  };

  let stopping: Promise<void> | undefined;
  const emulator: Emulator = {
    projectId,
    projectNumber,
    region,
    httpUrl,
    grpc: { host, port: grpcServer.port },
    caCertPem: tls.certPem,
    caFile,
    adminToken,
    env,
    dataDir,
    jobServiceClientOptions(authClient?: unknown) {
      return grpcClientOptions(host, grpcServer.port, tls.certPem, authClient === undefined ? adminToken : authClient);
    },
    artifactRegistryClientOptions(authClient?: unknown) {
      return grpcClientOptions(
        host,
        grpcServer.port,
        tls.certPem,
        authClient === undefined ? adminToken : authClient,
        '@google-cloud/artifact-registry',
      );
    },
    cloudBuildClientOptions(authClient?: unknown) {
      return grpcClientOptions(
        host,
        grpcServer.port,
        tls.certPem,
        authClient === undefined ? adminToken : authClient,
        '@google-cloud/cloudbuild',
      );
    },
    cloudBuildServiceAccount,
    storageClientOptions(token) {
      return storageClientOptions({ httpUrl, projectId, token: token ?? adminToken });
    },
    iam: {
      createServiceAccount: (name, opts) => iam.createServiceAccount(name, opts?.permissions),
      createUser: (email, opts) => iam.createUser(email, opts?.permissions),
      addExternalIdentity: (subject, opts) => iam.addExternalIdentity(subject, opts),
      grant: (member, permissions, resource) => iam.grant(member, permissions, resource),
      revoke: (member, permissions, resource) => iam.revoke(member, permissions, resource),
      issueToken: (member, ttl) => iam.issueToken(member, ttl).token,
      serviceAccountResource: (email) => iam.serviceAccountResource(email),
      adminEmail,
      runnerEmail,
    },
    faults: {
      seed: faults.seed,
      inject: (method, fault) => faults.inject(method, fault),
      clear: (method) => faults.clear(method),
      injected: () => faults.injected(),
    },
    counters: () => faults.counters(),
    resetCounters: () => faults.resetCounters(),
    setQuota: (meter, perMinute) => quotas.setLimit(meter, unlimitedAsZero(perMinute)),
    registry: { address: registryProxy.address },
    executor: executor.name,
    toLocalImageRef: (uri) => toLocalImageRef(uri, registryProxy.address),
    fromLocalImageRef: (ref) => fromLocalImageRef(ref),
    dockerAuth: (member) => ({
      username: 'oauth2accesstoken',
      password: iam.issueToken(member ?? adminEmail).token,
      serveraddress: registryProxy.address,
    }),
    createDockerRepository(location, repositoryId) {
      const existing = repositories.find(projectId, location, repositoryId);
      return (existing ?? repositories.create(projectId, location, repositoryId, { format: 'DOCKER' })).name;
    },
    clock: { now: clock.now, advance: (ms) => clock.advance(ms) },
    logEntries: () => logs.all(),
    summary: () => ({
      projectId,
      projectNumber,
      region,
      endpoints: {
        http: httpUrl,
        grpc: grpcEndpoint,
        oauth2Token: `${httpUrl}/token`,
        sts: `${httpUrl}/v1/token`,
        iamCredentials: httpUrl,
        metadataHost: `${hostInUrl}:${httpServer.port}`,
        storage: httpUrl,
        logging: httpUrl,
        registry: registryProxy.address,
      },
      caFile,
      env: { ...env },
      dataDir: dataDir ?? null,
      pid: process.pid,
    }),
    stop() {
      stopping ??= (async () => {
        jobs.close();
        await cloudBuild.close();
        clock.close();
        await Promise.all([httpServer.stop(), grpcServer.stop(), registryProxy.stop()]);
        await executor.close?.();
        await registryBackend.stop();
        if (!registryDir) await rm(registryRoot, { recursive: true, force: true });
        for (const service of services) {
          if (dataDir) await service.flush?.();
          await service.close?.();
        }
        if (dataDir) await saver.flush();
        if (caDir) await rm(caDir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
  return emulator;
}

/** Resolves the `executor` option (see {@link EmulatorOptions.executor}). */
async function chooseExecutor(options: EmulatorOptions, runningMs: number): Promise<JobExecutor> {
  const choice = options.executor ?? 'clock';
  if (typeof choice !== 'string') return choice;
  if (choice === 'clock') return clockExecutor({ runningMs });
  if (choice !== 'docker' && choice !== 'auto') {
    throw new ConfigError(
      `[vertex-launch] [emulator] Invalid options: executor: "${String(choice)}" is not clock, docker, auto or a JobExecutor.`,
      [{ path: 'executor', message: 'must be clock, docker, auto or a JobExecutor', severity: 'error' }],
    );
  }
  const answers = await dockerAnswers(await connectDocker(options.dockerSocket));
  if (answers) return dockerExecutor(options.dockerSocket ? { socketPath: options.dockerSocket } : {});
  if (choice === 'auto') return clockExecutor({ runningMs });
  throw new ConfigError(
    `[vertex-launch] [emulator] executor "docker": the Docker daemon does not answer at ${options.dockerSocket ?? process.env.DOCKER_HOST ?? '/var/run/docker.sock'}. Start dockerd, or use executor "auto" (falls back to the clock) or "clock".`,
    [{ path: 'executor', message: 'the Docker daemon does not answer', severity: 'error' }],
  );
}

function unlimitedAsZero(perMinute: number): number {
  return perMinute === Number.POSITIVE_INFINITY ? 0 : perMinute;
}

interface HeaderSource {
  getRequestHeaders(url?: string): Promise<unknown>;
}

/** Plain-object headers from a google-auth-library `Headers` (v10) or a plain object (older clients). */
function plainHeaders(headers: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers && typeof (headers as Headers).forEach === 'function' && !Array.isArray(headers)) {
    (headers as Headers).forEach((value, key) => {
      out[key] = value;
    });
  } else if (headers && typeof headers === 'object') {
    for (const [k, v] of Object.entries(headers)) if (typeof v === 'string') out[k] = v;
  }
  return out;
}

/**
 * gRPC client options for a Google client pointed at the emulator: TLS that trusts `caPem` combined with
 * per-call credentials. Uses the grpc-js instance of the google-gax that `clientPackage` (default
 * `@google-cloud/aiplatform`) loads, so the credentials are of the same class the client checks.
 */
export function grpcClientOptions(
  host: string,
  port: number,
  caPem: string,
  auth: unknown,
  clientPackage = '@google-cloud/aiplatform',
): EmulatorGrpcClientOptions {
  const clientMain = require.resolve(clientPackage);
  const { grpc } = createRequire(clientMain)('google-gax') as typeof import('google-gax');
  const ssl = grpc.credentials.createSsl(Buffer.from(caPem));
  let sslCreds = ssl;
  if (auth !== null) {
    let source: HeaderSource;
    if (typeof auth === 'string') {
      source = { getRequestHeaders: async () => ({ authorization: `Bearer ${auth}` }) };
    } else if (auth && typeof (auth as HeaderSource).getRequestHeaders === 'function') {
      source = auth as HeaderSource;
    } else {
      throw new TypeError(
        'jobServiceClientOptions(authClient) needs an access token string, an object with getRequestHeaders(url) (e.g. a google-auth-library client), or null for no credentials.',
      );
    }
    sslCreds = grpc.credentials.combineChannelCredentials(
      ssl,
      grpc.credentials.createFromGoogleCredential({
        getRequestHeaders: async (url?: string) => plainHeaders(await source.getRequestHeaders(url)),
      }),
    );
  }
  // Name the server by its DNS SAN: TLS SNI with an IP address is deprecated in Node.
  return {
    apiEndpoint: host.includes(':') ? `[${host}]` : host,
    port,
    sslCreds,
    universeDomain: 'googleapis.com',
    'grpc.ssl_target_name_override': 'localhost',
  };
}
