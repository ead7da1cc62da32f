// `vertex-launch doctor` run as a process against the emulator: a good setup passes; each known way of getting the
// setup guide wrong (bucket elsewhere or missing, repository missing / not Docker / far away, missing permissions,
// missing actAs, camelCase keys, unknown machine types, no credentials) fails its check with the fix.

import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { LAUNCH_PERMISSIONS } from '@vertex-launch/auth';
import { seedQueueConfig } from '@vertex-launch/core/queue';
import { type Emulator, startEmulator } from '@vertex-launch/emulator';
import { sqliteQueueStore } from '@vertex-launch/queue-sqlite';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { stringify } from 'yaml';
import { repoRoot, tempDir } from '../../../test/helpers.js';
import { type CliResult, runCli } from './run-cli.js';

const requireFrom = (pkg: string) => createRequire(join(repoRoot, 'packages', pkg, 'package.json'));
const { Storage } = requireFrom('emulator')('@google-cloud/storage') as typeof import('@google-cloud/storage');
const { ArtifactRegistryClient } = requireFrom('artifact-registry')(
  '@google-cloud/artifact-registry',
) as typeof import('@google-cloud/artifact-registry');

let emulator: Emulator;
let dir: { path: string; cleanup: () => Promise<void> };
let storage: InstanceType<typeof Storage>;
let setupCount = 0;

const ALL = LAUNCH_PERMISSIONS.map((p) => p.permission);

beforeAll(async () => {
  emulator = await startEmulator();
  dir = await tempDir('vxl-doctor-');
  storage = new Storage(emulator.storageClientOptions());
  await storage.createBucket('vxl-good-bucket', { location: 'US-CENTRAL1' });
  await storage.createBucket('vxl-us-bucket', { location: 'US' });
  await storage.createBucket('vxl-eu-bucket', { location: 'EUROPE-WEST4' });
  emulator.createDockerRepository('us-central1', 'train');
  emulator.createDockerRepository('europe-west4', 'far');
  const ar = new ArtifactRegistryClient(emulator.artifactRegistryClientOptions());
  const [op] = await ar.createRepository({
    parent: `projects/${emulator.projectId}/locations/us-central1`,
    repositoryId: 'wheels',
    repository: { format: 'PYTHON' },
  });
  await op.promise();
  await ar.close();
});
afterAll(async () => {
  await emulator?.stop();
  await dir?.cleanup();
});

interface Setup {
  bucket?: string;
  registryUri?: string | null;
  queue?: Record<string, unknown>;
  /** Credentials: a key with these permissions instead of the admin token. */
  permissions?: string[];
}

/** A home with launch-config.yaml, a queue `default` in its database, and the environment to run doctor in. */
async function setup(s: Setup = {}) {
  const home = join(dir.path, `home-${++setupCount}`);
  const configDir = join(home, '.config', 'vertex-launch');
  const db = join(home, 'queues.db');
  const { mkdir } = await import('node:fs/promises');
  await mkdir(configDir, { recursive: true });
  const registryUri =
    s.registryUri === undefined ? `us-central1-docker.pkg.dev/${emulator.projectId}/train/trainer` : s.registryUri;
  await writeFile(
    join(configDir, 'launch-config.yaml'),
    stringify({
      queues: ['default'],
      environment: { project: emulator.projectId, region: 'us-central1' },
      ...(registryUri ? { builder: { type: 'docker' }, registry: { uri: registryUri } } : {}),
      queue_db: db,
    }),
  );
  const store = sqliteQueueStore({ path: db });
  await store.createQueue({
    name: 'default',
    config: s.queue ?? seedQueueConfig({ spec: { staging_bucket: `gs://${s.bucket ?? 'vxl-good-bucket'}` } }),
  });
  await store.close();
  const env: Record<string, string | undefined> = {
    ...emulator.env,
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_DATA_HOME: join(home, '.local', 'share'),
    CLOUDSDK_CONFIG: join(home, 'gcloud'),
    VERTEX_LAUNCH_QUEUE_DB: undefined,
    // Project and region from launch-config.yaml: the environment would win over it (as for every command).
    GOOGLE_CLOUD_PROJECT: undefined,
    GOOGLE_CLOUD_REGION: undefined,
  };
  if (s.permissions) {
    const key = await emulator.iam.createServiceAccount(`doctor-${setupCount}-sa`, { permissions: s.permissions });
    const keyFile = join(home, 'key.json');
    await writeFile(keyFile, JSON.stringify(key), { mode: 0o600 });
    env.GOOGLE_OAUTH_ACCESS_TOKEN = undefined;
    env.GOOGLE_APPLICATION_CREDENTIALS = keyFile;
  }
  return { home, env, db };
}

