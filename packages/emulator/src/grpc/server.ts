/**
 * The emulator's gRPC server: TLS on loopback, any number of services. Each surface registers a
 * {@link GrpcServiceModule}; later parts add Cloud Build and Artifact Registry the same way.
 */
import * as grpc from '@grpc/grpc-js';
import { Code, EmulatorError } from '../context.js';
import type { TlsMaterial } from '../tls.js';

/** One gRPC service the emulator serves. */
export interface GrpcServiceModule {
  /** Fully qualified service name, e.g. `google.cloud.aiplatform.v1.JobService`. */
  readonly name: string;
  readonly definition: grpc.ServiceDefinition;
  readonly implementation: grpc.UntypedServiceImplementation;
}

/** What a unary handler learns about its call. */
export interface CallInfo {
  /** The `authorization` metadata value, if any. */
  authorization: string | undefined;
}

/** Turns any thrown error into a gRPC status: EmulatorError keeps its code and message; anything else is INTERNAL. */
export function toGrpcStatus(error: unknown): Partial<grpc.StatusObject> {
  if (error instanceof EmulatorError) return { code: Code[error.code], details: error.message };
  const message = error instanceof Error ? error.message : String(error);
  return { code: Code.INTERNAL, details: `Internal error in the emulator: ${message}` };
}

/** Adapts an async handler to grpc-js's callback style, mapping errors to statuses. */
export function unary<Req, Res>(
  handler: (request: Req, call: CallInfo) => Promise<Res>,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const auth = call.metadata.get('authorization')[0];
    handler(call.request, { authorization: typeof auth === 'string' ? auth : auth?.toString('utf8') }).then(
      (response) => callback(null, response),
      (error: unknown) => callback(toGrpcStatus(error) as grpc.ServiceError),
    );
  };
}

/** A running gRPC server. */
export interface RunningGrpcServer {
  readonly port: number;
  stop(): Promise<void>;
}

/** Starts a TLS gRPC server on `host:port` (port 0 picks a free one) serving `services`. */
export async function startGrpcServer(
  host: string,
  port: number,
  tls: TlsMaterial,
  services: readonly GrpcServiceModule[],
): Promise<RunningGrpcServer> {
  const server = new grpc.Server();
  for (const service of services) server.addService(service.definition, service.implementation);
  const credentials = grpc.ServerCredentials.createSsl(
    null,
    [{ cert_chain: Buffer.from(tls.certPem), private_key: Buffer.from(tls.keyPem) }],
    false,
  );
  const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  const boundPort = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, credentials, (error, p) => (error ? reject(error) : resolve(p)));
  });
  return {
    port: boundPort,
    stop: () =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 1000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
