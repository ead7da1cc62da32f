/**
 * Where the Google APIs are reached: Google's public endpoints, or the local Vertex Launch emulator when
 * `vertex-launch emulator start`'s variables are exported. This is the one place that reads those variables (and
 * `GCE_METADATA_HOST`); every plugin takes the result as its `endpoints` option instead of reading the environment.
 * Pure: no I/O.
 */
import { type EmulatorConnection, readEmulatorConnection } from '../emulator-connection.js';
import { ConfigError } from '../errors.js';
import type { Env } from './env.js';
import type { ValueSource } from './sources.js';

/** The REST endpoints (and the metadata server) of the Google services Vertex Launch calls. */
export interface ServiceUrls {
  /** OAuth2 token endpoint (JWT-bearer and refresh-token grants). */
  readonly oauth2TokenUrl: string;
  /** Security Token Service (workload identity federation). */
  readonly stsUrl: string;
  /** IAM Credentials API base (impersonation). */
  readonly iamCredentialsUrl: string;
  /** Metadata server `host[:port]` (GCE/GKE). */
  readonly metadataHost: string;
  /** Cloud Resource Manager base (`projects:testIamPermissions`, project numbers). */
  readonly resourceManagerUrl: string;
  /** IAM API base (`serviceAccounts:testIamPermissions`). */
  readonly iamUrl: string;
  /** Cloud Storage JSON API base. */
  readonly storageUrl: string;
  /** Cloud Logging API base (job logs). */
  readonly loggingUrl: string;
  /** Policy Troubleshooter API base. */
  readonly policyTroubleshooterUrl: string;
  /** Service Usage API base (which APIs are enabled; `vertex-launch setup` enables them). */
  readonly serviceUsageUrl: string;
}

/** Google's production endpoints. */
export const GOOGLE_SERVICE_URLS: ServiceUrls = Object.freeze({
  oauth2TokenUrl: 'https://oauth2.googleapis.com/token',
  stsUrl: 'https://sts.googleapis.com/v1/token',
  iamCredentialsUrl: 'https://iamcredentials.googleapis.com',
  metadataHost: '169.254.169.254',
  resourceManagerUrl: 'https://cloudresourcemanager.googleapis.com',
  iamUrl: 'https://iam.googleapis.com',
  storageUrl: 'https://storage.googleapis.com',
  loggingUrl: 'https://logging.googleapis.com',
  policyTroubleshooterUrl: 'https://policytroubleshooter.googleapis.com',
  serviceUsageUrl: 'https://serviceusage.googleapis.com',
});

/**
 * Where every Google API of a command goes. Pass it as the `endpoints` option of each plugin (`vertexRunner`,
 * `artifactRegistry`, `dockerBuilder`, `cloudBuild`, the auth strategies).
 */
export interface ServiceEndpoints extends ServiceUrls {
  /** `google`, or `emulator` when the emulator's variables are set. */
  readonly origin: 'google' | 'emulator';
  /** Where the choice came from: the emulator's variables, or the default. */
  readonly source: ValueSource;
  /**
   * The emulator's gRPC endpoint (Vertex AI, Artifact Registry, Cloud Build) and Docker registry, when all of its
   * variables are set. Read it with {@link emulatorConnectionOf}, which also reports an incomplete set.
   */
  readonly emulator: EmulatorConnection | undefined;
  /** Why the gRPC endpoint is unusable (some emulator variables set, others not), when it is. */
  readonly emulatorProblem: ConfigError | undefined;
  /** True when the metadata host is not Google's default (the emulator, or `GCE_METADATA_HOST`). */
  readonly metadataHostExplicit: boolean;
}

const EMULATOR_HTTP = 'VERTEX_LAUNCH_EMULATOR_HTTP';
const EMULATOR_SOURCE: ValueSource = {
  kind: 'env',
  name: EMULATOR_HTTP,
  also: ['_GRPC', '_CA'],
};

