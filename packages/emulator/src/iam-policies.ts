/**
 * IAM policies as Google keeps them: per resource (a project, a service account, a repository) a list of bindings
 * `{ role, members }`, a version and an etag that changes with every write. `setIamPolicy` with a stale etag is
 * refused with ABORTED (the client must read again), as Resource Manager, IAM and Artifact Registry do; a policy
 * without an etag overwrites. Roles grant the permissions of {@link ROLE_PERMISSIONS}; a predefined role the emulator
 * does not know, a member without its `user:` / `serviceAccount:` prefix, or a service account of the project that
 * does not exist are refused with INVALID_ARGUMENT.
 */
import { EmulatorError } from './context.js';

/** The permissions of the predefined roles the emulator knows (the ones a launch and its setup use). */
export const ROLE_PERMISSIONS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  'roles/owner': ['*'],
  'roles/aiplatform.user': [
    'aiplatform.customJobs.create',
    'aiplatform.customJobs.get',
    'aiplatform.customJobs.list',
    'aiplatform.customJobs.cancel',
    'aiplatform.customJobs.delete',
  ],
  'roles/storage.objectAdmin': [
    'storage.objects.create',
    'storage.objects.get',
    'storage.objects.list',
    'storage.objects.delete',
  ],
  'roles/storage.admin': [
    'storage.buckets.create',
    'storage.buckets.get',
    'storage.buckets.list',
    'storage.buckets.delete',
    'storage.objects.create',
    'storage.objects.get',
    'storage.objects.list',
    'storage.objects.delete',
  ],
  'roles/artifactregistry.reader': [
    'artifactregistry.repositories.get',
    'artifactregistry.repositories.list',
    'artifactregistry.repositories.downloadArtifacts',
    'artifactregistry.dockerimages.get',
    'artifactregistry.dockerimages.list',
    'artifactregistry.packages.get',
    'artifactregistry.packages.list',
    'artifactregistry.tags.get',
    'artifactregistry.tags.list',
  ],
  'roles/artifactregistry.writer': [
    'artifactregistry.repositories.get',
    'artifactregistry.repositories.list',
    'artifactregistry.repositories.downloadArtifacts',
    'artifactregistry.repositories.uploadArtifacts',
    'artifactregistry.dockerimages.get',
    'artifactregistry.dockerimages.list',
    'artifactregistry.packages.get',
    'artifactregistry.packages.list',
    'artifactregistry.tags.get',
    'artifactregistry.tags.list',
  ],
  'roles/artifactregistry.admin': [
    'artifactregistry.repositories.create',
    'artifactregistry.repositories.delete',
    'artifactregistry.repositories.get',
    'artifactregistry.repositories.list',
    'artifactregistry.repositories.getIamPolicy',
    'artifactregistry.repositories.setIamPolicy',
    'artifactregistry.repositories.downloadArtifacts',
    'artifactregistry.repositories.uploadArtifacts',
    'artifactregistry.repositories.deleteArtifacts',
  ],
  'roles/cloudbuild.builds.editor': [
    'cloudbuild.builds.create',
    'cloudbuild.builds.get',
    'cloudbuild.builds.list',
    'cloudbuild.builds.update',
  ],
  'roles/logging.viewer': ['logging.logEntries.list'],
  'roles/iam.serviceAccountUser': ['iam.serviceAccounts.actAs', 'iam.serviceAccounts.get', 'iam.serviceAccounts.list'],
  'roles/iam.serviceAccountTokenCreator': ['iam.serviceAccounts.getAccessToken'],
  'roles/iam.serviceAccountAdmin': [
    'iam.serviceAccounts.create',
    'iam.serviceAccounts.get',
    'iam.serviceAccounts.list',
    'iam.serviceAccounts.getIamPolicy',
    'iam.serviceAccounts.setIamPolicy',
  ],
  'roles/resourcemanager.projectIamAdmin': [
    'resourcemanager.projects.getIamPolicy',
    'resourcemanager.projects.setIamPolicy',
  ],
  'roles/serviceusage.serviceUsageAdmin': [
    'serviceusage.services.get',
    'serviceusage.services.list',
    'serviceusage.services.enable',
    'serviceusage.services.disable',
  ],
});

/** One binding of a policy (conditions are not modelled). */
export interface PolicyBinding {
  role: string;
  members: string[];
}

/** A policy as stored: `revision` makes the etag. */
export interface PolicyRecord {
  version: number;
  bindings: PolicyBinding[];
  revision: number;
}

/** A policy as the APIs answer it; `etag` is base64 in REST, the same bytes in gRPC. */
export interface PolicyView {
  version: number;
  bindings: PolicyBinding[];
  etag: string;
}

const MEMBER =
  /^(user|serviceAccount|group|domain|deleted:user|deleted:serviceAccount):[^\s:]+$|^principal(Set)?:\/\/\S+$|^allUsers$|^allAuthenticatedUsers$/;
