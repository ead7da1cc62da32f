/**
 * The agent's phase handlers: one small function per phase of a launch. Each takes the launch's worker and returns
 * the phase to go on with, a {@link Failure} (the worker fails the item with it), or `finished`.
 *
 * ```
 * claimed -> [building ->] built -> submitting -> submitted -> running -> ended
 * ```
 *
 * Where the work on later issues plugs in: failure classes, preemption-aware requeue and capacity fallback (issue 20)
 * are outcomes of `ended`; an ambiguous create that stays "submit unknown" (issues 24 and 25) and a transient API
 * failure before a job exists that gives the item back with backoff (issue 24) are answers of `submitFailed`.
 */
import { resolveImage } from '../build/resolve-image.js';
import { applyRungToOverrides, crossRegionImageNote } from '../config/fallback.js';
import { ConfigError, isVertexLaunchError, type SubmitUnknownError } from '../errors.js';
import { type Failure as ClassifiedFailure, classifyFailure } from '../failure.js';
import { grpcCodeOf, isResourceQuotaRefusal } from '../grpc-code.js';
import type { LaunchStatus } from '../job-state.js';
import { planLaunch } from '../launch/pipeline.js';
import type { JobRunner, JobSnapshot, SubmitUnknownEvent } from '../launch/runner.js';
import { type FailureUpdate, type FinalLaunchStatus, LAUNCH_PHASES, type LaunchPhase } from '../queue/store.js';
import type { AgentOptions } from './agent.js';
import { admit, nextAttempt } from './capacity.js';
import { JobGone } from './follow.js';
import { isTransientApiError } from './outage.js';
import { formatMs, type LaunchWorker, message, Stopped } from './worker.js';

/** The phases that have a handler: the persisted launch phases, and `ended` (the job reached a final state). */
export type HandlerPhase = LaunchPhase | 'ended';

/** A handler's answer that the launch failed (with its failure class, when one applies). */
export interface Failure {
  readonly fail: FailureUpdate;
  readonly classified?: ClassifiedFailure;
}

/**
 * A handler's answer that a call failed with a transient API error before a job exists: the worker gives the item
 * back to its queue after a backoff (its phase kept), or fails it with `phase` once it used up its attempts.
 */
export interface Release {
  readonly release: { readonly phase: FailureUpdate['phase']; readonly what: string; readonly error: unknown };
}

/** What a handler returns: the phase to go on with, a failure, a release, or `finished` (the item is done). */
export type Next = HandlerPhase | Failure | Release | 'finished';

/** A {@link Failure} of `phase` saying `message`. */
export const failure = (phase: FailureUpdate['phase'], text: string): Failure => ({ fail: { phase, message: text } });

/**
 * A {@link Release} when `error` is a transient API failure (see `isTransientApiError`), counted in the agent's
 * outage log; undefined when it is not transient.
 */
function releaseOn(
  w: LaunchWorker,
  error: unknown,
  release: { phase: FailureUpdate['phase']; what: string; jobMayExist: boolean },
): Release | undefined {
  if (!isTransientApiError(error, { jobMayExist: release.jobMayExist })) return undefined;
  w.ctx.outage.failed(error, release.what);
  return { release: { phase: release.phase, what: release.what, error } };
}

const NOT_STARTED = new Set<LaunchStatus>(['queued', 'pending', 'unknown']);
const phaseIndex = (phase: LaunchPhase | undefined) => (phase === undefined ? 0 : LAUNCH_PHASES.indexOf(phase));

/** The image the launch runs: built, or named at enqueue. */
const imageOf = (w: LaunchWorker) => w.item.imageUri ?? w.item.request.image;

/** A launch cancelled before its job was submitted fails with this. */
function cancelledBeforeSubmit(w: LaunchWorker): Failure | undefined {
  return w.cancelRequested ? failure('agent', 'cancelled on request before a job was submitted') : undefined;
}

/** Nothing done yet: build the image when the launch names a source, else go on with the image it names. */
async function claimed(w: LaunchWorker): Promise<Next> {
  const cancelled = cancelledBeforeSubmit(w);
  if (cancelled) return cancelled;
  return imageOf(w) === undefined && w.item.request.source !== undefined ? 'building' : 'built';
}

