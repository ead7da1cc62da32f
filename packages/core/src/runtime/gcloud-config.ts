/**
 * Reads gcloud's configuration directly (no `gcloud` process): the config folder (`CLOUDSDK_CONFIG` or
 * `~/.config/gcloud`, `%APPDATA%\gcloud` on Windows), the active configuration (`CLOUDSDK_ACTIVE_CONFIG_NAME`
 * or the `active_config` file) and its properties, with gcloud's `CLOUDSDK_<SECTION>_<PROPERTY>` overrides.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

type Env = Readonly<Record<string, string | undefined>>;

/** gcloud's configuration folder for `env` and `homedir`. */
export function gcloudConfigDir(env: Env, homedir: string, platform: NodeJS.Platform = process.platform): string {
  const explicit = env.CLOUDSDK_CONFIG?.trim();
  if (explicit) return explicit;
  if (platform === 'win32') return join(env.APPDATA || join(homedir, 'AppData', 'Roaming'), 'gcloud');
  return join(homedir, '.config', 'gcloud');
}

/** Parses gcloud's INI files: `[section]` headers and `key = value` lines; `#`/`;` comments. */
export function parseGcloudIni(text: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  let section: Record<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) {
      const name = (header[1] as string).trim();
      section = out[name] ??= {};
      continue;
    }
    const eq = line.search(/[=:]/);
    if (eq <= 0 || !section) continue;
    section[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return out;
}

/** The properties Vertex Launch reads from gcloud's active configuration. */
export interface GcloudConfiguration {
  /** Configuration name (`default` unless switched with `gcloud config configurations activate`). */
  name: string;
  /** The properties file, e.g. `~/.config/gcloud/configurations/config_default`. */
  file: string;
  /** `core/project` (or `CLOUDSDK_CORE_PROJECT`). */
  project: string | undefined;
  /** `core/account` (or `CLOUDSDK_CORE_ACCOUNT`): the account gcloud itself uses. */
  account: string | undefined;
  /** `ai/region`, else `compute/region` (or `CLOUDSDK_AI_REGION` / `CLOUDSDK_COMPUTE_REGION`). */
  region: string | undefined;
  /** Which property the region came from, e.g. `ai/region`. */
  regionProperty: string | undefined;
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') {
      return undefined;
    }
    throw error;
  }
}

/** Reads the active configuration in `dir`. Missing files yield empty properties (gcloud's own behaviour). */
export async function readGcloudConfiguration(dir: string, env: Env): Promise<GcloudConfiguration> {
  const name =
    env.CLOUDSDK_ACTIVE_CONFIG_NAME?.trim() || (await readOptional(join(dir, 'active_config')))?.trim() || 'default';
  const file = join(dir, 'configurations', `config_${name}`);
  const ini = parseGcloudIni((await readOptional(file)) ?? '');
  const prop = (section: string, key: string) => {
    const fromEnv = env[`CLOUDSDK_${section.toUpperCase()}_${key.toUpperCase()}`]?.trim();
    return fromEnv || ini[section]?.[key] || undefined;
  };
  const aiRegion = prop('ai', 'region');
  const computeRegion = prop('compute', 'region');
  return {
    name,
    file,
    project: prop('core', 'project'),
    account: prop('core', 'account'),
    region: aiRegion ?? computeRegion,
    regionProperty: aiRegion ? 'ai/region' : computeRegion ? 'compute/region' : undefined,
  };
}
