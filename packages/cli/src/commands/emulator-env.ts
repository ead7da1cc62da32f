import { ExitCode } from '../exit-codes.js';
import type { GlobalOptions } from '../options.js';
import { type Io, printJson } from '../output.js';
import { emulatorStateFile, exportLines, runningEmulatorState } from './emulator-state.js';

export type EmulatorEnvOptions = GlobalOptions;

/**
 * `vertex-launch emulator env`: prints the `export` lines of the running emulator again (from its state file), for
 * `eval "$(vertex-launch emulator env)"` in another shell. Never starts an emulator: exit 2 when none is running.
 */
export default async function emulatorEnv(options: EmulatorEnvOptions, io: Io, env = process.env): Promise<number> {
  const file = emulatorStateFile(env);
  const state = await runningEmulatorState(file);
  if (options.json) {
    printJson(io, {
      pid: state.pid,
      projectId: state.projectId,
      region: state.region,
      stateFile: file,
      env: state.env,
    });
  } else {
    io.stdout(exportLines(state.env));
  }
  return ExitCode.OK;
}
