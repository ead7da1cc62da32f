/**
 * `vertex-launch ui`: the local web dashboard (`@vertex-launch/dashboard`, loaded only here) over the same queue
 * store, runner and doctor the other commands use. Prints the URL (it carries the session's token), opens it in a
 * browser unless `--no-open`, and serves until SIGINT/SIGTERM. See docs/ui.md.
 */
import { spawn } from 'node:child_process';
import type { JobRunner, QueueStore } from '@vertex-launch/core';
import { redactStoreUrl } from '@vertex-launch/core';
import type { DashboardCheck, DashboardOptions } from '@vertex-launch/dashboard';
import { ExitCode, UsageError } from '../exit-codes.js';
import type { GlobalOptions } from '../options.js';
import { dim, type Io, yellow } from '../output.js';
import { commandRuntime, openStore } from '../runtime.js';
import { openRunner, vertexRuntime } from './jobs-runner.js';

/** Flags of `vertex-launch ui`. */
export interface UiOptions extends GlobalOptions {
  host?: string;
  port?: string;
  db?: string;
  /** `--no-open` sets it to false. */
  open?: boolean;
}

/** `--port`: 0 to 65535. */
export function parsePort(value: string | undefined): number {
  if (value === undefined) return 0;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535) {
    throw new UsageError(`--port ${value}: use a port number from 1 to 65535, or 0 for any free port.`);
  }
  return port;
}

/** Opens `url` in the desktop's browser; says how to open it by hand when there is none. */
export function openBrowser(url: string, io: Io): void {
  const command = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  const child = spawn(command, [url], { stdio: 'ignore', detached: true });
  child.on('error', () =>
    io.stderr(`${dim(io, `(no browser opened: ${command} is not available; open the URL above)`)}\n`),
  );
  child.unref();
}

/** The doctor's checks as data: `vertex-launch doctor --json` run in this process, its output captured. */
function doctorChecks(db: string | undefined, env: NodeJS.ProcessEnv): () => Promise<readonly DashboardCheck[]> {
  return async () => {
    const { default: doctor } = await import('./doctor.js');
    let out = '';
    const capture: Io = { stdout: (text) => void (out += text), stderr: () => {}, isTTY: false, color: false };
    await doctor({ json: true, ...(db ? { db } : {}) }, capture, env);
    return (JSON.parse(out) as { checks: DashboardCheck[] }).checks;
  };
}

/** Prints the URL and the non-loopback warning; opens a browser. */
export function announce(url: string, io: Io, open: boolean): void {
  io.stdout(`Vertex Launch dashboard: ${url}\n`);
  io.stderr(`${dim(io, 'The URL carries this session’s token: share it with no one. Ctrl-C stops the dashboard.')}\n`);
  if (open) openBrowser(url, io);
}

/** The dashboard's log lines on stderr (warnings in colour). */
export function dashboardLog(io: Io): DashboardOptions['onLog'] {
  return (line) => {
    if (line.level === 'info') return;
    io.stderr(`${line.level === 'warn' ? yellow(io, 'warning') : 'error'}: ${line.message}\n`);
  };
}

/** Resolves on the first SIGINT or SIGTERM. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

/** `demo --ui`: the dashboard on the demo's store and runner; `serveUntilSignal()` once the demo job has ended. */
export async function demoDashboard(store: QueueStore, runner: JobRunner, io: Io, open: boolean) {
  const { startDashboard } = await import('@vertex-launch/dashboard');
  const dashboard = await startDashboard({
    store,
    runner,
    storeLabel: 'sqlite (the demo queue)',
    onLog: dashboardLog(io),
  });
  announce(dashboard.url, io, open);
  return {
    async serveUntilSignal(): Promise<void> {
      io.stderr(`${dim(io, 'The demo is done; the dashboard stays open on it until Ctrl-C.')}\n`);
      await untilSignal();
      await dashboard.close();
    },
    close: () => dashboard.close(),
  };
}

/** What the pages say of the store: `sqlite <path>`, or a database URL without its password. */
function storeLabel(queueDb: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(queueDb)
    ? redactStoreUrl(queueDb)
    : `sqlite ${queueDb.replace(/^(sqlite|file):/, '')}`;
}

/** `vertex-launch ui [--host H] [--port P] [--db PATH] [--no-open]`. */
export default async function ui(options: UiOptions, io: Io, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const port = parsePort(options.port);
  const { startDashboard } = await import('@vertex-launch/dashboard');
  // The same runtime resolution as every command: the store of --db / $VERTEX_LAUNCH_QUEUE_DB / queue_db.
  const runtime = await commandRuntime({ db: options.db }, env, { gcloud: false });
  const store = await openStore(runtime.queueDb);
  try {
    const dashboard = await startDashboard({
      store,
      storeLabel: storeLabel(runtime.queueDb.value),
      // Credentials are resolved when a page first needs a job (its state, logs or console link).
      runner: async (target) =>
        openRunner(await vertexRuntime({ project: target.project, region: target.region }, env)),
      doctor: doctorChecks(options.db, env),
      host: options.host ?? '127.0.0.1',
      port,
      onLog: dashboardLog(io),
      ...(runtime.projectId ? { project: runtime.projectId.value } : {}),
      ...(runtime.region ? { region: runtime.region.value } : {}),
    });
    announce(dashboard.url, io, options.open !== false);
    const signal = await untilSignal();
    io.stderr(`${dim(io, `stopping the dashboard (${signal})`)}\n`);
    await dashboard.close();
    return ExitCode.OK;
  } finally {
    await store.close();
  }
}
