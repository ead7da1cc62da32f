/**
 * `vertexRunner(options)`: the Vertex AI {@link JobRunner}. Idempotent submits (one job per launch id, looked up by
 * label after an ambiguous failure), our own retries with backoff and jitter (gax's are off), client-side quota
 * limits, one batched tracker for every watched job, Cloud Logging logs, and cancel that waits for CANCELLED.
 */
import {
  ApiError,
  ATTEMPT_LABEL,
  type AuthClientLike,
  type AuthCredentials,
  type CancelOptions,
  type Clock,
  ConfigError,
  type CreateCustomJobRequest,
  checkRegion,
  emulatorConnectionOf,
  endpointsOption,
  GrpcCode,
  grpcCodeOf,
  isTransientGrpcError,
  type JobLogEntry,
  type JobLogsOptions,
  type JobRunner,
  type JobSnapshot,
  type JobWatchListener,
  LAUNCH_ID_LABEL,
  type ListJobsOptions,
  optionsError,
  parseJobName,
  type RetryEvent,
  type RetryPolicy,
  RUN_ID_LABEL,
  resolveJobName,
  retry,
  type ServiceEndpoints,
  type SubmitOptions,
  type SubmitResult,
  SubmitUnknownError,
  sanitizeLabelValue,
  systemClock,
  TRANSIENT_GRPC_CODES,
  unknownOptions,
  type WaitForJobOptions,
  waitForJob,
} from '@vertex-launch/core';
import { createJobServiceClient, type JobServiceClient } from './client.js';
import { googleMessage, isAmbiguous, isServerCancelled, toVertexLaunchError } from './errors.js';
import { consoleUrlOf, type KnownSnapshot, snapshotOf, toJobSnapshot } from './job.js';
import { RateLimiter } from './limiter.js';
import { LogFeed } from './log-feed.js';
import { listLogEntries, readJobLogs } from './logs.js';
import { JobTracker, type TrackerCycle, type TrackerOptions } from './tracker.js';

/** Default of `createLookup.windowMs`: five minutes, well past the 60 s deadline of a create call. */
export const DEFAULT_CREATE_LOOKUP_WINDOW_MS = 300_000;

/** Attempts of the lookup that ends a lookup window (the ones within it make one attempt each). */
const FINAL_LOOKUP_ATTEMPTS = 4;

/** The ListCustomJobs filter that finds the jobs of a launch. */
export function launchIdFilter(launchId: string, attempt = 1): string {
  const launch = `labels.${LAUNCH_ID_LABEL}="${sanitizeLabelValue(launchId)}"`;
  return attempt > 1 ? `${launch} AND labels.${ATTEMPT_LABEL}="${attempt}"` : launch;
}

/** Name of the runner in messages. */
export const VERTEX_RUNNER = 'vertex';

/**
 * How the runner retries a call (gax's retries are switched off so every attempt is ours and counted): 8 attempts,
 * full jitter under a bound of 500 ms doubling up to 30 s, on UNAVAILABLE, RESOURCE_EXHAUSTED, INTERNAL and
 * DEADLINE_EXCEEDED (core's `TRANSIENT_GRPC_CODES`); anything else surfaces at once.
 */
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = {
  maxAttempts: 8,
  initialDelayMs: 500,
  maxDelayMs: 30_000,
  multiplier: 2,
};

/** Per-minute limits the runner keeps under (per project and region, like Vertex's quotas). */
export interface VertexQuotas {
  /** CreateCustomJob calls per minute. Default 60. 0: unlimited. */
  createsPerMinute?: number;
  /** Get/List/Cancel calls per minute. Default 600. 0: unlimited. */
  readsPerMinute?: number;
  /** Cloud Logging `entries:list` calls per minute (Logging's read quota is per project). Default 60. 0: unlimited. */
  logReadsPerMinute?: number;
}

