/**
 * Validating a queue config: every problem at once, each with its path, plus warnings. Loading (YAML/JSON text)
 * is separate: see `load.ts`.
 */
import type { z } from 'zod';
import type { ConfigIssue } from '../errors.js';
import { formatSeconds, parseDuration } from './durations.js';
import { applyRung, crossRegionImageNote, fallbackRungs } from './fallback.js';
import {
  labelKeyProblem,
  labelValueProblem,
  MAX_LABELS,
  RESERVED_LABEL_COUNT,
  RESERVED_LABEL_PREFIX,
  SYSTEM_LABEL_PREFIX,
} from './labels.js';
import { substituteMacros } from './macros.js';
import { checkAllowedOverrides } from './overrides.js';
import {
  DEPRECATED_ACCELERATOR_TYPES,
  hasPlaceholder,
  isFillInMarker,
  queueConfigSchema,
  type ResolvedQueueConfig,
  SHARED_SPEC_RUN_KEYS,
} from './schema.js';
import { allKeyLocations, formatPath, objectKeysAt, type PathSegments, shortKey } from './schema-paths.js';
import { closestEnumValues, closestKey, toSnakeCase } from './suggest.js';
import { deepEqual, describeType, error, isPlainObject, mapStrings, tooDeepAt, tooDeepIssue, warning } from './util.js';
import { probeValues, readDeclarations, substituteVariables } from './variables.js';
import { checkPoolRules, checkVertexRules } from './vertex-rules.js';

/** The outcome of validating a config: the resolved value when there is no error, and every issue found. */
export interface ValidationResult<T> {
  ok: boolean;
  value?: T;
  /** Errors and warnings, in the order found. */
  issues: ConfigIssue[];
}

/** Top-level keys under which a queue config may be wrapped (the W&B Launch way). */
export const QUEUE_CONFIG_WRAPPER_KEYS = ['vertex', 'gcp-vertex'] as const;

/**
 * The config inside a `vertex:` / `gcp-vertex:` wrapper, or `raw` itself. A wrapper must be the only top-level key.
 */
export function unwrapQueueConfig(raw: unknown, issues: ConfigIssue[] = []): unknown {
  if (!isPlainObject(raw)) return raw;
  const wrappers = QUEUE_CONFIG_WRAPPER_KEYS.filter((key) => key in raw);
  if (wrappers.length === 0) return raw;
  const others = Object.keys(raw).filter((key) => !(QUEUE_CONFIG_WRAPPER_KEYS as readonly string[]).includes(key));
  if (wrappers.length > 1 || others.length > 0) {
    issues.push(
      error(
        '',
        `a config wrapped under \`${wrappers[0]}:\` must have nothing else at the top level (found ${[...wrappers.slice(1), ...others].map((k) => `\`${k}\``).join(', ')})`,
      ),
    );
  }
  return raw[wrappers[0]!];
}

const KEY_HINTS: Record<string, string> = {
  project: 'the GCP project comes from the launch (--project or the queue settings), not from the queue config',
  project_name: 'the GCP project comes from the launch (--project or the queue settings), not from the queue config',
  location: 'the region comes from the launch (--region or the queue settings), not from the queue config',
  region: 'the region comes from the launch (--region or the queue settings), not from the queue config',
  credentials: 'credentials come from the launcher (ADC, a key file or an auth plugin), never from the queue config',
  job_spec: 'write the CustomJobSpec fields directly under `spec` (snake_case, as in the Python SDK)',
  scheduling:
    'put `timeout`, `restart_job_on_worker_restart`, `disable_retries`, `scheduling_strategy` and `max_wait_duration` under `run`',
  // The Python SDK's `CustomJob.run(sync=...)` says whether the Python call blocks (jobs.py: "Whether to execute this
  // method synchronously"); it is no part of the request. Here the launch decides: `vertex-launch launch --wait`, the
  // SDK's `handle.wait()`, and the agent always follows its jobs.
  sync: 'whether to wait is chosen per launch, not in the queue config: `vertex-launch launch --wait` (or `--follow`), `await handle.wait()` in the SDK; the agent always follows its jobs. Remove `sync`',
};

const KEY_ALIASES: Record<string, string> = {
  strategy: 'scheduling_strategy',
  base_output_directory: 'base_output_dir',
  output_uri_prefix: 'base_output_dir',
  encryption_spec: 'encryption_spec_key_name',
  kms_key_name: 'encryption_spec_key_name',
  name: 'display_name',
};

const REQUIRED_HINTS: Record<string, string> = {
  spec: 'add a `spec:` section with `worker_pool_specs` and `staging_bucket`',
  'spec.staging_bucket': 'set `spec.staging_bucket` to your Cloud Storage bucket (`gs://my-bucket` or `my-bucket`)',
  'spec.worker_pool_specs': 'add `spec.worker_pool_specs` with at least one pool (machine_spec + container_spec)',
};

