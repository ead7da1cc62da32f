/**
 * The checks of `vertex-launch doctor`. Each answers pass / warn / fail / skip with the evidence it saw and, when
 * something is wrong, the fix (a command or the key to change). They ask Google through the typed functions of the
 * plugins (`describeBucket`, `describeRepository`, `getProjectNumber`, `troubleshootAccess`, the runner's list) and
 * decide on their results and error classes, never on message text. Checks never throw: an unexpected error becomes a
 * failed check naming it.
 */
import { homedir } from 'node:os';
import {
  ApiError,
  type AuthCredentials,
  AuthError,
  checkRegion,
  isVertexLaunchError,
  PermissionError,
  type Runtime,
  resolveAuthChain,
} from '@vertex-launch/core';
import {
  formatConfigIssues,
  machineSpecIssues,
  normalizeBucket,
  validateQueueConfig,
} from '@vertex-launch/core/config';
import { authFor } from '../../runtime.js';
import {
  acceptableBucketLocations,
  acceptableRepositoryLocations,
  bucketLocationFits,
  repositoryLocationFits,
} from './locations.js';

/** The outcome of a check. `warn` and `skip` do not fail the run. */
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';
/** What a failure is about; it picks the exit code (auth 3 > api 4 > config 2). */
export type FailureKind = 'auth' | 'api' | 'config';

/** One check's result. */
export interface CheckResult {
  /** Stable id, e.g. `staging-bucket`. */
  id: string;
  /** Short title shown first on the line. */
  title: string;
  status: CheckStatus;
  /** What was looked at and what was found (never a secret). */
  evidence: string;
  /** What to do (for warn and fail). */
  fix?: string;
  /** For failures: which exit code class it belongs to. */
  kind?: FailureKind;
  /** The change `vertex-launch setup` (`doctor --fix`) can make to fix it, when one is safe. */
  remedy?: Remedy;
}

/**
 * A safe fix of a failed check, as data: `setup` turns it into steps (what it creates or grants, the gcloud command
 * that does the same, and the call that does it). Only additions: nothing is ever deleted or revoked.
 */
export type Remedy =
  | { kind: 'enable-services'; project: string; services: string[] }
  | { kind: 'create-bucket'; project: string; bucket: string; location: string }
  | { kind: 'create-repository'; project: string; location: string; repository: string }
  | { kind: 'grant-project-roles'; project: string; member: string; roles: string[] }
  | { kind: 'act-as'; project: string; account: string; member: string }
  | { kind: 'grant-repository-reader'; project: string; location: string; repository: string; members: string[] };

/** Everything the checks need, gathered once by the command. */
export interface DoctorContext {
  env: NodeJS.ProcessEnv;
  /** The command's runtime (endpoints, agent config's auth section); credentials are resolved by checkCredentials. */
  runtime: Runtime;
  project?: string;
  region?: string;
  /** Where the project and region came from, for evidence. */
  projectSource?: string;
  regionSource?: string;
  /** The queue (name or file) the checks are about, for messages. */
  queueLabel?: string;
  /** How to change the queue config, e.g. `vertex-launch queue update q --queue-config FILE`. */
  queueUpdateHint: string;
  /** The raw queue config (unwrapped), when one was found. */
  queueConfig?: Record<string, unknown>;
  /** `registry.uri` of the agent config, when set. */
  registryUri?: string;
  /** `builder.type` of the agent config, when set (`cloudbuild` needs the Cloud Build API). */
  builderType?: string;
  /** The agent config file, for messages. */
  agentConfigPath: string;
  credentials?: AuthCredentials;
}

const pass = (id: string, title: string, evidence: string): CheckResult => ({ id, title, status: 'pass', evidence });
const fail = (id: string, title: string, kind: FailureKind, evidence: string, fix: string): CheckResult => ({
  id,
  title,
  status: 'fail',
  evidence,
  fix,
  kind,
});
const warn = (id: string, title: string, evidence: string, fix: string): CheckResult => ({
  id,
  title,
  status: 'warn',
  evidence,
  fix,
});
const skip = (id: string, title: string, evidence: string): CheckResult => ({ id, title, status: 'skip', evidence });
const withRemedy = (result: CheckResult, remedy: Remedy | undefined): CheckResult =>
  remedy ? { ...result, remedy } : result;

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));
const kindOf = (error: unknown): FailureKind =>
  isVertexLaunchError(error) && (error.code === 'AUTH' || error.code === 'PERMISSION')
    ? 'auth'
    : isVertexLaunchError(error) && (error.code === 'CONFIG_INVALID' || error.code === 'CONFIG_FILE')
      ? 'config'
      : 'api';

