/**
 * `vertex-launch setup` (and `doctor --fix`): the doctor's checks, then — for each failed check with a safe fix —
 * the plan (what it creates or grants, and the gcloud command that does the same), a question on a terminal
 * (`--yes` for scripts, `--dry-run` to print only), the changes made with the same credentials, and the doctor once
 * more. Idempotent: a run on a set-up project changes nothing and says so. See docs/doctor.md#setup.
 */
import { isVertexLaunchError } from '@vertex-launch/core';
import { ExitCode, exitCodeFor, UsageError } from '../exit-codes.js';
import { dim, green, type Io, printJson, readLine, red, YES, yellow } from '../output.js';
import { type DoctorOptions, type DoctorRun, doctorJson, printDoctorReport, runChecks } from './doctor.js';
import { planSteps, type SetupStep } from './setup/plan.js';

/** Options of `vertex-launch setup`: those of doctor, and how to confirm. */
export interface SetupOptions extends DoctorOptions {
  /** Apply without asking (needed without a terminal). */
  yes?: boolean;
  /** Print the plan only; change nothing. */
  dryRun?: boolean;
}

/** What became of one step. */
interface StepResult {
  step: SetupStep;
  status: 'done' | 'unchanged' | 'failed' | 'skipped';
  detail: string;
  error?: unknown;
}

/** `vertex-launch setup [--yes | --dry-run] [--json]`. */
export default async function setup(
  options: SetupOptions,
  io: Io,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const results: StepResult[] = [];
  let run = await runChecks(options, env);
  let planned: SetupStep[] = [];
  // Two rounds at most: enabling an API can let checks run that could not before (a bucket, a repository).
  for (let round = 1; round <= 2; round++) {
    const credentials = run.ctx.credentials;
    const steps = credentials
      ? (await planSteps(run.checks, { credentials, endpoints: run.ctx.runtime.endpoints })).filter(
          (s) => !results.some((r) => r.step.id === s.id && r.step.summary === s.summary),
        )
      : [];
    planned = [...planned, ...steps];
    if (steps.length === 0) break;
    if (!options.json) printPlan(io, run, steps, round);
    if (options.dryRun) break;
    if (!(await confirmed(options, io, steps.length))) {
      if (!options.json) io.stderr('Nothing changed.\n');
      return ExitCode.USAGE;
    }
    for (const step of steps) results.push(await applyStep(io, step, results, options.json === true));
    const enabled = results.some((r) => r.step.id === 'enable-services' && r.status === 'done');
    if (round === 2 || !enabled || results.some((r) => r.status === 'failed')) break;
    run = await runChecks(options, env);
  }
  if (options.dryRun) {
    if (options.json) printJson(io, setupJson(run, planned, [], true));
    else if (planned.length === 0) io.stdout(`${nothingToDo(run)}\n`);
    else io.stdout(`\n${dim(io, 'Dry run: nothing was changed. Run `vertex-launch setup` to apply.')}\n`);
    return run.code;
  }
  if (results.length === 0) {
    if (options.json) {
      printJson(io, setupJson(run, [], [], false));
      return run.code;
    }
    io.stdout(`${nothingToDo(run)}\n\n`);
    printDoctorReport(io, run);
    return run.code;
  }
  const final = await runChecks(options, env);
  const failed = results.filter((r) => r.status === 'failed');
  const code = failed.length > 0 ? failureCode(failed) : final.code;
  if (options.json) {
    printJson(io, { ...setupJson(final, planned, results, false), ok: code === ExitCode.OK, exitCode: code });
    return code;
  }
  io.stdout(`\n${dim(io, 'Checking again:')}\n`);
  printDoctorReport(io, final);
  if (failed.length > 0) printFailureReport(io, results);
  return code;
}

function nothingToDo(run: DoctorRun): string {
  const open = run.checks.filter((c) => c.status === 'fail').length;
  return open === 0
    ? 'Nothing to change: every check passes.'
    : `Nothing setup can change: ${open} check${open === 1 ? '' : 's'} failed without a safe fix (see the fixes below).`;
}