let keyLocations: Array<{ key: string; parent: string }> | undefined;

function unknownKeyMessage(parentPath: PathSegments, key: string): string {
  const head = `unknown key \`${shortKey(key)}\``;
  const snake = toSnakeCase(key);
  const allowed = objectKeysAt(queueConfigSchema, parentPath) ?? [];
  if (
    parentPath.length === 0 &&
    (key === 'jobSpec' || key === 'job_spec' || key === 'customJob' || key === 'custom_job')
  ) {
    return `${head}: ${KEY_HINTS.job_spec}`;
  }
  const hint = KEY_HINTS[snake];
  if (hint !== undefined && !allowed.includes(snake)) return `${head}: ${hint}`;
  const alias = KEY_ALIASES[snake];
  if (alias !== undefined && allowed.includes(alias)) return `${head}: did you mean \`${alias}\`?`;
  const closest = closestKey(key, allowed);
  if (closest !== undefined) {
    if (closest === snake && key !== snake) {
      return `${head}: queue configs use the Python SDK's snake_case names — use \`${closest}\``;
    }
    return `${head}: did you mean \`${closest}\`?`;
  }
  keyLocations ??= allKeyLocations(queueConfigSchema);
  const elsewhere = [...new Set(keyLocations.filter((l) => l.key === snake).map((l) => l.parent || '(top level)'))];
  if (elsewhere.length > 0) {
    return `${head}: \`${snake}\` belongs under ${elsewhere.map((p) => `\`${p}\``).join(' or ')}`;
  }
  return `${head}; allowed keys here: ${allowed.join(', ')}`;
}

/**
 * The allowed key an unknown `key` under `parentPath` stands for: its snake_case twin (`workerPoolSpecs` ->
 * `worker_pool_specs`) or a known alias (`baseOutputDirectory` -> `base_output_dir`); undefined otherwise.
 */
function renamedKey(parentPath: PathSegments, key: string): string | undefined {
  const allowed = objectKeysAt(queueConfigSchema, parentPath);
  if (allowed === undefined) return undefined;
  const snake = toSnakeCase(key);
  if (snake !== key && allowed.includes(snake)) return snake;
  const alias = KEY_ALIASES[snake];
  return alias !== undefined && alias !== key && allowed.includes(alias) ? alias : undefined;
}

/**
 * The unknown keys below an unknown key that stands for a known one (zod stops at the unknown key and never looks
 * inside): `workerPoolSpecs[0].machineSpec.machineType` is reported with the rest in one pass, each at the path as
 * written and with its snake_case name. `written` is the path in the file; `schemaPath` the same with the renames.
 */
function keysBelowRenamed(root: unknown, written: PathSegments, schemaPath: PathSegments): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const walk = (value: unknown, at: PathSegments, schema: PathSegments) => {
    if (Array.isArray(value)) {
      for (const [i, item] of value.entries()) walk(item, [...at, i], [...schema, i]);
      return;
    }
    if (!isPlainObject(value)) return;
    const allowed = objectKeysAt(queueConfigSchema, schema);
    // A mapping of user-chosen names (labels, env maps): its keys are not checked.
    if (allowed === undefined) return;
    for (const [key, child] of Object.entries(value)) {
      let next = key;
      if (!allowed.includes(key)) {
        out.push(error([...at, key], unknownKeyMessage(schema, key)));
        const renamed = renamedKey(schema, key);
        if (renamed === undefined) continue;
        next = renamed;
      }
      walk(child, [...at, key], [...schema, next]);
    }
  };
  walk(valueAt(root, written), written, schemaPath);
  return out;
}

function valueAt(root: unknown, path: PathSegments): unknown {
  let current: unknown = root;
  for (const segment of path) {
    if (Array.isArray(current) && typeof segment === 'number') current = current[segment];
    else if (isPlainObject(current)) current = current[String(segment)];
    else return undefined;
  }
  return current;
}

const EXPECTED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'a boolean (true or false)',
  object: 'a mapping',
  array: 'a list',
  record: 'a mapping',
};

function translateIssue(issue: z.core.$ZodIssue, root: unknown): ConfigIssue[] {
  const path = issue.path;
  const where = formatPath(path);
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => error([...path, key], unknownKeyMessage(path, key)));
    case 'invalid_type': {
      const input = valueAt(root, path);
      if (input === undefined) {
        // `workerPoolSpecs` is there for `worker_pool_specs`: its unknown-key error names the rename, enough.
        const parentPath = path.slice(0, -1);
        const parent = valueAt(root, parentPath);
        const missing = path[path.length - 1];
        if (isPlainObject(parent) && Object.keys(parent).some((k) => renamedKey(parentPath, k) === missing)) return [];
        const hint = REQUIRED_HINTS[where];
        return [error(path, `is required${hint ? `: ${hint}` : ''}`)];
      }
      const expected = EXPECTED[issue.expected] ?? issue.expected;
      if (issue.expected === 'int' && typeof input === 'number') return [error(path, 'must be a whole number')];
      return [error(path, `must be ${expected}, got ${describeType(input)}`)];
    }
    case 'invalid_value': {
      const values = issue.values.map(String);
      const input = valueAt(root, path);
      const suggestions = typeof input === 'string' ? closestEnumValues(input, values) : [];
      const got = typeof input === 'string' ? ` \`${input.slice(0, 60)}\`` : ` ${describeType(input)}`;
      return [
        error(
          path,
          `invalid value${got}${suggestions.length > 0 ? ` (did you mean ${suggestions.map((s) => `\`${s}\``).join(' or ')}?)` : ''}; allowed values: ${values.join(', ')}`,
        ),
      ];
    }
    case 'too_small': {
      if (!issue.message.startsWith('Too small')) return [error(path, issue.message)];
      if (issue.origin === 'array') return [error(path, `must have at least ${issue.minimum} item(s)`)];
      if (issue.origin === 'string') return [error(path, 'must not be empty')];
      return [error(path, `must be ${issue.inclusive ? 'at least' : 'greater than'} ${issue.minimum}`)];
    }
    case 'too_big': {
      if (!issue.message.startsWith('Too big')) return [error(path, issue.message)];
      if (issue.origin === 'array') return [error(path, `must have at most ${issue.maximum} item(s)`)];
      if (issue.origin === 'string') return [error(path, `must be at most ${issue.maximum} characters`)];
      return [error(path, `must be ${issue.inclusive ? 'at most' : 'less than'} ${issue.maximum}`)];
    }
    case 'invalid_key':
      return issue.issues.map((inner) => error(path, `invalid name: ${inner.message}`));
    case 'invalid_union': {
      if (!issue.message.startsWith('Invalid input')) return [error(path, issue.message)];
      return [error(path, 'has the wrong type')];
    }
    default:
      return [error(path, issue.message)];
  }
}

