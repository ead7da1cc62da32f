/**
 * `vertex-launch build`: build a source directory into an image and push it, with the local Docker daemon or Cloud
 * Build. The tag is the content's (`ctx-<12 hex>`) unless the destination names one, so an unchanged source is
 * reused without building. Progress goes to stderr (plain lines when stderr is not a terminal); the result (URI and
 * digest) to stdout.
 */
import { basename, resolve } from 'node:path';
import { builderTypeProblem, imageReferenceProblem, type ResolvedImage, resolveImage } from '@vertex-launch/core';
import { buildProgress, progressMode } from '../build-progress.js';
import { ExitCode, UsageError } from '../exit-codes.js';
import type { GlobalOptions } from '../options.js';
import { green, type Io, printJson, yellow } from '../output.js';
import { builderFactory, builderRuntime, commandRuntime } from '../runtime.js';

/** Flags of `vertex-launch build`. */
export interface BuildCommandOptions extends GlobalOptions {
  source: string;
  builder?: string;
  destination?: string;
  dockerfile?: string;
  buildArg?: string[];
  platform?: string;
  target?: string;
  project?: string;
  region?: string;
  stagingBucket?: string;
  machineType?: string;
  /** False with `--no-cache`: build without the layer cache (docker). */
  cache?: boolean;
  /** `--pull`: pull newer base images first (docker). */
  pull?: boolean;
  /** `--cache-from REF` (repeatable): images whose layers may be reused. */
  cacheFrom?: string[];
  /** `--progress plain|tty|auto`. */
  progress?: string;
}

/** The docker-like build flags `build` and `launch --source` share. */
export interface BuildFlags {
  /** False with `--no-cache` (commander's negatable flag). */
  cache?: boolean | undefined;
  pull?: boolean | undefined;
  cacheFrom?: string[] | undefined;
}

/**
 * The builder options of the build flags: all three for docker; `--cache-from` for Cloud Build, where `--no-cache`
 * and `--pull` change nothing (each build runs on a fresh worker: no layer cache, base images always pulled), which
 * is said on stderr; a builder package takes its own options, so the flags are refused for it.
 */
export function buildFlagOptions(name: string, flags: BuildFlags, io: Io): Record<string, unknown> {
  const cacheFrom = flags.cacheFrom ?? [];
  for (const ref of cacheFrom) {
    const problem = imageReferenceProblem(ref);
    if (problem) throw new UsageError(`--cache-from ${ref}: not an image reference: ${problem}.`);
  }
  const given = [
    ...(flags.cache === false ? ['--no-cache'] : []),
    ...(flags.pull ? ['--pull'] : []),
    ...(cacheFrom.length ? ['--cache-from'] : []),
  ];
  if (name === 'docker') {
    return {
      ...(flags.cache === false ? { noCache: true } : {}),
      ...(flags.pull ? { pull: true } : {}),
      ...(cacheFrom.length ? { cacheFrom } : {}),
    };
  }
  if (name === 'cloudbuild') {
    const moot = given.filter((flag) => flag !== '--cache-from');
    if (moot.length > 0) {
      io.stderr(
        `${yellow(io, 'warning')} ${moot.join(' and ')} ${moot.length === 1 ? 'does' : 'do'} not apply to --builder cloudbuild: every Cloud Build runs on a fresh worker (no layer cache, base images always pulled).\n`,
      );
    }
    return cacheFrom.length ? { cacheFrom } : {};
  }
  if (given.length > 0) {
    throw new UsageError(
      `${given.join(', ')}: options of --builder docker and cloudbuild only; set the options of builder ${name} in its own config.`,
    );
  }
  return {};
}

function parseBuildArgs(values: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const value of values ?? []) {
    const eq = value.indexOf('=');
    if (eq <= 0) throw new UsageError(`--build-arg ${value}: expected NAME=value, e.g. --build-arg EPOCHS=3.`);
    out[value.slice(0, eq)] = value.slice(eq + 1);
  }
  return out;
}

