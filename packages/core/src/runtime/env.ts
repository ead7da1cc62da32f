/**
 * The environment variables Vertex Launch reads for its settings, in one list each (every command and plugin reads
 * them through here), and the lookup that names the variable a value came from.
 */
import { isAbsolute, join } from 'node:path';
import type { Sourced } from './sources.js';

/** An environment: `process.env` in production, an explicit object in tests. */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Variables that name the project, in precedence order: the google-cloud client libraries' `GOOGLE_CLOUD_PROJECT`
 * and `GCLOUD_PROJECT`, then gcloud's property override `CLOUDSDK_CORE_PROJECT`.
 */
export const PROJECT_ENV_VARS = ['GOOGLE_CLOUD_PROJECT', 'GCLOUD_PROJECT', 'CLOUDSDK_CORE_PROJECT'] as const;

/**
 * Variables that name the Vertex AI region, in precedence order: `GOOGLE_CLOUD_REGION`, then gcloud's property
 * overrides `CLOUDSDK_AI_REGION` (`gcloud ai` commands) and `CLOUDSDK_COMPUTE_REGION`.
 */
export const REGION_ENV_VARS = ['GOOGLE_CLOUD_REGION', 'CLOUDSDK_AI_REGION', 'CLOUDSDK_COMPUTE_REGION'] as const;

/** Variables that hold a raw OAuth2 access token, in precedence order (never printed). */
export const TOKEN_ENV_VARS = ['GOOGLE_OAUTH_ACCESS_TOKEN', 'CLOUDSDK_AUTH_ACCESS_TOKEN'] as const;

/** The variable naming the queue store: a SQLite file path or a store URL such as `sqlite:/srv/q.db`. */
export const QUEUE_DB_ENV = 'VERTEX_LAUNCH_QUEUE_DB';

/** The first non-empty (trimmed) value of `names` in `env`, with the variable it came from. */
export function firstEnv(
  env: Env,
  names: readonly string[],
): (Sourced<string> & { readonly source: { readonly kind: 'env'; readonly name: string } }) | undefined {
  for (const name of names) {
    const value = env[name]?.trim();
    if (value) return { value, source: { kind: 'env', name } };
  }
  return undefined;
}

/**
 * `$<variable>/vertex-launch/<file>`, or `<home>/<fallback>/vertex-launch/<file>` when the variable is unset or not
 * absolute — the XDG base directory rule for the agent config (`XDG_CONFIG_HOME`, `.config`) and the queue database
 * (`XDG_DATA_HOME`, `.local/share`).
 */
export function xdgFile(
  env: Env,
  home: string,
  variable: 'XDG_CONFIG_HOME' | 'XDG_DATA_HOME',
  fallback: string,
  file: string,
): string {
  const xdg = env[variable];
  const base = xdg !== undefined && isAbsolute(xdg) ? xdg : join(home, fallback);
  return join(base, 'vertex-launch', file);
}
