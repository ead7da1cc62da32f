/**
 * How `build` and `launch --source` show a build on stderr: each step with the time since the build started, the
 * context upload and the push in bytes, the builder's log lines once. `--progress tty` redraws one status line (the
 * upload and push counters; each redraw clears the line first, so a shorter text leaves nothing behind); `plain`
 * writes lines only (for logs and CI); `auto` is tty on a terminal.
 */
import { type BuildEvent, formatElapsed } from '@vertex-launch/core';
import { UsageError } from './exit-codes.js';
import { dim, type Io } from './output.js';

export const PROGRESS_MODES = ['auto', 'plain', 'tty'] as const;
export type ProgressMode = 'plain' | 'tty';

/** `--progress plain|tty|auto` (default auto: tty when stderr is a terminal). */
export function progressMode(value: string | undefined, io: Io): ProgressMode {
  const mode = value ?? 'auto';
  if (mode === 'auto') return io.isTTY ? 'tty' : 'plain';
  if (mode === 'plain' || mode === 'tty') return mode;
  throw new UsageError(`--progress ${value}: use plain, tty or auto (default: tty on a terminal, else plain).`);
}

/** `1.5 KiB` */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 * 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  return `${(bytes / 1024 / 1024 / 1024).toFixed(2)} GiB`;
}

/** A step line of a builder's log, as Docker writes it (Cloud Build prefixes it with `Step #0 - "build": `). */
const STEP_LINE = /(?:^|: )Step \d+\/\d+ : /;
/** Erases the current terminal line and returns to its start. */
const CLEAR_LINE = '\r\x1b[2K';

export interface BuildProgress {
  /** Shows one event of the builder. */
  (event: BuildEvent): void;
  /** Ends the status line and prints the summary: steps, time, bytes pushed. */
  finish(outcome: 'pushed' | 'reused' | 'failed'): void;
}

/** A renderer of build events (see the file comment). `now` is injected by tests. */
export function buildProgress(io: Io, mode: ProgressMode, now: () => number = Date.now): BuildProgress {
  const started = now();
  let status = '';
  let steps = 0;
  const layers = new Map<string, { bytes: number; total: number | undefined; done: boolean; existed: boolean }>();
  const elapsed = () => dim(io, `[+${formatElapsed(now() - started)}]`);
  const clearStatus = () => {
    if (status !== '') io.stderr(CLEAR_LINE);
    status = '';
  };
  const line = (text: string) => {
    clearStatus();
    io.stderr(`${text}\n`);
  };
  const draw = (text: string) => {
    if (mode !== 'tty') return;
    io.stderr(`${CLEAR_LINE}${text}`);
    status = text;
  };
  const pushed = () => {
    let bytes = 0;
    let total = 0;
    let known = true;
    for (const layer of layers.values()) {
      if (layer.existed) continue;
      bytes += layer.done ? (layer.total ?? layer.bytes) : layer.bytes;
      if (layer.total === undefined) known = false;
      else total += layer.total;
    }
    return { bytes, total: known ? total : undefined };
  };

  const render = ((event: BuildEvent) => {
    switch (event.type) {
      case 'step':
        steps = Math.max(steps, event.current);
        line(`${elapsed()} [step ${event.current}${event.total === undefined ? '' : `/${event.total}`}] ${event.text}`);
        break;
      case 'upload':
        if (event.totalBytes !== undefined)
          line(`${elapsed()} [upload] ${formatBytes(event.totalBytes)} of build context sent`);
        else draw(`[upload] ${formatBytes(event.bytes)} sent`);
        break;
      case 'push': {
        const id = event.layer ?? 'image';
        const layer = layers.get(id) ?? { bytes: 0, total: undefined, done: false, existed: false };
        if (event.done) {
          // "Layer already exists" comes without a single byte pushed.
          layer.existed = !layer.done && layer.bytes === 0 && layer.total === undefined;
          layer.done = true;
        } else {
          layer.bytes = event.bytes;
          layer.total = event.totalBytes ?? layer.total;
        }
        layers.set(id, layer);
        if (event.done) {
          if (mode === 'plain') {
            line(
              dim(
                io,
                `[push] layer ${id} ${layer.existed ? 'already in the registry' : `done (${formatBytes(layer.total ?? layer.bytes)})`}`,
              ),
            );
          }
        }
        const { bytes, total } = pushed();
        const done = [...layers.values()].filter((l) => l.done).length;
        draw(
          `[push] ${formatBytes(bytes)}${total === undefined ? '' : ` of ${formatBytes(total)}`} (${done}/${layers.size} layers)`,
        );
        break;
      }
      case 'log':
        // Step lines are shown once, as the step (with its time).
        if (!STEP_LINE.test(event.line)) line(dim(io, `  ${event.line}`));
        break;
      case 'skipped':
        line(`[skipped] ${event.reason}`);
        break;
      default:
        break;
    }
  }) as BuildProgress;

  render.finish = (outcome) => {
    clearStatus();
    if (outcome === 'reused') return;
    const { bytes } = pushed();
    const existed = [...layers.values()].filter((l) => l.existed).length;
    const parts = [
      ...(steps > 0 ? [`${steps} step${steps === 1 ? '' : 's'}`] : []),
      ...(layers.size > 0
        ? [
            `${formatBytes(bytes)} pushed in ${layers.size - existed} layer${layers.size - existed === 1 ? '' : 's'}${existed ? ` (${existed} already in the registry)` : ''}`,
          ]
        : []),
    ];
    io.stderr(
      `${elapsed()} [${outcome === 'pushed' ? 'done' : 'failed'}]${parts.length ? ` ${parts.join(', ')}` : ''}\n`,
    );
  };
  return render;
}
