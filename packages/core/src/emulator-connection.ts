/**
 * How the SDK finds a running Vertex Launch emulator: `vertex-launch emulator start` prints three
 * environment variables (plus the address of its Docker registry), read here by `resolveServiceEndpoints()` (the
 * runtime's endpoints, which every plugin takes). Also the image-reference rewrite between Artifact Registry URIs and
 * the emulator's registry, and the gRPC client options that trust the emulator's CA (the one file this module reads).
 */
import { ConfigError } from './errors.js';
import { artifactRegistryDockerLocation } from './image-ref.js';

/** Where a running emulator listens and which certificate its gRPC endpoint presents. */
export interface EmulatorConnection {
  /** Base URL of the emulator's REST surfaces, e.g. `http://127.0.0.1:8123`. */
  httpUrl: string;
  /** Host of the TLS gRPC endpoint (loopback). */
  grpcHost: string;
  /** Port of the TLS gRPC endpoint. */
  grpcPort: number;
  /** File with the PEM certificate the gRPC endpoint presents (trust it for TLS). */
  caFile: string;
  /**
   * `127.0.0.1:<port>` of the emulator's Docker registry (from `VERTEX_LAUNCH_EMULATOR_REGISTRY`), when it serves
   * one. Image URIs are rewritten onto it with {@link toEmulatorImageRef}.
   */
  registry?: string;
}

/** The environment variables that point the SDK at an emulator. */
const EMULATOR_ENV_VARS = {
  http: 'VERTEX_LAUNCH_EMULATOR_HTTP',
  grpc: 'VERTEX_LAUNCH_EMULATOR_GRPC',
  ca: 'VERTEX_LAUNCH_EMULATOR_CA',
} as const;

/** The optional variable with the emulator registry's `host:port`. */
const REGISTRY_ENV_VAR = 'VERTEX_LAUNCH_EMULATOR_REGISTRY';

const HINT =
  'Run `vertex-launch emulator start` and export the variables it prints, or unset all three to use Google Cloud.';

/**
 * Reads the emulator connection from `env`: undefined when none of the three variables is set, a
 * {@link EmulatorConnection} when all are set and valid, and a {@link ConfigError} listing every problem otherwise.
 */
export function readEmulatorConnection(
  env: Record<string, string | undefined> = process.env,
): EmulatorConnection | undefined {
  const http = env[EMULATOR_ENV_VARS.http]?.trim() || undefined;
  const grpc = env[EMULATOR_ENV_VARS.grpc]?.trim() || undefined;
  const ca = env[EMULATOR_ENV_VARS.ca]?.trim() || undefined;
  const registry = env[REGISTRY_ENV_VAR]?.trim() || undefined;
  if (http === undefined && grpc === undefined && ca === undefined && registry === undefined) return undefined;

  const issues: { path: string; message: string; severity: 'error' }[] = [];
  const missing = Object.values(EMULATOR_ENV_VARS).filter((name) => !env[name]?.trim());
  for (const name of missing) {
    issues.push({
      path: name,
      message: 'is not set, but other VERTEX_LAUNCH_EMULATOR_* variables are',
      severity: 'error',
    });
  }

  let httpUrl = '';
  if (http !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(http);
    } catch {
      url = undefined;
    }
    if (url?.protocol !== 'http:' || !url.port) {
      issues.push({
        path: EMULATOR_ENV_VARS.http,
        message: `"${http}" is not a URL like http://127.0.0.1:8123`,
        severity: 'error',
      });
    } else {
      httpUrl = `${url.protocol}//${url.host}`;
    }
  }

  let grpcHost = '';
  let grpcPort = 0;
  if (grpc !== undefined) {
    const m = /^(\[[0-9a-fA-F:]+\]|[^:[\]]+):(\d{1,5})$/.exec(grpc);
    const port = m ? Number(m[2]) : Number.NaN;
    if (!m || !(port > 0 && port <= 65535)) {
      issues.push({
        path: EMULATOR_ENV_VARS.grpc,
        message: `"${grpc}" is not host:port like 127.0.0.1:8124`,
        severity: 'error',
      });
    } else {
      grpcHost = (m[1] as string).replace(/^\[|\]$/g, '');
      grpcPort = port;
    }
  }

  if (registry !== undefined && !isLoopbackHostPort(registry)) {
    issues.push({
      path: REGISTRY_ENV_VAR,
      message: `"${registry}" is not a loopback host:port like 127.0.0.1:8125`,
      severity: 'error',
    });
  }

  if (issues.length > 0) {
    throw new ConfigError(
      `Incomplete or invalid emulator connection: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}.`,
      issues,
      { hint: HINT },
    );
  }
  const connection: EmulatorConnection = { httpUrl, grpcHost, grpcPort, caFile: ca as string };
  if (registry !== undefined) connection.registry = registry;
  return connection;
}

