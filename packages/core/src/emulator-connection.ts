/**
 * How the SDK finds a running Vertex Launch emulator: `vertex-launch emulator start` prints three
 * environment variables, and everything that talks to Google reads them here. Pure: no I/O.
 */
import { ConfigError } from './errors.js';

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
}

/** The environment variables that point the SDK at an emulator. */
const EMULATOR_ENV_VARS = {
  http: 'VERTEX_LAUNCH_EMULATOR_HTTP',
  grpc: 'VERTEX_LAUNCH_EMULATOR_GRPC',
  ca: 'VERTEX_LAUNCH_EMULATOR_CA',
} as const;

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
  if (http === undefined && grpc === undefined && ca === undefined) return undefined;

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
    if (!url || url.protocol !== 'http:' || !url.port) {
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

  if (issues.length > 0) {
    throw new ConfigError(
      `Incomplete or invalid emulator connection: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}.`,
      issues,
      { hint: HINT },
    );
  }
  return { httpUrl, grpcHost, grpcPort, caFile: ca as string };
}
