/**
 * Runs one Cloud Build build on the local Docker daemon: fetch the source tarball into a workspace, run the
 * steps in order (docker build/push/tag and kaniko natively; any other step as a container of its builder image
 * when that image is in the emulator's registry or present locally), push `images`, and stream the log to Cloud
 * Logging and to `log-<id>.txt` in the logs bucket.
 */
import { randomBytes } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import type Dockerode from 'dockerode';
import {
  buildImage,
  type DockerAuth,
  type DockerProgressEvent,
  dockerAnswers,
  EMULATOR_LABEL,
  hasImage,
  pullImage,
  pushImage,
  splitTag,
  tagImage,
} from '../docker/client.js';
import { runAttached } from '../docker/container.js';
import { parseRegistryImage } from '../registry/names.js';
import { type GcsClient, GcsError } from './gcs.js';
import {
  type DockerBuildCommand,
  dockerfileBaseImages,
  isNativeStep,
  parseNativeStep,
  StepArgsError,
} from './steps.js';
import type { BuildRecord, BuildStepInput } from './types.js';
import { isInside, packDirectory, unpackSource } from './workspace.js';

/** What a build run needs from the emulator. */
export interface BuildRunnerEnvironment {
  projectId: string;
  projectNumber: string;
  docker(): Promise<Dockerode>;
  registryAddress(): string;
  /** An access token of `email` (the build's service account). */
  tokenFor(email: string): string;
  /** The admin token (creates the default logs bucket). */
  adminToken(): string;
  gcs: GcsClient;
  log(text: string, severity?: 'INFO' | 'ERROR'): void;
}

/** How a build ended (the service turns it into a status). */
export interface BuildOutcome {
  ok: boolean;
  internal?: boolean;
  detail: string;
  failureInfo?: { type: string; detail: string };
  images: { name: string; digest: string }[];
  /** Writes the final log object. */
  flushLog(): Promise<void>;
}

/** A failure with its Cloud Build failure type. */
class BuildFailure extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

const LOG_TAIL = 5;

/** The build log: Cloud Logging entries now, the GCS object debounced (and at the end). */
class BuildLog {
  private readonly lines: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private dirty = false;
  private warned = false;

  constructor(
    private readonly build: BuildRecord,
    private readonly env: BuildRunnerEnvironment,
  ) {}

  line(text: string, severity: 'INFO' | 'ERROR' = 'INFO'): void {
    this.lines.push(text);
    this.env.log(text, severity);
    this.dirty = true;
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.upload();
    }, 300);
  }

  private upload(): Promise<void> {
    this.writing = this.writing.then(async () => {
      if (!this.dirty) return;
      this.dirty = false;
      const bucket = this.build.logsBucket.slice('gs://'.length);
      try {
        if (bucket === `${this.env.projectNumber}.cloudbuild-logs.googleusercontent.com`) {
          await this.env.gcs.ensureBucket(bucket, this.env.projectId, this.env.adminToken());
        }
        await this.env.gcs.write(
          bucket,
          `log-${this.build.id}.txt`,
          `${this.lines.join('\n')}\n`,
          this.env.tokenFor(this.build.serviceAccount),
        );
      } catch (error) {
        if (!this.warned) {
          this.warned = true;
          this.env.log(
            `The build log could not be written to ${this.build.logsBucket}: ${(error as Error).message}. Grant storage.objects.create on the bucket to ${this.build.serviceAccount}.`,
            'ERROR',
          );
        }
      }
    });
    return this.writing;
  }

  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.dirty = true;
    await this.upload();
  }
}