function isLoopbackHostPort(value: string): boolean {
  const m = /^(127(?:\.\d{1,3}){3}|localhost):(\d{1,5})$/.exec(value);
  const port = Number(m?.[2]);
  return m !== null && port > 0 && port <= 65535;
}

/**
 * Rewrites an Artifact Registry image URI onto the emulator's registry, reversibly, by prefixing the registry
 * address: `us-central1-docker.pkg.dev/proj/repo/img:tag` -> `127.0.0.1:5000/us-central1-docker.pkg.dev/proj/repo/img:tag`.
 * Returns `uri` unchanged when there is no emulator registry (`connection` undefined or without `registry`), when
 * the URI is not an Artifact Registry Docker URI (`*-docker.pkg.dev/...`), or when it already points at the registry.
 */
export function toEmulatorImageRef(uri: string, connection: Pick<EmulatorConnection, 'registry'> | undefined): string {
  const registry = connection?.registry;
  if (registry === undefined) return uri;
  const host = uri.split('/', 1)[0] ?? '';
  if (artifactRegistryDockerLocation(host) === undefined || !uri.includes('/')) return uri;
  return `${registry}/${uri}`;
}

/**
 * The inverse of {@link toEmulatorImageRef}: `127.0.0.1:5000/us-central1-docker.pkg.dev/proj/repo/img:tag` ->
 * `us-central1-docker.pkg.dev/proj/repo/img:tag`. Any other reference is returned unchanged.
 */
export function fromEmulatorImageRef(ref: string): string {
  const slash = ref.indexOf('/');
  if (slash < 0 || !isLoopbackHostPort(ref.slice(0, slash))) return ref;
  const rest = ref.slice(slash + 1);
  const host = rest.split('/', 1)[0] ?? '';
  return artifactRegistryDockerLocation(host) !== undefined && rest.includes('/') ? rest : ref;
}

/** Plain-object headers from a google-auth-library v10 `Headers`, a v9 plain object, or undefined. */
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

/**
 * The part of grpc-js's `credentials` API needed to reach the emulator. Pass the `grpc` object exported by the
 * google-gax that the Google client itself uses, so the credentials belong to the same grpc-js instance.
 */
export interface GrpcCredentialsApi {
  credentials: {
    createSsl(rootCerts: Buffer): unknown;
    createFromGoogleCredential(credential: never): unknown;
    combineChannelCredentials(channel: unknown, call: unknown): unknown;
  };
}

/**
 * Constructor options that point a real gRPC Google client (`JobServiceClient`, `ArtifactRegistryClient`,
 * `CloudBuildClient`, ...) at the emulator: TLS that trusts the emulator's CA, and `authClient`'s headers on every
 * call (insecure channels would make the clients skip auth). `who` prefixes the error when the CA cannot be read.
 */
export async function emulatorGrpcClientOptions(
  grpc: GrpcCredentialsApi,
  connection: Pick<EmulatorConnection, 'grpcHost' | 'grpcPort' | 'caFile'>,
  authClient: { getRequestHeaders(url?: string): Promise<unknown> },
  who = '[vertex-launch]',
): Promise<Record<string, unknown>> {
  const { readFile } = await import('node:fs/promises');
  let ca: Buffer;
  try {
    ca = await readFile(connection.caFile);
  } catch (error) {
    throw new ConfigError(
      `${who} Cannot read the emulator certificate ${connection.caFile} (VERTEX_LAUNCH_EMULATOR_CA): ${(error as Error).message}. Restart the emulator and export its variables again.`,
    );
  }
  const callCredentials = grpc.credentials.createFromGoogleCredential({
    getRequestHeaders: async (url?: string) => plainHeaders(await authClient.getRequestHeaders(url)),
  } as never);
  return {
    apiEndpoint: connection.grpcHost.includes(':') ? `[${connection.grpcHost}]` : connection.grpcHost,
    port: connection.grpcPort,
    sslCreds: grpc.credentials.combineChannelCredentials(grpc.credentials.createSsl(ca), callCredentials),
    universeDomain: 'googleapis.com',
    // The emulator's certificate names localhost (TLS SNI with an IP address is deprecated in Node).
    'grpc.ssl_target_name_override': 'localhost',
  };
}
