/** CustomJob messages (as the Node client returns them) -> {@link JobSnapshot}. */
import type { protos } from '@google-cloud/aiplatform';
import {
  type JobSnapshot,
  type JobWorkerPool,
  jobConsoleUrl,
  jobStateToStatus,
  parseJobName,
} from '@vertex-launch/core';

type CustomJob = protos.google.cloud.aiplatform.v1.ICustomJob;
type Timestamp = protos.google.protobuf.ITimestamp | null | undefined;

/** A proto Timestamp (seconds may be a string, a number or a Long) as a Date. */
export function toDate(ts: Timestamp): Date | undefined {
  if (!ts || ts.seconds === null || ts.seconds === undefined) return undefined;
  const seconds = Number(typeof ts.seconds === 'object' ? ts.seconds.toString() : ts.seconds);
  if (!Number.isFinite(seconds) || (seconds === 0 && !ts.nanos)) return undefined;
  return new Date(seconds * 1000 + Math.floor((ts.nanos ?? 0) / 1e6));
}

/** The console URL of a job; `projectId` replaces the project number in the name when known. */
export function consoleUrlOf(name: string, projectId?: string): string {
  const parts = parseJobName(name);
  if (!parts) return 'https://console.cloud.google.com/vertex-ai/training/custom-jobs';
  return jobConsoleUrl({ ...parts, project: projectId ?? parts.project });
}

type WorkerPoolSpec = protos.google.cloud.aiplatform.v1.IWorkerPoolSpec;
type Count = number | string | { toString(): string } | null | undefined;

const count = (value: Count): number => {
  const n = Number(typeof value === 'object' && value !== null ? value.toString() : (value ?? 0));
  return Number.isFinite(n) ? n : 0;
};

/** A worker pool spec of a CustomJob message, with enum names and numbers in their plain forms. */
function toWorkerPool(pool: WorkerPoolSpec): JobWorkerPool {
  const machine = pool.machineSpec ?? {};
  const accelerator =
    machine.acceleratorType === null || machine.acceleratorType === undefined ? '' : String(machine.acceleratorType);
  const acceleratorCount = count(machine.acceleratorCount);
  const hasAccelerator = accelerator !== '' && accelerator !== 'ACCELERATOR_TYPE_UNSPECIFIED' && accelerator !== '0';
  return {
    machineType: machine.machineType ?? '',
    acceleratorType: hasAccelerator ? accelerator : undefined,
    acceleratorCount: hasAccelerator ? acceleratorCount : 0,
    replicaCount: count(pool.replicaCount),
    imageUri: pool.containerSpec?.imageUri || pool.pythonPackageSpec?.executorImageUri || undefined,
    command: [...(pool.containerSpec?.command ?? [])],
    args: [
      ...((pool.pythonPackageSpec?.executorImageUri ? pool.pythonPackageSpec.args : pool.containerSpec?.args) ?? []),
    ],
    pythonModule: pool.pythonPackageSpec?.pythonModule || undefined,
  };
}

/**
 * A snapshot the caller already holds for this job, when its state and update time are still those of `job` (see
 * `TrackerBackend.list`); else undefined.
 */
export type KnownSnapshot = (name: string, state: string, updateTimeMs: number | undefined) => JobSnapshot | undefined;

/**
 * The snapshot of a CustomJob message; `known` is asked first, so an unchanged job of a list keeps the snapshot the
 * caller has and no new one is built for it.
 */
export function snapshotOf(
  job: CustomJob,
  projectId: string | undefined,
  known: KnownSnapshot | undefined,
): JobSnapshot {
  if (known !== undefined) {
    const held = known(
      job.name ?? '',
      jobStateToStatus(job.state as string | number | null | undefined).state,
      toDate(job.updateTime)?.getTime(),
    );
    if (held !== undefined) return held;
  }
  return toJobSnapshot(job, projectId);
}

/** The snapshot of a CustomJob message. */
export function toJobSnapshot(job: CustomJob, projectId?: string): JobSnapshot {
  const name = job.name ?? '';
  const parts = parseJobName(name);
  const { status, terminal, state } = jobStateToStatus(job.state as string | number | null | undefined);
  const pool = job.jobSpec?.workerPoolSpecs?.[0];
  const error =
    job.error && (job.error.code || job.error.message)
      ? { code: Number(job.error.code ?? 0), message: job.error.message ?? '' }
      : undefined;
  return {
    name,
    id: parts?.id ?? name.slice(name.lastIndexOf('/') + 1),
    region: parts?.region ?? '',
    displayName: job.displayName ?? '',
    state,
    status,
    terminal,
    createTime: toDate(job.createTime),
    startTime: toDate(job.startTime),
    endTime: toDate(job.endTime),
    updateTime: toDate(job.updateTime),
    error,
    labels: { ...(job.labels ?? {}) },
    imageUri: pool?.containerSpec?.imageUri || pool?.pythonPackageSpec?.executorImageUri || undefined,
    workerPools: (job.jobSpec?.workerPoolSpecs ?? []).map(toWorkerPool),
    consoleUrl: consoleUrlOf(name, projectId),
  };
}