/** Runs `build`; never throws (failures come back as an outcome). */
export async function runBuild(
  build: BuildRecord,
  signal: AbortSignal,
  env: BuildRunnerEnvironment,
): Promise<BuildOutcome> {
  const log = new BuildLog(build, env);
  const images: { name: string; digest: string }[] = [];
  const createdTags: string[] = [];
  let workspace: string | undefined;
  let docker: Dockerode | undefined;
  const outcome = (o: Omit<BuildOutcome, 'images' | 'flushLog'>): BuildOutcome => ({
    ...o,
    images,
    flushLog: () => log.flush(),
  });
  const auth = (): DockerAuth => ({
    username: 'oauth2accesstoken',
    password: env.tokenFor(build.serviceAccount),
    serveraddress: env.registryAddress(),
  });
  const local = (image: string) => (isArtifactRegistryImage(image) ? `${env.registryAddress()}/${image}` : image);
  try {
    log.line(`starting build "${build.id}"`);
    log.line('');
    log.line('FETCHSOURCE');
    workspace = await mkdtemp(join(tmpdir(), `vxl-build-${build.id.slice(0, 8)}-`));
    await fetchSource(build, workspace, signal, env, log);
    docker = await env.docker();
    // No daemon is the emulator's own failure, not the build's: the build ends INTERNAL_ERROR ("Build or step failed
    // due to an internal cause", Build.Status in cloudbuild.proto), before any step is marked as having run.
    if (!(await dockerAnswers(docker))) {
      throw new Error(
        "the emulator's Docker daemon does not answer (start dockerd, or point DOCKER_HOST or the emulator's dockerSocket option at its socket)",
      );
    }
    const ctx: BuildContext = { docker, workspace, signal, auth, local, createdTags, build, env, log };
    await runSteps(ctx);
    if (signal.aborted) return outcome({ ok: false, detail: 'aborted' });
    await pushImages(ctx, images);
    if (signal.aborted) return outcome({ ok: false, detail: 'aborted' });
    log.line('DONE');
    return outcome({ ok: true, detail: '' });
  } catch (error) {
    if (signal.aborted) return outcome({ ok: false, detail: 'aborted' });
    const failure = error instanceof BuildFailure ? error : undefined;
    const detail = failure ? failure.message : `The emulator could not run the build: ${(error as Error).message}`;
    log.line('ERROR', 'ERROR');
    for (const line of detail.split('\n')) log.line(`ERROR: ${line}`, 'ERROR');
    return outcome({
      ok: false,
      internal: !failure,
      detail,
      ...(failure ? { failureInfo: { type: failure.type, detail: failure.message.split('\n')[0] ?? '' } } : {}),
    });
  } finally {
    if (workspace) await rm(workspace, { recursive: true, force: true }).catch(() => undefined);
    if (docker) {
      for (const tag of createdTags.reverse()) {
        await docker
          .getImage(tag)
          .remove()
          .catch(() => undefined);
      }
    }
  }
}

/** FETCHSOURCE: unpacks `source.storageSource`, read as the build's service account, into the workspace. */
async function fetchSource(
  build: BuildRecord,
  workspace: string,
  signal: AbortSignal,
  env: BuildRunnerEnvironment,
  log: BuildLog,
): Promise<void> {
  const source = build.input.source?.storageSource;
  if (!source?.bucket || !source.object) return;
  const generation = source.generation ? `#${source.generation}` : '';
  log.line(`Fetching storage object: gs://${source.bucket}/${source.object}${generation}`);
  // Build.timing FETCHSOURCE, "time to fetch source" (cloudbuild.proto): a build that times out while fetching
  // ends with this phase unfinished and every step QUEUED.
  const fetchPhase = phase(build, 'FETCHSOURCE');
  try {
    const data = await env.gcs.read(
      source.bucket,
      source.object,
      env.tokenFor(build.serviceAccount),
      source.generation ? String(source.generation) : undefined,
      signal,
    );
    const files = await unpackSource(data, workspace);
    log.line(`Copying gs://${source.bucket}/${source.object}${generation}...`);
    log.line(`Unpacked ${files} files (${data.length} bytes).`);
    fetchPhase.end = Date.now();
  } catch (error) {
    if (signal.aborted) throw error;
    const why =
      error instanceof GcsError && error.status === 403
        ? `${error.message} (the build's service account ${build.serviceAccount} needs storage.objects.get)`
        : (error as Error).message;
    // Cloud Build ends such a build FAILURE with failureInfo FETCH_SOURCE_FAILED, "The source fetching has
    // failed" (Build.FailureInfo.FailureType in cloudbuild.proto): the service sets both from this BuildFailure.
    fetchPhase.end = Date.now();
    throw new BuildFailure(
      'FETCH_SOURCE_FAILED',
      `failed to fetch source gs://${source.bucket}/${source.object}: ${why}`,
    );
  }
}

