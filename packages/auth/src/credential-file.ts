/**
 * Credential JSON files (service-account keys, gcloud `authorized_user`, `impersonated_service_account`,
 * workload-identity-federation `external_account`): reading them without leaking their contents, validating
 * them with every problem listed, and turning them into a {@link ManagedAuthClient} with the real
 * google-auth-library clients pointed at the resolved endpoints.
 */
import { readFile, stat } from 'node:fs/promises';
import { AuthError, ConfigError, type ConfigIssue } from '@vertex-launch/core';
import { ExternalAccountClient, JWT, UserRefreshClient } from 'google-auth-library';
import { libraryTokenSource, ManagedAuthClient } from './auth-client.js';
import { GOOGLE_ENDPOINTS, type GoogleEndpoints, redirectGoogleUrl } from './endpoints.js';
import { impersonate, serviceAccountFromImpersonationUrl } from './impersonation.js';

/** The OAuth scope every strategy requests by default. */
export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

/** A validated service-account key (the fields Vertex Launch uses). */
export interface ServiceAccountKeyJson {
  type: 'service_account';
  client_email: string;
  private_key: string;
  private_key_id?: string;
  project_id?: string;
  [key: string]: unknown;
}

/** How to build a client: who is asking, where the tokens come from, and the clock. */
export interface BuildContext {
  strategy: string;
  endpoints: GoogleEndpoints;
  scopes: readonly string[];
  now?: () => number;
  refreshMarginMs?: number;
}

/** A client built from a credential file, with what the file says about the principal and project. */
export interface BuiltClient {
  client: ManagedAuthClient;
  /** `service_account`, `authorized_user`, `external_account` or `impersonated_service_account`. */
  type: string;
  principal: string | undefined;
  projectId: string | undefined;
  /** Short description of the credential, e.g. `service account ci@p.iam.gserviceaccount.com`. */
  description: string;
}

const SUPPORTED_TYPES = ['service_account', 'authorized_user', 'external_account', 'impersonated_service_account'];

/** Parses credential JSON; the error names the file and a line/column, never the content (it may hold a key). */
export function parseCredentialJson(text: string, where: string, strategy: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const position = /position (\d+)/.exec(error instanceof Error ? error.message : '');
    let at = '';
    if (position) {
      const before = text.slice(0, Number(position[1]));
      const line = before.split('\n').length;
      at = ` (line ${line}, column ${before.length - before.lastIndexOf('\n')})`;
    }
    throw new ConfigError(
      `[vertex-launch] [auth:${strategy}] ${where} is not valid JSON${at}. Download the file again (e.g. \`gcloud iam service-accounts keys create\`).`,
      [{ path: '', message: `not valid JSON${at}`, severity: 'error' }],
      { file: where },
    );
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(
      `[vertex-launch] [auth:${strategy}] ${where} must hold a JSON object (a credential file), not ${Array.isArray(value) ? 'an array' : typeof value}.`,
      [{ path: '', message: 'expected a JSON object', severity: 'error' }],
      { file: where },
    );
  }
  return value as Record<string, unknown>;
}

/** Validates a service-account key: `type`, `client_email`, `private_key`. Lists every problem. */
export function validateServiceAccountKey(value: unknown, where: string, strategy: string): ServiceAccountKeyJson {
  const issues: ConfigIssue[] = [];
  const obj = (value && typeof value === 'object' ? value : {}) as Record<string, unknown>;
  if (obj.type !== 'service_account') {
    const got = typeof obj.type === 'string' ? `"${obj.type}"` : 'missing';
    const more =
      obj.type === 'authorized_user'
        ? ' (this is a gcloud user credential: use gcloudAdc() or environment())'
        : obj.type === 'external_account'
          ? ' (this is a workload identity federation config: use workloadIdentity({ credentialConfig }))'
          : '';
    issues.push({ path: 'type', message: `must be "service_account", got ${got}${more}`, severity: 'error' });
  }
  if (typeof obj.client_email !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(obj.client_email)) {
    issues.push({
      path: 'client_email',
      message:
        obj.client_email === undefined
          ? 'is missing'
          : 'must be the service account email (name@project.iam.gserviceaccount.com)',
      severity: 'error',
    });
  }
  if (typeof obj.private_key !== 'string' || !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(obj.private_key)) {
    issues.push({
      path: 'private_key',
      message:
        obj.private_key === undefined ? 'is missing' : 'must be a PEM private key (-----BEGIN PRIVATE KEY-----...)',
      severity: 'error',
    });
  }
  if (obj.project_id !== undefined && typeof obj.project_id !== 'string') {
    issues.push({ path: 'project_id', message: 'must be a string', severity: 'error' });
  }
  if (issues.length > 0) {
    throw new ConfigError(
      `[vertex-launch] [auth:${strategy}] ${where} is not a valid service-account key: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}. Create a new key with \`gcloud iam service-accounts keys create key.json --iam-account=NAME@PROJECT.iam.gserviceaccount.com\`.`,
      issues,
      { file: where },
    );
  }
  return obj as ServiceAccountKeyJson;
}

