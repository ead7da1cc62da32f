/**
 * The Google endpoints the strategies talk to, and how they are redirected: explicit `endpoints` option >
 * the emulator's environment (`VERTEX_LAUNCH_EMULATOR_HTTP`) > `GCE_METADATA_HOST` (metadata only) > Google.
 * The same user config therefore works against the local emulator and against Google.
 */

/** Endpoints used while resolving credentials and checking permissions. */
export interface GoogleEndpoints {
  /** OAuth2 token endpoint (JWT-bearer and refresh-token grants). Default `https://oauth2.googleapis.com/token`. */
  oauth2TokenUrl: string;
  /** Security Token Service endpoint (workload identity federation). Default `https://sts.googleapis.com/v1/token`. */
  stsUrl: string;
  /** IAM Credentials API base (impersonation). Default `https://iamcredentials.googleapis.com`. */
  iamCredentialsUrl: string;
  /** Metadata server `host[:port]` (GCE/GKE). Default `169.254.169.254`. */
  metadataHost: string;
  /** Cloud Resource Manager base (`projects:testIamPermissions`). Default `https://cloudresourcemanager.googleapis.com`. */
  resourceManagerUrl: string;
  /** IAM API base (`serviceAccounts:testIamPermissions`). Default `https://iam.googleapis.com`. */
  iamUrl: string;
}

/** Google's production endpoints. */
export const GOOGLE_ENDPOINTS: Readonly<GoogleEndpoints> = Object.freeze({
  oauth2TokenUrl: 'https://oauth2.googleapis.com/token',
  stsUrl: 'https://sts.googleapis.com/v1/token',
  iamCredentialsUrl: 'https://iamcredentials.googleapis.com',
  metadataHost: '169.254.169.254',
  resourceManagerUrl: 'https://cloudresourcemanager.googleapis.com',
  iamUrl: 'https://iam.googleapis.com',
});

/** Resolved endpoints plus where they came from (for `auth check` and messages). */
export interface ResolvedEndpoints extends GoogleEndpoints {
  /** `explicit`, `emulator` or `google` (explicit wins per key; this names the base). */
  origin: 'explicit' | 'emulator' | 'google';
  /** True when the metadata host was set explicitly (option, emulator or `GCE_METADATA_HOST`), not Google's default. */
  metadataHostExplicit: boolean;
}

type Env = Readonly<Record<string, string | undefined>>;

/** The emulator's HTTP base URL from `VERTEX_LAUNCH_EMULATOR_HTTP`, when set to a loopback `http://` URL. */
export function emulatorHttpUrl(env: Env): string | undefined {
  const raw = env.VERTEX_LAUNCH_EMULATOR_HTTP?.trim();
  if (!raw) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TypeError(
      `[vertex-launch] [auth] VERTEX_LAUNCH_EMULATOR_HTTP="${raw}" is not a URL; expected e.g. http://127.0.0.1:8085 (from \`vertex-launch emulator start\`).`,
    );
  }
  return `${url.protocol}//${url.host}`;
}

/** Resolves the endpoints for `env`, with `explicit` overriding per key. */
export function resolveEndpoints(explicit: Partial<GoogleEndpoints> | undefined, env: Env): ResolvedEndpoints {
  const emulator = emulatorHttpUrl(env);
  const base: GoogleEndpoints = emulator
    ? {
        oauth2TokenUrl: `${emulator}/token`,
        stsUrl: `${emulator}/v1/token`,
        iamCredentialsUrl: emulator,
        metadataHost: new URL(emulator).host,
        resourceManagerUrl: emulator,
        iamUrl: emulator,
      }
    : { ...GOOGLE_ENDPOINTS };
  const envMetadataHost = env.GCE_METADATA_HOST?.trim() || env.GCE_METADATA_IP?.trim();
  if (!emulator && envMetadataHost) base.metadataHost = envMetadataHost;
  const defined = Object.fromEntries(Object.entries(explicit ?? {}).filter(([, v]) => v !== undefined && v !== ''));
  const merged = { ...base, ...defined } as GoogleEndpoints;
  return {
    ...merged,
    origin: Object.keys(defined).length > 0 ? 'explicit' : emulator ? 'emulator' : 'google',
    metadataHostExplicit: merged.metadataHost !== GOOGLE_ENDPOINTS.metadataHost,
  };
}

/**
 * Maps a URL on a Google endpoint to the resolved one (token, STS, IAM Credentials); other URLs are returned
 * unchanged. Used to redirect URLs that google-auth-library hard-codes or that credential files name.
 */
export function redirectGoogleUrl(url: string, endpoints: GoogleEndpoints): string {
  const pairs: [string, string][] = [
    [GOOGLE_ENDPOINTS.oauth2TokenUrl, endpoints.oauth2TokenUrl],
    ['https://www.googleapis.com/oauth2/v4/token', endpoints.oauth2TokenUrl],
    [GOOGLE_ENDPOINTS.stsUrl, endpoints.stsUrl],
    [GOOGLE_ENDPOINTS.iamCredentialsUrl, endpoints.iamCredentialsUrl],
  ];
  for (const [from, to] of pairs) {
    if (from === to) continue;
    if (url === from || url.startsWith(`${from}/`) || url.startsWith(`${from}?`)) return to + url.slice(from.length);
  }
  return url;
}