/** BUILD: runs the steps in order; a failing step throws a BuildFailure with its last log lines. */
async function runSteps(ctx: BuildContext): Promise<void> {
  const { build, log, signal } = ctx;
  const buildPhase = phase(build, 'BUILD');
  log.line('BUILD');
  for (const [i, step] of build.steps.entries()) {
    if (signal.aborted) break;
    const status = build.stepStatus[i];
    if (!status) continue;
    const prefix = step.id ? `Step #${i} - "${step.id}"` : `Step #${i}`;
    const stepLines: string[] = [];
    const stepLog = (text: string) => {
      stepLines.push(text);
      if (stepLines.length > 50) stepLines.shift();
      log.line(`${prefix}: ${text}`);
    };
    status.status = 'WORKING';
    status.start = Date.now();
    log.line(`Starting ${prefix}`);
    try {
      await runStep(step, { ...ctx, stepLog });
    } catch (error) {
      if (signal.aborted) break;
      status.status = 'FAILURE';
      status.end = Date.now();
      if (lostDaemon(error)) {
        status.status = 'INTERNAL_ERROR';
        throw new Error(
          `the emulator lost its Docker daemon during build step ${i}: ${(error as Error).message} (is dockerd running?)`,
        );
      }
      const tail = stepLines.slice(-LOG_TAIL);
      const message = `Build step ${i} "${step.name}" failed: ${(error as Error).message}`;
      throw new BuildFailure('USER_BUILD_STEP', tail.length > 0 ? `${message}\n${tail.join('\n')}` : message);
    }
    status.status = 'SUCCESS';
    status.end = Date.now();
    log.line(`Finished ${prefix}`);
  }
  buildPhase.end = Date.now();
}

/** PUSH: pushes the build's `images` and records their digests in `images`. */
async function pushImages(ctx: BuildContext, images: { name: string; digest: string }[]): Promise<void> {
  const { build, log, signal } = ctx;
  if (build.images.length === 0) return;
  const pushPhase = phase(build, 'PUSH');
  log.line('PUSH');
  for (const image of build.images) {
    if (!isArtifactRegistryImage(image)) {
      throw new BuildFailure(
        'PUSH_FAILED',
        `cannot push ${image}: the emulator's registry only takes Artifact Registry images (<location>-docker.pkg.dev/<project>/<repository>/<image>)`,
      );
    }
    if (!(await hasImage(ctx.docker, ctx.local(image)))) {
      throw new BuildFailure('PUSH_IMAGE_NOT_FOUND', `An image does not exist locally with the tag: ${image}`);
    }
    log.line(`Pushing ${image}`);
    try {
      const digest = await pushLocal(ctx, image, (t) => log.line(t));
      log.line(`${splitTag(image).tag ?? 'latest'}: digest: ${digest}`);
      images.push({ name: image, digest });
    } catch (error) {
      if (signal.aborted) break;
      const message = (error as Error).message;
      throw new BuildFailure(
        /denied|unauthorized/i.test(message) ? 'PUSH_NOT_AUTHORIZED' : 'PUSH_FAILED',
        `failed to push ${image}: ${message}`,
      );
    }
  }
  pushPhase.end = Date.now();
}

/** Pushes `image` from its local emulator-registry tag, as the build's service account; resolves with the digest. */
async function pushLocal(ctx: BuildContext, image: string, line: (text: string) => void): Promise<string> {
  const { digest } = await pushImage(ctx.docker, ctx.local(image), ctx.auth(), progress(line), ctx.signal);
  return digest;
}

/** Starts timing phase `name` of the build (`Build.timing`: FETCHSOURCE, BUILD, PUSH); set `end` when it is done. */
function phase(build: BuildRecord, name: string): { start: number; end?: number } {
  const span: { start: number; end?: number } = { start: Date.now() };
  build.phases[name] = span;
  return span;
}

/** True for an error of connecting to the Docker daemon (its socket gone or refusing), not of the step itself. */
function lostDaemon(error: unknown): boolean {
  const { code, syscall } = error as { code?: unknown; syscall?: unknown };
  return syscall === 'connect' && (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'EACCES');
}

function isArtifactRegistryImage(image: string): boolean {
  return parseRegistryImage(image) !== undefined;
}

/** Turns Docker progress events into log lines (build output, push/pull statuses without progress bars). */
function progress(line: (text: string) => void): (event: DockerProgressEvent) => void {
  return (event) => {
    if (event.stream !== undefined) {
      for (const part of event.stream.split('\n')) if (part.trim() !== '') line(part.replace(/\r$/, ''));
    } else if (event.status !== undefined && event.progress === undefined) {
      line(event.id ? `${event.id}: ${event.status}` : event.status);
    } else if (event.error !== undefined) {
      line(event.error);
    }
  };
}

/** What the phases of one build share. */
interface BuildContext {
  docker: Dockerode;
  workspace: string;
  signal: AbortSignal;
  auth(): DockerAuth;
  /** The reference Docker uses for `image`: Artifact Registry images live under the emulator's registry. */
  local(image: string): string;
  /** Tags the build created locally (removed when it ends). */
  createdTags: string[];
  build: BuildRecord;
  env: BuildRunnerEnvironment;
  log: BuildLog;
}