// ---- configuration -------------------------------------------------------------------------------

/** The queue config validates (every problem, camelCase keys with their snake_case spelling). */
export function checkQueueConfig(ctx: DoctorContext, raw: unknown, label: string): CheckResult {
  const title = 'Queue config';
  const result = validateQueueConfig(raw);
  const errors = result.issues.filter((i) => i.severity === 'error');
  const warnings = result.issues.filter((i) => i.severity === 'warning');
  if (errors.length > 0) {
    return fail(
      'queue-config',
      title,
      'config',
      `${label}: ${errors.length} problem${errors.length === 1 ? '' : 's'}\n${formatConfigIssues(errors)}`,
      `Fix the keys named above (queue config keys are snake_case, as in the Vertex AI Python SDK: worker_pool_specs, staging_bucket), then ${ctx.queueUpdateHint}.`,
    );
  }
  if (warnings.length > 0) {
    return warn(
      'queue-config',
      title,
      `${label} is valid, with ${warnings.length} warning${warnings.length === 1 ? '' : 's'}\n${formatConfigIssues(warnings)}`,
      `Look at the warnings above; ${ctx.queueUpdateHint}.`,
    );
  }
  return pass('queue-config', title, `${label} is valid`);
}

/**
 * The machine types (and their accelerators, TPU topologies, GPU partitions) are ones Vertex custom training offers:
 * the machine-spec part of queue-config validation (`machineSpecIssues`), so this check and `queue validate` agree.
 */
export function checkMachineTypes(ctx: DoctorContext): CheckResult {
  const id = 'machine-types';
  const title = 'Machine types';
  const pools = (ctx.queueConfig?.spec as { worker_pool_specs?: unknown } | undefined)?.worker_pool_specs;
  const machines = (Array.isArray(pools) ? pools : []).flatMap((pool, i) => {
    const spec = (pool as { machine_spec?: Record<string, unknown> } | null)?.machine_spec;
    return spec && typeof spec.machine_type === 'string' ? [{ index: i, spec }] : [];
  });
  if (machines.length === 0) return skip(id, title, 'not checked: the queue config names no machine_spec.machine_type');
  const issues = machines.flatMap((m) => machineSpecIssues(m.spec, ['spec', 'worker_pool_specs', m.index]));
  const errors = issues.filter((i) => i.severity === 'error');
  const seen = machines
    .map(({ spec }) =>
      typeof spec.accelerator_type === 'string' && spec.accelerator_type !== 'ACCELERATOR_TYPE_UNSPECIFIED'
        ? `${spec.machine_type} + ${String(spec.accelerator_count ?? 0)}x ${spec.accelerator_type}`
        : String(spec.machine_type),
    )
    .join(', ');
  const docs = 'https://cloud.google.com/vertex-ai/docs/training/configure-compute';
  if (errors.length > 0) {
    return fail(
      id,
      title,
      'config',
      formatConfigIssues(issues),
      `Change machine_spec in the queue config as said above (see ${docs}), then ${ctx.queueUpdateHint}.`,
    );
  }
  if (issues.length > 0) {
    return warn(
      id,
      title,
      formatConfigIssues(issues),
      `Check the spelling of machine_type: Vertex refuses machine types it does not offer for custom training (${docs}#machine-types lists them); ${ctx.queueUpdateHint}.`,
    );
  }
  return pass(id, title, `${seen}: known to Vertex AI custom training (serverless training)`);
}

// ---- credentials and APIs --------------------------------------------------------------------------

