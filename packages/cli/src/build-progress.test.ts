import { describe, expect, it } from 'vitest';
import { buildProgress, progressMode } from './build-progress.js';
import type { Io } from './output.js';

function capture(isTTY: boolean): { io: Io; stderr: () => string } {
  let err = '';
  return { io: { stdout: () => {}, stderr: (t) => (err += t), isTTY, color: false }, stderr: () => err };
}

/** What a terminal shows: `\r` returns to the line start, `ESC[2K` erases the line, text overwrites. */
function screen(raw: string): string[] {
  const lines: string[] = [];
  let line: string[] = [];
  let cursor = 0;
  for (let i = 0; i < raw.length; i++) {
    if (raw.startsWith('\x1b[2K', i)) {
      line = [];
      i += 3;
    } else if (raw[i] === '\r') cursor = 0;
    else if (raw[i] === '\n') {
      lines.push(line.join(''));
      line = [];
      cursor = 0;
    } else {
      while (line.length < cursor) line.push(' ');
      line[cursor++] = raw[i] as string;
    }
  }
  if (line.length > 0) lines.push(line.join(''));
  return lines;
}

describe('buildProgress', () => {
  it('shows each step once with the time since the build started, even when the log repeats it (Cloud Build)', () => {
    const { io, stderr } = capture(false);
    let now = 1_000;
    const show = buildProgress(io, 'plain', () => now);
    show({ type: 'log', line: 'Step #0 - "build": Step 1/2 : FROM python:3.12' });
    show({ type: 'step', current: 1, total: 2, text: 'FROM python:3.12' });
    now += 3_500;
    show({ type: 'log', line: 'Step 2/2 : RUN pip install torch' });
    show({ type: 'step', current: 2, total: 2, text: 'RUN pip install torch' });
    show({ type: 'log', line: 'Step #0 - "build": Successfully installed torch' });
    now += 61_000;
    show.finish('pushed');
    expect(stderr().split('\n')).toEqual([
      '[+0ms] [step 1/2] FROM python:3.12',
      '[+3s] [step 2/2] RUN pip install torch',
      '  Step #0 - "build": Successfully installed torch',
      '[+1m 04s] [done] 2 steps',
      '',
    ]);
  });

  it('plain: the push in bytes per layer and in all, layers already there said so; no redrawn line', () => {
    const { io, stderr } = capture(false);
    const show = buildProgress(io, 'plain', () => 0);
    show({ type: 'push', layer: 'aaa', bytes: 1024, totalBytes: 4096 });
    show({ type: 'push', layer: 'aaa', bytes: 4096, totalBytes: 4096 });
    show({ type: 'push', layer: 'aaa', bytes: 0, totalBytes: undefined, done: true });
    show({ type: 'push', layer: 'bbb', bytes: 0, totalBytes: undefined, done: true });
    show({ type: 'push', layer: 'ccc', bytes: 2 * 1024 * 1024, totalBytes: 2 * 1024 * 1024 });
    show({ type: 'push', layer: 'ccc', bytes: 0, totalBytes: undefined, done: true });
    show.finish('pushed');
    expect(stderr()).not.toContain('\r');
    expect(stderr().split('\n')).toEqual([
      '[push] layer aaa done (4.0 KiB)',
      '[push] layer bbb already in the registry',
      '[push] layer ccc done (2.0 MiB)',
      '[+0ms] [done] 2.0 MiB pushed in 2 layers (1 already in the registry)',
      '',
    ]);
  });

  it('tty: the upload and push counters redraw one line, clear it fully, and leave nothing behind', () => {
    const { io, stderr } = capture(true);
    const show = buildProgress(io, 'tty', () => 0);
    show({ type: 'upload', bytes: 123_456_789, totalBytes: undefined });
    show({ type: 'upload', bytes: 5, totalBytes: undefined });
    expect(screen(stderr())).toEqual(['[upload] 5 B sent']);
    show({ type: 'upload', bytes: 2048, totalBytes: 2048 });
    show({ type: 'push', layer: 'aaa', bytes: 512, totalBytes: 1024 });
    show({ type: 'log', line: 'a log line' });
    show({ type: 'push', layer: 'aaa', bytes: 1024, totalBytes: 1024 });
    expect(screen(stderr())).toEqual([
      '[+0ms] [upload] 2.0 KiB of build context sent',
      '  a log line',
      '[push] 1.0 KiB of 1.0 KiB (0/1 layers)',
    ]);
    show.finish('pushed');
    expect(screen(stderr())).toEqual([
      '[+0ms] [upload] 2.0 KiB of build context sent',
      '  a log line',
      '[+0ms] [done] 1.0 KiB pushed in 1 layer',
    ]);
    // Every redraw starts by erasing the line: a shorter counter never shows the end of a longer one.
    expect(
      stderr()
        .split('\r')
        .slice(1)
        .every((after) => after.startsWith('\u001b[2K')),
    ).toBe(true);
  });

  it('--progress: auto follows the terminal; a bad mode names the flag', () => {
    expect(progressMode(undefined, capture(true).io)).toBe('tty');
    expect(progressMode('auto', capture(false).io)).toBe('plain');
    expect(progressMode('plain', capture(true).io)).toBe('plain');
    expect(() => progressMode('fancy', capture(true).io)).toThrow('--progress fancy: use plain, tty or auto');
  });
});