/** Options of {@link vertexRunner}. */
export interface VertexRunnerOptions {
  /** Credentials from `@vertex-launch/auth` (their project, region and principal are used when not given here). */
  credentials?: AuthCredentials;
  /** A google-auth-library client (or anything with `getAccessToken()` and `getRequestHeaders()`). */
  authClient?: AuthClientLike;
  /** Google Cloud project id (google-cloud's name for it). Default: the credentials' project. */
  projectId?: string;
  /** Vertex AI region, e.g. `us-central1` (the `locations/<region>` of the jobs). Default: the credentials' region. */
  region?: string;
  /** The principal the calls run as, for permission hints. Default: the credentials' principal. */
  principal?: string;
  /**
   * Where the Google APIs are: the runtime's `endpoints` (`resolveRuntime()` / `resolveServiceEndpoints()`), Google's
   * or the emulator's. Default: those of `env`.
   */
  endpoints?: ServiceEndpoints;
  /** Environment to read the endpoints from when `endpoints` is not given. Default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Vertex API host instead of `<region>-aiplatform.googleapis.com` (ignored with the emulator). */
  apiEndpoint?: string;
  /** Cloud Logging base URL instead of the endpoints' (`https://logging.googleapis.com`, or the emulator's). */
  loggingUrl?: string;
  /** Client-side per-minute limits. Default 60 creates, 600 reads and 60 log reads per minute; 0 = unlimited. */
  quotas?: VertexQuotas;
  /** Retry policy of every call. */
  retry?: Partial<RetryPolicy>;
  /** Deadline of one call, ms. Default 60 000. */
  callTimeoutMs?: number;
  /**
   * After a create whose answer was lost (DEADLINE_EXCEEDED, UNAVAILABLE, INTERNAL, UNKNOWN: the server may have
   * committed it, even after the client's deadline), how long the runner keeps looking the launch id up before it
   * may create again: `windowMs` from the moment that create was sent (default 300 000, five minutes — longer than
   * any server-side commit of a call with the default 60 s deadline), one lookup at once and then every
   * `intervalMs` (default 5 000). Only a lookup that answers "none" after the window proves the first create absent;
   * when none answers by then, submit throws a `SubmitUnknownError` (the job may exist) and creates nothing.
   */
  createLookup?: { windowMs?: number; intervalMs?: number };
  /** Polling of the batched tracker. */
  tracker?: Partial<TrackerOptions>;
  /** Following logs: pause between reads and the re-read window for late entries, ms. Defaults 2 000 and 10 000. */
  logs?: { pollIntervalMs?: number; lagMs?: number };
  /** Called after each tracker cycle (calls made, changes seen). */
  onTrackerCycle?: (cycle: TrackerCycle) => void;
  /** Called after each failed attempt of a call. */
  onRetry?: (event: RetryEvent & { method: string }) => void;
  /** Time and sleeps of retries, quota waits, log polls and the tracker. Default: the system clock. */
  clock?: Clock;
  /** Jitter of the retry delays, numbers in [0, 1). Default `Math.random`; tests pass a seeded one. */
  random?: () => number;
}

/** The Vertex AI runner: a {@link JobRunner} with `wait()` and call statistics. */
export interface VertexRunner extends JobRunner {
  readonly projectId: string;
  readonly region: string;
  /** `projects/<project>/locations/<region>`. */
  readonly parent: string;
  /** True when calls go to the Vertex Launch emulator. */
  readonly emulated: boolean;
  watch(jobName: string, listener: JobWatchListener, initial?: JobSnapshot): () => void;
  /** Resolves with the final snapshot once the job has ended. */
  wait(jobName: string, options?: WaitForJobOptions): Promise<JobSnapshot>;
  /** The job with `launchId`, if one was created. */
  findByLaunchId(launchId: string, attempt?: number): Promise<JobSnapshot | undefined>;
  /** Calls made to Vertex so far, by method (attempts, retries included). */
  calls(): Readonly<Record<string, number>>;
  close(): Promise<void>;
}

const LIST_PAGE_SIZE = 1000;
const DEFAULT_LIST_LIMIT = 100;

/** Every option of {@link vertexRunner}. */
const OPTIONS: readonly (keyof VertexRunnerOptions)[] = [
  'credentials',
  'authClient',
  'projectId',
  'region',
  'principal',
  'endpoints',
  'env',
  'apiEndpoint',
  'loggingUrl',
  'quotas',
  'retry',
  'callTimeoutMs',
  'createLookup',
  'tracker',
  'logs',
  'onTrackerCycle',
  'onRetry',
  'clock',
  'random',
];

