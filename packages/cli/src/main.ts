import { createRequire } from 'node:module';
import { Command, CommanderError, Option } from 'commander';
import { ExitCode } from './exit-codes.js';
import type { GlobalOptions } from './options.js';
import { editDistance, type Io, isJsonOutput, processIo, reportError, usageErrorJson } from './output.js';

const EXIT_CODES_HELP = `
Exit codes:
  0    success
  1    the job or build ran and failed
  2    bad usage, invalid config or a refused build context (nothing was submitted)
  3    credentials missing or refused, or a permission is missing
  4    a Google API call failed
  5    the job may exist: a create's answer was lost and no lookup answered (the message names the filter)
  129  hung up (SIGHUP) while waiting for a job
  130  interrupted (Ctrl-C)
  143  terminated (SIGTERM) while waiting for a job
  141  stdout or stderr was closed early (e.g. by \`| head -1\`): stopped without a message`;

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Where `--project` / `--region` default from: the runtime every command resolves (docs/agent.md). */
const PROJECT_HELP = 'Google Cloud project (default: $GOOGLE_CLOUD_PROJECT, launch-config.yaml, gcloud config)';
const REGION_HELP = 'Vertex AI region (default: $GOOGLE_CLOUD_REGION, launch-config.yaml, gcloud config)';

/** The docker-like flags of `build` and `launch --source` (build.ts says which builder takes which). */
function withBuildFlags(command: Command): Command {
  return command
    .option('--no-cache', 'build without the layer cache (docker; Cloud Build never has one)')
    .option('--pull', 'pull newer base images before building (docker; Cloud Build always pulls)')
    .addOption(
      new Option(
        '--cache-from <image>',
        'reuse the layers of this image (repeatable; docker and cloudbuild)',
      ).argParser(collect),
    )
    .addOption(
      new Option(
        '--progress <mode>',
        'build output: tty (redrawn counters), plain (lines only) or auto (tty on a terminal)',
      ).choices(['auto', 'plain', 'tty']),
    );
}

/**
 * Builds the command tree. Each command's implementation is imported only when it runs, so `--help`,
 * `queue validate` and `launch --dry-run` never load the Google client libraries.
 */
