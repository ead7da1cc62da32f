import { randomUUID } from 'node:crypto';
import {
  formatElapsed,
  imageReferenceProblem,
  type JobSnapshot,
  type LaunchEvent,
  type LaunchHandle,
  launch as launchJob,
  loadConfigFile,
  newRunId,
  planLaunch,
  type Runtime,
  requireProjectId,
  requireRegion,
} from '@vertex-launch/core';
import { contextTag, fingerprintContext } from '@vertex-launch/core/build';
import { credentialValues, directLaunchEnvAccess, type EnvAccess, maskSecretsDeep } from '@vertex-launch/core/config';
import { toRestJson } from '@vertex-launch/core/mapping';
import { ExitCode, UsageError } from '../exit-codes.js';
import type { GlobalOptions } from '../options.js';
import { dim, green, type Io, printJson, printWarnings, readLine, red, warningsJson, YES, yellow } from '../output.js';
import { builderFactory, builderRuntime, commandRuntime } from '../runtime.js';
import { jobJson, logLine, openRunner, stateText } from './jobs-runner.js';

export interface LaunchOptions extends GlobalOptions {
  queueConfig: string;
  image?: string;
  /** Build the image from this directory; `image` is then the repository (no tag). */
  source?: string;
  project?: string;
  region?: string;
  runId?: string;
  runName?: string;
  setVar?: string[];
  override?: string;
  dryRun?: boolean;
  /** Wait until the job ends (exit 1 when it does not succeed). */
  wait?: boolean;
  /** Print the job's logs while waiting (implies --wait). */
  follow?: boolean;
  /** On Ctrl-C while waiting, cancel the job without asking. */
  cancelOnInterrupt?: boolean;
  /** Seconds to look a create whose answer was lost up before any second create (the runner's `createLookup`). */
  createLookupWindow?: string;
}

/**
 * `vertex-launch launch`: resolve a queue config into a CreateCustomJobRequest; print it (`--dry-run`) or submit it
 * (and with `--wait` / `--follow`, track it to its end).
 */
export default async function launch(options: LaunchOptions, io: Io, env = process.env): Promise<number> {
  // `--queue NAME` enqueues for an agent instead of submitting (launch-enqueue.ts).
  const queue = (options as { queue?: string }).queue;
  if (queue !== undefined) {
    const { default: launchEnqueue } = await import('./launch-enqueue.js');
    return launchEnqueue({ ...options, queue }, io, env);
  }
  if (options.queueConfig === undefined) {
    throw new UsageError(
      'launch: pass --queue-config FILE (submit directly) or --queue NAME (enqueue for an agent; see `vertex-launch queue create`).',
    );
  }
  checkImageFlag(options.image);
  if (!options.dryRun) {
    return submitLaunch(options, io, env);
  }
  // The same runtime as a real launch (flags, environment, launch-config.yaml, gcloud config), without credentials.
  const runtime = await commandRuntime({ project: options.project, region: options.region }, env);
  const variables = parseSetVars(options.setVar ?? []);
  const overrides = options.override === undefined ? undefined : await readOverride(options.override);
  const raw = await loadConfigFile(options.queueConfig);
  const runId = options.runId ?? newRunId();
  // With --source the image is the repository plus the content tag the build would push (no build for a dry run).
  const imageUri =
    options.source !== undefined && options.image !== undefined
      ? contextTag(options.image, await fingerprintContext({ contextDir: options.source }))
      : options.image;
  const access = directLaunchEnvAccess(env);
  const { request, warnings } = planLaunch({
    config: raw,
    file: options.queueConfig,
    variables,
    overrides,
    env,
    ...launchEnvOptions(access),
    projectId: requireProjectId(runtime),
    region: requireRegion(runtime),
    runId,
    launchId: randomUUID(),
    ...(options.runName === undefined ? {} : { runName: options.runName }),
    ...(imageUri === undefined ? {} : { image: imageUri }),
  });
  // A credential variable the allowlist names is filled in the request, but never printed.
  const body = maskSecretsDeep(toRestJson(request), credentialValues(env, access));
  printWarnings(io, warnings, options.queueConfig);
  if (options.json) printJson(io, { ...body, warnings: warningsJson(warnings) });
  else io.stdout(`${JSON.stringify(body, null, 2)}\n`);
  return ExitCode.OK;
}

/** The `allowedEnv` options of a direct launch: `VERTEX_LAUNCH_ALLOWED_ENV`, else any non-credential name. */
function launchEnvOptions(access: EnvAccess): { allowedEnv?: readonly string[]; allowedEnvFrom?: string } {
  return {
    ...(access.allowed === undefined ? {} : { allowedEnv: access.allowed }),
    ...(access.from === undefined ? {} : { allowedEnvFrom: access.from }),
  };
}

