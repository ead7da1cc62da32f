/**
 * Shared by `launch` (when it submits) and the `jobs` commands: credentials from `@vertex-launch/auth` and the Vertex
 * runner, both imported only here, when a command talks to Vertex (so `--help`, `validate` and `--dry-run` never load
 * the Google libraries), plus the renderers of job snapshots.
 */
import { formatElapsed, type JobLogEntry, type JobSnapshot, parseJobName, resolveJobName } from '@vertex-launch/core';
import type { VertexRunner } from '@vertex-launch/vertex';
import { UsageError } from '../exit-codes.js';
import { dim, green, type Io, red, yellow } from '../output.js';

/** Flags shared by the commands that talk to Vertex. */
export interface VertexFlags {
  project?: string;
  region?: string;
}

const PROJECT_VARS = ['GOOGLE_CLOUD_PROJECT', 'GCLOUD_PROJECT', 'CLOUDSDK_CORE_PROJECT'] as const;
const REGION_VARS = ['GOOGLE_CLOUD_REGION', 'CLOUDSDK_AI_REGION', 'CLOUDSDK_COMPUTE_REGION'] as const;

function fromEnv(env: NodeJS.ProcessEnv, names: readonly string[]): string | undefined {
  for (const name of names) if (env[name]?.trim()) return env[name]?.trim();
  return undefined;
}

/**
 * Resolves credentials (`auto()` chain) and creates the Vertex runner. Project and region: the flags, then a full
 * job name's, then the environment, then the credentials'.
 */
export async function openRunner(flags: VertexFlags, env: NodeJS.ProcessEnv, jobRef?: string): Promise<VertexRunner> {
  const fromName = jobRef ? parseJobName(jobRef.trim()) : undefined;
  const region = flags.region ?? fromName?.region ?? fromEnv(env, REGION_VARS);
  const project =
    flags.project ??
    (fromName && !/^\d+$/.test(fromName.project) ? fromName.project : undefined) ??
    fromEnv(env, PROJECT_VARS) ??
    fromName?.project;
  if (jobRef !== undefined) resolveJobName(jobRef, { ...(project ? { project } : {}), ...(region ? { region } : {}) });
  const [{ auto, resolveCredentials }, { vertexRunner }] = await Promise.all([
    import('@vertex-launch/auth'),
    import('@vertex-launch/vertex'),
  ]);
  const credentials = await resolveCredentials(
    auto({ ...(project ? { projectId: project } : {}), ...(region ? { region } : {}), env }),
    { env },
  );
  const finalProject = project ?? credentials.projectId;
  const finalRegion = region ?? credentials.region;
  if (!finalProject) throw new UsageError('No project: pass --project <id> or set GOOGLE_CLOUD_PROJECT.');
  if (!finalRegion)
    throw new UsageError('No region: pass --region <region> (e.g. us-central1) or set GOOGLE_CLOUD_REGION.');
  return vertexRunner({ credentials, project: finalProject, region: finalRegion, env });
}

/** A job's state for people: `RUNNING`, coloured by outcome. */
export function stateText(io: Io, job: Pick<JobSnapshot, 'state' | 'status'>): string {
  const name = job.state.replace(/^JOB_STATE_/, '');
  if (job.status === 'succeeded') return green(io, name);
  if (['failed', 'cancelled', 'expired'].includes(job.status)) return red(io, name);
  if (['cancelling', 'paused', 'partially_succeeded'].includes(job.status)) return yellow(io, name);
  return name;
}

/** The JSON form of a job (`--json`): stable keys, ISO times, no secrets. */
export function jobJson(job: JobSnapshot) {
  return {
    name: job.name,
    id: job.id,
    displayName: job.displayName,
    state: job.state,
    status: job.status,
    terminal: job.terminal,
    createTime: job.createTime?.toISOString() ?? null,
    startTime: job.startTime?.toISOString() ?? null,
    endTime: job.endTime?.toISOString() ?? null,
    updateTime: job.updateTime?.toISOString() ?? null,
    error: job.error ?? null,
    labels: job.labels,
    imageUri: job.imageUri ?? null,
    consoleUrl: job.consoleUrl,
  };
}

/** `2026-11-29 06:40:30Z` */
export function shortTime(date: Date | undefined): string {
  return date ? `${date.toISOString().slice(0, 19).replace('T', ' ')}Z` : '-';
}

/** How long a job ran (or has been running). */
export function duration(job: JobSnapshot, now = Date.now()): string | undefined {
  const start = job.startTime ?? job.createTime;
  if (!start) return undefined;
  return formatElapsed((job.endTime?.getTime() ?? now) - start.getTime());
}

/** One log line: `timestamp severity text`. */
export function logLine(io: Io, entry: JobLogEntry): string {
  const severity =
    entry.severity === 'ERROR'
      ? red(io, 'ERROR')
      : entry.severity === 'WARNING'
        ? yellow(io, 'WARN ')
        : dim(io, entry.severity.slice(0, 5).padEnd(5));
  return `${dim(io, entry.timestamp)} ${severity} ${entry.text}\n`;
}

/** A log entry as one JSON line. */
export function logJson(entry: JobLogEntry): string {
  return `${JSON.stringify({ timestamp: entry.timestamp, severity: entry.severity, text: entry.text, insertId: entry.insertId, task: entry.task ?? null })}\n`;
}
