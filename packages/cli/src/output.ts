import { ConfigError, type ConfigIssue, isVertexLaunchError } from '@vertex-launch/core';
import { formatConfigIssues } from '@vertex-launch/core/config';
import { exitCodeFor, UsageError } from './exit-codes.js';

/** Where a command writes. Injected so tests and embedders can capture output. */
export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** True when stderr is a terminal (progress may redraw); false: plain lines. */
  isTTY: boolean;
  color: boolean;
}

/**
 * The `Io` of the running process: writes to `process.stdout` / `process.stderr`, with colour only on a terminal
 * and never when `NO_COLOR` is set or `TERM=dumb`.
 */
export function processIo(): Io {
  const isTTY = Boolean(process.stderr.isTTY);
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    isTTY,
    color: isTTY && !process.env.NO_COLOR && process.env.TERM !== 'dumb',
  };
}

/** Writes exactly one JSON document and a newline. */
export function printJson(io: Io, value: unknown): void {
  io.stdout(`${JSON.stringify(value, null, 2)}\n`);
}

const paint = (io: Io, code: string, text: string) => (io.color ? `\u001b[${code}m${text}\u001b[0m` : text);
export const red = (io: Io, t: string) => paint(io, '31', t);
export const green = (io: Io, t: string) => paint(io, '32', t);
export const yellow = (io: Io, t: string) => paint(io, '33', t);
export const dim = (io: Io, t: string) => paint(io, '2', t);

/** Issues as plain objects for `--json` output. */
export function issuesJson(issues: readonly ConfigIssue[]) {
  return issues.map((i) => ({ path: i.path, message: i.message, severity: i.severity }));
}

/**
 * Renders an error for a person: one clear message (and the problems of a config error), no stack trace
 * unless `debug` is set or the error is a bug. Returns the exit code.
 */
export function reportError(io: Io, error: unknown, options: { debug?: boolean; json?: boolean } = {}): number {
  const code = exitCodeFor(error);
  const known = isVertexLaunchError(error) || error instanceof UsageError;
  if (options.json) {
    const body: Record<string, unknown> = {
      error: {
        code: isVertexLaunchError(error) ? error.code : error instanceof UsageError ? 'USAGE' : 'INTERNAL',
        message: error instanceof Error ? error.message : String(error),
      },
    };
    if (error instanceof ConfigError) {
      (body.error as Record<string, unknown>).file = error.file;
      (body.error as Record<string, unknown>).issues = issuesJson(error.issues);
    }
    io.stderr(`${JSON.stringify(body)}\n`);
  } else {
    const message = error instanceof Error ? error.message : String(error);
    io.stderr(`${red(io, 'error')} ${message}\n`);
    if (error instanceof ConfigError && error.issues.length > 0) {
      io.stderr(`${indent(formatConfigIssues(error.issues, error.file))}\n`);
    }
    if (isVertexLaunchError(error) && error.hint) io.stderr(`${dim(io, 'hint')} ${error.hint}\n`);
  }
  if ((options.debug || !known) && error instanceof Error && error.stack) {
    io.stderr(`${error.stack}\n`);
    if (!known) io.stderr('This is a bug in vertex-launch: please report it with the output above.\n');
  }
  return code;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
