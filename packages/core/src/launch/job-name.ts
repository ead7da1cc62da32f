/**
 * CustomJob resource names: `projects/<project>/locations/<region>/customJobs/<id>`. Users may give a full name, a
 * Google Cloud console URL of the job, or a bare numeric id (the project and region then come from flags or the
 * environment). Pure: no I/O.
 */
import { ConfigError } from '../errors.js';

/** The parts of a CustomJob resource name. */
export interface JobNameParts {
  /** Project id or number, as written in the name. */
  project: string;
  region: string;
  /** The numeric job id. */
  id: string;
}

const FULL = /^projects\/([^/\s]+)\/locations\/([^/\s]+)\/customJobs\/(\d+)$/;
const BARE = /^\d+$/;

/** The parts of a full CustomJob name, or undefined when `name` is not one. */
export function parseJobName(name: string): JobNameParts | undefined {
  const m = FULL.exec(name.trim());
  return m ? { project: m[1] as string, region: m[2] as string, id: m[3] as string } : undefined;
}

/** The full name of a CustomJob. */
export function formatJobName(parts: JobNameParts): string {
  return `projects/${parts.project}/locations/${parts.region}/customJobs/${parts.id}`;
}

/** What a job reference names: the id always, the project and region when the reference carries them. */
export interface JobReferenceParts {
  /** Project id or number; absent for a bare id, or a console URL without `?project=`. */
  project?: string;
  /** Absent for a bare id. */
  region?: string;
  id: string;
}

/**
 * The job pages of the Google Cloud console: `/vertex-ai/locations/<region>/training/<id>` (what the console and the
 * Vertex AI SDKs link to), the older `/ai/platform/locations/<region>/training/<id>`, either with a tab after the
 * id (`/cpu`, `/gpu`, `/network`...), the project in `?project=` and any other query (`authuser`, `hl`).
 */
const CONSOLE_PATH = /^\/(?:vertex-ai|ai\/platform)\/locations\/([^/]+)\/training\/(\d+)(?:\/.*)?$/;
const CONSOLE_HOST = 'console.cloud.google.com';

/**
 * The parts of a job reference: a full name, a console URL of the job (see {@link CONSOLE_PATH}) or a bare numeric
 * id. `undefined` when `reference` is none of these.
 */
export function parseJobReference(reference: string): JobReferenceParts | undefined {
  const text = reference.trim();
  const full = parseJobName(text);
  if (full) return full;
  if (BARE.test(text)) return { id: text };
  if (!/^(https?:\/\/)?console\.cloud\.google\.com\//i.test(text)) return undefined;
  let url: URL;
  try {
    url = new URL(/^https?:\/\//i.test(text) ? text : `https://${text}`);
  } catch {
    return undefined;
  }
  if (url.hostname.toLowerCase() !== CONSOLE_HOST) return undefined;
  const m = CONSOLE_PATH.exec(url.pathname);
  if (!m) return undefined;
  const region = decodeURIComponent(m[1] as string);
  const project = url.searchParams.get('project')?.trim();
  return { ...(project ? { project } : {}), region, id: m[2] as string };
}

/**
 * Resolve a job reference — a full resource name, a console URL of the job or a bare numeric id — to a full name.
 * What the reference does not carry (a bare id's project and region, a URL's missing `?project=`) comes from
 * `defaults`; a malformed reference is a {@link ConfigError} that shows the accepted forms.
 */
export function resolveJobName(reference: string, defaults: { project?: string; region?: string } = {}): string {
  const text = reference.trim();
  if (parseJobName(text)) return text;
  const parts = parseJobReference(text);
  if (parts && !BARE.test(text)) {
    const project = parts.project ?? defaults.project;
    if (!project) {
      throw new ConfigError(`Job URL "${text}" has no ?project= and no project is set.`, [], {
        hint: 'Pass --project (or set GOOGLE_CLOUD_PROJECT), or copy the URL with its ?project= from the console.',
      });
    }
    return formatJobName({ project, region: parts.region as string, id: parts.id });
  }
  if (BARE.test(text)) {
    const missing = [
      defaults.project ? undefined : 'a project (--project or GOOGLE_CLOUD_PROJECT)',
      defaults.region ? undefined : 'a region (--region or GOOGLE_CLOUD_REGION)',
    ].filter((m): m is string => m !== undefined);
    if (missing.length > 0) {
      throw new ConfigError(`Job "${text}" is a bare id, which needs ${missing.join(' and ')}.`, [], {
        hint: 'Pass the full name projects/<project>/locations/<region>/customJobs/<id>, or set the project and region.',
      });
    }
    return formatJobName({ project: defaults.project as string, region: defaults.region as string, id: text });
  }
  const consoleUrl = /console\.cloud\.google\.com/i.test(text);
  throw new ConfigError(
    consoleUrl
      ? `"${reference}" is not the console page of a CustomJob: expected https://console.cloud.google.com/vertex-ai/locations/<region>/training/<id>?project=<project>.`
      : `"${reference}" is not a CustomJob: expected projects/<project>/locations/<region>/customJobs/<id>, a console URL (https://console.cloud.google.com/vertex-ai/locations/<region>/training/<id>?project=<project>) or a numeric id.`,
    [],
    { hint: "Copy the name from `vertex-launch jobs list`, or the URL of the job's page in the Vertex AI console." },
  );
}

/** The Google Cloud console page of a CustomJob. */
export function jobConsoleUrl(parts: JobNameParts): string {
  return `https://console.cloud.google.com/vertex-ai/locations/${encodeURIComponent(parts.region)}/training/${encodeURIComponent(parts.id)}?project=${encodeURIComponent(parts.project)}`;
}
