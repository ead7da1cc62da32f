/**
 * The Google endpoints the strategies talk to, and how they are redirected: explicit `endpoints` option (partial
 * overrides, or a command's runtime endpoints) > the environment as core's `resolveServiceEndpoints` reads it (the
 * emulator's `VERTEX_LAUNCH_EMULATOR_HTTP`, `GCE_METADATA_HOST` for metadata only) > Google. The same user config
 * therefore works against the local emulator and against Google.
 */
import {
  GOOGLE_SERVICE_URLS,
  isServiceEndpoints,
  resolveServiceEndpoints,
  type ServiceEndpoints,
} from '@vertex-launch/core';

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
  oauth2TokenUrl: GOOGLE_SERVICE_URLS.oauth2TokenUrl,
  stsUrl: GOOGLE_SERVICE_URLS.stsUrl,
  iamCredentialsUrl: GOOGLE_SERVICE_URLS.iamCredentialsUrl,
  metadataHost: GOOGLE_SERVICE_URLS.metadataHost,
  resourceManagerUrl: GOOGLE_SERVICE_URLS.resourceManagerUrl,
  iamUrl: GOOGLE_SERVICE_URLS.iamUrl,
});

/** Resolved endpoints plus where they came from (for `auth check` and messages). */
export interface ResolvedEndpoints extends GoogleEndpoints {
  /** `explicit`, `emulator` or `google` (explicit wins per key; this names the base). */
  origin: 'explicit' | 'emulator' | 'google';
  /** True when the metadata host was set explicitly (option, emulator or `GCE_METADATA_HOST`), not Google's default. */
  metadataHostExplicit: boolean;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Resolves the endpoints: the runtime's {@link ServiceEndpoints} when `explicit` is one (a command passes its
 * runtime's), else those of `env` (core's `resolveServiceEndpoints`: the emulator's variables, `GCE_METADATA_HOST`,
 * Google) with the keys of a partial `explicit` overriding per key.
 */
export function resolveEndpoints(
  explicit: Partial<GoogleEndpoints> | ServiceEndpoints | undefined,
  env: Env,
): ResolvedEndpoints {
  const runtime = isServiceEndpoints(explicit) ? explicit : undefined;
  const base = runtime ?? resolveServiceEndpoints(env);
  const defined = runtime
    ? {}
    : Object.fromEntries(Object.entries(explicit ?? {}).filter(([, v]) => v !== undefined && v !== ''));
  const merged: GoogleEndpoints = {
    oauth2TokenUrl: base.oauth2TokenUrl,
    stsUrl: base.stsUrl,
    iamCredentialsUrl: base.iamCredentialsUrl,
    metadataHost: base.metadataHost,
    resourceManagerUrl: base.resourceManagerUrl,
    iamUrl: base.iamUrl,
    ...defined,
  };
  return {
    ...merged,
    origin: Object.keys(defined).length > 0 ? 'explicit' : base.origin,
    metadataHostExplicit: merged.metadataHost !== GOOGLE_ENDPOINTS.metadataHost,
  };
}

/** True when `endpoints` is an explicit metadata host given as an option (not the runtime's, not the environment's). */
export function explicitMetadataHost(endpoints: Partial<GoogleEndpoints> | ServiceEndpoints | undefined): boolean {
  return !isServiceEndpoints(endpoints) && endpoints?.metadataHost !== undefined;
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