export function createProgram(io: Io, setExitCode: (code: number) => void): Command {
  const program = new Command('vertex-launch')
    .description('Build, launch and track Google Vertex AI CustomJobs from queue configs.')
    .version(cliVersion(), '-V, --version', 'print the version of vertex-launch')
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
        setExitCode(reportError(io, error, { ...options, json: isJsonOutput(options) }));
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
  registerQueueCommands(queue, run);

  withBuildFlags(
    program
      .command('launch')
      .description('Turn a queue config and an image into a Vertex AI CustomJob.')
      .option('--queue-config <file>', 'queue config file (spec/run, YAML or JSON): submit directly')
      .option('--queue <name>', 'enqueue for an agent instead (see `queue create`); prints the item id')
      .option(
        '--source <dir>',
        'build the image from this directory (with --queue: the agent builds it); --image is then the repository (tagged ctx-<content hash>) or repository:tag',
      )
      .option(
        '--db <path>',
        'with --queue: the queue database (default: $VERTEX_LAUNCH_QUEUE_DB, queue_db, ~/.local/share)',
      )
      .option('--image <uri>', 'container image for ${image_uri}')
      .option('--project <id>', PROJECT_HELP)
      .option('--region <region>', REGION_HELP)
      .option('--run-id <id>', 'run id for ${run_id} (default: a new random id)')
      .option('--run-name <name>', 'run name for ${run_name} (default: the run id)')
      .addOption(new Option('--set-var <name=value>', 'set a template variable (repeatable)').argParser(collect))
      .option('--override <json-or-file>', 'overrides deep-merged into spec/run: inline JSON or a YAML/JSON file')
      .addOption(
        new Option(
          '--labels <key=value,...>',
          'job labels, added to spec.labels (repeatable; lowercase keys)',
        ).argParser(collect),
      )
      .addOption(
        new Option(
          '--args <arg>',
          'one container argument, replacing the args of the pools that run the image (repeatable: --args=--epochs=5 --args=--lr=0.1)',
        ).argParser(collect),
      )
      .option('--display-name <name>', 'display name of the job (spec.display_name; at most 128 characters)')
      .option('--dry-run', 'print the CreateCustomJobRequest instead of submitting it')
      .option(
        '--prices <file>',
        'with --dry-run: a price table of your own (YAML: currency, machines, accelerators per hour); the dry run adds the most the request costs',
      )
      .option('--wait', 'wait until the job ends, printing its state changes (exit 1 when it does not succeed)')
      .option('--follow', 'print the job logs while waiting (implies --wait)')
      .option(
        '--heartbeat <seconds>',
        'while waiting, a line this often when the running job is quiet: elapsed time and its last log line (0: never)',
        '60',
      )
      .option(
        '--cancel-on-interrupt',
        'on Ctrl-C, SIGTERM or SIGHUP while waiting, cancel the job (and wait for CANCELLED) without asking',
      )
      .option(
        '--create-lookup-window <seconds>',
        'after a create whose answer was lost, look its launch id up this long before any second create (default 300)',
      )
      .option(
        '--json',
        'print one JSON object with the config warnings in `warnings` (with --dry-run: { parent, customJob, warnings }, the request in Vertex REST v1 form)',
      ),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ vertex-launch launch --queue-config queue.yaml --image us-docker.pkg.dev/p/r/train:1 \\
      --project my-proj --region us-central1 --dry-run --json
  $ vertex-launch launch --queue-config queue.yaml --image IMAGE --set-var gpus=2 \\
      --override '{"run":{"timeout":"2h"}}' --dry-run
  $ vertex-launch launch --queue-config queue.yaml --image IMAGE --follow --cancel-on-interrupt
  $ vertex-launch launch --queue-config queue.yaml --image IMAGE --labels team=ml,exp=lr-sweep \
      --display-name "lr 0.1" --args=--epochs=5 --args=--lr=0.1`,
    )
    .action(run(() => import('./commands/launch.js')));

  withBuildFlags(
    program
      .command('build')
      .description('Build a source directory into an image and push it (reused when its content tag exists).')
      .requiredOption('--source <dir>', 'the build context: the directory with your training code')
      .option(
        '--builder <name>',
        'docker (the local daemon), cloudbuild (Google Cloud Build) or a builder package (@scope/name)',
        'docker',
      )
      .option('--destination <uri>', 'image repository (tag: the content tag ctx-<12 hex>) or a full URI with a tag')
      .option('--dockerfile <file>', 'Dockerfile, relative to --source or absolute (default: <source>/Dockerfile)')
      .addOption(new Option('--build-arg <name=value>', 'a Docker build arg (repeatable)').argParser(collect))
      .option('--platform <os/arch>', 'target platform (default linux/amd64, the only one Vertex AI runs)')
      .option('--target <stage>', 'Dockerfile stage to build')
      .option('--project <id>', `${PROJECT_HELP.slice(0, -1)}, the credentials)`)
      .option('--region <region>', 'region of the default destination (default: as --region of launch)')
      .option('--staging-bucket <bucket>', 'cloudbuild: bucket for the build context (default <project>_cloudbuild)')
      .option('--machine-type <type>', 'cloudbuild: build machine type, e.g. E2_HIGHCPU_8')
      .option('--json', 'print one JSON object: { imageUri, digest, reused, builder }'),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ vertex-launch build --source ./trainer --destination us-central1-docker.pkg.dev/my-proj/ml/trainer
  $ vertex-launch build --source . --builder cloudbuild --machine-type E2_HIGHCPU_8 --json`,
    )
    .action(run(() => import('./commands/build.js')));

  const jobs = program.command('jobs').description('List, inspect, cancel and read the logs of Vertex AI CustomJobs.');
  const jobArgument =
    'the numeric id, the full name projects/<p>/locations/<r>/customJobs/<id>, or the URL of its console page';
  const vertexFlags = (command: Command) =>
    command
      .option('--project <id>', PROJECT_HELP)
      .option('--region <region>', REGION_HELP)
      .option('--json', 'print JSON');
  listFlags(vertexFlags(jobs.command('list').description('Jobs launched by Vertex Launch, newest first.')))
    .option('--limit <n>', 'show at most n jobs (after --filter)', '50')
    .addOption(
      new Option(
        '--state <states>',
        'only jobs in these states, e.g. running or failed (repeatable, or comma-separated)',
      ).argParser(collect),
    )
    .option('--all', 'every CustomJob of the project and region, not only ours')
    .addHelpText(
      'after',
      `
--filter runs on the newest 1000 jobs (or --limit, when larger); --state is sent to Vertex and sees them all.
Fields: name, id, displayName, state, status, terminal, createTime, startTime, endTime, updateTime, error.KEY,
labels.KEY, imageUri, workerPools.N.KEY, consoleUrl (the keys of --json). See docs/cli-output.md.

Examples:
  $ vertex-launch jobs list --state running,pending
  $ vertex-launch jobs list --filter 'labels.team=ml AND displayName~train' --sort-by ~createTime
  $ vertex-launch jobs list --format 'table(id,state,workerPools.0.machineSpec.machineType)'
  $ vertex-launch jobs list --format 'value(name)' --state failed | xargs -n1 vertex-launch jobs describe
  $ vertex-launch jobs list --json | jq -r '.jobs[].name'`,
    )
    .action(run(() => import('./commands/jobs-list.js')));
  vertexFlags(
    jobs
      .command('describe')
      .alias('status')
      .description('Everything about one job: state, times, worker pools (machine, accelerators, args), error.'),
  )
    .argument('<job>', jobArgument)
    .addHelpText(
      'after',
      `
Examples:
  $ vertex-launch jobs describe 1234567890123456789 --region us-central1
  $ vertex-launch jobs describe 'https://console.cloud.google.com/vertex-ai/locations/us-central1/training/1234567890123456789/cpu?project=my-proj'
  $ vertex-launch jobs describe projects/my-proj/locations/us-central1/customJobs/1234567890123456789 --json`,
    )
    .action(run(() => import('./commands/jobs-describe.js')));
  vertexFlags(jobs.command('cancel').description('Cancel a job.'))
    .argument('<job>', jobArgument)
    .option('--wait', 'wait until Vertex reports the job CANCELLED')
    .addHelpText(
      'after',
      '\nExamples:\n  $ vertex-launch jobs cancel projects/p/locations/us-central1/customJobs/123 --wait\n  $ vertex-launch jobs cancel 123 --region us-central1',
    )
    .action(run(() => import('./commands/jobs-cancel.js')));
  vertexFlags(jobs.command('logs').description("A job's logs from Cloud Logging (JSON lines with --json)."))
    .argument('<job>', jobArgument)
    .option('--follow', 'keep printing new entries until the job ends')
    .option('--since <duration|time>', 'only entries from this long ago (90s, 10m, 2h, 1d) or this time (RFC 3339)')
    .option('--tail <n>', 'start with the last n entries (with --follow: then the new ones)')
    .option('--task <name>', 'only the entries of one replica, e.g. workerpool0-0 (the chief) or workerpool1-2')
    .addHelpText(
      'after',
      `
Examples:
  $ vertex-launch jobs logs 1234567890123456789 --follow
  $ vertex-launch jobs logs 1234567890123456789 --tail 50 --follow --task workerpool0-0
  $ vertex-launch jobs logs 1234567890123456789 --since 30m --json | jq -r .text`,
    )
    .action(run(() => import('./commands/jobs-logs.js')));
  vertexFlags(
    jobs
      .command('sweep')
      .description('Unfinished jobs with our labels that no queue item owns any more; --cancel cancels them.'),
  )
    .option('--cancel', 'ask Vertex to cancel the orphaned jobs (asks first; --yes without a terminal)')
    .option('--yes', 'with --cancel: do not ask')
    .option('--limit <n>', 'look at the newest n jobs', '1000')
    .option(
      '--db <path>',
      'queue database the items are in (default: $VERTEX_LAUNCH_QUEUE_DB, queue_db, ~/.local/share)',
    )
    .option('--agent-config <file>', 'agent config whose queue_db to use (default: launch-config.yaml when it exists)')
    .addHelpText(
      'after',
      `
A job is orphaned when its queue item finished (say its agent died before cancelling it), the item is gone, or it is a
second job of one launch. Jobs launched without a queue, and jobs of queues that are not in this store, are listed
but never cancelled.

Examples:
  $ vertex-launch jobs sweep
  $ vertex-launch jobs sweep --cancel --yes --json | jq '.jobs[] | select(.verdict == "orphan") | .job.name'`,
    )
    .action(run(() => import('./commands/jobs-sweep.js')));

  const auth = program.command('auth').description('Check credentials and permissions.');
  auth
    .command('check')
    .description('Show the credentials the chain picks and the launch permissions the principal lacks (exit 3).')
    .option(
      '--project <id>',
      'project to check (default: $GOOGLE_CLOUD_PROJECT, launch-config.yaml, gcloud config, the credentials)',
    )
    .option('--region <region>', 'region to report (default: $GOOGLE_CLOUD_REGION, launch-config.yaml, gcloud config)')
    .option('--service-account <email>', 'service account the job runs as: checks iam.serviceAccounts.actAs on it')
    .option('--json', 'print one JSON object (never the token)')
    .addHelpText(
      'after',
      `
Examples:
  $ vertex-launch auth check
  $ vertex-launch auth check --service-account trainer@my-proj.iam.gserviceaccount.com --json`,
    )
    .action(run(() => import('./commands/auth-check.js')));

  program
    .command('demo')
    .description(
      'Run the whole path on the bundled emulator: build examples/hello, queue it, launch it with an agent, follow its logs.',
    )
    .option('--no-docker', 'run the job on the emulator clock even when Docker is available (nothing is built)')
    .option('--epochs <n>', 'the template variable of the demo queue', '3')
    .option('--json', 'print one JSON object with the outcome')
    .option('--ui', "also serve the dashboard (vertex-launch ui) on the demo's emulator, until Ctrl-C")
    .option('--no-open', 'with --ui: print the dashboard URL without opening a browser')
    .addHelpText(
      'after',
      `
No Google account is needed: the emulator serves IAM, Vertex AI, Cloud Storage, Logging, Artifact Registry and
Cloud Build on loopback. With Docker running, the job really runs (its output is the job's log); without it, the
job moves through its states on the emulator's clock.

Examples:
  $ vertex-launch demo
  $ vertex-launch demo --ui            # watch it in the dashboard
  $ vertex-launch demo --no-docker --json`,
    )
    .action(run(() => import('./commands/demo.js')));

  program
    .command('ui')
    .description('Open the local web dashboard: queues, launches with live logs, agents and doctor (docs/ui.md).')
    .option('--host <address>', 'address to listen on; anything but loopback warns', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0: a free port)', '0')
    .option(
      '--db <path>',
      'queue database (default: $VERTEX_LAUNCH_QUEUE_DB, queue_db of the agent config, ~/.local/share)',
    )
    .option('--no-open', 'print the URL without opening a browser')
    .addHelpText(
      'after',
      `
The printed URL carries a random token for this session (then kept in a cookie); the dashboard refuses requests
without it and requests from other sites. Stop it with Ctrl-C.

Examples:
  $ vertex-launch ui
  $ vertex-launch ui --port 7420 --no-open`,
    )
    .action(run(() => import('./commands/ui.js')));

  const emulator = program.command('emulator').description('A local Google Cloud for tests and offline work.');
  emulator
    .command('start')
    .description(
      'Run the emulator in the foreground; print its endpoints and the `export` lines another shell needs (see `emulator env`).',
    )
    .option('--project <id>', 'project id the emulator serves', 'vxl-emulator')
    .option('--region <region>', 'default region', 'us-central1')
    .option('--data-dir <dir>', 'persist state in this directory (default: in memory)')
    .option('--http-port <port>', 'port of the REST endpoints (default: any free port)')
    .option('--grpc-port <port>', 'port of the gRPC endpoints (default: any free port)')
    .option(
      '--docker',
      "run each job's container (its first replica, from the emulator's registry) in local Docker, instead of moving it through its states on a clock",
    )
    .option('--json', 'print one JSON object with the endpoints and environment, then keep running')
    .addHelpText(
      'after',
      `
It prints the environment as \`export\` lines (the emulator's own access token included) and writes it to
$XDG_STATE_HOME/vertex-launch/emulator.json (~/.local/state/...), which \`vertex-launch emulator env\` prints again.
Images go to its Artifact Registry as on Google Cloud: \`vertex-launch setup\` creates the repository,
\`vertex-launch build\` pushes to <region>-docker.pkg.dev/<project>/<repository>/<image>.

Examples:
  $ vertex-launch emulator start                 # then, in another shell: eval "$(vertex-launch emulator env)"
  $ vertex-launch emulator start --docker        # jobs really run their image
  $ vertex-launch emulator start --json > emulator.json &   # scripts: read .env from the JSON
  $ vertex-launch emulator start --data-dir .data/emulator   # keep jobs and objects across restarts`,
    )
    .action(run(() => import('./commands/emulator-start.js')));
  emulator
    .command('env')
    .description('Print the `export` lines of the running emulator again, for eval "$(vertex-launch emulator env)".')
    .option('--json', 'print { pid, projectId, region, stateFile, env }')
    .addHelpText(
      'after',
      `
Reads the state file \`emulator start\` writes ($XDG_STATE_HOME/vertex-launch/emulator.json, ~/.local/state/...);
never starts an emulator. Exit 2 when none is running (no state file, its process ended, or it does not answer).

Examples:
  $ eval "$(vertex-launch emulator env)"
  $ vertex-launch emulator env --json | jq -r .env.VERTEX_LAUNCH_EMULATOR_HTTP`,
    )
    .action(run(() => import('./commands/emulator-env.js')));
  emulator
    .command('push-placeholder')
    .description(
      "Push a placeholder image (no layers, nothing to run) to the running emulator's Artifact Registry, to launch without Docker.",
    )
    .argument(
      '<image>',
      'Artifact Registry image URI with a tag: <region>-docker.pkg.dev/<project>/<repository>/<image>:<tag>',
    )
    .option('--json', 'print { imageUri, digest, placeholder }')
    .addHelpText(
      'after',
      `
Launches check that their image exists in Artifact Registry, on the emulator too. Without Docker, nothing can be
built: a placeholder lets a launch on the emulator's clock go through. The repository must exist (\`vertex-launch
setup\` creates it). Jobs of \`emulator start --docker\` run their image: push a real one (\`vertex-launch build\`).

Examples:
  $ vertex-launch emulator push-placeholder us-central1-docker.pkg.dev/vxl-emulator/train/hello:1`,
    )
    .action(run(() => import('./commands/emulator-push-placeholder.js')));

  program
    .command('agent')
    .description('Drain launch queues into Vertex AI jobs until SIGTERM/SIGINT (see docs/agent.md).')
    .option(
      '--config <file>',
      'agent config (default: $XDG_CONFIG_HOME or ~/.config /vertex-launch/launch-config.yaml)',
    )
    .option('--db <path>', 'queue database (default: $VERTEX_LAUNCH_QUEUE_DB, then queue_db of the config)')
    .option('--log-format <format>', 'json (pino lines on stdout) or human (stderr); default human on a terminal')
    .option('--status-interval <seconds>', 'log a status line (running and queued counts) this often; 0: never', '60')
    .addOption(
      new Option('-q, --queue <name>', 'drain this queue (repeatable; instead of `queues` of the config)').argParser(
        collect,
      ),
    )
    .option('-j, --max-jobs <n>', 'launches at once (instead of `max_jobs` of the config; -1: no limit)')
    .addHelpText(
      'after',
      `
With --queue the agent config file may be missing (the defaults and the flags are then the whole config).

Examples:
  $ vertex-launch agent
  $ vertex-launch agent -q gpu-t4 -q cpu -j 4
  $ vertex-launch agent --config launch-config.yaml --log-format json | jq -c 'select(.itemId)'`,
    )
    .action(run(() => import('./commands/agent.js')));

  const config = program.command('config').description('Show the effective settings.');
  config
    .command('show')
    .description('The effective project, region, agent config, queue db, auth and emulator, and where each came from.')
    .option('--project <id>', 'as other commands take it (wins over the environment and the config files)')
    .option('--region <region>', 'as other commands take it')
    .option(
      '--config <file>',
      'agent config (default: $XDG_CONFIG_HOME or ~/.config /vertex-launch/launch-config.yaml)',
    )
    .option('--db <path>', 'queue store: a SQLite file or a store URL (sqlite:, postgres://)')
    .option('--json', 'print { settings: { name: { value, source } }, warnings }')
    .addHelpText(
      'after',
      `
Precedence, the same for every command: flags > environment variables > the agent config file (launch-config.yaml)
> gcloud config (core/project, ai/region, compute/region) > defaults.
Reads files and the environment only; secrets (access tokens) are reported as "set", never printed.

Examples:
  $ vertex-launch config show
  $ vertex-launch config show --json | jq -r '.settings.queueDb.value'`,
    )
    .action(run(() => import('./commands/config-show.js')));

  program
    .command('completion')
    .description('Print a shell completion script for bash, zsh or fish.')
    .argument('<shell>', 'bash, zsh or fish')
    .addHelpText(
      'after',
      `
Completes commands, options, files, the values of options with a fixed set (--progress, --format, --state, ...) and
queue names (after --queue/-q and for the queue commands' <name>), which the script reads from the queue store
(VERTEX_LAUNCH_QUEUE_DB or launch-config.yaml) when you press Tab.

Examples:
  $ source <(vertex-launch completion bash)                       # bash, this shell
  $ vertex-launch completion bash > ~/.local/share/bash-completion/completions/vertex-launch
  $ vertex-launch completion zsh > "\${fpath[1]}/_vertex-launch"     # zsh (then: compinit)
  $ vertex-launch completion fish > ~/.config/fish/completions/vertex-launch.fish`,
    )
    .action(run(() => import('./commands/completion.js')));

  program
    .command('__complete', { hidden: true })
    .description('Values for the completion scripts: `__complete queues` prints the queue names.')
    .argument('<what>', 'queues')
    .option('--db <path>', 'queue database')
    .action(
      run(async () => {
        const { completeValues } = await import('./commands/completion.js');
        return { default: completeValues };
      }),
    );

  program
    .command('init')
    .description('Write launch-config.yaml and a first queue (asks on a terminal; flags otherwise).')
    .option('--project <id>', 'Google Cloud project (default: $GOOGLE_CLOUD_PROJECT, gcloud config)')
    .option('--region <region>', 'Vertex AI region of the jobs (default: $GOOGLE_CLOUD_REGION, gcloud config)')
    .option('--staging-bucket <gs://bucket>', 'Cloud Storage bucket in the same region, for outputs and staging')
    .option(
      '--repository <repo>',
      'Artifact Registry Docker repository: an id (train) or <region>-docker.pkg.dev/<project>/<repo>[/<image>]',
    )
    .option(
      '--service-account <email>',
      'service account the jobs run as (default: the Vertex AI Custom Code Service Agent)',
    )
    .option('--queue <name>', 'name of the first queue', 'default')
    .option(
      '--config <path>',
      'agent config to write (default: $XDG_CONFIG_HOME or ~/.config /vertex-launch/launch-config.yaml)',
    )
    .option('--db <path>', 'queue database (default: $VERTEX_LAUNCH_QUEUE_DB, ~/.local/share/vertex-launch/queues.db)')
    .option('--force', 'overwrite an existing agent config and queue')
    .option('--interactive', 'ask the questions even when stdin is not a terminal (one answer per line)')
    .option('--json', 'print what was written as JSON')
    .addHelpText(
      'after',
      `
On a terminal it asks only what no flag answered, and nothing when the flags give --project, --region and
--staging-bucket. Without a terminal those three are required (exit 2 names the missing ones).
Files are written owner-only (0600) and never overwritten without --force.

Examples:
  $ vertex-launch init
  $ vertex-launch init --project my-proj --region us-central1 --staging-bucket gs://my-proj-vertex \\
      --repository train --service-account trainer@my-proj.iam.gserviceaccount.com
  $ vertex-launch init --queue gpu-t4 --config ./launch-config.yaml --force`,
    )
    .action(run(() => import('./commands/init.js')));

  withDoctorOptions(
    program
      .command('doctor')
      .description('Check the setup (credentials, API, bucket, repository, permissions, queue) before launching.'),
  )
    .option('--json', 'print one JSON object: { ok, checks: [{ id, title, ok, status, evidence, fix }] }')
    .option('--fix', 'make the safe fixes of the failed checks, as `vertex-launch setup` does')
    .option('--yes', 'with --fix: make them without asking (needed without a terminal)')
    .option('--dry-run', 'with --fix: print the plan only')
    .addHelpText(
      'after',
      `
Each check prints ✓ (pass), ✗ (fail, with the fix), ! (warning) or - (not checked). Exit code when a check
fails: 3 for credentials/permissions, else 4 for an API failure, else 2 for config (see docs/doctor.md).

Examples:
  $ vertex-launch doctor
  $ vertex-launch doctor --queue gpu-t4
  $ vertex-launch doctor --queue-config queue.yaml --region europe-west4
  $ vertex-launch doctor --json | jq -r '.checks[] | select(.ok | not) | .fix'
  $ vertex-launch doctor --fix --dry-run`,
    )
    .action(run(() => import('./commands/doctor.js')));

  withDoctorOptions(
    program
      .command('setup')
      .description(
        'Make the fixes doctor knows are safe: enable the APIs, create the bucket, repository and job service account, grant the roles.',
      ),
  )
    .option('--yes', 'make the changes without asking (needed without a terminal)')
    .option('--dry-run', 'print the plan (each change and its gcloud command) and change nothing')
    .option('--json', 'print one JSON object: { ok, exitCode, dryRun, changed, steps: [...], doctor }')
    .addHelpText(
      'after',
      `
Runs the doctor's checks, shows what it will create or grant (with the equivalent gcloud command), asks on a
terminal, makes the changes with your credentials, then runs doctor again. Only adds: never deletes a resource or
removes a role binding. A second run changes nothing. Exit code: 3 when a change was refused (permission), 4 when
an API failed, else doctor's (see docs/doctor.md#setup).

Examples:
  $ vertex-launch setup --dry-run
  $ vertex-launch setup
  $ vertex-launch setup --yes --queue gpu-t4`,
    )
    .action(run(() => import('./commands/setup.js')));

  return program;
}

