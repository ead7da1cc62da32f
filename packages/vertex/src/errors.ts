/**
 * Google API errors -> the Vertex Launch error family. gRPC status codes decide what is retried; the messages keep
 * Google's text and add what to do about it.
 */
import {
  ApiError,
  AuthError,
  credentialRefusalMessage,
  GrpcCode,
  grpcCodeName,
  grpcCodeOf,
  isCredentialRefusal,
  PermissionError,
  type VertexLaunchError,
} from '@vertex-launch/core';

/**
 * Codes after which a create may or may not have happened: the request may have reached the server. A create is
 * retried after these only once the launch id was looked up. RESOURCE_EXHAUSTED is refused before any change.
 */
export const AMBIGUOUS_CODES: ReadonlySet<number> = new Set([
  GrpcCode.UNAVAILABLE,
  GrpcCode.INTERNAL,
  GrpcCode.DEADLINE_EXCEEDED,
  GrpcCode.UNKNOWN,
  // The runner never cancels a call it has sent, so a CANCELLED is the server's (or a proxy's) reset of the stream —
  // grpc-js's answer to a server that shuts down mid-call — after the request may have been applied.
  GrpcCode.CANCELLED,
]);

/** A call the server cut off (CANCELLED): the runner sent it and did not cancel it, so it is tried again. */
export function isServerCancelled(error: unknown): boolean {
  return grpcCodeOf(error) === GrpcCode.CANCELLED;
}

/** grpc-js's words for a call that never got a connection (`14 UNAVAILABLE: No connection established. ...`). */
const NEVER_CONNECTED = /No connection established|ECONNREFUSED|ENOTFOUND|EAI_AGAIN/;

/** True when the call that failed with `error` may have taken effect. */
export function isAmbiguous(error: unknown): boolean {
  // Credentials refused before the call (grpc-js's metadata plugin): the request never reached the server.
  if (isCredentialRefusal(error)) return false;
  const code = grpcCodeOf(error);
  // No connection was ever made (refused, or the name did not resolve): the request cannot have reached the server.
  if (code === GrpcCode.UNAVAILABLE && NEVER_CONNECTED.test(googleMessage(error))) return false;
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
  if (isCredentialRefusal(error)) {
    return new AuthError(`${prefix}: the credentials were refused: ${credentialRefusalMessage(message)}`, {
      cause: error,
      hint: 'Refresh the credentials (e.g. `gcloud auth application-default login`) or check GOOGLE_APPLICATION_CREDENTIALS.',
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
  const hints: Record<number, string> = {
    [GrpcCode.INVALID_ARGUMENT]:
      'Vertex refused the request as written: fix the fields named above in the queue config.',
    [GrpcCode.NOT_FOUND]: 'Check the job name, the project and the region (--project, --region).',
    [GrpcCode.FAILED_PRECONDITION]: 'The job is not in a state that allows this; see `vertex-launch jobs describe`.',
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