const ROLE =
  /^(roles\/[A-Za-z0-9_.]+|projects\/[a-z0-9-]+\/roles\/[A-Za-z0-9_.]+|organizations\/\d+\/roles\/[A-Za-z0-9_.]+)$/;

/** The etag of a revision (base64, as Google's look). */
export function etagOf(resource: string, revision: number): string {
  return Buffer.from(`vxl:${resource}:${revision}`).toString('base64');
}

/** Policies per resource (canonical resource names). */
export class PolicyStore {
  private readonly policies = new Map<string, PolicyRecord>();

  constructor(
    private readonly options: {
      /** True when a `serviceAccount:` member of the project names an existing account. */
      serviceAccountExists(email: string): boolean;
      projectId: string;
      onChange(): void;
    },
  ) {}

  /** The policy of `resource` (an empty one with etag `ACAB`-like revision 0 when none was set). */
  get(resource: string): PolicyView {
    const record = this.policies.get(resource) ?? { version: 1, bindings: [], revision: 0 };
    return {
      version: record.version,
      bindings: record.bindings.map((b) => ({ role: b.role, members: [...b.members] })),
      etag: etagOf(resource, record.revision),
    };
  }

  /**
   * Replaces the policy of `resource` with `input` (`{ bindings, etag?, version? }`). Throws ABORTED when `etag` is
   * given and is not the current one, INVALID_ARGUMENT for a bad role or member.
   */
  set(resource: string, input: unknown): PolicyView {
    const policy = (input ?? {}) as { bindings?: unknown; etag?: unknown; version?: unknown };
    const current = this.policies.get(resource) ?? { version: 1, bindings: [], revision: 0 };
    const etag = typeof policy.etag === 'string' ? policy.etag : undefined;
    if (etag !== undefined && etag !== '' && etag !== etagOf(resource, current.revision)) {
      throw new EmulatorError(
        'ABORTED',
        'There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.',
      );
    }
    const bindings = this.checkBindings(policy.bindings);
    const record: PolicyRecord = {
      version: typeof policy.version === 'number' && policy.version > 0 ? policy.version : 1,
      bindings,
      revision: current.revision + 1,
    };
    this.policies.set(resource, record);
    this.options.onChange();
    return this.get(resource);
  }

  /** The roles `member` holds on `resource` itself. */
  rolesOf(resource: string, member: string): string[] {
    return (this.policies.get(resource)?.bindings ?? []).filter((b) => b.members.includes(member)).map((b) => b.role);
  }

  /** Resources that have a policy. */
  resources(): string[] {
    return [...this.policies.keys()];
  }

  toJSON(): Record<string, PolicyRecord> {
    return Object.fromEntries(this.policies);
  }

  load(saved: Record<string, PolicyRecord> | undefined): void {
    for (const [resource, record] of Object.entries(saved ?? {})) this.policies.set(resource, record);
  }

  private checkBindings(raw: unknown): PolicyBinding[] {
    if (raw === undefined) return [];
    if (!Array.isArray(raw)) throw new EmulatorError('INVALID_ARGUMENT', 'policy.bindings must be a list.');
    const byRole = new Map<string, Set<string>>();
    for (const [i, b] of raw.entries()) {
      const binding = (b ?? {}) as { role?: unknown; members?: unknown; condition?: unknown };
      const role = typeof binding.role === 'string' ? binding.role : '';
      if (!ROLE.test(role) || (role.startsWith('roles/') && !(role in ROLE_PERMISSIONS))) {
        throw new EmulatorError(
          'INVALID_ARGUMENT',
          `Role ${role || `(policy.bindings[${i}].role is empty)`} is not supported for this resource.`,
        );
      }
      if (binding.condition !== undefined && binding.condition !== null) {
        throw new EmulatorError('INVALID_ARGUMENT', 'The emulator does not support conditional role bindings.');
      }
      const members = Array.isArray(binding.members) ? binding.members : [];
      const set = byRole.get(role) ?? new Set<string>();
      for (const m of members) {
        if (typeof m !== 'string' || !MEMBER.test(m)) {
          throw new EmulatorError(
            'INVALID_ARGUMENT',
            `Invalid member ${JSON.stringify(m)} in policy.bindings[${i}]: use a prefix, e.g. user:dev@example.com or serviceAccount:sa@${this.options.projectId}.iam.gserviceaccount.com.`,
          );
        }
        const sa = /^serviceAccount:(.+)$/.exec(m)?.[1];
        if (
          sa?.endsWith(`@${this.options.projectId}.iam.gserviceaccount.com`) &&
          !this.options.serviceAccountExists(sa)
        ) {
          throw new EmulatorError('INVALID_ARGUMENT', `Service account ${sa} does not exist.`);
        }
        set.add(m);
      }
      if (set.size > 0) byRole.set(role, set);
    }
    return [...byRole].map(([role, members]) => ({ role, members: [...members].sort() }));
  }
}
