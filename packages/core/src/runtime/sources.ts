/**
 * Where a setting came from. Every value the runtime resolves carries its source, so `config show`, `doctor` and
 * error messages can say "project my-proj (from $GOOGLE_CLOUD_PROJECT)" and point at the place to change it.
 */

/** The origin of one resolved value. */
export type ValueSource =
  /** A command-line flag, e.g. `--project`. */
  | { readonly kind: 'flag'; readonly name: string }
  /** An SDK option, e.g. `projectId`. */
  | { readonly kind: 'option'; readonly name: string }
  /** An environment variable (`name`), possibly one of a group (`also`, shown as `_SUFFIX`). */
  | { readonly kind: 'env'; readonly name: string; readonly also?: readonly string[] }
  /** A key of a file, e.g. `environment.project` of launch-config.yaml. */
  | { readonly kind: 'file'; readonly file: string; readonly key: string }
  /** A property of gcloud's active configuration, e.g. `core/project`. */
  | { readonly kind: 'gcloud'; readonly property: string; readonly configuration: string; readonly file: string }
  /** What the resolved credentials named (a key file's project, the metadata server's). */
  | { readonly kind: 'credentials'; readonly strategy: string }
  /** A stored queue's own setting. */
  | { readonly kind: 'queue'; readonly name: string }
  /** A built-in default; `detail` says which, e.g. `under $XDG_CONFIG_HOME`. */
  | { readonly kind: 'default'; readonly detail?: string };

/** A value and where it came from. */
export interface Sourced<T> {
  readonly value: T;
  readonly source: ValueSource;
}

/**
 * The source for people: `--project`, `$GOOGLE_CLOUD_PROJECT`, `environment.project in ~/.config/...`,
 * `gcloud config core/project (configuration default)`, `the credentials (gcloud-adc)`, `default`.
 */
export function describeSource(source: ValueSource): string {
  switch (source.kind) {
    case 'flag':
      return source.name;
    case 'option':
      return `option \`${source.name}\``;
    case 'env':
      return [`$${source.name}`, ...(source.also ?? [])].join(', ');
    case 'file':
      return `${source.key} in ${source.file}`;
    case 'gcloud':
      return `gcloud config ${source.property} (configuration ${source.configuration})`;
    case 'credentials':
      return `the credentials (${source.strategy})`;
    case 'queue':
      return `the queue's ${source.name}`;
    case 'default':
      return source.detail ? `default ${source.detail}` : 'default';
  }
}

/** `{ value, source }` for a flag given on the command line, or undefined when the flag is absent or empty. */
export function fromFlag(name: string, value: string | undefined): Sourced<string> | undefined {
  const trimmed = value?.trim();
  return trimmed ? { value: trimmed, source: { kind: 'flag', name } } : undefined;
}
