// Shared fixtures for the auth integration tests: credential files made against a running emulator, a
// resolve context with an explicit environment, a real Vertex call, and the secret guard.
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { v1 } from '@google-cloud/aiplatform';
import type { AuthResolveContext } from '@vertex-launch/core';
import type { Emulator } from '@vertex-launch/emulator';
import { afterAll, beforeAll, expect, vi } from 'vitest';
import type { Credentials } from '../src/index.js';

/** The permission a credential needs for the Vertex call the tests make. */
export const LIST_JOBS = 'aiplatform.customJobs.list';

/** An environment that never probes the real metadata server and has no gcloud config. */
export function baseEnv(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return { METADATA_SERVER_DETECTION: 'none', CLOUDSDK_CONFIG: '/nonexistent/vxl-auth-tests/gcloud', ...extra };
}

/** Emulator endpoints in the environment (no token, no project): what a user exports to use the emulator. */
export function emulatorEnv(emulator: Emulator, extra: Record<string, string | undefined> = {}) {
  return baseEnv({ VERTEX_LAUNCH_EMULATOR_HTTP: emulator.httpUrl, ...extra });
}

/** A resolve context with an explicit environment; warnings are collected (and captured by the guard). */
export function context(env: Record<string, string | undefined>, homedir = '/nonexistent/vxl-home') {
  const warnings: string[] = [];
  const ctx: AuthResolveContext = {
    env,
    homedir,
    warn: (message) => {
      warnings.push(message);
      secretGuard.capture(message);
    },
  };
  return { ctx, warnings };
}

/** Writes a JSON file with mode 0600 (or `mode`). */
export async function writeJson(path: string, value: unknown, mode = 0o600): Promise<string> {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`, { mode });
  await chmod(path, mode);
  return path;
}

/** Lists custom jobs with a real aiplatform JobServiceClient authorised by `credentials.authClient`. */
export async function listJobs(emulator: Emulator, credentials: Credentials): Promise<number> {
  const client = new v1.JobServiceClient(emulator.jobServiceClientOptions(credentials.authClient));
  try {
    const [jobs] = await client.listCustomJobs(
      { parent: `projects/${emulator.projectId}/locations/${emulator.region}` },
      { autoPaginate: false },
    );
    return jobs.length;
  } finally {
    await client.close();
  }
}

/**
 * The secret guard: every secret a test uses is registered, every piece of output the tests produce (console,
 * stdout/stderr, warnings, error messages and stacks, CLI output, printed credentials) is captured, and after
 * the file ran none of the secrets may appear in any of it.
 */
export const secretGuard = {
  secrets: new Set<string>(),
  outputs: [] as string[],
  secret(...values: (string | undefined)[]) {
    for (const v of values) if (v) this.secrets.add(v);
  },
  capture(...texts: unknown[]) {
    for (const t of texts) this.outputs.push(typeof t === 'string' ? t : inspect(t, { depth: 6 }));
  },
  /** Captures an error the way a user could see it: message, hint, stack, cause chain, JSON. */
  captureError(error: unknown) {
    let e: unknown = error;
    for (let i = 0; e && i < 5; i++) {
      const err = e as Error & { hint?: string };
      this.capture(String(err?.message), String(err?.stack), String(err?.hint ?? ''), inspect(err, { depth: 4 }));
      try {
        this.capture(JSON.stringify(err));
      } catch {}
      e = (err as { cause?: unknown }).cause;
    }
  },
  /** Captures a credentials object as a user might print it. */
  captureCredentials(credentials: Credentials) {
    this.capture(JSON.stringify(credentials), inspect(credentials, { depth: 8 }), credentials.source);
  },
};

/** Installs the guard for this test file: captures console and process output, checks all of it at the end. */
export function useSecretGuard(): void {
  beforeAll(() => {
    for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      const original = console[method].bind(console);
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        secretGuard.capture(args.map((a) => (typeof a === 'string' ? a : inspect(a))).join(' '));
        original(...args);
      });
    }
    for (const stream of [process.stdout, process.stderr]) {
      const original = stream.write.bind(stream);
      vi.spyOn(stream, 'write').mockImplementation(((chunk: unknown, ...rest: unknown[]) => {
        secretGuard.capture(String(chunk));
        return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
      }) as typeof stream.write);
    }
    const emit = process.emitWarning.bind(process);
    vi.spyOn(process, 'emitWarning').mockImplementation(((warning: string | Error, ...rest: unknown[]) => {
      secretGuard.capture(String(warning));
      return (emit as (...a: unknown[]) => void)(warning, ...rest);
    }) as typeof process.emitWarning);
  });
  afterAll(() => {
    expect(findLeaks(secretGuard.outputs, secretGuard.secrets), 'secrets appeared in captured output').toEqual([]);
  });
}

/** The secrets (first 6 characters) that appear in `outputs`; PEM keys are checked line by line. */
export function findLeaks(outputs: readonly string[], secrets: Iterable<string>): string[] {
  const all = outputs.join('\n');
  const leaks: string[] = [];
  for (const secret of secrets) {
    const pieces = secret.includes('PRIVATE KEY') ? secret.split('\n').filter((l) => l.length > 40) : [secret];
    if (pieces.some((piece) => all.includes(piece))) leaks.push(`${secret.slice(0, 6)}…`);
  }
  return leaks;
}
