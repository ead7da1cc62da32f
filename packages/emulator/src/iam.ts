/**
 * The emulator's identity and IAM model: service accounts with keys, users with refresh tokens,
 * federated identities for STS, opaque access tokens with an expiry, self-signed JWT verification,
 * and permission grants per member and resource.
 */
import { createPublicKey, createVerify, generateKeyPair, randomBytes, randomInt } from 'node:crypto';
import { promisify } from 'node:util';
import { EmulatorError, type Principal } from './context.js';
import { type PolicyRecord, PolicyStore, ROLE_PERMISSIONS } from './iam-policies.js';

const generateKeyPairAsync = promisify(generateKeyPair);

/** Google's OAuth2 token URL; google-auth-library puts it in the `aud` of JWT-bearer assertions. */
export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';

/** The permissions the emulator's surfaces check (any other string may be granted too). */
export const KNOWN_PERMISSIONS = [
  'aiplatform.customJobs.create',
  'aiplatform.customJobs.get',
  'aiplatform.customJobs.list',
  'aiplatform.customJobs.cancel',
  'aiplatform.customJobs.delete',
  'storage.objects.create',
  'storage.objects.get',
  'storage.objects.list',
  'storage.objects.delete',
  'storage.buckets.get',
  'storage.buckets.create',
  'storage.buckets.list',
  'artifactregistry.repositories.get',
  'artifactregistry.repositories.list',
  'artifactregistry.repositories.create',
  'artifactregistry.repositories.delete',
  'artifactregistry.repositories.uploadArtifacts',
  'artifactregistry.repositories.downloadArtifacts',
  'artifactregistry.repositories.deleteArtifacts',
  'artifactregistry.dockerimages.get',
  'artifactregistry.dockerimages.list',
  'artifactregistry.packages.get',
  'artifactregistry.packages.list',
  'artifactregistry.tags.get',
  'artifactregistry.tags.list',
  'cloudbuild.builds.create',
  'cloudbuild.builds.get',
  'cloudbuild.builds.list',
  'cloudbuild.builds.update',
  'logging.logEntries.list',
  'iam.serviceAccounts.actAs',
  'iam.serviceAccounts.getAccessToken',
] as const;

/** The contents of a service-account JSON key file, as Google issues them. */
export interface ServiceAccountKey {
  type: 'service_account';
  project_id: string;
  private_key_id: string;
  private_key: string;
  client_email: string;
  client_id: string;
  auth_uri: string;
  token_uri: string;
  universe_domain: string;
}

/** gcloud-style user credentials (`authorized_user`), redeemed at the emulator's `/token` with the refresh-token grant. */
export interface AuthorizedUserCredentials {
  type: 'authorized_user';
  client_id: string;
  client_secret: string;
  refresh_token: string;
}

/** What `addExternalIdentity` returns: the values a workload-identity-federation config needs. */
export interface ExternalIdentity {
  /** The provider audience to put in the `audience` of an external_account config. */
  audience: string;
  /** The token the workload presents (put it in the `credential_source` file). */
  subjectToken: string;
  subjectTokenType: string;
  /** The federated member, e.g. `principal://iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/P/subject/S`. */
  member: string;
}

interface TokenRecord {
  member: string;
  email: string;
  expiresAt: number;
}

interface ServiceAccountRecord {
  email: string;
  uniqueId: string;
  displayName?: string;
  /** key id -> public key PEM */
  keys: Record<string, string>;
}

interface ExternalRecord {
  audience: string;
  member: string;
  subject: string;
}

/** The serialisable IAM state (persisted to `iam.json` in the data dir). */
export interface IamState {
  serviceAccounts: ServiceAccountRecord[];
  users: Record<string, { clientId: string; clientSecret: string; member: string; email: string }>;
  external: Record<string, ExternalRecord>;
  grants: Record<string, Record<string, string[]>>;
  tokens: Record<string, TokenRecord>;
  /** IAM policies (role bindings) per resource. */
  policies?: Record<string, PolicyRecord>;
}

/** Options of {@link IamModel}. */
export interface IamModelOptions {
  projectId: string;
  projectNumber: string;
  /** Clock for token expiry. */
  now(): number;
  /** The emulator's HTTP base URL (for `token_uri` in key files). */
  httpUrl(): string;
  tokenLifetimeSeconds: number;
  onChange(): void;
}

/** Normalises `a@b.iam.gserviceaccount.com` / `dev@example.com` / `user:dev@example.com` to an IAM member string. */
export function toMember(memberOrEmail: string): string {
  if (/^(serviceAccount|user|group|domain|principal|principalSet):/.test(memberOrEmail)) return memberOrEmail;
  if (memberOrEmail === 'allUsers' || memberOrEmail === 'allAuthenticatedUsers') return memberOrEmail;
  if (memberOrEmail.endsWith('.gserviceaccount.com')) return `serviceAccount:${memberOrEmail}`;
  if (memberOrEmail.includes('@')) return `user:${memberOrEmail}`;
  throw new EmulatorError(
    'INVALID_ARGUMENT',
    `'${memberOrEmail}' is not an IAM member; use an email or a member string such as 'user:dev@example.com'.`,
  );
}

