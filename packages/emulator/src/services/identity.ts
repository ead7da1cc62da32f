/**
 * Identity and IAM over HTTP: the OAuth2 token endpoint (JWT-bearer and refresh-token grants), STS token
 * exchange (workload identity federation), IAM Credentials `generateAccessToken` (impersonation), the
 * GCE/GKE metadata server, and Resource Manager `testIamPermissions`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { EmulatorError, type HttpService, type ServiceContext } from '../context.js';
import { readFields, sendError, sendJson } from '../http/server.js';
import { GOOGLE_TOKEN_URL, type IamModel } from '../iam.js';
import type { EmulatorService } from './contract.js';

/** Options of {@link identityService}. */
export interface IdentityServiceOptions {
  ctx: ServiceContext;
  iam: IamModel;
  projectNumber: string;
  httpUrl(): string;
  /** The service account the metadata server presents as `default`. */
  metadataServiceAccount: string;
}

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';

function oauthError(res: ServerResponse, status: number, error: string, description: string): true {
  sendJson(res, status, { error, error_description: description });
  return true;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** Creates the identity surface. */
export function identityService(options: IdentityServiceOptions): HttpService {
  const { ctx, iam } = options;

  const tokenResponse = (member: string, scope?: string) => {
    const { token, expiresAt } = iam.issueToken(member);
    return {
      access_token: token,
      expires_in: Math.max(0, Math.round((expiresAt - ctx.now()) / 1000)),
      token_type: 'Bearer',
      ...(scope ? { scope } : {}),
    };
  };

  async function oauthToken(req: IncomingMessage, res: ServerResponse): Promise<true> {
    await ctx.beforeCall('oauth2.token');
    const fields = await readFields(req);
    const grant = str(fields.grant_type);
    if (grant === JWT_BEARER) {
      const assertion = str(fields.assertion);
      if (!assertion) return oauthError(res, 400, 'invalid_request', 'Missing required parameter: assertion');
      let claims: Record<string, unknown>;
      try {
        claims = iam.verifyJwt(assertion, 'assertion');
      } catch (error) {
        return oauthError(res, 400, 'invalid_grant', error instanceof Error ? error.message : 'Invalid JWT.');
      }
      const aud = claims.aud;
      if (aud !== GOOGLE_TOKEN_URL && aud !== `${options.httpUrl()}/token`) {
        return oauthError(
          res,
          400,
          'invalid_grant',
          `Invalid JWT: the aud claim must be ${GOOGLE_TOKEN_URL} or ${options.httpUrl()}/token.`,
        );
      }
      if (typeof claims.scope !== 'string' || claims.scope === '') {
        return oauthError(
          res,
          400,
          'invalid_scope',
          'Invalid JWT: the assertion has no scope claim; request at least one OAuth scope.',
        );
      }
      sendJson(res, 200, tokenResponse(`serviceAccount:${String(claims.iss)}`));
      return true;
    }
    if (grant === 'refresh_token') {
      const user = iam.redeemRefreshToken(
        str(fields.refresh_token) ?? '',
        str(fields.client_id),
        str(fields.client_secret),
      );
      if (!user)
        return oauthError(
          res,
          400,
          'invalid_grant',
          'Bad Request: the refresh token or client is not known to the emulator.',
        );
      sendJson(res, 200, tokenResponse(user.member, str(fields.scope) ?? CLOUD_PLATFORM));
      return true;
    }
    return oauthError(
      res,
      400,
      'unsupported_grant_type',
      `Invalid grant_type: ${grant ?? '(missing)'}. The emulator's /token supports ${JWT_BEARER} and refresh_token.`,
    );
  }

  async function stsToken(req: IncomingMessage, res: ServerResponse): Promise<true> {
    await ctx.beforeCall('sts.token');
    const fields = await readFields(req);
    // Accept both the form-encoded (google-auth-library) and the JSON (REST) spelling.
    const get = (snake: string, camel: string) => str(fields[snake]) ?? str(fields[camel]);
    if (get('grant_type', 'grantType') !== TOKEN_EXCHANGE) {
      return oauthError(res, 400, 'unsupported_grant_type', `grant_type must be ${TOKEN_EXCHANGE}.`);
    }
    const subjectToken = get('subject_token', 'subjectToken');
    const audience = get('audience', 'audience');
    if (!subjectToken || !audience) {
      return oauthError(res, 400, 'invalid_request', 'Both audience and subject_token are required.');
    }
    const subject = iam.externalSubject(subjectToken);
    if (!subject)
      return oauthError(
        res,
        400,
        'invalid_grant',
        'The subject token is not one the emulator issued with addExternalIdentity.',
      );
    if (subject.audience !== audience) {
      return oauthError(
        res,
        400,
        'invalid_grant',
        `The audience ${audience} does not match the provider the subject token was registered for (${subject.audience}).`,
      );
    }
    const { token, expiresAt } = iam.issueToken(subject.member);
    sendJson(res, 200, {
      access_token: token,
      issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      token_type: 'Bearer',
      expires_in: Math.round((expiresAt - ctx.now()) / 1000),
    });
    return true;
  }

  async function generateAccessToken(req: IncomingMessage, res: ServerResponse, email: string): Promise<true> {
    await ctx.beforeCall('iamcredentials.generateAccessToken');
    const resource = iam.serviceAccountResource(email);
    await ctx.authorize(req.headers.authorization, 'iam.serviceAccounts.getAccessToken', resource);
    if (!iam.hasServiceAccount(email)) throw new EmulatorError('NOT_FOUND', `Service account ${email} does not exist.`);
    const fields = await readFields(req);
    const lifetime = str(fields.lifetime);
    let ttl = 3600;
    if (lifetime !== undefined) {
      const m = /^(\d+)(\.\d+)?s$/.exec(lifetime);
      if (!m || Number(m[1]) < 1 || Number(m[1]) > 43200) {
        throw new EmulatorError(
          'INVALID_ARGUMENT',
          `lifetime must be a duration between 1s and 43200s such as "3600s"; got "${lifetime}".`,
        );
      }
      ttl = Number(m[1]);
    }
    const scope = fields.scope;
    if (!Array.isArray(scope) || scope.length === 0) {
      throw new EmulatorError(
        'INVALID_ARGUMENT',
        'scope must list at least one OAuth scope, e.g. ["https://www.googleapis.com/auth/cloud-platform"].',
      );
    }
    const { token, expiresAt } = iam.issueToken(email, ttl);
    await ctx.afterCall('iamcredentials.generateAccessToken');
    sendJson(res, 200, { accessToken: token, expireTime: new Date(expiresAt).toISOString() });
    return true;
  }

  async function testIamPermissions(req: IncomingMessage, res: ServerResponse, project: string): Promise<true> {
    await ctx.beforeCall('resourcemanager.projects.testIamPermissions');
    const principal = iam.authenticate(req.headers.authorization);
    if (project !== ctx.projectId && project !== options.projectNumber) {
      throw new EmulatorError(
        'PERMISSION_DENIED',
        `The caller does not have permission on project ${project} (or it may not exist); the emulator serves project ${ctx.projectId}.`,
      );
    }
    const fields = await readFields(req);
    const asked = Array.isArray(fields.permissions)
      ? fields.permissions.filter((p): p is string => typeof p === 'string')
      : [];
    const held = asked.filter((p) => iam.holds(principal.member, p, `projects/${ctx.projectId}`));
    sendJson(res, 200, held.length > 0 ? { permissions: held } : {});
    return true;
  }

  async function metadata(req: IncomingMessage, res: ServerResponse, url: URL): Promise<true> {
    const headers = { 'metadata-flavor': 'Google' };
    const text = (status: number, body: string) => {
      res.writeHead(status, { ...headers, 'content-type': 'application/text' });
      res.end(body);
      return true as const;
    };
    if (req.method !== 'GET') return text(405, 'Method not allowed');
    if (req.headers['metadata-flavor'] !== 'Google') {
      return text(403, 'Missing required header "Metadata-Flavor": "Google"');
    }
    await ctx.beforeCall('metadata.get');
    const path = url.pathname.replace(/^\/computeMetadata\/v1\/?/, '');
    const sa = options.metadataServiceAccount;
    const accountPath = /^instance\/service-accounts\/([^/]+)\/?(.*)$/.exec(path);
    if (accountPath) {
      const who = accountPath[1] === 'default' || accountPath[1] === sa ? sa : undefined;
      if (!who) return text(404, `Service account ${accountPath[1]} is not attached to this instance.`);
      const leaf = accountPath[2] ?? '';
      if (leaf === '' && url.searchParams.get('recursive') === 'true') {
        sendJson(res, 200, { aliases: ['default'], email: who, scopes: [CLOUD_PLATFORM] }, headers);
        return true;
      }
      if (leaf === 'email') return text(200, who);
      if (leaf === 'scopes') return text(200, `${CLOUD_PLATFORM}\n`);
      if (leaf === 'aliases') return text(200, 'default\n');
      if (leaf === 'token') {
        const { token, expiresAt } = iam.issueToken(who);
        sendJson(
          res,
          200,
          { access_token: token, expires_in: Math.round((expiresAt - ctx.now()) / 1000), token_type: 'Bearer' },
          headers,
        );
        return true;
      }
      return text(404, `Unknown metadata key ${path}`);
    }
    switch (path) {
      case '':
      case 'instance':
      case 'instance/':
      case 'project':
      case 'project/':
        return text(200, '');
      case 'project/project-id':
        return text(200, ctx.projectId);
      case 'project/numeric-project-id':
        return text(200, options.projectNumber);
      case 'instance/zone':
        return text(200, `projects/${options.projectNumber}/zones/${ctx.region}-a`);
      case 'instance/id':
        return text(200, '1000000000000000001');
      case 'universe/universe-domain':
        return text(200, 'googleapis.com');
      case 'instance/service-accounts':
      case 'instance/service-accounts/':
        return text(200, `default/\n${sa}/\n`);
      default:
        return text(404, `Unknown metadata key ${path}`);
    }
  }

  return {
    name: 'identity',
    async handle(req, res, url) {
      const path = url.pathname;
      try {
        if (path === '/computeMetadata/v1' || path.startsWith('/computeMetadata/v1/'))
          return await metadata(req, res, url);
        if (req.method === 'POST' && path === '/token') return await oauthToken(req, res);
        if (req.method === 'POST' && path === '/v1/token') return await stsToken(req, res);
        const gat = /^\/v1\/projects\/[^/]+\/serviceAccounts\/([^/:]+):generateAccessToken$/.exec(path);
        if (req.method === 'POST' && gat)
          return await generateAccessToken(req, res, decodeURIComponent(gat[1] as string));
        const tip = /^\/v[13]\/projects\/([^/:]+):testIamPermissions$/.exec(path);
        if (req.method === 'POST' && tip) return await testIamPermissions(req, res, tip[1] as string);
      } catch (error) {
        sendError(res, error);
        return true;
      }
      return false;
    },
  };
}

/** OAuth2, STS, IAM Credentials, the metadata server and `testIamPermissions`, as an emulator service. */
export const identity: EmulatorService = {
  name: 'identity',
  create: (core) => ({
    http: identityService({
      ctx: core.ctx,
      iam: core.iam,
      projectNumber: core.projectNumber,
      httpUrl: () => core.endpoints.httpUrl,
      metadataServiceAccount: core.options.metadataServiceAccount ?? core.adminEmail,
    }),
  }),
};