/** The emulator's HTTP base URL from `VERTEX_LAUNCH_EMULATOR_HTTP`, normalised (`http://127.0.0.1:8085`). */
function emulatorHttpUrl(env: Env): string | undefined {
  const raw = env[EMULATOR_HTTP]?.trim();
  if (!raw) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(
      `[vertex-launch] ${EMULATOR_HTTP}="${raw}" is not a URL; expected e.g. http://127.0.0.1:8085 (from \`vertex-launch emulator start\`).`,
      [{ path: EMULATOR_HTTP, message: 'is not a URL', severity: 'error' }],
    );
  }
  return `${url.protocol}//${url.host}`;
}

/**
 * The endpoints for `env`: the emulator's when `VERTEX_LAUNCH_EMULATOR_HTTP` is set (every REST API and the
 * metadata server on its HTTP port; the gRPC APIs on `VERTEX_LAUNCH_EMULATOR_GRPC` with its CA), else Google's, with
 * the metadata server moved by `GCE_METADATA_HOST` (or `GCE_METADATA_IP`). An incomplete set of emulator variables
 * is not thrown here: it is kept in `emulatorProblem` and thrown by the gRPC plugins ({@link emulatorConnectionOf}),
 * so REST-only commands keep working with the HTTP variable alone.
 *
 * @throws ConfigError when `VERTEX_LAUNCH_EMULATOR_HTTP` is not a URL.
 */
export function resolveServiceEndpoints(env: Env = process.env): ServiceEndpoints {
  const http = emulatorHttpUrl(env);
  let emulator: EmulatorConnection | undefined;
  let emulatorProblem: ConfigError | undefined;
  try {
    emulator = readEmulatorConnection(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    emulatorProblem = error;
  }
  const base = http ?? emulator?.httpUrl;
  if (base === undefined) {
    const metadataHost = env.GCE_METADATA_HOST?.trim() || env.GCE_METADATA_IP?.trim();
    return {
      ...GOOGLE_SERVICE_URLS,
      ...(metadataHost ? { metadataHost } : {}),
      origin: 'google',
      source: emulatorProblem ? EMULATOR_SOURCE : { kind: 'default' },
      emulator: undefined,
      emulatorProblem,
      metadataHostExplicit: Boolean(metadataHost),
    };
  }
  return {
    oauth2TokenUrl: `${base}/token`,
    stsUrl: `${base}/v1/token`,
    iamCredentialsUrl: base,
    metadataHost: new URL(base).host,
    resourceManagerUrl: base,
    iamUrl: base,
    storageUrl: base,
    loggingUrl: base,
    policyTroubleshooterUrl: base,
    serviceUsageUrl: base,
    origin: 'emulator',
    source: EMULATOR_SOURCE,
    emulator,
    emulatorProblem,
    metadataHostExplicit: true,
  };
}

/**
 * The emulator connection the gRPC clients use: undefined for Google, the connection for a complete set of emulator
 * variables, and a thrown {@link ConfigError} naming the missing variables for an incomplete one.
 */
export function emulatorConnectionOf(endpoints: Pick<ServiceEndpoints, 'emulator' | 'emulatorProblem'>) {
  if (endpoints.emulatorProblem) throw endpoints.emulatorProblem;
  return endpoints.emulator;
}

/** True for an object made by {@link resolveServiceEndpoints} (rather than a partial override of some URLs). */
export function isServiceEndpoints(value: unknown): value is ServiceEndpoints {
  return (
    value !== null &&
    typeof value === 'object' &&
    ((value as ServiceEndpoints).origin === 'google' || (value as ServiceEndpoints).origin === 'emulator') &&
    typeof (value as ServiceEndpoints).storageUrl === 'string'
  );
}

/**
 * The `endpoints` option of a plugin, or — when the caller gave none — the endpoints of its `env` option (default
 * `process.env`): the single fallback every plugin uses, so SDK code that exports the emulator's variables keeps
 * working without passing a runtime.
 */
export function endpointsOption(endpoints: ServiceEndpoints | undefined, env: Env | undefined): ServiceEndpoints {
  return endpoints ?? resolveServiceEndpoints(env ?? process.env);
}