function checkPools(spec: Record<string, unknown>, issues: ConfigIssue[]): void {
  const pools = spec.worker_pool_specs;
  if (!Array.isArray(pools)) return;
  pools.forEach((pool, index) => {
    const at = ['spec', 'worker_pool_specs', index];
    if (!isPlainObject(pool)) return;
    const empty = Object.keys(pool).length === 0;
    if (empty) {
      if (index === 0) {
        issues.push(
          error(
            at,
            'the first worker pool (the chief) must not be empty: set `machine_spec` and `container_spec` (or `python_package_spec`)',
          ),
        );
      }
      return;
    }
    if (pool.machine_spec === undefined) {
      issues.push(
        error([...at, 'machine_spec'], 'is required in a non-empty worker pool (e.g. `machine_type: n1-standard-4`)'),
      );
    }
    if (pool.container_spec === undefined && pool.python_package_spec === undefined) {
      issues.push(error(at, 'needs `container_spec` (a container image) or `python_package_spec` (a Python package)'));
    }
    if (pool.container_spec !== undefined && pool.python_package_spec !== undefined) {
      issues.push(
        error([...at, 'python_package_spec'], 'set either `container_spec` or `python_package_spec`, not both'),
      );
    }
    checkPoolRules(pool, index, issues);
    const machine = pool.machine_spec;
    const type = isPlainObject(machine) ? machine.accelerator_type : undefined;
    if (typeof type === 'string' && (DEPRECATED_ACCELERATOR_TYPES as readonly string[]).includes(type)) {
      issues.push(
        warning(
          [...at, 'machine_spec', 'accelerator_type'],
          `${type} is deprecated by Vertex AI (end of support: https://cloud.google.com/compute/docs/eol/k80-eol); pick a newer GPU`,
        ),
      );
    }
  });
}

