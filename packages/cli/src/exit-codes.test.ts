import {
  ApiError,
  AuthError,
  BuildContextError,
  BuildError,
  ConfigError,
  InternalError,
  PermissionError,
} from '@vertex-launch/core';
import { describe, expect, it } from 'vitest';
import { ExitCode, exitCodeFor, UsageError } from './exit-codes.js';

describe('exitCodeFor', () => {
  it('maps each kind of error to the documented exit code', () => {
    expect(exitCodeFor(new UsageError('--max-jobs must be a whole number'))).toBe(ExitCode.USAGE);
    expect(exitCodeFor(new ConfigError('bad config'))).toBe(ExitCode.USAGE);
    // Refused before anything was sent: the input must change, like a bad config.
    expect(exitCodeFor(new BuildContextError('Refusing to build: .env (environment file)'))).toBe(ExitCode.USAGE);
    expect(exitCodeFor(new BuildError('docker', 'step 3 exited with 1'))).toBe(ExitCode.JOB_FAILED);
    expect(exitCodeFor(new AuthError('no credentials'))).toBe(ExitCode.AUTH);
    expect(exitCodeFor(new PermissionError('missing aiplatform.customJobs.create'))).toBe(ExitCode.AUTH);
    expect(exitCodeFor(new ApiError('aiplatform', 'UNAVAILABLE'))).toBe(ExitCode.API);
    expect(exitCodeFor(new InternalError('bug'))).toBe(ExitCode.JOB_FAILED);
    expect(exitCodeFor(new TypeError('not ours'))).toBe(ExitCode.JOB_FAILED);
  });
});