/** The options doctor and setup share: which queue, agent config, database, project and region. */
function withDoctorOptions(command: Command): Command {
  return command
    .option('--queue <name>', 'queue to check (default: the first of `queues` in the agent config)')
    .option('--queue-config <file>', 'check this queue config file instead of a stored queue')
    .option(
      '--config <file>',
      'agent config (default: $XDG_CONFIG_HOME or ~/.config /vertex-launch/launch-config.yaml)',
    )
    .option(
      '--db <path>',
      'queue database (default: $VERTEX_LAUNCH_QUEUE_DB, queue_db of the agent config, ~/.local/share)',
    )
    .option(
      '--project <id>',
      'project (default: the queue, $GOOGLE_CLOUD_PROJECT, environment.project, gcloud config, the credentials)',
    )
    .option(
      '--region <region>',
      'region (default: the queue, $GOOGLE_CLOUD_REGION, environment.region, gcloud config)',
    );
}

/** `--filter`, `--sort-by` and `--format` of a list command (src/list-format.ts checks them before any I/O). */
function listFlags(command: Command): Command {
  return command
    .option(
      '--filter <expression>',
      "only rows that match, e.g. 'state=RUNNING labels.team=ml' (AND, OR, NOT, ( ); = != ~ !~ : < <= > >=)",
    )
    .option('--sort-by <fields>', 'sort by these fields (comma-separated; ~field: descending)')
    .option('--format <format>', 'json (as --json), yaml, table(field,...) or value(field,...); default: a table');
}

