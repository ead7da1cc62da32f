/**
 * The registry behind the emulator's auth proxy: Debian's `docker-registry` (CNCF distribution 2.8), started
 * on demand on a free loopback port with its own config and storage, and stopped with the emulator.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { EmulatorError } from '../context.js';

/** Options of {@link RegistryBackend}. */
export interface RegistryBackendOptions {
  /** Path of the `docker-registry` (or `registry`) binary; default: found on PATH. */
  binary?: string | undefined;
  /** Directory for the registry's config and blobs. */
  root: string;
}

const STARTUP_TIMEOUT_MS = 15_000;

/**
 * `sh -c WATCHDOG vxl-registry <binary> <config>`: serve, and stop when the parent (this process) is gone or on TERM.
 * On TERM the current `sleep` is killed too, so nothing the shell started outlives it.
 */
const WATCHDOG = [
  '"$1" serve "$2" & r=$!',
  "trap 'kill $r $s 2>/dev/null; wait $r; exit 0' TERM INT",
  'while kill -0 $PPID 2>/dev/null && kill -0 $r 2>/dev/null; do sleep 1 & s=$!; wait $s; done',
  'kill $r 2>/dev/null',
  'wait $r',
].join('\n');

/** Finds the registry binary: the option, `VERTEX_LAUNCH_REGISTRY_BINARY`, or `docker-registry` / `registry` on PATH. */
export function findRegistryBinary(explicit?: string): string | undefined {
  const candidates = explicit
    ? [explicit]
    : process.env.VERTEX_LAUNCH_REGISTRY_BINARY
      ? [process.env.VERTEX_LAUNCH_REGISTRY_BINARY]
      : (process.env.PATH ?? '/usr/bin')
          .split(delimiter)
          .filter(Boolean)
          .flatMap((dir) => [join(dir, 'docker-registry'), join(dir, 'registry')]);
  for (const file of candidates) {
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** A free TCP port on 127.0.0.1 (the OS picks it; released before returning). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** The `docker-registry serve` process, started on first use. */
export class RegistryBackend {
  private starting: Promise<string> | undefined;
  private child: ChildProcess | undefined;
  private stopped = false;
  private readonly output: string[] = [];

  constructor(private readonly options: RegistryBackendOptions) {}

  /** Starts the registry if needed; resolves with its base URL (`http://127.0.0.1:<port>`). */
  url(): Promise<string> {
    if (this.stopped) {
      return Promise.reject(new EmulatorError('UNAVAILABLE', 'The emulator registry is shut down.'));
    }
    this.starting ??= this.start().catch((error: unknown) => {
      this.starting = undefined;
      throw error;
    });
    return this.starting;
  }

  private async start(): Promise<string> {
    const binary = findRegistryBinary(this.options.binary);
    if (!binary) {
      throw new EmulatorError(
        'FAILED_PRECONDITION',
        "The emulator registry needs the CNCF distribution registry binary: install Debian's docker-registry (apt-get install docker-registry), or set VERTEX_LAUNCH_REGISTRY_BINARY / the registryBinary option to its path.",
      );
    }
    await mkdir(join(this.options.root, 'data'), { recursive: true, mode: 0o700 });
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freeLoopbackPort();
      const configFile = join(this.options.root, 'config.yml');
      await writeFile(configFile, registryConfig(join(this.options.root, 'data'), port), { mode: 0o600 });
      try {
        return await this.launch(binary, configFile, port);
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError;
  }

  private launch(binary: string, configFile: string, port: number): Promise<string> {
    const url = `http://127.0.0.1:${port}`;
    // A shell watchdog runs the registry and stops it when this process dies without calling stop() (a killed
    // test worker, Ctrl-C), so no registry outlives the emulator that started it.
    const child = spawn('/bin/sh', ['-c', WATCHDOG, 'vxl-registry', binary, configFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const keep = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim()) this.output.push(line);
      }
      if (this.output.length > 40) this.output.splice(0, this.output.length - 40);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    return new Promise<string>((resolve, reject) => {
      let settled = false;
      const fail = (why: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        child.kill('SIGTERM');
        reject(
          new EmulatorError(
            'UNAVAILABLE',
            `The emulator registry (${binary} serve) did not start: ${why}. Its last output: ${this.output.slice(-5).join(' | ') || '(none)'}`,
          ),
        );
      };
      const deadline = setTimeout(
        () => fail(`no answer on ${url} within ${STARTUP_TIMEOUT_MS / 1000}s`),
        STARTUP_TIMEOUT_MS,
      );
      child.once('error', (error) => fail(error.message));
      child.once('exit', (code, signal) => fail(`it exited (${signal ?? `code ${code}`})`));
      const poll = async () => {
        while (!settled) {
          try {
            const res = await fetch(`${url}/v2/`);
            await res.arrayBuffer();
            if (res.status === 200) {
              settled = true;
              clearTimeout(deadline);
              child.removeAllListeners('exit');
              child.once('exit', () => {
                if (this.child === child) {
                  this.child = undefined;
                  this.starting = undefined;
                }
              });
              resolve(url);
              return;
            }
          } catch {
            /* not up yet */
          }
          await new Promise((r) => setTimeout(r, 25));
        }
      };
      void poll();
    });
  }

  /** Stops the registry process (SIGTERM, then SIGKILL after 2 s). */
  async stop(): Promise<void> {
    this.stopped = true;
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }
}

/** The registry's config: loopback only, no auth (the proxy authenticates), relative URLs, deletes allowed. */
function registryConfig(dataDir: string, port: number): string {
  return [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${JSON.stringify(dataDir)}`,
    '  delete:',
    '    enabled: true',
    '  cache:',
    '    blobdescriptor: inmemory',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    `  secret: ${randomBytes(24).toString('hex')}`,
    '  relativeurls: true',
    '',
  ].join('\n');
}
