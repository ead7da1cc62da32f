/**
 * The builder registry: a builder is chosen by name — `docker` and `cloudbuild` are built in, a third-party builder
 * is named by its npm package (`@acme/vertex-launch-kaniko`, `vertex-launch-builder-kaniko`) — and its package is
 * imported only when a build needs it. `vertex-launch build --builder`, `launch --source` and the agent's
 * `builder.type` all choose through here. A new builder package needs no change here or in the CLI.
 */
import { closestKey } from '../config/suggest.js';
import { ConfigError } from '../errors.js';
import { loadPluginModule, type ModuleImporter, type PluginSource } from '../plugins.js';
import { type BuilderFactory, type BuilderRuntime, type ImageBuilder, isBuilderFactory } from './contract.js';

const BUILDERS = new Map<string, PluginSource>([
  ['docker', { package: '@vertex-launch/builder-docker', factory: 'dockerBuilder' }],
  ['cloudbuild', { package: '@vertex-launch/builder-cloudbuild', factory: 'cloudBuild' }],
]);

/** A package name that names a third-party builder: scoped, or `vertex-launch-builder-<name>`. */
const THIRD_PARTY = /^(?:@[a-z0-9][a-z0-9._~-]*\/[a-z0-9][a-z0-9._~-]*|vertex-launch-builder-[a-z0-9][a-z0-9._~-]*)$/;

/** The built-in builder names, in the order they are offered: `['docker', 'cloudbuild']`. */
export function builtinBuilders(): string[] {
  return [...BUILDERS.keys()];
}

/** Adds (or replaces) a builder name, e.g. for a builder that lives in the program itself. */
export function registerBuilder(name: string, source: PluginSource): void {
  if (!/^[a-z][a-z0-9-]*$/.test(name)) {
    throw new TypeError(`[vertex-launch] [builder] Builder name "${name}" must be kebab-case, e.g. "kaniko".`);
  }
  BUILDERS.set(name, source);
}

/**
 * Why `type` names no builder (a message naming `where`), or undefined when it does: a built-in name, or a package
 * name of a third-party builder. Pure.
 */
export function builderTypeProblem(type: string, where: string): string | undefined {
  if (BUILDERS.has(type) || THIRD_PARTY.test(type)) return undefined;
  const names = [...BUILDERS.keys()];
  const suggestion = closestKey(type, names);
  return `${where} ${type}: use ${names.join(' or ')}${suggestion ? ` (did you mean ${suggestion}?)` : ''}, or a builder package named @scope/name or vertex-launch-builder-<name>`;
}

/** Options of {@link loadBuilder}. */
export interface LoadBuilderOptions {
  /** Names where the builder was chosen, in errors: `--builder`, `builder.type in launch-config.yaml`. */
  where?: string;
  /** Imports the builder package (pass `(s) => import(s)` from the package that depends on it). */
  import?: ModuleImporter;
}

/**
 * The factory of builder `type`: a built-in's (imported now), or a third-party package's default export — else its
 * one export made by `defineBuilder`.
 *
 * @throws ConfigError for an unknown name, a package that is not installed, or one without a builder factory.
 */
export async function loadBuilder(type: string, options: LoadBuilderOptions = {}): Promise<BuilderFactory> {
  const where = options.where ?? 'builder';
  const problem = builderTypeProblem(type, where);
  if (problem)
    throw new ConfigError(`[vertex-launch] [builder] ${problem}.`, [
      { path: where, message: problem, severity: 'error' },
    ]);
  const source = BUILDERS.get(type) ?? { package: type, factory: 'default' };
  const module = await loadPluginModule(source.package, `builder \`${type}\` (${where})`, options.import);
  const candidates =
    source.factory !== 'default'
      ? [module[source.factory]]
      : isBuilderFactory(module.default)
        ? [module.default]
        : Object.values(module).filter(isBuilderFactory);
  const factory = candidates.length === 1 ? candidates[0] : undefined;
  if (!isBuilderFactory(factory)) {
    throw new ConfigError(
      `[vertex-launch] [builder] ${source.package} (${where}) does not export ${candidates.length > 1 ? 'exactly one' : 'a'} builder factory${source.factory === 'default' ? '' : ` \`${source.factory}\``}.`,
      [],
      {
        hint: 'A builder package exports the factory made by defineBuilder(), as its default export (see docs/builders.md).',
      },
    );
  }
  return factory;
}

/** Loads builder `type` and makes it with `options` and the runtime (see {@link loadBuilder}). */
export async function createBuilder(
  type: string,
  builderOptions: Record<string, unknown>,
  runtime: BuilderRuntime,
  options: LoadBuilderOptions = {},
): Promise<ImageBuilder> {
  const factory = await loadBuilder(type, options);
  return factory(builderOptions, runtime);
}
