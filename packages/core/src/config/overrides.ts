/**
 * Launch-time overrides: an object `{spec?: {...}, run?: {...}}` deep-merged into the queue config (objects merge,
 * arrays and scalars replace, `null` removes a key). A queue may restrict them with `allowed_overrides`.
 */
import type { ConfigIssue } from '../errors.js';
import { queueConfigSchema } from './schema.js';
import { objectKeysAt, schemaAt } from './schema-paths.js';
import { closestKey } from './suggest.js';
import { describeType, error, isPlainObject } from './util.js';

/** Sections an override may touch. */
export const OVERRIDABLE_SECTIONS = ['spec', 'run'] as const;

/** Problems in `allowed_overrides` entries: each must name a key of `spec` or `run` (dotted, no indices). */
export function checkAllowedOverrides(allowed: unknown): ConfigIssue[] {
  if (!Array.isArray(allowed)) return [];
  const issues: ConfigIssue[] = [];
  allowed.forEach((entry, index) => {
    if (typeof entry !== 'string') return;
    const at = ['allowed_overrides', index];
    const segments = entry.split('.');
    if (!(OVERRIDABLE_SECTIONS as readonly string[]).includes(segments[0] ?? '')) {
      issues.push(error(at, `\`${entry}\` must start with \`spec.\` or \`run.\``));
      return;
    }
    if (segments.some((s) => s === '' || /[[\]]/.test(s))) {
      issues.push(
        error(at, `\`${entry}\` must be a dotted path of keys without list indices (overrides replace lists whole)`),
      );
      return;
    }
    for (let i = 1; i < segments.length; i++) {
      if (schemaAt(queueConfigSchema, segments.slice(0, i + 1)) === undefined) {
        const keys = objectKeysAt(queueConfigSchema, segments.slice(0, i));
        const suggestion = keys ? closestKey(segments[i]!, keys) : undefined;
        issues.push(
          error(
            at,
            `\`${entry}\` is not a queue config path: \`${segments.slice(0, i).join('.')}\` has no key \`${segments[i]}\`` +
              (suggestion ? ` (did you mean \`${suggestion}\`?)` : ''),
          ),
        );
        return;
      }
    }
  });
  return issues;
}

function leafPaths(value: unknown, prefix: string, out: string[]): void {
  if (isPlainObject(value) && Object.keys(value).length > 0) {
    for (const [key, child] of Object.entries(value)) leafPaths(child, `${prefix}.${key}`, out);
  } else {
    out.push(prefix);
  }
}

/**
 * Check an overrides object: a mapping with only `spec` / `run`, and — when the queue lists `allowed_overrides` —
 * touching nothing else. Every refused path is named with the allowed list.
 */
export function checkOverrides(overrides: unknown, allowed: readonly string[] | undefined): ConfigIssue[] {
  if (overrides === undefined || overrides === null) return [];
  if (!isPlainObject(overrides)) {
    return [
      error(
        'overrides',
        `launch overrides must be a mapping like {"run": {"timeout": "2h"}}, got ${describeType(overrides)}`,
      ),
    ];
  }
  const issues: ConfigIssue[] = [];
  const leaves: string[] = [];
  for (const [key, value] of Object.entries(overrides)) {
    if (!(OVERRIDABLE_SECTIONS as readonly string[]).includes(key)) {
      issues.push(error(['overrides', key], `launch overrides may only change \`spec\` and \`run\`, not \`${key}\``));
      continue;
    }
    if (!isPlainObject(value)) {
      issues.push(error(['overrides', key], `must be a mapping, got ${describeType(value)}`));
      continue;
    }
    for (const [child, childValue] of Object.entries(value)) leafPaths(childValue, `${key}.${child}`, leaves);
  }
  if (allowed !== undefined) {
    for (const leaf of leaves) {
      const ok = allowed.some((path) => leaf === path || leaf.startsWith(`${path}.`));
      if (!ok) {
        issues.push(
          error(
            `overrides.${leaf}`,
            `this queue does not allow overriding \`${leaf}\`; allowed_overrides: ${allowed.length > 0 ? allowed.join(', ') : '(none)'}`,
          ),
        );
      }
    }
  }
  return issues;
}

/** Deep-merge `override` into `base` (neither is modified): objects merge, arrays and scalars replace, null removes. */
export function mergeOverrides(base: unknown, override: unknown): unknown {
  if (!isPlainObject(override)) return structuredClone(override);
  const out: Record<string, unknown> = isPlainObject(base) ? { ...base } : {};
  for (const [key, value] of Object.entries(override)) {
    if (value === null) delete out[key];
    else if (isPlainObject(value)) out[key] = mergeOverrides(out[key], value);
    else out[key] = structuredClone(value);
  }
  return out;
}