/** Resolves credentials with the auto chain and fetches a token. */
export async function checkCredentials(ctx: DoctorContext): Promise<CheckResult> {
  const id = 'credentials';
  const title = 'Credentials';
  const warnings: string[] = [];
  try {
    // The one credential resolution of the command, with the project and region doctor settled on.
    const strategy = await authFor({
      ...ctx.runtime,
      projectId: ctx.project ? { value: ctx.project, source: { kind: 'flag', name: 'doctor' } } : undefined,
      region: ctx.region ? { value: ctx.region, source: { kind: 'flag', name: 'doctor' } } : undefined,
    });
    const credentials = await resolveAuthChain([strategy], {
      env: ctx.env,
      homedir: homedir(),
      warn: (w) => warnings.push(w),
    });
    await credentials.accessToken();
    ctx.credentials = credentials;
    ctx.project ??= credentials.projectId;
    ctx.projectSource ??= credentials.projectId ? `the credentials (${credentials.strategy})` : undefined;
    ctx.region ??= credentials.region;
    const evidence = `strategy ${credentials.strategy}, principal ${credentials.principal ?? '(not named by these credentials)'}, from ${credentials.source}`;
    if (!ctx.project) {
      return fail(
        id,
        title,
        'config',
        `${evidence}; but no project`,
        'Pass --project, set GOOGLE_CLOUD_PROJECT, or set environment.project in launch-config.yaml.',
      );
    }
    if (!ctx.region) {
      return fail(
        id,
        title,
        'config',
        `${evidence}; but no region`,
        'Pass --region, set GOOGLE_CLOUD_REGION, or set environment.region in launch-config.yaml (e.g. us-central1).',
      );
    }
    return pass(id, title, warnings.length > 0 ? `${evidence} (${warnings.join('; ')})` : evidence);
  } catch (error) {
    return fail(
      id,
      title,
      'auth',
      message(error),
      'Run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file (or auth.key_file in launch-config.yaml); `vertex-launch auth check` shows every strategy tried.',
    );
  }
}

const notChecked = (id: string, title: string, why: string) => skip(id, title, `not checked: ${why}`);

/** The APIs this setup uses: Vertex AI always; Storage, Artifact Registry and Cloud Build when the config uses them. */
export function wantedServices(ctx: DoctorContext): string[] {
  const bucket = (ctx.queueConfig?.spec as { staging_bucket?: unknown } | undefined)?.staging_bucket;
  return [
    'aiplatform.googleapis.com',
    ...(typeof bucket === 'string' ? ['storage.googleapis.com'] : []),
    ...(ctx.registryUri ? ['artifactregistry.googleapis.com'] : []),
    ...(ctx.builderType === 'cloudbuild' ? ['cloudbuild.googleapis.com'] : []),
  ];
}

/** The APIs of {@link wantedServices} are enabled on the project (Service Usage `services.get`). */
export async function checkServices(ctx: DoctorContext): Promise<CheckResult> {
  const id = 'services';
  const title = 'Google APIs';
  if (!ctx.credentials || !ctx.project) return notChecked(id, title, 'no credentials or project');
  const { getServiceState } = await import('@vertex-launch/auth');
  const wanted = wantedServices(ctx);
  const disabled: string[] = [];
  try {
    for (const service of wanted) {
      const state = await getServiceState(ctx.credentials, ctx.project, service, { endpoints: ctx.runtime.endpoints });
      if (state !== 'ENABLED') disabled.push(service);
    }
  } catch (error) {
    return warn(
      id,
      title,
      `could not read which APIs are enabled on ${ctx.project}: ${message(error).replace(/^\[vertex-launch\] \[auth\] /, '')}`,
      `Check them yourself: gcloud services list --enabled --project=${ctx.project} (needed: ${wanted.join(', ')}); or grant serviceusage.services.get (roles/serviceusage.serviceUsageConsumer).`,
    );
  }
  if (disabled.length === 0) return pass(id, title, `enabled on ${ctx.project}: ${wanted.join(', ')}`);
  return withRemedy(
    fail(
      id,
      title,
      'config',
      `not enabled on ${ctx.project}: ${disabled.join(', ')}`,
      `Enable them: gcloud services enable ${disabled.join(' ')} --project=${ctx.project} (\`vertex-launch setup\` does it).`,
    ),
    { kind: 'enable-services', project: ctx.project, services: disabled },
  );
}

