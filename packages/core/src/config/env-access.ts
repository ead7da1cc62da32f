/**
 * Which environment variables a queue config's `${env:NAME}` may read. A queue config is data from whoever may write
 * the queue (enqueue, `queue update`), not configuration of the process that launches it, so what it may read is
 * decided by that process: an allowlist (`allowed_env` in the agent's launch-config.yaml, `allowedEnv` in the SDK,
 * `VERTEX_LAUNCH_ALLOWED_ENV` for a direct `launch`). Without an allowlist (a user's own config on their own machine)
 * any name that does not look like a credential is read. A credential name is read only when an allowlist names it.
 */

/** The environment variable that holds a direct `launch`'s allowlist (names separated by commas or spaces). */
export const ALLOWED_ENV_VARIABLE = 'VERTEX_LAUNCH_ALLOWED_ENV';

/** What `${env:NAME}` may read, and where that is configured (named in refusals). */
export interface EnvAccess {
  /**
   * The names `${env:NAME}` may read, credential names included. Undefined: any name that does not look like a
   * credential.
   */
  allowed?: readonly string[];
  /** Where the allowlist is set, for the fix in a refusal, e.g. "`allowed_env` in launch-config.yaml". */
  from?: string;
}

/** Name segments (split at `_`) that mark a credential. */
const CREDENTIAL_SEGMENTS = new Set([
  'KEY',
  'KEYS',
  'APIKEY',
  'SECRET',
  'SECRETS',
  'TOKEN',
  'TOKENS',
  'PASSWORD',
  'PASSWD',
  'PASS',
  'CREDENTIAL',
  'CREDENTIALS',
  'CREDS',
  'AUTH',
  'COOKIE',
  'SESSION',
  'PRIVATE',
  'DSN',
  'KEYFILE',
]);
/** Whole-name patterns of credentials: cloud providers' credential families, suffixes written without `_`. */
const CREDENTIAL_PATTERNS = [
  /^AWS_/,
  /^AZURE_/,
  /^GOOGLE_APPLICATION_CREDENTIALS$/,
  /^GOOGLE_.*TOKEN/,
  /(?:TOKEN|SECRET|PASSWORD|PASSWD|APIKEY)$/,
  /^DATABASE_URL$/,
  /^VERTEX_LAUNCH_QUEUE_DB$/,
];

/**
 * True when `name` looks like a credential variable (`GOOGLE_OAUTH_ACCESS_TOKEN`, `GOOGLE_APPLICATION_CREDENTIALS`,
 * `*_KEY`, `*_SECRET`, `*_TOKEN`, `*_PASSWORD`, `AWS_*`, `DATABASE_URL`, the queue database URL, ...).
 */
export function isCredentialEnvName(name: string): boolean {
  const upper = name.toUpperCase();
  if (CREDENTIAL_PATTERNS.some((pattern) => pattern.test(upper))) return true;
  return upper.split('_').some((segment) => CREDENTIAL_SEGMENTS.has(segment));
}

/** The names of an allowlist written as one string (`A,B C`), or undefined when the string is unset or blank. */
export function parseAllowedEnv(value: string | undefined): string[] | undefined {
  const names = (value ?? '').split(/[\s,]+/).filter((name) => name !== '');
  return names.length === 0 ? undefined : names;
}

/** A direct `launch`'s access: `VERTEX_LAUNCH_ALLOWED_ENV` when set, else any non-credential name. */
export function directLaunchEnvAccess(env: Readonly<Record<string, string | undefined>>): EnvAccess {
  const allowed = parseAllowedEnv(env[ALLOWED_ENV_VARIABLE]);
  return { ...(allowed ? { allowed } : {}), from: ALLOWED_ENV_VARIABLE };
}

/** Why `${env:name}` may not be read under `access`, or undefined when it may. */
export function envRefusal(name: string, access: EnvAccess): string | undefined {
  const from = access.from ?? 'the `allowedEnv` option';
  const jobSecrets =
    'pass a secret to the job through Secret Manager or the job’s own service account instead (docs/macros.md)';
  if (access.allowed !== undefined) {
    if (access.allowed.includes(name)) return undefined;
    return `\`\${env:${name}}\` is refused: ${name} is not in ${from}, the list of variables a queue config may read. Add ${name} there if whoever may write this queue may read it, or ${jobSecrets}`;
  }
  if (!isCredentialEnvName(name)) return undefined;
  return `\`\${env:${name}}\` is refused: ${name} looks like a credential, and credentials are read only when named in ${from}. Name it there if you mean it, or ${jobSecrets}`;
}

/**
 * The values of credential variables that `access` lets `${env:...}` read: what `--dry-run` masks. Values shorter
 * than 4 characters are left out (masking them would garble the output, and they are not secrets worth the name).
 */
export function credentialValues(env: Readonly<Record<string, string | undefined>>, access: EnvAccess): string[] {
  const values = (access.allowed ?? [])
    .filter((name) => isCredentialEnvName(name))
    .map((name) => env[name])
    .filter((value): value is string => value !== undefined && value.length >= 4);
  return [...new Set(values)].sort((a, b) => b.length - a.length);
}

/** Access tokens and private keys, masked in printed requests whatever variable they came from. */
const SECRET_SHAPES = [
  /ya29\.[A-Za-z0-9._-]+/g,
  /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----[\s\S]*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|$)/g,
];

/** `text` with every value of `secrets` and every access-token or private-key shape replaced by `***`. */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join('***');
  for (const shape of SECRET_SHAPES) out = out.replace(shape, '***');
  return out;
}

/** A copy of `value` with {@link maskSecrets} applied to every string in it (keys too). */
export function maskSecretsDeep<T>(value: T, secrets: readonly string[]): T {
  if (typeof value === 'string') return maskSecrets(value, secrets) as T;
  if (Array.isArray(value)) return value.map((item) => maskSecretsDeep(item, secrets)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [maskSecrets(k, secrets), maskSecretsDeep(v, secrets)]),
    ) as T;
  }
  return value;
}
