// examples/ci-launch run the way the workflow runs it (`bash ci-launch.sh`), with workload identity federation
// against the emulator: an external_account credentials file naming Google's STS and IAM Credentials URLs (the
// emulator environment redirects them), a file-sourced subject token as GitHub's OIDC token, impersonation of the CI
// service account. The job must be created by that service account, and no token may appear in the output.
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { v1 } from '@google-cloud/aiplatform';
import { type Emulator, startEmulator } from '@vertex-launch/emulator';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parse } from 'yaml';
import { childEnv, repoRoot, tempDir } from '../../../test/helpers.js';

const exampleDir = join(repoRoot, 'examples', 'ci-launch');
const LAUNCH_PERMISSIONS = [
  'aiplatform.customJobs.create',
  'aiplatform.customJobs.get',
  'aiplatform.customJobs.list',
  'aiplatform.customJobs.cancel',
  'storage.objects.create',
  'storage.objects.get',
  'storage.objects.list',
  'artifactregistry.repositories.uploadArtifacts',
  'artifactregistry.repositories.downloadArtifacts',
  'cloudbuild.builds.create',
];
let emulator: Emulator;
let dir: { path: string; cleanup: () => Promise<void> };

beforeAll(async () => {
  dir = await tempDir('vxl-ci-launch-');
  // A data dir, so the jobs (with who created them) and the issued tokens can be read back after stop().
  emulator = await startEmulator({
    dataDir: join(dir.path, 'emulator'),
    jobTimings: { queuedMs: 100, pendingMs: 100, runningMs: 800 },
  });
});
afterAll(async () => {
  await emulator?.stop();
  await dir?.cleanup();
});

/** What google-github-actions/auth leaves behind: the OIDC token in a file and an external_account config. */
async function federatedCredentials(subject: string, serviceAccount: string) {
  const identity = emulator.iam.addExternalIdentity(subject);
  // The repository's identity in the pool may only impersonate the CI service account.
  emulator.iam.grant(
    identity.member,
    ['iam.serviceAccounts.getAccessToken'],
    emulator.iam.serviceAccountResource(serviceAccount),
  );
  const tokenFile = join(dir.path, `oidc-token-${subject.replace(/\W/g, '-')}`);
  await writeFile(tokenFile, identity.subjectToken, { mode: 0o600 });
  const example = JSON.parse(await readFile(join(exampleDir, 'credentials.example.json'), 'utf8'));
  expect(example.token_url).toBe('https://sts.googleapis.com/v1/token');
  const file = join(dir.path, `gha-creds-${subject.replace(/\W/g, '-')}.json`);
  await writeFile(
    file,
    JSON.stringify({
      ...example,
      audience: identity.audience,
      subject_token_type: identity.subjectTokenType,
      service_account_impersonation_url: example.service_account_impersonation_url.replace(
        'ci-launcher@my-project.iam.gserviceaccount.com',
        serviceAccount,
      ),
      credential_source: { file: tokenFile },
    }),
  );
  return { identity, file };
}

/** `bash ci-launch.sh` as the workflow runs it, with the emulator's variables minus its admin token. */
function runScript(credentialsFile: string, sha: string) {
  return run('bash', ['ci-launch.sh'], {
    ...emulator.env,
    GOOGLE_APPLICATION_CREDENTIALS: credentialsFile,
    TRAINER_IMAGE: `us-central1-docker.pkg.dev/${emulator.projectId}/train/trainer:1`,
    STAGING_BUCKET: 'gs://vxl-ci-staging',
    GITHUB_SHA: sha,
    GITHUB_RUN_ID: '4242',
    // The example package's own `vertex-launch` (a workspace link to packages/cli).
    PATH: `${join(exampleDir, 'node_modules', '.bin')}${delimiter}${process.env.PATH}`,
  });
}

it('a missing permission stops the script at `auth check` (exit 3, named), before anything is launched', async () => {
  const account = `ci-readonly@${emulator.projectId}.iam.gserviceaccount.com`;
  await emulator.iam.createServiceAccount('ci-readonly', {
    permissions: LAUNCH_PERMISSIONS.filter((p) => p !== 'aiplatform.customJobs.create'),
  });
  const { identity, file } = await federatedCredentials('repo:acme/train:ref:refs/heads/feature', account);
  const r = await runScript(file, '0123456789abcdef0123456789abcdef01234567');
  expect(r.code, r.stderr).toBe(3);
  expect(`${r.stdout}${r.stderr}`).toMatch(/✗ aiplatform\.customJobs\.create/);
  expect(r.stdout).not.toContain('queue.yaml is a valid queue config');
  expect(emulator.counters()['aiplatform.customJobs.create'] ?? 0).toBe(0);
  expect(`${r.stdout}${r.stderr}`).not.toContain(identity.subjectToken);
}, 90_000);

