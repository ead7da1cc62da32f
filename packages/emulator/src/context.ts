/**
 * The contract between the emulator's server core and each API surface it serves.
 * Every surface (Vertex JobService over gRPC, Cloud Storage and Logging over HTTP, ...) gets a
 * ServiceContext and uses it for authentication, IAM, faults, quotas, counters and shared state.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GrpcCode, type GrpcCodeName } from '@vertex-launch/core';

/** Who is calling: resolved from the bearer token (or self-signed JWT) on a request. */
export interface Principal {
  /** e.g. `serviceAccount:runner@proj.iam.gserviceaccount.com` or `user:dev@example.com`. */
  member: string;
  /** e.g. `runner@proj.iam.gserviceaccount.com`. */
  email: string;
}

/** gRPC canonical status codes used by the emulator (same numbers as google.rpc.Code). */
export const Code = GrpcCode;
/** The name of a gRPC canonical status code (`'NOT_FOUND'`, `'PERMISSION_DENIED'`, ...): a key of `Code`. */
export type CodeName = GrpcCodeName;

/** HTTP status Google's REST APIs answer for each canonical code. */
export const HTTP_STATUS_FOR_CODE: Record<CodeName, number> = {
  OK: 200,
  CANCELLED: 499,
  UNKNOWN: 500,
  INVALID_ARGUMENT: 400,
  DEADLINE_EXCEEDED: 504,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  PERMISSION_DENIED: 403,
  RESOURCE_EXHAUSTED: 429,
  FAILED_PRECONDITION: 400,
  ABORTED: 409,
  OUT_OF_RANGE: 400,
  UNIMPLEMENTED: 501,
  INTERNAL: 500,
  UNAVAILABLE: 503,
  DATA_LOSS: 500,
  UNAUTHENTICATED: 401,
};

/** An error any surface can throw; gRPC surfaces send it as a status, HTTP ones as a Google error body. */
export class EmulatorError extends Error {
  override name = 'EmulatorError';
  constructor(
    readonly code: CodeName,
    message: string,
  ) {
    super(message);
  }
  get httpStatus(): number {
    return HTTP_STATUS_FOR_CODE[this.code];
  }
}

/** One structured log entry, as Cloud Logging's `entries:list` returns it (LogEntry, v2 REST JSON). */
export interface StoredLogEntry {
  logName: string;
  resource: { type: string; labels: Record<string, string> };
  timestamp: string;
  receiveTimestamp: string;
  severity: 'DEFAULT' | 'INFO' | 'ERROR' | 'WARNING';
  textPayload: string;
  insertId: string;
  labels?: Record<string, string>;
}

/** Cloud Logging storage shared by the surfaces that write logs (jobs, builds) and the one that reads them. */
export interface LogStore {
  append(entry: Omit<StoredLogEntry, 'insertId' | 'receiveTimestamp'>): StoredLogEntry;
  /** All entries in insertion order (the logging surface filters and pages them). */
  all(): readonly StoredLogEntry[];
}

/**
 * What the emulator hands every service it serves (HTTP surfaces and gRPC modules): the project and region,
 * authorization against its IAM, fault injection and counters, quotas, the log store, the data dir and the clock.
 */
export interface ServiceContext {
  readonly projectId: string;
  readonly region: string;
  /**
   * Authenticates the request's bearer token and checks that the caller holds `permission` on `resource`
   * (a resource name such as `projects/p/locations/l` or `projects/_/buckets/b`). Throws EmulatorError
   * UNAUTHENTICATED (missing/invalid/expired token) or PERMISSION_DENIED naming the permission.
   */
  authorize(authorization: string | undefined, permission: string, resource: string): Promise<Principal>;
  /**
   * Applies the injected faults and latency for `method` (e.g. `storage.objects.insert`,
   * `aiplatform.customJobs.create`) and counts the call. Throws an EmulatorError for an injected error.
   * `phase: 'after'` is checked once the operation committed (DEADLINE_EXCEEDED-after-commit).
   */
  beforeCall(method: string): Promise<void>;
  afterCall(method: string): Promise<void>;
  /**
   * The injected `phase: 'late'` fault for a call whose change is ready to commit, if one hits: the error to answer
   * at once, and the delay after which the service commits the change anyway (a commit after the client's deadline).
   */
  lateCommit?(method: string): Promise<{ error: Error; commitDelayMs: number } | undefined>;
  /** Adds `n` to the counter `name` of `emulator.counters()` (e.g. `storage.uploads.bytes`). */
  count?(name: string, n: number): void;
  /** Quota check for a metered call class (`vertex.reads`, `vertex.creates`, ...). Throws RESOURCE_EXHAUSTED. */
  consumeQuota(meter: string): void;
  readonly logs: LogStore;
  /** Directory for persistent state (when the emulator runs with a data dir), else undefined. */
  readonly dataDir: string | undefined;
  /** Milliseconds since epoch on the emulator's clock (tests may advance it). */
  now(): number;
}

/** An HTTP surface. `handle` returns false when the request is not for this surface. */
export interface HttpService {
  readonly name: string;
  handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean>;
  /** Saves state to ctx.dataDir when persistence is on. */
  flush?(): Promise<void>;
  close?(): Promise<void>;
}
