/**
 * Job execution is pluggable: the JobService moves a job through QUEUED and PENDING, then hands it to a
 * {@link JobExecutor} to run. The {@link clockExecutor} only waits on the emulator clock and writes log
 * entries; the Docker executor (`./docker-executor.ts`) pulls the image from the emulator's registry and runs it.
 */
import type { EmulatorClock } from '../clock.js';
import type { CustomJobSpecInput } from './types.js';

/** What an executor needs to know about the job it runs (the first worker pool's container). */
export interface JobRun {
  /** Numeric job id. */
  readonly id: string;
  /** Full resource name. */
  readonly name: string;
  readonly displayName: string;
  readonly imageUri: string;
  readonly command: readonly string[];
  readonly args: readonly string[];
  /** The first pool's environment variables. */
  readonly env: Readonly<Record<string, string>>;
  readonly serviceAccount: string | undefined;
  /** When the job entered RUNNING (emulator clock, ms). */
  readonly startedAt: number;
  /** True when the emulator restarted with this job already running (do not log the start again). */
  readonly resumed: boolean;
  /** The whole job spec as received (worker pools, `baseOutputDirectory`, ...), for executors that need more. */
  readonly spec?: Readonly<CustomJobSpecInput>;
}

/** What the emulator offers a run beyond the job itself (set by `startEmulator`). */
export interface JobRunServices {
  readonly projectId: string;
  readonly projectNumber: string;
  readonly region: string;
  /** `127.0.0.1:<port>` of the emulator's Docker registry. */
  registryAddress(): string;
  /** Docker credentials with which Vertex (its service agent) pulls the job's image from the registry. */
  pullAuth(): { username: string; password: string; serveraddress: string };
}

/** Services the JobService gives an executor for one run. */
export interface JobRunContext {
  /** Aborted when the job is cancelled or times out. */
  readonly signal: AbortSignal;
  readonly clock: EmulatorClock;
  /** Writes a log entry for replica workerpool0-0 of the job. */
  log(text: string, severity?: 'INFO' | 'ERROR' | 'WARNING'): void;
  /** Project, region and registry access, when the executor runs inside `startEmulator`. */
  readonly services?: JobRunServices;
}

/** The outcome of a run. */
export interface JobRunResult {
  exitCode: number;
  /** Fails the job with this error instead of the exit-code message (e.g. the image could not be pulled). */
  error?: { code: number; message: string };
}

/** Runs jobs. Implementations: {@link clockExecutor} now, a Docker executor later. */
export interface JobExecutor {
  readonly name: string;
  /**
   * Runs the job until it finishes, resolving with its exit code. Must reject (with the signal's reason)
   * or resolve promptly once `ctx.signal` aborts.
   */
  run(job: JobRun, ctx: JobRunContext): Promise<JobRunResult>;
  close?(): Promise<void>;
}

/** Options of {@link clockExecutor}. */
export interface ClockExecutorOptions {
  /** How long a job runs when its env has no `VXL_EMULATOR_RUN_MS`. */
  runningMs: number;
}

/** Shell-like rendering of a command line for the log. */
export function renderCommandLine(parts: readonly string[]): string {
  return parts.map((p) => (/^[\w@%+=:,./-]+$/.test(p) ? p : `'${p.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/**
 * An executor that runs nothing: the job "runs" for `VXL_EMULATOR_RUN_MS` (or `runningMs`) on the emulator
 * clock and exits with `VXL_EMULATOR_EXIT_CODE` (default 0), logging the start, the command line, the line in
 * `VXL_EMULATOR_LOG` (when set) and the end.
 */
export function clockExecutor(options: ClockExecutorOptions): JobExecutor {
  return {
    name: 'clock',
    async run(job, ctx) {
      const runMs = parseNonNegative(job.env.VXL_EMULATOR_RUN_MS) ?? options.runningMs;
      const exitCode = Math.trunc(parseNonNegative(job.env.VXL_EMULATOR_EXIT_CODE) ?? 0);
      if (!job.resumed) {
        ctx.log('Job started');
        ctx.log(
          `Running command: ${renderCommandLine([...job.command, ...job.args]) || `(image ${job.imageUri} entrypoint)`}`,
        );
      }
      const remaining = Math.max(0, job.startedAt + runMs - ctx.clock.now());
      await ctx.clock.sleep(remaining, ctx.signal);
      // VXL_EMULATOR_LOG: a line the training code prints last (a traceback's last line, say).
      if (job.env.VXL_EMULATOR_LOG) ctx.log(job.env.VXL_EMULATOR_LOG, exitCode === 0 ? 'INFO' : 'ERROR');
      ctx.log(`Job finished with exit code ${exitCode}`, exitCode === 0 ? 'INFO' : 'ERROR');
      return { exitCode };
    },
  };
}

function parseNonNegative(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}