/**
 * Builds and pushes the image of a source directory under its content tag (skipped when the registry has that tag).
 * Switching to core's `resolveImage()` changes only the `buildFromSource` line.
 */
async function building(w: LaunchWorker): Promise<Next> {
  const source = w.item.request.source as string;
  const { options, log } = w.ctx;
  if (!options.builder || !options.imageRepository) {
    return failure(
      'build',
      `launch ${w.item.id} needs an image built from ${source}, but this agent has no builder: set \`builder: { type: docker }\` and \`registry: { uri: <repo> }\` in its launch-config.yaml, or enqueue with --image`,
    );
  }
  await w.record({ phase: 'building', message: `building ${source}` });
  log.info(w.fields({ source }), `building ${source}`);
  try {
    const { imageUri, skipped } = await buildFromSource(options, source, w.controller.signal);
    w.ctx.outage.answered();
    w.checkStop();
    await w.record({ phase: 'built', imageUri, message: skipped ? 'content tag exists; build skipped' : 'pushed' });
    return 'built';
  } catch (error) {
    if (error instanceof Stopped || w.controller.signal.aborted) throw new Stopped();
    const what = `building ${source}`;
    return (
      releaseOn(w, error, { phase: 'build', what, jobMayExist: false }) ??
      failure('build', `${what} failed: ${message(error)}`)
    );
  }
}

/** Resolves `source` to its content-tagged image (core's resolveImage: scanned once, built and pushed unless the registry has it). */
async function buildFromSource(
  options: AgentOptions,
  source: string,
  signal: AbortSignal,
): Promise<{ imageUri: string; skipped: boolean }> {
  const { imageUri, built } = await resolveImage({
    contextDir: source,
    image: options.imageRepository as string,
    builder: options.builder as NonNullable<AgentOptions['builder']>,
    ...(options.registry ? { registry: options.registry } : {}),
    signal,
    ...(options.builderCredentials ? { credentials: options.builderCredentials } : {}),
  });
  if (signal.aborted) throw new Stopped();
  return { imageUri, skipped: !built };
}

/** The image is known: submit, unless the launch was cancelled meanwhile. */
async function built(w: LaunchWorker): Promise<Next> {
  return cancelledBeforeSubmit(w) ?? 'submitting';
}

/**
 * Creates the job: maps the queue config, persists `submitting`, then calls the runner. Claimed at `submitting` (the
 * last agent died between the create call and persisting the job name, or the create's answer was lost), the
 * runner first looks the job up by launch id — until its lookup window from that create has passed — and creates
 * only once the first is proven absent. A create whose outcome stays unknown keeps the launch at `submitting`,
 * status `unknown` ("submit unknown"), and is looked up again: never failed, never created twice.
 */
async function submitting(w: LaunchWorker): Promise<Next> {
  const plan = planFor(w);
  if ('fail' in plan) return plan;
  w.checkStop();
  const image = imageOf(w);
  const unknownSince = w.lookUpFirst ? (w.unknownSince ?? submittingSince(w)) : undefined;
  w.lookUpFirst = false;
  if (unknownSince === undefined) {
    // Before the first create of this attempt: the queue's limits (jobs, accelerators in flight, daily budget).
    const admission = await admit(w, plan.request);
    if (admission === 'deferred') return 'finished';
    if (admission !== 'admitted') return admission;
    w.checkStop();
    await w.record({ phase: 'submitting', ...(image === undefined ? {} : { imageUri: image }) });
  }
  w.inFlight = true;
  let result: Awaited<ReturnType<JobRunner['submit']>>;
  try {
    result = await w.runner.submit(plan.request, {
      launchId: w.item.launchId,
      attempt: w.item.retries + 1,
      ...(plan.createRequestTimeoutMs ? { timeoutMs: plan.createRequestTimeoutMs } : {}),
      ...(unknownSince === undefined ? {} : { unknownSince }),
      onUnknown: (event) => submitUnknown(w, event),
    });
  } catch (error) {
    if (isSubmitUnknown(error)) return mayExist(w, error, unknownSince);
    w.inFlight = false;
    return await submitFailed(w, error);
  }
  w.ctx.outage.answered();
  await w.record({
    phase: 'submitted',
    jobName: result.jobName,
    status: result.job.status,
    ...(result.existing ? { message: 'found by launch id' } : {}),
  });
  w.inFlight = false;
  w.ctx.log.info(
    w.fields({ jobName: result.jobName, existing: result.existing, consoleUrl: result.job.consoleUrl }),
    unknownSince !== undefined && result.existing
      ? `re-attached to ${result.jobName} (found by launch id)`
      : `submitted ${result.jobName}`,
  );
  w.job = result.job;
  return 'submitted';
}