interface JsonCheck {
  id: string;
  title: string;
  ok: boolean;
  status: string;
  evidence: string;
  fix: string | null;
}

async function doctorJson(env: Record<string, string | undefined>, args: string[] = []) {
  const r = await runCli(['doctor', '--json', ...args], { env });
  if (!r.stdout.startsWith('{')) throw new Error(`doctor --json printed no JSON (exit ${r.code}): ${r.stderr}`);
  const doc = JSON.parse(r.stdout) as { ok: boolean; exitCode: number; checks: JsonCheck[] };
  const check = (id: string) => {
    const found = doc.checks.find((c) => c.id === id);
    if (!found) throw new Error(`no check ${id} in ${r.stdout}`);
    return found;
  };
  return { r, doc, check };
}

const failedIds = (checks: JsonCheck[]) => checks.filter((c) => !c.ok).map((c) => c.id);
const expectNoSecrets = (r: CliResult) => {
  expect(r.stdout + r.stderr).not.toContain(emulator.adminToken);
  expect(r.stdout + r.stderr).not.toContain('PRIVATE KEY');
};

describe('vertex-launch doctor', () => {
  test('a good setup: every check passes, one line each, exit 0', async () => {
    const { env, db } = await setup();
    const r = await runCli(['doctor'], { env });
    expectNoSecrets(r);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe(
      `Checking project ${emulator.projectId} (environment.project in ${env.XDG_CONFIG_HOME}/vertex-launch/launch-config.yaml), region us-central1 (environment.region in ${env.XDG_CONFIG_HOME}/vertex-launch/launch-config.yaml), queue \`default\``,
    );
    expect(r.stdout).toContain(
      `✓ Agent config: ${env.XDG_CONFIG_HOME}/vertex-launch/launch-config.yaml is valid (queues: default)\n`,
    );
    expect(r.stdout).toContain(`✓ Queue config: queue \`default\` (${db}) is valid\n`);
    expect(r.stdout).toContain(
      '✓ Machine types: n1-standard-4: known to Vertex AI custom training (serverless training)\n',
    );
    expect(r.stdout).toContain(
      '✓ Credentials: strategy environment, principal (not named by these credentials), from access token from $GOOGLE_OAUTH_ACCESS_TOKEN\n',
    );
    expect(r.stdout).toContain(
      `✓ Vertex AI API: ListCustomJobs in projects/${emulator.projectId}/locations/us-central1 answered (emulator) (no jobs yet)\n`,
    );
    expect(r.stdout).toContain(
      '✓ Staging bucket: gs://vxl-good-bucket is in US-CENTRAL1 (region), which suits jobs in us-central1\n',
    );
    expect(r.stdout).toContain(
      `✓ Artifact Registry repository: us-central1-docker.pkg.dev/${emulator.projectId}/train exists, is a DOCKER repository in us-central1, which suits jobs in us-central1\n`,
    );
    expect(r.stdout).toContain(
      `✓ Permissions: the principal holds all 9 on projects/${emulator.projectId} (create/get/list/cancel jobs, upload the context, push and pull images)
`,
    );
    expect(r.stdout).toContain(
      '✓ Act as the job service account: the queue names no service_account: jobs run as the Vertex AI Custom Code Service Agent, no actAs needed\n',
    );
    expect(r.stdout).toMatch(/\n\nReady to launch: \d+ passed, 0 failed, \d warnings?\.\n$/);
  });

  test('--json: { ok, checks: [{ id, title, ok, evidence, fix }] } with every check', async () => {
    const { env } = await setup({ bucket: 'vxl-us-bucket' });
    const { r, doc, check } = await doctorJson(env);
    expect(r.code).toBe(0);
    expect(doc.ok).toBe(true);
    expect(doc.checks.map((c) => c.id)).toEqual([
      'agent-config',
      'queue-config',
      'machine-types',
      'credentials',
      'services',
      'vertex-api',
      'staging-bucket',
      'repository',
      'permissions',
      'act-as',
      'service-agent',
    ]);
    for (const c of doc.checks) expect(Object.keys(c)).toEqual(['id', 'title', 'ok', 'status', 'evidence', 'fix']);
    // A multi-region bucket holds the regions of its continent.
    expect(check('staging-bucket')).toMatchObject({
      ok: true,
      status: 'pass',
      evidence: 'gs://vxl-us-bucket is in US (multi-region), which suits jobs in us-central1',
      fix: null,
    });
    expect(check('service-agent').ok).toBe(true);
  });

  test('a bucket in another region fails with the acceptable locations, exit 2', async () => {
    const { env } = await setup({ bucket: 'vxl-eu-bucket' });
    const { r, doc, check } = await doctorJson(env);
    expect(r.code).toBe(2);
    expect(failedIds(doc.checks)).toEqual(['staging-bucket']);
    expect(check('staging-bucket').evidence).toBe(
      'gs://vxl-eu-bucket is in EUROPE-WEST4 (region), but jobs run in us-central1',
    );
    expect(check('staging-bucket').fix).toBe(
      `Use a bucket in US-CENTRAL1, US (multi-region), NAM4 (dual-region): gcloud storage buckets create gs://vxl-eu-bucket --location=us-central1 --project=${emulator.projectId} — then set spec.staging_bucket to it; run \`vertex-launch queue update default --queue-config FILE\`. (A bucket's location cannot be changed.)`,
    );
  });

  test('a missing bucket: the create command, exit 2; human output shows the fix indented', async () => {
    const { env } = await setup({ bucket: 'vxl-no-such-bucket' });
    const r = await runCli(['doctor'], { env });
    expect(r.code).toBe(2);
    expect(r.stdout).toContain(
      `✗ Staging bucket: gs://vxl-no-such-bucket does not exist (the queue's spec.staging_bucket)\n    fix: Create it in the job region: gcloud storage buckets create gs://vxl-no-such-bucket --location=us-central1 --project=${emulator.projectId} — or set spec.staging_bucket to an existing bucket in us-central1; run \`vertex-launch queue update default --queue-config FILE\`. (\`vertex-launch setup\` creates it.)\n`,
    );
    expect(r.stderr).toMatch(/^\nerror 1 check failed \(\d+ passed, 1 failed, \d warnings?\); fix them/);
  });

  test('a missing repository: the gcloud command that creates it', async () => {
    const { env } = await setup({ registryUri: `us-central1-docker.pkg.dev/${emulator.projectId}/nope/trainer` });
    const { r, doc, check } = await doctorJson(env);
    expect(r.code).toBe(2);
    expect(failedIds(doc.checks)).toEqual(['repository']);
    expect(check('repository').evidence).toBe(
      `us-central1-docker.pkg.dev/${emulator.projectId}/nope: the repository does not exist`,
    );
    expect(check('repository').fix).toContain(
      `Create it: gcloud artifacts repositories create nope --repository-format=docker --location=us-central1 --project=${emulator.projectId}`,
    );
  });

  test('a repository of another format: create a Docker one', async () => {
    const { env } = await setup({ registryUri: `us-central1-docker.pkg.dev/${emulator.projectId}/wheels/trainer` });
    const { r, check } = await doctorJson(env);
    expect(r.code).toBe(2);
    expect(check('repository')).toMatchObject({
      ok: false,
      evidence: `us-central1-docker.pkg.dev/${emulator.projectId}/wheels has format PYTHON; images need a DOCKER repository`,
    });
    expect(check('repository').fix).toContain(
      `Create a Docker repository (gcloud artifacts repositories create wheels --repository-format=docker --location=us-central1 --project=${emulator.projectId})`,
    );
  });

  test('a repository in another region: pull across regions, move it', async () => {
    const { env } = await setup({ registryUri: `europe-west4-docker.pkg.dev/${emulator.projectId}/far/trainer` });
    const { r, check } = await doctorJson(env);
    expect(r.code).toBe(2);
    expect(check('repository').evidence).toBe(
      `europe-west4-docker.pkg.dev/${emulator.projectId}/far is a DOCKER repository in europe-west4, but jobs run in us-central1: every job would pull its image across regions (slower starts, egress charges)`,
    );
    expect(check('repository').fix).toContain(
      `Create a repository in us-central1 or us (multi-region) (gcloud artifacts repositories create far --repository-format=docker --location=us-central1 --project=${emulator.projectId}) and set registry.uri in`,
    );
  });

  test('a key with few permissions: the missing ones and the roles to grant, exit 3', async () => {
    const { env } = await setup({
      permissions: [
        'aiplatform.customJobs.list',
        'aiplatform.customJobs.get',
        'storage.buckets.get',
        'artifactregistry.repositories.get',
      ],
    });
    const { r, check } = await doctorJson(env);
    expectNoSecrets(r);
    expect(r.code).toBe(3);
    const sa = `doctor-${setupCount}-sa@${emulator.projectId}.iam.gserviceaccount.com`;
    expect(check('credentials').evidence).toContain(`principal ${sa}`);
    expect(check('permissions').evidence).toBe(
      `${sa} lacks 7 on projects/${emulator.projectId}: aiplatform.customJobs.create (submit the CustomJob), aiplatform.customJobs.cancel (cancel the job on Ctrl-C or timeout), storage.objects.create (upload the build context and staging files), storage.objects.get (read staged files and outputs), storage.objects.list (list staged files and outputs), artifactregistry.repositories.uploadArtifacts (push the image (docker push / Cloud Build)), artifactregistry.repositories.downloadArtifacts (pull the base and built images)`,
    );
    expect(check('permissions').fix).toBe(
      `Grant the roles that hold them: gcloud projects add-iam-policy-binding ${emulator.projectId} --member=serviceAccount:${sa} --role=roles/aiplatform.user; gcloud projects add-iam-policy-binding ${emulator.projectId} --member=serviceAccount:${sa} --role=roles/storage.objectAdmin; gcloud projects add-iam-policy-binding ${emulator.projectId} --member=serviceAccount:${sa} --role=roles/artifactregistry.writer`,
    );
  });

  test('missing actAs on the queue service account: the binding to add, exit 3', async () => {
    const runner = emulator.iam.runnerEmail;
    const { env } = await setup({
      permissions: [
        ...ALL.filter((p) => p !== 'iam.serviceAccounts.actAs'),
        'storage.buckets.get',
        'artifactregistry.repositories.get',
      ],
      queue: seedQueueConfig({ spec: { staging_bucket: 'gs://vxl-good-bucket', service_account: runner } }),
    });
    const { r, doc, check } = await doctorJson(env);
    expect(r.code).toBe(3);
    expect(failedIds(doc.checks)).toEqual(['act-as']);
    const sa = `doctor-${setupCount}-sa@${emulator.projectId}.iam.gserviceaccount.com`;
    expect(check('act-as').evidence).toMatch(
      new RegExp(
        `^${sa.replace(/[.]/g, '\\.')} lacks iam\\.serviceAccounts\\.actAs on ${runner.replace(/[.]/g, '\\.')}, the queue's service_account`,
      ),
    );
    expect(check('act-as').fix).toBe(
      `Grant it: gcloud iam service-accounts add-iam-policy-binding ${runner} --member=serviceAccount:${sa} --role=roles/iam.serviceAccountUser --project=${emulator.projectId}`,
    );
  });

  test('actAs held: the check passes', async () => {
    const runner = emulator.iam.runnerEmail;
    const { env } = await setup({
      queue: seedQueueConfig({ spec: { staging_bucket: 'gs://vxl-good-bucket', service_account: runner } }),
    });
    const { r, check } = await doctorJson(env);
    expect(r.code).toBe(0);
    expect(check('act-as')).toMatchObject({ ok: true, status: 'pass' });
    expect(check('act-as').evidence).toContain(`holds iam.serviceAccounts.actAs on ${runner}`);
  });

  test('a camelCase queue config file: every key with its snake_case spelling, exit 2', async () => {
    const { env, home } = await setup();
    const file = join(home, 'camel.yaml');
    await writeFile(
      file,
      stringify({
        spec: {
          workerPoolSpecs: [{ machine_spec: { machine_type: 'n1-standard-4' }, container_spec: { image_uri: 'x' } }],
          stagingBucket: 'gs://vxl-good-bucket',
        },
      }),
    );
    const { r, doc, check } = await doctorJson(env, ['--queue-config', file]);
    expect(r.code).toBe(2);
    expect(failedIds(doc.checks)).toContain('queue-config');
    expect(check('queue-config').evidence).toContain('spec.workerPoolSpecs');
    expect(check('queue-config').evidence).toContain('`worker_pool_specs`');
    expect(check('queue-config').evidence).toContain('spec.stagingBucket');
    expect(check('queue-config').fix).toBe(
      `Fix the keys named above (queue config keys are snake_case, as in the Vertex AI Python SDK: worker_pool_specs, staging_bucket), then check it with \`vertex-launch queue validate ${file}\`.`,
    );
    expect(check('staging-bucket')).toMatchObject({
      ok: true,
      status: 'skip',
      evidence: 'not checked: the queue config sets no usable spec.staging_bucket',
    });
  });

  test('a machine type typo warns with a did-you-mean; a wrong accelerator fails; both checks say the same as validation', async () => {
    const typo = seedQueueConfig({
      spec: {
        staging_bucket: 'gs://vxl-good-bucket',
        worker_pool_specs: [
          { machine_spec: { machine_type: 'n1-standrd-4' }, container_spec: { image_uri: '${image_uri}' } },
        ],
      },
    });
    const { env } = await setup({ queue: typo });
    const { r, check } = await doctorJson(env);
    expect(r.code).toBe(0);
    const warning =
      'spec.worker_pool_specs[0].machine_spec.machine_type: warning: `n1-standrd-4` is not a machine type Vertex AI custom training lists (https://cloud.google.com/vertex-ai/docs/training/configure-compute#machine-types); did you mean `n1-standard-4`?';
    expect(check('machine-types')).toMatchObject({ ok: true, status: 'warn', evidence: warning });
    expect(check('machine-types').fix).toBe(
      'Check the spelling of machine_type: Vertex refuses machine types it does not offer for custom training (https://cloud.google.com/vertex-ai/docs/training/configure-compute#machine-types lists them); run `vertex-launch queue update default --queue-config FILE`.',
    );
    // Validation says the same, so the queue-config check is no pass beside it.
    expect(check('queue-config').status).toBe('warn');
    expect(check('queue-config').evidence).toContain(warning);

    // A queue cannot even be created with it: the config comes from a file.
    const { home } = await setup();
    const wrong = join(home, 'n1-h100.yaml');
    await writeFile(
      wrong,
      stringify({
        spec: {
          staging_bucket: 'gs://vxl-good-bucket',
          worker_pool_specs: [
            {
              machine_spec: {
                machine_type: 'n1-standard-4',
                accelerator_type: 'NVIDIA_H100_80GB',
                accelerator_count: 1,
              },
              container_spec: { image_uri: '${image_uri}' },
            },
          ],
        },
      }),
    );
    const second = await doctorJson(env, ['--queue-config', wrong]);
    expect(second.r.code).toBe(2);
    const problem =
      'spec.worker_pool_specs[0].machine_spec.accelerator_type: `n1-standard-4` (N1 general purpose, takes T4, V100, P100 or P4 GPUs) takes NVIDIA_TESLA_T4, NVIDIA_TESLA_V100, NVIDIA_TESLA_P100 or NVIDIA_TESLA_P4, not `NVIDIA_H100_80GB`; NVIDIA_H100_80GB comes with a3-highgpu-* (e.g. a3-highgpu-1g)';
    expect(second.check('machine-types')).toMatchObject({ status: 'fail', evidence: problem });
    expect(second.check('queue-config')).toMatchObject({ status: 'fail' });
    expect(second.check('queue-config').evidence).toContain(problem);
  });

  test('the fix of a machine-type failure points at `queue validate`, which reports the same problem', async () => {
    const { env, home } = await setup();
    const file = join(home, 'e2-gpu.yaml');
    await writeFile(
      file,
      stringify({
        spec: {
          worker_pool_specs: [
            {
              machine_spec: {
                machine_type: 'e2-standard-4',
                accelerator_type: 'NVIDIA_TESLA_T4',
                accelerator_count: 1,
              },
              container_spec: { image_uri: '${image_uri}' },
            },
          ],
          staging_bucket: 'gs://vxl-good-bucket',
        },
      }),
    );
    const { r, check } = await doctorJson(env, ['--queue-config', file]);
    expect(r.code).toBe(2);
    expect(check('machine-types').fix).toContain(`check it with \`vertex-launch queue validate ${file}\``);
    const validate = await runCli(['queue', 'validate', file], { env });
    expect(validate.code).toBe(2);
    expect(validate.stderr).toContain(
      'spec.worker_pool_specs[0].machine_spec.accelerator_type: `e2-standard-4` (E2 cost-optimised) takes no accelerator, but `NVIDIA_TESLA_T4` is set',
    );
  });

  test('a TPU v5e in the Python SDK form (machine type and topology, no accelerator fields) passes', async () => {
    const tpu = seedQueueConfig({
      spec: {
        staging_bucket: 'gs://vxl-good-bucket',
        worker_pool_specs: [
          {
            machine_spec: {
              machine_type: 'ct5lp-hightpu-4t',
              tpu_topology: '2x2',
            },
            container_spec: { image_uri: '${image_uri}' },
          },
        ],
      },
    });
    const { r, check } = await doctorJson((await setup({ queue: tpu })).env);
    expect(r.code).toBe(0);
    expect(check('machine-types')).toMatchObject({
      status: 'pass',
      evidence: 'ct5lp-hightpu-4t: known to Vertex AI custom training (serverless training)',
    });
    expect(check('queue-config').status).toBe('pass');
  });

  test('a region typo or an upper-case region: a did-you-mean naming where the region came from', async () => {
    const { env } = await setup();
    const typo = await doctorJson(env, ['--region', 'us-centrl1']);
    expect(typo.r.code).not.toBe(0);
    expect(typo.check('vertex-api')).toMatchObject({ status: 'fail' });
    expect(typo.check('vertex-api').fix).toBe(
      '`us-centrl1` (from --region) is not a Vertex AI region (https://cloud.google.com/vertex-ai/docs/general/locations). Did you mean `us-central1`? Change it where it is set: --region. Then run doctor again.',
    );
    const upper = await doctorJson({ ...env }, ['--region', 'US-CENTRAL1']);
    expect(upper.r.code).toBe(2);
    expect(upper.check('vertex-api')).toMatchObject({
      status: 'fail',
      evidence:
        '`US-CENTRAL1` (from --region) is not a region name: regions are lowercase, like us-central1. Did you mean `us-central1`? Change it where it is set: --region.',
      fix: 'Set the region to us-central1 where it comes from (--region), then run doctor again.',
    });
  });

  test('no credentials: the credentials check fails with the ways to log in, the Google checks are skipped, exit 3', async () => {
    const { env } = await setup();
    const { r, doc, check } = await doctorJson({ ...env, GOOGLE_OAUTH_ACCESS_TOKEN: undefined });
    expect(r.code).toBe(3);
    expect(failedIds(doc.checks)).toEqual(['credentials']);
    expect(check('credentials').fix).toContain('gcloud auth application-default login');
    for (const id of ['vertex-api', 'staging-bucket', 'repository', 'permissions']) {
      expect(check(id).status).toBe('skip');
    }
  });

  test('no agent config and an unknown queue: exit 2 pointing at init and queue create', async () => {
    const { env } = await setup();
    const { r, check } = await doctorJson(env, ['--config', join(dir.path, 'missing.yaml'), '--queue', 'nope']);
    expect(r.code).toBe(2);
    expect(check('agent-config')).toMatchObject({
      ok: false,
      evidence: `${join(dir.path, 'missing.yaml')} does not exist`,
      fix: 'Create it with `vertex-launch init` (or pass --config FILE).',
    });
    expect(check('queue-config').evidence).toMatch(/^queue `nope` does not exist in /);
    expect(check('queue-config').fix).toContain('vertex-launch queue create nope --queue-config FILE');
  });
});