/** Reads a credential file; a missing or unreadable file is an `AuthError` naming the file and `via` (the option or variable). */
export async function readCredentialFile(
  path: string,
  via: string,
  strategy: string,
  warn: (message: string) => void,
): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'does not exist'
        : code === 'EACCES'
          ? 'is not readable by this user'
          : `cannot be read (${code})`;
    throw new AuthError(`[vertex-launch] [auth:${strategy}] ${via} names ${path}, which ${why}.`, {
      hint: `Fix ${via} to point at a credential JSON file.`,
    });
  }
  const json = parseCredentialJson(text, path, strategy);
  if (json.type === 'service_account' || json.type === 'authorized_user') await warnIfShared(path, strategy, warn);
  return json;
}

/** Warns when a file holding a private key or refresh token is readable by group or others. */
export async function warnIfShared(path: string, strategy: string, warn: (message: string) => void): Promise<void> {
  if (process.platform === 'win32') return;
  const mode = (await stat(path)).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    warn(
      `[vertex-launch] [auth:${strategy}] ${path} is readable by ${mode & 0o070 ? 'group' : ''}${mode & 0o070 && mode & 0o007 ? ' and ' : ''}${mode & 0o007 ? 'others' : ''} (mode ${mode.toString(8).padStart(4, '0')}); it holds a secret. Run \`chmod 600 ${path}\`.`,
    );
  }
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Builds a client from validated or raw credential JSON. `where` names the file (or "inline credentials"). */
export function clientFromJson(json: Record<string, unknown>, where: string, ctx: BuildContext): BuiltClient {
  const type = json.type;
  switch (type) {
    case 'service_account':
      return serviceAccountClient(validateServiceAccountKey(json, where, ctx.strategy), where, ctx);
    case 'authorized_user':
      return authorizedUserClient(json, where, ctx);
    case 'external_account':
      return externalAccountClient(json, where, ctx);
    case 'impersonated_service_account':
      return impersonatedClient(json, where, ctx);
    default:
      throw new ConfigError(
        `[vertex-launch] [auth:${ctx.strategy}] ${where} has credential type ${typeof type === 'string' ? `"${type}"` : '(missing)'}; Vertex Launch supports ${SUPPORTED_TYPES.join(', ')}.`,
        [{ path: 'type', message: `must be one of ${SUPPORTED_TYPES.join(', ')}`, severity: 'error' }],
        { file: where },
      );
  }
}

function managed(
  ctx: BuildContext,
  source: string,
  libraryClient: Parameters<typeof libraryTokenSource>[0],
  secrets: string[],
  projectId?: string,
) {
  return new ManagedAuthClient({
    strategy: ctx.strategy,
    source,
    fetch: libraryTokenSource(libraryClient, {
      strategy: ctx.strategy,
      source,
      secrets,
      ...(ctx.now ? { now: ctx.now } : {}),
    }),
    ...(ctx.now ? { now: ctx.now } : {}),
    ...(ctx.refreshMarginMs === undefined ? {} : { refreshMarginMs: ctx.refreshMarginMs }),
    ...(projectId ? { projectId } : {}),
  });
}

/** A service-account key: JWT-bearer grant, with the library's hard-coded token URL redirected to the resolved endpoint. */
export function serviceAccountClient(key: ServiceAccountKeyJson, where: string, ctx: BuildContext): BuiltClient {
  const jwt = new JWT({
    email: key.client_email,
    key: key.private_key,
    ...(str(key.private_key_id) ? { keyId: key.private_key_id as string } : {}),
    scopes: [...ctx.scopes],
    ...(str(key.project_id) ? { projectId: key.project_id as string } : {}),
  });
  if (ctx.endpoints.oauth2TokenUrl !== GOOGLE_ENDPOINTS.oauth2TokenUrl) {
    jwt.transporter.interceptors.request.add({
      resolved: async (config) => {
        const redirected = redirectGoogleUrl(String(config.url), ctx.endpoints);
        if (redirected !== String(config.url)) config.url = new URL(redirected);
        return config;
      },
    });
  }
  const description = `service account ${key.client_email}`;
  const source = `${description} (key ${where})`;
  return {
    client: managed(ctx, source, jwt, [key.private_key], key.project_id),
    type: 'service_account',
    principal: key.client_email,
    projectId: str(key.project_id),
    description,
  };
}

function requireFields(
  json: Record<string, unknown>,
  fields: string[],
  where: string,
  ctx: BuildContext,
  kind: string,
) {
  const issues: ConfigIssue[] = fields
    .filter((f) => str(json[f]) === undefined && !(f === 'credential_source' && json[f] && typeof json[f] === 'object'))
    .map((f) => ({ path: f, message: 'is missing', severity: 'error' as const }));
  if (issues.length > 0) {
    throw new ConfigError(
      `[vertex-launch] [auth:${ctx.strategy}] ${where} is not a valid ${kind} credential: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}.`,
      issues,
      { file: where },
    );
  }
}

