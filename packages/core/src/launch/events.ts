/**
 * The typed progress events of a launch, in the order they happen, and {@link LaunchProgress}: the same events on a
 * typed EventEmitter (one event name per type, plus `event` for all), iterable with `events.on()`. The CLI renders
 * them; SDK users may log them.
 */
import { EventEmitter } from 'node:events';
import type { BuildEvent } from '../build/contract.js';
import type { ConfigIssue } from '../errors.js';
import type { LaunchStatus } from '../job-state.js';
import type { CreateCustomJobRequest } from '../mapping/custom-job.js';
import type { JobErrorInfo } from './runner.js';

/** A progress event of {@link launch}. */
export type LaunchEvent =
  /** The queue config was resolved and mapped, with the image the job will run (a source's content-tagged URI). */
  | {
      type: 'resolved';
      runId: string;
      launchId: string;
      projectId: string;
      region: string;
      imageUri: string | undefined;
      /** The config's warnings (legal, but almost surely a mistake), shown before anything is built or submitted. */
      warnings: readonly ConfigIssue[];
    }
  /** A build started with `builder`, for `imageUri` (the content-addressed tag). */
  | { type: 'build-started'; builder: string; imageUri: string; contextDir: string }
  /** One line of build output. */
  | { type: 'build-log'; line: string }
  /** A build step started, or bytes of the context upload or of the push: the builder's own event. */
  | { type: 'build-progress'; event: Extract<BuildEvent, { type: 'step' | 'upload' | 'push' }> }
  /** The image was built and pushed. */
  | { type: 'build-pushed'; imageUri: string; digest: string }
  /** The build was skipped: the content-addressed tag already exists. */
  | { type: 'build-skipped'; imageUri: string; reason: string }
  /** A create's answer was lost: the runner looks the launch id up until `until` before any second create. */
  | { type: 'submit-unknown'; launchId: string; filter: string; reason: string; until: Date }
  /** The job was created (or found: `existing`, an earlier attempt of this launch had created it). */
  | {
      type: 'submitted';
      jobName: string;
      consoleUrl: string;
      existing: boolean;
      request: CreateCustomJobRequest;
    }
  /** The job's state changed. `elapsedMs` counts from the submit. */
  | {
      type: 'state-changed';
      jobName: string;
      state: string;
      status: LaunchStatus;
      previousState: string | undefined;
      elapsedMs: number;
    }
  /** The job ended. */
  | {
      type: 'finished';
      jobName: string;
      state: string;
      status: LaunchStatus;
      error: JobErrorInfo | undefined;
      elapsedMs: number;
    };

/** The type names of {@link LaunchEvent}. */
export type LaunchEventType = LaunchEvent['type'];

/** The listener arguments of {@link LaunchProgress}: one event name per {@link LaunchEventType}, and `event`. */
export type LaunchEventMap = { [K in LaunchEventType]: [Extract<LaunchEvent, { type: K }>] } & { event: [LaunchEvent] };

/**
 * Launch progress as a typed EventEmitter. Pass `progress.onEvent` as `launch({ onEvent })`; listen per type, or
 * iterate every event:
 *
 * ```ts
 * const progress = new LaunchProgress();
 * progress.on('build-log', ({ line }) => console.log(line));
 * const handle = await launch({ ...options, onEvent: progress.onEvent });
 * // or: for await (const [event] of on(progress, 'event', { signal })) ...   (on from node:events)
 * ```
 */
export class LaunchProgress extends EventEmitter<LaunchEventMap> {
  /** Emits `event` under its type and as `event`; bound, so it can be passed around. */
  readonly onEvent = (event: LaunchEvent): void => {
    const emit = this.emit.bind(this) as (name: string, value: LaunchEvent) => boolean;
    emit(event.type, event);
    emit('event', event);
  };
}