/**
 * The warnings of the config a submit resolves (the same that `queue validate` and `--dry-run` report), printed on
 * stderr before anything is built or submitted. The core pipeline resolves the config again with the same input and
 * ids; with `--source`, `${image_uri}` is the repository with a placeholder tag, as in the pipeline's own check
 * before the build. An invalid config has no warnings here: the pipeline then throws the ConfigError with them all.
 */
/** `--image` must be an image reference as the OCI distribution spec defines it (a repository with `--source`). */
export function checkImageFlag(image: string | undefined): void {
  if (image === undefined) return;
  const problem = imageReferenceProblem(image);
  if (problem) throw new UsageError(`--image ${image}: not an image reference: ${problem}.`);
}

/** `--set-var name=value` flags to a map; a malformed one names the flag. */
export function parseSetVars(flags: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    if (eq <= 0) throw new UsageError(`--set-var ${JSON.stringify(flag)}: expected name=value, e.g. --set-var gpus=2`);
    out[flag.slice(0, eq)] = flag.slice(eq + 1);
  }
  return out;
}

/** `--override` is inline JSON (starts with `{`) or a YAML/JSON file. */
export async function readOverride(value: string): Promise<unknown> {
  const trimmed = value.trimStart();
  if (trimmed.startsWith('{')) {
    try {
      return JSON.parse(trimmed);
    } catch (error) {
      throw new UsageError(
        `--override: not valid JSON (${(error as Error).message}). Pass a JSON object or a file path.`,
      );
    }
  }
  try {
    // The same capped read as every config file (a device or a pipe stops at the 1 MB limit).
    return await loadConfigFile(value);
  } catch (error) {
    const code = (error as { cause?: { code?: string } }).cause?.code;
    if (code === 'ENOENT') {
      throw new UsageError(`--override ${value}: no such file, and not inline JSON (which starts with "{").`);
    }
    throw error;
  }
}

/** Renders launch progress on stderr: plain lines (coloured on a terminal), elapsed time on state changes. */
function renderEvent(io: Io, event: LaunchEvent): void {
  switch (event.type) {
    case 'submitted':
      io.stderr(
        `${green(io, '✓')} ${event.existing ? 'Found the job this launch already created' : 'Submitted'} ${event.jobName}\n  ${dim(io, event.consoleUrl)}\n`,
      );
      break;
    case 'state-changed':
      io.stderr(`${dim(io, `[+${formatElapsed(event.elapsedMs)}]`)} ${stateText(io, event)}\n`);
      break;
    case 'build-started':
      io.stderr(`Building ${event.imageUri} with ${event.builder}\n`);
      break;
    case 'build-log':
      io.stderr(`${dim(io, event.line)}\n`);
      break;
    case 'build-pushed':
      io.stderr(`${green(io, '✓')} Pushed ${event.imageUri} (${event.digest})\n`);
      break;
    case 'build-skipped':
      io.stderr(`${green(io, '✓')} Build skipped: ${event.reason}\n`);
      break;
    case 'submit-unknown':
      io.stderr(
        `${yellow(io, '?')} Submit unknown: the create's answer was lost (${event.reason}); looking up ${event.filter} until ${event.until.toISOString()} before any second create\n`,
      );
      break;
    default:
      break;
  }
}

