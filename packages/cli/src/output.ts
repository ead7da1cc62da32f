import { ConfigError, type ConfigIssue, isVertexLaunchError, SubmitUnknownError } from '@vertex-launch/core';
import { formatConfigIssues } from '@vertex-launch/core/config';
import { ExitCode, exitCodeFor, UsageError } from './exit-codes.js';

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

/**
 * Makes the process end quietly when whoever reads its output goes away (`vertex-launch launch --help | head -1`,
 * `... | less` then `q`): an `EPIPE` on stdout or stderr exits at once with {@link ExitCode.BROKEN_PIPE} (141,
 * 128 + SIGPIPE: what a shell reports for git or `yes` in the same place) and writes nothing more, instead of
 * Node's unhandled `error` event and its stack trace. Node ignores SIGPIPE itself, so the write fails with EPIPE
 * instead of the signal ending the process as it ends a C program. Other stream errors are rethrown: they are bugs.
 * Installed by the `vertex-launch` executable only; `main()` called from a program leaves its streams alone.
 */
export function exitQuietlyOnBrokenPipe(
  streams: readonly NodeJS.WriteStream[] = [process.stdout, process.stderr],
  exit: (code: number) => void = (code) => process.exit(code),
): void {
  for (const stream of streams) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
      exit(ExitCode.BROKEN_PIPE);
    });
  }
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

/** The warnings among `issues`, as `{ path, message }` objects for `--json` output (the `warnings` key). */
export function warningsJson(issues: readonly ConfigIssue[]) {
  return issues.filter((i) => i.severity === 'warning').map((i) => ({ path: i.path, message: i.message }));
}

/**
 * Prints the warnings among `issues` on stderr, one `file: path: warning: message` line each under a `warnings:`
 * header (as `queue validate` does); prints nothing when there are none.
 */
export function printWarnings(io: Io, issues: readonly ConfigIssue[], file?: string): void {
  const warnings = issues.filter((i) => i.severity === 'warning');
  if (warnings.length > 0) io.stderr(`${yellow(io, 'warnings:')}\n${formatConfigIssues(warnings, file)}\n`);
}

/** True when a command prints JSON (`--json`, or `--format json` of a list): its errors are then JSON too. */
export function isJsonOutput(options: { json?: boolean; format?: unknown }): boolean {
  return (
    options.json === true || (typeof options.format === 'string' && options.format.trim().toLowerCase() === 'json')
  );
}

/** The `{ error: { code, message, hint } }` line of a usage error (a flag commander refused) on stdout. */
export function usageErrorJson(io: Io, message: string, hint: string | null): void {
  io.stdout(`${JSON.stringify({ error: { code: 'USAGE', message, hint } })}\n`);
}

/**
 * Renders an error for a person on stderr: one clear message (and the problems of a config error), no stack trace
 * unless `debug` is set or the error is a bug. With `json` (the command prints JSON), the error also goes to stdout
 * as one JSON line, `{ "error": { "code", "message", "hint", ... } }`, so a script reading stdout sees why it got
 * no data. Returns the exit code (the same in both modes).
 */
export function reportError(io: Io, error: unknown, options: { debug?: boolean; json?: boolean } = {}): number {
  const code = exitCodeFor(error);
  const known = isVertexLaunchError(error) || error instanceof UsageError;
  const message = error instanceof Error ? error.message : String(error);
  if (options.json) {
    const body: Record<string, unknown> = {
      code: isVertexLaunchError(error) ? error.code : error instanceof UsageError ? 'USAGE' : 'INTERNAL',
      message,
      hint: (isVertexLaunchError(error) && error.hint) || null,
    };
    if (error instanceof SubmitUnknownError) {
      // The job may exist: the launch id and the filter that finds it.
      Object.assign(body, { launchId: error.launchId, filter: error.filter });
    }
    if (error instanceof ConfigError) {
      body.file = error.file ?? null;
      body.issues = issuesJson(error.issues);
    }
    io.stdout(`${JSON.stringify({ error: body })}\n`);
  }
  const [headline, ...rest] = message.split('\n');
  io.stderr(`${red(io, 'error')} ${headline}\n`);
  if (rest.length > 0) io.stderr(`${indent(rest.join('\n'))}\n`);
  // Many config errors already list their problems in the message (`Invalid queue config q.yaml (2 problems):`
  // and one line each): print only the issues it does not state, the warnings at least, so each shows once.
  const unstated = error instanceof ConfigError ? error.issues.filter((i) => !statedIn(message, i)) : [];
  if (unstated.length > 0) io.stderr(`${indent(formatConfigIssues(unstated, (error as ConfigError).file))}\n`);
  if (isVertexLaunchError(error) && error.hint) io.stderr(`${dim(io, 'hint')} ${error.hint}\n`);
  if ((options.debug || !known) && error instanceof Error && error.stack) {
    io.stderr(`${error.stack}\n`);
    if (!known) io.stderr('This is a bug in vertex-launch: please report it with the output above.\n');
  }
  return code;
}

/**
 * Edit distance of two short words (command and field names) for did-you-mean suggestions: insertions, deletions,
 * substitutions and swaps of neighbours (`itmes` -> `items` is 1).
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number) => (d[i] as number[])[j] as number;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      (d[i] as number[])[j] = best;
    }
  }
  return at(a.length, b.length);
}

/**
 * True when `message` already states `issue`: its text, and its path when it has one (in any of the forms
 * `path: message`, `path message`, or a list line naming the key elsewhere in the message).
 */
function statedIn(message: string, issue: ConfigIssue): boolean {
  return message.includes(issue.message) && (issue.path === '' || message.includes(issue.path));
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}

/** Words that answer "yes" at a `[y/N]` prompt. */
export const YES = /^\s*y(es)?\s*$/i;

/** Reads one line from stdin (a prompt's answer). Resolves with '' when stdin ends. */
export function readLine(): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const onData = (chunk: Buffer | string) => {
      text += chunk.toString();
      if (text.includes('\n')) done();
    };
    const done = () => {
      process.stdin.off('data', onData);
      process.stdin.off('end', done);
      process.stdin.pause();
      resolve(text.split('\n')[0] ?? '');
    };
    process.stdin.on('data', onData);
    process.stdin.once('end', done);
    process.stdin.resume();
  });
}
