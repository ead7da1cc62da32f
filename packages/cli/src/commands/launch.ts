import { randomUUID } from 'node:crypto';
import {
  formatElapsed,
  imageReferenceProblem,
  type JobLogEntry,
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
import {
  credentialValues,
  directLaunchEnvAccess,
  type EnvAccess,
  LABEL_MAX_LENGTH,
  labelKeyProblem,
  labelValueProblem,
  maskSecretsDeep,
  RESERVED_LABEL_PREFIX,
} from '@vertex-launch/core/config';
import {
  describePricedSpend,
  describeSpendBound,
  parsePriceTable,
  priceSpend,
  spendBound,
  toRestJson,
} from '@vertex-launch/core/mapping';
import { type BuildProgress, buildProgress, progressMode } from '../build-progress.js';
import { ExitCode, UsageError } from '../exit-codes.js';
import type { GlobalOptions } from '../options.js';
import { dim, green, type Io, printJson, printWarnings, readLine, red, warningsJson, YES, yellow } from '../output.js';
import { builderFactory, builderRuntime, commandRuntime } from '../runtime.js';
import { type BuildFlags, buildFlagOptions } from './build.js';
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
  /** `--prices FILE` (with --dry-run): a price table of your own; the dry run adds what the request costs at most. */
  prices?: string;
  /** Wait until the job ends (exit 1 when it does not succeed). */
  wait?: boolean;
  /** Print the job's logs while waiting (implies --wait). */
  follow?: boolean;
  /** On Ctrl-C while waiting, cancel the job without asking. */
  cancelOnInterrupt?: boolean;
  /** Seconds to look a create whose answer was lost up before any second create (the runner's `createLookup`). */
  createLookupWindow?: string;
  /** `--labels k=v,k2=v2` (repeatable): job labels added to (and winning over) `spec.labels`. */
  labels?: string[];
  /** `--args=--epochs=5` (repeatable, one argument each): the container args of the pools that run the image. */
  args?: string[];
  /** `--display-name NAME`: `spec.display_name`. */
  displayName?: string;
  /** `--heartbeat SECONDS`: while the job runs quietly, a line this often (elapsed, last log line); 0: never. */
  heartbeat?: string;
  /** With `--source`, the docker-like build flags (see build.ts): false with `--no-cache`. */
  cache?: boolean;
  /** `--pull`. */
  pull?: boolean;
  /** `--cache-from IMAGE` (repeatable). */
  cacheFrom?: string[];
  /** `--progress plain|tty|auto`. */
  progress?: string;
}

/** `--labels team=ml,env=dev` flags (repeatable) as a label map, each checked by Vertex's rules; errors name the flag. */
export function parseLabels(flags: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const flag of flags) {
    for (const pair of flag.split(',')) {
      if (pair.trim() === '') continue;
      const eq = pair.indexOf('=');
      const key = (eq < 0 ? pair : pair.slice(0, eq)).trim();
      const value = eq < 0 ? '' : pair.slice(eq + 1).trim();
      if (eq < 0) {
        throw new UsageError(
          `--labels ${JSON.stringify(pair)}: expected key=value pairs, e.g. --labels team=ml,env=dev`,
        );
      }
      const problem =
        labelKeyProblem(key) ??
        (key.startsWith(RESERVED_LABEL_PREFIX)
          ? `\`${RESERVED_LABEL_PREFIX}*\` labels are set by Vertex Launch itself`
          : labelValueProblem(value));
      if (problem) {
        throw new UsageError(
          `--labels ${JSON.stringify(pair)}: ${problem} (keys and values: lowercase letters, digits, _ and -, at most ${LABEL_MAX_LENGTH} characters; keys start with a letter).`,
        );
      }
      out[key] = value;
    }
  }
  return out;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * The launch overrides of `--override` with `--labels`, `--display-name` and `--args` laid over them (the flags win).
 * `--args` replaces the args of every worker pool that runs the launch's image (`${image_uri}` in
 * `container_spec.image_uri`, or a `python_package_spec`), or of every pool when none does: lists are replaced
 * whole by overrides, so the pools of the queue config (or of `--override`) are copied with their new args.
 */
