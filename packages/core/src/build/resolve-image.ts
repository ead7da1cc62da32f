/**
 * `resolveImage()`: the one step from a source directory to the image a job runs. It scans and fingerprints the
 * context once, asks the registry once whether the content tag (`ctx-<12 hex>`) is already pushed, and only when it
 * is not hands the prepared context to the builder (which packs it without scanning again). `launch()` and
 * `vertex-launch build` use it; builders themselves no longer check the tag. File-system work only here (the
 * context and its stat cache); the network is the plugins'.
 */
import { ConfigError } from '../errors.js';
import { type ContextManifest, contextTag, prepareContext } from './context.js';
import type { BuildContextInput, BuildEvent, BuilderCredentials, ImageBuilder, ImageRegistry } from './contract.js';

/** What {@link resolveImage} needs. */
export interface ResolveImageOptions extends BuildContextInput {
  /**
   * The image: a repository without a tag (the content tag is added, and an existing one is reused), or a full
   * reference with a tag of your choosing (always built and pushed).
   */
  image: string;
  /** Builds and pushes the image when it is missing. */
  builder: ImageBuilder;
  /** Answers whether the content tag is already pushed (else the builder's `digestOf()` / `exists()`, if any). */
  registry?: ImageRegistry;
  /** Registry credentials for the builder's push. */
  credentials?: BuilderCredentials;
  /** Aborts the build. */
  signal?: AbortSignal;
  /** Receives `started`, `skipped` and the builder's own events. Errors it throws are ignored. */
  onEvent?: (event: BuildEvent) => void;
}

/** The image a launch runs. */
export interface ResolvedImage {
  /** The full image reference (`<repository>:ctx-<12 hex>` unless a tag was given). */
  imageUri: string;
  /** Its digest, when the builder or the registry reported one. */
  digest: string | undefined;
  /** False when the content tag was already pushed and nothing was built. */
  built: boolean;
  /** What was (or would have been) sent: entries, bytes, fingerprint, tag. */
  manifest: ContextManifest;
}

function hasTagOrDigest(image: string): boolean {
  const last = image.slice(image.lastIndexOf('/') + 1);
  return last.includes(':') || last.includes('@');
}

/** Whether `imageUri` is already pushed, and its digest when the lookup reports one. */
async function lookup(
  imageUri: string,
  builder: ImageBuilder,
  registry: ImageRegistry | undefined,
): Promise<{ digest: string | undefined } | undefined> {
  if (registry?.getDigest) {
    const digest = await registry.getDigest(imageUri);
    return digest === undefined ? undefined : { digest };
  }
  if (registry) return (await registry.tagExists(imageUri)) ? { digest: undefined } : undefined;
  if (builder.digestOf) {
    const digest = await builder.digestOf(imageUri);
    return digest === undefined ? undefined : { digest };
  }
  if (builder.exists) return (await builder.exists(imageUri)) ? { digest: undefined } : undefined;
  return undefined;
}

/** A source prepared by {@link prepareImage}: the image URI is known, nothing has been asked or built yet. */
export interface ImagePlan {
  /** The full image reference the launch will run. */
  readonly imageUri: string;
  readonly manifest: ContextManifest;
  /** Asks the registry once whether `imageUri` is pushed; builds and pushes it with the prepared context if not. */
  ensure(): Promise<ResolvedImage>;
}

/**
 * Scans, checks and fingerprints the context once and names the image (`<repository>:ctx-<12 hex>`), so a launch can
 * resolve and map its config with the final URI before anything is built. Throws what the context checks throw
 * (BuildContextError for credential files and escaping symlinks, ConfigError for a missing directory).
 */
export async function prepareImage(options: ResolveImageOptions): Promise<ImagePlan> {
  const { image, builder, registry, credentials, signal, onEvent, ...input } = options;
  if (!builder || typeof builder.build !== 'function') {
    throw new ConfigError('[vertex-launch] [build] Building from source needs a builder plugin.', [], {
      hint: 'Pass `builder` (e.g. dockerBuilder() or cloudBuild()), or an image to run as is.',
    });
  }
  const emit = (event: BuildEvent) => {
    try {
      onEvent?.(event);
    } catch {
      // A listener's failure must not fail the build.
    }
  };
  const context = await prepareContext(input);
  const { manifest } = context;
  const explicitTag = hasTagOrDigest(image);
  const imageUri = explicitTag ? image : contextTag(image, manifest);
  return {
    imageUri,
    manifest,
    async ensure() {
      if (!explicitTag) {
        const existing = await lookup(imageUri, builder, registry);
        if (existing) {
          emit({ type: 'skipped', imageUri, reason: `${imageUri} already exists (same sources, same content tag)` });
          return { imageUri, digest: existing.digest, built: false, manifest };
        }
      }
      if (signal?.aborted) throw signal.reason;
      emit({ type: 'started', builder: builder.name, imageUri });
      const result = await builder.build({
        ...input,
        destination: imageUri,
        context,
        onEvent: emit,
        ...(signal ? { signal } : {}),
        ...(credentials ? { credentials } : {}),
      });
      return { imageUri: result.imageUri, digest: result.digest, built: true, manifest };
    },
  };
}

/**
 * Builds `image` from the context unless its content tag is already pushed ({@link prepareImage}, then `ensure()`).
 * Throws the context checks' errors before the registry or the builder is asked anything, and the builder's
 * BuildError when the build fails.
 */
export async function resolveImage(options: ResolveImageOptions): Promise<ResolvedImage> {
  return (await prepareImage(options)).ensure();
}
