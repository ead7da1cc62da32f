/**
 * The plan of `vertex-launch setup`: the remedies of the failed doctor checks turned into steps, in the order they
 * depend on each other (APIs first, then what uses them). Each step says what it creates or grants, the gcloud
 * command that does the same, and does it with the command's credentials. Every step only adds; each is idempotent
 * on its own (something already there is `changed: false`).
 */
import type { AuthCredentials, ServiceEndpoints } from '@vertex-launch/core';
import type { CheckResult, Remedy } from '../doctor/checks.js';

/** One change setup can make. */
export interface SetupStep {
  /** Stable id, e.g. `enable-services`, `create-bucket`. */
  id: string;
  /** The doctor check it fixes. */
  check: string;
  /** What it creates or grants, in one line. */
  summary: string;
  /** The gcloud command(s) that do the same. */
  command: string;
  /** Does it; `changed: false` when it was already so. */
  apply(): Promise<{ changed: boolean; detail: string }>;
}

/** What the steps are made with. */
export interface PlanContext {
  credentials: AuthCredentials;
  endpoints: ServiceEndpoints;
}

const ORDER: readonly Remedy['kind'][] = [
  'enable-services',
  'act-as',
  'create-bucket',
  'create-repository',
  'grant-project-roles',
  'grant-repository-reader',
];

/** The steps for the remedies of `checks` (failed checks only), in dependency order. */
export async function planSteps(checks: readonly CheckResult[], ctx: PlanContext): Promise<SetupStep[]> {
  const remedies = checks
    .filter((c) => c.status === 'fail' && c.remedy)
    .map((c) => ({ check: c.id, remedy: c.remedy as Remedy }))
    .sort((a, b) => ORDER.indexOf(a.remedy.kind) - ORDER.indexOf(b.remedy.kind));
  // Pull access needs the repository: only once it passes, or is created first in this plan (a repository that
  // could not be looked at — its API still disabled — is planned in the next round).
  const repositoryReady =
    checks.some((c) => c.id === 'repository' && c.status === 'pass') ||
    remedies.some((r) => r.remedy.kind === 'create-repository');
  const ready = remedies.filter((r) => r.remedy.kind !== 'grant-repository-reader' || repositoryReady);
  const steps: SetupStep[] = [];
  for (const { check, remedy } of ready) steps.push(...(await stepsFor(check, remedy, ctx)));
  return steps;
}

async function stepsFor(check: string, remedy: Remedy, ctx: PlanContext): Promise<SetupStep[]> {
  const where = { endpoints: ctx.endpoints };
  switch (remedy.kind) {
    case 'enable-services':
      return [
        {
          id: 'enable-services',
          check,
          summary: `Enable ${remedy.services.join(', ')} on project ${remedy.project} (Service Usage)`,
          command: `gcloud services enable ${remedy.services.join(' ')} --project=${remedy.project}`,
          async apply() {
            const { enableServices } = await import('@vertex-launch/auth');
            await enableServices(ctx.credentials, remedy.project, remedy.services, where);
            return { changed: true, detail: `enabled ${remedy.services.join(', ')}` };
          },
        },
      ];
    case 'create-bucket':
      return [
        {
          id: 'create-bucket',
          check,
          summary: `Create the staging bucket gs://${remedy.bucket} in ${remedy.location} (uniform bucket-level access), project ${remedy.project}`,
          command: `gcloud storage buckets create gs://${remedy.bucket} --location=${remedy.location} --uniform-bucket-level-access --project=${remedy.project}`,
          async apply() {
            const { createBucket } = await import('@vertex-launch/vertex');
            const { created } = await createBucket({
              bucket: remedy.bucket,
              location: remedy.location,
              project: remedy.project,
              authClient: ctx.credentials.authClient,
              endpoints: ctx.endpoints,
            });
            return { changed: created, detail: created ? `created gs://${remedy.bucket}` : 'it exists already' };
          },
        },
      ];
    case 'create-repository':
      return [
        {
          id: 'create-repository',
          check,
          summary: `Create the Docker repository ${remedy.repository} in ${remedy.location}, project ${remedy.project}`,
          command: `gcloud artifacts repositories create ${remedy.repository} --repository-format=docker --location=${remedy.location} --project=${remedy.project}`,
          async apply() {
            const { artifactRegistry } = await import('@vertex-launch/artifact-registry');
            const registry = artifactRegistry({ credentials: ctx.credentials, endpoints: ctx.endpoints });
            try {
              const { created, name } = await registry.ensureRepository(remedy, { create: true });
              return { changed: created, detail: created ? `created ${name}` : 'it exists already' };
            } finally {
              await registry.close();
            }
          },
        },
      ];
    case 'grant-project-roles':
      return [
        {
          id: 'grant-project-roles',
          check,
          summary: `Grant ${remedy.roles.join(', ')} to ${remedy.member} on project ${remedy.project}`,
          command: remedy.roles
            .map(
              (r) => `gcloud projects add-iam-policy-binding ${remedy.project} --member=${remedy.member} --role=${r}`,
            )
            .join(' && '),
          async apply() {
            const { addPolicyBindings } = await import('@vertex-launch/auth');
            const wanted = remedy.roles.map((role) => ({ role, member: remedy.member }));
            const result = await addPolicyBindings(ctx.credentials, { project: remedy.project }, wanted, where);
            return { changed: result.added.length > 0, detail: bindingsDetail(result) };
          },
        },
      ];
    case 'act-as':
      return actAsSteps(check, remedy, ctx);
    case 'grant-repository-reader':
      return [
        {
          id: 'grant-repository-reader',
          check,
          summary: `Grant roles/artifactregistry.reader on repository ${remedy.repository} (${remedy.location}) to the Vertex service agents ${remedy.members.join(', ')}`,
          command: remedy.members
            .map(
              (m) =>
                `gcloud artifacts repositories add-iam-policy-binding ${remedy.repository} --location=${remedy.location} --project=${remedy.project} --member=${m} --role=roles/artifactregistry.reader`,
            )
            .join(' && '),
          async apply() {
            const { artifactRegistry } = await import('@vertex-launch/artifact-registry');
            const registry = artifactRegistry({ credentials: ctx.credentials, endpoints: ctx.endpoints });
            try {
              const wanted = remedy.members.map((member) => ({ role: 'roles/artifactregistry.reader', member }));
              const result = await registry.addRepositoryBindings(remedy, wanted);
              return { changed: result.added.length > 0, detail: bindingsDetail(result) };
            } finally {
              await registry.close();
            }
          },
        },
      ];
  }
}

