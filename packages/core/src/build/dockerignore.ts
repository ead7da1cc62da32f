/**
 * `.dockerignore` matching with Docker's semantics, on top of `@balena/dockerignore` (a port of moby's matcher):
 * patterns are cleaned like Go's `filepath.Clean`, a leading `/` is dropped, `**` matches any number of directories,
 * a pattern that matches a directory excludes everything below it, and the last matching pattern wins, so `!`
 * exceptions re-include files. Two fixes over the library's defaults: matching is case-sensitive (as Docker on Linux),
 * and characters that are literal in Go's `filepath.Match` but special in a JS RegExp (`+ ( ) { } |`) are escaped.
 */
import dockerignore, { type Ignore } from '@balena/dockerignore';

// A CommonJS module whose export is also its own `default`: this works under Node's ESM loader and bundlers alike.
const ignore = dockerignore.default;

/** A compiled `.dockerignore`. */
export interface DockerIgnore {
  /** True when `path` (relative to the context root, `/`-separated) is excluded. */
  ignores(path: string): boolean;
  /**
   * False when no exception (`!pattern`) could re-include anything below the excluded directory `dir`, so the walk
   * can skip it.
   */
  mayIncludeBelow(dir: string): boolean;
}

const REGEXP_ONLY_SPECIALS = new Set(['+', '(', ')', '{', '}', '|']);

/** Escape characters that Go's filepath.Match treats literally but the library would pass into a RegExp. */
function escapeRegexpOnly(pattern: string): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '\\' && i + 1 < pattern.length) {
      out += ch + pattern[i + 1];
      i++;
    } else if (REGEXP_ONLY_SPECIALS.has(ch)) {
      out += `\\${ch}`;
    } else {
      out += ch;
    }
  }
  return out;
}

/** Split `.dockerignore` text into patterns as Docker reads it: one per line, `#` comments, surrounding space trimmed. */
export function parseDockerignore(text: string): string[] {
  const patterns: string[] = [];
  for (const raw of text.replace(/^\uFEFF/, '').split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    patterns.push(line);
  }
  return patterns;
}

function normalizePattern(pattern: string): string {
  let p = pattern.replace(/\/+/g, '/');
  while (p.startsWith('./')) p = p.slice(2);
  if (p.length > 1 && p.startsWith('/')) p = p.slice(1);
  if (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
  return p;
}

/** Compile `.dockerignore` patterns (in file order). */
export function compileDockerignore(patterns: readonly string[]): DockerIgnore {
  const escaped = patterns.map((p) => {
    const negative = p.startsWith('!');
    const body = escapeRegexpOnly(negative ? p.slice(1).trim() : p);
    return negative ? `!${body}` : body;
  });
  const matcher: Ignore = ignore({ ignorecase: false }).add(escaped);
  // Exceptions, as segment lists, for deciding whether an excluded directory must still be walked.
  const exceptions = escaped
    .filter((p) => p.startsWith('!'))
    .map((p) => normalizePattern(p.slice(1).trim()))
    .filter((p) => p !== '')
    .map((p) => p.split('/'));
  const prefixMatchers = new Map<string, Ignore>();
  const prefixMatches = (segments: readonly string[], dir: string): boolean => {
    const key = segments.join('/');
    let m = prefixMatchers.get(key);
    if (m === undefined) {
      m = ignore({ ignorecase: false }).add(key);
      prefixMatchers.set(key, m);
    }
    return m.ignores(dir);
  };
  return {
    ignores: (path) => matcher.ignores(path),
    mayIncludeBelow(dir) {
      const depth = dir.split('/').length;
      return exceptions.some((segments) => {
        if (segments.some((s) => s.includes('**'))) return true;
        if (segments.length <= depth) return false;
        return prefixMatches(segments.slice(0, depth), dir);
      });
    },
  };
}
