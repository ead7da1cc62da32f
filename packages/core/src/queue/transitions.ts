/**
 * The item state machine every queue store shares: pure functions from (item, input, now) to the next item and the
 * events to append. A store loads the item inside a transaction, applies one of these and saves the result, so all
 * stores enforce the same leases, fencing and phase rules.
 */
import { QueueError } from './errors.js';
import {
  AGENT_STATES,
  type AgentHeartbeat,
  type AgentRecord,
  type ClaimOptions,
  type CompletionUpdate,
  DEFAULT_MAX_ATTEMPTS,
  FAILURE_PHASES,
  type FailureUpdate,
  FINAL_LAUNCH_STATUSES,
  LAUNCH_PHASES,
  type LaunchRequest,
  type PhaseUpdate,
  type QueueItem,
  type QueueItemEvent,
  type QueueItemOutcome,
} from './store.js';

/** The next item and the events the change adds (already appended to `item.events`). */
export interface ItemTransition {
  item: QueueItem;
  events: QueueItemEvent[];
}

/** The longest lease: one day. Agents renew leases with heartbeats, so long leases only slow down recovery. */
export const MAX_LEASE_MS = 86_400_000;

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function apply(
  item: QueueItem,
  changes: Partial<Record<keyof QueueItem, unknown>>,
  events: QueueItemEvent[],
): ItemTransition {
  const next: Record<string, unknown> = { ...item, ...changes, events: [...item.events, ...events] };
  for (const [key, value] of Object.entries(next)) if (value === undefined) delete next[key];
  return { item: next as unknown as QueueItem, events };
}

function event(now: number, fields: Omit<QueueItemEvent, 'at'>): QueueItemEvent {
  const out: Record<string, unknown> = { at: iso(now), ...fields };
  for (const [key, value] of Object.entries(out)) if (value === undefined) delete out[key];
  return out as unknown as QueueItemEvent;
}

/** A new queued item with its `enqueued` event. */
export function newQueueItem(
  fields: { id: string; queue: string; launchId: string; runId: string; request: LaunchRequest },
  now: number,
): QueueItem {
  const by = fields.request.submitter === undefined ? '' : ` by ${fields.request.submitter}`;
  const what =
    fields.request.image !== undefined
      ? `image ${fields.request.image}`
      : fields.request.source !== undefined
        ? `source ${fields.request.source}`
        : 'the queue config image';
  return {
    ...fields,
    state: 'queued',
    cancelRequested: false,
    attempts: 0,
    enqueuedAt: iso(now),
    updatedAt: iso(now),
    events: [event(now, { type: 'enqueued', message: `enqueued${by}: run ${fields.runId}, ${what}` })],
  };
}

/** Check a lease length. @throws QueueError `invalid_argument`. */
export function checkLeaseMs(leaseMs: unknown): void {
  if (typeof leaseMs !== 'number' || !Number.isInteger(leaseMs) || leaseMs <= 0 || leaseMs > MAX_LEASE_MS) {
    throw new QueueError(
      'invalid_argument',
      `Invalid lease length ${String(leaseMs)}: \`leaseMs\` must be a whole number of milliseconds between 1 and ${MAX_LEASE_MS} (e.g. 60000, with a heartbeat every 20000).`,
    );
  }
}

/** Check the options of `claim`. @throws QueueError `invalid_argument`. */
export function checkClaimOptions(options: ClaimOptions): void {
  checkAgentId(options.agentId);
  checkLeaseMs(options.leaseMs);
  maxAttemptsOf(options);
  if (!Array.isArray(options.queues) || options.queues.length === 0) {
    throw new QueueError(
      'invalid_argument',
      `Agent \`${options.agentId}\` claimed from no queue: pass at least one queue name in \`queues\`.`,
    );
  }
}

/** The `maxAttempts` of claim options, checked. @throws QueueError `invalid_argument`. */
export function maxAttemptsOf(options: ClaimOptions): number {
  const max = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (!Number.isInteger(max) || max < 1) {
    throw new QueueError(
      'invalid_argument',
      `Invalid \`maxAttempts\` ${String(options.maxAttempts)} for agent \`${options.agentId}\`: use a whole number of at least 1 (default ${DEFAULT_MAX_ATTEMPTS}).`,
    );
  }
  return max;
}

/**
 * True when a claimable item must not be handed out again: its lease ran out and it was already claimed
 * `maxAttempts` times. Finish it with `abandonItem`.
 */
export function isExhausted(item: QueueItem, maxAttempts: number, now: number): boolean {
  return item.state === 'claimed' && isClaimable(item, now) && item.attempts >= maxAttempts;
}