function checkLabels(spec: Record<string, unknown>, issues: ConfigIssue[]): void {
  const labels = spec.labels;
  if (!isPlainObject(labels)) return;
  const entries = Object.entries(labels);
  if (entries.length + RESERVED_LABEL_COUNT > MAX_LABELS) {
    issues.push(
      error(
        ['spec', 'labels'],
        `has ${entries.length} labels; Vertex allows ${MAX_LABELS} and the launch adds ${RESERVED_LABEL_COUNT}, so at most ${MAX_LABELS - RESERVED_LABEL_COUNT}`,
      ),
    );
  }
  for (const [key, value] of entries) {
    const at = ['spec', 'labels', key];
    if (key.startsWith(RESERVED_LABEL_PREFIX)) {
      issues.push(
        error(at, `labels starting with \`${RESERVED_LABEL_PREFIX}\` are set by Vertex Launch; pick another key`),
      );
      continue;
    }
    if (key.startsWith(SYSTEM_LABEL_PREFIX)) {
      issues.push(error(at, `labels starting with \`${SYSTEM_LABEL_PREFIX}\` are reserved for Vertex's system labels`));
      continue;
    }
    const keyProblem = hasPlaceholder(key) ? undefined : labelKeyProblem(key);
    if (keyProblem !== undefined) issues.push(error(at, keyProblem));
    const valueProblem = typeof value !== 'string' || hasPlaceholder(value) ? undefined : labelValueProblem(value);
    if (valueProblem !== undefined) issues.push(error(at, valueProblem));
  }
}

