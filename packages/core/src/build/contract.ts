/**
 * The image builder contract. A builder is a plain object made by a typed factory
 * (`dockerBuilder(options) -> ImageBuilder`); the implementations (local Docker, Cloud Build, ...) live in their own
 * packages. Core only defines the shape, the progress events and {@link defineBuilder}, which validates a plugin's
 * options with the plugin's own zod schema when the factory is called.
 */
import type { z } from 'zod';
import type { AuthCredentials } from '../auth.js';
import { closestKey } from '../config/suggest.js';
import { type OptionIssue, optionsError } from '../plugins.js';
import type { ServiceEndpoints } from '../runtime/endpoints.js';
import { type PackOptions, type PreparedContext, prepareContext } from './context.js';

/** What to build: the context options of {@link PackOptions} plus the build parameters that enter the fingerprint. */
export interface BuildContextInput extends PackOptions {
  /** `--build-arg` values. They enter the fingerprint (sorted by name). */
  buildArgs?: Record<string, string>;
  /** The Dockerfile stage to build (`--target`). */
  target?: string;
  /** The platform to build for. Vertex AI runs `linux/amd64` only, which is the default. */
  platform?: string;
}

/** A progress event of a build. Builders may emit any subset; `log` lines are also kept for {@link BuildError}'s tail. */
export type BuildEvent =
  /** One line of builder output (no trailing newline). */
  | { type: 'log'; line: string; stream?: 'stdout' | 'stderr' }
  /** A build step started: `current` of `total` (1-based; `total` when known), e.g. a Dockerfile instruction. */
  | { type: 'step'; current: number; total: number | undefined; text: string }
  /** Bytes of the build context sent so far (to a daemon or a bucket), of `totalBytes` when known. */
  | { type: 'upload'; bytes: number; totalBytes: number | undefined }
  /** Push progress of one layer (or of the whole image when `layer` is absent). */
  | { type: 'push'; layer?: string; bytes: number; totalBytes: number | undefined; done?: boolean }
  /** The build was skipped, e.g. because the content-addressed tag already exists in the registry. */
  | { type: 'skipped'; reason: string; imageUri: string }
  /** `resolveImage()` found the image missing and starts `builder` on it (emitted before the builder's own events). */
  | { type: 'started'; builder: string; imageUri: string };

/** Registry credentials a builder may need to push (e.g. `docker login -u oauth2accesstoken`). Never logged. */
export interface BuilderCredentials {
  /** Returns a current OAuth2 access token for the registry. */
  accessToken(): Promise<{ token: string }>;
  /** The principal the push is made as, for messages. Never a secret. */
  principal?: string;
}

/** The argument of {@link ImageBuilder.build}. */
export interface BuildRequest extends BuildContextInput {
  /** The full image reference to build and push, e.g. `europe-docker.pkg.dev/p/repo/train:ctx-0123456789ab`. */
  destination: string;
  /** Aborts the build (the builder stops its work and rejects with an `INTERRUPTED`-coded error or an AbortError). */
  signal?: AbortSignal;
  /** Receives progress events. Must not throw; builders ignore errors thrown by it. */
  onEvent?: (event: BuildEvent) => void;
  /** Credentials for the registry, when the builder pushes itself. */
  credentials?: BuilderCredentials;
  /**
   * The context, already scanned, checked and fingerprinted (by `resolveImage()`): the builder packs it instead of
   * scanning the directory again. Without it the builder prepares the context itself ({@link preparedContextOf}).
   */
  context?: PreparedContext;
}

/** The result of a build: the pushed image and its digest (`sha256:...`). */
export interface BuildResult {
  imageUri: string;
  digest: string;
}

/**
 * An image builder plugin. Failed builds reject with a {@link BuildError} naming the builder and carrying the tail of
 * its log. `build()` always builds: whether the content tag is already pushed is decided once, before, by
 * `resolveImage()` (with the registry plugin or the builder's `exists()`).
 */
export interface ImageBuilder {
  /** Short kebab-case name used in messages: `[vertex-launch] [builder:<name>] ...`. */
  readonly name: string;
  /** Builds and pushes the image. */
  build(request: BuildRequest): Promise<BuildResult>;
  /** True when `imageUri` already exists in the registry, so the build can be skipped. Optional. */
  exists?(imageUri: string): Promise<boolean>;
  /** The digest `imageUri` has in its registry, or undefined when it is not there. Optional (preferred to `exists`). */
  digestOf?(imageUri: string): Promise<string | undefined>;
}

/** A registry plugin: answers whether an image tag already exists (so a content-addressed build can be skipped). */
export interface ImageRegistry {
  /** Short kebab-case name used in messages, e.g. `artifact-registry`. */
  readonly name: string;
  /** True when `imageUri` (`host/path:tag`) exists. */
  tagExists(imageUri: string): Promise<boolean>;
  /** The manifest digest the tag points at, or undefined when it does not exist. Optional (preferred to `tagExists`). */
  getDigest?(imageUri: string): Promise<string | undefined>;
  /**
   * True when the repository of `imageUri` exists. Optional: when given, a launch of a missing image says whether
   * the repository or only the tag is missing.
   */
  repositoryExists?(imageUri: string): Promise<boolean>;
}

