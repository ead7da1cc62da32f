/**
 * The item state machine every queue store shares: pure functions from (item, input, now) to the next item and the
 * events to append. A store loads the item inside a transaction, applies one of these and saves the result, so all
 * stores enforce the same leases, fencing and phase rules.
 */

import { FAILURE_CLASSES } from '../failure.js';
import { QueueError } from './errors.js';
import {
  type AdmissionLimit,
  type AdmitRequest,
  type AdmitResult,
  AGENT_STATES,
  type AgentHeartbeat,
  type AgentRecord,
  type ClaimOptions,
  type CompletionUpdate,
  DEFAULT_MAX_ATTEMPTS,
  FAILURE_PHASES,
  type FailureClassUpdate,
  type FailureUpdate,
  FINAL_LAUNCH_STATUSES,
  LAUNCH_PHASES,
  type LaunchRequest,
  type PhaseUpdate,
  type QueueItem,
  type QueueItemEvent,
  type QueueItemFailure,
  type QueueItemOutcome,
  type RequeueOptions,
  type RetryUpdate,
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
    retries: 0,
    rung: 0,
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
  if (item.state === 'queued') return item.notBefore === undefined || Date.parse(item.notBefore) <= now;
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
    {
      state: 'claimed',
      phase,
      agentId,
      leaseExpiresAt: iso(now + leaseMs),
      attempts,
      notBefore: undefined,
      updatedAt: iso(now),
    },
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
  const classified = update.failure === undefined ? undefined : checkFailureClass(item, update.failure);
  const ended = `job ${update.jobName} ended ${update.status}${classified ? ` (${classified.class})` : ''}`;
  const failure: QueueItemFailure | undefined =
    outcome === 'failed'
      ? {
          phase: 'run',
          message: classified?.summary ? `${ended}: ${classified.summary}` : ended,
          ...failureFields(classified),
        }
      : undefined;
  return apply(item, { ...finished(now), outcome, status: update.status, jobName: update.jobName, failure }, [
    event(now, { type: 'completed', agentId, message: ended }),
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
  const classified =
    update.class === undefined
      ? undefined
      : checkFailureClass(item, {
          class: update.class,
          ...(update.exitCode === undefined ? {} : { exitCode: update.exitCode }),
          ...(update.fix === undefined ? {} : { fix: update.fix }),
        });
  return apply(
    item,
    {
      ...finished(now),
      outcome: 'failed',
      failure: { phase: update.phase, message: update.message, ...failureFields(classified) },
    },
    [event(now, { type: 'failed', agentId, phase: update.phase, message: update.message })],
  );
}

const MAX_FIX_LENGTH = 1_000;
const MAX_SUMMARY_LENGTH = 2_000;

/** Check a failure class update. @throws QueueError `invalid_argument`. */
function checkFailureClass(item: QueueItem, update: FailureClassUpdate): FailureClassUpdate {
  const bad = (what: string) =>
    new QueueError('invalid_argument', `Invalid failure of queue item \`${item.id}\`: ${what}.`, {
      itemId: item.id,
      queue: item.queue,
    });
  if (!(FAILURE_CLASSES as readonly string[]).includes(update.class)) {
    throw bad(`\`class\` must be one of ${FAILURE_CLASSES.join(', ')}, not \`${String(update.class)}\``);
  }
  if (update.exitCode !== undefined && !Number.isInteger(update.exitCode))
    throw bad('`exitCode` must be a whole number');
  if (update.fix !== undefined && typeof update.fix !== 'string') throw bad('`fix` must be a string');
  if (update.summary !== undefined && typeof update.summary !== 'string') throw bad('`summary` must be a string');
  return {
    class: update.class,
    ...(update.exitCode === undefined ? {} : { exitCode: update.exitCode }),
    ...(update.fix === undefined ? {} : { fix: update.fix.slice(0, MAX_FIX_LENGTH) }),
    ...(update.summary === undefined ? {} : { summary: update.summary.slice(0, MAX_SUMMARY_LENGTH) }),
  };
}

function failureFields(classified: FailureClassUpdate | undefined): Partial<QueueItemFailure> {
  if (classified === undefined) return {};
  return {
    class: classified.class,
    ...(classified.exitCode === undefined ? {} : { exitCode: classified.exitCode }),
    ...(classified.fix === undefined ? {} : { fix: classified.fix }),
  };
}

/** Check a delay (`requeue`, `retry`). @throws QueueError `invalid_argument`. */
export function checkDelayMs(delayMs: unknown, what: string): number {
  if (delayMs === undefined) return 0;
  if (typeof delayMs !== 'number' || !Number.isInteger(delayMs) || delayMs < 0 || delayMs > MAX_LEASE_MS) {
    throw new QueueError(
      'invalid_argument',
      `Invalid ${what} delay ${String(delayMs)}: \`delayMs\` must be a whole number of milliseconds between 0 and ${MAX_LEASE_MS}.`,
    );
  }
  return delayMs;
}

/**
 * Give the item back to its queue, keeping its phase and job name; with `delayMs` it is not claimed before then. A
 * deferral (`deferred`) does not count the claim as an attempt. Fenced.
 */
export function requeueItem(
  item: QueueItem,
  agentId: string,
  reason: string,
  now: number,
  options: RequeueOptions = {},
): ItemTransition {
  assertHoldsLease(item, agentId, now, 'requeue');
  const delayMs = checkDelayMs(options.delayMs, 'requeue');
  const deferred = options.deferred === true;
  return apply(
    item,
    {
      state: 'queued',
      agentId: undefined,
      leaseExpiresAt: undefined,
      notBefore: delayMs > 0 ? iso(now + delayMs) : undefined,
      attempts: deferred ? Math.max(0, item.attempts - 1) : item.attempts,
      updatedAt: iso(now),
    },
    [
      event(now, {
        type: deferred ? 'deferred' : 'requeued',
        agentId,
        phase: item.phase,
        message: `${deferred ? 'deferred' : 'requeued'}: ${reason}`,
      }),
    ],
  );
}

/** The longest retry backoff a store accepts: a day. */
export const MAX_RETRY_DELAY_MS = MAX_LEASE_MS;

/**
 * Resubmit the launch as a new attempt: back to `queued` with `retries + 1`, the given rung and backoff, no phase
 * and no job name (the ended job is named in the `retried` event), the image kept. Fenced.
 */
export function retryItem(item: QueueItem, agentId: string, update: RetryUpdate, now: number): ItemTransition {
  assertHoldsLease(item, agentId, now, 'retry');
  const delayMs = checkDelayMs(update.delayMs, 'retry');
  const classified = checkFailureClass(item, update.failure);
  if (!Number.isInteger(update.rung) || update.rung < 0 || update.rung > 100) {
    throw new QueueError(
      'invalid_argument',
      `Invalid rung ${String(update.rung)} for queue item \`${item.id}\`: a whole number from 0 (the queue config) to 100.`,
      { itemId: item.id, queue: item.queue },
    );
  }
  const message =
    typeof update.message === 'string' && update.message.trim() !== ''
      ? update.message.slice(0, MAX_SUMMARY_LENGTH)
      : `${update.jobName ? `job ${update.jobName}` : 'the launch'} ended ${update.status} (${classified.class}); attempt ${item.retries + 2}`;
  return apply(
    item,
    {
      state: 'queued',
      phase: undefined,
      jobName: undefined,
      status: undefined,
      agentId: undefined,
      leaseExpiresAt: undefined,
      attempts: 0,
      retries: item.retries + 1,
      rung: update.rung,
      notBefore: delayMs > 0 ? iso(now + delayMs) : undefined,
      updatedAt: iso(now),
    },
    [event(now, { type: 'retried', agentId, phase: item.phase, message })],
  );
}

const DAY_MS = 86_400_000;

function round(value: number): string {
  return String(Math.round(value * 100) / 100);
}

/** What `admitItem` decided: the admitted item, or the refusal (the item unchanged). */
export type AdmitTransition =
  | { admitted: true; transition: ItemTransition }
  | Extract<AdmitResult, { admitted: false }>;

/** Check an admission request. @throws QueueError `invalid_argument`. */
export function checkAdmitRequest(item: QueueItem, request: AdmitRequest): void {
  const bad = (what: string) =>
    new QueueError('invalid_argument', `Invalid admission of queue item \`${item.id}\`: ${what}.`, {
      itemId: item.id,
      queue: item.queue,
    });
  const nonNegative = (value: unknown) => typeof value === 'number' && Number.isFinite(value) && value >= 0;
  if (!nonNegative(request?.accelerators) || !Number.isInteger(request.accelerators)) {
    throw bad('`accelerators` must be a whole number of at least 0');
  }
  if (!nonNegative(request.acceleratorHours)) throw bad('`acceleratorHours` must be a number of at least 0');
  const limits = request.limits ?? {};
  for (const key of ['maxConcurrent', 'maxAccelerators', 'dailyAcceleratorHours'] as const) {
    if (limits[key] !== undefined && !nonNegative(limits[key])) throw bad(`\`limits.${key}\` must be at least 0`);
  }
}

/**
 * Admit a claimed item under its queue's limits, given the other items of its queue (`peers`: at least every
 * claimed item with an admission and every item admitted within the last day; the item itself is ignored).
 * Fenced.
 */
export function admitItem(
  item: QueueItem,
  agentId: string,
  peers: readonly QueueItem[],
  request: AdmitRequest,
  now: number,
): AdmitTransition {
  assertHoldsLease(item, agentId, now, 'admit');
  checkAdmitRequest(item, request);
  const others = peers.filter((peer) => peer.id !== item.id && peer.queue === item.queue && peer.admission);
  const inFlight = others.filter((peer) => peer.state === 'claimed');
  const since = now - DAY_MS;
  const recent = (at: string) => Date.parse(at) >= since;
  const { maxConcurrent, maxAccelerators, dailyAcceleratorHours } = request.limits ?? {};
  const refuse = (limit: AdmissionLimit, reason: string, never: boolean) =>
    ({ admitted: false, item, limit, reason, never }) as const;
  if (maxConcurrent !== undefined && inFlight.length + 1 > maxConcurrent) {
    return refuse(
      'max_concurrent',
      `${inFlight.length} launch${inFlight.length === 1 ? '' : 'es'} of queue \`${item.queue}\` in flight, the limit is ${maxConcurrent}`,
      maxConcurrent < 1,
    );
  }
  const held = inFlight.reduce((sum, peer) => sum + (peer.admission?.accelerators ?? 0), 0);
  if (maxAccelerators !== undefined && held + request.accelerators > maxAccelerators) {
    return refuse(
      'max_accelerators',
      `${held} accelerator${held === 1 ? '' : 's'} in flight + ${request.accelerators} for this launch would exceed the limit of ${maxAccelerators}`,
      request.accelerators > maxAccelerators,
    );
  }
  const spent = others
    .filter((peer) => recent(peer.admission?.at ?? ''))
    .reduce((sum, peer) => sum + (peer.admission?.acceleratorHours ?? 0), 0);
  const own =
    (item.admission && recent(item.admission.at) ? item.admission.acceleratorHours : 0) + request.acceleratorHours;
  if (dailyAcceleratorHours !== undefined && spent + own > dailyAcceleratorHours) {
    return refuse(
      'daily_accelerator_hours',
      `${round(spent + own - request.acceleratorHours)} accelerator-hours admitted in the last 24 hours + at most ${round(request.acceleratorHours)} for this launch would exceed the budget of ${dailyAcceleratorHours}`,
      request.acceleratorHours > dailyAcceleratorHours,
    );
  }
  const figures = [
    `${request.accelerators} accelerator${request.accelerators === 1 ? '' : 's'}`,
    `at most ${round(request.acceleratorHours)} accelerator-hours`,
  ];
  if (maxConcurrent !== undefined) figures.push(`${inFlight.length + 1} of ${maxConcurrent} launches in flight`);
  if (maxAccelerators !== undefined)
    figures.push(`${held + request.accelerators} of ${maxAccelerators} accelerators in flight`);
  if (dailyAcceleratorHours !== undefined) {
    figures.push(`${round(spent + own)} of ${dailyAcceleratorHours} accelerator-hours today`);
  }
  return {
    admitted: true,
    transition: apply(
      item,
      {
        admission: { at: iso(now), accelerators: request.accelerators, acceleratorHours: own },
        updatedAt: iso(now),
      },
      [event(now, { type: 'admitted', agentId, phase: item.phase, message: `admitted: ${figures.join(', ')}` })],
    ),
  };
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
