/**
 * gRPC status codes by name, and what they mean for a caller: the one place the clients (Vertex, Artifact Registry,
 * Cloud Build), the agent and the emulator take them from. The numbers are those of `google.rpc.Code`
 * (https://github.com/googleapis/googleapis/blob/master/google/rpc/code.proto).
 */

/** Canonical gRPC status codes by name (the numbers of google.rpc.Code), shared by the clients and the emulator. */
export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/** The name of a canonical gRPC status code, e.g. `UNAVAILABLE`. */
export type GrpcCodeName = keyof typeof GrpcCode;

const CODE_NAMES = Object.fromEntries(Object.entries(GrpcCode).map(([k, v]) => [v, k])) as Record<number, string>;

/**
 * HTTP statuses of REST errors -> gRPC codes (Cloud Logging answers over HTTP; gax's REST fallback reports HTTP
 * statuses): the mapping of google.rpc.Code's comments (e.g. `HTTP Mapping: 503 Service Unavailable`).
 */
const HTTP_TO_GRPC: Record<number, number> = {
  400: GrpcCode.INVALID_ARGUMENT,
  401: GrpcCode.UNAUTHENTICATED,
  403: GrpcCode.PERMISSION_DENIED,
  404: GrpcCode.NOT_FOUND,
  409: GrpcCode.ABORTED,
  429: GrpcCode.RESOURCE_EXHAUSTED,
  499: GrpcCode.CANCELLED,
  500: GrpcCode.INTERNAL,
  501: GrpcCode.UNIMPLEMENTED,
  502: GrpcCode.UNAVAILABLE,
  503: GrpcCode.UNAVAILABLE,
  504: GrpcCode.DEADLINE_EXCEEDED,
};

/**
 * Codes of a call worth another attempt: the server was unavailable, overloaded or out of rate quota, failed
 * internally or did not answer in time. google.rpc.Code: UNAVAILABLE is "most likely a transient condition, which
 * can be corrected by retrying with a backoff"; RESOURCE_EXHAUSTED, INTERNAL and DEADLINE_EXCEEDED are retried by
 * Google's own client retry configs.
 */
export const TRANSIENT_GRPC_CODES: ReadonlySet<number> = new Set([
  GrpcCode.UNAVAILABLE,
  GrpcCode.RESOURCE_EXHAUSTED,
  GrpcCode.INTERNAL,
  GrpcCode.DEADLINE_EXCEEDED,
]);

/**
 * The gRPC code of an error from google-gax (or an HTTP status mapped to one, or UNAVAILABLE for a Node network
 * error such as ECONNRESET); undefined when it has none.
 */
export function grpcCodeOf(error: unknown): number | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  const e = error as { code?: unknown; status?: unknown; response?: { status?: unknown } };
  if (typeof e.code === 'number') return e.code >= 100 ? (HTTP_TO_GRPC[e.code] ?? GrpcCode.UNKNOWN) : e.code;
  const status = typeof e.status === 'number' ? e.status : e.response?.status;
  if (typeof status === 'number')
    return HTTP_TO_GRPC[status] ?? (status >= 500 ? GrpcCode.UNAVAILABLE : GrpcCode.UNKNOWN);
  // Node network errors (ECONNRESET, ECONNREFUSED, ETIMEDOUT, ...): the server may not have answered.
  if (typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) return GrpcCode.UNAVAILABLE;
  return undefined;
}

/** grpc-js's wrapper when the call credentials (google-auth-library's metadata plugin) could not give a token. */
const METADATA_PLUGIN_FAILED = /Getting metadata from plugin failed(?: with error)?:?\s*/i;
/** OAuth error codes of a refused credential (RFC 6749 5.2, and Google's reauth). */
const OAUTH_REFUSALS = /\b(?:invalid_grant|invalid_client|unauthorized_client|invalid_rapt)\b/;

/**
 * True when `error` says the credentials were refused: UNAUTHENTICATED (HTTP 401), an OAuth refusal
 * (`invalid_grant`, ...), or grpc-js's "Getting metadata from plugin failed" — the token could not be had, so the
 * request never left (grpc-js reports it as UNKNOWN or UNAVAILABLE, which must be neither retried nor taken for
 * an API failure).
 */
export function isCredentialRefusal(error: unknown): boolean {
  if (grpcCodeOf(error) === GrpcCode.UNAUTHENTICATED) return true;
  const text = messageOf(error);
  return METADATA_PLUGIN_FAILED.test(text) || OAUTH_REFUSALS.test(text);
}

/** The refusal's own words, without grpc-js's "Getting metadata from plugin failed with error: " wrapper. */
export function credentialRefusalMessage(message: string): string {
  return message.replace(/^(?:\d+ [A-Z_]+: )?/, '').replace(METADATA_PLUGIN_FAILED, '');
}

function messageOf(error: unknown): string {
  if (error === null || typeof error !== 'object') return String(error ?? '');
  const e = error as { details?: unknown; message?: unknown };
  return `${typeof e.details === 'string' ? e.details : ''} ${typeof e.message === 'string' ? e.message : ''}`;
}

/** The name of a gRPC code, e.g. `UNAVAILABLE`. */
export function grpcCodeName(code: number | undefined): string {
  return code === undefined ? 'UNKNOWN' : (CODE_NAMES[code] ?? `code ${code}`);
}

/** True when `error` carries a code of {@link TRANSIENT_GRPC_CODES}: the call may succeed if tried again later. */
export function isTransientGrpcError(error: unknown): boolean {
  if (isCredentialRefusal(error) || isResourceQuotaRefusal(error)) return false;
  const code = grpcCodeOf(error);
  return code !== undefined && TRANSIENT_GRPC_CODES.has(code);
}

/**
 * True for RESOURCE_EXHAUSTED of a resource quota — "The following quota metrics exceed quota limits:
 * aiplatform.googleapis.com/custom_model_training_nvidia_l4_gpus" — which does not free up within a retry's backoff
 * (a rate quota, calls per minute, does). Such a refusal is a `quota` failure, not a transient one.
 */
export function isResourceQuotaRefusal(error: unknown): boolean {
  if (grpcCodeOf(error) !== GrpcCode.RESOURCE_EXHAUSTED) return false;
  const text = error instanceof Error ? error.message : String((error as { message?: unknown })?.message ?? '');
  if (/per (?:minute|second)|rate ?limit|RATE_LIMIT_EXCEEDED|requests? per/i.test(text)) return false;
  return /quota metrics? exceed|exceed(?:s|ed)? (?:the )?quota limits?|custom_model_training_/i.test(text);
}
