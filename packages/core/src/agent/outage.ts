/**
 * API outages as the agent sees them: which failures are transient (worth giving a launch back to its queue rather
 * than failing it), one log line when an outage starts and one when it ends (with its duration and how many calls
 * failed) instead of one per failed call, and the wait of an agent that starts while the API does not answer.
 */
import { type Clock, systemClock } from '../clock.js';
import { ApiError } from '../errors.js';
import { GrpcCode, grpcCodeName, grpcCodeOf } from '../grpc-code.js';
import { type BackoffPolicy, backoff } from '../retry.js';
import type { AgentLogger } from './agent.js';

function text(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The gRPC code of an error or of the first error of its `cause` chain that has one. */
export function apiCodeOf(error: unknown): number | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current !== null && typeof current === 'object'; depth++) {
    const code = current instanceof ApiError ? current.grpcCode : grpcCodeOf(current);
    if (code !== undefined) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** RESOURCE_EXHAUSTED of a rate quota (calls per minute), not of a resource quota (GPUs, CPUs) that will not free up soon. */
function isRateQuota(error: unknown): boolean {
  const reason = error instanceof ApiError ? error.reason : undefined;
  return reason === 'RATE_LIMIT_EXCEEDED' || /per (minute|second)|rate ?limit|RATE_LIMIT_EXCEEDED/i.test(text(error));
}

/**
 * True when a call failed in a way that may pass if tried again later: UNAVAILABLE or INTERNAL (HTTP 500/502/503),
 * RESOURCE_EXHAUSTED of a rate quota (HTTP 429), and DEADLINE_EXCEEDED (HTTP 504) unless `jobMayExist` (a create
 * that timed out may have made the job: that answer is not transient but unknown).
 */
export function isTransientApiError(error: unknown, { jobMayExist }: { jobMayExist: boolean }): boolean {
  switch (apiCodeOf(error)) {
    case GrpcCode.UNAVAILABLE:
    case GrpcCode.INTERNAL:
      return true;
    case GrpcCode.DEADLINE_EXCEEDED:
      return !jobMayExist;
    case GrpcCode.RESOURCE_EXHAUSTED:
      return isRateQuota(error);
    default:
      return false;
  }
}

/**
 * Tracks API outages for the log: the first transient failure opens an outage (one warning, event
 * `api_unavailable`), later ones are only counted, and the next call that answers closes it (one line, event
 * `api_available`, with `outageMs` and `failedCalls`).
 */
export class ApiOutageLog {
  #since: number | undefined;
  #failed = 0;
  #last: unknown;

  constructor(
    private readonly log: AgentLogger,
    private readonly fields: Record<string, unknown>,
    private readonly clock: Clock = systemClock,
  ) {}

  /** True while an outage is open. */
  get open(): boolean {
    return this.#since !== undefined;
  }

  /** Calls failed in the open outage (0 when none is open). */
  get failedCalls(): number {
    return this.#failed;
  }

  /** A call (`what`, e.g. `Vertex AI createCustomJob`) failed with a transient error. */
  failed(error: unknown, what: string): void {
    // The same failure reported twice (an attempt seen by the runner's retry hook, then its final error): count once.
    const seen =
      this.#last !== undefined && (error === this.#last || (error as { cause?: unknown })?.cause === this.#last);
    this.#last = error;
    if (seen) return;
    this.#failed += 1;
    if (this.#since !== undefined) return;
    this.#since = this.clock.now();
    const code = grpcCodeName(apiCodeOf(error));
    this.log.warn(
      { ...this.fields, event: 'api_unavailable', call: what, code, error: text(error) },
      `API outage: ${what} failed with ${code} (${text(error)}); launches without a job go back to their queue with backoff, running jobs are followed again once it answers`,
    );
  }

  /** A call answered: ends an open outage. */
  answered(): void {
    this.#last = undefined;
    if (this.#since === undefined) return;
    const outageMs = this.clock.now() - this.#since;
    const failedCalls = this.#failed;
    this.#since = undefined;
    this.#failed = 0;
    this.log.info(
      { ...this.fields, event: 'api_available', outageMs, failedCalls },
      `API outage over after ${formatDuration(outageMs)}: the API answers again (${failedCalls} call${failedCalls === 1 ? '' : 's'} failed meanwhile)`,
    );
  }
}

function formatDuration(ms: number): string {
  return ms < 60_000
    ? `${Math.round(ms / 100) / 10}s`
    : `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
}

/** Backoff of {@link whenApiAnswers}: from 1 s, doubling, up to 30 s. */
export const API_WAIT_BACKOFF: Readonly<BackoffPolicy> = {
  initialDelayMs: 1_000,
  multiplier: 2,
  maxDelayMs: 30_000,
  jitter: 'equal',
};

/** Options of {@link whenApiAnswers}. */
export interface WhenApiAnswersOptions {
  /** The call, for the log (e.g. `Vertex AI listCustomJobs`). */
  what: string;
  outage: ApiOutageLog;
  log: AgentLogger;
  fields?: Record<string, unknown>;
  clock?: Clock;
  random?: () => number;
  /** Stops waiting: resolves `undefined`. */
  signal?: AbortSignal;
  policy?: BackoffPolicy;
}

/**
 * Runs `call` until it answers, waiting with backoff (and a log line per try: event `api_wait`) while it fails with
 * a transient error; any other error is thrown. Never gives up on its own: an agent started during an outage starts
 * once the API is back. `undefined` when `signal` aborts first.
 */
export async function whenApiAnswers<T>(
  call: () => Promise<T>,
  options: WhenApiAnswersOptions,
): Promise<T | undefined> {
  const { outage, log, what, signal } = options;
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    if (signal?.aborted) return undefined;
    try {
      const result = await call();
      outage.answered();
      return result;
    } catch (error) {
      if (signal?.aborted) return undefined;
      if (!isTransientApiError(error, { jobMayExist: false })) throw error;
      outage.failed(error, what);
      const delayMs = backoff(options.policy ?? API_WAIT_BACKOFF, attempt, random);
      log.warn(
        { ...options.fields, event: 'api_wait', attempt, delayMs, failedCalls: outage.failedCalls, error: text(error) },
        `${what} does not answer (${text(error)}); waiting for it before starting, next try in ${formatDuration(delayMs)}`,
      );
      await clock.sleep(delayMs, signal);
    }
  }
}