/** Submits the launch for real, and with `--wait` / `--follow` tracks it to its end. */
async function submitLaunch(options: LaunchOptions, io: Io, env: NodeJS.ProcessEnv): Promise<number> {
  if (options.image === undefined) {
    throw new UsageError(
      options.source === undefined
        ? 'launch: --image <uri> is required to submit (or add --dry-run to only print the request).'
        : 'launch --source: pass --image <repository> (no tag), e.g. --image us-central1-docker.pkg.dev/my-proj/train/trainer: the built image is tagged with its content.',
    );
  }
  if (options.source !== undefined) checkRepository(options.image);
  const variables = parseSetVars(options.setVar ?? []);
  const overrides = options.override === undefined ? undefined : await readOverride(options.override);
  const raw = await loadConfigFile(options.queueConfig);
  // One runtime for the whole launch: the credentials are resolved once, for the build and the runner alike.
  const runtime = await commandRuntime({ project: options.project, region: options.region }, env, {
    credentials: true,
  });
  const build =
    options.source === undefined
      ? await givenImage(options.image, runtime)
      : await sourceBuild(options.source, options.image, runtime);
  const runner = await openRunner(runtime, lookupOption(options.createLookupWindow));
  // Listening from before the submit: a signal that comes while the job is created still cancels it once it exists.
  const stop = options.wait || options.follow ? listenForStop() : undefined;
  try {
    // The config's warnings, shown once it is resolved (before anything is built or submitted).
    let warnings: ReturnType<typeof warningsJson> = [];
    const handle = await launchJob({
      config: raw,
      file: options.queueConfig,
      variables,
      overrides,
      env,
      ...launchEnvOptions(directLaunchEnvAccess(env)),
      runtime,
      ...build,
      ...(options.runId === undefined ? {} : { runId: options.runId }),
      ...(options.runName === undefined ? {} : { runName: options.runName }),
      runner,
      onEvent: (event) => {
        if (event.type === 'resolved') {
          // The image check's warning (no tag) is about --image, not a line of the queue config.
          printWarnings(
            io,
            event.warnings.filter((w) => w.path !== 'image'),
            options.queueConfig,
          );
          printWarnings(
            io,
            event.warnings.filter((w) => w.path === 'image').map((w) => ({ ...w, path: '--image' })),
          );
          warnings = warningsJson(event.warnings);
        }
        if (!options.json) renderEvent(io, event);
      },
    });
    if (!options.wait && !options.follow) {
      if (options.json) printJson(io, { ...launchJson(handle), warnings, job: jobJson(handle.job) });
      else io.stdout(`${handle.jobName}\n`);
      return ExitCode.OK;
    }
    const final = await waitWithInterrupt(handle, options, io, stop as StopListener);
    if ('signal' in final) return SIGNAL_EXIT_CODES[final.signal];
    if (options.json) printJson(io, { ...launchJson(handle), warnings, job: jobJson(final) });
    else {
      const elapsed = formatElapsed(
        (final.endTime?.getTime() ?? Date.now()) - (handle.job.createTime?.getTime() ?? Date.now()),
      );
      if (final.status === 'succeeded') io.stderr(`${green(io, '✓')} ${handle.jobName} SUCCEEDED after ${elapsed}\n`);
      else {
        io.stderr(
          `${red(io, '✗')} ${handle.jobName} ${stateText(io, final)} after ${elapsed}${final.error?.message ? `: ${final.error.message}` : ''}\n`,
        );
      }
      io.stdout(`${handle.jobName}\n`);
    }
    return final.status === 'succeeded' ? ExitCode.OK : ExitCode.JOB_FAILED;
  } finally {
    stop?.dispose();
    await runner.close();
  }
}

/** `--create-lookup-window <seconds>` as the runner's `createLookup` option. */
function lookupOption(value: string | undefined): { createLookup?: { windowMs: number } } {
  if (value === undefined) return {};
  const seconds = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value.trim()) || !(seconds <= 86_400)) {
    throw new UsageError(
      `--create-lookup-window ${value}: expected seconds between 0 and 86400, e.g. --create-lookup-window 300.`,
    );
  }
  return { createLookup: { windowMs: Math.round(seconds * 1000) } };
}

/** `--source` needs `--image` to be a repository: the tag is the content's. */
function checkRepository(repository: string): void {
  if (/@|:[^/]*$/.test(repository)) {
    throw new UsageError(
      `launch --source: --image ${repository} has a tag or digest; pass the repository only — the tag is the content's (ctx-<hash>).`,
    );
  }
}

/**
 * `--image URI`: the pipeline checks in Artifact Registry (Google's or the emulator's) that the image exists before
 * it submits the job (a missing repository or tag is exit 2; no tag is looked up as `latest`, with a warning).
 */
async function givenImage(image: string, runtime: Runtime) {
  const credentials = runtime.credentials;
  if (!credentials) return { image };
  const { artifactRegistry } = await import('@vertex-launch/artifact-registry');
  return { image, registry: artifactRegistry({ credentials, endpoints: runtime.endpoints }) };
}

/**
 * `--source DIR --image REPOSITORY`: the pipeline builds DIR with local Docker (the builder registry's `docker`) and
 * pushes it as `REPOSITORY:ctx-<content hash>`, unless Artifact Registry already has that tag (then nothing is built
 * or pushed). Builder and registry take the launch's runtime (credentials, endpoints).
 */
async function sourceBuild(source: string, repository: string, runtime: Runtime) {
  const [factory, { artifactRegistry }] = await Promise.all([
    builderFactory('docker', 'launch --source'),
    import('@vertex-launch/artifact-registry'),
  ]);
  const credentials = runtime.credentials;
  return {
    source: { contextDir: source, image: repository },
    builder: factory({ env: runtime.env }, builderRuntime(runtime)),
    ...(credentials ? { registry: artifactRegistry({ credentials, endpoints: runtime.endpoints }) } : {}),
    ...(credentials ? { builderCredentials: credentials } : {}),
  };
}