export function launchOverrides(
  options: { labels?: string[] | undefined; args?: string[] | undefined; displayName?: string | undefined },
  override: unknown,
  config: unknown,
): unknown {
  const labels = options.labels === undefined ? undefined : parseLabels(options.labels);
  if (options.displayName !== undefined) {
    const length = [...options.displayName].length;
    if (length === 0 || length > 128) {
      throw new UsageError(
        `--display-name: must be 1 to 128 characters, got ${length}; e.g. --display-name "resnet lr=0.1".`,
      );
    }
  }
  if (labels === undefined && options.displayName === undefined && options.args === undefined) return override;
  const base = isObject(override) ? override : {};
  const spec = isObject(base.spec) ? { ...base.spec } : {};
  if (labels !== undefined) spec.labels = { ...(isObject(spec.labels) ? spec.labels : {}), ...labels };
  if (options.displayName !== undefined) spec.display_name = options.displayName;
  if (options.args !== undefined) {
    const configSpec = isObject(config) && isObject(config.spec) ? config.spec : {};
    const pools = spec.worker_pool_specs ?? configSpec.worker_pool_specs;
    if (!Array.isArray(pools) || pools.length === 0) {
      throw new UsageError('--args: the queue config has no `spec.worker_pool_specs` to pass the args to.');
    }
    const runsImage = (pool: unknown) =>
      isObject(pool) &&
      ((isObject(pool.container_spec) && String(pool.container_spec.image_uri ?? '').includes('${image_uri}')) ||
        isObject(pool.python_package_spec));
    const targets = pools.some(runsImage) ? pools.map(runsImage) : pools.map(() => true);
    spec.worker_pool_specs = pools.map((pool, i) => {
      if (!targets[i] || !isObject(pool)) return pool;
      const key = isObject(pool.container_spec) ? 'container_spec' : 'python_package_spec';
      return { ...pool, [key]: { ...(isObject(pool[key]) ? pool[key] : {}), args: [...(options.args ?? [])] } };
    });
  }
  return { ...base, spec };
}

/**
 * `vertex-launch launch`: resolve a queue config into a CreateCustomJobRequest; print it (`--dry-run`) or submit it
 * (and with `--wait` / `--follow`, track it to its end).
 */