/** A cheap ListCustomJobs (page size 1) in the region. */
export async function checkVertexApi(ctx: DoctorContext): Promise<CheckResult> {
  const id = 'vertex-api';
  const title = 'Vertex AI API';
  if (!ctx.credentials || !ctx.project || !ctx.region)
    return notChecked(id, title, 'no credentials, project or region');
  const where = `projects/${ctx.project}/locations/${ctx.region}`;
  const region = checkRegion(ctx.region, ctx.regionSource);
  const meant = region.suggestion ?? 'us-central1';
  if (region.severity === 'error') {
    return fail(
      id,
      title,
      'config',
      region.message ?? `${ctx.region} is not a region`,
      `Set the region to ${meant} where it comes from (${ctx.regionSource ?? 'the credentials'}), then run doctor again.`,
    );
  }
  const { vertexRunner } = await import('@vertex-launch/vertex');
  const runner = vertexRunner({
    credentials: ctx.credentials,
    projectId: ctx.project,
    region: ctx.region,
    endpoints: ctx.runtime.endpoints,
    retry: { maxAttempts: 1 },
    callTimeoutMs: 20_000,
  });
  try {
    const jobs = await runner.list({ all: true, limit: 1 });
    return pass(
      id,
      title,
      `ListCustomJobs in ${where} answered${runner.emulated ? ' (emulator)' : ''} (${jobs.length === 0 ? 'no jobs yet' : 'jobs listed'})`,
    );
  } catch (error) {
    const text = message(error);
    const disabled = error instanceof ApiError && error.reason === 'SERVICE_DISABLED';
    const kind = disabled ? 'config' : kindOf(error);
    const fix = disabled
      ? `Enable the Vertex AI API (named Gemini Enterprise Agent Platform in newer Google docs): gcloud services enable aiplatform.googleapis.com --project=${ctx.project}`
      : kind === 'auth'
        ? `Grant ${ctx.credentials.principal ?? 'the principal'} roles/aiplatform.user on project ${ctx.project}: gcloud projects add-iam-policy-binding ${ctx.project} --member=${memberOf(ctx.credentials.principal)} --role=roles/aiplatform.user`
        : region.message
          ? `${region.message} Then run doctor again.`
          : `Check that the network reaches ${ctx.region}-aiplatform.googleapis.com; run again with --debug for the details.`;
    return fail(id, title, kind, `ListCustomJobs in ${where} failed: ${text}`, fix);
  } finally {
    await runner.close();
  }
}

export function memberOf(principal: string | undefined): string {
  if (!principal) return 'user:YOU@example.com';
  return principal.endsWith('.gserviceaccount.com') ? `serviceAccount:${principal}` : `user:${principal}`;
}

/** The staging bucket exists and sits in (or contains) the job region. */
export async function checkStagingBucket(ctx: DoctorContext): Promise<CheckResult> {
  const id = 'staging-bucket';
  const title = 'Staging bucket';
  const raw = (ctx.queueConfig?.spec as { staging_bucket?: unknown } | undefined)?.staging_bucket;
  if (typeof raw !== 'string' || raw.includes('${') || raw.includes('{{') || /^<.*>$/.test(raw.trim())) {
    return notChecked(id, title, 'the queue config sets no usable spec.staging_bucket');
  }
  if (!ctx.credentials || !ctx.project || !ctx.region)
    return notChecked(id, title, 'no credentials, project or region');
  const uri = normalizeBucket(raw);
  const bucket = uri.slice('gs://'.length).split('/')[0] as string;
  const create = `gcloud storage buckets create gs://${bucket} --location=${ctx.region} --project=${ctx.project}`;
  const { describeBucket } = await import('@vertex-launch/vertex');
  let found: Awaited<ReturnType<typeof describeBucket>>;
  try {
    found = await describeBucket({ bucket, authClient: ctx.credentials.authClient, endpoints: ctx.runtime.endpoints });
  } catch (error) {
    const text = message(error).replace(/^\[vertex-launch\] \[storage\] /, '');
    if (error instanceof AuthError) {
      return fail(
        id,
        title,
        'auth',
        text,
        'Re-authenticate (gcloud auth application-default login) and run doctor again.',
      );
    }
    if (error instanceof PermissionError) {
      return warn(
        id,
        title,
        `cannot read the location of gs://${bucket}: ${text}`,
        `Grant ${ctx.credentials.principal ?? 'the principal'} storage.buckets.get on gs://${bucket} (e.g. roles/storage.legacyBucketReader) so doctor can check it, or check it yourself: gcloud storage buckets describe gs://${bucket} --format="value(location)" (acceptable: ${acceptableBucketLocations(ctx.region).join(', ')}).`,
      );
    }
    return fail(
      id,
      title,
      'api',
      `could not get gs://${bucket}: ${text}`,
      'Check the network (or the emulator) and run doctor again; --debug shows more.',
    );
  }
  if (!found.exists) {
    return withRemedy(
      fail(
        id,
        title,
        'config',
        `gs://${bucket} does not exist (the queue's spec.staging_bucket)`,
        `Create it in the job region: ${create} — or set spec.staging_bucket to an existing bucket in ${ctx.region}; ${ctx.queueUpdateHint}. (\`vertex-launch setup\` creates it.)`,
      ),
      { kind: 'create-bucket', project: ctx.project, bucket, location: ctx.region },
    );
  }
  const { location } = found;
  const type = found.locationType ?? '';
  const acceptable = acceptableBucketLocations(ctx.region);
  if (!bucketLocationFits(location, ctx.region)) {
    return fail(
      id,
      title,
      'config',
      `gs://${bucket} is in ${location}${type ? ` (${type})` : ''}, but jobs run in ${ctx.region}`,
      `Use a bucket in ${acceptable.join(', ')}: ${create} — then set spec.staging_bucket to it; ${ctx.queueUpdateHint}. (A bucket's location cannot be changed.)`,
    );
  }
  return pass(
    id,
    title,
    `gs://${bucket} is in ${location}${type ? ` (${type})` : ''}, which suits jobs in ${ctx.region}`,
  );
}