const BUILDER_NAME = /^[a-z][a-z0-9-]*$/;

function issuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

function describeIssue(issue: z.core.$ZodIssue, input: unknown, known: readonly string[]): OptionIssue[] {
  const path = issuePath(issue.path);
  if (issue.code === 'invalid_type' && issue.path.length > 0) {
    let parent: unknown = input;
    for (const key of issue.path.slice(0, -1)) {
      parent =
        parent !== null && typeof parent === 'object' ? (parent as Record<PropertyKey, unknown>)[key] : undefined;
    }
    const last = issue.path[issue.path.length - 1]!;
    const missing = parent === null || typeof parent !== 'object' || !(last in (parent as object));
    if (missing || (parent as Record<PropertyKey, unknown>)[last] === undefined) {
      return [{ path, message: `Missing required option \`${path}\`.` }];
    }
  }
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => {
      const full = path === '' ? k : `${path}.${k}`;
      const right = path === '' ? closestKey(k, known) : undefined;
      return { path: full, message: `Unknown option \`${full}\`${right ? `; did you mean \`${right}\`?` : '.'}` };
    });
  }
  return [{ path, message: path === '' ? `${issue.message}.` : `Option \`${path}\`: ${issue.message}.` }];
}

/**
 * What a builder may take from the runtime of the command that uses it (`resolveRuntime()`), besides its own
 * options: the registries pass it as the factory's second argument, so the same options work against Google and the
 * emulator. Options the caller gives win.
 */
export interface BuilderRuntime {
  /** The Google Cloud project (e.g. Cloud Build's). */
  readonly projectId?: string | undefined;
  /** The Vertex AI region of the jobs. */
  readonly region?: string | undefined;
  /** Credentials for the registry and the build service. */
  readonly credentials?: AuthCredentials | undefined;
  /** Where the Google APIs are reached. */
  readonly endpoints?: ServiceEndpoints | undefined;
}

/** A builder factory made by {@link defineBuilder}: options (validated) and, optionally, the runtime. */
export interface BuilderFactory<Input = Record<string, unknown>> {
  (options: Input, runtime?: BuilderRuntime): ImageBuilder;
  /** The name of the builders it makes (how the builder registry recognises a factory). */
  readonly builderName: string;
}

/**
 * Typed factory helper for builder plugins. Returns a factory that validates its options with `schema` when it is
 * called (applying the schema's defaults), then hands the parsed options — and the runtime, when the caller gives
 * one — to `factory`. Invalid options throw a {@link ConfigError} listing every problem, each message naming the
 * plugin (and, for a misspelt option, the right name):
 * `[vertex-launch] [builder:docker] Unknown option \`socket\`; did you mean \`socketPath\`?`
 *
 * @example
 * const dockerBuilder = defineBuilder('docker', z.object({ host: z.string().optional() }), (options, runtime) => ({
 *   name: 'docker',
 *   async build(request) { ... },
 * }));
 */
export function defineBuilder<Schema extends z.ZodType>(
  name: string,
  schema: Schema,
  factory: (options: z.output<Schema>, runtime: BuilderRuntime) => ImageBuilder,
): BuilderFactory<z.input<Schema>> {
  if (!BUILDER_NAME.test(name)) {
    throw new TypeError(`[vertex-launch] [builder] Builder name "${name}" must be kebab-case, e.g. "cloud-build".`);
  }
  const prefix = `[vertex-launch] [builder:${name}]`;
  const known = Object.keys((schema as unknown as { shape?: Record<string, unknown> }).shape ?? {});
  const make = (options: z.input<Schema>, runtime: BuilderRuntime = {}) => {
    const result = schema.safeParse(options ?? {});
    if (!result.success) {
      const issues = result.error.issues.flatMap((issue) => describeIssue(issue, options, known));
      throw optionsError(prefix, issues, `Check the options passed to the ${name} builder.`);
    }
    const builder = factory(result.data, runtime);
    if (builder.name !== name) {
      throw new TypeError(`${prefix} The factory returned a builder named "${builder.name}"; expected "${name}".`);
    }
    return builder;
  };
  return Object.assign(make, { builderName: name });
}

/** True for a factory made by {@link defineBuilder}. */
export function isBuilderFactory(value: unknown): value is BuilderFactory {
  return typeof value === 'function' && typeof (value as Partial<BuilderFactory>).builderName === 'string';
}

/**
 * The request's prepared context: `request.context` when `resolveImage()` gave one, else the context prepared now
 * (scanned and fingerprinted) for the request's directory, Dockerfile, build args, target and `platform`.
 */
export function preparedContextOf(request: BuildRequest, platform: string): Promise<PreparedContext> {
  return request.context ? Promise.resolve(request.context) : prepareContext({ ...request, platform });
}

/**
 * The request's `onEvent` wrapped so that a listener that throws never fails the build (the contract says
 * listeners must not throw; builders stay safe when one does anyway).
 */
export function buildEventEmitter(request: Pick<BuildRequest, 'onEvent'>): (event: BuildEvent) => void {
  return (event) => {
    try {
      request.onEvent?.(event);
    } catch {
      // A listener's failure must not fail the build.
    }
  };
}
