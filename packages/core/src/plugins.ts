/**
 * Loading plugin packages by name, lazily: the builder and queue-store registries map a name (`docker`) or a URL
 * scheme (`postgres:`) to a package and the factory it exports, and import the package only when it is used — so a
 * command that does not build never loads a builder, and a store nobody configured need not be installed.
 */
import { closestKey } from './config/suggest.js';
import { ConfigError } from './errors.js';

/**
 * Imports a module by specifier. Pass `(specifier) => import(specifier)` written in the package that depends on the
 * plugins (the CLI), so resolution starts there; the default starts from core's own location.
 */
export type ModuleImporter = (specifier: string) => Promise<unknown>;

const defaultImporter: ModuleImporter = (specifier) => import(specifier);

/** Where a plugin comes from: a package and the name of the factory it exports. */
export interface PluginSource {
  /** The npm package, e.g. `@vertex-launch/builder-docker`. */
  readonly package: string;
  /** The export that makes the plugin, e.g. `dockerBuilder`; `default` for the default export. */
  readonly factory: string;
}

function notFound(error: unknown, specifier: string): boolean {
  const code = (error as { code?: string } | undefined)?.code;
  const text = error instanceof Error ? error.message : '';
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && text.includes(specifier);
}

/**
 * The module of plugin package `name`, imported now. `what` names the plugin in errors, e.g.
 * `builder \`docker\` (builder.type in launch-config.yaml)`.
 *
 * @throws ConfigError when the package is not installed.
 */
export async function loadPluginModule(
  name: string,
  what: string,
  importer: ModuleImporter = defaultImporter,
): Promise<Record<string, unknown>> {
  try {
    return (await importer(name)) as Record<string, unknown>;
  } catch (error) {
    if (!notFound(error, name)) throw error;
    throw new ConfigError(`[vertex-launch] The ${what} needs ${name}, which is not installed.`, [], {
      cause: error,
      hint: `Install it next to vertex-launch (npm install ${name}), or choose another one.`,
    });
  }
}

/**
 * The factory `source.factory` of `source.package`, imported now (see {@link loadPluginModule}).
 *
 * @throws ConfigError when the package is not installed or does not export the factory.
 */
export async function loadPluginFactory<Factory>(
  source: PluginSource,
  what: string,
  importer: ModuleImporter = defaultImporter,
): Promise<Factory> {
  const module = await loadPluginModule(source.package, what, importer);
  const factory = module[source.factory];
  if (typeof factory !== 'function') {
    const exported = Object.keys(module).filter((name) => typeof module[name] === 'function');
    throw new ConfigError(
      `[vertex-launch] ${source.package} does not export ${source.factory === 'default' ? 'a default' : `\`${source.factory}\``} factory for the ${what}.`,
      [],
      { hint: `Update ${source.package}${exported.length > 0 ? ` (it exports ${exported.join(', ')})` : ''}.` },
    );
  }
  return factory as Factory;
}

/** One problem with a plugin's options. */
export interface OptionIssue {
  /** The option, e.g. `quotas.createsPerMinute`; `` for the options object itself. */
  path: string;
  message: string;
}

/**
 * Options that are not `known`, each with the right name: from `renamed` (a name other libraries use, e.g.
 * `location` -> `region`), else the nearest known name. Pure.
 */
export function unknownOptions(
  options: object,
  known: readonly string[],
  renamed: Readonly<Record<string, string>> = {},
): OptionIssue[] {
  const issues: OptionIssue[] = [];
  for (const key of Object.keys(options)) {
    if (known.includes(key) || (options as Record<string, unknown>)[key] === undefined) continue;
    const right = renamed[key] ?? closestKey(key, known);
    issues.push({ path: key, message: `Unknown option \`${key}\`${right ? `; did you mean \`${right}\`?` : '.'}` });
  }
  return issues;
}

/**
 * The error of a plugin's bad options: one line for one problem, a list for several, each naming the plugin by
 * `prefix` (`[vertex-launch] [runner:vertex]`).
 */
export function optionsError(prefix: string, issues: readonly OptionIssue[], hint: string): ConfigError {
  const message =
    issues.length === 1
      ? `${prefix} ${issues[0]!.message}`
      : `${prefix} ${issues.length} problems with the options:\n${issues.map((i) => `  - ${i.message}`).join('\n')}`;
  return new ConfigError(
    message,
    issues.map((i) => ({ path: i.path, message: i.message, severity: 'error' as const })),
    { hint },
  );
}