/** The Artifact Registry repository of `registry.uri` exists, holds Docker images and sits near the job region. */
export async function checkRepository(ctx: DoctorContext): Promise<CheckResult> {
  const id = 'repository';
  const title = 'Artifact Registry repository';
  if (!ctx.registryUri) {
    return skip(id, title, `not checked: ${ctx.agentConfigPath} sets no registry.uri (images are given with --image)`);
  }
  if (!ctx.credentials || !ctx.region) return notChecked(id, title, 'no credentials or region');
  const { artifactRegistry, parseImageUri } = await import('@vertex-launch/artifact-registry');
  let ref: ReturnType<typeof parseImageUri>;
  try {
    ref = parseImageUri(ctx.registryUri);
  } catch (error) {
    return fail(
      id,
      title,
      'config',
      `registry.uri in ${ctx.agentConfigPath}: ${message(error)}`,
      `Set registry.uri to <location>-docker.pkg.dev/<project>/<repository>/<image>, e.g. ${ctx.region}-docker.pkg.dev/${ctx.project ?? 'my-project'}/train/trainer.`,
    );
  }
  const name = `${ref.location}-docker.pkg.dev/${ref.project}/${ref.repository}`;
  const createCommand = `gcloud artifacts repositories create ${ref.repository} --repository-format=docker --location=${ctx.region} --project=${ref.project}`;
  const registry = artifactRegistry({ credentials: ctx.credentials, endpoints: ctx.runtime.endpoints });
  try {
    const found = await registry.describeRepository(ref);
    if (!found.exists) {
      return withRemedy(
        fail(
          id,
          title,
          'config',
          `${name}: the repository does not exist`,
          `Create it: gcloud artifacts repositories create ${ref.repository} --repository-format=docker --location=${ref.location} --project=${ref.project} — or point registry.uri in ${ctx.agentConfigPath} at an existing DOCKER repository. (\`vertex-launch setup\` creates it.)`,
        ),
        { kind: 'create-repository', project: ref.project, location: ref.location, repository: ref.repository },
      );
    }
    if (found.format !== 'DOCKER') {
      return fail(
        id,
        title,
        'config',
        `${name} has format ${found.format}; images need a DOCKER repository`,
        `Create a Docker repository (${createCommand}) and set registry.uri in ${ctx.agentConfigPath} to ${ctx.region}-docker.pkg.dev/${ref.project}/<that repository>/${ref.image}.`,
      );
    }
  } catch (error) {
    const text = message(error).replace(/^\[vertex-launch\] \[registry:artifact-registry\] /, '');
    const kind = kindOf(error);
    return fail(
      id,
      title,
      kind,
      `${name}: ${text}`,
      kind === 'auth'
        ? `Grant ${ctx.credentials.principal ?? 'the principal'} roles/artifactregistry.writer on the repository (or the project).`
        : 'Check the network (or the emulator) and run doctor again; --debug shows more.',
    );
  } finally {
    await registry.close();
  }
  if (!repositoryLocationFits(ref.location, ctx.region)) {
    return fail(
      id,
      title,
      'config',
      `${name} is a DOCKER repository in ${ref.location}, but jobs run in ${ctx.region}: every job would pull its image across regions (slower starts, egress charges)`,
      `Create a repository in ${acceptableRepositoryLocations(ctx.region).join(' or ')} (${createCommand}) and set registry.uri in ${ctx.agentConfigPath} to ${ctx.region}-docker.pkg.dev/${ref.project}/${ref.repository}/${ref.image}.`,
    );
  }
  return pass(
    id,
    title,
    `${name} exists, is a DOCKER repository in ${ref.location}, which suits jobs in ${ctx.region}`,
  );
}