describe('vertex-launch doctor: the Vertex service agent', () => {
  test('passes while the service agent can pull from the repository; fails with the grant to run once it cannot', async () => {
    const agent = `service-${emulator.projectNumber}@gcp-sa-aiplatform-cc.iam.gserviceaccount.com`;
    const { env } = await setup();
    const before = await doctorJson(env);
    expect(before.check('service-agent').status).toBe('pass');
    expect(before.check('service-agent').evidence).toContain(`${agent}: GRANTED`);

    emulator.iam.revoke(agent, ['artifactregistry.repositories.downloadArtifacts']);
    try {
      const { r, doc, check } = await doctorJson(env);
      expect(doc.ok).toBe(false);
      expect(r.code).toBe(3);
      expect(check('service-agent').status).toBe('fail');
      expect(check('service-agent').evidence).toContain(`${agent}: NOT_GRANTED`);
      expect(check('service-agent').fix).toContain(
        `gcloud artifacts repositories add-iam-policy-binding train --location=us-central1 --project=${emulator.projectId} --member=serviceAccount:${agent} --role=roles/artifactregistry.reader`,
      );
      expectNoSecrets(r);
    } finally {
      emulator.iam.grant(agent, ['artifactregistry.repositories.downloadArtifacts']);
    }
  });
});
