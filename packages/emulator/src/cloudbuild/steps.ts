/**
 * Interpreting Cloud Build steps the emulator runs natively (the builder images cannot be pulled here):
 * `gcr.io/cloud-builders/docker` with `build`, `push` and `tag`, and `gcr.io/kaniko-project/executor`. Pure.
 */

/** A `docker build` as the emulator runs it. */
export interface DockerBuildCommand {
  kind: 'build';
  tags: string[];
  /** `-f`, relative to the step's working directory. */
  file: string | undefined;
  /** `--build-arg K=V`; a bare `K` takes the value from the step env (undefined when it has none). */
  buildArgs: Record<string, string | undefined>;
  cacheFrom: string[];
  target: string | undefined;
  labels: Record<string, string>;
  noCache: boolean;
  /** The context directory, relative to the step's working directory. */
  context: string;
  /** For kaniko: push every tag after the build. */
  pushAfter: boolean;
  /** What a relative `file` is relative to: the step's directory (docker) or the context (kaniko). */
  fileBase: 'cwd' | 'context';
}

/** A native step: build, push or tag. */
export type NativeCommand =
  | DockerBuildCommand
  | { kind: 'push'; image: string }
  | { kind: 'tag'; source: string; target: string };

/** Thrown for arguments the emulator cannot interpret; the message names the step and the fix. */
export class StepArgsError extends Error {}

const DOCKER_BUILDER = /^gcr\.io\/cloud-builders\/docker(:[\w.-]+)?$/;
const KANIKO = /^gcr\.io\/kaniko-project\/executor(:[\w.-]+)?$/;

/** True when the step is one the emulator executes itself instead of in its builder image. */
export function isNativeStep(name: string): boolean {
  return DOCKER_BUILDER.test(name) || KANIKO.test(name);
}

/** Splits `--flag=value` and takes the next argument for `--flag value`. */
function flagReader(args: readonly string[]) {
  let i = 0;
  return {
    done: () => i >= args.length,
    next(): string {
      return args[i++] as string;
    },
    value(flag: string, arg: string): string {
      const eq = arg.indexOf('=');
      if (arg.startsWith('--') && eq > 0) return arg.slice(eq + 1);
      if (i >= args.length) throw new StepArgsError(`${flag} needs a value`);
      return args[i++] as string;
    },
  };
}

function keyValue(text: string, what: string): [string, string | undefined] {
  const eq = text.indexOf('=');
  if (eq === 0) throw new StepArgsError(`${what} "${text}" has no name`);
  return eq < 0 ? [text, undefined] : [text.slice(0, eq), text.slice(eq + 1)];
}

/** Parses a native step into a command. `entrypoint` must be unset (or the builder's own binary). */
export function parseNativeStep(name: string, args: readonly string[], entrypoint: string | undefined): NativeCommand {
  if (DOCKER_BUILDER.test(name)) {
    if (entrypoint && entrypoint !== 'docker') {
      throw new StepArgsError(
        `entrypoint "${entrypoint}" is not supported for ${name}: the emulator runs docker build, push and tag steps itself`,
      );
    }
    return parseDocker(args);
  }
  if (KANIKO.test(name)) return parseKaniko(args);
  throw new StepArgsError(`${name} is not a builder the emulator runs natively`);
}

function parseDocker(args: readonly string[]): NativeCommand {
  const [sub, ...rest] = args;
  if (sub === 'push') {
    const images = rest.filter((a) => !a.startsWith('-'));
    if (images.length !== 1 || rest.some((a) => a.startsWith('-') && a !== '--quiet' && a !== '-q')) {
      throw new StepArgsError('docker push takes exactly one image (docker push IMAGE)');
    }
    return { kind: 'push', image: images[0] as string };
  }
  if (sub === 'tag') {
    if (rest.length !== 2) throw new StepArgsError('docker tag takes a source and a target (docker tag SOURCE TARGET)');
    return { kind: 'tag', source: rest[0] as string, target: rest[1] as string };
  }
  if (sub === 'build' || (sub === 'buildx' && rest[0] === 'build')) {
    const buildArgs = sub === 'buildx' ? rest.slice(1) : rest;
    return parseDockerBuild(buildArgs);
  }
  throw new StepArgsError(
    `docker ${sub ?? ''} is not supported by the emulator; use docker build, docker push or docker tag steps`,
  );
}

/** A build command with nothing set yet: docker build's defaults, or kaniko's (context `.`, push after, `-f` in the context). */
function emptyBuild(builder: 'docker' | 'kaniko'): DockerBuildCommand {
  return {
    kind: 'build',
    tags: [],
    file: undefined,
    buildArgs: {},
    cacheFrom: [],
    target: undefined,
    labels: {},
    noCache: false,
    context: builder === 'kaniko' ? '.' : '',
    pushAfter: builder === 'kaniko',
    fileBase: builder === 'kaniko' ? 'context' : 'cwd',
  };
}

/** How a builder spells the image to build and the Dockerfile. */
interface BuildFlagNames {
  tag: readonly string[];
  file: readonly string[];
}

/**
 * Applies one of the flags docker build and kaniko share — the tag and the Dockerfile (spelled as `names` says),
 * `--build-arg`, `--target`, `--label` — to `cmd`. Returns false for any other flag.
 */
