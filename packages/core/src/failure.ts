/**
 * Failure classes: why an ended launch did not succeed, in one word a script can branch on, with a one-line fix where
 * there is one. Computed from what Vertex says (the job's google.rpc.Status, or the refusal of the create call), the
 * states the job went through and the last lines of its logs. Pure: no I/O, the caller gathers the evidence.
 *
 * The patterns follow the messages Vertex AI training returns (for example "The resources are insufficient in region:
 * us-central1", "The following quota metrics exceed quota limits: aiplatform.googleapis.com/…", "The replica
 * workerpool0-0 exited with a non-zero status of 137"); a message none matches is `unknown`, never a guess.
 */
import type { LaunchStatus } from './job-state.js';

/** Every failure class, in the order the classifier tries them (the first that matches wins). */
export const FAILURE_CLASSES = [
  'cancelled',
  'quota',
  'stockout',
  'flex_wait_expired',
  'timeout',
  'preempted',
  'out_of_memory',
  'image_pull',
  'bucket_region',
  'permission',
  'user_code',
  'unknown',
] as const;

/** Why a launch ended without success. */
export type FailureClass = (typeof FAILURE_CLASSES)[number];

/** The evidence {@link classifyFailure} reads. Every field is optional but `status`. */
export interface FailureEvidence {
  /** The launch status the job ended in (`failed`, `cancelled`, `expired`, `partially_succeeded`…). */
  status: LaunchStatus;
  /** The job's error (google.rpc.Status), or the refusal of the create call when no job was made. */
  error?: { code?: number | undefined; message?: string | undefined } | undefined;
  /** Vertex state names the job went through, oldest first (e.g. `JOB_STATE_QUEUED`, `JOB_STATE_PENDING`). */
  states?: readonly string[] | undefined;
  /** The last lines of the job's logs (service and replica lines), oldest first. */
  logTail?: readonly string[] | undefined;
  /** `run.scheduling_strategy` of the launch (`SPOT`, `FLEX_START`, `STANDARD`…). */
  schedulingStrategy?: string | undefined;
  /** The job's region, named in fixes. */
  region?: string | undefined;
}

/** The class of one ended launch. */
export interface Failure {
  class: FailureClass;
  /** The replica's exit code when Vertex or the logs name one (`user_code`, `out_of_memory`). */
  exitCode?: number;
  /** What happened, in one line (Vertex's own words where it has them). */
  summary: string;
  /** What to do about it, in one line; absent when there is nothing to suggest (`cancelled`, `unknown`). */
  fix?: string;
}

const NON_ZERO_EXIT = /exited with a non-zero status of (\d+)/i;
const QUOTA =
  /quota metrics? exceed|exceed(?:s|ed)? (?:the )?quota|quota (?:limit )?(?:was )?exceeded|insufficient quota/i;
const QUOTA_METRIC = /((?:aiplatform|compute)\.googleapis\.com\/[a-z0-9_]+)/i;
const STOCKOUT =
  /resources? (?:are|is) insufficient|insufficient (?:resources|capacity)|ZONE_RESOURCE_POOL_EXHAUSTED|resource pool exhausted|does not have enough resources available|no (?:available )?capacity/i;
const FLEX_WAIT =
  /max(?:imum)?[ _]wait[ _]duration|could not (?:obtain|acquire|get) (?:the )?(?:requested )?resources within/i;
const TIMEOUT =
  /exceeded (?:the |its )?(?:maximum )?(?:run(?:ning)? ?)?time(?:out)?|timed out|timeout (?:was )?(?:reached|exceeded)|ran longer than its (?:scheduling\.)?timeout/i;
const PREEMPTED =
  /preempt|spot (?:vm|instance)s? (?:was |were )?(?:reclaimed|terminated|stopped)|reclaimed by compute engine/i;
const OOM =
  /OOMKilled|out of memory|Out of memory: Killed process|MemoryError|std::bad_alloc|Resource exhausted: OOM|memory limit (?:was )?exceeded/i;
const IMAGE_PULL =
  /(?:fail(?:ed)?|unable|error|cannot|could not) (?:to )?pull(?:ing)?(?: the)? (?:container )?image|ImagePullBackOff|ErrImagePull|manifest (?:for .* )?(?:unknown|not found)|image .{0,200}not found/i;
const BUCKET_REGION =
  /bucket .{0,300}(?:is in|in) location .{0,80}must be in the same (?:regional )?location|same regional location as the service/i;
const PERMISSION =
  /iam\.serviceAccounts\.actAs|actAs permission|permission .{0,200}denied|PERMISSION_DENIED|does not have (?:the )?(?:required )?permission|is not authorized|caller does not have permission|artifactregistry\.repositories\.downloadArtifacts/i;

const GRPC_CANCELLED = 1;
const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_PERMISSION_DENIED = 7;
const GRPC_RESOURCE_EXHAUSTED = 8;

/**
 * The failure class of an ended launch, or `undefined` when it succeeded (or has not ended). Reads Vertex's error
 * first, then the log tail: a replica that exited 137 with "OOMKilled" in its last lines is `out_of_memory` even
 * though Vertex only says "non-zero status of 137".
 *
 * @example
 * classifyFailure({ status: 'failed', error: { code: 8, message: 'The resources are insufficient in region: us-central1.' } });
 * // { class: 'stockout', summary: 'The resources are insufficient in region: us-central1.', fix: 'Vertex has no…' }
 */
