import type { JobServiceClient } from '@google-cloud/aiplatform/build/src/v1/job_service_client.js';
import { type AuthClientLike, type EmulatorConnection, emulatorGrpcClientOptions } from '@vertex-launch/core';
import { withSlimProtos } from './protos.js';

export type { JobServiceClient };

/** The regional Vertex AI endpoint, e.g. `us-central1-aiplatform.googleapis.com`. */
export function regionalEndpoint(region: string): string {
  return `${region}-aiplatform.googleapis.com`;
}

export { plainHeaders } from '@vertex-launch/core';

/** Where and how the client connects. */
export interface ClientTarget {
  region: string;
  authClient: AuthClientLike;
  /** The emulator to use instead of Google, when set. */
  emulator: EmulatorConnection | undefined;
  /** Overrides the regional endpoint (host name) for Google. */
  apiEndpoint?: string | undefined;
  projectId?: string | undefined;
}

/** Constructor options for the JobServiceClient of `target`. Loads google-gax (for its grpc) only for the emulator. */
export async function jobServiceClientOptions(target: ClientTarget): Promise<Record<string, unknown>> {
  if (target.emulator) {
    const { grpc } = await import('google-gax');
    const options = await emulatorGrpcClientOptions(grpc as never, target.emulator, target.authClient);
    return { ...options, ...(target.projectId ? { projectId: target.projectId } : {}) };
  }
  return {
    apiEndpoint: target.apiEndpoint ?? regionalEndpoint(target.region),
    authClient: target.authClient,
    universeDomain: 'googleapis.com',
    ...(target.projectId ? { projectId: target.projectId } : {}),
  };
}

/**
 * Loads the v1 JobServiceClient class (the first call takes about a second), with its protos cut to JobService's
 * (see protos.ts).
 */
export async function loadJobServiceClient(): Promise<typeof JobServiceClient> {
  const mod = (await withSlimProtos(
    () => import('@google-cloud/aiplatform/build/src/v1/job_service_client.js'),
  )) as unknown as {
    JobServiceClient?: typeof JobServiceClient;
    default?: { JobServiceClient: typeof JobServiceClient };
  };
  const ctor = mod.JobServiceClient ?? mod.default?.JobServiceClient;
  if (!ctor) throw new Error('@google-cloud/aiplatform: build/src/v1/job_service_client.js has no JobServiceClient.');
  return ctor;
}

/** A new JobServiceClient for `target`. */
export async function createJobServiceClient(target: ClientTarget): Promise<JobServiceClient> {
  const [Client, options] = await Promise.all([loadJobServiceClient(), jobServiceClientOptions(target)]);
  return new Client(options as ConstructorParameters<typeof JobServiceClient>[0]);
}