/** Fail an item whose agents lost its lease `attempts` times (see `ClaimOptions.maxAttempts`). */
export function abandonItem(item: QueueItem, now: number): ItemTransition {
  const message =
    `gave up after ${item.attempts} attempts: every agent that claimed it stopped heartbeating ` +
    `(last agent ${item.agentId}, phase ${item.phase}${item.jobName ? `, job ${item.jobName} may still run` : ''}); check the agent logs, then enqueue it again`;
  return apply(item, { ...finished(now), outcome: 'failed', failure: { phase: 'agent', message } }, [
    event(now, {
      type: 'lease_expired',
      agentId: item.agentId,
      phase: item.phase,
      message: `lease of agent ${item.agentId} expired at ${item.leaseExpiresAt} in phase ${item.phase}`,
    }),
    event(now, { type: 'failed', phase: 'agent', message }),
  ]);
}

/** Check an agent id. @throws QueueError `invalid_argument`. */
export function checkAgentId(agentId: unknown): void {
  if (typeof agentId !== 'string' || agentId.trim() === '' || agentId.length > 200) {
    throw new QueueError(
      'invalid_argument',
      'Invalid agent id: `agentId` must be a non-empty string of at most 200 characters (e.g. `host:pid:random`).',
    );
  }
}

/** True when an agent may claim the item now: queued, or claimed under a lease that has run out. */
export function isClaimable(item: QueueItem, now: number): boolean {
  if (item.state === 'queued') return true;
  return item.state === 'claimed' && item.leaseExpiresAt !== undefined && Date.parse(item.leaseExpiresAt) <= now;
}

/**
 * The order in which to look at `queues` for work: the queue served least recently first (never-served queues
 * first, in the given order), so agents rotate across queues instead of draining the first one.
 */
export function queueClaimOrder(queues: readonly string[], lastServed: ReadonlyMap<string, number>): string[] {
  const unique = [...new Set(queues)];
  return unique
    .map((name, index) => ({ name, index, served: lastServed.get(name) ?? -1 }))
    .sort((a, b) => a.served - b.served || a.index - b.index)
    .map((entry) => entry.name);
}

/** Claim a claimable item for `agentId`. A re-claimed item keeps its phase, image and job name. */
export function claimItem(item: QueueItem, agentId: string, leaseMs: number, now: number): ItemTransition {
  if (!isClaimable(item, now)) {
    throw new QueueError(
      'invalid_transition',
      `Queue item \`${item.id}\` is ${item.state} and cannot be claimed now.`,
      {
        itemId: item.id,
        queue: item.queue,
      },
    );
  }
  const events: QueueItemEvent[] = [];
  const attempts = item.attempts + 1;
  if (item.state === 'claimed') {
    events.push(
      event(now, {
        type: 'lease_expired',
        agentId: item.agentId,
        phase: item.phase,
        message: `lease of agent ${item.agentId} expired at ${item.leaseExpiresAt} in phase ${item.phase}`,
      }),
    );
  }
  const phase = item.phase ?? 'claimed';
  const resumed =
    attempts > 1
      ? ` (attempt ${attempts}, resuming at phase ${phase}${item.jobName ? `, job ${item.jobName}` : ''})`
      : '';
  events.push(event(now, { type: 'claimed', agentId, phase, message: `claimed by agent ${agentId}${resumed}` }));
  return apply(
    item,
    { state: 'claimed', phase, agentId, leaseExpiresAt: iso(now + leaseMs), attempts, updatedAt: iso(now) },
    events,
  );
}

/**
 * Fencing: check that `agentId` holds the item's lease now.
 * @throws QueueError `lease_lost` saying why not (finished, requeued, taken over, expired).
 */
export function assertHoldsLease(item: QueueItem, agentId: string, now: number, action: string): void {
  const head = `Agent \`${agentId}\` cannot ${action} queue item \`${item.id}\` (queue \`${item.queue}\`)`;
  let why: string | undefined;
  if (item.state === 'finished') why = `it is already finished (${item.outcome})`;
  else if (item.state === 'queued') why = 'it was given back to the queue; it no longer holds the lease';
  else if (item.agentId !== agentId) {
    why = `agent \`${item.agentId}\` holds it now (attempt ${item.attempts}); this agent lost its lease and must stop working on it`;
  } else if (item.leaseExpiresAt === undefined || Date.parse(item.leaseExpiresAt) <= now) {
    why = `its lease expired at ${item.leaseExpiresAt} (${now - Date.parse(item.leaseExpiresAt ?? iso(now))} ms ago) and another agent may re-claim it; heartbeat more often than the lease length`;
  }
  if (why !== undefined) {
    throw new QueueError('lease_lost', `${head}: ${why}.`, { itemId: item.id, queue: item.queue });
  }
}

