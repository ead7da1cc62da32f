import { describe, expect, test } from 'vitest';
import { compileDockerignore, parseDockerignore } from './dockerignore.js';

const matcher = (text: string) => compileDockerignore(parseDockerignore(text));

describe('.dockerignore with Docker semantics', () => {
  test('parses lines, comments and surrounding space like Docker', () => {
    expect(parseDockerignore('\uFEFF# c\n  a  \r\n\n!b\n')).toEqual(['a', '!b']);
  });

  test('a pattern matching a directory excludes everything below; the last match wins', () => {
    const m = matcher('build\n!build/keep.txt\n');
    expect(m.ignores('build')).toBe(true);
    expect(m.ignores('build/out.o')).toBe(true);
    expect(m.ignores('build/keep.txt')).toBe(false);
    expect(m.ignores('src/build')).toBe(false); // patterns are anchored at the root
  });

  test('`**` spans any number of directories, `*` and `?` stay within one', () => {
    const m = matcher('**/*.pyc\ndocs/*.md\na?c\n');
    expect(m.ignores('x.pyc')).toBe(true);
    expect(m.ignores('a/b/c/x.pyc')).toBe(true);
    expect(m.ignores('docs/readme.md')).toBe(true);
    expect(m.ignores('docs/sub/readme.md')).toBe(false);
    expect(m.ignores('abc')).toBe(true);
    expect(m.ignores('a/c')).toBe(false);
  });

  test('a leading slash, ./ and a trailing slash are cleaned away', () => {
    const m = matcher('/logs/\n./tmp\n');
    expect(m.ignores('logs/a.log')).toBe(true);
    expect(m.ignores('tmp')).toBe(true);
  });

  test('matching is case-sensitive and regexp characters are literal, as in Go', () => {
    const m = matcher('Data\nc++(1)|{x}.txt\n');
    expect(m.ignores('Data')).toBe(true);
    expect(m.ignores('data')).toBe(false);
    expect(m.ignores('c++(1)|{x}.txt')).toBe(true);
    expect(m.ignores('cc(1)|{x}.txt')).toBe(false);
  });

  test('excluded directories are walked only when an exception could apply below them', () => {
    const m = matcher('node_modules\ndata\n!data/small/*.csv\n');
    expect(m.mayIncludeBelow('node_modules')).toBe(false);
    expect(m.mayIncludeBelow('data')).toBe(true);
    expect(m.mayIncludeBelow('data/small')).toBe(true);
    expect(m.mayIncludeBelow('data/big')).toBe(false);
    expect(matcher('x\n!**/keep').mayIncludeBelow('x')).toBe(true);
  });
});