// ---- IAM ---------------------------------------------------------------------------------------------

/** The permissions the agent and `launch` use on the project (not Cloud Build: the agent builds with Docker). */
export async function checkProjectPermissions(ctx: DoctorContext): Promise<CheckResult> {
  const id = 'permissions';
  const title = 'Permissions';
  if (!ctx.credentials || !ctx.project) return notChecked(id, title, 'no credentials or project');
  const { checkPermissions, LAUNCH_PERMISSIONS } = await import('@vertex-launch/auth');
  const wanted = LAUNCH_PERMISSIONS.filter((p) => p.scope === 'project' && !p.permission.startsWith('cloudbuild.'));
  try {
    const report = await checkPermissions(ctx.credentials, {
      project: ctx.project,
      permissions: wanted,
      endpoints: ctx.runtime.endpoints,
    });
    const who = ctx.credentials.principal ?? 'the principal';
    if (report.ok) {
      return pass(
        id,
        title,
        `${who} holds all ${report.checks.length} on projects/${ctx.project} (create/get/list/cancel jobs, upload the context, push and pull images)`,
      );
    }
    const missing = report.missing.map((m) => `${m.permission} (${m.purpose})`);
    const roles = new Set<string>();
    for (const m of report.missing) {
      if (m.permission.startsWith('aiplatform.')) roles.add('roles/aiplatform.user');
      else if (m.permission.startsWith('storage.')) roles.add('roles/storage.objectAdmin');
      else if (m.permission.startsWith('artifactregistry.')) roles.add('roles/artifactregistry.writer');
    }
    const grants = [...roles]
      .map(
        (role) =>
          `gcloud projects add-iam-policy-binding ${ctx.project} --member=${memberOf(ctx.credentials?.principal)} --role=${role}`,
      )
      .join('; ');
    const principal = ctx.credentials.principal;
    return withRemedy(
      fail(
        id,
        title,
        'auth',
        `${who} lacks ${missing.length} on projects/${ctx.project}: ${missing.join(', ')}`,
        `Grant the roles that hold them: ${grants}`,
      ),
      principal
        ? { kind: 'grant-project-roles', project: ctx.project, member: memberOf(principal), roles: [...roles] }
        : undefined,
    );
  } catch (error) {
    return fail(
      id,
      title,
      kindOf(error),
      message(error),
      'Check the project id (--project / GOOGLE_CLOUD_PROJECT) and the credentials; `vertex-launch auth check` shows the details.',
    );
  }
}

/** The job's service account (`run.service_account` / `spec.service_account`), if the queue names one. */
function jobServiceAccount(config: Record<string, unknown> | undefined): string | undefined {
  const run = (config?.run as { service_account?: unknown } | undefined)?.service_account;
  const spec = (config?.spec as { service_account?: unknown } | undefined)?.service_account;
  const value = typeof run === 'string' ? run : typeof spec === 'string' ? spec : undefined;
  return value && !value.includes('${') && !value.includes('{{') ? value : undefined;
}

/** `iam.serviceAccounts.actAs` on the service account the job runs as. */
export async function checkActAs(ctx: DoctorContext): Promise<CheckResult> {
  const id = 'act-as';
  const title = 'Act as the job service account';
  const account = jobServiceAccount(ctx.queueConfig);
  if (!account) {
    return pass(
      id,
      title,
      'the queue names no service_account: jobs run as the Vertex AI Custom Code Service Agent, no actAs needed',
    );
  }
  if (!ctx.credentials || !ctx.project) return notChecked(id, title, 'no credentials or project');
  const { checkPermissions, LAUNCH_PERMISSIONS } = await import('@vertex-launch/auth');
  const who = ctx.credentials.principal ?? 'the principal';
  const fix = `Grant it: gcloud iam service-accounts add-iam-policy-binding ${account} --member=${memberOf(ctx.credentials.principal)} --role=roles/iam.serviceAccountUser --project=${ctx.project}`;
  try {
    const report = await checkPermissions(ctx.credentials, {
      project: ctx.project,
      jobServiceAccount: account,
      permissions: LAUNCH_PERMISSIONS.filter((p) => p.scope === 'job-service-account'),
      endpoints: ctx.runtime.endpoints,
    });
    const check = report.checks[0];
    if (check?.granted)
      return pass(id, title, `${who} holds iam.serviceAccounts.actAs on ${account} (${check.resource})`);
    const principal = ctx.credentials.principal;
    return withRemedy(
      fail(
        id,
        title,
        'auth',
        `${who} lacks iam.serviceAccounts.actAs on ${account}, the queue's service_account${check?.note ? ` (${check.note})` : ''}`,
        fix,
      ),
      principal ? { kind: 'act-as', project: ctx.project, account, member: memberOf(principal) } : undefined,
    );
  } catch (error) {
    return fail(id, title, kindOf(error), message(error), fix);
  }
}

