// Every command resolves project and region the same way — flags > environment > launch-config.yaml > gcloud config
// > credentials — and says where each came from (issue 26, item 1: `doctor` and `config show` found the project in
// launch-config.yaml while `launch` and `jobs list` said "No project"; gcloud's project was ignored).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Emulator, startEmulator } from '@vertex-launch/emulator';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { repoRoot, tempDir } from '../../../test/helpers.js';
import { CLEAN_ENV, runCli } from './run-cli.js';

const queueConfig = join(repoRoot, 'examples', 'queue.yaml');
const image = 'us-central1-docker.pkg.dev/my-proj/train/hello:1';

const CLEAN = { ...CLEAN_ENV, CLOUDSDK_ACTIVE_CONFIG_NAME: undefined };

let dir: { path: string; cleanup: () => Promise<void> };
let emulator: Emulator;
let homes = 0;

beforeAll(async () => {
  dir = await tempDir('vxl-cli-runtime-');
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator?.stop();
  await dir?.cleanup();
});

/** A fresh home: optional gcloud properties and launch-config.yaml; the environment that points at them. */
async function home(files: { gcloud?: string; agentConfig?: string } = {}) {
  const root = join(dir.path, `home-${++homes}`);
  await mkdir(join(root, 'gcloud', 'configurations'), { recursive: true });
  await mkdir(join(root, 'cfg', 'vertex-launch'), { recursive: true });
  if (files.gcloud) await writeFile(join(root, 'gcloud', 'configurations', 'config_default'), files.gcloud);
  const agentConfig = join(root, 'cfg', 'vertex-launch', 'launch-config.yaml');
  if (files.agentConfig) await writeFile(agentConfig, files.agentConfig);
  const env = {
    ...CLEAN,
    HOME: root,
    CLOUDSDK_CONFIG: join(root, 'gcloud'),
    XDG_CONFIG_HOME: join(root, 'cfg'),
    XDG_DATA_HOME: join(root, 'data'),
  };
  return { env, agentConfig, gcloudFile: join(root, 'gcloud', 'configurations', 'config_default') };
}

const dryRun = (env: Record<string, string | undefined>, extra: string[] = []) =>
  runCli(['launch', '--queue-config', queueConfig, '--image', image, '--dry-run', '--json', ...extra], { env });

describe('one runtime for every command', () => {
  test("gcloud's configured project and ai/region serve launch --dry-run and config show alike", async () => {
    const h = await home({ gcloud: '[core]\nproject = gcloud-proj-1\n[ai]\nregion = europe-west4\n' });
    const r = await dryRun(h.env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).parent).toBe('projects/gcloud-proj-1/locations/europe-west4');

    const show = await runCli(['config', 'show', '--json'], { env: h.env });
    const { settings } = JSON.parse(show.stdout);
    expect(settings.project).toEqual({
      value: 'gcloud-proj-1',
      source: 'gcloud config core/project (configuration default)',
    });
    expect(settings.region).toEqual({
      value: 'europe-west4',
      source: 'gcloud config ai/region (configuration default)',
    });
  });

  test('launch-config.yaml beats gcloud config, the environment beats both, a flag beats everything', async () => {
    const h = await home({
      gcloud: '[core]\nproject = gcloud-proj-1\n[compute]\nregion = us-east1\n',
      agentConfig: 'queues: [default]\nenvironment: { project: file-proj-1, region: us-west1 }\n',
    });
    expect(JSON.parse((await dryRun(h.env)).stdout).parent).toBe('projects/file-proj-1/locations/us-west1');
    // GCLOUD_PROJECT and CLOUDSDK_AI_REGION count as they do for a real launch (--dry-run ignored them before).
    const env = { ...h.env, GCLOUD_PROJECT: 'env-proj-1', CLOUDSDK_AI_REGION: 'asia-east1' };
    expect(JSON.parse((await dryRun(env)).stdout).parent).toBe('projects/env-proj-1/locations/asia-east1');
    expect(JSON.parse((await dryRun(env, ['--project', 'flag-proj-1'])).stdout).parent).toBe(
      'projects/flag-proj-1/locations/asia-east1',
    );
  });

  test('no project anywhere: exit 2 naming every place a project can come from, the same for every command', async () => {
    const h = await home();
    const r = await dryRun({ ...h.env, GOOGLE_CLOUD_REGION: 'us-central1' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `No project: pass --project <id>, set $GOOGLE_CLOUD_PROJECT (or $GCLOUD_PROJECT, $CLOUDSDK_CORE_PROJECT), set environment.project in ${h.agentConfig}, or run \`gcloud config set project <id>\`.`,
    );
    const jobs = await runCli(['jobs', 'list'], {
      env: { ...h.env, GOOGLE_OAUTH_ACCESS_TOKEN: 'ya29.not-used', GOOGLE_CLOUD_REGION: 'us-central1' },
    });
    expect(jobs.code).toBe(2);
    expect(jobs.stderr).toContain('No project: pass --project <id>');
  });

  test('jobs list and doctor take the project and region of launch-config.yaml (a fresh shell, no variables)', async () => {
    const h = await home({
      agentConfig: `queues: [default]\nenvironment: { project: ${emulator.projectId}, region: us-central1 }\n`,
    });
    // The emulator's endpoints and token, but not its GOOGLE_CLOUD_PROJECT / GOOGLE_CLOUD_REGION.
    const { GOOGLE_CLOUD_PROJECT: _project, GOOGLE_CLOUD_REGION: _region, ...endpoints } = emulator.env;
    const env = { ...h.env, ...endpoints };
    const jobs = await runCli(['jobs', 'list', '--json'], { env });
    expect(jobs.stderr).toBe('');
    expect(jobs.code).toBe(0);
    expect(JSON.parse(jobs.stdout)).toMatchObject({ project: emulator.projectId, region: 'us-central1', jobs: [] });

    const doctor = await runCli(['doctor', '--json'], { env });
    const report = JSON.parse(doctor.stdout);
    expect(report).toMatchObject({ project: emulator.projectId, region: 'us-central1' });
    expect(report.checks.find((c: { id: string }) => c.id === 'vertex-api')).toMatchObject({ status: 'pass' });
  });

  test('builders and queue stores are chosen by name through the registries, with errors that say what to do', async () => {
    const h = await home({
      agentConfig: [
        'queues: [default]',
        "builder: { type: '@acme/vertex-launch-nope' }",
        'registry: { uri: us-central1-docker.pkg.dev/p/train/trainer }',
        '',
      ].join('\n'),
    });
    const agent = await runCli(['agent', '--config', h.agentConfig], { env: h.env });
    expect(agent.code).toBe(2);
    expect(agent.stderr).toContain(
      `The builder \`@acme/vertex-launch-nope\` (builder.type in ${h.agentConfig}) needs @acme/vertex-launch-nope, which is not installed.`,
    );
    const build = await runCli(['build', '--source', dir.path, '--builder', 'cloudbiuld'], { env: h.env });
    expect(build.code).toBe(2);
    expect(build.stderr).toContain('--builder cloudbiuld: use docker or cloudbuild (did you mean cloudbuild?)');
    const list = await runCli(['queue', 'list', '--db', 'postgress://vxl:hunter2@127.0.0.1/q'], { env: h.env });
    expect(list.code).toBe(2);
    expect(list.stderr).toContain('--db: unknown store scheme `postgress:` (did you mean `postgres:`?)');
    expect(list.stderr).not.toContain('hunter2');
  });
});
