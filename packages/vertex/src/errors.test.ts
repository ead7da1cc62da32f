import { ApiError, GrpcCode, PermissionError } from '@vertex-launch/core';
import { describe, expect, test } from 'vitest';
import { toVertexLaunchError } from './errors.js';

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
