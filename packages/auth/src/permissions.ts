/**
 * The IAM permissions a launch needs, the legacy AI Platform `ml.jobs.*` names they replace, and
 * {@link checkPermissions}: which of them the principal lacks, asked with `projects:testIamPermissions`
 * (and IAM `serviceAccounts:testIamPermissions` for `actAs` on the job's service account).
 */
import {
  type AuthCredentials,
  AuthError,
  ConfigError,
  PermissionError,
  type ServiceEndpoints,
} from '@vertex-launch/core';
import { type GoogleEndpoints, resolveEndpoints } from './endpoints.js';
import { googleRest } from './rest.js';

/** One permission a launch needs. */
export interface LaunchPermission {
  /** The IAM permission, e.g. `aiplatform.customJobs.create`. */
  permission: string;
  /** What the launch uses it for. */
  purpose: string;
  /** `project`, or `job-service-account` (checked only when the job runs as a named service account). */
  scope: 'project' | 'job-service-account';
  /** The legacy AI Platform permission it replaces, if any. */
  replaces?: string;
}

/** Every permission a launch needs, in the order `auth check` lists them. */
export const LAUNCH_PERMISSIONS: readonly LaunchPermission[] = Object.freeze([
  {
    permission: 'aiplatform.customJobs.create',
    purpose: 'submit the CustomJob',
    scope: 'project',
    replaces: 'ml.jobs.create',
  },
  {
    permission: 'aiplatform.customJobs.get',
    purpose: 'follow the job state',
    scope: 'project',
    replaces: 'ml.jobs.get',
  },
  {
    permission: 'aiplatform.customJobs.list',
    purpose: 'find jobs by label (resume, dedupe)',
    scope: 'project',
    replaces: 'ml.jobs.list',
  },
  {
    permission: 'aiplatform.customJobs.cancel',
    purpose: 'cancel the job on Ctrl-C or timeout',
    scope: 'project',
    replaces: 'ml.jobs.cancel',
  },
  { permission: 'storage.objects.create', purpose: 'upload the build context and staging files', scope: 'project' },
  { permission: 'storage.objects.get', purpose: 'read staged files and outputs', scope: 'project' },
  { permission: 'storage.objects.list', purpose: 'list staged files and outputs', scope: 'project' },
  {
    permission: 'artifactregistry.repositories.uploadArtifacts',
    purpose: 'push the image (docker push / Cloud Build)',
    scope: 'project',
  },
  {
    permission: 'artifactregistry.repositories.downloadArtifacts',
    purpose: 'pull the base and built images',
    scope: 'project',
  },
  { permission: 'cloudbuild.builds.create', purpose: 'build the image with Cloud Build', scope: 'project' },
  {
    permission: 'iam.serviceAccounts.actAs',
    purpose: 'run the job as its service account',
    scope: 'job-service-account',
  },
]);

/**
 * The legacy AI Platform Training permissions (the seed's `ml.jobs.create/list/get`) and the Vertex AI
 * permissions that replace them.
 */
export const LEGACY_PERMISSION_REPLACEMENTS: Readonly<Record<string, string>> = Object.freeze({
  'ml.jobs.create': 'aiplatform.customJobs.create',
  'ml.jobs.get': 'aiplatform.customJobs.get',
  'ml.jobs.list': 'aiplatform.customJobs.list',
  'ml.jobs.cancel': 'aiplatform.customJobs.cancel',
});

/** The Vertex AI permission that replaces a legacy `ml.jobs.*` one (the input unchanged when it is not legacy). */
export function vertexPermission(permission: string): string {
  return LEGACY_PERMISSION_REPLACEMENTS[permission] ?? permission;
}

/** The outcome for one permission. */
export interface PermissionCheck {
  permission: string;
  purpose: string;
  /** The resource it was tested on, e.g. `projects/p` or `projects/-/serviceAccounts/sa@p.iam.gserviceaccount.com`. */
  resource: string;
  granted: boolean;
  /** Why it could not be confirmed, when the check itself failed. */
  note?: string;
}

/** What {@link checkPermissions} found. */
export interface PermissionReport {
  project: string;
  checks: PermissionCheck[];
  /** The checks that are not granted. */
  missing: PermissionCheck[];
  /** True when nothing is missing. */
  ok: boolean;
}

