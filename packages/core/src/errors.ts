/**
 * One error family for the whole SDK. Every error carries a stable `code` that scripts can
 * match on, and the CLI maps each kind to an exit code (config 2, auth 3, api 4, ...).
 * Messages say what was wrong, where, and what to do next; they never contain secrets.
 */

/** Stable machine-readable error codes. */
export type VertexLaunchErrorCode =
  | 'CONFIG_INVALID'
  | 'CONFIG_FILE'
  | 'AUTH'
  | 'PERMISSION'
  | 'BUILD'
  | 'API'
  | 'JOB_FAILED'
  | 'SUBMIT_UNKNOWN'
  | 'INTERRUPTED'
  | 'INTERNAL';

/** Options of every `VertexLaunchError` constructor. */
export interface VertexLaunchErrorOptions {
  /** The underlying error (a Google API error, an I/O error, ...), kept as the standard `Error.cause`. */
  cause?: unknown;
  /** What the user can do about it, shown after the message. */
  hint?: string;
}

/** Base class of every error the SDK throws on purpose. */
export class VertexLaunchError extends Error {
  override name = 'VertexLaunchError';
  readonly code: VertexLaunchErrorCode;
  readonly hint: string | undefined;

  constructor(code: VertexLaunchErrorCode, message: string, options: VertexLaunchErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: withoutRequest(options.cause) });
    this.code = code;
    this.hint = options.hint;
  }
}

const REQUEST_KEYS = new Set(['config', 'request', 'response', 'options']);

/**
 * The cause to keep. HTTP client errors (gaxios, from @google-cloud/storage and google-auth-library) carry the request
 * that failed — its `Authorization: Bearer` header included — in `config` and `response.config`, so printing the
 * error (`console.error`, `util.inspect`) would show the token. Such a cause is replaced by a copy without the
 * request: name, message, stack, code, status, the response status and body stay.
 */
function withoutRequest(cause: unknown, depth = 0): unknown {
  if (!(cause instanceof Error) || depth > 5) return cause;
  const fields = cause as unknown as Record<string, unknown>;
  const carriesRequest = [...REQUEST_KEYS].some((k) => typeof fields[k] === 'object' && fields[k] !== null);
  const inner = cause.cause === undefined ? undefined : withoutRequest(cause.cause, depth + 1);
  if (!carriesRequest && inner === cause.cause) return cause;
  const copy = new Error(cause.message, inner === undefined ? undefined : { cause: inner }) as Error &
    Record<string, unknown>;
  copy.name = cause.name;
  if (cause.stack !== undefined) copy.stack = cause.stack;
  for (const [key, value] of Object.entries(fields)) if (!REQUEST_KEYS.has(key)) copy[key] = value;
  const response = fields.response as { status?: unknown; statusText?: unknown; data?: unknown } | undefined;
  if (response && typeof response === 'object') {
    copy.response = { status: response.status, statusText: response.statusText, data: response.data };
  }
  return copy;
}

/** One problem found while validating a config: where, and what is wrong. */
export interface ConfigIssue {
  /** Dotted path with indices, e.g. `spec.worker_pool_specs[0].machine_spec.accelerator_type`. Empty for the root. */
  path: string;
  message: string;
  severity: 'error' | 'warning';
}

/** A config (file, flag or object) is invalid. Lists every problem found, not just the first. */
export class ConfigError extends VertexLaunchError {
  override name = 'ConfigError';
  /** The file the config came from, when it came from a file. */
  readonly file: string | undefined;
  readonly issues: readonly ConfigIssue[];

  constructor(
    message: string,
    issues: readonly ConfigIssue[] = [],
    options: VertexLaunchErrorOptions & { file?: string } = {},
  ) {
    super('CONFIG_INVALID', message, options);
    this.file = options.file;
    this.issues = issues;
  }
}

/** No credentials could be found, or they were refused. */
export class AuthError extends VertexLaunchError {
  override name = 'AuthError';
  constructor(message: string, options: VertexLaunchErrorOptions = {}) {
    super('AUTH', message, options);
  }
}

/** The principal lacks a permission. `permission` names it (e.g. `aiplatform.customJobs.create`). */
export class PermissionError extends VertexLaunchError {
  override name = 'PermissionError';
  readonly permission: string | undefined;
  constructor(message: string, options: VertexLaunchErrorOptions & { permission?: string } = {}) {
    super('PERMISSION', message, options);
    this.permission = options.permission;
  }
}

/** An image build failed. Carries the builder's name and the tail of its log. */
export class BuildError extends VertexLaunchError {
  override name = 'BuildError';
  readonly builder: string;
  readonly logTail: readonly string[];
  constructor(
    builder: string,
    message: string,
    options: VertexLaunchErrorOptions & { logTail?: readonly string[] } = {},
  ) {
    super('BUILD', `[vertex-launch] [builder:${builder}] ${message}`, options);
    this.builder = builder;
    this.logTail = options.logTail ?? [];
  }
}

/** A Google API call failed. `grpcCode` is the canonical status code when known. */
export class ApiError extends VertexLaunchError {
  override name = 'ApiError';
  readonly service: string;
  readonly grpcCode: number | undefined;
  /**
   * Why, in Google's words: the `reason` of the error's google.rpc.ErrorInfo, e.g. `SERVICE_DISABLED` (the API is not
   * enabled in the project). See https://cloud.google.com/apis/design/errors#error_info.
   */
  readonly reason: string | undefined;
  constructor(
    service: string,
    message: string,
    options: VertexLaunchErrorOptions & { grpcCode?: number; reason?: string } = {},
  ) {
    super('API', message, options);
    this.service = service;
    this.grpcCode = options.grpcCode;
    this.reason = options.reason;
  }
}

/**
 * A create whose answer was lost (a deadline, a dropped connection, an error that may follow a commit) could not be
 * settled: the launch id was looked up until the runner's lookup window passed, and no lookup answered (the list
 * kept failing). The job may exist: `filter` (a ListCustomJobs filter on the launch-id label) finds it, `hint` says
 * how. Nothing was created a second time. Not a failure of the launch: its outcome is unknown.
 */
export class SubmitUnknownError extends VertexLaunchError {
  override name = 'SubmitUnknownError';
  readonly launchId: string;
  /** The ListCustomJobs filter that finds the job, e.g. `labels.vertex-launch-launch-id="…"`. */
  readonly filter: string;
  constructor(message: string, options: VertexLaunchErrorOptions & { launchId: string; filter: string }) {
    super('SUBMIT_UNKNOWN', message, options);
    this.launchId = options.launchId;
    this.filter = options.filter;
  }
}

/** A bug: something that should not happen. */
export class InternalError extends VertexLaunchError {
  override name = 'InternalError';
  constructor(message: string, options: VertexLaunchErrorOptions = {}) {
    super('INTERNAL', message, options);
  }
}

/** True for errors thrown on purpose by the SDK (as opposed to bugs and foreign errors). */
export function isVertexLaunchError(error: unknown): error is VertexLaunchError {
  return error instanceof VertexLaunchError;
}
