import { Command, CommanderError, Option } from 'commander';
import { ExitCode } from './exit-codes.js';
import { type Io, processIo, reportError } from './output.js';

/** Options every command understands. */
export interface GlobalOptions {
  debug?: boolean;
  json?: boolean;
}

const EXIT_CODES_HELP = `
Exit codes:
  0    success
  1    the job or build ran and failed
  2    bad usage or invalid config (nothing was submitted)
  3    credentials missing or refused, or a permission is missing
  4    a Google API call failed
  130  interrupted`;

const collect = (value: string, previous: string[] = []) => [...previous, value];

/**
 * Builds the command tree. Each command's implementation is imported only when it runs, so `--help`,
 * `queue validate` and `launch --dry-run` never load the Google client libraries.
 */
export function createProgram(io: Io, setExitCode: (code: number) => void): Command {
  const program = new Command('vertex-launch')
    .description('Build, launch and track Google Vertex AI CustomJobs from queue configs.')
    .option('--debug', 'show stack traces and debug output')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', EXIT_CODES_HELP);

  const run =
    <O>(load: () => Promise<{ default: (options: O, io: Io) => Promise<number> }>) =>
    async (...args: unknown[]) => {
      const command = args[args.length - 1] as Command;
      const options = { ...command.optsWithGlobals(), ...positionalNames(command, args) } as O & GlobalOptions;
      try {
        const module = await load();
        setExitCode(await module.default(options, io));
      } catch (error) {
        setExitCode(reportError(io, error, options));
      }
    };

  const queue = program.command('queue').description('Work with queue configs.');
  queue
    .command('validate')
    .description('Check a queue config file and list every problem in it.')
    .argument('<file>', 'queue config (YAML or JSON)')
    .option('--json', 'print one JSON object: { valid, file, issues }')
    .addHelpText(
      'after',
      `
Examples:
  $ vertex-launch queue validate queue.yaml
  $ vertex-launch queue validate queue.yaml --json | jq '.issues[].path'`,
    )
    .action(run(() => import('./commands/queue-validate.js')));

  program
    .command('launch')
    .description('Turn a queue config and an image into a Vertex AI CustomJob.')
    .requiredOption('--queue-config <file>', 'queue config file (spec/run, YAML or JSON)')
    .option('--image <uri>', 'container image for ${image_uri}')
    .option('--project <id>', 'Google Cloud project (default: $GOOGLE_CLOUD_PROJECT)')
    .option('--region <region>', 'Vertex AI region (default: $GOOGLE_CLOUD_REGION)')
    .option('--run-id <id>', 'run id for ${run_id} (default: a new random id)')
    .option('--run-name <name>', 'run name for ${run_name} (default: the run id)')
    .addOption(new Option('--set-var <name=value>', 'set a template variable (repeatable)').argParser(collect))
    .option('--override <json-or-file>', 'overrides deep-merged into spec/run: inline JSON or a YAML/JSON file')
    .option('--dry-run', 'print the CreateCustomJobRequest instead of submitting it')
    .option('--json', 'print one JSON object (with --dry-run: { parent, customJob } in Vertex REST v1 form)')
    .addHelpText(
      'after',
      `
Examples:
  $ vertex-launch launch --queue-config queue.yaml --image us-docker.pkg.dev/p/r/train:1 \\
      --project my-proj --region us-central1 --dry-run --json
  $ vertex-launch launch --queue-config queue.yaml --image IMAGE --set-var gpus=2 \\
      --override '{"run":{"timeout":"2h"}}' --dry-run`,
    )
    .action(run(() => import('./commands/launch.js')));

  const emulator = program.command('emulator').description('A local Google Cloud for tests and offline work.');
  emulator
    .command('start')
    .description('Run the emulator in the foreground; print its endpoints and the environment to export.')
    .option('--project <id>', 'project id the emulator serves', 'vxl-emulator')
    .option('--region <region>', 'default region', 'us-central1')
    .option('--data-dir <dir>', 'persist state in this directory (default: in memory)')
    .option('--http-port <port>', 'port of the REST endpoints (default: any free port)')
    .option('--grpc-port <port>', 'port of the gRPC endpoints (default: any free port)')
    .option('--json', 'print one JSON object with the endpoints and environment, then keep running')
    .addHelpText(
      'after',
      `
Examples:
  $ vertex-launch emulator start
  $ vertex-launch emulator start --json > emulator.json &   # scripts: read .env from the JSON
  $ vertex-launch emulator start --data-dir .data/emulator   # keep jobs and objects across restarts`,
    )
    .action(run(() => import('./commands/emulator-start.js')));

  return program;
}

/** Maps positional arguments onto the names declared with `.argument()`. */
function positionalNames(command: Command, args: unknown[]): Record<string, unknown> {
  const names = command.registeredArguments.map((a) => a.name());
  const out: Record<string, unknown> = {};
  names.forEach((name, i) => {
    out[name] = args[i];
  });
  return out;
}

/** Runs the CLI with `argv` (as in `process.argv`) and resolves to the exit code. */
export async function main(argv: readonly string[], io: Io = processIo()): Promise<number> {
  let exitCode: number = ExitCode.OK;
  const program = createProgram(io, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are not errors; everything else commander rejects is a usage error.
      return error.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
    }
    return reportError(io, error);
  }
  return exitCode;
}
