/**
 * What `startDashboard()` is given: everything it reads and does is injected, so the CLI, an SDK script and the
 * tests hand it the same queue store, job runner and doctor they use themselves.
 */
import type { JobRunner, QueueStore } from '@vertex-launch/core';

/** Where a job runs: a runner factory gets one per project and region. */
export interface DashboardRunnerTarget {
  project: string;
  region: string;
}

/** One result of the doctor (the shape `vertex-launch doctor --json` prints in `checks`). */
export interface DashboardCheck {
  /** Stable id, e.g. `staging-bucket`. */
  id?: string;
  /** Short title. */
  title: string;
  /** `pass`, `fail`, `warn` or `skip`. */
  status: 'pass' | 'fail' | 'warn' | 'skip';
  /** What was looked at and what was found. */
  evidence: string;
  /** What to do, for `fail` and `warn`. */
  fix?: string | null;
}

/** One line the dashboard logs (start, warnings, errors of requests). Never holds the token. */
export interface DashboardLogLine {
  level: 'info' | 'warn' | 'error';
  message: string;
}

/** Options of `startDashboard`. */
export interface DashboardOptions {
  /** The queues, items and agent records (SQLite, PostgreSQL or memory). The dashboard never opens a database. */
  store: QueueStore;
  /**
   * Reads jobs (state, logs) and links them to the console: one runner, or a factory called once per project and
   * region (it may be async, e.g. to resolve credentials; its failure is shown on the page that needed it). Without
   * it, item pages show what the store knows and no logs.
   */
  runner?: JobRunner | ((target: DashboardRunnerTarget) => JobRunner | Promise<JobRunner>);
  /** Runs the setup checks for the Doctor page (the CLI passes its `doctor`). Without it the page says so. */
  doctor?: () => Promise<readonly DashboardCheck[]>;
  /** Address to listen on. Default `127.0.0.1`; anything but loopback logs a warning. */
  host?: string;
  /** Port to listen on. Default `0`: a free port (see the returned `url`). */
  port?: number;
  /** Receives the dashboard's log lines. Default: dropped. */
  onLog?: (line: DashboardLogLine) => void;
  /** How the store is named in the page header, e.g. `sqlite /home/me/.local/share/vertex-launch/queues.db`. Passwords in URLs are masked. */
  storeLabel?: string;
  /** Project used to show the CustomJob request of a queue that sets none (as the agent's `environment.project`). */
  project?: string;
  /** Region used to show the CustomJob request of a queue that sets none (as the agent's `environment.region`). */
  region?: string;
  /** How often live pages and streams look at the store, ms. Default 1000. */
  pollIntervalMs?: number;
}

/** A running dashboard. */
export interface Dashboard {
  /** The URL to open, with the token: `http://127.0.0.1:PORT/?token=...`. Treat it as a secret. */
  readonly url: string;
  /** The address it listens on. */
  readonly host: string;
  /** The port it listens on. */
  readonly port: number;
  /** Stop listening, end live streams and close the runners it created (not the store or a runner it was given). */
  close(): Promise<void>;
}
