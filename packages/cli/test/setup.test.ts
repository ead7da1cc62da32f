// `vertex-launch setup` (and `doctor --fix`) run as a process against the emulator: every safe fix (APIs, bucket,
// repository, job service account, project roles, actAs, the service agent's pull access) made with the caller's
// credentials and checked by the doctor at the end; a second run changes nothing; a concurrent change of the project
// policy (a stale etag) is read again and retried with both bindings kept; a principal that may not grant stops with
// exit 3 and a report of what was done and what was not.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LAUNCH_PERMISSIONS } from '@vertex-launch/auth';
import { seedQueueConfig } from '@vertex-launch/core/queue';
import { type Emulator, startEmulator } from '@vertex-launch/emulator';
import { sqliteQueueStore } from '@vertex-launch/queue-sqlite';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { stringify } from 'yaml';
import { tempDir } from '../../../test/helpers.js';
import { runCli } from './run-cli.js';

let emulator: Emulator;
let dir: { path: string; cleanup: () => Promise<void> };
let homes = 0;

/** What a project owner may do, without the launch permissions themselves (setup grants those as roles). */
const OWNER_PERMISSIONS = [
  'resourcemanager.projects.get',
  'resourcemanager.projects.getIamPolicy',
  'resourcemanager.projects.setIamPolicy',
  'serviceusage.services.get',
  'serviceusage.services.enable',
  'iam.serviceAccounts.get',
  'iam.serviceAccounts.create',
  'iam.serviceAccounts.getIamPolicy',
  'iam.serviceAccounts.setIamPolicy',
  'storage.buckets.get',
  'storage.buckets.create',
  'artifactregistry.repositories.get',
  'artifactregistry.repositories.create',
  'artifactregistry.repositories.getIamPolicy',
  'artifactregistry.repositories.setIamPolicy',
];
const LAUNCH = LAUNCH_PERMISSIONS.filter((p) => p.scope === 'project').map((p) => p.permission);

beforeAll(async () => {
  emulator = await startEmulator({
    disabledServices: ['aiplatform.googleapis.com', 'artifactregistry.googleapis.com'],
  });
  dir = await tempDir('vxl-setup-');
});
afterAll(async () => {
  await emulator?.stop();
  await dir?.cleanup();
});

interface Home {
  bucket: string;
  registryUri?: string;
  serviceAccount?: string;
  permissions: string[];
}

/** A home with launch-config.yaml, a queue `default`, and credentials: a key of a new account with `permissions`. */
async function home(h: Home) {
  const n = ++homes;
  const path = join(dir.path, `home-${n}`);
  const configDir = join(path, '.config', 'vertex-launch');
  await mkdir(configDir, { recursive: true });
  const db = join(path, 'queues.db');
  await writeFile(
    join(configDir, 'launch-config.yaml'),
    stringify({
      queues: ['default'],
      environment: { project: emulator.projectId, region: 'us-central1' },
      ...(h.registryUri ? { builder: { type: 'docker' }, registry: { uri: h.registryUri } } : {}),
      queue_db: db,
    }),
  );
  const store = sqliteQueueStore({ path: db });
  const spec = {
    staging_bucket: `gs://${h.bucket}`,
    ...(h.serviceAccount ? { service_account: h.serviceAccount } : {}),
  };
  await store.createQueue({ name: 'default', config: seedQueueConfig({ spec }) });
  await store.close();
  const key = await emulator.iam.createServiceAccount(`setup-caller-${n}`, { permissions: h.permissions });
  const keyFile = join(path, 'key.json');
  await writeFile(keyFile, JSON.stringify(key), { mode: 0o600 });
  const env: Record<string, string | undefined> = {
    ...emulator.env,
    HOME: path,
    XDG_CONFIG_HOME: join(path, '.config'),
    XDG_DATA_HOME: join(path, '.local', 'share'),
    CLOUDSDK_CONFIG: join(path, 'gcloud'),
    VERTEX_LAUNCH_QUEUE_DB: undefined,
    GOOGLE_CLOUD_PROJECT: undefined,
    GOOGLE_CLOUD_REGION: undefined,
    GOOGLE_OAUTH_ACCESS_TOKEN: undefined,
    GOOGLE_APPLICATION_CREDENTIALS: keyFile,
  };
  return { env, member: `serviceAccount:${key.client_email}` };
}