/** gcloud user credentials: refresh-token grant at the resolved OAuth2 token endpoint. */
function authorizedUserClient(json: Record<string, unknown>, where: string, ctx: BuildContext): BuiltClient {
  requireFields(json, ['client_id', 'client_secret', 'refresh_token'], where, ctx, 'authorized_user');
  const refreshToken = json.refresh_token as string;
  const clientSecret = json.client_secret as string;
  const client = new UserRefreshClient({
    clientId: json.client_id as string,
    clientSecret,
    refreshToken,
    endpoints: { oauth2TokenUrl: ctx.endpoints.oauth2TokenUrl },
  });
  const description = 'user credentials (authorized_user)';
  return {
    client: managed(ctx, `${description} in ${where}`, client, [refreshToken, clientSecret]),
    type: 'authorized_user',
    principal: undefined,
    projectId: undefined,
    description,
  };
}

/** Workload identity federation: STS token exchange, optionally followed by service-account impersonation. */
function externalAccountClient(json: Record<string, unknown>, where: string, ctx: BuildContext): BuiltClient {
  requireFields(json, ['audience', 'subject_token_type', 'credential_source'], where, ctx, 'external_account');
  const impersonationUrl = str(json.service_account_impersonation_url);
  const options = {
    ...json,
    token_url: redirectGoogleUrl(str(json.token_url) ?? GOOGLE_ENDPOINTS.stsUrl, ctx.endpoints),
    ...(impersonationUrl
      ? { service_account_impersonation_url: redirectGoogleUrl(impersonationUrl, ctx.endpoints) }
      : {}),
    scopes: [...ctx.scopes],
  };
  let client: ReturnType<typeof ExternalAccountClient.fromJSON>;
  try {
    client = ExternalAccountClient.fromJSON(options as Parameters<typeof ExternalAccountClient.fromJSON>[0]);
  } catch (error) {
    throw new ConfigError(
      `[vertex-launch] [auth:${ctx.strategy}] ${where} is not a valid external_account (workload identity federation) config: ${error instanceof Error ? error.message : String(error)}.`,
      [],
      { file: where, cause: error },
    );
  }
  if (!client) {
    throw new ConfigError(`[vertex-launch] [auth:${ctx.strategy}] ${where} is not an external_account config.`, [], {
      file: where,
    });
  }
  const serviceAccount = impersonationUrl ? serviceAccountFromImpersonationUrl(impersonationUrl) : undefined;
  const projectId = serviceAccount ? projectOfServiceAccount(serviceAccount) : undefined;
  if (projectId) client.projectId = projectId;
  const description = `workload identity federation (${str(json.audience)})${serviceAccount ? ` as ${serviceAccount}` : ''}`;
  return {
    client: managed(ctx, `${description} from ${where}`, client, [], projectId),
    type: 'external_account',
    principal: serviceAccount,
    projectId,
    description,
  };
}

/** `impersonated_service_account` (written by `gcloud auth application-default login --impersonate-service-account`). */
function impersonatedClient(json: Record<string, unknown>, where: string, ctx: BuildContext): BuiltClient {
  requireFields(json, ['service_account_impersonation_url'], where, ctx, 'impersonated_service_account');
  const sourceJson = json.source_credentials;
  if (!sourceJson || typeof sourceJson !== 'object' || Array.isArray(sourceJson)) {
    throw new ConfigError(
      `[vertex-launch] [auth:${ctx.strategy}] ${where} is not a valid impersonated_service_account credential: source_credentials is missing.`,
      [{ path: 'source_credentials', message: 'is missing', severity: 'error' }],
      { file: where },
    );
  }
  const target = serviceAccountFromImpersonationUrl(json.service_account_impersonation_url as string);
  if (!target) {
    throw new ConfigError(
      `[vertex-launch] [auth:${ctx.strategy}] ${where}: service_account_impersonation_url does not name a service account (…/serviceAccounts/EMAIL:generateAccessToken).`,
      [{ path: 'service_account_impersonation_url', message: 'does not name a service account', severity: 'error' }],
      { file: where },
    );
  }
  const base = clientFromJson(sourceJson as Record<string, unknown>, `${where} (source_credentials)`, ctx);
  const delegates = Array.isArray(json.delegates)
    ? json.delegates.filter((d): d is string => typeof d === 'string')
    : [];
  const client = impersonate(base.client, target, { ...ctx, delegates, source: `${base.description} in ${where}` });
  return {
    client,
    type: 'impersonated_service_account',
    principal: target,
    projectId: projectOfServiceAccount(target),
    description: `${base.description}, impersonating ${target}`,
  };
}

/** The project of a user-managed service account (`name@PROJECT.iam.gserviceaccount.com`), if it is one. */
export function projectOfServiceAccount(email: string): string | undefined {
  return /^[^@]+@([a-z][a-z0-9-]{4,28}[a-z0-9])\.iam\.gserviceaccount\.com$/.exec(email)?.[1];
}
