/**
 * Service Usage v1 over REST, as `gcloud services enable` and Vertex Launch's `setup` call it:
 *
 * - `GET /v1/projects/{project}/services/{service}`: `{ name, config: { name, title }, state, parent }`
 *   (`serviceusage.services.get`).
 * - `POST /v1/projects/{project}/services/{service}:enable` and `POST /v1/projects/{project}/services:batchEnable`
 *   (`{ serviceIds: [...] }`, at most 20): a finished long-running operation whose `response` is the
 *   `EnableServiceResponse` / `BatchEnableServicesResponse` (`serviceusage.services.enable`).
 *
 * A service the emulator does not know, or another project, is PERMISSION_DENIED ("Not found or permission denied"),
 * as Google answers both.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { EmulatorError, type ServiceContext } from '../context.js';
import { readFields, sendError, sendJson } from '../http/server.js';
import type { IamModel } from '../iam.js';
import { KNOWN_SERVICES, ServiceUsageModel } from '../service-usage.js';
import type { EmulatorService } from './contract.js';

const TYPE = 'type.googleapis.com/google.api.serviceusage.v1';

function serviceUsageHttp(ctx: ServiceContext, iam: IamModel, model: ServiceUsageModel, projectNumber: string) {
  const resource = `projects/${ctx.projectId}`;
  const view = (name: string) => ({
    name: `projects/${projectNumber}/services/${name}`,
    config: { name, title: KNOWN_SERVICES[name] },
    state: model.isEnabled(name) ? 'ENABLED' : 'DISABLED',
    parent: `projects/${projectNumber}`,
  });
  const checkProject = (req: IncomingMessage, project: string) => {
    if (project === ctx.projectId || project === projectNumber) return;
    iam.authenticate(req.headers.authorization);
    throw new EmulatorError(
      'PERMISSION_DENIED',
      `Not found or permission denied for project ${project}; the emulator serves project ${ctx.projectId}.`,
    );
  };
  const operation = (response: Record<string, unknown>) => ({
    name: `operations/acf.p2-${projectNumber}-${randomUUID()}`,
    done: true,
    response,
  });

  async function get(req: IncomingMessage, res: ServerResponse, project: string, name: string) {
    await ctx.beforeCall('serviceusage.services.get');
    checkProject(req, project);
    await ctx.authorize(req.headers.authorization, 'serviceusage.services.get', resource);
    ServiceUsageModel.known(name);
    await ctx.afterCall('serviceusage.services.get');
    sendJson(res, 200, view(name));
  }

  async function enable(req: IncomingMessage, res: ServerResponse, project: string, names: string[], batch: boolean) {
    await ctx.beforeCall('serviceusage.services.enable');
    checkProject(req, project);
    await ctx.authorize(req.headers.authorization, 'serviceusage.services.enable', resource);
    if (names.length === 0 || names.length > 20) {
      throw new EmulatorError('INVALID_ARGUMENT', `serviceIds must name 1 to 20 services; got ${names.length}.`);
    }
    for (const name of names) ServiceUsageModel.known(name);
    for (const name of names) model.enable(name);
    await ctx.afterCall('serviceusage.services.enable');
    sendJson(
      res,
      200,
      batch
        ? operation({ '@type': `${TYPE}.BatchEnableServicesResponse`, services: names.map(view) })
        : operation({ '@type': `${TYPE}.EnableServiceResponse`, service: view(names[0] as string) }),
    );
  }

  return {
    name: 'service-usage',
    async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
      const path = url.pathname;
      try {
        const one = /^\/v1\/projects\/([^/]+)\/services\/([^/:]+)(:enable)?$/.exec(path);
        if (one && req.method === 'GET' && !one[3]) {
          await get(req, res, decodeURIComponent(one[1] as string), decodeURIComponent(one[2] as string));
          return true;
        }
        if (one && req.method === 'POST' && one[3]) {
          await readFields(req);
          await enable(req, res, decodeURIComponent(one[1] as string), [decodeURIComponent(one[2] as string)], false);
          return true;
        }
        const batch = /^\/v1\/projects\/([^/]+)\/services:batchEnable$/.exec(path);
        if (batch && req.method === 'POST') {
          const fields = await readFields(req);
          const ids = Array.isArray(fields.serviceIds) ? fields.serviceIds.map(String) : [];
          await enable(req, res, decodeURIComponent(batch[1] as string), ids, true);
          return true;
        }
      } catch (error) {
        sendError(res, error);
        return true;
      }
      return false;
    },
  };
}

/** Service Usage (get, enable, batchEnable). */
export const serviceUsage: EmulatorService = {
  name: 'service-usage',
  create: (core) => ({ http: serviceUsageHttp(core.ctx, core.iam, core.serviceUsage, core.projectNumber) }),
};