/** The IAM model. All state is in memory; `toJSON()`/`load()` move it to and from the data dir. */
export class IamModel {
  private readonly serviceAccounts = new Map<string, ServiceAccountRecord>();
  private readonly users = new Map<string, { clientId: string; clientSecret: string; member: string; email: string }>();
  private readonly external = new Map<string, ExternalRecord>();
  /** resource -> member -> permissions */
  private readonly grants = new Map<string, Map<string, Set<string>>>();
  private readonly tokens = new Map<string, TokenRecord>();
  /** The role bindings set with `setIamPolicy` (projects, service accounts, repositories). */
  readonly policies: PolicyStore;

  constructor(private readonly options: IamModelOptions) {
    this.policies = new PolicyStore({
      projectId: options.projectId,
      serviceAccountExists: (email) => this.serviceAccounts.has(email),
      onChange: options.onChange,
    });
  }

  get projectId(): string {
    return this.options.projectId;
  }

  /** `projects/<number>/...`, `projects/-/...` and `projects/_/...` all become `projects/<id>/...`. */
  canonicalResource(resource: string | undefined): string {
    const { projectId, projectNumber } = this.options;
    if (resource === undefined || resource === '') return `projects/${projectId}`;
    if (resource.includes('@') && !resource.includes('/')) return `projects/${projectId}/serviceAccounts/${resource}`;
    const m = /^projects\/([^/]+)(\/.*)?$/.exec(resource);
    if (!m) return resource;
    const p = m[1] === projectNumber || m[1] === '-' || m[1] === '_' ? projectId : (m[1] as string);
    return `projects/${p}${m[2] ?? ''}`;
  }

  /** The service-account resource name used for `iam.serviceAccounts.*` permissions. */
  serviceAccountResource(email: string): string {
    return `projects/${this.options.projectId}/serviceAccounts/${email}`;
  }

  hasServiceAccount(email: string): boolean {
    return this.serviceAccounts.has(email);
  }

  /** Creates a service account (no key). Idempotent. */
  ensureServiceAccount(email: string, displayName?: string): void {
    if (this.serviceAccounts.has(email)) return;
    const uniqueId = String(100000000000000000000n + BigInt(randomInt(1, 2 ** 47)) * 1000000n);
    this.serviceAccounts.set(email, { email, uniqueId, keys: {}, ...(displayName ? { displayName } : {}) });
    this.options.onChange();
  }

  /** The account's unique id and display name, or undefined when it does not exist. */
  serviceAccountInfo(email: string): { email: string; uniqueId: string; displayName: string } | undefined {
    const sa = this.serviceAccounts.get(email);
    return sa && { email, uniqueId: sa.uniqueId, displayName: sa.displayName ?? '' };
  }

