/**
 * The proto3 JSON form of a CreateCustomJobRequest, as Vertex REST v1 accepts it: camelCase, enum names,
 * int64 as strings, Durations as `"3600s"`.
 */
import { durationToJson } from '../config/durations.js';
import type { CreateCustomJobRequest } from './custom-job.js';

/** The request in proto3 JSON: `{parent, customJob}` with Durations as strings (`"3600s"`). */
export function toRestJson(request: CreateCustomJobRequest): { parent: string; customJob: Record<string, unknown> } {
  const customJob = structuredClone(request.customJob) as unknown as Record<string, unknown>;
  const jobSpec = customJob.jobSpec as Record<string, unknown>;
  const scheduling = jobSpec.scheduling as Record<string, unknown> | undefined;
  if (scheduling !== undefined) {
    const { timeout, maxWaitDuration } = request.customJob.jobSpec.scheduling ?? {};
    if (timeout !== undefined) scheduling.timeout = durationToJson(timeout);
    if (maxWaitDuration !== undefined) scheduling.maxWaitDuration = durationToJson(maxWaitDuration);
  }
  return { parent: request.parent, customJob };
}