function printPlan(io: Io, run: DoctorRun, steps: readonly SetupStep[], round: number): void {
  const where = `project ${run.ctx.project ?? '?'}, region ${run.ctx.region ?? '?'}`;
  const head = round === 1 ? `Setup plan for ${where}` : 'With the APIs enabled, setup can also';
  io.stdout(`${head}: ${steps.length} change${steps.length === 1 ? '' : 's'}\n`);
  steps.forEach((step, i) => {
    io.stdout(`  ${i + 1}. ${step.summary}\n     ${dim(io, `= ${step.command}`)}\n`);
  });
}

async function confirmed(options: SetupOptions, io: Io, count: number): Promise<boolean> {
  if (options.yes) return true;
  if (!(io.isTTY && process.stdin.isTTY)) {
    throw new UsageError(
      `[vertex-launch] setup would make ${count} change${count === 1 ? '' : 's'} to your project and there is no terminal to ask: pass --yes to make them, or --dry-run to print the plan only.`,
    );
  }
  io.stderr(`Make ${count === 1 ? 'this change' : `these ${count} changes`}? [y/N] `);
  return YES.test(await readLine());
}

/** Runs a step unless one it depends on (the APIs) failed; never throws. */
async function applyStep(io: Io, step: SetupStep, before: readonly StepResult[], quiet: boolean): Promise<StepResult> {
  const blocked = before.find((r) => r.step.id === 'enable-services' && r.status === 'failed');
  let result: StepResult;
  if (blocked) {
    result = { step, status: 'skipped', detail: 'not tried: the APIs it needs could not be enabled' };
  } else {
    try {
      const { changed, detail } = await step.apply();
      result = { step, status: changed ? 'done' : 'unchanged', detail };
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      result = { step, status: 'failed', detail: text.replace(/^\[vertex-launch\] (\[[^\]]+\] )?/, ''), error };
    }
  }
  if (!quiet) {
    const mark = { done: green(io, '✓'), unchanged: dim(io, '='), failed: red(io, '✗'), skipped: yellow(io, '-') };
    io.stdout(`${mark[result.status]} ${result.step.summary}: ${result.detail}\n`);
  }
  return result;
}

/** auth/permission (3) before API (4) before the rest (1, as for any other failure). */
function failureCode(failed: readonly StepResult[]): number {
  const codes = failed.map((r) => (isVertexLaunchError(r.error) ? exitCodeFor(r.error) : ExitCode.API));
  if (codes.includes(ExitCode.AUTH)) return ExitCode.AUTH;
  if (codes.includes(ExitCode.API)) return ExitCode.API;
  return codes[0] ?? ExitCode.JOB_FAILED;
}

function printFailureReport(io: Io, results: readonly StepResult[]): void {
  const list = (status: StepResult['status'][]) =>
    results
      .filter((r) => status.includes(r.status))
      .map((r) => `    - ${r.step.summary}${r.status === 'unchanged' ? ' (was already so)' : ''}\n`);
  const failed = results.filter((r) => r.status === 'failed');
  const done = list(['done', 'unchanged']);
  const notDone = results
    .filter((r) => r.status === 'failed' || r.status === 'skipped')
    .map((r) => `    - ${r.step.summary}: ${r.detail}\n      ${dim(io, `by hand: ${r.step.command}`)}\n`);
  io.stderr(
    `\n${red(io, 'error')} setup could not finish: ${failed.length} of ${results.length} change${results.length === 1 ? '' : 's'} failed.\n` +
      `  Done:\n${done.length > 0 ? done.join('') : '    (nothing)\n'}` +
      `  Not done:\n${notDone.join('')}` +
      '  Ask someone who may make these changes (e.g. a project owner) to run `vertex-launch setup`, or run the commands above.\n',
  );
}

function setupJson(run: DoctorRun, planned: readonly SetupStep[], results: readonly StepResult[], dryRun: boolean) {
  const doctor = doctorJson(run);
  return {
    ok: doctor.ok,
    exitCode: doctor.exitCode,
    dryRun,
    changed: results.some((r) => r.status === 'done'),
    steps: planned.map((step) => {
      const result = results.find((r) => r.step === step);
      return {
        id: step.id,
        check: step.check,
        summary: step.summary,
        command: step.command,
        status: result?.status ?? 'planned',
        detail: result?.detail ?? null,
      };
    }),
    doctor,
  };
}
