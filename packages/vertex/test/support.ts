// Shared setup for the runner's integration tests: the real JobServiceClient against the emulator.
import { randomUUID } from 'node:crypto';
import type { CreateCustomJobRequest, LaunchContext } from '@vertex-launch/core';
import { resolveQueueConfig } from '@vertex-launch/core/config';
import { toCreateCustomJobRequest } from '@vertex-launch/core/mapping';
import { type Emulator, type EmulatorOptions, startEmulator } from '@vertex-launch/emulator';
import { OAuth2Client } from 'google-auth-library';
import { type VertexRunner, type VertexRunnerOptions, vertexRunner } from '../src/index.js';

/** An auth client presenting `token` (default: the emulator's admin token). */
export function tokenClient(token: string): OAuth2Client {
  const client = new OAuth2Client();
  client.setCredentials({ access_token: token, expiry_date: Date.now() + 3_600_000 });
  return client;
}

/** Instant sleeps for retries and limiters, so tests never wait on backoff. */
export const instantRetry = { maxAttempts: 12, initialDelayMs: 1, maxDelayMs: 5, multiplier: 2 };

/** Starts an emulator with short job phases and no quotas (unless given). */
export function emulator(options: EmulatorOptions = {}): Promise<Emulator> {
  return startEmulator({
    jobTimings: { queuedMs: 30, pendingMs: 30, runningMs: 150, cancellingMs: 30 },
    quotas: { vertexReadsPerMinute: 0, vertexCreatesPerMinute: 0 },
    ...options,
  });
}

/** A runner on the emulator with fast tracking and instant retries. */
export function runnerFor(emu: Emulator, options: Partial<VertexRunnerOptions> = {}): VertexRunner {
  return vertexRunner({
    authClient: tokenClient(emu.adminToken),
    projectId: emu.projectId,
    region: emu.region,
    env: emu.env,
    retry: instantRetry,
    // The emulator commits a create before answering (unless a `late` fault says otherwise): one lookup settles it.
    createLookup: { windowMs: 0 },
    quotas: { createsPerMinute: 0, readsPerMinute: 0, logReadsPerMinute: 0 },
    tracker: { minIntervalMs: 20, maxIntervalMs: 80 },
    logs: { pollIntervalMs: 20, lagMs: 1_000 },
    ...options,
  });
}

/** A CreateCustomJobRequest made by core's mapping, with emulator knobs in the container env. */
export function request(
  emu: Emulator,
  opts: {
    launchId?: string;
    runId?: string;
    env?: Record<string, string>;
    serviceAccount?: string;
    image?: string;
  } = {},
): CreateCustomJobRequest {
  const runId = opts.runId ?? `r${randomUUID().slice(0, 8)}`;
  const context: LaunchContext = {
    project: emu.projectId,
    region: emu.region,
    runId,
    launchId: opts.launchId ?? randomUUID(),
    imageUri: opts.image ?? 'us-docker.pkg.dev/vxl-emulator/train/trainer:1',
  };
  const config = resolveQueueConfig({
    config: {
      spec: {
        worker_pool_specs: [
          {
            machine_spec: { machine_type: 'n1-standard-4' },
            replica_count: 1,
            container_spec: {
              image_uri: '${image_uri}',
              command: ['python', '-m', 'trainer'],
              env: Object.entries(opts.env ?? {}).map(([name, value]) => ({ name, value })),
            },
          },
        ],
        staging_bucket: 'gs://vxl-test-bucket',
        ...(opts.serviceAccount ? { service_account: opts.serviceAccount } : {}),
      },
    },
    context,
    env: {},
  });
  return toCreateCustomJobRequest(config, context);
}
