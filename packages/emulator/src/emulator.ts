/**
 * `startEmulator()`: the identity/IAM core, the HTTP server (OAuth2, STS, IAM Credentials, metadata,
 * Resource Manager, Cloud Storage, Cloud Logging), the TLS gRPC server (Vertex AI JobService, Artifact
 * Registry, Cloud Build) and the Docker registry (an auth proxy in front of `docker-registry`), all on
 * loopback, sharing one `ServiceContext` (./context.ts).
 *
 * Three steps: seed (./seed.ts: options checked, the shared core built and restored), wire (./wire.ts: every service
 * of ./services/index.ts created on the core) and serve (./serve.ts: the servers started); ./handle.ts is the object
 * the caller gets.
 */
import type { Emulator, EmulatorOptions } from './api.js';
import { emulatorHandle } from './handle.js';
import { seed } from './seed.js';
import { serve } from './serve.js';
import { SERVICES } from './services/index.js';
import { wire } from './wire.js';

export type { Emulator, EmulatorFaults, EmulatorIam, EmulatorOptions, EmulatorSummary } from './api.js';
export { type EmulatorGrpcClientOptions, grpcClientOptions } from './client-options/grpc.js';
export { loopbackHost } from './seed.js';

/** Starts the emulator. Resolves once both servers listen. */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const core = await seed(options);
  const wired = await wire(core, SERVICES).catch(async (error: unknown) => {
    core.clock.close();
    await core.removeTempDirs();
    throw error;
  });
  const served = await serve(core, wired);
  return emulatorHandle(core, wired, served);
}