/** Names other libraries use (google-cloud: `projectId`; Vertex AI jobs run in a region, `locations/<region>`). */
const RENAMED: Readonly<Record<string, string>> = {
  project: 'projectId',
  location: 'region',
  emulator: 'endpoints',
  keyFile: 'credentials',
};

function fail(problems: string[]): never {
  throw new ConfigError(
    `[vertex-launch] [runner:vertex] Invalid options: ${problems.join('; ')}.`,
    problems.map((message) => ({ path: message.split(' ')[0] ?? '', message, severity: 'error' as const })),
    { hint: 'Pass them to vertexRunner({ ... }) or resolve credentials that carry them (@vertex-launch/auth).' },
  );
}

/** The options checked (unknown and misnamed ones, required and malformed values): the client, project and region. */
function checkOptions(options: VertexRunnerOptions) {
  if (options === null || typeof options !== 'object')
    fail(['options must be an object: { credentials, projectId, region }']);
  const unknown = unknownOptions(options, OPTIONS, RENAMED);
  if (unknown.length > 0) {
    throw optionsError(
      '[vertex-launch] [runner:vertex]',
      unknown,
      'See VertexRunnerOptions: credentials, projectId, region, ...',
    );
  }
  const authClient = options.authClient ?? options.credentials?.authClient;
  const project = options.projectId ?? options.credentials?.projectId;
  const region = options.region ?? options.credentials?.region;
  const problems: string[] = [];
  if (!authClient) problems.push('`authClient` (or `credentials`) is required');
  if (!project) problems.push('`projectId` is required (or credentials that name one)');
  if (!region) problems.push('`region` is required, e.g. us-central1');
  else {
    const check = checkRegion(region, options.region ? 'the `region` option' : 'the credentials');
    if (check.severity === 'error') problems.push(`\`region\`: ${check.message?.replace(/\.$/, '')}`);
  }
  for (const [key, value] of Object.entries(options.quotas ?? {})) {
    if (value !== undefined && !(value >= 0)) problems.push(`\`quotas.${key}\` must be >= 0, got ${value}`);
  }
  if (options.retry?.maxAttempts !== undefined && !(options.retry.maxAttempts >= 1))
    problems.push('`retry.maxAttempts` must be >= 1');
  for (const [key, value] of Object.entries(options.createLookup ?? {})) {
    if (value !== undefined && !(value >= 0 && value <= 86_400_000))
      problems.push(`\`createLookup.${key}\` must be between 0 and 86400000 ms, got ${value}`);
  }
  if (problems.length > 0) fail(problems);
  return { auth: authClient as AuthClientLike, projectId: project as string, location: region as string };
}

