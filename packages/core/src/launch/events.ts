/** The typed progress events of a launch, in the order they happen. The CLI renders them; SDK users may log them. */
import type { LaunchStatus } from '../job-state.js';
import type { CreateCustomJobRequest } from '../mapping/custom-job.js';
import type { JobErrorInfo } from './runner.js';

/** A progress event of {@link launch}. */
export type LaunchEvent =
  /** The queue config was resolved and mapped; `imageUri` is unknown until the image is built. */
  | { type: 'resolved'; runId: string; launchId: string; project: string; region: string; imageUri: string | undefined }
  /** A build started with `builder`, for `imageUri` (the content-addressed tag). */
  | { type: 'build-started'; builder: string; imageUri: string; contextDir: string }
  /** One line of build output. */
  | { type: 'build-log'; line: string }
  /** The image was built and pushed. */
  | { type: 'build-pushed'; imageUri: string; digest: string }
  /** The build was skipped: the content-addressed tag already exists. */
  | { type: 'build-skipped'; imageUri: string; reason: string }
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
