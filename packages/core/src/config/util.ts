/** Small helpers shared by the config modules. */
import type { ConfigIssue } from '../errors.js';
import type { PathSegments } from './schema-paths.js';
import { formatPath } from './schema-paths.js';

/** A plain (JSON-like) object, not an array or null. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Structural equality of JSON-like values. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a).filter((k) => a[k] !== undefined);
    const otherKeys = Object.keys(b).filter((k) => b[k] !== undefined);
    return keys.length === otherKeys.length && keys.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

/** An error issue. */
export function error(path: PathSegments | string, message: string): ConfigIssue {
  return { path: typeof path === 'string' ? path : formatPath(path), message, severity: 'error' };
}

/** A warning issue. */
export function warning(path: PathSegments | string, message: string): ConfigIssue {
  return { path: typeof path === 'string' ? path : formatPath(path), message, severity: 'warning' };
}

/** Visit every string in a JSON-like value, with its path; `replace` returns the new string (or the same). */
export function mapStrings(
  value: unknown,
  path: PropertyKey[],
  replace: (text: string, path: PropertyKey[]) => unknown,
): unknown {
  if (typeof value === 'string') return replace(value, path);
  if (Array.isArray(value)) return value.map((item, i) => mapStrings(item, [...path, i], replace));
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = mapStrings(item, [...path, key], replace);
    return out;
  }
  return value;
}

/** A short description of a value's type for messages (never the value itself: it may be a secret). */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'NaN';
    if (!Number.isFinite(value)) return 'infinity (too large a number)';
    return Number.isInteger(value) ? 'an integer' : 'a number';
  }
  if (typeof value === 'boolean') return 'a boolean';
  return typeof value;
}

/** Deepest nesting of lists and mappings a config may have: real ones stay under 10 levels. */
export const MAX_CONFIG_DEPTH = 64;

/**
 * The path of the first value nested deeper than `max` lists and mappings (or part of a cycle), else `undefined`.
 * Iterative, so it is safe on any input; check with it before recursing into a value (deep input overflowed the
 * stack with a RangeError).
 */
export function tooDeepAt(value: unknown, path: PropertyKey[] = [], max = MAX_CONFIG_DEPTH): PropertyKey[] | undefined {
  const stack: Array<{ value: unknown; path: PropertyKey[] }> = [{ value, path }];
  while (stack.length > 0) {
    const top = stack.pop()!;
    if (typeof top.value !== 'object' || top.value === null) continue;
    if (top.path.length - path.length >= max) return top.path;
    const entries: Array<[PropertyKey, unknown]> = Array.isArray(top.value)
      ? top.value.map((item, i) => [i, item])
      : Object.entries(top.value);
    for (const [key, item] of entries) stack.push({ value: item, path: [...top.path, key] });
  }
  return undefined;
}

/** The error for a value nested deeper than {@link MAX_CONFIG_DEPTH}, at the path {@link tooDeepAt} found. */
export function tooDeepIssue(path: PropertyKey[]): ConfigIssue {
  return error(
    path,
    `nested more than ${MAX_CONFIG_DEPTH} levels deep (lists or mappings inside each other): not a config, refused before reading further`,
  );
}

/** A `${macro}` (group 1: its name, group 2: the closing brace, empty when unterminated) or an escaped `$${`. */
export const MACRO_TOKEN = /\$\$\{|\$\{([^}]*)(\}|$)/g;

/**
 * The `${env:...}` macros of a string as written, escaped `$${env:` excluded. Spaces around the name count, as when
 * macros are filled: `${ env:NAME }` reads the environment too.
 */
export function envMacros(text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(MACRO_TOKEN)) if (match[1]?.trim().startsWith('env:')) found.push(match[0]);
  return found;
}
