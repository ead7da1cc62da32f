/**
 * Vertex `JobState` (job_state.proto) -> launch status with a terminal flag.
 */

/** Status of a launched job, in Vertex Launch's words. */
export type LaunchStatus =
  | 'queued'
  | 'pending'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'cancelling'
  | 'cancelled'
  | 'paused'
  | 'expired'
  | 'updating'
  | 'partially_succeeded'
  | 'unknown';

/** Every `google.cloud.aiplatform.v1.JobState` by enum number. */
export const JOB_STATES = [
  'JOB_STATE_UNSPECIFIED',
  'JOB_STATE_QUEUED',
  'JOB_STATE_PENDING',
  'JOB_STATE_RUNNING',
  'JOB_STATE_SUCCEEDED',
  'JOB_STATE_FAILED',
  'JOB_STATE_CANCELLING',
  'JOB_STATE_CANCELLED',
  'JOB_STATE_PAUSED',
  'JOB_STATE_EXPIRED',
  'JOB_STATE_UPDATING',
  'JOB_STATE_PARTIALLY_SUCCEEDED',
] as const;

/** A Vertex job state name. */
export type JobStateName = (typeof JOB_STATES)[number];

const STATUS: Record<JobStateName, { status: LaunchStatus; terminal: boolean }> = {
  JOB_STATE_UNSPECIFIED: { status: 'unknown', terminal: false },
  JOB_STATE_QUEUED: { status: 'queued', terminal: false },
  JOB_STATE_PENDING: { status: 'pending', terminal: false },
  JOB_STATE_RUNNING: { status: 'running', terminal: false },
  JOB_STATE_SUCCEEDED: { status: 'succeeded', terminal: true },
  JOB_STATE_FAILED: { status: 'failed', terminal: true },
  JOB_STATE_CANCELLING: { status: 'cancelling', terminal: false },
  JOB_STATE_CANCELLED: { status: 'cancelled', terminal: true },
  // A paused job can be resumed, so it is not final.
  JOB_STATE_PAUSED: { status: 'paused', terminal: false },
  JOB_STATE_EXPIRED: { status: 'expired', terminal: true },
  JOB_STATE_UPDATING: { status: 'updating', terminal: false },
  JOB_STATE_PARTIALLY_SUCCEEDED: { status: 'partially_succeeded', terminal: true },
};

/**
 * The launch status of a Vertex job state, given as its name (`'JOB_STATE_RUNNING'`, also `'RUNNING'`) or its enum
 * number (`3`, as REST with `enum-encoding=int` returns it). Unknown or missing states are `unknown`, not terminal;
 * `state` is the canonical state name (or the input as text when unknown).
 */
export function jobStateToStatus(state: string | number | null | undefined): {
  status: LaunchStatus;
  terminal: boolean;
  state: string;
} {
  let name: string | undefined;
  if (typeof state === 'number') name = Number.isInteger(state) ? JOB_STATES[state] : undefined;
  else if (typeof state === 'string') {
    const upper = state.trim().toUpperCase();
    name = /^\d+$/.test(upper)
      ? JOB_STATES[Number(upper)]
      : upper.startsWith('JOB_STATE_')
        ? upper
        : `JOB_STATE_${upper}`;
  }
  const known = name !== undefined && name in STATUS ? (name as JobStateName) : undefined;
  if (known === undefined)
    return { status: 'unknown', terminal: false, state: state == null ? 'JOB_STATE_UNSPECIFIED' : String(state) };
  return { ...STATUS[known], state: known };
}