/** The version of this package (its package.json, one directory above src/ and dist/). */
function cliVersion(): string {
  const require = createRequire(import.meta.url);
  return (require('../package.json') as { version: string }).version;
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
  const args = argv.slice(2);
  const json = jsonRequested(args);
  try {
    refuseUnknownCommands(program, args);
    await program.parseAsync([...argv]);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are not errors; everything else commander rejects is a usage error (printed by commander
      // on stderr; with --json also as one JSON object on stdout).
      if (error.exitCode === 0) return ExitCode.OK;
      if (json) usageErrorJson(io, error.message.replace(/^error: /, ''), 'Run the command with --help for its usage.');
      return ExitCode.USAGE;
    }
    return reportError(io, error, { json });
  }
  return exitCode;
}

/** `--json`, `--format json` or `--format=json` among the arguments (before any `--`). */
function jsonRequested(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  const own = end < 0 ? args : args.slice(0, end);
  return own.some(
    (arg, i) =>
      arg === '--json' ||
      /^--format=json$/i.test(arg) ||
      (arg === '--format' && own[i + 1]?.trim().toLowerCase() === 'json'),
  );
}

/**
 * An unknown subcommand is a usage error (exit 2) with a did-you-mean, whatever follows it. Commander itself answers
 * `jobs describ --help` with the help of `jobs` and exit 0 (it looks for --help before it looks the subcommand up),
 * so `jobs <typo> --help` seemed to work; this walks the command path first. Only the command words are checked:
 * the commands that have subcommands (`queue`, `jobs`, ...) take no option with a value, so every word that does not
 * start with `-` before the leaf command is a command name.
 */