/** Creates the Vertex AI runner. Nothing is loaded or contacted until the first call. */
export function vertexRunner(options: VertexRunnerOptions): VertexRunner {
  const { auth, projectId, location } = checkOptions(options);
  const principal = options.principal ?? options.credentials?.principal;
  const parent = `projects/${projectId}/locations/${location}`;

  const endpoints = endpointsOption(options.endpoints, options.env);
  const emulator = emulatorConnectionOf(endpoints);
  const loggingUrl = options.loggingUrl ?? endpoints.loggingUrl;
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  const creates = new RateLimiter(options.quotas?.createsPerMinute ?? 60, clock);
  const reads = new RateLimiter(options.quotas?.readsPerMinute ?? 600, clock);
  const logReads = new RateLimiter(options.quotas?.logReadsPerMinute ?? 60, clock);
  // gax retries nothing (`retry: null`): every attempt is ours, so retries are counted and limited.
  const callOptions = { timeout: options.callTimeoutMs ?? 60_000, retry: null };
  const counts: Record<string, number> = {};

  let clientPromise: Promise<JobServiceClient> | undefined;
  const client = () => {
    clientPromise ??= createJobServiceClient({
      region: location,
      authClient: auth,
      emulator,
      apiEndpoint: options.apiEndpoint,
      projectId,
    }).catch((error: unknown) => {
      clientPromise = undefined;
      throw error;
    });
    return clientPromise;
  };

  const errorContext = (action: string, serviceAccount?: string) => ({
    action,
    principal,
    project: projectId,
    serviceAccount,
  });

  /** One call with our retries, the quota limiter and error mapping. */
  async function call<T>(
    method: string,
    limiter: RateLimiter,
    action: string,
    fn: (c: JobServiceClient) => Promise<T>,
    extra: {
      signal?: AbortSignal | undefined;
      serviceAccount?: string | undefined;
      policy?: RetryPolicy | undefined;
    } = {},
  ): Promise<T> {
    try {
      return await retry(
        async () => {
          // Load the client first: the limiter counts a call from the moment it lets it go.
          const c = await client();
          await limiter.acquire(extra.signal);
          counts[method] = (counts[method] ?? 0) + 1;
          return fn(c);
        },
        {
          policy: extra.policy ?? policy,
          clock,
          random,
          signal: extra.signal,
          onFailure: (event) => options.onRetry?.({ ...event, method }),
        },
      );
    } catch (error) {
      throw toVertexLaunchError(error, errorContext(action, extra.serviceAccount));
    }
  }

  const jobName = (nameOrId: string) => resolveJobName(nameOrId, { project: projectId, region: location });

  /** Every job matching `filter`, newest first, up to `limit`; and the number of list calls. */
  async function listAll(
    filter: string,
    limit = Number.POSITIVE_INFINITY,
    listPolicy?: RetryPolicy,
    known?: KnownSnapshot,
  ) {
    const jobs: JobSnapshot[] = [];
    let pageToken: string | undefined;
    let calls = 0;
    do {
      const request = {
        parent,
        filter,
        pageSize: Math.min(LIST_PAGE_SIZE, Math.max(1, limit - jobs.length)),
        ...(pageToken ? { pageToken } : {}),
      };
      const [page, , raw] = await call(
        'listCustomJobs',
        reads,
        `list CustomJobs in ${parent}`,
        (c) => c.listCustomJobs(request, { ...callOptions, autoPaginate: false }),
        { policy: listPolicy },
      );
      calls += 1;
      for (const job of page) jobs.push(snapshotOf(job, projectId, known));
      pageToken = raw?.nextPageToken || undefined;
    } while (pageToken && jobs.length < limit);
    return { jobs: jobs.slice(0, limit), calls };
  }

  async function get(name: string): Promise<JobSnapshot> {
    const full = jobName(name);
    const [job] = await call('getCustomJob', reads, `get job ${full}`, (c) =>
      c.getCustomJob({ name: full }, callOptions),
    );
    return toJobSnapshot(job, projectId);
  }

  async function findByLaunchId(
    launchId: string,
    listPolicy?: RetryPolicy,
    attempt = 1,
  ): Promise<JobSnapshot | undefined> {
    const { jobs } = await listAll(launchIdFilter(launchId, attempt), Number.POSITIVE_INFINITY, listPolicy);
    // A first attempt's lookup runs before any later attempt exists; still, never take a later attempt's job for it.
    const ofAttempt = attempt > 1 ? jobs : jobs.filter((job) => job.labels[ATTEMPT_LABEL] === undefined);
    // Newest first: the oldest is the one the launch made first (there is only one unless someone else used the id).
    return ofAttempt.at(-1);
  }

  /** One log feed per project: every job followed in it is read by one query per poll. */
  const feeds = new Map<string, LogFeed>();
  const feedOf = (logProject: string): LogFeed => {
    let feed = feeds.get(logProject);
    if (feed === undefined) {
      const action = `read the logs of jobs in projects/${logProject}`;
      feed = new LogFeed({
        fetchPage: (body) =>
          call('logging.entries.list', logReads, action, () => listLogEntries(loggingUrl, auth, body)).catch(
            (error: unknown) => {
              throw toVertexLaunchError((error as { cause?: unknown }).cause ?? error, {
                ...errorContext(action),
                service: 'logging.googleapis.com',
              });
            },
          ),
        resourceName: `projects/${logProject}`,
        pollIntervalMs: options.logs?.pollIntervalMs ?? 2_000,
        lagMs: options.logs?.lagMs ?? 10_000,
        clock,
      });
      feeds.set(logProject, feed);
    }
    return feed;
  };

  const lookupWindowMs = options.createLookup?.windowMs ?? DEFAULT_CREATE_LOOKUP_WINDOW_MS;
  const lookupIntervalMs = options.createLookup?.intervalMs ?? 5_000;

  /** How to find the job of `launchId` by hand: the filter, with gcloud and vertex-launch. */
  const findItHint = (launchId: string) =>
    `It may exist: find it with \`gcloud ai custom-jobs list --project=${projectId} --region=${location} --filter='labels.${LAUNCH_ID_LABEL}=${sanitizeLabelValue(launchId)}'\` (ListCustomJobs filter: ${launchIdFilter(launchId)}); launch again with the same launch id only once it is proven absent.`;

  /**
   * Settles a create that may have happened (sent at `sentAt`): the job of `launchId` once a lookup finds it;
   * undefined once a lookup after the window answers "none" (proven absent); a {@link SubmitUnknownError} when no
   * lookup answered by the end of the window. Lookups that fail are tried again until then.
   */
  async function settleUnknown(
    launchId: string,
    sentAt: number,
    signal?: AbortSignal,
    attempt = 1,
  ): Promise<JobSnapshot | undefined> {
    const until = sentAt + lookupWindowMs;
    let lastError: unknown;
    for (;;) {
      try {
        // One attempt per lookup while the window lasts (this loop is the retry, every `intervalMs`); the lookup
        // after it gets a few attempts of the retry policy before the outcome is declared unknown.
        const last = clock.now() >= until;
        const found = await findByLaunchId(
          launchId,
          { ...policy, maxAttempts: last ? FINAL_LOOKUP_ATTEMPTS : 1 },
          attempt,
        );
        if (found || last) return found;
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        lastError = error;
        const code = error instanceof ApiError ? error.grpcCode : grpcCodeOf(error);
        const transient = code !== undefined && TRANSIENT_GRPC_CODES.has(code);
        if (!transient || clock.now() >= until) {
          throw new SubmitUnknownError(
            `[vertex-launch] [runner:vertex] may exist: the answer of the create of launch ${launchId} was lost, and looking it up (${launchIdFilter(launchId, attempt)}) ${transient ? `did not answer until ${new Date(until).toISOString()}` : 'failed'}: ${(error as Error).message}`,
            { launchId, filter: launchIdFilter(launchId, attempt), cause: lastError, hint: findItHint(launchId) },
          );
        }
      }
      await clock.sleep(Math.max(1, Math.min(lookupIntervalMs, until - clock.now())), signal);
      if (signal?.aborted) throw signal.reason;
    }
  }

  const tracker = new JobTracker(
    { list: (filter, known) => listAll(filter, Number.POSITIVE_INFINITY, undefined, known), get },
    options.tracker,
    options.onTrackerCycle,
    clock,
  );

  const runner: VertexRunner = {
    name: VERTEX_RUNNER,
    projectId,
    region: location,
    parent,
    emulated: emulator !== undefined,
    jobName,

    async submit(request: CreateCustomJobRequest, submitOptions: SubmitOptions): Promise<SubmitResult> {
      const requestRegion = /^projects\/[^/]+\/locations\/([^/]+)$/.exec(request.parent)?.[1];
      if (requestRegion !== location) {
        throw new ConfigError(
          `[vertex-launch] [runner:vertex] The request's parent "${request.parent}" is not in the runner's region ${location}.`,
          [],
          { hint: 'Create the runner for the region of the launch (--region).' },
        );
      }
      const launchLabel = sanitizeLabelValue(submitOptions.launchId);
      const labels = request.customJob.labels ?? {};
      if (labels[LAUNCH_ID_LABEL] !== undefined && labels[LAUNCH_ID_LABEL] !== launchLabel) {
        throw new ConfigError(
          `[vertex-launch] [runner:vertex] The request's ${LAUNCH_ID_LABEL} label "${labels[LAUNCH_ID_LABEL]}" differs from the launch id "${submitOptions.launchId}".`,
          [],
          { hint: 'Map the request with the same LaunchContext.launchId you submit with.' },
        );
      }
      const attempt = submitOptions.attempt ?? 1;
      if (!Number.isInteger(attempt) || attempt < 1) {
        throw new ConfigError(
          `[vertex-launch] [runner:vertex] Invalid \`attempt\` ${String(submitOptions.attempt)}: a whole number of at least 1.`,
          [],
        );
      }
      const body: CreateCustomJobRequest = {
        ...request,
        customJob: {
          ...request.customJob,
          labels: {
            ...labels,
            [LAUNCH_ID_LABEL]: launchLabel,
            ...(attempt > 1 ? { [ATTEMPT_LABEL]: String(attempt) } : {}),
          },
        },
      };
      const serviceAccount = body.customJob.jobSpec.serviceAccount;
      const action = `create a CustomJob in ${request.parent}`;
      const context = errorContext(action, serviceAccount);
      // After a failure that may have created the job (even after its deadline), look it up by launch id until the
      // lookup window has passed before creating again: `unknownSince` is when that create was sent.
      let unknownSince = submitOptions.unknownSince?.getTime();
      try {
        return await retry(
          async () => {
            if (unknownSince !== undefined) {
              const existing = await settleUnknown(submitOptions.launchId, unknownSince, submitOptions.signal, attempt);
              if (existing) return { jobName: existing.name, job: existing, existing: true };
              unknownSince = undefined;
            }
            const c = await client();
            await creates.acquire(submitOptions.signal);
            counts.createCustomJob = (counts.createCustomJob ?? 0) + 1;
            const sentAt = clock.now();
            try {
              const [job] = await c.createCustomJob(
                body as unknown as Parameters<JobServiceClient['createCustomJob']>[0],
                // run.create_request_timeout: the deadline of this call (jobs.py: `timeout=create_request_timeout`).
                submitOptions.timeoutMs ? { ...callOptions, timeout: submitOptions.timeoutMs } : callOptions,
              );
              const snapshot = toJobSnapshot(job, projectId);
              return { jobName: snapshot.name, job: snapshot, existing: false };
            } catch (error) {
              if (isAmbiguous(error)) {
                unknownSince = sentAt;
                await submitOptions.onUnknown?.({
                  launchId: submitOptions.launchId,
                  filter: launchIdFilter(submitOptions.launchId, attempt),
                  reason: googleMessage(error),
                  until: new Date(sentAt + lookupWindowMs),
                });
              }
              throw error;
            }
          },
          {
            policy,
            clock,
            random,
            signal: submitOptions.signal,
            // A SubmitUnknownError is final: the window has passed without an answer.
            retryable: (error) =>
              !(error instanceof SubmitUnknownError) && (isTransientGrpcError(error) || isServerCancelled(error)),
            onFailure: (event) => options.onRetry?.({ ...event, method: 'createCustomJob' }),
          },
        );
      } catch (error) {
        if (error instanceof SubmitUnknownError) throw error;
        if (unknownSince !== undefined && isAmbiguous(error)) {
          // Every create attempt failed and the last one may have committed: settle it before giving up.
          const existing = await settleUnknown(submitOptions.launchId, unknownSince, submitOptions.signal, attempt);
          if (existing) return { jobName: existing.name, job: existing, existing: true };
        }
        throw toVertexLaunchError(error, context);
      }
    },

    get,

    async list(listOptions: ListJobsOptions = {}): Promise<JobSnapshot[]> {
      const clauses = listOptions.all ? [] : [`labels.${RUN_ID_LABEL}:*`];
      if (listOptions.filter) clauses.push(`(${listOptions.filter})`);
      const { jobs } = await listAll(clauses.join(' AND '), listOptions.limit ?? DEFAULT_LIST_LIMIT);
      return jobs;
    },

    async cancel(name: string, cancelOptions: CancelOptions = {}): Promise<JobSnapshot> {
      const full = jobName(name);
      try {
        await call(
          'cancelCustomJob',
          reads,
          `cancel job ${full}`,
          (c) => c.cancelCustomJob({ name: full }, callOptions),
          {
            signal: cancelOptions.signal,
          },
        );
      } catch (error) {
        // FAILED_PRECONDITION: the job has already ended (or is ending); report its state instead.
        if (grpcCodeOf((error as { cause?: unknown }).cause) !== GrpcCode.FAILED_PRECONDITION) throw error;
        const job = await get(full);
        if (job.terminal || job.state === 'JOB_STATE_CANCELLING') {
          if (job.terminal || cancelOptions.wait === false) return job;
        } else {
          throw error;
        }
      }
      if (cancelOptions.wait === false) return get(full);
      return waitForJob(runner, full, {
        timeoutMs: cancelOptions.timeoutMs ?? 10 * 60_000,
        goal: 'to be cancelled',
        ...(cancelOptions.signal ? { signal: cancelOptions.signal } : {}),
      });
    },

    logs(name: string, logOptions: JobLogsOptions = {}): AsyncIterable<JobLogEntry> {
      const full = jobName(name);
      const parts = parseJobName(full);
      // Log entries are written under the project id; a job name may carry the project number.
      const logProject = parts && !/^\d+$/.test(parts.project) ? parts.project : projectId;
      let done = false;
      let watching: (() => void) | undefined;
      let watchError: unknown;
      const isDone = async () => {
        if (watchError !== undefined) throw watchError;
        if (!watching && !done) {
          const job = await get(full);
          done = job.terminal;
          if (!done) {
            watching = tracker.track(
              full,
              {
                onChange: (j) => {
                  if (j.terminal) done = true;
                },
                onError: (e) => {
                  watchError = e;
                },
              },
              job,
            );
          }
        }
        return done;
      };
      const jobId = parts?.id ?? full;
      const fetchPage = (body: Record<string, unknown>) =>
        call('logging.entries.list', logReads, `read the logs of job ${full}`, () =>
          listLogEntries(loggingUrl, auth, body, logOptions.signal),
        ).catch((error: unknown) => {
          throw toVertexLaunchError((error as { cause?: unknown }).cause ?? error, {
            ...errorContext(`read the logs of job ${full}`),
            service: 'logging.googleapis.com',
          });
        });
      const { task, tail } = logOptions;
      const iterate = async function* () {
        try {
          let since = logOptions.since;
          /** insertIds of the tail, which the follow that comes after may read again. */
          const seen = new Set<string>();
          // Aborting rejects with the signal's reason, as wait() does (the DOM/Node convention for AbortSignal).
          if (tail !== undefined || logOptions.follow !== true) {
            const readSince = since;
            if (tail !== undefined && tail <= 0) since = new Date();
            else {
              for await (const entry of readJobLogs({
                fetchPage,
                resourceName: `projects/${logProject}`,
                jobId,
                follow: false,
                since: readSince,
                task,
                tail,
                signal: logOptions.signal,
                isDone,
                pollIntervalMs: options.logs?.pollIntervalMs ?? 2_000,
                lagMs: options.logs?.lagMs ?? 10_000,
                clock,
              })) {
                if (entry.insertId) seen.add(entry.insertId);
                const at = Date.parse(entry.timestamp);
                if (!Number.isNaN(at) && at > (since?.getTime() ?? 0)) since = new Date(at);
                yield entry;
              }
            }
          }
          if (logOptions.follow === true && !logOptions.signal?.aborted) {
            // Followed jobs of one project share one query per poll (see log-feed.ts); a task is picked out here.
            for await (const entry of feedOf(logProject).follow({ jobId, since, signal: logOptions.signal, isDone })) {
              if (task !== undefined && entry.task !== task) continue;
              if (entry.insertId && seen.has(entry.insertId)) continue;
              yield entry;
            }
          }
          if (logOptions.signal?.aborted) throw logOptions.signal.reason;
        } catch (error) {
          if (logOptions.signal?.aborted) throw logOptions.signal.reason;
          throw error;
        } finally {
          watching?.();
        }
      };
      return iterate();
    },

    consoleUrl: (name: string) => consoleUrlOf(jobName(name), projectId),

    watch: (name, listener, initial) => tracker.track(jobName(name), listener, initial),

    wait: (name, waitOptions = {}) => waitForJob(runner, jobName(name), waitOptions),

    findByLaunchId: (launchId, attempt) => findByLaunchId(launchId, undefined, attempt),

    calls: () => ({ ...counts }),

    async close() {
      tracker.close();
      const pending = clientPromise;
      clientPromise = undefined;
      if (pending) await (await pending.catch(() => undefined))?.close();
    },
  };
  return runner;
}
