/**
 * `vertex-launch build`: build a source directory into an image and push it, with the local Docker daemon or Cloud
 * Build. The tag is the content's (`ctx-<12 hex>`) unless the destination names one, so an unchanged source is
 * reused without building. Progress goes to stderr (plain lines when stderr is not a terminal); the result (URI and
 * digest) to stdout.
 */
import { basename, resolve } from 'node:path';
import { type BuildEvent, builderTypeProblem, type ResolvedImage, resolveImage } from '@vertex-launch/core';
import { ExitCode, UsageError } from '../exit-codes.js';
import type { GlobalOptions } from '../options.js';
import { dim, green, type Io, printJson } from '../output.js';
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

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** Renders build events on stderr: steps, upload bytes, log lines; redraws the upload line on a terminal. */
function progress(io: Io): (event: BuildEvent) => void {
  let drawing = false;
  const line = (text: string) => {
    if (drawing) io.stderr('\n');
    drawing = false;
    io.stderr(`${text}\n`);
  };
  return (event) => {
    switch (event.type) {
      case 'step':
        line(`[step ${event.current}${event.total === undefined ? '' : `/${event.total}`}] ${event.text}`);
        break;
      case 'upload':
        if (event.totalBytes !== undefined) {
          line(`[upload] ${size(event.totalBytes)} of build context sent`);
        } else if (io.isTTY) {
          io.stderr(`\r[upload] ${size(event.bytes)} sent`);
          drawing = true;
        }
        break;
      case 'push':
        if (event.done && event.layer) line(dim(io, `[push] layer ${event.layer} done`));
        break;
      case 'log':
        if (!/^Step \d+\/\d+ : /.test(event.line)) line(dim(io, `  ${event.line}`));
        break;
      case 'skipped':
        line(`[skipped] ${event.reason}`);
        break;
    }
  };
}

/** The builder's own options from the flags (Cloud Build's bucket and machine type; Docker's daemon from `env`). */
function builderOptions(name: string, options: BuildCommandOptions, env: NodeJS.ProcessEnv): Record<string, unknown> {
  if (name === 'cloudbuild') {
    return {
      env,
      ...(options.stagingBucket ? { stagingBucket: options.stagingBucket } : {}),
      ...(options.machineType ? { machineType: options.machineType } : {}),
    };
  }
  if (options.stagingBucket || options.machineType) {
    throw new UsageError(`--staging-bucket and --machine-type are options of --builder cloudbuild, not ${name}.`);
  }
  return name === 'docker' ? { env } : {};
}

/** `vertex-launch build --source DIR [...]`. */
export default async function buildCommand(options: BuildCommandOptions, io: Io, env = process.env): Promise<number> {
  const builderName = options.builder ?? 'docker';
  const problem = builderTypeProblem(builderName, '--builder');
  if (problem) throw new UsageError(`${problem}.`);
  const buildArgs = parseBuildArgs(options.buildArg);
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
  const builder = factory(builderOptions(builderName, options, env), builderRuntime(runtime));

  const controller = new AbortController();
  const onSignal = () => controller.abort(new Error('interrupted'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let reused = false;
  const show = options.json ? () => undefined : progress(io);
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
        show(event);
      },
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  reused ||= !result.built;
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
