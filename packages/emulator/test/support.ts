// Shared fixtures for the emulator's integration tests (real Google clients against the emulator).
import type { protos } from '@google-cloud/aiplatform';
import type { Emulator } from '@vertex-launch/emulator';
import { expect } from 'vitest';

type ICustomJob = protos.google.cloud.aiplatform.v1.ICustomJob;
type AcceleratorType = protos.google.cloud.aiplatform.v1.IMachineSpec['acceleratorType'];

/** A minimal valid CustomJob (camelCase, as the Node client wants it). */
export function customJob(
  displayName: string,
  opts: {
    labels?: Record<string, string>;
    env?: Record<string, string>;
    machineType?: string;
    accelerator?: { type: string; count: number };
    serviceAccount?: string;
    timeoutSeconds?: number;
    enableWebAccess?: boolean;
  } = {},
): ICustomJob {
  return {
    displayName,
    labels: opts.labels ?? {},
    jobSpec: {
      workerPoolSpecs: [
        {
          machineSpec: {
            machineType: opts.machineType ?? 'n1-standard-4',
            ...(opts.accelerator
              ? { acceleratorType: opts.accelerator.type as AcceleratorType, acceleratorCount: opts.accelerator.count }
              : {}),
          },
          replicaCount: 1,
          containerSpec: {
            imageUri: 'us-docker.pkg.dev/vxl-emulator/train/trainer:latest',
            command: ['python', '-m', 'trainer'],
            args: ['--epochs', '3'],
            env: Object.entries(opts.env ?? {}).map(([name, value]) => ({ name, value })),
          },
        },
      ],
      ...(opts.serviceAccount ? { serviceAccount: opts.serviceAccount } : {}),
      ...(opts.timeoutSeconds ? { scheduling: { timeout: { seconds: opts.timeoutSeconds } } } : {}),
      ...(opts.enableWebAccess ? { enableWebAccess: true } : {}),
    },
  };
}

/** Awaits `promise`, expecting a gRPC error with `code`; returns its message for further checks. */
export async function grpcError(promise: Promise<unknown>, code: number): Promise<string> {
  const error = (await promise.then(
    () => undefined,
    (e: unknown) => e,
  )) as { code?: number; details?: string; message?: string } | undefined;
  expect(error, `expected gRPC code ${code}, but the call succeeded`).toBeDefined();
  expect(error?.code, error?.message).toBe(code);
  return error?.details ?? error?.message ?? '';
}

/** The text of the log entries the emulator holds for one job (`job_id`) or build (`build_id`), in order. */
export function logLines(
  emu: Pick<Emulator, 'logEntries'>,
  label: 'job_id' | 'build_id',
  id: string | null | undefined,
): string[] {
  return emu
    .logEntries()
    .filter((e) => e.resource.labels[label] === id)
    .map((e) => e.textPayload);
}
