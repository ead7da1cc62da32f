/**
 * Seed, the first of the three steps of `startEmulator()` (seed -> wire -> serve): checks the options and builds the
 * core every service shares — the clock, faults and quotas, the IAM model with its default principals and the admin
 * token, the log store, the {@link ServiceContext}, the job executor, the Artifact Registry repositories and the
 * registry process, the TLS material — restoring what the data dir holds. Nothing listens yet.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { isIPv4, isIPv6 } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError } from '@vertex-launch/core';
import type Dockerode from 'dockerode';
import type { EmulatorOptions } from './api.js';
import { type RepositoryState, RepositoryStore } from './artifactregistry/repositories.js';
import { createClock, type EmulatorClock } from './clock.js';
import { EmulatorError, type Principal, type ServiceContext, type StoredLogEntry } from './context.js';
import { connectDocker, dockerAnswers } from './docker/client.js';
import { DEFAULT_FAULT_SEED, FaultInjector, faultSeedProblem, QuotaMeter } from './faults.js';
import { IamModel, type IamState } from './iam.js';
import { CapacityModel } from './jobs/capacity.js';
import { dockerExecutor } from './jobs/docker-executor.js';
import { clockExecutor, type JobExecutor } from './jobs/executor.js';
import { MemoryLogStore } from './logs.js';
import { RegistryBackend } from './registry/backend.js';
import { KNOWN_SERVICES, ServiceUsageModel } from './service-usage.js';
import { debouncedSaver, ensurePrivateDir, readJson, writeJsonAtomic } from './state/persist.js';
import { loadTls, type TlsMaterial } from './tls.js';

/**
 * What every service is built from (see `EmulatorService.create`): the emulated project, the shared models and the
 * late-bound endpoints. One object per emulator.
 */
export interface EmulatorCore {
  /** The options `startEmulator()` was given (checked). */
  readonly options: EmulatorOptions;
  /** The loopback address the servers listen on. */
  readonly host: string;
  readonly projectId: string;
  readonly projectNumber: string;
  readonly region: string;
  /** Every region the Vertex job service serves (`region` first). */
  readonly regions: readonly string[];
  /** Simulated capacity and GPU quota per region (`setCapacity`, `setAcceleratorQuota`). */
  readonly capacity: CapacityModel;
  readonly dataDir: string | undefined;
  /** Authorization, faults, counters, quotas, logs and the clock, as every surface uses them. */
  readonly ctx: ServiceContext;
  readonly clock: EmulatorClock;
  readonly iam: IamModel;
  /** Which APIs are enabled (Service Usage); calls to a disabled one are refused with SERVICE_DISABLED. */
  readonly serviceUsage: ServiceUsageModel;
  /** `emulator-admin@<project>.iam.gserviceaccount.com`: holds every permission. */
  readonly adminEmail: string;
  /** `vertex-runner@<project>.iam.gserviceaccount.com`: the default job service account. */
  readonly runnerEmail: string;
  /** The admin's long-lived access token. */
  readonly adminToken: string;
  /** Durations of the job phases (options.jobTimings with their defaults). */
  readonly timings: { queuedMs: number; pendingMs: number; runningMs: number; cancellingMs: number };
  /** Runs CustomJobs once they reach RUNNING (options.executor, resolved). */
  readonly executor: JobExecutor;
  /** The Artifact Registry repositories (the API and the registry proxy share them). */
  readonly repositories: RepositoryStore;
  /** The `docker-registry` process behind the registry proxy (started on first use). */
  readonly registryBackend: RegistryBackend;
  /** One client of the Docker daemon (options.dockerSocket), connected on first use. */
  docker(): Promise<Dockerode>;
  /** Where the servers listen: empty until they do (read them when serving, not when created). */
  readonly endpoints: { readonly httpUrl: string; readonly registryAddress: string };
  /** Call after every change of state that is saved in the data dir. */
  onChange(): void;
}

/** The core as the emulator itself holds it: what {@link EmulatorCore} shows services, and what only it uses. */
export interface Seed extends EmulatorCore {
  readonly endpoints: { httpUrl: string; registryAddress: string };
  readonly faults: FaultInjector;
  readonly quotas: QuotaMeter;
  readonly logs: MemoryLogStore;
  readonly tls: TlsMaterial;
  /** The certificate in a file (in the data dir, or a temp dir removed on stop). */
  readonly caFile: string;
  readonly persistence: Persistence;
  /** Removes the temp dirs (registry storage, CA file) the seed made; nothing when they live in the data dir. */
  removeTempDirs(): Promise<void>;
}

/** The data dir's `emulator.json`: the core's state and each service's under its key. */
export interface Persistence {
  /** What the file held at start (undefined without a data dir or file). */
  readonly saved: Readonly<Record<string, unknown>> | undefined;
  /** Adds `key` to what is saved; `save` is called on every save. */
  register(key: string, save: () => unknown): void;
  /** Saves from now on (before: registered parts are still being built, and a save is skipped). */
  enable(): void;
  /** Writes any pending save. */
  flush(): Promise<void>;
}