it('authenticates with workload identity federation, launches with --wait as the impersonated account, prints no token', async () => {
  const launcher = `ci-launcher@${emulator.projectId}.iam.gserviceaccount.com`;
  await emulator.iam.createServiceAccount('ci-launcher', { permissions: LAUNCH_PERMISSIONS });
  const { identity, file } = await federatedCredentials('repo:acme/train:ref:refs/heads/main', launcher);
  const adminToken = emulator.env.GOOGLE_OAUTH_ACCESS_TOKEN;
  const sha = '3f1c2a9d0b7e4c5a6f8e9d0c1b2a3f4e5d6c7b8a';
  const r = await runScript(file, sha);
  const output = `${r.stdout}\n${r.stderr}`;
  expect(r.code, output).toBe(0);

  // `auth check`: federation, the impersonated account, every permission granted.
  expect(r.stdout).toMatch(/Strategy\s+environment/);
  expect(r.stdout).toMatch(new RegExp(`Principal\\s+${launcher.replace(/\./g, '\\.')}`));
  expect(r.stdout).toMatch(/Permissions on vxl-emulator: 10\/10 granted/);
  expect(r.stdout).toContain('✓ queue.yaml is a valid queue config');
  // `launch --wait`: the job name on stdout, SUCCEEDED on stderr.
  const jobName = /^(projects\/\d+\/locations\/us-central1\/customJobs\/\d+)$/m.exec(r.stdout)?.[1];
  expect(jobName, output).toBeDefined();
  expect(r.stderr).toContain(`${jobName} SUCCEEDED`);
  expect(emulator.counters()['sts.token']).toBeGreaterThanOrEqual(1);
  expect(emulator.counters()['iamcredentials.generateAccessToken']).toBeGreaterThanOrEqual(1);

  const jobs = new v1.JobServiceClient(emulator.jobServiceClientOptions());
  try {
    const [job] = await jobs.getCustomJob({ name: jobName as string });
    expect(job.displayName).toBe('ci-gh-4242');
    expect(job.labels).toMatchObject({ launched_from: 'ci', git_sha: sha });
    const container = job.jobSpec?.workerPoolSpecs?.[0]?.containerSpec;
    expect(container?.env).toEqual([{ name: 'GIT_SHA', value: sha }]);
    expect(container?.args).toEqual(['--epochs', '10']);
  } finally {
    await jobs.close();
  }

  // Who created the job, and every token the emulator issued, from its persisted state.
  await emulator.stop();
  const state = JSON.parse(await readFile(join(dir.path, 'emulator', 'emulator.json'), 'utf8')) as {
    jobs: Array<{ id: string; creator: string }>;
    iam: { tokens: Record<string, { email: string }> };
  };
  expect(state.jobs.map((j) => j.creator)).toEqual([`serviceAccount:${launcher}`]);
  const issued = Object.keys(state.iam.tokens);
  expect(issued.length).toBeGreaterThan(0);
  for (const secret of [identity.subjectToken, adminToken, ...issued]) {
    expect(output).not.toContain(secret);
  }
}, 90_000);

it('the workflow requests an OIDC token, authenticates with workload identity federation and runs ci-launch.sh', async () => {
  const workflow = parse(await readFile(join(exampleDir, '.github', 'workflows', 'launch-training.yml'), 'utf8'));
  expect(workflow.permissions['id-token']).toBe('write');
  const steps = workflow.jobs.launch.steps as Array<Record<string, unknown>>;
  const auth = steps.findIndex((s) => String(s.uses).startsWith('google-github-actions/auth@'));
  expect(steps[auth]?.with).toMatchObject({
    workload_identity_provider: expect.stringMatching(
      /^projects\/\d+\/locations\/global\/workloadIdentityPools\/.+\/providers\/.+$/,
    ),
    service_account: expect.stringMatching(/@.+\.iam\.gserviceaccount\.com$/),
  });
  const launch = steps.findIndex((s) => s.run === 'bash ci-launch.sh');
  expect(launch).toBeGreaterThan(auth);
  expect(steps[launch]?.['working-directory']).toBe('examples/ci-launch');
  for (const name of ['GOOGLE_CLOUD_PROJECT', 'GOOGLE_CLOUD_REGION', 'TRAINER_IMAGE', 'STAGING_BUCKET']) {
    expect(workflow.env[name], name).toBeTruthy();
  }
});

function run(command: string, args: string[], env: Record<string, string | undefined>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: exampleDir,
      env: childEnv({ ...env, GOOGLE_OAUTH_ACCESS_TOKEN: undefined }),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 80_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
