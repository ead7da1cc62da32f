/**
 * Google API errors -> the Vertex Launch error family. gRPC status codes decide what is retried; the messages keep
 * Google's text and add what to do about it.
 */
import { ApiError, AuthError, GrpcCode, PermissionError, type VertexLaunchError } from '@vertex-launch/core';

export { GrpcCode };

const CODE_NAMES = Object.fromEntries(Object.entries(GrpcCode).map(([k, v]) => [v, k])) as Record<number, string>;

/** HTTP statuses of REST errors -> gRPC codes (Cloud Logging answers over HTTP). */
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

/** Codes worth another attempt: the call may succeed later. */
export const RETRYABLE_CODES: ReadonlySet<number> = new Set([
  GrpcCode.UNAVAILABLE,
  GrpcCode.RESOURCE_EXHAUSTED,
  GrpcCode.INTERNAL,
  GrpcCode.DEADLINE_EXCEEDED,
]);

/**
 * Codes after which a create may or may not have happened: the request may have reached the server. A create is
 * retried after these only once the launch id was looked up. RESOURCE_EXHAUSTED is refused before any change.
 */
export const AMBIGUOUS_CODES: ReadonlySet<number> = new Set([
  GrpcCode.UNAVAILABLE,
  GrpcCode.INTERNAL,
  GrpcCode.DEADLINE_EXCEEDED,
  GrpcCode.UNKNOWN,
]);

/** The gRPC code of an error from google-gax (or an HTTP status mapped to one); undefined when it has none. */
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

/** The name of a gRPC code, e.g. `UNAVAILABLE`. */
export function grpcCodeName(code: number | undefined): string {
  return code === undefined ? 'UNKNOWN' : (CODE_NAMES[code] ?? `code ${code}`);
}

/** True when `error` is worth another attempt. */
export function isRetryable(error: unknown): boolean {
  const code = grpcCodeOf(error);
  return code !== undefined && RETRYABLE_CODES.has(code);
}

/** True when the call that failed with `error` may have taken effect. */
export function isAmbiguous(error: unknown): boolean {
  const code = grpcCodeOf(error);
  return code === undefined || AMBIGUOUS_CODES.has(code);
}

/** Google's own message of an error, without gax's `<code> <NAME>: ` prefix. */
export function googleMessage(error: unknown): string {
  if (error === null || typeof error !== 'object') return String(error);
  const e = error as { details?: unknown; message?: unknown };
  const text = typeof e.details === 'string' && e.details !== '' ? e.details : String(e.message ?? error);
  return text.replace(/^\d+ [A-Z_]+: /, '');
}

/** What the call was doing, for messages and hints. */
export interface ErrorContext {
  /** e.g. `create CustomJob in projects/p/locations/us-central1`. */
  action: string;
  /** The principal the call ran as, when known. */
  principal?: string | undefined;
  /** The project, for IAM hints. */
  project?: string | undefined;
  /** The job's service account, for actAs hints. */
  serviceAccount?: string | undefined;
  /** The API called. Default `aiplatform.googleapis.com`. */
  service?: string;
}

/** The IAM role that grants a Vertex / Logging permission, for hints. */
function roleFor(permission: string | undefined): string {
  if (permission?.startsWith('logging.')) return 'roles/logging.viewer';
  return 'roles/aiplatform.user';
}

/**
 * Converts an error of a Google call into an {@link ApiError}, {@link PermissionError} or {@link AuthError} with
 * Google's message and a hint. Errors that are already Vertex Launch errors pass through.
 */
export function toVertexLaunchError(error: unknown, context: ErrorContext): VertexLaunchError | Error {
  if (error instanceof ApiError || error instanceof PermissionError || error instanceof AuthError) return error;
  const code = grpcCodeOf(error);
  const message = googleMessage(error);
  const who = context.principal ?? 'the caller';
  const prefix = `[vertex-launch] [runner:vertex] Could not ${context.action}`;
  const service = context.service ?? 'aiplatform.googleapis.com';
  // A disabled API answers PERMISSION_DENIED with the ErrorInfo reason SERVICE_DISABLED ("... has not been used in
  // project N before or it is disabled"); gax puts the reason on the error, older answers only in the text.
  const reason =
    typeof (error as { reason?: unknown } | null)?.reason === 'string'
      ? (error as { reason: string }).reason
      : undefined;
  if (
    reason === 'SERVICE_DISABLED' ||
    /has not been used in project|SERVICE_DISABLED|API is disabled|API has not been enabled/i.test(message)
  ) {
    return new ApiError(service, `${prefix}: ${service} is not enabled in the project: ${message}`, {
      cause: error,
      ...(code === undefined ? {} : { grpcCode: code }),
      reason: 'SERVICE_DISABLED',
      hint: `Enable it: gcloud services enable ${service} --project=${context.project ?? '<project>'}`,
    });
  }
  if (code === GrpcCode.PERMISSION_DENIED) {
    const permission =
      /Permission '([^']+)'/.exec(message)?.[1] ?? /permission[: ]+['"]?([a-z]+\.[a-zA-Z.]+)/.exec(message)?.[1];
    const actAs = permission === 'iam.serviceAccounts.actAs' || /act ?as/i.test(message);
    const sa = context.serviceAccount ?? /serviceAccounts\/([^'"\s/]+@[^'"\s/]+)/.exec(message)?.[1];
    const hint = actAs
      ? `Grant roles/iam.serviceAccountUser on ${sa ?? 'the job service account'} to ${who}: gcloud iam service-accounts add-iam-policy-binding ${sa ?? '<service-account>'} --member=<member of ${who}> --role=roles/iam.serviceAccountUser`
      : `Grant ${roleFor(permission)} on project ${context.project ?? '<project>'} to ${who}${permission ? ` (it lacks ${permission})` : ''}.`;
    return new PermissionError(`${prefix}: permission denied: ${message}`, {
      cause: error,
      hint,
      ...(actAs ? { permission: 'iam.serviceAccounts.actAs' } : permission ? { permission } : {}),
    });
  }
  if (code === GrpcCode.UNAUTHENTICATED) {
    return new AuthError(`${prefix}: the credentials were refused: ${message}`, {
      cause: error,
      hint: 'Refresh the credentials (e.g. `gcloud auth application-default login`) or check GOOGLE_APPLICATION_CREDENTIALS.',
    });
  }
  const hints: Record<number, string> = {
    [GrpcCode.INVALID_ARGUMENT]:
      'Vertex refused the request as written: fix the fields named above in the queue config.',
    [GrpcCode.NOT_FOUND]: 'Check the job name, the project and the region (--project, --region).',
    [GrpcCode.FAILED_PRECONDITION]: 'The job is not in a state that allows this; see `vertex-launch jobs status`.',
    [GrpcCode.RESOURCE_EXHAUSTED]:
      'A Vertex AI quota was exceeded even after retries: lower the request rate (runner quotas) or ask for a higher quota.',
    [GrpcCode.UNAVAILABLE]: 'Vertex AI stayed unavailable through every retry: try again later.',
    [GrpcCode.DEADLINE_EXCEEDED]: 'Vertex AI did not answer in time through every retry: try again later.',
    [GrpcCode.INTERNAL]: 'Vertex AI kept failing internally through every retry: try again later.',
  };
  return new ApiError(service, `${prefix}: ${grpcCodeName(code)}: ${message}`, {
    cause: error,
    ...(code === undefined ? {} : { grpcCode: code }),
    ...(reason === undefined ? {} : { reason }),
    hint: (code !== undefined ? hints[code] : undefined) ?? 'See the message above.',
  });
}