/** Extend the lease to `leaseMs` from `now`. Fenced. No event (heartbeats would drown the history). */
export function heartbeatItem(item: QueueItem, agentId: string, leaseMs: number, now: number): ItemTransition {
  checkLeaseMs(leaseMs);
  assertHoldsLease(item, agentId, now, 'heartbeat');
  return apply(item, { leaseExpiresAt: iso(now + leaseMs), updatedAt: iso(now) }, []);
}

function phaseMessage(update: PhaseUpdate): string {
  const parts: string[] = [update.phase];
  if (update.imageUri !== undefined) parts.push(`image ${update.imageUri}`);
  if (update.jobName !== undefined) parts.push(`job ${update.jobName}`);
  if (update.status !== undefined) parts.push(`status ${update.status}`);
  const text = parts.join(', ');
  return update.message === undefined ? text : `${text}: ${update.message}`;
}

/** Persist a phase. Phases never go back. Fenced. */
export function recordPhaseItem(item: QueueItem, agentId: string, update: PhaseUpdate, now: number): ItemTransition {
  assertHoldsLease(item, agentId, now, `record phase ${update.phase} of`);
  const to = LAUNCH_PHASES.indexOf(update.phase);
  if (to < 0) {
    throw new QueueError(
      'invalid_argument',
      `Unknown phase \`${String(update.phase)}\` for queue item \`${item.id}\`; phases: ${LAUNCH_PHASES.join(', ')}.`,
      { itemId: item.id, queue: item.queue },
    );
  }
  const from = item.phase === undefined ? 0 : LAUNCH_PHASES.indexOf(item.phase);
  if (to < from) {
    throw new QueueError(
      'invalid_transition',
      `Queue item \`${item.id}\` is at phase ${item.phase}; it cannot go back to ${update.phase}. Phases only move forward: ${LAUNCH_PHASES.join(' -> ')}.`,
      { itemId: item.id, queue: item.queue },
    );
  }
  return apply(
    item,
    {
      phase: update.phase,
      imageUri: update.imageUri ?? item.imageUri,
      jobName: update.jobName ?? item.jobName,
      status: update.status ?? item.status,
      updatedAt: iso(now),
    },
    [event(now, { type: 'phase', agentId, phase: update.phase, message: phaseMessage(update) })],
  );
}

function finished(now: number) {
  return {
    state: 'finished',
    agentId: undefined,
    leaseExpiresAt: undefined,
    updatedAt: iso(now),
    finishedAt: iso(now),
  };
}

/** The outcome of a job that ended with `status`. */
export function outcomeOfStatus(status: CompletionUpdate['status']): QueueItemOutcome {
  if (status === 'succeeded') return 'succeeded';
  if (status === 'cancelled') return 'cancelled';
  return 'failed';
}

/** Finish with the job's final status. Fenced. */
export function completeItem(item: QueueItem, agentId: string, update: CompletionUpdate, now: number): ItemTransition {
  assertHoldsLease(item, agentId, now, 'complete');
  if (!FINAL_LAUNCH_STATUSES.includes(update.status)) {
    throw new QueueError(
      'invalid_argument',
      `Cannot complete queue item \`${item.id}\` with status \`${String(update.status)}\`: it is not final. Final statuses: ${FINAL_LAUNCH_STATUSES.join(', ')}; keep the item with recordPhase until the job ends.`,
      { itemId: item.id, queue: item.queue },
    );
  }
  const outcome = outcomeOfStatus(update.status);
  const failure =
    outcome === 'failed'
      ? { phase: 'run' as const, message: `job ${update.jobName} ended ${update.status}` }
      : undefined;
  return apply(item, { ...finished(now), outcome, status: update.status, jobName: update.jobName, failure }, [
    event(now, { type: 'completed', agentId, message: `job ${update.jobName} ended ${update.status}` }),
  ]);
}

/** Finish as failed. Fenced. */
export function failItem(item: QueueItem, agentId: string, update: FailureUpdate, now: number): ItemTransition {
  assertHoldsLease(item, agentId, now, 'fail');
  if (!FAILURE_PHASES.includes(update.phase)) {
    throw new QueueError(
      'invalid_argument',
      `Unknown failure phase \`${String(update.phase)}\` for queue item \`${item.id}\`; use one of ${FAILURE_PHASES.join(', ')}.`,
      { itemId: item.id, queue: item.queue },
    );
  }
  return apply(
    item,
    { ...finished(now), outcome: 'failed', failure: { phase: update.phase, message: update.message } },
    [event(now, { type: 'failed', agentId, phase: update.phase, message: update.message })],
  );
}