function sharedBuildFlag(
  cmd: DockerBuildCommand,
  flag: string,
  arg: string,
  r: ReturnType<typeof flagReader>,
  names: BuildFlagNames,
): boolean {
  if (names.tag.includes(flag)) cmd.tags.push(r.value(flag, arg));
  else if (names.file.includes(flag)) cmd.file = r.value(flag, arg);
  else if (flag === '--target') cmd.target = r.value(flag, arg);
  else if (flag === '--build-arg') {
    const [k, v] = keyValue(r.value(flag, arg), 'build arg');
    cmd.buildArgs[k] = v;
  } else if (flag === '--label') {
    const [k, v] = keyValue(r.value(flag, arg), 'label');
    cmd.labels[k] = v ?? '';
  } else return false;
  return true;
}

const DOCKER_FLAGS: BuildFlagNames = { tag: ['-t', '--tag'], file: ['-f', '--file'] };
const KANIKO_FLAGS: BuildFlagNames = { tag: ['--destination', '-d'], file: ['--dockerfile', '-f'] };

function parseDockerBuild(args: readonly string[]): DockerBuildCommand {
  const cmd = emptyBuild('docker');
  const contexts: string[] = [];
  const r = flagReader(args);
  while (!r.done()) {
    const arg = r.next();
    const flag = (arg.startsWith('--') ? arg.split('=', 1)[0] : arg) as string;
    if (sharedBuildFlag(cmd, flag, arg, r, DOCKER_FLAGS)) continue;
    switch (flag) {
      case '--cache-from':
        cmd.cacheFrom.push(r.value(flag, arg));
        break;
      case '--network':
      case '--platform':
      case '--progress':
        r.value(flag, arg);
        break;
      case '--no-cache':
        cmd.noCache = true;
        break;
      case '--pull':
      case '-q':
      case '--quiet':
      case '--rm':
      case '--force-rm':
        break;
      default:
        if (arg.startsWith('-')) throw new StepArgsError(`docker build flag ${arg} is not supported by the emulator`);
        contexts.push(arg);
    }
  }
  if (contexts.length !== 1) {
    throw new StepArgsError('docker build needs exactly one context path (e.g. ".")');
  }
  cmd.context = contexts[0] as string;
  if (cmd.tags.length === 0) throw new StepArgsError('docker build needs a tag (-t IMAGE) so later steps can push it');
  return cmd;
}

function parseKaniko(args: readonly string[]): DockerBuildCommand {
  const cmd = emptyBuild('kaniko');
  const r = flagReader(args);
  while (!r.done()) {
    const arg = r.next();
    const flag = arg.split('=', 1)[0] as string;
    if (sharedBuildFlag(cmd, flag, arg, r, KANIKO_FLAGS)) continue;
    switch (flag) {
      case '--context':
      case '-c': {
        const value = r.value(flag, arg);
        if (!value.startsWith('dir://') && /^[a-z0-9]+:\/\//.test(value)) {
          throw new StepArgsError(
            `kaniko context ${value} is not supported; use a directory of the workspace (dir://...)`,
          );
        }
        cmd.context = value.replace(/^dir:\/\//, '');
        break;
      }
      case '--cache':
      case '--cache-ttl':
      case '--cache-repo':
      case '--snapshot-mode':
      case '--verbosity':
      case '--compressed-caching':
      case '--use-new-run':
      case '--single-snapshot':
      case '--cleanup':
      case '--reproducible':
        if (!arg.includes('=') && /^--(cache-ttl|cache-repo|snapshot-mode|verbosity)$/.test(flag)) r.value(flag, arg);
        break;
      case '--no-push':
        cmd.pushAfter = false;
        break;
      default:
        throw new StepArgsError(`kaniko flag ${arg} is not supported by the emulator`);
    }
  }
  if (cmd.tags.length === 0) throw new StepArgsError('kaniko needs --destination');
  return cmd;
}

/** `FROM` images of a Dockerfile (after `ARG` defaults and build args are substituted), excluding stage names and scratch. */
export function dockerfileBaseImages(dockerfile: string, buildArgs: Record<string, string | undefined>): string[] {
  const lines = dockerfile.replace(/\\\r?\n/g, ' ').split(/\r?\n/);
  const args: Record<string, string> = {};
  const stages = new Set<string>();
  const images: string[] = [];
  let seenFrom = false;
  for (const raw of lines) {
    const line = raw.trim();
    const arg = /^ARG\s+([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/i.exec(line);
    if (arg && !seenFrom) {
      const name = arg[1] as string;
      const value = buildArgs[name] ?? arg[2]?.replace(/^["']|["']$/g, '');
      if (value !== undefined) args[name] = value;
      continue;
    }
    const from = /^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?\s*$/i.exec(line);
    if (!from) continue;
    seenFrom = true;
    const image = (from[1] as string).replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_, n: string) => args[n] ?? '');
    if (image !== 'scratch' && !stages.has(image.toLowerCase())) images.push(image);
    if (from[2]) stages.add(from[2].toLowerCase());
  }
  return images;
}

/**
 * Applies Cloud Build substitutions to a string: `$NAME` and `${NAME}` for the built-ins and the build's
 * `_USER` substitutions; `$$` is a literal `$`. Unknown names are left alone; an unknown `_USER` name is reported in
 * `missing`, and every name that was replaced in `used` (for the MUST_MATCH checks).
 */
export function substitute(
  text: string,
  values: Record<string, string>,
  missing?: Set<string>,
  used?: Set<string>,
): string {
  return text.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (match, braced, bare) => {
    if (match === '$$') return '$';
    const name = (braced ?? bare) as string;
    if (Object.hasOwn(values, name)) {
      used?.add(name);
      return values[name] as string;
    }
    if (name.startsWith('_')) missing?.add(name);
    return match;
  });
}
