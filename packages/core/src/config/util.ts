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
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a number';
  if (typeof value === 'boolean') return 'a boolean';
  return typeof value;
}