/** The two Vertex service agents of a project. */
export function vertexServiceAgents(projectNumber: string): string[] {
  return [
    `service-${projectNumber}@gcp-sa-aiplatform-cc.iam.gserviceaccount.com`,
    `service-${projectNumber}@gcp-sa-aiplatform.iam.gserviceaccount.com`,
  ];
}

/** The Vertex service agents can pull from the repository (Policy Troubleshooter). */
export async function checkServiceAgent(ctx: DoctorContext): Promise<CheckResult> {
  const id = 'service-agent';
  const title = 'Vertex service agent can pull images';
  if (!ctx.registryUri) return notChecked(id, title, 'no registry.uri (no repository to pull from)');
  if (!ctx.credentials || !ctx.project) return notChecked(id, title, 'no credentials or project');
  const { parseImageUri } = await import('@vertex-launch/artifact-registry');
  let ref: ReturnType<typeof parseImageUri>;
  try {
    ref = parseImageUri(ctx.registryUri);
  } catch {
    return notChecked(id, title, 'registry.uri is not an Artifact Registry image URI');
  }
  const repository = `projects/${ref.project}/locations/${ref.location}/repositories/${ref.repository}`;
  const { getProjectNumber, troubleshootAccess } = await import('@vertex-launch/auth');
  const where = { endpoints: ctx.runtime.endpoints };
  let projectNumber: string | undefined;
  let numberProblem = '';
  try {
    projectNumber = await getProjectNumber(ctx.credentials, ref.project, where);
  } catch (error) {
    numberProblem = message(error).replace(/^\[vertex-launch\] \[auth\] /, '');
  }
  const agents = vertexServiceAgents(projectNumber ?? '<PROJECT_NUMBER>');
  const grant = (agent: string) =>
    `gcloud artifacts repositories add-iam-policy-binding ${ref.repository} --location=${ref.location} --project=${ref.project} --member=serviceAccount:${agent} --role=roles/artifactregistry.reader`;
  const fix = `Grant the Vertex service agents read access to the repository: ${agents.map(grant).join('; ')}${projectNumber ? '' : ` (the project number: gcloud projects describe ${ref.project} --format="value(projectNumber)")`}`;
  if (!projectNumber) {
    return warn(
      id,
      title,
      `could not look up the number of project ${ref.project} to name its service agents: ${numberProblem}`,
      fix,
    );
  }
  const answers: string[] = [];
  let granted = false;
  let unknown = false;
  for (const agent of agents) {
    const answer = await troubleshootAccess(
      ctx.credentials,
      {
        principal: agent,
        fullResourceName: `//artifactregistry.googleapis.com/${repository}`,
        permission: 'artifactregistry.repositories.downloadArtifacts',
      },
      where,
    ).catch((error: unknown) => ({ access: undefined, problem: message(error) }));
    if (answer.access === 'GRANTED') granted = true;
    else if (answer.access !== 'NOT_GRANTED') unknown = true;
    answers.push(`${agent}: ${answer.access ?? answer.problem}`);
  }
  const evidence = `artifactregistry.repositories.downloadArtifacts on ${repository} — ${answers.join('; ')}`;
  if (granted) return pass(id, title, evidence);
  if (unknown) {
    return warn(id, title, `could not verify (the caller may lack the right to read IAM policies): ${evidence}`, fix);
  }
  return withRemedy(fail(id, title, 'auth', evidence, fix), {
    kind: 'grant-repository-reader',
    project: ref.project,
    location: ref.location,
    repository: ref.repository,
    members: agents.map((agent) => `serviceAccount:${agent}`),
  });
}