export function classifyFailure(evidence: FailureEvidence): Failure | undefined {
  const { status } = evidence;
  if (status === 'succeeded') return undefined;
  if (!['failed', 'cancelled', 'expired', 'partially_succeeded'].includes(status)) return undefined;

  const message = (evidence.error?.message ?? '').trim();
  const code = evidence.error?.code;
  const logs = (evidence.logTail ?? []).join('\n');
  const both = `${message}\n${logs}`;
  const region = evidence.region ? ` in ${evidence.region}` : '';
  const summary = message || firstLine(logs) || `the job ended ${status}`;
  const exit = NON_ZERO_EXIT.exec(message) ?? NON_ZERO_EXIT.exec(logs);
  const exitCode = exit ? Number(exit[1]) : undefined;
  const withExit = (failure: Failure): Failure => (exitCode === undefined ? failure : { ...failure, exitCode });
  const strategy = evidence.schedulingStrategy?.toUpperCase();
  const everRan = (evidence.states ?? []).some((s) => /RUNNING$/.test(s));

  // A job cancelled by Vertex for its timeout also ends CANCELLED; only a cancel nobody explains is `cancelled`.
  if (status === 'cancelled' && !TIMEOUT.test(message) && !PREEMPTED.test(message)) {
    return { class: 'cancelled', summary: message || 'the job was cancelled' };
  }
  if (QUOTA.test(message) || (code === GRPC_RESOURCE_EXHAUSTED && /quota/i.test(message))) {
    const metric = QUOTA_METRIC.exec(message)?.[1];
    return {
      class: 'quota',
      summary,
      fix: `Request more quota${metric ? ` for ${metric}` : ''}${region} (console: IAM & Admin > Quotas), or pick a machine or accelerator the project has quota for.`,
    };
  }
  if (STOCKOUT.test(message)) {
    return {
      class: 'stockout',
      summary,
      fix: `Vertex has no capacity for this machine${region} right now: retry later, try another region or machine (a queue's fallback list), or set run.scheduling_strategy: FLEX_START to wait for capacity.`,
    };
  }
  if (
    FLEX_WAIT.test(message) ||
    (strategy === 'FLEX_START' && status === 'expired') ||
    (strategy === 'FLEX_START' && code === GRPC_DEADLINE_EXCEEDED && !everRan)
  ) {
    return {
      class: 'flex_wait_expired',
      summary,
      fix: `No capacity came within run.max_wait_duration${region}: raise it, or try another region or machine.`,
    };
  }
  if (TIMEOUT.test(message) || (code === GRPC_DEADLINE_EXCEEDED && everRan)) {
    return {
      class: 'timeout',
      summary,
      fix: 'The job ran longer than run.timeout: raise the timeout, or save checkpoints to base_output_dir and resume.',
    };
  }
  if (PREEMPTED.test(message) || (strategy === 'SPOT' && PREEMPTED.test(logs))) {
    return withExit({
      class: 'preempted',
      summary,
      fix: 'The Spot VM was reclaimed: resubmit (retry: { on: [preempted] } in the queue), checkpoint to base_output_dir, or use STANDARD scheduling.',
    });
  }
  if (exitCode === 137 || OOM.test(both)) {
    return withExit({
      class: 'out_of_memory',
      summary,
      fix: /cuda|gpu/i.test(both)
        ? 'The GPU ran out of memory: lower the batch size, or use an accelerator with more memory.'
        : 'The container ran out of memory: use a machine_type with more memory, or lower the batch size.',
    });
  }
  // Replica log lines are the user's: only Vertex's message, or the container runtime's own words, count.
  if (IMAGE_PULL.test(message) || /ImagePullBackOff|ErrImagePull|Failed to pull image/.test(logs)) {
    return {
      class: 'image_pull',
      summary,
      fix: 'Vertex could not pull the image: check that it exists, and that the Vertex AI service agent may read its repository (roles/artifactregistry.reader); `vertex-launch doctor` checks both.',
    };
  }
  if (BUCKET_REGION.test(message)) {
    return {
      class: 'bucket_region',
      summary,
      fix: `Use a staging bucket in the job's region${region} (spec.staging_bucket), or launch in the bucket's region.`,
    };
  }
  if (PERMISSION.test(message) || code === GRPC_PERMISSION_DENIED) {
    return {
      class: 'permission',
      summary,
      fix: /actAs/i.test(message)
        ? "The submitting principal may not act as the job's service account: grant it roles/iam.serviceAccountUser on that account (`vertex-launch setup` can)."
        : 'A permission is missing: `vertex-launch doctor` names the principal and the role to grant.',
    };
  }
  if (exitCode !== undefined) {
    return {
      class: 'user_code',
      exitCode,
      summary,
      fix: `The training code exited with status ${exitCode}: read its last log lines (\`vertex-launch jobs logs <job>\`).`,
    };
  }
  if (code === GRPC_CANCELLED) return { class: 'cancelled', summary };
  return { class: 'unknown', summary };
}

function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .find((line) => line.trim() !== '')
      ?.trim() ?? ''
  );
}
