/**
 * The Google clients of the Cloud Build builder, created on first use (dynamic import): `@google-cloud/storage`
 * for the context upload and the build log, `@google-cloud/cloudbuild` for the build. Pointed at the Vertex Launch
 * emulator when a connection is given (TLS with its certificate for gRPC; a bearer-token request interceptor for
 * Cloud Storage, which sends no auth to custom endpoints by itself), Google's endpoints otherwise.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { type AuthClientLike, ConfigError, type EmulatorConnection } from '@vertex-launch/core';

type StorageModule = typeof import('@google-cloud/storage');
/** The Cloud Storage client. */
export type StorageClient = InstanceType<StorageModule['Storage']>;
/** The Cloud Build client. */
export type CloudBuildClient = InstanceType<typeof import('@google-cloud/cloudbuild')['CloudBuildClient']>;

const PLUGIN = '[vertex-launch] [builder:cloudbuild]';
const require = createRequire(import.meta.url);

/** Plain-object headers from a google-auth-library `Headers` (v10) or a plain object (older clients). */
function plainHeaders(headers: unknown): Record<string, string> {
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

/**
 * A Cloud Storage client that sends `Authorization: Bearer <token()>` on every request, resumable uploads
 * included. Against Google the token goes through an OAuth2 client of storage's own google-auth-library (a
 * client of another major version loses its header there); against the emulator through a request interceptor.
 */
export async function createStorage(
  projectId: string,
  token: () => string,
  emulator: EmulatorConnection | undefined,
): Promise<StorageClient> {
  const { Storage } = await import('@google-cloud/storage');
  if (emulator) {
    return new Storage({
      apiEndpoint: emulator.httpUrl,
      projectId,
      useAuthWithCustomEndpoint: false,
      interceptors_: [
        {
          request(reqOpts: { headers?: unknown }) {
            const headers = plainHeaders(reqOpts.headers);
            for (const key of Object.keys(headers)) if (key.toLowerCase() === 'authorization') delete headers[key];
            headers.Authorization = `Bearer ${token()}`;
            reqOpts.headers = headers;
            return reqOpts;
          },
        },
      ],
    } as never);
  }
  // storage 7 bundles google-auth-library 9; its own OAuth2Client carries the token reliably.
  const storageMain = require.resolve('@google-cloud/storage');
  const { OAuth2Client } = createRequire(storageMain)('google-auth-library') as {
    OAuth2Client: new () => {
      setCredentials(c: { access_token: string }): void;
      getAccessToken(): Promise<unknown>;
    };
  };
  const client = new OAuth2Client();
  const refresh = () => client.setCredentials({ access_token: token() });
  refresh();
  const original = client.getAccessToken.bind(client);
  client.getAccessToken = async () => {
    refresh();
    return original();
  };
  return new Storage({ projectId, authClient: client } as never);
}

/** A Cloud Build client: the emulator over TLS with its certificate and per-call credentials, or Google. */
export async function createCloudBuild(
  authClient: AuthClientLike,
  emulator: EmulatorConnection | undefined,
  clientOptions: Record<string, unknown> | undefined,
): Promise<CloudBuildClient> {
  const { CloudBuildClient } = await import('@google-cloud/cloudbuild');
  if (!emulator) return new CloudBuildClient({ authClient, ...clientOptions } as never);
  const { grpc } = createRequire(require.resolve('@google-cloud/cloudbuild'))(
    'google-gax',
  ) as typeof import('google-gax');
  let ca: Buffer;
  try {
    ca = await readFile(emulator.caFile);
  } catch (error) {
    throw new ConfigError(
      `${PLUGIN} Cannot read the emulator certificate ${emulator.caFile} (VERTEX_LAUNCH_EMULATOR_CA): ${(error as Error).message}. Restart the emulator and export its variables again.`,
    );
  }
  const sslCreds = grpc.credentials.combineChannelCredentials(
    grpc.credentials.createSsl(ca),
    grpc.credentials.createFromGoogleCredential({
      getRequestHeaders: async (url?: string) => plainHeaders(await authClient.getRequestHeaders(url)),
    }),
  );
  return new CloudBuildClient({
    apiEndpoint: emulator.grpcHost.includes(':') ? `[${emulator.grpcHost}]` : emulator.grpcHost,
    port: emulator.grpcPort,
    sslCreds,
    universeDomain: 'googleapis.com',
    'grpc.ssl_target_name_override': 'localhost',
    ...clientOptions,
  } as never);
}