function refuseUnknownCommands(program: Command, args: readonly string[]): void {
  let command = program;
  for (const arg of args) {
    if (arg === '--') return;
    if (arg.startsWith('-')) continue;
    if (command.commands.length === 0) return;
    if (arg === 'help') continue; // `help jobs describe`: the path after it is checked the same way
    const sub = command.commands.find((c) => c.name() === arg || c.aliases().includes(arg));
    if (!sub) {
      const names = command.commands.flatMap((c) => [c.name(), ...c.aliases()]);
      const near = names
        .map((name) => ({ name, distance: editDistance(arg.toLowerCase(), name) }))
        .filter(
          ({ name, distance }) =>
            distance <= Math.max(1, Math.floor(arg.length / 3)) || (arg.length >= 3 && name.startsWith(arg)),
        )
        .sort((a, b) => a.distance - b.distance)
        .map(({ name }) => name);
      const path = [program.name(), ...commandPath(command)].join(' ');
      command.error(
        `error: unknown command '${arg}' for '${path}' (its commands: ${command.commands.map((c) => c.name()).join(', ')})${near.length > 0 ? `\n(Did you mean ${near.slice(0, 2).join(' or ')}?)` : ''}`,
        { exitCode: ExitCode.USAGE, code: 'commander.unknownCommand' },
      );
      return;
    }
    command = sub;
  }
}