/** Give the item back to its queue, keeping its phase and job name. Fenced. */
export function requeueItem(item: QueueItem, agentId: string, reason: string, now: number): ItemTransition {
  assertHoldsLease(item, agentId, now, 'requeue');
  return apply(item, { state: 'queued', agentId: undefined, leaseExpiresAt: undefined, updatedAt: iso(now) }, [
    event(now, { type: 'requeued', agentId, phase: item.phase, message: `requeued: ${reason}` }),
  ]);
}

const MAY_HAVE_JOB = new Set(['submitting', 'submitted', 'running']);

/**
 * Ask to cancel. A queued item that cannot have a job yet is cancelled at once; a claimed item (or a queued one
 * that may have a job) gets `cancelRequested` for its agent. Finished items do not change.
 */
export function requestCancelItem(item: QueueItem, now: number): ItemTransition {
  if (item.state === 'finished' || item.cancelRequested) return { item, events: [] };
  const mayHaveJob = item.jobName !== undefined || (item.phase !== undefined && MAY_HAVE_JOB.has(item.phase));
  if (item.state === 'queued' && !mayHaveJob) {
    return apply(item, { ...finished(now), cancelRequested: true, outcome: 'cancelled' }, [
      event(now, { type: 'cancelled', message: 'cancelled before any agent launched it' }),
    ]);
  }
  const message =
    item.state === 'claimed'
      ? `cancel requested; agent ${item.agentId} cancels the job`
      : 'cancel requested; the next agent to claim it cancels its job';
  return apply(item, { cancelRequested: true, updatedAt: iso(now) }, [
    event(now, { type: 'cancel_requested', message }),
  ]);
}

/** Fail an unfinished item because its queue is being deleted (`deleteQueue` with `force`). */
export function failForDeletedQueue(item: QueueItem, now: number): ItemTransition {
  const message = `queue \`${item.queue}\` was deleted while this launch was ${item.state}${
    item.jobName ? `; job ${item.jobName} was not cancelled — cancel it in the console if needed` : ''
  }`;
  return apply(item, { ...finished(now), outcome: 'failed', failure: { phase: 'agent', message } }, [
    event(now, { type: 'failed', phase: 'agent', message }),
  ]);
}

/**
 * Check what an agent reports about itself and copy it into a plain heartbeat (no extra keys).
 * @throws QueueError `invalid_argument` naming the bad field.
 */
export function checkAgentHeartbeat(heartbeat: AgentHeartbeat): AgentHeartbeat {
  checkAgentId(heartbeat?.agentId);
  const bad = (field: string, want: string) =>
    new QueueError(
      'invalid_argument',
      `Invalid agent report of \`${heartbeat.agentId}\`: \`${field}\` must be ${want}.`,
    );
  const { agentId, host, pid, queues, maxJobs, active, state, heartbeatIntervalMs } = heartbeat;
  if (typeof host !== 'string' || host.length > 255) throw bad('host', 'a string of at most 255 characters');
  if (pid !== undefined && (!Number.isInteger(pid) || pid < 0)) throw bad('pid', 'a whole number');
  if (!Array.isArray(queues) || queues.length > 1000 || queues.some((q) => typeof q !== 'string' || q.length > 63)) {
    throw bad('queues', 'a list of queue names');
  }
  if (!Number.isInteger(maxJobs) || (maxJobs < 1 && maxJobs !== -1)) throw bad('maxJobs', 'at least 1, or -1');
  if (!Number.isInteger(active) || active < 0) throw bad('active', 'a whole number of at least 0');
  if (!AGENT_STATES.includes(state)) throw bad('state', `one of ${AGENT_STATES.join(', ')}`);
  if (!Number.isInteger(heartbeatIntervalMs) || heartbeatIntervalMs < 1 || heartbeatIntervalMs > MAX_LEASE_MS) {
    throw bad('heartbeatIntervalMs', `a whole number of milliseconds between 1 and ${MAX_LEASE_MS}`);
  }
  return {
    agentId,
    host,
    ...(pid === undefined ? {} : { pid }),
    queues: [...queues],
    maxJobs,
    active,
    state,
    heartbeatIntervalMs,
  };
}

/** The record a store saves for a checked heartbeat: `startedAt` kept from the previous record, if any. */
export function agentRecord(heartbeat: AgentHeartbeat, previous: AgentRecord | undefined, now: number): AgentRecord {
  return { ...heartbeat, startedAt: previous?.startedAt ?? iso(now), heartbeatAt: iso(now) };
}
