import { startEmulator } from '@vertex-launch/emulator';
import { ExitCode, UsageError } from '../exit-codes.js';
import type { GlobalOptions } from '../options.js';
import { dim, green, type Io, printJson } from '../output.js';

export interface EmulatorStartOptions extends GlobalOptions {
  project?: string;
  region?: string;
  dataDir?: string;
  httpPort?: string;
  grpcPort?: string;
}

/**
 * `vertex-launch emulator start`: runs the local Google Cloud in the foreground until SIGINT/SIGTERM,
 * after printing its endpoints and the environment that points the SDK at it.
 */
export default async function emulatorStart(options: EmulatorStartOptions, io: Io): Promise<number> {
  const emulator = await startEmulator({
    ...(options.project ? { projectId: options.project } : {}),
    ...(options.region ? { region: options.region } : {}),
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(options.httpPort ? { httpPort: port(options.httpPort, '--http-port') } : {}),
    ...(options.grpcPort ? { grpcPort: port(options.grpcPort, '--grpc-port') } : {}),
  });
  if (options.json) {
    printJson(io, emulator.summary());
  } else {
    io.stdout(`${green(io, '✓')} emulator for project ${emulator.projectId} in ${emulator.region}\n`);
    io.stdout(
      `  http  ${emulator.httpUrl}\n  grpc  ${emulator.grpc.host}:${emulator.grpc.port} (TLS, CA ${emulator.caFile})\n`,
    );
    io.stdout(dim(io, '\n# point the SDK and the CLI at it:\n'));
    for (const [k, v] of Object.entries(emulator.env)) {
      // The admin access token is a credential: keep it off the terminal (scripts read it from --json).
      if (k === 'GOOGLE_OAUTH_ACCESS_TOKEN') continue;
      io.stdout(`export ${k}=${shellQuote(v)}\n`);
    }
    io.stdout(
      dim(io, '# the access token: vertex-launch emulator start --json | jq -r .env.GOOGLE_OAUTH_ACCESS_TOKEN\n'),
    );
    io.stdout(dim(io, '\nPress Ctrl-C to stop.\n'));
  }
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await emulator.stop();
  if (!options.json) io.stderr('emulator stopped\n');
  endOnceFlushed();
  return ExitCode.OK;
}

/**
 * Ends the process once its output is written. After `stop()` the emulator's servers are closed and its registry
 * process is gone, but a timer left behind still keeps Node running: Cloud Build's `close()` races the running builds
 * against a 10 s timeout that it never clears (packages/emulator/src/cloudbuild/service.ts), which made Ctrl-C and
 * SIGTERM take 10 s. This foreground command has nothing left to do by then. The timer is unref'd: when nothing is
 * left behind, the process ends on its own first; `process.exit()` keeps the exit code `bin` set from ours.
 */
function endOnceFlushed(): void {
  setTimeout(() => {
    process.stdout.write('', () => process.stderr.write('', () => process.exit()));
  }, 0).unref();
}

function port(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new UsageError(`${flag} ${value}: expected a port number (0 = any free port).`);
  return n;
}

function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`;
}
