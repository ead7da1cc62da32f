/**
 * Serve, the last step of `startEmulator()` (seed -> wire -> serve): starts the TLS gRPC server, the HTTP server and
 * the Docker registry proxy on loopback (undoing what started when one fails), publishes their endpoints to the core,
 * and resumes the saved state.
 */
import { startGrpcServer } from './grpc/server.js';
import { startHttpServer } from './http/server.js';
import { startRegistryProxy } from './registry/proxy.js';
import type { Seed } from './seed.js';
import type { Wired } from './wire.js';

/** The running servers. */
export interface Served {
  /** The host as it is written in a URL (`[::1]` for IPv6). */
  readonly hostInUrl: string;
  readonly httpPort: number;
  readonly grpcPort: number;
  /** `http://<host>:<port>`. */
  readonly httpUrl: string;
  /** `<host>:<port>` of the gRPC server. */
  readonly grpcEndpoint: string;
  /** `127.0.0.1:<port>` of the registry proxy. */
  readonly registryAddress: string;
  /** Stops the three servers. */
  stop(): Promise<void>;
}

/** Starts the servers for `wired` on the core's host; resolves once all three listen. */
export async function serve(core: Seed, wired: Wired): Promise<Served> {
  const { host, options } = core;
  const grpcServer = await startGrpcServer(host, options.grpcPort ?? 0, core.tls, wired.grpc).catch(async (error) => {
    await core.removeTempDirs();
    throw error;
  });
  const httpServer = await startHttpServer(host, options.httpPort ?? 0, () => wired.http).catch(async (error) => {
    await grpcServer.stop();
    await core.removeTempDirs();
    throw error;
  });
  const registryProxy = await startRegistryProxy({
    ctx: core.ctx,
    port: options.registryPort ?? 0,
    backend: core.registryBackend,
    repositories: core.repositories,
    authenticate: (authorization) => core.iam.authenticate(authorization),
  }).catch(async (error) => {
    await Promise.all([grpcServer.stop(), httpServer.stop()]);
    await core.removeTempDirs();
    throw error;
  });
  const hostInUrl = host.includes(':') ? `[${host}]` : host;
  core.endpoints.registryAddress = registryProxy.address;
  core.endpoints.httpUrl = `http://${hostInUrl}:${httpServer.port}`;
  core.persistence.enable();
  wired.restore();
  core.onChange();
  return {
    hostInUrl,
    httpPort: httpServer.port,
    grpcPort: grpcServer.port,
    httpUrl: core.endpoints.httpUrl,
    grpcEndpoint: `${hostInUrl}:${grpcServer.port}`,
    registryAddress: registryProxy.address,
    stop: async () => {
      await Promise.all([httpServer.stop(), grpcServer.stop(), registryProxy.stop()]);
    },
  };
}
