/**
 * The JobServiceClient, created on first use: `@google-cloud/aiplatform` takes about a second to load, so it is
 * imported dynamically (only the v1 job service module, which cuts the require cost) when a call needs it. Pointed at
 * Google's regional endpoint, or at the Vertex Launch emulator when `VERTEX_LAUNCH_EMULATOR_*` is set.
 */
import { readFile } from 'node:fs/promises';
import type { JobServiceClient } from '@google-cloud/aiplatform/build/src/v1/job_service_client.js';
import type { AuthClientLike, EmulatorConnection } from '@vertex-launch/core';

export type { JobServiceClient };

/** The regional Vertex AI endpoint, e.g. `us-central1-aiplatform.googleapis.com`. */
export function regionalEndpoint(region: string): string {
  return `${region}-aiplatform.googleapis.com`;
}

/** Plain-object headers from a google-auth-library v10 `Headers` or a plain object. */
export function plainHeaders(headers: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers && typeof (headers as Headers).forEach === 'function' && !Array.isArray(headers)) {
    (headers as Headers).forEach((value, key) => {
      out[key] = value;
    });
  } else if (headers && typeof headers === 'object') {
    for (const [k, v] of Object.entries(headers)) if (typeof v === 'string') out[k] = v;
  }
  return out;
}

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
    const ca = await readFile(target.emulator.caFile);
    const auth = target.authClient;
    const sslCreds = grpc.credentials.combineChannelCredentials(
      grpc.credentials.createSsl(ca),
      grpc.credentials.createFromGoogleCredential({
        getRequestHeaders: async (url?: string) => plainHeaders(await auth.getRequestHeaders(url)),
      } as unknown as Parameters<typeof grpc.credentials.createFromGoogleCredential>[0]),
    );
    return {
      apiEndpoint: target.emulator.grpcHost,
      port: target.emulator.grpcPort,
      sslCreds,
      universeDomain: 'googleapis.com',
      // The emulator's certificate names localhost (TLS SNI with an IP address is deprecated in Node).
      'grpc.ssl_target_name_override': 'localhost',
      ...(target.projectId ? { projectId: target.projectId } : {}),
    };
  }
  return {
    apiEndpoint: target.apiEndpoint ?? regionalEndpoint(target.region),
    authClient: target.authClient,
    universeDomain: 'googleapis.com',
    ...(target.projectId ? { projectId: target.projectId } : {}),
  };
}

/** Loads the v1 JobServiceClient class (the first call takes about a second). */
export async function loadJobServiceClient(): Promise<typeof JobServiceClient> {
  const mod = (await import('@google-cloud/aiplatform/build/src/v1/job_service_client.js')) as unknown as {
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
