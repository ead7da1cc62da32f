/**
 * CustomJob resource names: `projects/<project>/locations/<region>/customJobs/<id>`. Users may give a full name or
 * a bare numeric id (the project and region then come from flags or the environment). Pure: no I/O.
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

/**
 * Resolve a job reference — a full resource name or a bare numeric id — to a full name. A bare id needs `project`
 * and `region`; a malformed reference is a {@link ConfigError} that shows both accepted forms.
 */
export function resolveJobName(reference: string, defaults: { project?: string; region?: string } = {}): string {
  const text = reference.trim();
  if (parseJobName(text)) return text;
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
  throw new ConfigError(
    `"${reference}" is not a CustomJob: expected projects/<project>/locations/<region>/customJobs/<id> or a numeric id.`,
    [],
    { hint: 'Copy the name from `vertex-launch jobs list` or the Vertex AI console.' },
  );
}

/** The Google Cloud console page of a CustomJob. */
export function jobConsoleUrl(parts: JobNameParts): string {
  return `https://console.cloud.google.com/vertex-ai/locations/${encodeURIComponent(parts.region)}/training/${encodeURIComponent(parts.id)}?project=${encodeURIComponent(parts.project)}`;
}
