/**
 * Running a created container to its end with its output as log lines: shared by the Docker job executor (a
 * CustomJob's replica) and Cloud Build (a step in its builder image).
 */
import { PassThrough, Writable } from 'node:stream';
import type Dockerode from 'dockerode';

/** Splits a byte stream into lines and hands each to `onLine` (a trailing `\r` dropped; the last partial line on end). */
export class LineSink extends Writable {
  private rest = '';
  constructor(private readonly onLine: (line: string) => void) {
    super();
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    const lines = (this.rest + chunk.toString('utf8')).split('\n');
    this.rest = lines.pop() ?? '';
    for (const line of lines) this.onLine(line.replace(/\r$/, ''));
    callback();
  }
  override _final(callback: () => void): void {
    this.flushRest();
    callback();
  }
  /** Hands on the partial line held back, now (instead of when the stream ends). */
  flushRest(): void {
    if (this.rest !== '') this.onLine(this.rest);
    this.rest = '';
  }
}

/** Options of {@link runAttached}. */
export interface AttachedRunOptions {
  /** Aborting kills the container. */
  signal: AbortSignal;
  /** Each line the container writes to stdout. */
  stdout(line: string): void;
  /**
   * Each line written to stderr. Default: `stdout`'s callback. The two streams are split into lines apart, so a
   * partial stdout line never joins a stderr line.
   */
  stderr?(line: string): void;
  /** How long to wait for the output to drain after the container exited. Default 2000 ms. */
  drainMs?: number;
}

/**
 * Attaches to `container` (created, not started), starts it and resolves with its exit status once it has exited
 * and its output has drained (or `drainMs` passed). Every output line has been handed on when it resolves. Aborting
 * `signal`, also before the start, kills the container. The caller removes the container.
 */
export async function runAttached(
  docker: Dockerode,
  container: Dockerode.Container,
  options: AttachedRunOptions,
): Promise<number> {
  const { signal } = options;
  const kill = () => {
    void container.kill().catch(() => undefined);
  };
  try {
    const stream = (await container.attach({ stream: true, stdout: true, stderr: true })) as NodeJS.ReadableStream;
    const outLines = new LineSink(options.stdout);
    const errLines = new LineSink(options.stderr ?? options.stdout);
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    stdout.pipe(outLines);
    stderr.pipe(errLines);
    docker.modem.demuxStream(stream, stdout, stderr);
    const drained = new Promise<void>((resolve) => {
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.once('error', () => resolve());
    });
    signal.addEventListener('abort', kill, { once: true });
    await container.start();
    if (signal.aborted) kill();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([drained, new Promise((r) => (timer = setTimeout(r, options.drainMs ?? 2000)))]);
    clearTimeout(timer);
    stdout.end();
    stderr.end();
    outLines.flushRest();
    errLines.flushRest();
    return StatusCode;
  } finally {
    signal.removeEventListener('abort', kill);
  }
}
