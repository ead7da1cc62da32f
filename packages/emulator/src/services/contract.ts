/**
 * How a service plugs into the emulator. A service is one file exporting an {@link EmulatorService}; listing it in
 * `./index.ts` mounts it. `startEmulator()` creates every listed service on the shared core (seed), mounts what they
 * return on the HTTP and gRPC servers (wire), and starts the servers (serve).
 */
import type { HttpService } from '../context.js';
import type { OperationOwner } from '../grpc/operations.js';
import type { GrpcServiceModule } from '../grpc/server.js';
import type { EmulatorCore } from '../seed.js';

/** A service of the emulator: a name and a factory. */
export interface EmulatorService {
  /** Names the service in errors, e.g. `storage`, `vertex-jobs`. */
  readonly name: string;
  /**
   * Builds the service on the emulator's core, before any server listens (grant the IAM it needs here; read
   * `core.endpoints` only once serving).
   */
  create(core: EmulatorCore): ServiceParts | Promise<ServiceParts>;
}

/** What a service mounts and how it takes part in the emulator's life. Every part is optional. */
export interface ServiceParts {
  /** A REST surface on the HTTP server. Surfaces are asked in list order; the first that handles a request answers. */
  http?: HttpService;
  /** gRPC services on the TLS gRPC server. `google.longrunning.Operations` is mounted once, by the wire: use `operations`. */
  grpc?: readonly GrpcServiceModule[];
  /** Answers `google.longrunning.Operations.GetOperation` for the operations this service made. */
  operations?: OperationOwner;
  /**
   * Answers `GetOperation` for a name no service owns (at most one service gives it: Vertex's, whose proto the
   * Operations service comes from). Without one, such a call answers NOT_FOUND.
   */
  unknownOperation?(name: string, authorization: string | undefined): Promise<unknown>;
  /**
   * State kept in the data dir's `emulator.json` under `key`: `save` runs on every save (after `core.onChange()`),
   * `restore` once with what the file held, after the servers listen.
   */
  state?: { key: string; save(): unknown; restore(saved: unknown): void };
  /** Called first on `emulator.stop()`, while the servers still listen: end the work in flight (timers, runs). */
  stop?(): void | Promise<void>;
}