interface SetupJson {
  ok: boolean;
  exitCode: number;
  changed: boolean;
  steps: { id: string; summary: string; command: string; status: string; detail: string | null }[];
  doctor: { ok: boolean; checks: { id: string; status: string }[] };
}
const parse = (stdout: string) => JSON.parse(stdout) as SetupJson;
const projectRoles = (member: string) =>
  emulator.iam
    .getPolicy()
    .bindings.filter((b) => b.members.includes(member))
    .map((b) => b.role)
    .sort();

describe('vertex-launch setup', () => {
  test('every fix: APIs, bucket, repository, job service account, roles, actAs, pull access; then doctor passes', async () => {
    const account = `setup-trainer@${emulator.projectId}.iam.gserviceaccount.com`;
    const registryUri = `us-central1-docker.pkg.dev/${emulator.projectId}/setup-images/trainer`;
    const { env, member } = await home({
      bucket: 'vxl-setup-staging',
      registryUri,
      serviceAccount: account,
      permissions: OWNER_PERMISSIONS,
    });
    // As when the repository's policy leaves the service agents out: they may not pull until setup grants it.
    const agent = `service-${emulator.projectNumber}@gcp-sa-aiplatform-cc.iam.gserviceaccount.com`;
    emulator.iam.revoke(agent, ['artifactregistry.repositories.downloadArtifacts']);

    const dry = await runCli(['setup', '--dry-run'], { env, timeoutMs: 60_000 });
    expect(dry.stdout).toContain(
      'Enable aiplatform.googleapis.com, artifactregistry.googleapis.com on project vxl-emulator (Service Usage)',
    );
    expect(dry.stdout).toContain(
      '= gcloud services enable aiplatform.googleapis.com artifactregistry.googleapis.com --project=vxl-emulator',
    );
    expect(dry.stdout).toContain('Dry run: nothing was changed.');
    expect(emulator.services.isEnabled('aiplatform.googleapis.com')).toBe(false);
    const noTerminal = await runCli(['setup'], { env, timeoutMs: 60_000 });
    expect(noTerminal.code).toBe(2);
    expect(noTerminal.stderr).toContain('pass --yes to make them, or --dry-run');

    const r = await runCli(['setup', '--yes', '--json'], { env, timeoutMs: 60_000 });
    const doc = parse(r.stdout);
    expect(doc.steps.map((s) => [s.id, s.status])).toEqual([
      ['enable-services', 'done'],
      ['create-service-account', 'done'],
      ['grant-act-as', 'done'],
      ['create-bucket', 'done'],
      ['grant-project-roles', 'done'],
      // The second round: with Artifact Registry enabled, the repository can be looked at.
      ['create-repository', 'done'],
      ['grant-repository-reader', 'done'],
    ]);
    expect(doc.steps.find((s) => s.id === 'create-bucket')?.command).toBe(
      'gcloud storage buckets create gs://vxl-setup-staging --location=us-central1 --uniform-bucket-level-access --project=vxl-emulator',
    );
    expect(doc.doctor.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(r.code).toBe(0);
    expect(doc.ok).toBe(true);

    // What Google now holds.
    expect(emulator.services.isEnabled('aiplatform.googleapis.com')).toBe(true);
    expect(projectRoles(member)).toEqual([
      'roles/aiplatform.user',
      'roles/artifactregistry.writer',
      'roles/storage.objectAdmin',
    ]);
    const saPolicy = emulator.iam.getPolicy(emulator.iam.serviceAccountResource(account));
    expect(saPolicy.bindings).toEqual([{ role: 'roles/iam.serviceAccountUser', members: [member] }]);
    const repo = `projects/${emulator.projectId}/locations/us-central1/repositories/setup-images`;
    expect(emulator.iam.getPolicy(repo).bindings).toEqual([
      {
        role: 'roles/artifactregistry.reader',
        members: [
          `serviceAccount:service-${emulator.projectNumber}@gcp-sa-aiplatform-cc.iam.gserviceaccount.com`,
          `serviceAccount:service-${emulator.projectNumber}@gcp-sa-aiplatform.iam.gserviceaccount.com`,
        ],
      },
    ]);
    const bucket = await fetch(`${emulator.httpUrl}/storage/v1/b/vxl-setup-staging`, {
      headers: { authorization: `Bearer ${emulator.adminToken}` },
    });
    expect(await bucket.json()).toMatchObject({
      location: 'US-CENTRAL1',
      iamConfiguration: { uniformBucketLevelAccess: { enabled: true } },
    });

    // Idempotent: the second run changes nothing, and says so.
    const etag = emulator.iam.getPolicy().etag;
    emulator.resetCounters();
    const again = await runCli(['doctor', '--fix', '--yes'], { env, timeoutMs: 60_000 });
    expect(again.stdout).toMatch(/^Nothing to change: every check passes\.\n/);
    expect(again.stdout).toMatch(/Ready to launch: \d+ passed, 0 failed/);
    expect(again.code).toBe(0);
    expect(emulator.iam.getPolicy().etag).toBe(etag);
    const writes = Object.keys(emulator.counters()).filter((m) => /setIamPolicy|create|enable|insert/.test(m));
    expect(writes).toEqual([]);
  }, 240_000);

  test('a concurrent change of the project policy: the stale write is retried and both bindings are kept', async () => {
    const { env, member } = await home({ bucket: 'vxl-setup-staging', permissions: OWNER_PERMISSIONS });
    emulator.resetCounters();
    emulator.faults.inject('resourcemanager.projects.setIamPolicy', { latencyMs: 1500, times: 1 });
    const running = runCli(['setup', '--yes'], { env, timeoutMs: 60_000 });
    const start = Date.now();
    while (!emulator.counters()['resourcemanager.projects.setIamPolicy'] && Date.now() - start < 30_000) {
      await new Promise((r) => setTimeout(r, 20));
    }
    emulator.iam.addBinding('roles/logging.viewer', 'user:colleague@example.com'); // while setup's write waits
    const r = await running;
    expect(r.stdout).toContain('the policy changed meanwhile 1 time: read again and retried');
    expect(r.code).toBe(0);
    expect(projectRoles(member)).toEqual([
      'roles/aiplatform.user',
      'roles/artifactregistry.writer',
      'roles/storage.objectAdmin',
    ]);
    expect(projectRoles('user:colleague@example.com')).toEqual(['roles/logging.viewer']);
  }, 120_000);

  test('a principal that may not grant: exit 3, what was done and what was not', async () => {
    const { env, member } = await home({
      bucket: 'vxl-setup-refused',
      permissions: [
        ...OWNER_PERMISSIONS.filter((p) => p !== 'resourcemanager.projects.setIamPolicy'),
        ...LAUNCH.filter((p) => !p.startsWith('aiplatform.')),
      ],
    });
    const r = await runCli(['setup', '--yes'], { env, timeoutMs: 60_000 });
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/✓ Create the staging bucket gs:\/\/vxl-setup-refused .*: created/);
    expect(r.stdout).toMatch(/✗ Grant roles\/aiplatform.user to serviceAccount:.* permission denied/);
    expect(r.stderr).toContain('setup could not finish: 1 of 2 changes failed.');
    expect(r.stderr).toMatch(/Done:\n {4}- Create the staging bucket gs:\/\/vxl-setup-refused/);
    expect(r.stderr).toMatch(/Not done:\n {4}- Grant roles\/aiplatform.user .*resourcemanager.projects.setIamPolicy/);
    expect(r.stderr).toContain(`by hand: gcloud projects add-iam-policy-binding vxl-emulator --member=${member}`);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(projectRoles(member)).toEqual([]);
  }, 120_000);
});
