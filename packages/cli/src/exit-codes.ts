import { BuildContextError, isVertexLaunchError } from '@vertex-launch/core';

/** Exit codes of the `vertex-launch` command, documented in `vertex-launch --help`. */
export const ExitCode = {
  /** Success. */
  OK: 0,
  /** The job (or build) ran and failed. */
  JOB_FAILED: 1,
  /** Bad usage, an invalid config or a refused build context: nothing was submitted. */
  USAGE: 2,
  /** Credentials missing or refused, or a permission is missing. */
  AUTH: 3,
  /** A Google API call failed. */
  API: 4,
  /**
   * The job may exist: a create's answer was lost and no lookup of its launch id answered within the lookup window
   * (the message names the filter that finds it). Nothing was created twice.
   */
  SUBMIT_UNKNOWN: 5,
  /** The terminal hung up (SIGHUP) while waiting: 128 + 1. */
  HANGUP: 129,
  /** Interrupted (Ctrl-C, SIGINT): 128 + 2. */
  INTERRUPTED: 130,
  /** Terminated (SIGTERM) while waiting: 128 + 15. */
  TERMINATED: 143,
  /**
   * stdout or stderr was closed before the command finished writing (`... | head -1`): 128 + SIGPIPE (13), as a
   * shell reports for git in the same place. Nothing is printed about it.
   */
  BROKEN_PIPE: 141,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The exit code for an error thrown by a command. Unknown errors are bugs: exit 1 with the stack. */
export function exitCodeFor(error: unknown): ExitCode {
  if (error instanceof UsageError) return ExitCode.USAGE;
  // A build context that cannot be sent (credential files, escaping symlinks): the input must change, nothing ran.
  if (error instanceof BuildContextError) return ExitCode.USAGE;
  if (!isVertexLaunchError(error)) return ExitCode.JOB_FAILED;
  switch (error.code) {
    case 'CONFIG_INVALID':
    case 'CONFIG_FILE':
      return ExitCode.USAGE;
    case 'AUTH':
    case 'PERMISSION':
      return ExitCode.AUTH;
    case 'API':
      return ExitCode.API;
    case 'SUBMIT_UNKNOWN':
      return ExitCode.SUBMIT_UNKNOWN;
    case 'INTERRUPTED':
      return ExitCode.INTERRUPTED;
    default:
      return ExitCode.JOB_FAILED;
  }
}

/** A flag or argument is wrong. The message names the flag and the fix. */
export class UsageError extends Error {
  override name = 'UsageError';
}
