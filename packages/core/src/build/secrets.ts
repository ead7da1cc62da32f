/**
 * Detection of files that look like credentials, so they are not baked into an image by accident. Detection looks at
 * names (`.env`, `id_rsa`, `.netrc`, `.aws/credentials`, gcloud's credential stores, ...) and sniffs at most the first 64 KiB of small text files (never a whole large file,
 * never a binary one). Nothing here ever returns or prints the content of a file.
 */

/** What kind of credential a file looks like. */
export type CredentialKind =
  | 'gcp-service-account-key'
  | 'oauth-refresh-token'
  | 'dotenv'
  | 'private-key'
  | 'ssh-private-key'
  | 'npm-token'
  | 'netrc'
  | 'git-credentials'
  | 'aws-credentials'
  | 'docker-config'
  | 'pypirc'
  | 'kubeconfig'
  | 'gcloud-credentials'
  | 'pgpass'
  | 'oauth-access-token';

/** A file of the build context that looks like a credential. */
export interface CredentialFinding {
  /** Path relative to the context root, `/`-separated. */
  path: string;
  kind: CredentialKind;
}

/** Human descriptions of {@link CredentialKind}s, for messages. */
export const CREDENTIAL_KIND_DESCRIPTIONS: Readonly<Record<CredentialKind, string>> = {
  'gcp-service-account-key': 'Google service-account key',
  'oauth-refresh-token': 'OAuth refresh token (e.g. gcloud user credentials)',
  dotenv: 'environment file',
  'private-key': 'PEM private key',
  'ssh-private-key': 'SSH private key',
  'npm-token': 'npm auth token',
  netrc: 'netrc login file',
  'git-credentials': 'git credential store',
  'aws-credentials': 'AWS credentials file',
  'docker-config': 'Docker client config with registry auths',
  pypirc: 'PyPI upload credentials',
  kubeconfig: 'Kubernetes config with credentials',
  'gcloud-credentials': 'gcloud credential store',
  pgpass: 'PostgreSQL password file',
  'oauth-access-token': 'Google OAuth access token (ya29.)',
};

/** Only the first this-many bytes of a file are inspected. */
export const SNIFF_BYTES = 64 * 1024;
/** Files larger than this are not inspected (credentials are small). */
export const SNIFF_MAX_FILE_SIZE = 1024 * 1024;
/** Bumped when the rules change, so cached verdicts are recomputed. */
export const DETECTOR_VERSION = 2;

/** `.env.*` names that conventionally hold templates, not values. */
const DOTENV_TEMPLATES = new Set(['.env.example', '.env.sample', '.env.template', '.env.dist']);
const SSH_KEY_NAMES = new Set(['id_rsa', 'id_dsa', 'id_ecdsa', 'id_ed25519', 'id_ecdsa_sk', 'id_ed25519_sk']);
/** Credential files known by their name alone. */
const CREDENTIAL_NAMES: ReadonlyMap<string, CredentialKind> = new Map([
  ['.netrc', 'netrc'],
  ['_netrc', 'netrc'],
  ['.git-credentials', 'git-credentials'],
  ['.pypirc', 'pypirc'],
  ['.pgpass', 'pgpass'],
  ['access_tokens.db', 'gcloud-credentials'],
  ['credentials.db', 'gcloud-credentials'],
]);
/** Credential files known by their last two path segments (`dir/name`). */
const CREDENTIAL_PATHS: ReadonlyMap<string, CredentialKind> = new Map([
  ['.aws/credentials', 'aws-credentials'],
  ['.docker/config.json', 'docker-config'],
  ['.kube/config', 'kubeconfig'],
]);