/** Options of {@link checkPermissions}. */
export interface CheckPermissionsOptions {
  /** Project to check. Default: the credentials' project. */
  project?: string;
  /** The service account the job runs as; when set, `iam.serviceAccounts.actAs` on it is checked. */
  jobServiceAccount?: string;
  /** The permissions to check. Default {@link LAUNCH_PERMISSIONS}. */
  permissions?: readonly LaunchPermission[];
  /** The runtime's endpoints, or overrides of `resourceManagerUrl` / `iamUrl`. Default: those of `env`. */
  endpoints?: Partial<GoogleEndpoints> | ServiceEndpoints;
  /** Environment for endpoint resolution. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
}

async function testIamPermissions(
  url: string,
  permissions: string[],
  token: string,
  service: string,
): Promise<{ ok: true; held: Set<string> } | { ok: false; status: number; message: string }> {
  const answer = await googleRest(url, token, service, { method: 'POST', body: { permissions } });
  if (!answer.ok) return { ok: false, status: answer.status, message: answer.message };
  const held = Array.isArray(answer.body.permissions)
    ? answer.body.permissions.filter((p): p is string => typeof p === 'string')
    : [];
  return { ok: true, held: new Set(held) };
}

/**
 * Tests which launch permissions the credentials' principal holds on `project` (and `actAs` on the job's
 * service account). Never throws for a missing permission: the report lists it. Throws `AuthError` when the
 * credentials are refused, `PermissionError` when the project cannot be tested at all.
 */
export async function checkPermissions(
  credentials: Pick<AuthCredentials, 'accessToken' | 'projectId'>,
  options: CheckPermissionsOptions = {},
): Promise<PermissionReport> {
  const project = options.project ?? credentials.projectId;
  if (!project) {
    throw new ConfigError(
      '[vertex-launch] [auth] No project to check permissions on: pass --project, set GOOGLE_CLOUD_PROJECT, or run `gcloud config set project PROJECT_ID`.',
      [{ path: 'project', message: 'is required', severity: 'error' }],
    );
  }
  const endpoints = resolveEndpoints(options.endpoints, options.env ?? process.env);
  const wanted = (options.permissions ?? LAUNCH_PERMISSIONS).filter(
    (p) => p.scope === 'project' || options.jobServiceAccount !== undefined,
  );
  const { token } = await credentials.accessToken();
  const projectResource = `projects/${project}`;
  const projectUrl = `${endpoints.resourceManagerUrl}/v1/projects/${encodeURIComponent(project)}:testIamPermissions`;
  const atProject = await testIamPermissions(
    projectUrl,
    wanted.map((p) => p.permission),
    token,
    'cloudresourcemanager',
  );
  if (!atProject.ok) {
    if (atProject.status === 401) {
      throw new AuthError(`[vertex-launch] [auth] The credentials were refused (HTTP 401): ${atProject.message}`, {
        hint: 'The token is invalid or expired; re-authenticate (e.g. `gcloud auth application-default login`).',
      });
    }
    throw new PermissionError(
      `[vertex-launch] [auth] Cannot test permissions on project ${project} (HTTP ${atProject.status}): ${atProject.message}`,
      {
        hint: `Check the project id (--project / GOOGLE_CLOUD_PROJECT); the principal needs some role on ${projectResource}.`,
      },
    );
  }
  const checks: PermissionCheck[] = [];
  for (const p of wanted) {
    if (p.scope === 'project' || atProject.held.has(p.permission)) {
      checks.push({
        permission: p.permission,
        purpose: p.purpose,
        resource: projectResource,
        granted: atProject.held.has(p.permission),
      });
      continue;
    }
    // Not granted project-wide: it may be granted on the service account itself.
    const email = options.jobServiceAccount as string;
    const resource = `projects/-/serviceAccounts/${email}`;
    const onAccount = await testIamPermissions(
      `${endpoints.iamUrl}/v1/${resource}:testIamPermissions`,
      [p.permission],
      token,
      'iam',
    );
    checks.push(
      onAccount.ok
        ? { permission: p.permission, purpose: p.purpose, resource, granted: onAccount.held.has(p.permission) }
        : {
            permission: p.permission,
            purpose: p.purpose,
            resource,
            granted: false,
            note: `could not test it on ${email} (HTTP ${onAccount.status}): ${onAccount.message}`,
          },
    );
  }
  const missing = checks.filter((c) => !c.granted);
  return { project, checks, missing, ok: missing.length === 0 };
}
