/**
 * Client options for the Google gRPC clients (`@google-cloud/aiplatform`, `@google-cloud/artifact-registry`,
 * `@google-cloud/cloudbuild`) pointed at the emulator: TLS that trusts its certificate and per-call credentials.
 */
import { createRequire } from 'node:module';
import { plainHeaders } from '@vertex-launch/core';
import type { grpc as GaxGrpc } from 'google-gax';

const require = createRequire(import.meta.url);

/**
 * Options that point a gax-based Google client (`@google-cloud/aiplatform`, `@google-cloud/artifact-registry`,
 * `@google-cloud/cloudbuild`) at the emulator's TLS gRPC endpoint. A type alias, so it is assignable both to the
 * clients' `ClientOptions` and to `Record<string, unknown>`.
 */
export type EmulatorGrpcClientOptions = {
  apiEndpoint: string;
  port: number;
  sslCreds: GaxGrpc.ChannelCredentials;
  universeDomain: string;
  'grpc.ssl_target_name_override': string;
};

interface HeaderSource {
  getRequestHeaders(url?: string): Promise<unknown>;
}

/**
 * gRPC client options for a Google client pointed at the emulator: TLS that trusts `caPem` combined with
 * per-call credentials. Uses the grpc-js instance of the google-gax that `clientPackage` (default
 * `@google-cloud/aiplatform`) loads, so the credentials are of the same class the client checks.
 */
export function grpcClientOptions(
  host: string,
  port: number,
  caPem: string,
  auth: unknown,
  clientPackage = '@google-cloud/aiplatform',
): EmulatorGrpcClientOptions {
  const clientMain = require.resolve(clientPackage);
  const { grpc } = createRequire(clientMain)('google-gax') as typeof import('google-gax');
  const ssl = grpc.credentials.createSsl(Buffer.from(caPem));
  let sslCreds = ssl;
  if (auth !== null) {
    let source: HeaderSource;
    if (typeof auth === 'string') {
      source = { getRequestHeaders: async () => ({ authorization: `Bearer ${auth}` }) };
    } else if (auth && typeof (auth as HeaderSource).getRequestHeaders === 'function') {
      source = auth as HeaderSource;
    } else {
      throw new TypeError(
        'jobServiceClientOptions(authClient) needs an access token string, an object with getRequestHeaders(url) (e.g. a google-auth-library client), or null for no credentials.',
      );
    }
    sslCreds = grpc.credentials.combineChannelCredentials(
      ssl,
      grpc.credentials.createFromGoogleCredential({
        getRequestHeaders: async (url?: string) => plainHeaders(await source.getRequestHeaders(url)),
      }),
    );
  }
  // Name the server by its DNS SAN: TLS SNI with an IP address is deprecated in Node.
  return {
    apiEndpoint: host.includes(':') ? `[${host}]` : host,
    port,
    sslCreds,
    universeDomain: 'googleapis.com',
    'grpc.ssl_target_name_override': 'localhost',
  };
}