/** The builder's own options from the flags (Cloud Build's bucket and machine type; Docker's daemon from `env`). */
function builderOptions(
  name: string,
  options: BuildCommandOptions,
  env: NodeJS.ProcessEnv,
  io: Io,
): Record<string, unknown> {
  const flags = buildFlagOptions(name, options, io);
  if (name === 'cloudbuild') {
    return {
      env,
      ...flags,
      ...(options.stagingBucket ? { stagingBucket: options.stagingBucket } : {}),
      ...(options.machineType ? { machineType: options.machineType } : {}),
    };
  }
  if (options.stagingBucket || options.machineType) {
    throw new UsageError(`--staging-bucket and --machine-type are options of --builder cloudbuild, not ${name}.`);
  }
  return name === 'docker' ? { env, ...flags } : flags;
}

/** `vertex-launch build --source DIR [...]`. */
export default async function buildCommand(options: BuildCommandOptions, io: Io, env = process.env): Promise<number> {
  const builderName = options.builder ?? 'docker';
  const problem = builderTypeProblem(builderName, '--builder');
  if (problem) throw new UsageError(`${problem}.`);
  const buildArgs = parseBuildArgs(options.buildArg);
  const mode = progressMode(options.progress, io);
  const contextDir = resolve(options.source);
  const factory = await builderFactory(builderName, '--builder');

  const runtime = await commandRuntime({ project: options.project, region: options.region }, env, {
    credentials: true,
  });
  const project = runtime.projectId?.value;
  const region = runtime.region?.value;
  let repository = options.destination;
  if (repository === undefined) {
    if (!project || !region) {
      throw new UsageError(
        'Pass --destination (e.g. us-central1-docker.pkg.dev/my-project/my-repo/trainer), or --project and --region for the default <region>-docker.pkg.dev/<project>/vertex-launch/<source dir>.',
      );
    }
    const name =
      basename(contextDir)
        .toLowerCase()
        .replace(/[^a-z0-9._-]+/g, '-') || 'trainer';
    repository = `${region}-docker.pkg.dev/${project}/vertex-launch/${name}`;
  }
  const builder = factory(builderOptions(builderName, options, env, io), builderRuntime(runtime));

  const controller = new AbortController();
  const onSignal = () => controller.abort(new Error('interrupted'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let reused = false;
  const show = options.json ? undefined : buildProgress(io, mode);
  let result: ResolvedImage;
  try {
    // The context is scanned once; its content tag is looked up once; the builder packs what was scanned.
    result = await resolveImage({
      contextDir,
      ...(options.dockerfile ? { dockerfile: options.dockerfile } : {}),
      ...(Object.keys(buildArgs).length > 0 ? { buildArgs } : {}),
      ...(options.platform ? { platform: options.platform } : {}),
      ...(options.target ? { target: options.target } : {}),
      image: repository,
      builder,
      signal: controller.signal,
      onEvent: (event) => {
        if (event.type === 'started') {
          if (!options.json) io.stderr(`Building ${event.imageUri} with ${event.builder}\n`);
          return;
        }
        if (event.type === 'skipped') reused = true;
        show?.(event);
      },
    });
  } catch (error) {
    show?.finish('failed');
    throw error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  reused ||= !result.built;
  show?.finish(reused ? 'reused' : 'pushed');
  const digest = result.digest ?? 'unknown (the builder does not report it)';
  if (options.json) {
    printJson(io, { imageUri: result.imageUri, digest: result.digest ?? null, reused, builder: builder.name });
  } else if (reused) {
    io.stdout(`${green(io, 'Reused')} ${result.imageUri} (already in the registry)\ndigest ${digest}\n`);
  } else {
    io.stdout(`${green(io, 'Pushed')} ${result.imageUri}\ndigest ${digest}\n`);
  }
  return ExitCode.OK;
}
