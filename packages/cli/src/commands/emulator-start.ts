import { startEmulator } from '@vertex-launch/emulator';
import { ExitCode, UsageError } from '../exit-codes.js';
import type { GlobalOptions } from '../options.js';
import { dim, green, type Io, printJson } from '../output.js';
import { emulatorStateFile, exportLines, removeEmulatorState, writeEmulatorState } from './emulator-state.js';

export interface EmulatorStartOptions extends GlobalOptions {
  project?: string;
  region?: string;
  dataDir?: string;
  httpPort?: string;
  grpcPort?: string;
  /** `--docker`: run each job's container from the emulator's registry in local Docker. */
  docker?: boolean;
}

/**
 * `vertex-launch emulator start`: runs the local Google Cloud in the foreground until SIGINT/SIGTERM, after printing
 * its endpoints and the environment that points another shell at it (also written to the state file that
 * `vertex-launch emulator env` reads).
 */
export default async function emulatorStart(options: EmulatorStartOptions, io: Io, env = process.env): Promise<number> {
  const emulator = await startEmulator({
    ...(options.project ? { projectId: options.project } : {}),
    ...(options.region ? { region: options.region } : {}),
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(options.httpPort ? { httpPort: port(options.httpPort, '--http-port') } : {}),
    ...(options.grpcPort ? { grpcPort: port(options.grpcPort, '--grpc-port') } : {}),
    ...(options.docker ? { executor: 'docker' as const } : {}),
  }).catch((error: unknown) => {
    if (options.docker && /Docker daemon does not answer/.test((error as Error).message)) {
      throw new UsageError(
        `emulator start --docker: the Docker daemon does not answer (${process.env.DOCKER_HOST ?? '/var/run/docker.sock'}). Start dockerd, or leave out --docker (jobs then run on the emulator's clock).`,
      );
    }
    throw error;
  });
  const stateFile = emulatorStateFile(env);
  try {
    await writeEmulatorState(stateFile, {
      pid: process.pid,
      projectId: emulator.projectId,
      region: emulator.region,
      executor: emulator.executor,
      env: emulator.env,
    });
  } catch (error) {
    await emulator.stop();
    throw new UsageError(
      `emulator start: cannot write the state file ${stateFile} (${(error as Error).message}). Set XDG_STATE_HOME to a writable directory.`,
    );
  }
  if (options.json) {
    printJson(io, { ...emulator.summary(), executor: emulator.executor, stateFile });
  } else {
    const jobs =
      emulator.executor === 'docker'
        ? "jobs run their first replica's container in Docker"
        : "jobs run on the emulator's clock (--docker runs their containers)";
    io.stdout(`${green(io, '✓')} emulator for project ${emulator.projectId} in ${emulator.region}; ${jobs}\n`);
    io.stdout(
      `  http      ${emulator.httpUrl}\n  grpc      ${emulator.grpc.host}:${emulator.grpc.port} (TLS, CA ${emulator.caFile})\n  registry  ${emulator.registry.address} (Artifact Registry's Docker endpoint: images named <region>-docker.pkg.dev/${emulator.projectId}/<repository>/<image>)\n`,
    );
    io.stdout(
      dim(
        io,
        '\n# In another shell, point Vertex Launch (CLI and SDK) at this emulator:\n#   eval "$(vertex-launch emulator env)"\n# or paste these lines (the token is this emulator\'s own, for its admin account; it works nowhere else):\n',
      ),
    );
    io.stdout(exportLines(emulator.env));
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
  await removeEmulatorState(stateFile, process.pid);
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
