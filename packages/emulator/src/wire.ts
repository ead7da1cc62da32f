/**
 * Wire, the second step of `startEmulator()` (seed -> wire -> serve): creates every service on the core and gathers
 * what they mount — the HTTP surfaces, the gRPC services, one `google.longrunning.Operations` that routes each
 * `GetOperation` to the service owning the operation — and their saved state and stop hooks.
 */
import type * as grpcJs from '@grpc/grpc-js';
import { EmulatorError, type HttpService } from './context.js';
import { operationsModule } from './grpc/operations.js';
import { loadClientProtos, lookup } from './grpc/protos.js';
import type { GrpcServiceModule } from './grpc/server.js';
import type { Seed } from './seed.js';
import type { EmulatorService, ServiceParts } from './services/index.js';

/** The services of one emulator, created and ready to mount. */
export interface Wired {
  /** HTTP surfaces in list order. */
  readonly http: readonly HttpService[];
  /** Every gRPC service, `google.longrunning.Operations` included. */
  readonly grpc: readonly GrpcServiceModule[];
  /** Hands each service its state from the data dir (once the servers listen). */
  restore(): void;
  /** Runs every service's stop hook (started together; resolves when all are done). */
  stop(): Promise<void>;
}

/** Creates `services` on `core`, in order, and registers their saved state with the core's persistence. */
export async function wire(core: Seed, services: readonly EmulatorService[]): Promise<Wired> {
  const parts: ServiceParts[] = [];
  for (const service of services) parts.push(await service.create(core));
  for (const { state } of parts) if (state) core.persistence.register(state.key, () => state.save());
  return {
    http: parts.flatMap((p) => (p.http ? [p.http] : [])),
    grpc: [...parts.flatMap((p) => p.grpc ?? []), operations(parts)],
    restore() {
      const saved = core.persistence.saved;
      for (const { state } of parts) {
        if (state && saved?.[state.key] !== undefined) state.restore(saved[state.key]);
      }
    },
    async stop() {
      await Promise.all(parts.map((p) => p.stop?.()));
    },
  };
}

/** The one Operations service: asks each service's `operations` in list order, then the `unknownOperation` answer. */
function operations(parts: readonly ServiceParts[]): GrpcServiceModule {
  const definition = lookup<{ service: grpcJs.ServiceDefinition }>(
    loadClientProtos('@google-cloud/aiplatform', ['google/cloud/aiplatform/v1/job_service.proto']),
    'google.longrunning.Operations',
  ).service;
  const owners = parts.flatMap((p) => (p.operations ? [p.operations] : []));
  const unknown =
    parts.find((p) => p.unknownOperation)?.unknownOperation ??
    (async (name: string) => {
      throw new EmulatorError('NOT_FOUND', `Operation "${name}" does not exist.`);
    });
  return operationsModule(definition, owners, unknown);
}
