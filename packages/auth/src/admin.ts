/**
 * The calls `vertex-launch setup` makes to put a project in order, as typed functions over Google's REST APIs:
 * Service Usage (which APIs are enabled; `services:batchEnable`), IAM service accounts (`get`, `create`) and IAM
 * policies (the project's through Cloud Resource Manager, a service account's through IAM) changed by
 * read-modify-write with the etag: a concurrent change makes Google answer 409 ABORTED, and the write is tried again
 * on a fresh read. Bindings are only ever added, never removed.
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
import type { IamCallOptions } from './iam.js';
import { googleRest, type RestAnswer } from './rest.js';

type Credentials = Pick<AuthCredentials, 'accessToken'>;

function endpointsOf(options: IamCallOptions): ServiceEndpoints {
  return endpointsOption(isServiceEndpoints(options.endpoints) ? options.endpoints : undefined, options.env);
}

/** The typed error of a refused call: AuthError (401), PermissionError (403, naming `permission`), ConfigError, ApiError. */
function refused(answer: Extract<RestAnswer, { ok: false }>, what: string, permission: string, service: string): Error {
  const text = `[vertex-launch] [auth] Could not ${what}`;
  if (answer.status === 401)
    return new AuthError(`${text}: the credentials were refused (HTTP 401): ${answer.message}`, {
      hint: 'Re-authenticate (e.g. `gcloud auth application-default login`).',
    });
  if (answer.status === 403)
    return new PermissionError(`${text}: permission denied (HTTP 403): ${answer.message}`, {
      permission,
      hint: `Grant ${permission} to the caller, or ask a project owner to run \`vertex-launch setup\`.`,
    });
  if (answer.status === 400 || answer.status === 404)
    return new ConfigError(`${text} (HTTP ${answer.status}): ${answer.message}`);
  return new ApiError(service, `${text}: HTTP ${answer.status}: ${answer.message}`, {
    hint: 'Try again; --debug shows more.',
  });
}

async function call(
  credentials: Credentials,
  url: string,
  service: string,
  init: { method?: 'GET' | 'POST'; body?: unknown } = {},
): Promise<RestAnswer> {
  const { token } = await credentials.accessToken();
  return googleRest(url, token, service, { ...init, timeoutMs: 30_000 });
}

// ---- Service Usage ---------------------------------------------------------------------------------

/** The state of an API on a project (`serviceusage.services.get`). */
export async function getServiceState(
  credentials: Credentials,
  project: string,
  service: string,
  options: IamCallOptions = {},
): Promise<'ENABLED' | 'DISABLED'> {
  const url = `${endpointsOf(options).serviceUsageUrl}/v1/projects/${encodeURIComponent(project)}/services/${encodeURIComponent(service)}`;
  const answer = await call(credentials, url, 'serviceusage.googleapis.com');
  if (!answer.ok) throw refused(answer, `read the state of ${service}`, 'serviceusage.services.get', 'serviceusage');
  return answer.body.state === 'ENABLED' ? 'ENABLED' : 'DISABLED';
}

/** Enables `services` on `project` (`services:batchEnable`, `serviceusage.services.enable`) and waits for it. */
export async function enableServices(
  credentials: Credentials,
  project: string,
  services: readonly string[],
  options: IamCallOptions & { pollMs?: number } = {},
): Promise<void> {
  const base = endpointsOf(options).serviceUsageUrl;
  const url = `${base}/v1/projects/${encodeURIComponent(project)}/services:batchEnable`;
  let answer = await call(credentials, url, 'serviceusage.googleapis.com', {
    method: 'POST',
    body: { serviceIds: services },
  });
  const what = `enable ${services.join(', ')} on project ${project}`;
  for (let i = 0; answer.ok && answer.body.done !== true && i < 60; i++) {
    await new Promise((r) => setTimeout(r, options.pollMs ?? 2000));
    answer = await call(credentials, `${base}/v1/${String(answer.body.name)}`, 'serviceusage.googleapis.com');
  }
  if (!answer.ok) throw refused(answer, what, 'serviceusage.services.enable', 'serviceusage');
  const error = answer.body.error as { message?: unknown } | undefined;
  if (answer.body.done !== true || error) {
    throw new ApiError('serviceusage', `[vertex-launch] [auth] Could not ${what}: ${error?.message ?? 'not done'}`);
  }
}

// ---- service accounts --------------------------------------------------------------------------------

/** True when the service account exists (`iam.serviceAccounts.get`). */
export async function serviceAccountExists(
  credentials: Credentials,
  email: string,
  options: IamCallOptions = {},
): Promise<boolean> {
  const url = `${endpointsOf(options).iamUrl}/v1/projects/-/serviceAccounts/${encodeURIComponent(email)}`;
  const answer = await call(credentials, url, 'iam.googleapis.com');
  if (answer.ok) return true;
  if (answer.status === 404) return false;
  throw refused(answer, `look up service account ${email}`, 'iam.serviceAccounts.get', 'iam');
}