/** When the create an earlier attempt may have sent went out: the item's last `submitting` event. */
function submittingSince(w: LaunchWorker): Date {
  const event = w.item.events.findLast((e) => e.type === 'phase' && e.phase === 'submitting');
  return new Date(event?.at ?? w.item.updatedAt);
}

/** The runner says the create's answer was lost and looks the launch id up: the launch is "submit unknown". */
async function submitUnknown(w: LaunchWorker, event: SubmitUnknownEvent): Promise<void> {
  const text = `submit unknown: the create's answer was lost (${event.reason}); looking up ${event.filter} until ${event.until.toISOString()} before any second create`;
  w.ctx.log.warn(w.fields({ event: 'submit_unknown', filter: event.filter, until: event.until.toISOString() }), text);
  await w.record({ phase: 'submitting', status: 'unknown', message: text });
}

/**
 * No lookup answered within the runner's window: the job may exist. Said once (log line and item event); the launch
 * stays "submit unknown" and is looked up again a poll interval later, until the API answers.
 */
async function mayExist(w: LaunchWorker, error: SubmitUnknownError, since: Date | undefined): Promise<Next> {
  if (w.unknownSince === undefined) {
    const text = `may exist: ${error.filter} (${error.hint ?? error.message}); still looking it up`;
    w.ctx.log.warn(w.fields({ event: 'may_exist', filter: error.filter, error: message(error) }), text);
    await w.record({ phase: 'submitting', status: 'unknown', message: text });
  }
  w.unknownSince = since ?? submittingSince(w);
  w.lookUpFirst = true;
  await w.wake.wait(Math.max(w.ctx.pollMs, 1_000));
  w.checkStop();
  return 'submitting';
}

const isSubmitUnknown = (error: unknown): error is SubmitUnknownError =>
  isVertexLaunchError(error) && error.code === 'SUBMIT_UNKNOWN';

/**
 * What a create call that failed (after the runner's own retries and lookups) means for the launch. A transient
 * failure gives the item back (phase `submitting` kept: the next claim looks the job up by launch id before it
 * creates one, so a create that did go through is found, not repeated).
 */
async function submitFailed(w: LaunchWorker, error: unknown): Promise<Next> {
  const release = releaseOn(w, error, { phase: 'run', what: 'creating the job', jobMayExist: true });
  if (release) return release;
  const hint = isVertexLaunchError(error) && error.hint ? ` (${error.hint})` : '';
  const text = `could not submit the job: ${message(error)}${hint}`;
  // A create refused for want of capacity (GPU quota, no resources) moves down the fallback list like a failed job.
  const classified = refusedForCapacity(error, w.target.region);
  if (classified === undefined) return failure('run', text);
  const next = nextAttempt(w, classified, { status: 'failed' });
  if (next !== undefined) {
    await w.resubmit(next);
    return 'finished';
  }
  return { fail: { phase: 'run', message: text }, classified };
}