/** The core's part of `emulator.json`. */
interface PersistedCore {
  version: 1;
  adminToken?: string;
  clockOffsetMs?: number;
  iam?: IamState;
  logs?: StoredLogEntry[];
  artifactRegistry?: RepositoryState;
  serviceUsage?: string[];
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

/** Builds the core (see the module comment). Throws ConfigError naming every bad option. */
export async function seed(options: EmulatorOptions): Promise<Seed> {
  const host = loopbackHost(options.host);
  const { projectId, region, regions } = checkOptions(options);
  const projectNumber = options.projectNumber ?? derivedProjectNumber(projectId);
  const dataDir = options.dataDir === undefined ? undefined : resolve(options.dataDir);
  if (dataDir) await ensurePrivateDir(dataDir);
  const stateFile = dataDir ? join(dataDir, 'emulator.json') : undefined;
  const saved = stateFile ? await readJson<PersistedCore & Record<string, unknown>>(stateFile) : undefined;
  const persistence = createPersistence(stateFile, saved);
  const onChange = () => {
    if (dataDir) persistence.touch();
  };
  const endpoints = { httpUrl: '', registryAddress: '' };

  const clock = createClock(saved?.clockOffsetMs ?? 0);
  const faults = new FaultInjector(options.faultSeed ?? DEFAULT_FAULT_SEED);
  const iam = new IamModel({
    projectId,
    projectNumber,
    now: clock.now,
    httpUrl: () => endpoints.httpUrl,
    tokenLifetimeSeconds: options.tokenLifetimeSeconds ?? 3600,
    onChange,
  });
  if (saved?.iam) iam.load(saved.iam);
  const { adminEmail, runnerEmail, adminToken } = seedPrincipals(iam, projectId, saved?.adminToken);
  const logs = new MemoryLogStore(clock.now, onChange);
  if (saved?.logs) logs.load(saved.logs);
  const quotas = new QuotaMeter(clock.now, `project_number:${projectNumber}`, region);
  quotas.setLimit('vertex.reads', unlimitedAsZero(options.quotas?.vertexReadsPerMinute ?? 600));
  quotas.setLimit('vertex.creates', unlimitedAsZero(options.quotas?.vertexCreatesPerMinute ?? 60));
  const serviceUsage = new ServiceUsageModel({ projectNumber, disabled: options.disabledServices, onChange });
  if (saved?.serviceUsage) serviceUsage.load(saved.serviceUsage);
  const ctx = serviceContext({ projectId, region, iam, serviceUsage, faults, quotas, logs, dataDir, now: clock.now });

  const timings = {
    queuedMs: options.jobTimings?.queuedMs ?? 200,
    pendingMs: options.jobTimings?.pendingMs ?? 200,
    runningMs: options.jobTimings?.runningMs ?? 1000,
    cancellingMs: options.jobTimings?.cancellingMs ?? 100,
  };
  const executor = await chooseExecutor(options, timings.runningMs);

  const repositories = new RepositoryStore({ projectId, projectNumber, now: clock.now, onChange });
  if (saved?.artifactRegistry) repositories.load(saved.artifactRegistry);
  const registryRoot = await registryStorage(dataDir);
  const registryBackend = new RegistryBackend({ root: registryRoot.path, binary: options.registryBinary });
  const tls = await loadTls(dataDir);
  const ca = await certificateFile(dataDir, tls);

  persistence.register('adminToken', () => adminToken);
  persistence.register('clockOffsetMs', () => clock.offset());
  persistence.register('iam', () => iam.toJSON());
  persistence.register('logs', () => [...logs.all()]);
  persistence.register('artifactRegistry', () => repositories.toJSON());
  persistence.register('serviceUsage', () => serviceUsage.toJSON());

  let docker: Promise<Dockerode> | undefined;
  return {
    options,
    host,
    projectId,
    projectNumber,
    region,
    regions,
    capacity: new CapacityModel(),
    dataDir,
    ctx,
    clock,
    iam,
    serviceUsage,
    adminEmail,
    runnerEmail,
    adminToken,
    timings,
    executor,
    repositories,
    registryBackend,
    docker: () => {
      docker ??= connectDocker(options.dockerSocket);
      return docker;
    },
    endpoints,
    onChange,
    faults,
    quotas,
    logs,
    tls,
    caFile: ca.path,
    persistence,
    async removeTempDirs() {
      await ca.removeTemp();
      await registryRoot.removeTemp();
    },
  };
}

/** A directory or file the emulator keeps in the data dir, or else in a temp dir `removeTemp` deletes. */
interface Place {
  path: string;
  removeTemp(): Promise<void>;
}

/** The registry's storage: `<dataDir>/registry`, or a temp dir. */
async function registryStorage(dataDir: string | undefined): Promise<Place> {
  if (dataDir) {
    const path = join(dataDir, 'registry');
    await ensurePrivateDir(path);
    return { path, removeTemp: async () => {} };
  }
  const path = await mkdtemp(join(tmpdir(), 'vxl-emulator-registry-'));
  return { path, removeTemp: () => rm(path, { recursive: true, force: true }) };
}

/** The certificate clients trust, in a file: `<dataDir>/tls/cert.pem` (loadTls wrote it), or a temp dir's `ca.pem`. */
async function certificateFile(dataDir: string | undefined, tls: TlsMaterial): Promise<Place> {
  if (dataDir) return { path: join(dataDir, 'tls', 'cert.pem'), removeTemp: async () => {} };
  const dir = await mkdtemp(join(tmpdir(), 'vxl-emulator-'));
  const path = join(dir, 'ca.pem');
  await writeFile(path, tls.certPem, { mode: 0o600 });
  return { path, removeTemp: () => rm(dir, { recursive: true, force: true }) };
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
  if (options.regions !== undefined && !Array.isArray(options.regions)) {
    issues.push({
      path: 'regions',
      message: 'must be a list of regions such as ["us-central1", "europe-west4"]',
      severity: 'error',
    });
  }
  for (const [i, name] of (Array.isArray(options.regions) ? options.regions : []).entries()) {
    if (typeof name !== 'string' || !REGION.test(name)) {
      issues.push({
        path: `regions[${i}]`,
        message: `"${String(name)}" is not a region such as europe-west4`,
        severity: 'error',
      });
    }
  }
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
  for (const [i, name] of (options.disabledServices ?? []).entries()) {
    if (!(name in KNOWN_SERVICES)) {
      issues.push({
        path: `disabledServices[${i}]`,
        message: `"${name}" is not an API the emulator serves (${Object.keys(KNOWN_SERVICES).join(', ')})`,
        severity: 'error',
      });
    }
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
  const regions = [...new Set([region, ...(Array.isArray(options.regions) ? options.regions : [])])];
  return { projectId, region, regions };
}

function derivedProjectNumber(projectId: string): string {
  const n = BigInt(`0x${createHash('sha256').update(projectId).digest('hex').slice(0, 12)}`) % 900000000000n;
  return String(100000000000n + n);
}

/** The admin (every permission, may act as the runner), the job runner, and the admin's token (kept across restarts). */
function seedPrincipals(
  iam: IamModel,
  projectId: string,
  savedToken: string | undefined,
): { adminEmail: string; runnerEmail: string; adminToken: string } {
  const adminEmail = `emulator-admin@${projectId}.iam.gserviceaccount.com`;
  const runnerEmail = `vertex-runner@${projectId}.iam.gserviceaccount.com`;
  iam.ensureServiceAccount(adminEmail);
  iam.ensureServiceAccount(runnerEmail);
  iam.grant(adminEmail, ['*']);
  iam.grant(adminEmail, ['iam.serviceAccounts.actAs'], iam.serviceAccountResource(runnerEmail));
  let adminToken = savedToken;
  try {
    if (adminToken === undefined || iam.authenticate(`Bearer ${adminToken}`).email !== adminEmail)
      adminToken = undefined;
  } catch {
    adminToken = undefined;
  }
  adminToken ??= iam.issueToken(adminEmail, 10 * 365 * 24 * 3600).token;
  return { adminEmail, runnerEmail, adminToken };
}

function serviceContext(core: {
  projectId: string;
  region: string;
  iam: IamModel;
  serviceUsage: ServiceUsageModel;
  faults: FaultInjector;
  quotas: QuotaMeter;
  logs: MemoryLogStore;
  dataDir: string | undefined;
  now(): number;
}): ServiceContext {
  const { iam, faults, quotas, serviceUsage } = core;
  return {
    projectId: core.projectId,
    region: core.region,
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
    beforeCall: async (method) => {
      await faults.apply(method, 'before');
      serviceUsage.requireEnabledFor(method);
    },
    afterCall: (method) => faults.apply(method, 'after'),
    lateCommit: (method) => faults.lateCommit(method),
    count: (name, n) => faults.add(name, n),
    consumeQuota: (meter) => quotas.consume(meter),
    logs: core.logs,
    dataDir: core.dataDir,
    now: core.now,
  };
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

/** A quota of Infinity is stored as 0 (unlimited). */
export function unlimitedAsZero(perMinute: number): number {
  return perMinute === Number.POSITIVE_INFINITY ? 0 : perMinute;
}

function createPersistence(
  stateFile: string | undefined,
  saved: Record<string, unknown> | undefined,
): Persistence & { touch(): void } {
  const parts = new Map<string, () => unknown>();
  let enabled = false;
  const saver = debouncedSaver(async () => {
    if (!stateFile || !enabled) return;
    const state: Record<string, unknown> = { version: 1 };
    for (const [key, save] of parts) state[key] = save();
    await writeJsonAtomic(stateFile, state);
  });
  return {
    saved,
    register(key, save) {
      if (key === 'version' || parts.has(key)) throw new Error(`emulator.json already has a "${key}" part.`);
      parts.set(key, save);
    },
    enable() {
      enabled = true;
    },
    touch: () => saver.touch(),
    flush: () => saver.flush(),
  };
}