const PEM_PRIVATE_KEY = /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/;
const SA_TYPE = /"type"\s*:\s*"service_account"/;
const SA_PRIVATE_KEY = /"private_key"\s*:\s*"[^"]/;
const SA_CLIENT_EMAIL = /"client_email"\s*:\s*"/;
const REFRESH_TOKEN = /"refresh_token"\s*:\s*"[^"]/;
const NPM_TOKEN = /(?:^|[\s:])_(?:authToken|auth|password)\s*=\s*\S/m;
/** A Google OAuth access token: `ya29.` and a long run of token characters. */
const ACCESS_TOKEN = /(?:^|[^A-Za-z0-9_-])ya29\.[A-Za-z0-9_-]{20,}/;
const KUBECONFIG_KIND = /^kind:\s*["']?Config["']?\s*$/m;
const KUBECONFIG_SECRET = /^\s*(?:-\s+)?(?:token|client-key-data|password):\s*["']?[^\s"'#]/m;

function basename(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash === -1 ? path : path.slice(slash + 1);
}

/** A verdict from the name alone (no content needed), or undefined. */
export function credentialKindByName(path: string): CredentialKind | undefined {
  const name = basename(path);
  if (name === '.env' || (name.startsWith('.env.') && !DOTENV_TEMPLATES.has(name))) return 'dotenv';
  if (SSH_KEY_NAMES.has(name)) return 'ssh-private-key';
  const byName = CREDENTIAL_NAMES.get(name);
  if (byName !== undefined) return byName;
  const parent = basename(path.slice(0, Math.max(0, path.length - name.length - 1)));
  const byPath = CREDENTIAL_PATHS.get(`${parent}/${name}`);
  if (byPath !== undefined) return byPath;
  // gcloud's pre-ADC credential directory: every file below `legacy_credentials/` is a user's credentials.
  if (`/${path}`.includes('/legacy_credentials/')) return 'gcloud-credentials';
  return undefined;
}

/** True when the content of a file of this size is worth sniffing. */
export function shouldSniff(size: number): boolean {
  return size > 0 && size <= SNIFF_MAX_FILE_SIZE;
}

/**
 * Classify a file from its path and its first bytes (`head`, at most {@link SNIFF_BYTES} are looked at). Binary
 * heads (a NUL byte in the first 8 KiB) are never classified by content.
 */
export function sniffCredential(path: string, head: Uint8Array | undefined): CredentialKind | undefined {
  const byName = credentialKindByName(path);
  if (byName !== undefined || head === undefined || head.length === 0) return byName;
  const buf = Buffer.from(head.buffer, head.byteOffset, Math.min(head.length, SNIFF_BYTES));
  if (buf.subarray(0, 8192).includes(0)) return undefined;
  const name = basename(path);
  if (name === '.npmrc' && NPM_TOKEN.test(buf.toString('utf8'))) return 'npm-token';
  const firstChar = buf.toString('latin1', 0, Math.min(buf.length, 256)).trimStart()[0];
  if (name.endsWith('.json') || firstChar === '{') {
    if (!buf.includes('"')) return undefined;
    const text = buf.toString('utf8');
    if (SA_PRIVATE_KEY.test(text) && (SA_TYPE.test(text) || SA_CLIENT_EMAIL.test(text)))
      return 'gcp-service-account-key';
    if (REFRESH_TOKEN.test(text)) return 'oauth-refresh-token';
  }
  if (buf.includes('PRIVATE KEY-----') && PEM_PRIVATE_KEY.test(buf.toString('latin1'))) return 'private-key';
  if (buf.includes('ya29.') && ACCESS_TOKEN.test(buf.toString('latin1'))) return 'oauth-access-token';
  if (buf.includes('Config') && isKubeconfigWithCredentials(buf.toString('utf8'))) return 'kubeconfig';
  return undefined;
}

/** A kubeconfig (`kind: Config`) that holds a token, a client key or a password (not only an exec plugin). */
function isKubeconfigWithCredentials(text: string): boolean {
  return KUBECONFIG_KIND.test(text) && KUBECONFIG_SECRET.test(text);
}

/** True when `path` is covered by one of the `allowSecrets` entries (a file, or a directory and all below it). */
export function isAllowedSecret(path: string, allowSecrets: readonly string[]): boolean {
  return allowSecrets.some((allowed) => path === allowed || path.startsWith(`${allowed}/`));
}

/** Normalise user-given `allowSecrets` paths to context-relative `/`-separated form. */
export function normalizeAllowSecrets(paths: readonly string[] | undefined): string[] {
  return (paths ?? [])
    .map((p) =>
      p
        .replace(/\\/g, '/')
        .replace(/\/+/g, '/')
        .replace(/^(\.\/)+/, '')
        .replace(/^\//, '')
        .replace(/\/$/, ''),
    )
    .filter((p) => p !== '' && p !== '.');
}

/** The error message part listing findings and the fix. Names paths and kinds only, never contents. */
export function describeCredentialFindings(findings: readonly CredentialFinding[]): { message: string; hint: string } {
  const lines = findings.map((f) => `  - ${f.path} (${CREDENTIAL_KIND_DESCRIPTIONS[f.kind]})`).join('\n');
  const quoted = findings.map((f) => `'${f.path}'`).join(', ');
  const n = findings.length;
  return {
    message:
      `Refusing to build: ${n} file${n === 1 ? '' : 's'} in the build context look${n === 1 ? 's' : ''} like ` +
      `credentials and would be baked into the image:\n${lines}`,
    hint:
      `Add ${n === 1 ? 'it' : 'them'} to .dockerignore (one path per line, e.g. \`${findings[0]?.path ?? '.env'}\`), ` +
      `or, if ${n === 1 ? 'it belongs' : 'they belong'} in the image, pass \`allowSecrets: [${quoted}]\`.`,
  };
}