/**
 * Creates the service account `accountId@project.iam.gserviceaccount.com` (`iam.serviceAccounts.create`). Resolves
 * `{ created: false }` when it exists already.
 */
export async function createServiceAccount(
  credentials: Credentials,
  project: string,
  accountId: string,
  displayName: string,
  options: IamCallOptions = {},
): Promise<{ email: string; created: boolean }> {
  const url = `${endpointsOf(options).iamUrl}/v1/projects/${encodeURIComponent(project)}/serviceAccounts`;
  const answer = await call(credentials, url, 'iam.googleapis.com', {
    method: 'POST',
    body: { accountId, serviceAccount: { displayName } },
  });
  const email = `${accountId}@${project}.iam.gserviceaccount.com`;
  if (answer.ok) return { email: String(answer.body.email ?? email), created: true };
  if (answer.status === 409) return { email, created: false };
  throw refused(answer, `create service account ${email}`, 'iam.serviceAccounts.create', 'iam');
}

// ---- IAM policies ------------------------------------------------------------------------------------

/** A role for a member, e.g. `{ role: 'roles/aiplatform.user', member: 'user:dev@example.com' }`. */
export interface RoleBinding {
  role: string;
  member: string;
}

/** What {@link addPolicyBindings} did. */
export interface BindingsResult {
  /** The bindings this call added. */
  added: RoleBinding[];
  /** The bindings that were there already. */
  present: RoleBinding[];
  /** setIamPolicy calls refused with a concurrent change (409 ABORTED) and tried again. */
  conflicts: number;
}

/** Whose policy: a project (Resource Manager) or a service account (IAM). */
export type PolicyTarget = { project: string } | { serviceAccount: string };

interface Policy {
  version?: number;
  etag?: string;
  bindings?: { role: string; members?: string[]; condition?: unknown }[];
  [key: string]: unknown;
}

/** Adds `wanted` to a policy; returns the bindings that were missing (the policy is changed in place). */
export function mergeBindings(policy: Policy, wanted: readonly RoleBinding[]): RoleBinding[] {
  const bindings = (policy.bindings ??= []);
  const missing: RoleBinding[] = [];
  for (const { role, member } of wanted) {
    const holders = bindings.filter((b) => b.role === role && b.condition === undefined);
    if (holders.some((b) => b.members?.includes(member))) continue;
    missing.push({ role, member });
    const binding = holders[0];
    if (binding) binding.members = [...(binding.members ?? []), member];
    else bindings.push({ role, members: [member] });
  }
  return missing;
}

/**
 * Adds role bindings to the IAM policy of `target`: read the policy (with its etag), add what is missing, write it
 * back with that etag; on 409 ABORTED (someone changed it meanwhile) read again and retry, up to `attempts` times.
 * Nothing is written when every binding is there. Never removes a binding.
 */
export async function addPolicyBindings(
  credentials: Credentials,
  target: PolicyTarget,
  wanted: readonly RoleBinding[],
  options: IamCallOptions & { attempts?: number; backoffMs?: number } = {},
): Promise<BindingsResult> {
  const endpoints = endpointsOf(options);
  const [url, service, what, permission] =
    'project' in target
      ? [
          `${endpoints.resourceManagerUrl}/v1/projects/${encodeURIComponent(target.project)}`,
          'cloudresourcemanager',
          `project ${target.project}`,
          'resourcemanager.projects',
        ]
      : [
          `${endpoints.iamUrl}/v1/projects/-/serviceAccounts/${encodeURIComponent(target.serviceAccount)}`,
          'iam',
          `service account ${target.serviceAccount}`,
          'iam.serviceAccounts',
        ];
  const attempts = options.attempts ?? 5;
  let conflicts = 0;
  for (let attempt = 1; ; attempt++) {
    const read = await call(credentials, `${url}:getIamPolicy`, service, {
      method: 'POST',
      body: { options: { requestedPolicyVersion: 3 } },
    });
    if (!read.ok) throw refused(read, `read the IAM policy of ${what}`, `${permission}.getIamPolicy`, service);
    const policy = read.body as Policy;
    const missing = mergeBindings(policy, wanted);
    const before = wanted.filter((w) => !missing.some((m) => m.role === w.role && m.member === w.member));
    if (missing.length === 0) return { added: [], present: [...wanted], conflicts };
    const write = await call(credentials, `${url}:setIamPolicy`, service, { method: 'POST', body: { policy } });
    if (write.ok) return { added: missing, present: before, conflicts };
    if (write.status === 409 && attempt < attempts) {
      conflicts++;
      await new Promise((r) => setTimeout(r, (options.backoffMs ?? 250) * 2 ** (attempt - 1)));
      continue;
    }
    throw refused(
      write,
      `grant ${missing.map((m) => `${m.role} to ${m.member}`).join(', ')} on ${what}`,
      `${permission}.setIamPolicy`,
      service,
    );
  }
}