/** A step's view: the build's, plus the step's own log (lines prefixed `Step #N: `). */
interface StepContext extends BuildContext {
  stepLog(text: string): void;
}

function stepEnv(step: BuildStepInput): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of step.env ?? []) {
    const eq = entry.indexOf('=');
    if (eq > 0) out[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return out;
}

/** Resolves a step path: absolute `/workspace/...` paths map onto the build's workspace directory. */
function workspacePath(ctx: StepContext, cwd: string, path: string): string {
  if (path === '/workspace' || path.startsWith('/workspace/'))
    return join(ctx.workspace, path.slice('/workspace'.length));
  return resolve(cwd, path);
}

function inWorkspace(ctx: StepContext, path: string, what: string): string {
  if (!isInside(ctx.workspace, path)) throw new StepArgsError(`${what} is outside /workspace`);
  return path;
}

async function runStep(step: BuildStepInput, ctx: StepContext): Promise<void> {
  const name = step.name ?? '';
  if (!isNativeStep(name)) return runContainerStep(step, ctx);
  const command = parseNativeStep(name, step.args ?? [], step.entrypoint || undefined);
  const cwd = inWorkspace(ctx, workspacePath(ctx, ctx.workspace, step.dir ?? ''), `dir "${step.dir}"`);
  if (command.kind === 'push') {
    const target = ctx.local(command.image);
    if (!isArtifactRegistryImage(command.image)) {
      throw new StepArgsError(
        `cannot push ${command.image}: the emulator's registry only takes Artifact Registry images (<location>-docker.pkg.dev/...)`,
      );
    }
    if (!(await hasImage(ctx.docker, target))) {
      throw new StepArgsError(`An image does not exist locally with the tag: ${command.image}`);
    }
    ctx.stepLog(`The push refers to repository [${splitTag(command.image).name}]`);
    const digest = await pushLocal(ctx, command.image, ctx.stepLog);
    ctx.stepLog(`${splitTag(command.image).tag ?? 'latest'}: digest: ${digest}`);
    return;
  }
  if (command.kind === 'tag') {
    const source = (await hasImage(ctx.docker, ctx.local(command.source))) ? ctx.local(command.source) : command.source;
    for (const target of new Set([command.target, ctx.local(command.target)])) {
      await tagImage(ctx.docker, source, target);
      ctx.createdTags.push(target);
    }
    return;
  }
  await runDockerBuild(command, cwd, step, ctx);
}

/** A docker build or kaniko step: the context packed from the workspace, base images pulled, pushed after (kaniko). */
async function runDockerBuild(
  command: DockerBuildCommand,
  cwd: string,
  step: BuildStepInput,
  ctx: StepContext,
): Promise<void> {
  const contextDir = inWorkspace(
    ctx,
    workspacePath(ctx, cwd, command.context || '.'),
    `build context "${command.context}"`,
  );
  const dockerfile = await placeDockerfile(command, cwd, contextDir, ctx);
  const fromEnv = stepEnv(step);
  const buildArgs: Record<string, string> = {};
  for (const [k, v] of Object.entries(command.buildArgs)) {
    const value = v ?? fromEnv[k];
    if (value !== undefined) buildArgs[k] = value;
  }
  try {
    await pullBaseImages(dockerfileBaseImages(dockerfile.text, buildArgs), ctx);
    const tags = [...new Set(command.tags.flatMap((t) => [ctx.local(t), t]))];
    // The daemon may answer (refuse the build, or be cancelled) before it has read the whole context: the packing is
    // stopped, and its reads awaited, before the step ends and the workspace is removed.
    const context = packDirectory(contextDir);
    let packError: Error | undefined;
    context.stream.on('error', (error: Error) => {
      packError ??= error;
    });
    try {
      await buildImage(
        ctx.docker,
        context.stream,
        {
          tags,
          dockerfile: dockerfile.name,
          buildArgs,
          labels: command.labels,
          cacheFrom: command.cacheFrom.map((c) => ctx.local(c)),
          target: command.target,
          noCache: command.noCache,
          signal: ctx.signal,
        },
        progress(ctx.stepLog),
      );
    } catch (error) {
      throw packError ? new Error(`could not send the build context: ${packError.message}`) : error;
    } finally {
      await context.close();
    }
    ctx.createdTags.push(...tags);
  } finally {
    await dockerfile.cleanup();
  }
  if (command.pushAfter) {
    for (const tag of command.tags) {
      if (!isArtifactRegistryImage(tag)) throw new StepArgsError(`cannot push ${tag}: not an Artifact Registry image`);
      ctx.stepLog(`Pushed ${tag}@${await pushLocal(ctx, tag, ctx.stepLog)}`);
    }
  }
}

/**
 * Reads the step's Dockerfile and names it relative to the context; one outside the context is copied in for the
 * build (`cleanup` removes the copy).
 */
async function placeDockerfile(
  command: DockerBuildCommand,
  cwd: string,
  contextDir: string,
  ctx: StepContext,
): Promise<{ name: string; text: string; cleanup(): Promise<void> }> {
  const dockerfilePath = inWorkspace(
    ctx,
    command.file
      ? workspacePath(ctx, command.fileBase === 'context' ? contextDir : cwd, command.file)
      : join(contextDir, 'Dockerfile'),
    `Dockerfile "${command.file}"`,
  );
  let text: string;
  try {
    if (!(await stat(contextDir)).isDirectory()) throw new Error('not a directory');
    text = await readFile(dockerfilePath, 'utf8');
  } catch {
    throw new StepArgsError(
      `unable to prepare context: ${relative(ctx.workspace, dockerfilePath) || 'Dockerfile'} not found in /workspace (context ${relative(ctx.workspace, contextDir) || '.'})`,
    );
  }
  if (isInside(contextDir, dockerfilePath)) {
    return { name: relative(contextDir, dockerfilePath).split(sep).join('/'), text, cleanup: async () => {} };
  }
  const name = `.vxl-dockerfile-${randomBytes(4).toString('hex')}`;
  const copied = join(contextDir, name);
  await copyFile(dockerfilePath, copied);
  return { name, text, cleanup: () => rm(copied, { force: true }) };
}

/** Pulls the Artifact Registry base images not present locally from the emulator's registry, under their own names. */
async function pullBaseImages(bases: readonly string[], ctx: StepContext): Promise<void> {
  for (const base of bases) {
    if (!isArtifactRegistryImage(base) || (await hasImage(ctx.docker, base))) continue;
    ctx.stepLog(`Pulling ${base} from the emulator's registry`);
    await pullImage(ctx.docker, ctx.local(base), ctx.auth(), undefined, ctx.signal);
    await tagImage(ctx.docker, ctx.local(base), base);
  }
}

/** Runs a step in its builder image, with /workspace mounted, when the image is available without the internet. */
async function runContainerStep(step: BuildStepInput, ctx: StepContext): Promise<void> {
  const name = step.name ?? '';
  let image = name;
  if (isArtifactRegistryImage(name)) {
    image = ctx.local(name);
    await pullImage(ctx.docker, image, ctx.auth(), undefined, ctx.signal);
  } else if (!(await hasImage(ctx.docker, name))) {
    throw new StepArgsError(
      `the emulator cannot pull the builder image ${name} (no public registry is reachable). Use gcr.io/cloud-builders/docker or gcr.io/kaniko-project/executor steps (run natively), or a builder image pushed to the emulator's Artifact Registry`,
    );
  }
  const dir = step.dir ?? '';
  inWorkspace(ctx, resolve(ctx.workspace, dir), `dir "${dir}"`);
  const container = await ctx.docker.createContainer({
    Image: image,
    ...(step.entrypoint ? { Entrypoint: [step.entrypoint] } : {}),
    ...((step.args ?? []).length > 0 || step.entrypoint ? { Cmd: [...(step.args ?? [])] } : {}),
    Env: [
      `BUILD_ID=${ctx.build.id}`,
      `PROJECT_ID=${ctx.env.projectId}`,
      `PROJECT_NUMBER=${ctx.env.projectNumber}`,
      ...(step.env ?? []),
    ],
    WorkingDir: `/workspace${dir ? `/${dir}` : ''}`,
    Labels: { [EMULATOR_LABEL]: '1', [`${EMULATOR_LABEL}.build`]: ctx.build.id },
    HostConfig: { NetworkMode: 'host', Binds: [`${ctx.workspace}:/workspace`] },
    Tty: false,
  });
  try {
    const status = await runAttached(ctx.docker, container, { signal: ctx.signal, stdout: ctx.stepLog });
    if (status !== 0) throw new StepArgsError(`step exited with non-zero status: ${status}`);
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
  }
}