export default async function launch(options: LaunchOptions, io: Io, env = process.env): Promise<number> {
  // `--queue NAME` enqueues for an agent instead of submitting (launch-enqueue.ts).
  const queue = (options as { queue?: string }).queue;
  if (queue !== undefined) {
    const given = buildFlagsGiven(options);
    if (given.length > 0) {
      throw new UsageError(
        `launch --queue: ${given.join(', ')} do not reach the agent, which builds with builder.options of its launch-config.yaml; drop them, or launch with --queue-config.`,
      );
    }
    const { default: launchEnqueue } = await import('./launch-enqueue.js');
    return launchEnqueue({ ...options, queue }, io, env);
  }
  if (options.queueConfig === undefined) {
    throw new UsageError(
      'launch: pass --queue-config FILE (submit directly) or --queue NAME (enqueue for an agent; see `vertex-launch queue create`).',
    );
  }
  checkImageFlag(options.image);
  checkBuildFlags(options);
  if (options.prices !== undefined && !options.dryRun) {
    throw new UsageError(
      `--prices ${options.prices}: prices are for a dry run; add --dry-run to see what the request costs at most before submitting it.`,
    );
  }
  if (!options.dryRun) {
    return submitLaunch(options, io, env);
  }
  // The same runtime as a real launch (flags, environment, launch-config.yaml, gcloud config), without credentials.
  const runtime = await commandRuntime({ project: options.project, region: options.region }, env);
  const variables = parseSetVars(options.setVar ?? []);
  const raw = await loadConfigFile(options.queueConfig);
  const overrides = launchOverrides(
    options,
    options.override === undefined ? undefined : await readOverride(options.override),
    raw,
  );
  const runId = options.runId ?? newRunId();
  // With --source the image is the repository plus the content tag the build would push (no build for a dry run).
  const imageUri =
    options.source !== undefined && options.image !== undefined && !hasTag(options.image)
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
  // What the request can spend at most: replicas x accelerators x the timeout.
  const bound = spendBound(request);
  const priced =
    options.prices === undefined
      ? undefined
      : priceSpend(bound, parsePriceTable(await loadConfigFile(options.prices), options.prices));
  if (options.json) {
    printJson(io, {
      ...body,
      warnings: warningsJson(warnings),
      maxSpend: bound,
      ...(priced ? { maxCost: priced } : {}),
    });
  } else {
    io.stderr(`${dim(io, 'Spend:')} ${describeSpendBound(bound)}\n`);
    if (priced) io.stderr(`${dim(io, 'Cost:')}  ${describePricedSpend(priced)}\n`);
    io.stdout(`${JSON.stringify(body, null, 2)}\n`);
  }
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
function renderEvent(io: Io, event: LaunchEvent, build: BuildProgress): void {
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
      build({ type: 'log', line: event.line });
      break;
    case 'build-progress':
      build(event.event);
      break;
    case 'build-pushed':
      build.finish('pushed');
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
        : 'launch --source: pass --image <repository>, e.g. --image us-central1-docker.pkg.dev/my-proj/train/trainer (the built image is tagged with its content, ctx-<hash>), or <repository>:<tag> to push under your tag.',
    );
  }
  if (options.source !== undefined) checkRepository(options.image);
  const buildMode = progressMode(options.progress, io);
  const heartbeatMs = heartbeatInterval(options.heartbeat);
  const variables = parseSetVars(options.setVar ?? []);
  const raw = await loadConfigFile(options.queueConfig);
  const overrides = launchOverrides(
    options,
    options.override === undefined ? undefined : await readOverride(options.override),
    raw,
  );
  // One runtime for the whole launch: the credentials are resolved once, for the build and the runner alike.
  const runtime = await commandRuntime({ project: options.project, region: options.region }, env, {
    credentials: true,
  });
  const build =
    options.source === undefined
      ? await givenImage(options.image, runtime)
      : await sourceBuild(options.source, options.image, runtime, options, io);
  const buildShown = buildProgress(io, buildMode);
  const runner = await openRunner(runtime, lookupOption(options.createLookupWindow));
  // Listening from before the submit: a signal that comes while the job is created still cancels it once it exists.
  const stop = options.wait || options.follow ? listenForStop() : undefined;
  const heartbeat =
    (options.wait || options.follow) && !options.json && heartbeatMs > 0 ? new Heartbeat(io, heartbeatMs) : undefined;
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
        if (!options.json) renderEvent(io, event, buildShown);
        if (event.type === 'state-changed') heartbeat?.state(event.state);
      },
    });
    if (!options.wait && !options.follow) {
      if (options.json) printJson(io, { ...launchJson(handle), warnings, job: jobJson(handle.job) });
      else {
        io.stdout(`${handle.jobName}\n`);
        io.stderr(nextSteps(io, handle.job.id, options));
      }
      return ExitCode.OK;
    }
    if (!options.json) {
      // The state the submit answered with (QUEUED for a new job) is the first the wait shows: the tracker reports
      // only changes from it, so it would otherwise never be printed.
      io.stderr(`${dim(io, '[+0ms]')} ${stateText(io, handle.job)}\n`);
    }
    heartbeat?.state(handle.job.state);
    heartbeat?.start(handle, options.follow === true);
    const final = await waitWithInterrupt(handle, options, io, stop as StopListener, heartbeat);
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
    heartbeat?.stop();
    stop?.dispose();
    await runner.close();
  }
}

/** `--heartbeat <seconds>` (default 60; 0: never) in ms. */
function heartbeatInterval(value: string | undefined): number {
  if (value === undefined) return 60_000;
  const seconds = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value.trim()) || !(seconds <= 86_400)) {
    throw new UsageError(`--heartbeat ${value}: expected seconds between 0 (never) and 86400, e.g. --heartbeat 60.`);
  }
  return Math.round(seconds * 1000);
}

/**
 * While a job runs and nothing was printed for `everyMs`, one line on stderr: the time since the submit, how long it
 * has been RUNNING, and its last log line (the one printed with --follow, else read from Cloud Logging with
 * `tail: 1`), so a long quiet job shows it is alive.
 */
