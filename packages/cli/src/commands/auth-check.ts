import {
  type Credentials,
  checkPermissions,
  LAUNCH_PERMISSIONS,
  LEGACY_PERMISSION_REPLACEMENTS,
  type PermissionReport,
} from '@vertex-launch/auth';
import { type AuthCredentials, PermissionError } from '@vertex-launch/core';
import { ExitCode } from '../exit-codes.js';
import type { GlobalOptions } from '../options.js';
import { dim, green, type Io, printJson, red, yellow } from '../output.js';
import { commandRuntime } from '../runtime.js';

/** Options of `vertex-launch auth check`. */
export interface AuthCheckOptions extends GlobalOptions {
  /** Project to check (default: the environment, gcloud config or the credentials). */
  project?: string;
  /** Region to report (default: the environment or gcloud config). */
  region?: string;
  /** The service account the job runs as; `iam.serviceAccounts.actAs` on it is checked. */
  serviceAccount?: string;
}

/** Where `auth check` looks; tests pass an explicit environment. */
export interface AuthCheckContext {
  env?: Readonly<Record<string, string | undefined>>;
  homedir?: string;
}

/**
 * `vertex-launch auth check`: which credentials the chain picks (strategy, source, principal, project,
 * region, token expiry — never the token) and which launch permissions the principal lacks. Exits 3 and names
 * the permissions when any is missing.
 */
export default async function authCheck(
  options: AuthCheckOptions,
  io: Io,
  context: AuthCheckContext = {},
): Promise<number> {
  const env = context.env ?? process.env;
  const warnings: string[] = [];
  // Project, region and credentials as every command resolves them (flags, environment, launch-config.yaml, gcloud).
  const runtime = await commandRuntime({ project: options.project, region: options.region }, env, {
    credentials: true,
    ...(context.homedir ? { homedir: context.homedir } : {}),
    warn: (message) => warnings.push(message),
  });
  const credentials = runtime.credentials as AuthCredentials as Credentials;
  const { expiresAt } = await credentials.accessToken();
  const report = await checkPermissions(credentials, {
    ...(runtime.projectId ? { project: runtime.projectId.value } : {}),
    ...(options.serviceAccount ? { jobServiceAccount: options.serviceAccount } : {}),
    endpoints: runtime.endpoints,
  });
  const region = runtime.region?.value;
  const missing = report.missing.map((m) => m.permission);

  if (options.json) {
    printJson(io, {
      ok: report.ok,
      strategy: credentials.strategy,
      source: credentials.source,
      principal: credentials.principal ?? null,
      project: report.project,
      region: region ?? null,
      tokenExpiresAt: expiresAt?.toISOString() ?? null,
      permissions: report.checks.map((c) => ({
        permission: c.permission,
        granted: c.granted,
        resource: c.resource,
        purpose: c.purpose,
        ...(c.note ? { note: c.note } : {}),
      })),
      missing,
      legacyPermissions: LEGACY_PERMISSION_REPLACEMENTS,
      warnings,
    });
  } else {
    printHuman(io, credentials, region, report, expiresAt, warnings, options.serviceAccount);
  }
  if (!report.ok) {
    const error = new PermissionError(
      `[vertex-launch] [auth] ${credentials.principal ?? 'The principal'} lacks ${missing.length === 1 ? 'a permission' : `${missing.length} permissions`} the launch needs: ${missing.join(', ')}.`,
      {
        permission: missing[0],
        hint: 'Grant a role that holds them (e.g. roles/aiplatform.user, roles/storage.objectAdmin, roles/artifactregistry.writer, roles/cloudbuild.builds.editor, roles/iam.serviceAccountUser on the job service account). See docs/auth.md.',
      },
    );
    if (!options.json) io.stderr(`${red(io, 'error')} ${error.message}\n${dim(io, 'hint')} ${error.hint}\n`);
    return ExitCode.AUTH;
  }
  return ExitCode.OK;
}

function printHuman(
  io: Io,
  credentials: Credentials,
  region: string | undefined,
  report: PermissionReport,
  expiresAt: Date | undefined,
  warnings: readonly string[],
  serviceAccount: string | undefined,
): void {
  const row = (label: string, value: string) => io.stdout(`${label.padEnd(12)} ${value}\n`);
  row('Strategy', credentials.strategy);
  row('Source', credentials.source);
  row('Principal', credentials.principal ?? dim(io, '(not named by these credentials)'));
  row('Project', report.project);
  row(
    'Region',
    region ?? dim(io, '(not set: pass --region, set GOOGLE_CLOUD_REGION or `gcloud config set ai/region`)'),
  );
  row(
    'Token',
    expiresAt
      ? `valid until ${expiresAt.toISOString()} (${minutesLeft(expiresAt)})`
      : 'expiry unknown (raw access token)',
  );
  const granted = report.checks.filter((c) => c.granted).length;
  io.stdout(`\nPermissions on ${report.project}: ${granted}/${report.checks.length} granted\n`);
  for (const c of report.checks) {
    const mark = c.granted ? green(io, '✓') : red(io, '✗');
    const where = c.resource === `projects/${report.project}` ? '' : dim(io, ` on ${c.resource}`);
    io.stdout(`  ${mark} ${c.permission}${where} ${dim(io, `— ${c.purpose}`)}\n`);
    if (c.note) io.stdout(`      ${yellow(io, c.note)}\n`);
  }
  if (!serviceAccount) {
    const actAs = LAUNCH_PERMISSIONS.find((p) => p.scope === 'job-service-account');
    if (actAs)
      io.stdout(dim(io, `  (${actAs.permission} is checked with --service-account, the account the job runs as)\n`));
  }
  const legacy = Object.entries(LEGACY_PERMISSION_REPLACEMENTS)
    .map(([from, to]) => `${from} → ${to}`)
    .join(', ');
  io.stdout(dim(io, `\nLegacy AI Platform permissions are replaced by Vertex AI ones: ${legacy}.\n`));
  for (const w of warnings) io.stderr(`${yellow(io, 'warning')} ${w}\n`);
}

function minutesLeft(expiresAt: Date): string {
  const minutes = Math.round((expiresAt.getTime() - Date.now()) / 60_000);
  return minutes >= 0 ? `in ${minutes} min` : `${-minutes} min ago`;
}
