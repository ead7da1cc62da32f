/**
 * The IAM questions `vertex-launch doctor` asks, answered from the emulator's grants over the real REST shapes:
 *
 * - Cloud Resource Manager v1 `GET /v1/projects/{project}`: the project's number (Vertex names its service agents
 *   `service-<number>@gcp-sa-aiplatform[-cc].iam.gserviceaccount.com`). Needs `resourcemanager.projects.get`.
 * - IAM v1 `POST /v1/projects/{project}/serviceAccounts/{email}:testIamPermissions`: which of the permissions the
 *   caller holds on a service account (e.g. `iam.serviceAccounts.actAs`), project-wide grants included.
 * - Policy Troubleshooter v1 `POST /v1/iam:troubleshoot`: whether another principal (a service agent) holds a
 *   permission on a resource, e.g. `artifactregistry.repositories.downloadArtifacts` on
 *   `//artifactregistry.googleapis.com/projects/p/locations/l/repositories/r`. The caller needs
 *   `resourcemanager.projects.getIamPolicy` on the project to see the policies; without it the answer is
 *   `UNKNOWN_INFO_DENIED`, as Google answers.
 *
 * - Resource Manager v1 `POST /v1/projects/{project}:getIamPolicy` / `:setIamPolicy` and IAM v1
 *   `POST /v1/projects/{project}/serviceAccounts/{email}:getIamPolicy` / `:setIamPolicy`: the role bindings, with an
 *   etag; a write with a stale etag is ABORTED (409), as Google answers a concurrent change (../iam-policies.ts).
 * - IAM v1 `GET /v1/projects/{project}/serviceAccounts/{email}` and `POST /v1/projects/{project}/serviceAccounts`
 *   (`{ accountId, serviceAccount: { displayName, description } }`): 6-30 characters, ALREADY_EXISTS when taken.
 *
 * Mounted as the `iamPolicy` service (./index.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { EmulatorError, type HttpService, type ServiceContext } from '../context.js';
import { readFields, sendError, sendJson } from '../http/server.js';
import { type IamModel, toMember } from '../iam.js';
import type { EmulatorService } from './contract.js';

/** Options of {@link iamPolicyService}. */
export interface IamPolicyServiceOptions {
  ctx: ServiceContext;
  /** The emulator's IAM model (grants, principals). */
  iam: IamModel;
  /** The emulated project's number. */
  projectNumber: string;
}

/** The Policy Troubleshooter `AccessState` values. */
type AccessState = 'GRANTED' | 'NOT_GRANTED' | 'UNKNOWN_CONDITIONAL' | 'UNKNOWN_INFO_DENIED';

