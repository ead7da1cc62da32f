/**
 * Shared by `launch` (when it submits) and the `jobs` commands: the command's runtime (project, region and
 * credentials, resolved once as every command resolves them) and the Vertex runner made from it — the auth and
 * Vertex packages are imported only here, when a command talks to Vertex (so `--help`, `validate` and `--dry-run`
 * never load the Google libraries) — plus the renderers of job snapshots.
 */
import {
  classifyFailure,
  formatElapsed,
  type JobLogEntry,
  type JobSnapshot,
  parseJobReference,
  type Runtime,
  requireProjectId,
  requireRegion,
  resolveJobName,
  type Sourced,
} from '@vertex-launch/core';
import type { VertexRunner, VertexRunnerOptions } from '@vertex-launch/vertex';
import type { ListField } from '../list-format.js';
import { dim, green, type Io, red, yellow } from '../output.js';
import { commandRuntime, fromFlagOrJob } from '../runtime.js';

/** Flags shared by the commands that talk to Vertex. */
export interface VertexFlags {
  project?: string;
  region?: string;
}

/**
 * The runtime of a command that talks to Vertex, with credentials. Project and region: the flags, then the job
 * reference's (`jobRef`: a full name, or a console URL with its `?project=`), then the environment,
 * launch-config.yaml, gcloud's configuration and the credentials.
 */
export async function vertexRuntime(flags: VertexFlags, env: NodeJS.ProcessEnv, jobRef?: string): Promise<Runtime> {
  const fromRef = jobRef === undefined ? undefined : parseJobReference(jobRef);
  // A malformed reference is refused before any credentials are looked for.
  if (jobRef !== undefined && !fromRef) resolveJobName(jobRef);
  const what = jobRef !== undefined && /^\s*(https?:\/\/)?console\./i.test(jobRef) ? 'the job URL' : 'the job name';
  const named = (value: string | undefined): Sourced<string> | undefined =>
    value ? { value, source: { kind: 'flag', name: what } } : undefined;
  // A project number in a job name names no project id: it only fills in when nothing else does.
  const refProject = fromRef?.project;
  const nameProject = refProject && !/^\d+$/.test(refProject) ? refProject : undefined;
  const runtime = await commandRuntime(
    {
      project: fromFlagOrJob('--project', flags.project, named(nameProject)),
      region: fromFlagOrJob('--region', flags.region, named(fromRef?.region)),
    },
    env,
    { credentials: true },
  );
  if (!runtime.projectId && refProject) return { ...runtime, projectId: named(refProject) };
  return runtime;
}

/** The Vertex runner of a runtime (its project, region, credentials and endpoints). */
export async function openRunner(
  runtime: Runtime,
  extra: Omit<VertexRunnerOptions, 'credentials' | 'projectId' | 'region' | 'endpoints'> = {},
  jobRef?: string,
): Promise<VertexRunner> {
  if (jobRef !== undefined) {
    resolveJobName(jobRef, {
      ...(runtime.projectId ? { project: runtime.projectId.value } : {}),
      ...(runtime.region ? { region: runtime.region.value } : {}),
    });
  }
  const projectId = requireProjectId(runtime);
  const region = requireRegion(runtime);
  const { vertexRunner } = await import('@vertex-launch/vertex');
  return vertexRunner({
    ...extra,
    ...(runtime.credentials ? { credentials: runtime.credentials } : {}),
    projectId,
    region,
    endpoints: runtime.endpoints,
  });
}

/** The runtime and runner of a `jobs` command (or of `launch`). */
export async function jobsRunner(flags: VertexFlags, env: NodeJS.ProcessEnv, jobRef?: string): Promise<VertexRunner> {
  return openRunner(await vertexRuntime(flags, env, jobRef), {}, jobRef);
}

/**
 * The full name a job reference of a `jobs` command names (`describe`, `cancel`, `logs`): a full name as it is, a
 * console URL's project (else the runner's) and region, a bare id in the runner's project and region.
 */
export function jobReference(runner: Pick<VertexRunner, 'projectId' | 'region'>, reference: string): string {
  return resolveJobName(reference, {
    ...(runner.projectId ? { project: runner.projectId } : {}),
    ...(runner.region ? { region: runner.region } : {}),
  });
}

/** A job's state for people: `RUNNING`, coloured by outcome. */
export function stateText(io: Io, job: Pick<JobSnapshot, 'state' | 'status'>): string {
  const name = job.state.replace(/^JOB_STATE_/, '');
  if (job.status === 'succeeded') return green(io, name);
  if (['failed', 'cancelled', 'expired'].includes(job.status)) return red(io, name);
  if (['cancelling', 'paused', 'partially_succeeded'].includes(job.status)) return yellow(io, name);
  return name;
}

/** The JSON form of a job (`--json`): stable keys, ISO times, no secrets; each worker pool's machine and args. */
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
    workerPools: (job.workerPools ?? []).map((pool) => ({
      machineSpec: {
        machineType: pool.machineType,
        acceleratorType: pool.acceleratorType ?? null,
        acceleratorCount: pool.acceleratorCount,
      },
      replicaCount: pool.replicaCount,
      imageUri: pool.imageUri ?? null,
      command: pool.command,
      args: pool.args,
      ...(pool.pythonModule ? { pythonModule: pool.pythonModule } : {}),
    })),
    consoleUrl: job.consoleUrl,
    failure: failureOf(job) ?? null,
  };
}

/** Why an ended job did not succeed (its failure class and the fix), or undefined. */
export function failureOf(job: JobSnapshot) {
  return classifyFailure({ status: job.status, error: job.error, region: job.region });
}

/** The fields of {@link jobJson}, as `--filter`, `--sort-by` and `--format` name them. */
export const JOB_FIELDS: readonly ListField[] = [
  { name: 'name' },
  { name: 'id' },
  { name: 'displayName' },
  { name: 'state' },
  { name: 'status' },
  { name: 'terminal' },
  { name: 'createTime' },
  { name: 'startTime' },
  { name: 'endTime' },
  { name: 'updateTime' },
  { name: 'error', nested: true },
  { name: 'labels', nested: true },
  { name: 'imageUri' },
  { name: 'workerPools', nested: true },
  { name: 'consoleUrl' },
  { name: 'failure', nested: true },
];

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