function launchJson(handle: LaunchHandle) {
  return {
    jobName: handle.jobName,
    consoleUrl: handle.consoleUrl,
    runId: handle.runId,
    launchId: handle.launchId,
    imageUri: handle.imageUri,
    existing: handle.existing,
  };
}

/** The signals that stop waiting for a job, and the exit code of each (128 + its number, as a shell reports). */
const SIGNAL_EXIT_CODES = {
  SIGINT: ExitCode.INTERRUPTED,
  SIGTERM: ExitCode.TERMINATED,
  SIGHUP: ExitCode.HANGUP,
} as const;
type StopSignal = keyof typeof SIGNAL_EXIT_CODES;
const STOP_SIGNALS = Object.keys(SIGNAL_EXIT_CODES) as StopSignal[];

/** What stopped the wait, in words. */
const SIGNAL_TEXT: Record<StopSignal, string> = {
  SIGINT: 'Interrupted (SIGINT)',
  SIGTERM: 'Terminated (SIGTERM)',
  SIGHUP: 'Hung up (SIGHUP)',
};

/** SIGINT, SIGTERM and SIGHUP, caught: the first aborts `signal`, and `received` names it. */
interface StopListener {
  readonly signal: AbortSignal;
  received(): StopSignal | undefined;
  dispose(): void;
}

function listenForStop(): StopListener {
  const controller = new AbortController();
  let received: StopSignal | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    received ??= signal as StopSignal;
    controller.abort();
  };
  // \`on\`, not \`once\`: a \`signal-exit\` handler of a dependency re-raises a signal it sees no other listener for.
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  return {
    signal: controller.signal,
    received: () => received,
    dispose: () => {
      for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
    },
  };
}

/**
 * Waits for the job (printing its logs with --follow). Ctrl-C, SIGTERM or SIGHUP stop waiting: with
 * --cancel-on-interrupt the job is cancelled and its CANCELLED state awaited; after a Ctrl-C on a terminal the user
 * is asked; otherwise it keeps running and we say how to cancel it. Resolves with the final snapshot, or the signal.
 */
async function waitWithInterrupt(
  handle: LaunchHandle,
  options: LaunchOptions,
  io: Io,
  stop: StopListener,
): Promise<JobSnapshot | { signal: StopSignal }> {
  const following = options.follow
    ? (async () => {
        try {
          for await (const entry of handle.logs({ follow: true, signal: stop.signal })) {
            // With --json, stdout carries exactly one JSON object: the logs go to stderr.
            if (options.json) io.stderr(logLine(io, entry));
            else io.stdout(logLine(io, entry));
          }
        } catch (error) {
          if (!stop.signal.aborted) io.stderr(`${red(io, 'warning')} logs: ${(error as Error).message}\n`);
        }
      })()
    : Promise.resolve();
  try {
    const final = await handle.wait({ signal: stop.signal });
    await following;
    return final;
  } catch (error) {
    if (!stop.signal.aborted) throw error;
  } finally {
    stop.dispose();
  }
  const received = stop.received() ?? 'SIGINT';
  await stopWaiting(handle, options, io, received);
  return { signal: received };
}

/** After `signal` stopped the wait: cancels the job (or asks, or says how to). A second signal ends the process at once. */
async function stopWaiting(handle: LaunchHandle, options: LaunchOptions, io: Io, signal: StopSignal): Promise<void> {
  for (const s of STOP_SIGNALS) process.on(s, () => process.exit(SIGNAL_EXIT_CODES[s]));
  let cancel = options.cancelOnInterrupt === true;
  // Only a Ctrl-C has someone at the terminal to answer (after SIGHUP the terminal is gone).
  if (!cancel && signal === 'SIGINT' && io.isTTY && process.stdin.isTTY) {
    io.stderr(`\nCancel job ${handle.jobName}? [y/N] `);
    cancel = YES.test(await readLine());
  }
  if (cancel) {
    io.stderr(`\n${SIGNAL_TEXT[signal]}. Cancelling ${handle.jobName} ...\n`);
    const job = await handle.cancel({ timeoutMs: 5 * 60_000 });
    io.stderr(`${stateText(io, job)} ${handle.jobName}\n`);
  } else {
    io.stderr(
      `\n${SIGNAL_TEXT[signal]}: job ${handle.jobName} keeps running.\n  Cancel it with: vertex-launch jobs cancel ${handle.jobName}\n`,
    );
  }
}
