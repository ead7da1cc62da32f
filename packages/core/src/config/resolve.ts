/**
 * The full resolution pipeline of a launch: template variables, then overrides, then macros, then validation.
 */
import { ConfigError, type ConfigIssue } from '../errors.js';
import type { EnvAccess } from './env-access.js';
import { type MacroValues, substituteMacros } from './macros.js';
import { checkOverrides, mergeOverrides } from './overrides.js';
import type { ResolvedQueueConfig } from './schema.js';
import { isPlainObject, tooDeepAt, tooDeepIssue } from './util.js';
import { formatConfigIssues, unwrapQueueConfig, type ValidationResult, validateQueueConfigShape } from './validate.js';
import { type LaunchValue, launchValues, readDeclarations, substituteVariables } from './variables.js';

/** What a launch knows about itself; fills the `${...}` macros and feeds the CustomJob mapping. */
export interface LaunchContext {
  /** GCP project id (`${project_name}`). */
  project: string;
  /** Vertex AI region, e.g. `us-central1` (`${region}`). */
  region: string;
  /** Id of this run (`${run_id}`), also the `vertex-launch-run-id` label. */
  runId: string;
  /** Id of the launch request (`${launch_id}`), also the `vertex-launch-launch-id` label. */
  launchId: string;
  /** The image built or given for this launch (`${image_uri}`). */
  imageUri?: string;
  /** Human name of the run (`${run_name}`); defaults to the run id. */
  runName?: string;
  /** The queue this launch came from (`${queue_name}`, the `vertex-launch-queue` label, the display name prefix). */
  queueName?: string;
}

/** Input of `resolveQueueConfig`. */
export interface ResolveQueueConfigInput {
  /** The raw queue config as parsed from its file. */
  config: unknown;
  /**
   * Launch values of the declared template variables: strings (`--set-var name=value`) or numbers (SDK code); each is
   * checked against its declaration (type, minimum, maximum, enum) at run time.
   */
  variables?: Readonly<Record<string, LaunchValue>>;
  /** Launch-time overrides, `{spec?: {...}, run?: {...}}`, deep-merged (arrays replaced). */
  overrides?: unknown;
  /** The launch: project, region, ids, image. */
  context: LaunchContext;
  /** Environment read by `${env:NAME}`; defaults to `process.env`. */
  env?: Record<string, string | undefined>;
  /**
   * Which variables `${env:NAME}` may read. Default: any name that does not look like a credential (a config of your
   * own); pass `{ allowed: [...] }` for configs others write (a shared queue): then only the names listed.
   */
  envAccess?: EnvAccess;
  /** The file the config came from, named in errors. */
  file?: string;
}

/** The macro values of a launch context. */
export function macroValues(context: LaunchContext): MacroValues {
  return {
    image_uri: context.imageUri,
    run_id: context.runId,
    run_name: context.runName ?? context.runId,
    queue_name: context.queueName,
    project_name: context.project,
    region: context.region,
    launch_id: context.launchId,
  };
}

/**
 * Like `resolveQueueConfig` but returns every issue (errors and warnings) instead of throwing.
 */
export function resolveQueueConfigResult(input: ResolveQueueConfigInput): ValidationResult<ResolvedQueueConfig> {
  const issues: ConfigIssue[] = [];
  const unwrapped = unwrapQueueConfig(input.config, issues);
  const deep = tooDeepAt(unwrapped) ?? tooDeepAt(input.overrides, ['overrides']);
  if (deep !== undefined) return { ok: false, issues: [...issues, tooDeepIssue(deep)] };
  if (!isPlainObject(unwrapped)) return validateQueueConfigShape(unwrapped, issues);
  const config: Record<string, unknown> = { ...unwrapped };

  // 1. Template variables.
  const { declarations, issues: declarationIssues } = readDeclarations(config.template_variables);
  issues.push(...declarationIssues);
  const { values, issues: valueIssues } = launchValues(declarations, input.variables);
  issues.push(...valueIssues);
  for (const section of ['spec', 'run'] as const) {
    if (config[section] === undefined) continue;
    const filled = substituteVariables(config[section], [section], declarations, values);
    issues.push(...filled.issues);
    config[section] = filled.value;
  }

  // 2. Overrides: checked (shape, allowed paths, no ${env:...}) then merged.
  const allowed = Array.isArray(config.allowed_overrides)
    ? config.allowed_overrides.filter((p): p is string => typeof p === 'string')
    : undefined;
  const overrideIssues = checkOverrides(input.overrides, allowed);
  issues.push(...overrideIssues);
  if (isPlainObject(input.overrides) && overrideIssues.length === 0) {
    const macroIssues = substituteMacros(input.overrides, ['overrides'], {
      allowEnv: false,
      source: 'launch overrides',
    }).issues;
    issues.push(...macroIssues);
    // Overrides that try to read the environment are not merged at all: nothing of them reaches step 3.
    if (macroIssues.length === 0) {
      for (const section of ['spec', 'run'] as const) {
        const override = input.overrides[section];
        if (override !== undefined) config[section] = mergeOverrides(config[section], override);
      }
    }
  }

  // 3. Macros.
  const macroOptions = {
    values: macroValues(input.context),
    env: input.env ?? process.env,
    allowEnv: true,
    envAccess: input.envAccess ?? {},
  };
  for (const section of ['spec', 'run'] as const) {
    if (config[section] === undefined) continue;
    const filled = substituteMacros(config[section], [section], macroOptions);
    issues.push(...filled.issues);
    config[section] = filled.value;
  }

  // 4. Validation of the result.
  return validateQueueConfigShape(config, issues);
}

/**
 * Resolve a queue config for one launch: declared template variables (`{{name}}`) are filled from `variables`,
 * overrides deep-merged (arrays replaced, only allowed paths), macros filled (`${image_uri}`, `${run_id}`, ...,
 * `${env:NAME}` from `env` — refused inside overrides), and the result validated.
 *
 * @throws ConfigError listing every problem, each with its path.
 */
export function resolveQueueConfig(input: ResolveQueueConfigInput): ResolvedQueueConfig {
  const result = resolveQueueConfigResult(input);
  if (!result.ok || result.value === undefined) {
    const errors = result.issues.filter((issue) => issue.severity === 'error');
    const where = input.file === undefined ? 'queue config' : `queue config ${input.file}`;
    throw new ConfigError(
      `Invalid ${where} (${errors.length} problem${errors.length === 1 ? '' : 's'}):\n${formatConfigIssues(errors, input.file)}`,
      result.issues,
      {
        hint: 'Fix the keys named above in the queue config, the variables or the overrides.',
        ...(input.file === undefined ? {} : { file: input.file }),
      },
    );
  }
  return result.value;
}