export class Heartbeat {
  #timer: NodeJS.Timeout | undefined;
  #lastOutput = Date.now();
  #runningSince: number | undefined;
  #lastLog: { text: string; at: number } | undefined;
  #reading = false;
  constructor(
    private readonly io: Io,
    private readonly everyMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** A state change was printed. */
  state(state: string): void {
    this.#lastOutput = this.now();
    if (state === 'JOB_STATE_RUNNING') this.#runningSince ??= this.now();
    else this.#runningSince = undefined;
  }

  /** A log line was printed (with --follow). */
  log(entry: JobLogEntry): void {
    this.#lastOutput = this.now();
    const at = Date.parse(entry.timestamp);
    this.#lastLog = { text: entry.text, at: Number.isNaN(at) ? this.now() : at };
  }

  start(handle: LaunchHandle, following: boolean): void {
    const submitted = handle.job.createTime?.getTime() ?? this.now();
    this.#timer = setInterval(() => void this.#beat(handle, following, submitted), Math.min(this.everyMs, 1_000));
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #beat(handle: LaunchHandle, following: boolean, submitted: number): Promise<void> {
    const now = this.now();
    if (this.#runningSince === undefined || this.#reading || now - this.#lastOutput < this.everyMs) return;
    this.#lastOutput = now;
    if (!following) {
      this.#reading = true;
      try {
        for await (const entry of handle.logs({ tail: 1 })) this.log(entry);
      } catch {
        // The heartbeat says what it knows; a failed read of the last line is no reason to stop waiting.
      } finally {
        this.#reading = false;
      }
      this.#lastOutput = now;
    }
    if (this.#timer === undefined || this.#runningSince === undefined) return;
    const last = this.#lastLog
      ? `; last log line (${formatElapsed(Math.max(0, now - this.#lastLog.at))} ago): ${this.#lastLog.text.slice(0, 200)}`
      : '; no log lines yet';
    this.io.stderr(
      `${dim(this.io, `[+${formatElapsed(now - submitted)}]`)} still RUNNING (for ${formatElapsed(now - this.#runningSince)})${last}\n`,
    );
  }
}

/** What to run next after a launch that does not wait: follow the logs, see the state. */
export function nextSteps(io: Io, jobId: string, flags: { project?: string; region?: string }): string {
  const where = `${flags.project ? ` --project ${flags.project}` : ''}${flags.region ? ` --region ${flags.region}` : ''}`;
  return `  ${dim(io, `follow it: vertex-launch jobs logs ${jobId}${where} --follow`)}\n  ${dim(io, `its state: vertex-launch jobs describe ${jobId}${where}`)}\n`;
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

/** True when an image reference ends in a tag or a digest. */
function hasTag(image: string): boolean {
  return /@|:[^/]*$/.test(image);
}

/**
 * `--source` takes `--image` as a repository (the tag is the content's, `ctx-<hash>`, and an image already pushed
 * is reused) or as `repository:tag` (always built and pushed under that tag); never a digest.
 */
function checkRepository(image: string): void {
  if (image.includes('@')) {
    throw new UsageError(
      `launch --source: --image ${image} has a digest; pass the repository (tagged with the content, ctx-<hash>) or repository:tag.`,
    );
  }
}

/** The build flags given. */
function buildFlagsGiven(options: LaunchOptions): string[] {
  return [
    ...(options.cache === false ? ['--no-cache'] : []),
    ...(options.pull ? ['--pull'] : []),
    ...(options.cacheFrom?.length ? ['--cache-from'] : []),
    ...(options.progress !== undefined ? ['--progress'] : []),
  ];
}

/** The build flags without `--source`: an error, since nothing is built. */
function checkBuildFlags(options: LaunchOptions): void {
  if (options.source !== undefined) return;
  const given = buildFlagsGiven(options);
  if (given.length > 0) {
    throw new UsageError(`launch: ${given.join(', ')} only apply with --source DIR (when the image is built).`);
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
 * pushes it as `REPOSITORY:ctx-<content hash>` (or as the tag `--image` names), unless Artifact Registry already has that content tag (then nothing is built
 * or pushed). Builder and registry take the launch's runtime (credentials, endpoints).
 */
async function sourceBuild(source: string, repository: string, runtime: Runtime, flags: BuildFlags, io: Io) {
  const [factory, { artifactRegistry }] = await Promise.all([
    builderFactory('docker', 'launch --source'),
    import('@vertex-launch/artifact-registry'),
  ]);
  const credentials = runtime.credentials;
  return {
    source: { contextDir: source, image: repository },
    builder: factory({ env: runtime.env, ...buildFlagOptions('docker', flags, io) }, builderRuntime(runtime)),
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
  heartbeat?: Heartbeat,
): Promise<JobSnapshot | { signal: StopSignal }> {
  const following = options.follow
    ? (async () => {
        try {
          for await (const entry of handle.logs({ follow: true, signal: stop.signal })) {
            heartbeat?.log(entry);
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