/** The project/IAM/troubleshooter surface described in the module comment. */
export function iamPolicyService(options: IamPolicyServiceOptions): HttpService {
  const { ctx, iam, projectNumber } = options;
  const isOurs = (project: string) => project === ctx.projectId || project === projectNumber;

  async function getProject(req: IncomingMessage, res: ServerResponse, project: string): Promise<true> {
    await ctx.beforeCall('resourcemanager.projects.get');
    if (!isOurs(project)) {
      iam.authenticate(req.headers.authorization);
      throw new EmulatorError(
        'PERMISSION_DENIED',
        `The caller does not have permission on project ${project} (or it may not exist); the emulator serves project ${ctx.projectId}.`,
      );
    }
    await ctx.authorize(req.headers.authorization, 'resourcemanager.projects.get', `projects/${ctx.projectId}`);
    await ctx.afterCall('resourcemanager.projects.get');
    sendJson(res, 200, {
      projectNumber,
      projectId: ctx.projectId,
      lifecycleState: 'ACTIVE',
      name: ctx.projectId,
      createTime: '2024-01-01T00:00:00.000Z',
    });
    return true;
  }

  async function testServiceAccountPermissions(req: IncomingMessage, res: ServerResponse, email: string) {
    await ctx.beforeCall('iam.serviceAccounts.testIamPermissions');
    const principal = iam.authenticate(req.headers.authorization);
    if (!iam.hasServiceAccount(email)) {
      throw new EmulatorError(
        'NOT_FOUND',
        `Service account ${email} does not exist (projects/-/serviceAccounts/${email}).`,
      );
    }
    const fields = await readFields(req);
    const asked = Array.isArray(fields.permissions)
      ? fields.permissions.filter((p): p is string => typeof p === 'string')
      : [];
    const resource = iam.serviceAccountResource(email);
    const held = asked.filter((p) => iam.holds(principal.member, p, resource));
    await ctx.afterCall('iam.serviceAccounts.testIamPermissions');
    sendJson(res, 200, held.length > 0 ? { permissions: held } : {});
    return true as const;
  }

  async function troubleshoot(req: IncomingMessage, res: ServerResponse): Promise<true> {
    await ctx.beforeCall('policytroubleshooter.iam.troubleshoot');
    const caller = iam.authenticate(req.headers.authorization);
    const fields = await readFields(req);
    const tuple = (fields.accessTuple ?? {}) as Record<string, unknown>;
    const missing = ['principal', 'fullResourceName', 'permission'].filter(
      (key) => typeof tuple[key] !== 'string' || (tuple[key] as string).trim() === '',
    );
    if (missing.length > 0) {
      throw new EmulatorError(
        'INVALID_ARGUMENT',
        `accessTuple.${missing.join(', accessTuple.')} ${missing.length === 1 ? 'is' : 'are'} required, e.g. { "accessTuple": { "principal": "sa@p.iam.gserviceaccount.com", "fullResourceName": "//cloudresourcemanager.googleapis.com/projects/p", "permission": "storage.objects.get" } }.`,
      );
    }
    const fullResourceName = tuple.fullResourceName as string;
    const m = /^\/\/[a-z0-9.-]+\.googleapis\.com\/(.+)$/.exec(fullResourceName);
    if (!m) {
      throw new EmulatorError(
        'INVALID_ARGUMENT',
        `accessTuple.fullResourceName "${fullResourceName}" is not a full resource name like //artifactregistry.googleapis.com/projects/p/locations/l/repositories/r.`,
      );
    }
    const resource = iam.canonicalResource(m[1]);
    const member = toMember(tuple.principal as string);
    const canSee = iam.holds(caller.member, 'resourcemanager.projects.getIamPolicy', `projects/${ctx.projectId}`);
    const access: AccessState = !canSee
      ? 'UNKNOWN_INFO_DENIED'
      : iam.holds(member, tuple.permission as string, resource)
        ? 'GRANTED'
        : 'NOT_GRANTED';
    await ctx.afterCall('policytroubleshooter.iam.troubleshoot');
    sendJson(res, 200, {
      access,
      explainedPolicies: [{ access, fullResourceName }],
      ...(canSee
        ? {}
        : {
            errors: [
              {
                code: 7,
                message: `The caller ${caller.member} lacks resourcemanager.projects.getIamPolicy, so the policies could not be read.`,
              },
            ],
          }),
    });
    return true;
  }

  const projectResource = (req: IncomingMessage, project: string) => {
    if (isOurs(project)) return `projects/${ctx.projectId}`;
    iam.authenticate(req.headers.authorization);
    throw new EmulatorError(
      'PERMISSION_DENIED',
      `The caller does not have permission on project ${project} (or it may not exist); the emulator serves project ${ctx.projectId}.`,
    );
  };
  const existingAccount = (email: string) => {
    if (!iam.hasServiceAccount(email)) {
      throw new EmulatorError('NOT_FOUND', `Unknown service account: projects/-/serviceAccounts/${email}.`);
    }
    return iam.serviceAccountResource(email);
  };
  const accountView = (email: string) => {
    const info = iam.serviceAccountInfo(email);
    if (!info) throw new EmulatorError('NOT_FOUND', `Unknown service account: projects/-/serviceAccounts/${email}.`);
    return {
      name: `projects/${ctx.projectId}/serviceAccounts/${email}`,
      projectId: ctx.projectId,
      uniqueId: info.uniqueId,
      email,
      displayName: info.displayName,
      etag: 'MDEwMjE5MjA=',
      oauth2ClientId: info.uniqueId,
    };
  };

  /** get/setIamPolicy of `resource` (a project or a service account), with `permission` of `service`. */
  async function policy(
    req: IncomingMessage,
    res: ServerResponse,
    resource: () => string,
    service: 'resourcemanager.projects' | 'iam.serviceAccounts',
    verb: 'getIamPolicy' | 'setIamPolicy',
  ) {
    const permission = `${service}.${verb}`;
    await ctx.beforeCall(permission);
    const name = resource();
    await ctx.authorize(req.headers.authorization, permission, name);
    const fields = await readFields(req);
    const answer = verb === 'getIamPolicy' ? iam.policies.get(name) : iam.policies.set(name, fields.policy);
    await ctx.afterCall(permission);
    sendJson(res, 200, answer);
    return true as const;
  }

  async function getAccount(req: IncomingMessage, res: ServerResponse, email: string) {
    await ctx.beforeCall('iam.serviceAccounts.get');
    await ctx.authorize(req.headers.authorization, 'iam.serviceAccounts.get', existingAccount(email));
    await ctx.afterCall('iam.serviceAccounts.get');
    sendJson(res, 200, accountView(email));
    return true as const;
  }

  async function createAccount(req: IncomingMessage, res: ServerResponse, project: string) {
    await ctx.beforeCall('iam.serviceAccounts.create');
    const parent = projectResource(req, project);
    await ctx.authorize(req.headers.authorization, 'iam.serviceAccounts.create', parent);
    const fields = await readFields(req);
    const accountId = typeof fields.accountId === 'string' ? fields.accountId : '';
    if (!/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/.test(accountId)) {
      throw new EmulatorError(
        'INVALID_ARGUMENT',
        `Invalid account id "${accountId}": use 6-30 characters, lowercase letters, digits and dashes, starting with a letter and not ending with a dash.`,
      );
    }
    const email = `${accountId}@${ctx.projectId}.iam.gserviceaccount.com`;
    if (iam.hasServiceAccount(email)) {
      throw new EmulatorError(
        'ALREADY_EXISTS',
        `Service account ${accountId} already exists within project projects/${ctx.projectId}.`,
      );
    }
    const body = (fields.serviceAccount ?? {}) as { displayName?: unknown };
    iam.ensureServiceAccount(email, typeof body.displayName === 'string' ? body.displayName : undefined);
    await ctx.afterCall('iam.serviceAccounts.create');
    sendJson(res, 200, accountView(email));
    return true as const;
  }

  return {
    name: 'iam-policy',
    async handle(req, res, url) {
      const path = url.pathname;
      try {
        const projectPolicy = /^\/v1\/projects\/([^/:]+):(getIamPolicy|setIamPolicy)$/.exec(path);
        if (req.method === 'POST' && projectPolicy) {
          const project = decodeURIComponent(projectPolicy[1] as string);
          const verb = projectPolicy[2] as 'getIamPolicy' | 'setIamPolicy';
          return await policy(req, res, () => projectResource(req, project), 'resourcemanager.projects', verb);
        }
        const saPolicy = /^\/v1\/projects\/[^/]+\/serviceAccounts\/([^/:]+):(getIamPolicy|setIamPolicy)$/.exec(path);
        if (req.method === 'POST' && saPolicy) {
          const email = decodeURIComponent(saPolicy[1] as string);
          const verb = saPolicy[2] as 'getIamPolicy' | 'setIamPolicy';
          return await policy(req, res, () => existingAccount(email), 'iam.serviceAccounts', verb);
        }
        const account = /^\/v1\/projects\/[^/]+\/serviceAccounts\/([^/:]+)$/.exec(path);
        if (req.method === 'GET' && account)
          return await getAccount(req, res, decodeURIComponent(account[1] as string));
        const accounts = /^\/v1\/projects\/([^/:]+)\/serviceAccounts$/.exec(path);
        if (req.method === 'POST' && accounts)
          return await createAccount(req, res, decodeURIComponent(accounts[1] as string));
        const project = /^\/v1\/projects\/([^/:]+)$/.exec(path);
        if (req.method === 'GET' && project)
          return await getProject(req, res, decodeURIComponent(project[1] as string));
        const sa = /^\/v1\/projects\/[^/]+\/serviceAccounts\/([^/:]+):testIamPermissions$/.exec(path);
        if (req.method === 'POST' && sa)
          return await testServiceAccountPermissions(req, res, decodeURIComponent(sa[1] as string));
        if (req.method === 'POST' && path === '/v1/iam:troubleshoot') return await troubleshoot(req, res);
      } catch (error) {
        sendError(res, error);
        return true;
      }
      return false;
    },
  };
}

/** Resource Manager `projects.get`, IAM `testIamPermissions` on service accounts and Policy Troubleshooter. */
export const iamPolicy: EmulatorService = {
  name: 'iam-policy',
  create: (core) => ({ http: iamPolicyService({ ctx: core.ctx, iam: core.iam, projectNumber: core.projectNumber }) }),
};
