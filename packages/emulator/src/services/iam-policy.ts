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
  iam: Pick<IamModel, 'authenticate' | 'holds' | 'hasServiceAccount' | 'serviceAccountResource' | 'canonicalResource'>;
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

  return {
    name: 'iam-policy',
    async handle(req, res, url) {
      const path = url.pathname;
      try {
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