/** The names of a command and its parents, below the program: `['queue', 'items']`. */
function commandPath(command: Command): string[] {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names;
}

/** `queue create|list|show|update|delete|items|cancel|export|import|migrate` (the queue database commands). */
function registerQueueCommands(
  queue: Command,
  run: <O>(
    load: () => Promise<{ default: (options: O, io: Io) => Promise<number> }>,
  ) => (...args: unknown[]) => Promise<void>,
): void {
  type Admin = typeof import('./commands/queue-admin.js');
  type AdminOptions = import('./commands/queue-admin.js').QueueAdminOptions;
  const admin = (pick: (m: Admin) => Admin['list']) =>
    run<AdminOptions>(async () => {
      const m = await import('./commands/queue-admin.js');
      const command = pick(m);
      return { default: (options: AdminOptions, io: Io) => command(options, io) };
    });
  const dbFlags = (command: Command) =>
    command
      .option(
        '--db <path>',
        'queue database (default: $VERTEX_LAUNCH_QUEUE_DB, queue_db of the agent config, ~/.local/share)',
      )
      .option(
        '--agent-config <file>',
        'agent config whose queue_db to use (default: launch-config.yaml when it exists)',
      )
      .option('--json', 'print JSON');
  dbFlags(queue.command('create').description('Save a queue; refuses until its config is complete (exit 2).'))
    .argument('<name>', 'queue name: lowercase letters, digits, - and _')
    .option(
      '--queue-config <file>',
      'queue config (YAML or JSON); default: the default queue config (print it with --print-default), which needs staging_bucket',
    )
    .addOption(new Option('--config <file>', 'deprecated: --queue-config').hideHelp())
    .option('--print-default', 'print the default queue config to start a file from, and save nothing')
    .option('--project <id>', 'project of its launches (default: the agent environment.project)')
    .option('--region <region>', 'region of its launches (default: the agent environment.region)')
    .option('--description <text>', 'shown by queue list')
    .addHelpText(
      'after',
      `
Examples:
  $ vertex-launch queue create gpu-t4 --print-default > gpu-t4.yaml   # then set spec.staging_bucket
  $ vertex-launch queue create gpu-t4 --queue-config gpu-t4.yaml --project my-proj --region us-central1`,
    )
    .action(admin((m) => m.create));
  listFlags(dbFlags(queue.command('list').description('Queues with their item counts.')))
    .addHelpText(
      'after',
      `
Fields: name, resource, project, region, description, createdAt, updatedAt, config.KEY, items.queued,
items.claimed, items.finished (the keys of --json). See docs/cli-output.md.

Examples:
  $ vertex-launch queue list --filter 'region=us-central1' --format 'value(name)'
  $ vertex-launch queue list --sort-by ~items.queued --format 'table(name,items.queued,items.claimed)'`,
    )
    .action(admin((m) => m.list));
  dbFlags(queue.command('show').description('A queue: project, region, variables, overrides and config.'))
    .argument('<name>', 'queue name')
    .action(admin((m) => m.show));
  dbFlags(queue.command('update').description('Change a queue (the new config must validate).'))
    .argument('<name>', 'queue name')
    .option('--queue-config <file>', 'the new queue config (replaces the old one)')
    .addOption(new Option('--config <file>', 'deprecated: --queue-config').hideHelp())
    .option('--project <id>', 'project of its launches ("" removes it)')
    .option('--region <region>', 'region of its launches ("" removes it)')
    .option('--description <text>', 'shown by queue list ("" removes it)')
    .action(admin((m) => m.update));
  dbFlags(queue.command('delete').description('Delete a queue; refuses while items are unfinished unless --force.'))
    .argument('<name>', 'queue name')
    .option('--force', 'delete anyway, marking unfinished items failed (their jobs are not cancelled)')
    .action(admin((m) => m.remove));
  listFlags(
    dbFlags(queue.command('items').description('Launch requests of a queue, newest first: state, phase, job, error.')),
  )
    .argument('<name>', 'queue name')
    .addOption(
      new Option(
        '--state <states>',
        'only items in these states: queued, claimed, succeeded, failed, cancelled; finished is all three (repeatable, or comma-separated)',
      ).argParser(collect),
    )
    .option('--limit <n>', 'show at most n items (after --state and --filter)', '50')
    .addHelpText(
      'after',
      `
An item's state (the STATE column, \`state\` in --json) is one of the --state values.
Fields: id, queue, launchId, runId, state, phase, jobStatus, cancelRequested, submitUnknown, imageUri, jobName,
failure.KEY, agentId, leaseExpiresAt, attempts, enqueuedAt, updatedAt, finishedAt, request.KEY, events.N.KEY
(the keys of --json).

Examples:
  $ vertex-launch queue items gpu-t4 --state queued,claimed
  $ vertex-launch queue items gpu-t4 --state failed --format 'table(id,runId,failure.phase,failure.message)'
  $ vertex-launch queue items gpu-t4 --filter 'request.variables.epochs>=10' --sort-by enqueuedAt --format yaml`,
    )
    .action(admin((m) => m.items));
  dbFlags(queue.command('cancel').description('Cancel an item: at once when queued, else its agent cancels the job.'))
    .argument('<item>', 'item id (from queue items or launch --queue)')
    .action(admin((m) => m.cancel));

  type Transfer = typeof import('./commands/queue-transfer.js');
  type TransferOptions = import('./commands/queue-transfer.js').QueueTransferOptions;
  const transfer = (pick: (m: Transfer) => Transfer['exportQueues']) =>
    run<TransferOptions>(async () => {
      const m = await import('./commands/queue-transfer.js');
      const command = pick(m);
      return { default: (options: TransferOptions, io: Io) => command(options, io) };
    });
  dbFlags(
    queue
      .command('export')
      .description('Write queues and every item with its history as JSON Lines (to move a queue to another store).'),
  )
    .argument('[names...]', 'queues to export (default: every queue, and the items of deleted queues)')
    .option('-o, --output <file>', 'write the export to this file (owner-only) instead of stdout')
    .addHelpText(
      'after',
      `
Stop the agents of the store first (SIGTERM gives their launches back to the queue).

Examples:
  $ vertex-launch queue export gpu-t4 --output gpu-t4.jsonl
  $ vertex-launch queue export --db ~/.local/share/vertex-launch/queues.db > all.jsonl`,
    )
    .action(transfer((m) => m.exportQueues));
  type FromGcloudOptions = import('./commands/queue-from-gcloud.js').QueueFromGcloudOptions;
  dbFlags(
    queue
      .command('import')
      .description(
        'Add the queues and items of an export, keeping ids, phases and job names; all or nothing. With --from-gcloud: convert a gcloud job config into a queue config.',
      ),
  )
    .argument('[file]', 'an export of `queue export` (- reads stdin)')
    .option('--skip-existing', 'add the items to queues that already exist in the target (default: refuse)')
    .option(
      '--from-gcloud <file>',
      'instead: convert the --config file of `gcloud ai custom-jobs create` (a camelCase CustomJobSpec) into a queue config, printed or written with --output',
    )
    .option('-o, --output <file>', 'with --from-gcloud: write the queue config to this file (never overwritten)')
    .option(
      '--staging-bucket <gs://bucket>',
      'with --from-gcloud: spec.staging_bucket (default: the bucket of baseOutputDirectory)',
    )
    .option('--display-name <name>', 'with --from-gcloud: spec.display_name (gcloud takes it as --display-name)')
    .option('--keep-image', "with --from-gcloud: keep the file's image instead of ${image_uri} (given per launch)")
    .addHelpText(
      'after',
      `
An item that was claimed in the source comes back queued; the next agent resumes it at its phase. An import run
twice skips the items already there. Delete the queue from the old store afterwards, so nothing drains it twice.

--from-gcloud maps workerPoolSpecs, machineSpec, containerSpec, diskSpec, serviceAccount, network, enableWebAccess ...
to their snake_case names under spec, scheduling (timeout, restartJobOnWorkerRestart, strategy, ...) to run, and
baseOutputDirectory.outputUriPrefix to spec.base_output_dir; keys it cannot map are named on stderr. Nothing is
saved to the queue store: create the queue from the file with \`queue create NAME --config FILE\`.

Examples:
  $ vertex-launch queue import gpu-t4.jsonl --db postgres://vxl@db.internal/launch
  $ vertex-launch queue export gpu-t4 | vertex-launch queue import - --db "$TEAM_DB"
  $ vertex-launch queue import --from-gcloud job.yaml --output queue.yaml && vertex-launch queue create gpu --config queue.yaml`,
    )
    .action(
      run<TransferOptions & Partial<FromGcloudOptions>>(async () => ({
        default: async (options, io) => {
          if (options.fromGcloud === undefined)
            return (await import('./commands/queue-transfer.js')).importQueues(options, io);
          if (options.file !== undefined) {
            const { UsageError } = await import('./exit-codes.js');
            throw new UsageError(
              `queue import: give an export FILE or --from-gcloud FILE, not both (got ${options.file} and --from-gcloud ${options.fromGcloud}).`,
            );
          }
          return (await import('./commands/queue-from-gcloud.js')).default(options as FromGcloudOptions, io);
        },
      })),
    );
  dbFlags(queue.command('migrate').description("Bring the queue store's schema to this version (PostgreSQL)."))
    .option('--check', 'only report the schema version and whether a migration is due')
    .addHelpText(
      'after',
      `
Agents and commands migrate a store when they open it; run this as the schema's owner when the agents' database
user may not change the schema. SQLite stores migrate whenever they are opened.

Examples:
  $ vertex-launch queue migrate --db postgres://owner@db.internal/launch
  $ vertex-launch queue migrate --check --json`,
    )
    .action(transfer((m) => m.migrateQueues));
}
