/**
 * Turns the Docker Engine's JSON progress messages (build and push) into {@link BuildEvent}s. Docker reports
 * failures as `{ error }` / `{ errorDetail }` messages on an HTTP 200 stream, so every message is scanned.
 */
import type { BuildEvent } from '@vertex-launch/core';

/** One message of a Docker progress stream (build or push). */
export interface DockerMessage {
  stream?: string;
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
  errorDetail?: { code?: number; message?: string };
  aux?: { ID?: string; Tag?: string; Digest?: string; Size?: number };
}

/** What a progress stream produced so far: the error (if any), the image id of a build, the digest of a push. */
export interface ProgressOutcome {
  error: string | undefined;
  imageId: string | undefined;
  digest: string | undefined;
}

const STEP = /^Step (\d+)\/(\d+) : (.*)$/;
// Strip terminal control sequences Docker may put into build output.
const CONTROL_SEQUENCE = new RegExp(`${String.fromCharCode(27)}\\[[0-9;?]*[A-Za-z]`, 'g');

/** Keeps the last `size` log lines, for a {@link BuildError}'s tail. */
export class LogTail {
  private readonly lines: string[] = [];
  constructor(private readonly size = 40) {}
  push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.size) this.lines.shift();
  }
  toArray(): string[] {
    return [...this.lines];
  }
}

/**
 * A stateful translator for one progress stream: feed it every message with {@link ProgressTranslator.accept};
 * it emits events, records log lines in `tail` and remembers the first error, the build's image id and the
 * push's digest.
 */
export class ProgressTranslator {
  readonly outcome: ProgressOutcome = { error: undefined, imageId: undefined, digest: undefined };
  private partial = '';

  constructor(
    private readonly emit: (event: BuildEvent) => void,
    readonly tail: LogTail,
  ) {}

  /** Handles one message. */
  accept(message: DockerMessage): void {
    if (message.error !== undefined || message.errorDetail?.message !== undefined) {
      const text = (message.errorDetail?.message ?? message.error ?? '').trim();
      this.outcome.error ??= text;
      this.line(text, 'stderr');
      return;
    }
    if (typeof message.stream === 'string') {
      const text = this.partial + message.stream;
      const parts = text.split('\n');
      this.partial = parts.pop() ?? '';
      for (const part of parts) this.line(part, 'stdout');
    }
    if (message.aux?.ID !== undefined) this.outcome.imageId = message.aux.ID;
    if (message.aux?.Digest !== undefined) this.outcome.digest = message.aux.Digest;
    if (typeof message.status === 'string') this.status(message);
  }

  /** Flushes a trailing line without newline. */
  end(): void {
    if (this.partial !== '') this.line(this.partial, 'stdout');
    this.partial = '';
  }

  private line(raw: string, stream: 'stdout' | 'stderr'): void {
    const line = raw.replace(CONTROL_SEQUENCE, '').replace(/\r$/, '');
    if (line.trim() === '') return;
    this.tail.push(line);
    this.emit({ type: 'log', line, stream });
    const step = STEP.exec(line);
    if (step) this.emit({ type: 'step', current: Number(step[1]), total: Number(step[2]), text: step[3] ?? '' });
  }

  private status(message: DockerMessage): void {
    const status = message.status ?? '';
    const layer = message.id;
    if (status === 'Pushing' && layer !== undefined) {
      const current = message.progressDetail?.current ?? 0;
      this.emit({ type: 'push', layer, bytes: current, totalBytes: message.progressDetail?.total });
      return;
    }
    if ((status === 'Pushed' || status === 'Layer already exists') && layer !== undefined) {
      this.emit({ type: 'push', layer, bytes: 0, totalBytes: undefined, done: true });
      this.tail.push(`${layer}: ${status}`);
      return;
    }
    if (['Preparing', 'Waiting'].includes(status)) return;
    const line = layer === undefined ? status : `${layer}: ${status}`;
    this.tail.push(line);
    this.emit({ type: 'log', line, stream: 'stdout' });
  }
}