  /** Creates a service account named `name` (an account id or a full email) and returns a new JSON key for it. */
  async createServiceAccount(name: string, permissions: readonly string[] = []): Promise<ServiceAccountKey> {
    const email = name.includes('@') ? name : `${name}@${this.options.projectId}.iam.gserviceaccount.com`;
    if (!/^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z0-9.-]+$/.test(email)) {
      throw new EmulatorError(
        'INVALID_ARGUMENT',
        `Service account id in '${email}' is invalid: use 6-30 characters, lowercase letters, digits and dashes, starting with a letter.`,
      );
    }
    this.ensureServiceAccount(email);
    if (permissions.length > 0) this.grant(email, permissions);
    return this.createKey(email);
  }

  /** Creates a new RSA key for an existing service account; the emulator keeps only the public half. */
  async createKey(email: string): Promise<ServiceAccountKey> {
    const sa = this.serviceAccounts.get(email);
    if (!sa) throw new EmulatorError('NOT_FOUND', `Service account ${email} does not exist; create it first.`);
    const { privateKey, publicKey } = await generateKeyPairAsync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    const keyId = randomBytes(20).toString('hex');
    sa.keys[keyId] = publicKey;
    this.options.onChange();
    return {
      type: 'service_account',
      project_id: this.options.projectId,
      private_key_id: keyId,
      private_key: privateKey,
      client_email: email,
      client_id: sa.uniqueId,
      auth_uri: `${this.options.httpUrl()}/o/oauth2/auth`,
      token_uri: `${this.options.httpUrl()}/token`,
      universe_domain: 'googleapis.com',
    };
  }

  /** Creates a user with refresh-token credentials (what `gcloud auth application-default login` would write). */
  createUser(email: string, permissions: readonly string[] = []): AuthorizedUserCredentials {
    const member = toMember(email);
    const refreshToken = `1//vxl-${randomBytes(24).toString('base64url')}`;
    const clientId = `${randomInt(100000, 999999)}-emulator.apps.googleusercontent.com`;
    const clientSecret = randomBytes(12).toString('base64url');
    this.users.set(refreshToken, { clientId, clientSecret, member, email });
    if (permissions.length > 0) this.grant(member, permissions);
    this.options.onChange();
    return { type: 'authorized_user', client_id: clientId, client_secret: clientSecret, refresh_token: refreshToken };
  }

  /** Registers a workload-identity-federation subject whose token the STS endpoint exchanges. */
  addExternalIdentity(
    subject: string,
    opts: { pool?: string; provider?: string; permissions?: readonly string[] } = {},
  ): ExternalIdentity {
    const pool = opts.pool ?? 'emulator-pool';
    const provider = opts.provider ?? 'emulator-provider';
    const poolPath = `projects/${this.options.projectNumber}/locations/global/workloadIdentityPools/${pool}`;
    const audience = `//iam.googleapis.com/${poolPath}/providers/${provider}`;
    const member = `principal://iam.googleapis.com/${poolPath}/subject/${subject}`;
    const subjectToken = `vxl-subject-${randomBytes(24).toString('base64url')}`;
    this.external.set(subjectToken, { audience, member, subject });
    if (opts.permissions && opts.permissions.length > 0) this.grant(member, opts.permissions);
    this.options.onChange();
    return { audience, subjectToken, subjectTokenType: 'urn:ietf:params:oauth:token-type:jwt', member };
  }

  /** Grants `permissions` to `member` on `resource` (default: the project). */
  grant(member: string, permissions: readonly string[], resource?: string): void {
    const key = this.canonicalResource(resource);
    const m = toMember(member);
    let byMember = this.grants.get(key);
    if (!byMember) this.grants.set(key, (byMember = new Map()));
    let set = byMember.get(m);
    if (!set) byMember.set(m, (set = new Set()));
    for (const p of permissions) set.add(p);
    this.options.onChange();
  }

  /** Removes `permissions` from `member` on `resource` (default: the project). */
  revoke(member: string, permissions: readonly string[], resource?: string): void {
    const set = this.grants.get(this.canonicalResource(resource))?.get(toMember(member));
    if (!set) return;
    for (const p of permissions) set.delete(p);
    this.options.onChange();
  }

  /**
   * True when `member` holds `permission` on `resource` or on one of its parents: granted directly, or through a
   * role bound in the resource's IAM policy. `*` (and `roles/owner`) grants everything.
   */
  holds(member: string, permission: string, resource: string): boolean {
    const target = this.canonicalResource(resource);
    const covers = (granted: string) => target === granted || target.startsWith(`${granted}/`);
    for (const [granted, byMember] of this.grants) {
      if (!covers(granted)) continue;
      const set = byMember.get(member);
      if (set && (set.has(permission) || set.has('*'))) return true;
    }
    for (const granted of this.policies.resources()) {
      if (!covers(granted)) continue;
      for (const role of this.policies.rolesOf(granted, member)) {
        const permissions = ROLE_PERMISSIONS[role] ?? [];
        if (permissions.includes(permission) || permissions.includes('*')) return true;
      }
    }
    return false;
  }

  /** Issues an opaque access token for `member` (an email or member string). */
  issueToken(member: string, ttlSeconds = this.options.tokenLifetimeSeconds): { token: string; expiresAt: number } {
    const m = toMember(member);
    const token = `ya29.vxl.${randomBytes(32).toString('base64url')}`;
    const expiresAt = this.options.now() + ttlSeconds * 1000;
    this.tokens.set(token, { member: m, email: emailOf(m), expiresAt });
    this.options.onChange();
    return { token, expiresAt };
  }

  /**
   * Resolves an `Authorization` header value to a principal: an access token the emulator issued,
   * or a self-signed JWT signed with a key the emulator issued. Throws UNAUTHENTICATED otherwise.
   */
  authenticate(authorization: string | undefined): Principal {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!m) {
      throw new EmulatorError(
        'UNAUTHENTICATED',
        'Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. Send `Authorization: Bearer <token>` with a token issued by the emulator.',
      );
    }
    const token = m[1] as string;
    if (token.split('.').length === 3 && !token.startsWith('ya29.')) {
      const claims = this.verifyJwt(token, 'self-signed JWT');
      if (typeof claims.aud !== 'string' && typeof claims.scope !== 'string') {
        throw invalidCredentials('the self-signed JWT has neither an `aud` nor a `scope` claim');
      }
      const email = String(claims.iss);
      return { member: `serviceAccount:${email}`, email };
    }
    const record = this.tokens.get(token);
    if (!record) throw invalidCredentials('the access token was not issued by this emulator (or it was revoked)');
    if (record.expiresAt <= this.options.now()) {
      throw invalidCredentials(
        `the access token expired at ${new Date(record.expiresAt).toISOString()}; fetch a new one`,
      );
    }
    return { member: record.member, email: record.email };
  }

  /** Verifies an RS256 JWT signed with a service-account key the emulator issued; returns its claims. */
  verifyJwt(jwt: string, what: string): Record<string, unknown> {
    const [h, p, s] = jwt.split('.') as [string, string, string];
    let header: Record<string, unknown>;
    let claims: Record<string, unknown>;
    try {
      header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
      claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
    } catch {
      throw invalidCredentials(`the ${what} is not a well-formed JWT`);
    }
    if (header.alg !== 'RS256') throw invalidCredentials(`the ${what} must be signed with RS256, not ${header.alg}`);
    const iss = typeof claims.iss === 'string' ? claims.iss : '';
    const sa = this.serviceAccounts.get(iss);
    if (!sa) throw invalidCredentials(`the ${what} is issued by unknown service account '${iss}'`);
    const candidates =
      typeof header.kid === 'string' ? [sa.keys[header.kid]].filter((k) => k !== undefined) : Object.values(sa.keys);
    if (candidates.length === 0) {
      throw invalidCredentials(`the ${what} names key id '${String(header.kid)}', which ${iss} does not have`);
    }
    const signed = `${h}.${p}`;
    const signature = Buffer.from(s, 'base64url');
    const ok = candidates.some((pem) =>
      createVerify('RSA-SHA256').update(signed).verify(createPublicKey(pem), signature),
    );
    if (!ok) throw invalidCredentials(`the ${what} signature does not match ${iss}'s key`);
    // Self-signed JWTs carry the signer's wall-clock times, so check them against wall time (5 min skew).
    const nowSec = Date.now() / 1000;
    if (typeof claims.exp !== 'number' || claims.exp + 300 < nowSec) {
      throw invalidCredentials(`the ${what} has expired (exp ${String(claims.exp)}); sign a new one`);
    }
    if (typeof claims.iat === 'number' && claims.iat - 300 > nowSec) {
      throw invalidCredentials(`the ${what} is issued in the future (iat ${claims.iat})`);
    }
    return claims;
  }

  /** Redeems a refresh token; undefined when the token or client does not match. */
  redeemRefreshToken(refreshToken: string, clientId: string | undefined, clientSecret: string | undefined) {
    const user = this.users.get(refreshToken);
    if (!user) return undefined;
    if (clientId !== undefined && clientId !== user.clientId) return undefined;
    if (clientSecret !== undefined && clientSecret !== user.clientSecret) return undefined;
    return user;
  }

  /** Looks up an STS subject token for an audience. */
  externalSubject(subjectToken: string): ExternalRecord | undefined {
    return this.external.get(subjectToken);
  }

  toJSON(): IamState {
    const now = this.options.now();
    const grants: IamState['grants'] = {};
    for (const [resource, byMember] of this.grants) {
      grants[resource] = Object.fromEntries([...byMember].map(([m, set]) => [m, [...set].sort()]));
    }
    return {
      serviceAccounts: [...this.serviceAccounts.values()],
      users: Object.fromEntries(this.users),
      external: Object.fromEntries(this.external),
      grants,
      tokens: Object.fromEntries([...this.tokens].filter(([, t]) => t.expiresAt > now)),
      policies: this.policies.toJSON(),
    };
  }

  load(state: IamState): void {
    for (const sa of state.serviceAccounts) this.serviceAccounts.set(sa.email, sa);
    for (const [k, v] of Object.entries(state.users)) this.users.set(k, v);
    for (const [k, v] of Object.entries(state.external)) this.external.set(k, v);
    for (const [resource, byMember] of Object.entries(state.grants)) {
      this.grants.set(resource, new Map(Object.entries(byMember).map(([m, ps]) => [m, new Set(ps)])));
    }
    for (const [k, v] of Object.entries(state.tokens)) this.tokens.set(k, v);
    this.policies.load(state.policies);
  }
}

function emailOf(member: string): string {
  const i = member.indexOf(':');
  const rest = i >= 0 ? member.slice(i + 1) : member;
  const subject = /\/subject\/(.+)$/.exec(rest);
  return subject ? (subject[1] as string) : rest;
}

function invalidCredentials(why: string): EmulatorError {
  return new EmulatorError(
    'UNAUTHENTICATED',
    `Request had invalid authentication credentials: ${why}. Expected OAuth 2 access token, login cookie or other valid authentication credential.`,
  );
}
