/**
 * Two IAM questions `vertex-launch doctor` asks, as typed calls: a project's number (Cloud Resource Manager
 * `projects.get`, which names its Vertex AI service agents) and whether a principal holds a permission on a resource
 * (Policy Troubleshooter `iam:troubleshoot`, https://cloud.google.com/policy-intelligence/docs/troubleshoot-access).
 */
import {
  ApiError,
  type AuthCredentials,
  AuthError,
  ConfigError,
  endpointsOption,
  isServiceEndpoints,
  PermissionError,
  type ServiceEndpoints,
} from '@vertex-launch/core';
import type { GoogleEndpoints } from './endpoints.js';
import { googleRest, type RestAnswer } from './rest.js';

/** Where the calls go. */
export interface IamCallOptions {
  /** The runtime's endpoints. Default: those of `env`. */
  endpoints?: ServiceEndpoints | Partial<GoogleEndpoints>;
  /** Environment to read the endpoints from when `endpoints` is not a runtime's. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
}

function endpointsOf(options: IamCallOptions): ServiceEndpoints {
  return endpointsOption(isServiceEndpoints(options.endpoints) ? options.endpoints : undefined, options.env);
}

/** The typed error of a refused call. */
function refused(answer: Extract<RestAnswer, { ok: false }>, what: string, permission: string, service: string): Error {
  if (answer.status === 401) {
    return new AuthError(
      `[vertex-launch] [auth] The credentials were refused (HTTP 401) to ${what}: ${answer.message}`,
      {
        hint: 'Re-authenticate (e.g. `gcloud auth application-default login`).',
      },
    );
  }
  if (answer.status === 403) {
    return new PermissionError(`[vertex-launch] [auth] Permission denied to ${what} (HTTP 403): ${answer.message}`, {
      permission,
      hint: `Grant ${permission} to the caller.`,
    });
  }
  if (answer.status === 404) {
    return new ConfigError(`[vertex-launch] [auth] Could not ${what}: not found (HTTP 404): ${answer.message}`);
  }
  return new ApiError(service, `[vertex-launch] [auth] Could not ${what}: HTTP ${answer.status}: ${answer.message}`, {
    hint: 'Try again; --debug shows more.',
  });
}

/**
 * The number of `projectId` (e.g. `123456789012`). Throws AuthError (401), PermissionError
 * (`resourcemanager.projects.get`), ConfigError (no such project) or ApiError.
 */
export async function getProjectNumber(
  credentials: Pick<AuthCredentials, 'accessToken'>,
  projectId: string,
  options: IamCallOptions = {},
): Promise<string> {
  const { token } = await credentials.accessToken();
  const url = `${endpointsOf(options).resourceManagerUrl}/v1/projects/${encodeURIComponent(projectId)}`;
  const answer = await googleRest(url, token, 'cloudresourcemanager.googleapis.com', { timeoutMs: 20_000 });
  if (!answer.ok)
    throw refused(answer, `get project ${projectId}`, 'resourcemanager.projects.get', 'cloudresourcemanager');
  const number = answer.body.projectNumber;
  if (typeof number !== 'string' || !/^\d+$/.test(number)) {
    throw new ApiError(
      'cloudresourcemanager',
      `[vertex-launch] [auth] The answer for project ${projectId} has no projectNumber.`,
    );
  }
  return number;
}

/** What Policy Troubleshooter answers for one access tuple (google.cloud.policytroubleshooter.v1.AccessState). */
export type AccessState =
  | 'GRANTED'
  | 'NOT_GRANTED'
  | 'UNKNOWN_CONDITIONAL'
  | 'UNKNOWN_INFO_DENIED'
  | 'ACCESS_STATE_UNSPECIFIED';

/** The access of one principal to one resource. */
export interface AccessTuple {
  /** An email: `service-123@gcp-sa-aiplatform.iam.gserviceaccount.com`. */
  principal: string;
  /** The full resource name, e.g. `//artifactregistry.googleapis.com/projects/p/locations/l/repositories/r`. */
  fullResourceName: string;
  /** e.g. `artifactregistry.repositories.downloadArtifacts`. */
  permission: string;
}

/**
 * Whether `tuple.principal` holds `tuple.permission` on `tuple.fullResourceName`, as Policy Troubleshooter explains
 * it. Resolves `{ access }`; when the caller may not read the policies (or the call fails) `{ access: undefined,
 * problem }` says why — the answer is then unknown, not a refusal. Throws ApiError only when the server is
 * unreachable.
 */
export async function troubleshootAccess(
  credentials: Pick<AuthCredentials, 'accessToken'>,
  tuple: AccessTuple,
  options: IamCallOptions = {},
): Promise<{ access: AccessState; problem?: undefined } | { access: undefined; problem: string }> {
  const { token } = await credentials.accessToken();
  const url = `${endpointsOf(options).policyTroubleshooterUrl}/v1/iam:troubleshoot`;
  const answer = await googleRest(url, token, 'policytroubleshooter.googleapis.com', {
    method: 'POST',
    body: { accessTuple: tuple },
    timeoutMs: 20_000,
  });
  if (!answer.ok) return { access: undefined, problem: `HTTP ${answer.status}: ${answer.message}` };
  const access = answer.body.access;
  return typeof access === 'string'
    ? { access: access as AccessState }
    : { access: undefined, problem: 'no access state in the answer' };
}