/** Create the job's service account when it is the project's and missing; then let the caller act as it. */
async function actAsSteps(check: string, remedy: Extract<Remedy, { kind: 'act-as' }>, ctx: PlanContext) {
  const where = { endpoints: ctx.endpoints };
  const { serviceAccountExists } = await import('@vertex-launch/auth');
  const suffix = `@${remedy.project}.iam.gserviceaccount.com`;
  const accountId = remedy.account.endsWith(suffix) ? remedy.account.slice(0, -suffix.length) : undefined;
  const steps: SetupStep[] = [];
  const exists = await serviceAccountExists(ctx.credentials, remedy.account, where).catch(() => undefined);
  if (accountId && exists !== true) {
    steps.push({
      id: 'create-service-account',
      check,
      summary: `Create the job service account ${remedy.account}${exists === undefined ? ' (if it is missing)' : ''}`,
      command: `gcloud iam service-accounts create ${accountId} --display-name="Vertex AI training jobs" --project=${remedy.project}`,
      async apply() {
        const { createServiceAccount } = await import('@vertex-launch/auth');
        const { created } = await createServiceAccount(
          ctx.credentials,
          remedy.project,
          accountId,
          'Vertex AI training jobs',
          where,
        );
        return { changed: created, detail: created ? `created ${remedy.account}` : 'it exists already' };
      },
    });
  }
  steps.push({
    id: 'grant-act-as',
    check,
    summary: `Grant roles/iam.serviceAccountUser on ${remedy.account} to ${remedy.member} (actAs: run jobs as it)`,
    command: `gcloud iam service-accounts add-iam-policy-binding ${remedy.account} --member=${remedy.member} --role=roles/iam.serviceAccountUser --project=${remedy.project}`,
    async apply() {
      const { addPolicyBindings } = await import('@vertex-launch/auth');
      const wanted = [{ role: 'roles/iam.serviceAccountUser', member: remedy.member }];
      const result = await addPolicyBindings(ctx.credentials, { serviceAccount: remedy.account }, wanted, where);
      return { changed: result.added.length > 0, detail: bindingsDetail(result) };
    },
  });
  return steps;
}

function bindingsDetail(result: { added: { role: string; member: string }[]; conflicts: number }): string {
  const added = result.added.map((b) => `${b.role} to ${b.member}`).join(', ');
  const retried =
    result.conflicts > 0
      ? ` (the policy changed meanwhile ${result.conflicts} time${result.conflicts === 1 ? '' : 's'}: read again and retried; the other changes were kept)`
      : '';
  return added ? `granted ${added}${retried}` : `already granted${retried}`;
}
