import { ApiError, AuthError, GrpcCode, isTransientGrpcError, PermissionError } from '@vertex-launch/core';
import { describe, expect, test } from 'vitest';
import { isAmbiguous, toVertexLaunchError } from './errors.js';

const context = {
  action: 'list CustomJobs in projects/p/locations/us-central1',
  project: 'p',
  principal: 'ana@example.com',
};

describe('toVertexLaunchError', () => {
  test('a disabled API is an ApiError with reason SERVICE_DISABLED and the command that enables it', () => {
    // As Google answers it: PERMISSION_DENIED, with the ErrorInfo reason (gax sets `reason`).
    const fromReason = toVertexLaunchError(
      Object.assign(new Error('7 PERMISSION_DENIED: Vertex AI API has not been used in project 123 before'), {
        code: GrpcCode.PERMISSION_DENIED,
        reason: 'SERVICE_DISABLED',
      }),
      context,
    );
    expect(fromReason).toBeInstanceOf(ApiError);
    expect((fromReason as ApiError).reason).toBe('SERVICE_DISABLED');
    expect((fromReason as ApiError).hint).toBe(
      'Enable it: gcloud services enable aiplatform.googleapis.com --project=p',
    );
    // Only the text says so (an older answer): the same.
    const fromText = toVertexLaunchError(
      {
        code: GrpcCode.PERMISSION_DENIED,
        details: 'Vertex AI API has not been used in project 123 before or it is disabled.',
      },
      context,
    );
    expect((fromText as ApiError).reason).toBe('SERVICE_DISABLED');
  });

  test('a plain PERMISSION_DENIED stays a PermissionError without a reason', () => {
    const error = toVertexLaunchError(
      { code: GrpcCode.PERMISSION_DENIED, details: "Permission 'aiplatform.customJobs.list' denied on resource" },
      context,
    );
    expect(error).toBeInstanceOf(PermissionError);
    expect((error as PermissionError).permission).toBe('aiplatform.customJobs.list');
  });
});

describe('credential refusals (#25.4)', () => {
  const wrapped = (inner: string, code: number) =>
    Object.assign(
      new Error(
        `${code} ${code === 2 ? 'UNKNOWN' : 'UNAVAILABLE'}: Getting metadata from plugin failed with error: ${inner}`,
      ),
      {
        code,
        details: `Getting metadata from plugin failed with error: ${inner}`,
      },
    );
  test.each([
    ['grpc-js metadata plugin, UNKNOWN', wrapped('invalid_grant: Bad Request', GrpcCode.UNKNOWN)],
    ['grpc-js metadata plugin, UNAVAILABLE', wrapped('Could not refresh access token', GrpcCode.UNAVAILABLE)],
    ['UNAUTHENTICATED', Object.assign(new Error('16 UNAUTHENTICATED: bad token'), { code: GrpcCode.UNAUTHENTICATED })],
    [
      'a REST invalid_grant',
      Object.assign(new Error('invalid_grant: Token has been expired or revoked.'), { status: 400 }),
    ],
  ])('%s is an AuthError, neither ambiguous nor transient', (_, error) => {
    const converted = toVertexLaunchError(error, context);
    expect(converted).toBeInstanceOf(AuthError);
    expect(converted.message).toContain('the credentials were refused: ');
    expect(converted.message).not.toMatch(/UNKNOWN|Getting metadata/);
    expect(isAmbiguous(error)).toBe(false);
    expect(isTransientGrpcError(error)).toBe(false);
  });
  test('an UNAVAILABLE that is not about credentials stays an ambiguous, transient API error', () => {
    const error = Object.assign(new Error('14 UNAVAILABLE: connection reset'), { code: GrpcCode.UNAVAILABLE });
    expect(toVertexLaunchError(error, context)).toBeInstanceOf(ApiError);
    expect(isAmbiguous(error)).toBe(true);
    expect(isTransientGrpcError(error)).toBe(true);
  });
  test('an UNAVAILABLE of a connection never established cannot have created anything: transient, not ambiguous', () => {
    const error = Object.assign(
      new Error('14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 127.0.0.1:443'),
      {
        code: GrpcCode.UNAVAILABLE,
        details: 'No connection established. Last error: connect ECONNREFUSED 127.0.0.1:443',
      },
    );
    expect(isAmbiguous(error)).toBe(false);
    expect(isTransientGrpcError(error)).toBe(true);
  });
});