/** The failure class of a create refused for want of capacity (`quota`, `stockout`), else undefined. */
function refusedForCapacity(error: unknown, region: string) {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth++) {
    if (isResourceQuotaRefusal(current) || /resources? (?:are|is) insufficient/i.test(message(current))) {
      const classified = classifyFailure({
        status: 'failed',
        error: { code: grpcCodeOf(current), message: message(current) },
        region,
      });
      return classified?.class === 'quota' || classified?.class === 'stockout' ? classified : undefined;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Where an agent's `${env:NAME}` allowlist is set, named in refusals. */
const AGENT_ALLOWED_ENV_FROM = "`allowed_env` of the agent's launch-config.yaml (`allowedEnv` of createAgent)";

/** The launch's CustomJob request, or why the queue config does not resolve for it. */
function planFor(w: LaunchWorker): ReturnType<typeof planLaunch> | Failure {
  const { item, queue, target } = w;
  const image = imageOf(w);
  if (item.rung > 0 && image !== undefined && !w.noted) {
    w.noted = true;
    const note = crossRegionImageNote(image, target.region);
    if (note !== undefined) w.ctx.log.warn(w.fields({ event: 'cross_region_image', rung: item.rung }), note);
  }
  try {
    return planLaunch({
      config: w.config,
      ...(item.request.variables ? { variables: item.request.variables } : {}),
      overrides: applyRungToOverrides(item.request.overrides, queue.config, item.rung),
      env: w.ctx.env,
      allowedEnv: w.ctx.options.allowedEnv ?? [],
      allowedEnvFrom: AGENT_ALLOWED_ENV_FROM,
      projectId: target.project,
      region: target.region,
      runId: item.runId,
      launchId: item.launchId,
      queueName: queue.name,
      ...(image === undefined ? {} : { image }),
    });
  } catch (error) {
    const issues = error instanceof ConfigError && error.issues.length > 0 ? error.issues : undefined;
    const detail = issues ? issues.map((i) => `${i.path || '(top level)'}: ${i.message}`).join('; ') : message(error);
    return failure(
      'agent',
      `queue \`${queue.name}\` config does not resolve for this launch: ${detail}. Fix it with \`vertex-launch queue update ${queue.name} --queue-config FILE\`, then enqueue again`,
    );
  }
}

/** The job exists but has not started: follow it until it runs or ends; cancel it when it waits too long. */
async function submitted(w: LaunchWorker): Promise<Next> {
  for (;;) {
    const job = await observe(w);
    if ('fail' in job) return job;
    if (job.terminal) return 'ended';
    if (job.status === 'running') return 'running';
    await checkStartTimeout(w, job);
  }
}

/**
 * Between two looks at a running job the runner watches, when nothing is due: its changes, cancel requests,
 * duplicates and stops wake the launch at once, so the wait is only a safety net. Longer than a poll, so 1,000
 * running launches do not each set up a timer every poll interval.
 */
const WATCHED_RUNNING_WAIT_MS = 60_000;

/** The job runs: follow it until it ends. */
async function running(w: LaunchWorker): Promise<Next> {
  for (;;) {
    // A cancel not yet sent (refused, tried again) is retried at the next look: poll for it.
    const job = await observe(w, w.cancelRequested || w.timedOut !== undefined ? undefined : WATCHED_RUNNING_WAIT_MS);
    if ('fail' in job) return job;
    if (job.terminal) return 'ended';
  }
}

/** The job reached a final state: finish the item with it (failed, when it was cancelled for not starting). */
async function ended(w: LaunchWorker): Promise<Next> {
  if (w.timedOut !== undefined) return failure('run', w.timedOut);
  const job = w.job as JobSnapshot;
  const classified = await w.classifyEnded(job);
  if (classified !== undefined && job.status !== 'cancelled') {
    const next = nextAttempt(w, classified, { jobName: job.name, status: job.status as FinalLaunchStatus });
    if (next !== undefined) {
      await w.resubmit(next);
      return 'finished';
    }
  }
  await w.complete(job, classified);
  return 'finished';
}

/** The job's next snapshot: persists a status change and sends a cancel that is due. */
async function observe(w: LaunchWorker, watchedWaitMs?: number): Promise<JobSnapshot | Failure> {
  w.checkStop();
  let job: JobSnapshot;
  try {
    job = await w.feed().next(Math.max(watchedWaitMs ?? 0, w.ctx.pollMs));
  } catch (error) {
    if (!(error instanceof JobGone)) throw error;
    return failure('run', `job ${error.jobName} no longer exists (${message(error.cause)}); enqueue the launch again`);
  }
  w.ctx.outage.answered();
  w.job = job;
  if (job.terminal) return job;
  if (job.status !== w.lastRecorded) {
    w.lastRecorded = job.status;
    const current = w.item.phase ?? 'submitted';
    const phase = job.status === 'running' && phaseIndex(current) < phaseIndex('running') ? 'running' : current;
    await w.record({ phase, jobName: job.name, status: job.status });
    w.ctx.log.info(w.fields({ jobName: job.name, state: job.state }), `${job.name} is ${stateName(job)}`);
  }
  await sendCancel(w);
  await cancelDuplicates(w, job);
  return job;
}

/**
 * Cancels the other live jobs with this launch's id the tracker saw (a launch makes one job; the item follows the
 * first one created, which the runner's lookups return), and says so: a log line and an item event per job.
 */
async function cancelDuplicates(w: LaunchWorker, job: JobSnapshot): Promise<void> {
  for (const duplicate of w.feed().takeDuplicates()) {
    const newer = (duplicate.createTime?.getTime() ?? 0) >= (job.createTime?.getTime() ?? 0);
    const fields = w.fields({ event: 'duplicate_job', jobName: job.name, duplicate: duplicate.name });
    if (!newer) {
      w.ctx.log.warn(
        fields,
        `duplicate job ${duplicate.name} of launch ${w.item.launchId} is older than ${job.name}, which this launch follows; not cancelled`,
      );
      continue;
    }
    let outcome = 'cancelled it';
    try {
      await w.runner.cancel(duplicate.name, { wait: false });
    } catch (error) {
      outcome = `could not cancel it (${message(error)})`;
    }
    const text = `duplicate job ${duplicate.name} of launch ${w.item.launchId} (newer than ${job.name}, which this launch follows): ${outcome}`;
    w.ctx.log.warn(fields, text);
    await w.record({ phase: w.item.phase ?? 'submitted', message: text });
  }
}

const stateName = (job: JobSnapshot) => job.state.replace(/^JOB_STATE_/, '');

/** Cancels a job still QUEUED or PENDING `startTimeoutMs` after its creation. */
async function checkStartTimeout(w: LaunchWorker, job: JobSnapshot): Promise<void> {
  const { startTimeoutMs, clock, log } = w.ctx;
  if (w.timedOut !== undefined || !NOT_STARTED.has(job.status) || !job.createTime) return;
  const waited = clock.now() - job.createTime.getTime();
  if (waited < startTimeoutMs) return;
  w.timedOut = `job ${job.name} did not start within the start timeout of ${formatMs(startTimeoutMs)} (still ${stateName(job)}); it was cancelled. Raise \`start_timeout\` in launch-config.yaml or check the region's quota for the machine type`;
  log.warn(
    w.fields({ event: 'start_timeout', jobName: job.name, state: job.state, waitedMs: waited }),
    `start timeout: cancelling ${job.name}`,
  );
  await sendCancel(w);
}

/** Asks the runner to cancel when a cancel is due; a refusal is logged and tried again at the next snapshot. */
async function sendCancel(w: LaunchWorker): Promise<void> {
  if ((!w.cancelRequested && w.timedOut === undefined) || w.cancelSent) return;
  const jobName = w.item.jobName as string;
  if (w.timedOut === undefined) {
    w.ctx.log.info(w.fields({ event: 'cancel', jobName }), `cancel requested: cancelling ${jobName}`);
  }
  try {
    await w.runner.cancel(jobName, { wait: false });
    w.cancelSent = true;
  } catch (error) {
    w.ctx.log.warn(w.fields({ jobName, error: message(error) }), `could not cancel ${jobName}; will retry`);
  }
}

/** Every handler, by phase. */
export const PHASE_HANDLERS: Readonly<Record<HandlerPhase, (w: LaunchWorker) => Promise<Next>>> = {
  claimed,
  building,
  built,
  submitting,
  submitted,
  running,
  ended,
};