function checkSections(config: Record<string, unknown>, issues: ConfigIssue[]): void {
  const spec = isPlainObject(config.spec) ? config.spec : undefined;
  const run = isPlainObject(config.run) ? config.run : {};
  // Template markers such as `<REQUIRED>` left in place.
  for (const section of ['spec', 'run'] as const) {
    mapStrings(config[section], [section], (text, at) => {
      if (isFillInMarker(text)) {
        const where = formatPath(at);
        const hint = REQUIRED_HINTS[where];
        issues.push(error(at, `still holds the placeholder \`${text.trim()}\`: ${hint ?? `set \`${where}\``}`));
      }
      return text;
    });
  }
  issues.push(...checkAllowedOverrides(config.allowed_overrides));
  if (spec === undefined) return;
  checkPools(spec, issues);
  checkLabels(spec, issues);
  checkVertexRules(spec, run, issues);
  for (const key of SHARED_SPEC_RUN_KEYS) {
    const a = spec[key];
    const b = run[key];
    if (a !== undefined && b !== undefined && !deepEqual(a, b)) {
      const shown = typeof a === 'string' && typeof b === 'string' ? ` (\`${a}\` vs \`${b}\`)` : '';
      issues.push(
        error(['run', key], `conflicts with \`spec.${key}\`${shown}: set it in one place, or to the same value`),
      );
    }
  }
  const pick = (key: string) => run[key] ?? spec[key];
  if (pick('experiment') !== undefined && pick('tensorboard') !== undefined) {
    issues.push(
      error(
        run.tensorboard !== undefined ? ['run', 'tensorboard'] : ['spec', 'tensorboard'],
        '`experiment` and `tensorboard` cannot be set together: an experiment uses its own backing TensorBoard',
      ),
    );
  }
  if (pick('experiment_run') !== undefined && pick('experiment') === undefined) {
    issues.push(
      error(
        run.experiment_run !== undefined ? ['run', 'experiment_run'] : ['spec', 'experiment_run'],
        'needs `experiment`',
      ),
    );
  }
  if (pick('tensorboard') !== undefined && pick('service_account') === undefined) {
    issues.push(warning(['spec', 'service_account'], 'Vertex needs a `service_account` to upload to `tensorboard`'));
  }
  if (Array.isArray(spec.reserved_ip_ranges) && spec.reserved_ip_ranges.length > 0 && pick('network') === undefined) {
    issues.push(warning(['spec', 'reserved_ip_ranges'], 'reserved IP ranges only apply with `network`'));
  }
  if (run.timeout !== undefined && parseDuration(run.timeout) === 0) {
    issues.push(error(['run', 'timeout'], 'must be greater than 0 (leave it out for the Vertex default of 7 days)'));
  }
  if (run.max_wait_duration !== undefined && run.scheduling_strategy !== 'FLEX_START') {
    issues.push(warning(['run', 'max_wait_duration'], 'only applies with `scheduling_strategy: FLEX_START`'));
  }
  checkLimits(config.limits, spec, run, issues);
}

/** Vertex's timeout of a job without `run.timeout`: 7 days. */
const VERTEX_DEFAULT_TIMEOUT_S = 7 * 24 * 3600;

/**
 * `limits`: a launch must set `run.timeout` within `max_timeout`, and replicas x accelerators x timeout must stay
 * within `max_accelerator_hours`. Values still holding `{{variables}}` are judged once they are filled (at launch).
 */
function checkLimits(
  limits: unknown,
  spec: Record<string, unknown>,
  run: Record<string, unknown>,
  issues: ConfigIssue[],
): void {
  if (!isPlainObject(limits)) return;
  const maxTimeout = parseDuration(limits.max_timeout);
  const timeout = run.timeout === undefined ? undefined : parseDuration(run.timeout);
  if (run.timeout !== undefined && timeout === undefined) return; // not a duration (reported) or not filled yet
  if (maxTimeout !== undefined) {
    if (timeout === undefined) {
      issues.push(
        error(
          ['run', 'timeout'],
          `is required by \`limits.max_timeout\` (${formatSeconds(maxTimeout)}): set \`run.timeout\` to at most that`,
        ),
      );
    } else if (timeout > maxTimeout) {
      issues.push(
        error(
          ['run', 'timeout'],
          `${formatSeconds(timeout)} is above \`limits.max_timeout\` (${formatSeconds(maxTimeout)}): lower it, or raise the limit`,
        ),
      );
    }
  }
  const maxHours =
    typeof limits.max_accelerator_hours === 'number' && limits.max_accelerator_hours > 0
      ? limits.max_accelerator_hours
      : undefined;
  if (maxHours === undefined || !Array.isArray(spec.worker_pool_specs)) return;
  let acceleratorsPerHour = 0;
  for (const pool of spec.worker_pool_specs) {
    if (!isPlainObject(pool)) return;
    const machine = isPlainObject(pool.machine_spec) ? pool.machine_spec : {};
    const replicas = pool.replica_count === undefined ? 1 : Number(pool.replica_count);
    const count = machine.accelerator_count === undefined ? 0 : Number(machine.accelerator_count);
    if (!Number.isFinite(replicas) || !Number.isFinite(count)) return; // a {{variable}} not filled yet
    acceleratorsPerHour += replicas * count;
  }
  const hours = ((timeout ?? VERTEX_DEFAULT_TIMEOUT_S) / 3600) * acceleratorsPerHour;
  if (hours > maxHours) {
    const why =
      timeout === undefined ? "without `run.timeout`, Vertex's 7 days" : `\`run.timeout\` ${formatSeconds(timeout)}`;
    issues.push(
      error(
        ['limits', 'max_accelerator_hours'],
        `this launch could spend ${Number(hours.toFixed(2))} accelerator-hours (${acceleratorsPerHour} accelerator${acceleratorsPerHour === 1 ? '' : 's'} for ${why}), above the limit of ${maxHours}: lower \`run.timeout\`, the replicas or the accelerators`,
      ),
    );
  }
}

/**
 * Every `fallback` alternative is checked up front like the queue config: the config with it applied must validate
 * (its errors are reported under `fallback[i]`), a `region` needs a `staging_bucket`, and a literal image in a
 * regional Artifact Registry of another region gets a warning.
 */
function checkFallback(config: Record<string, unknown>, issues: ConfigIssue[]): void {
  const rungs = fallbackRungs(config);
  rungs.forEach((rung, index) => {
    const at = ['fallback', index];
    if (rung.region !== undefined && rung.staging_bucket === undefined) {
      issues.push(
        error(
          [...at, 'staging_bucket'],
          `is required with \`region: ${rung.region}\`: Vertex wants the staging bucket in the job's region; set a bucket in ${rung.region} (or a multi-region covering it)`,
        ),
      );
    }
    const { fallback: _fallback, ...rest } = applyRung(config, index + 1).config;
    const sub: ConfigIssue[] = [];
    const parsed = queueConfigSchema.safeParse(rest, { reportInput: false });
    if (!parsed.success) for (const issue of parsed.error.issues) sub.push(...translateIssue(issue, rest));
    checkSections(rest, sub);
    const known = new Set(issues.map((issue) => `${issue.path}|${issue.message}`));
    for (const issue of sub) {
      // The config's own problems are reported once, at their own path.
      if (issue.severity !== 'error' || known.has(`${issue.path}|${issue.message}`)) continue;
      issues.push(error(at, `with this alternative applied, ${issue.path || 'the config'}: ${issue.message}`));
    }
    const pools =
      isPlainObject(rest.spec) && Array.isArray(rest.spec.worker_pool_specs) ? rest.spec.worker_pool_specs : [];
    if (rung.region === undefined) return;
    for (const pool of pools) {
      const image =
        isPlainObject(pool) && isPlainObject(pool.container_spec) ? pool.container_spec.image_uri : undefined;
      if (typeof image !== 'string' || hasPlaceholder(image)) continue;
      const note = crossRegionImageNote(image, rung.region);
      if (note !== undefined) {
        issues.push(warning([...at, 'region'], note));
        break;
      }
    }
  });
}

/**
 * Validate a config whose variables and macros are already handled. Internal step of `validateQueueConfig` and
 * `resolveQueueConfig`; `issues` holds what earlier steps found.
 */
export function validateQueueConfigShape(
  config: unknown,
  issues: ConfigIssue[] = [],
): ValidationResult<ResolvedQueueConfig> {
  if (!isPlainObject(config)) {
    issues.push(
      error(
        '',
        config === null || config === undefined
          ? 'the queue config is empty: it needs `spec` (worker_pool_specs, staging_bucket) and optionally `run`'
          : `a queue config must be a mapping with \`spec\` and \`run\`, got ${describeType(config)}`,
      ),
    );
    return { ok: false, issues };
  }
  const parsed = queueConfigSchema.safeParse(config, { reportInput: false });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      issues.push(...translateIssue(issue, config));
      if (issue.code !== 'unrecognized_keys') continue;
      for (const key of issue.keys) {
        const renamed = renamedKey(issue.path, key);
        if (renamed !== undefined)
          issues.push(...keysBelowRenamed(config, [...issue.path, key], [...issue.path, renamed]));
      }
    }
  }
  checkSections(config, issues);
  checkFallback(config, issues);
  const ok = parsed.success && !issues.some((issue) => issue.severity === 'error');
  return ok ? { ok, value: parsed.data as ResolvedQueueConfig, issues } : { ok: false, issues };
}

/**
 * Validate a raw queue config (as parsed from YAML/JSON), reporting every problem with its path and the allowed
 * values where there is a list. Unwraps `vertex:` / `gcp-vertex:`. Macros are checked (known names) but not filled;
 * template variables take their default (or a probe value) so the rest of the config can be checked before launch.
 */
export function validateQueueConfig(raw: unknown): ValidationResult<ResolvedQueueConfig> {
  const issues: ConfigIssue[] = [];
  const unwrapped = unwrapQueueConfig(raw, issues);
  const deep = tooDeepAt(unwrapped);
  if (deep !== undefined) return { ok: false, issues: [...issues, tooDeepIssue(deep)] };
  if (!isPlainObject(unwrapped)) return validateQueueConfigShape(unwrapped, issues);
  const { declarations, issues: declarationIssues } = readDeclarations(unwrapped.template_variables);
  issues.push(...declarationIssues);
  for (const [name, decl] of declarations) {
    if (decl.default === undefined) {
      issues.push(
        warning(['template_variables', name], `has no default: every launch must set it (--set-var ${name}=...)`),
      );
    }
  }
  const config: Record<string, unknown> = { ...unwrapped };
  const probes = probeValues(declarations);
  for (const section of ['spec', 'run'] as const) {
    if (config[section] === undefined) continue;
    const filled = substituteVariables(config[section], [section], declarations, probes);
    issues.push(...filled.issues);
    const checked = substituteMacros(filled.value, [section], { allowEnv: true, warnCredentials: true });
    issues.push(...checked.issues);
    config[section] = filled.value;
  }
  return validateQueueConfigShape(config, issues);
}

/** Human text for issues, one line per issue: `file: path: message` (warnings say so). */
export function formatConfigIssues(issues: readonly ConfigIssue[], file?: string): string {
  return issues
    .map((issue) => {
      const parts = [
        file,
        issue.path || '(top level)',
        issue.severity === 'warning' ? `warning: ${issue.message}` : issue.message,
      ];
      return parts.filter((part) => part !== undefined && part !== '').join(': ');
    })
    .join('\n');
}
