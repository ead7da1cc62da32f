import { createRequire } from 'node:module';
import {
  type AuthClientLike,
  type EmulatorConnection,
  emulatorGrpcClientOptions,
  plainHeaders,
} from '@vertex-launch/core';

type StorageModule = typeof import('@google-cloud/storage');
/** The Cloud Storage client. */
export type StorageClient = InstanceType<StorageModule['Storage']>;
/** The Cloud Build client. */
export type CloudBuildClient = InstanceType<typeof import('@google-cloud/cloudbuild')['CloudBuildClient']>;

const PLUGIN = '[vertex-launch] [builder:cloudbuild]';
const require = createRequire(import.meta.url);

/**
 * A Cloud Storage client that sends `Authorization: Bearer <token()>` on every request, resumable uploads
 * included. Against Google the token goes through an OAuth2 client of storage's own google-auth-library (a
 * client of another major version loses its header there); against the emulator through a request interceptor.
 */
export async function createStorage(
  projectId: string,
  token: () => string,
  emulator: EmulatorConnection | undefined,
  { retry = true }: { retry?: boolean } = {},
): Promise<StorageClient> {
  const { Storage } = await import('@google-cloud/storage');
  const retryOptions = { autoRetry: retry };
  if (emulator) {
    return new Storage({
      retryOptions,
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
  return new Storage({ projectId, authClient: client, retryOptions } as never);
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
  const options = await emulatorGrpcClientOptions(grpc as never, emulator, authClient, PLUGIN);
  return new CloudBuildClient({ ...options, ...clientOptions } as never);
}
