// `vertex-launch init` as a process: flags or answers on stdin -> an owner-only launch-config.yaml that validates
// against the agent config schema and a first queue in the queue database; never overwriting without --force.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { loadAgentConfig } from '@vertex-launch/core/agent';
import { sqliteQueueStore } from '@vertex-launch/queue-sqlite';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { tempDir } from '../../../test/helpers.js';
import { runCli } from './run-cli.js';

let dir: { path: string; cleanup: () => Promise<void> };
let n = 0;

beforeAll(async () => {
  dir = await tempDir('vxl-init-');
});
afterAll(async () => {
  await dir.cleanup();
});

/** An isolated home: config and data directories inside the temp dir, no project or region in the environment. */
function home() {
  const h = join(dir.path, `home-${++n}`);
  const env = {
    HOME: h,
    XDG_CONFIG_HOME: join(h, '.config'),
    XDG_DATA_HOME: join(h, '.local', 'share'),
    CLOUDSDK_CONFIG: join(h, 'gcloud'),
    GOOGLE_CLOUD_PROJECT: undefined,
    GCLOUD_PROJECT: undefined,
    GOOGLE_CLOUD_REGION: undefined,
    VERTEX_LAUNCH_QUEUE_DB: undefined,
  };
  return {
    env,
    config: join(h, '.config', 'vertex-launch', 'launch-config.yaml'),
    db: join(h, '.local', 'share', 'vertex-launch', 'queues.db'),
  };
}

async function queueOf(db: string, name: string) {
  const store = sqliteQueueStore({ path: db });
  try {
    return await store.getQueue(name);
  } finally {
    await store.close();
  }
}

const FLAGS = ['--project', 'my-proj-123', '--region', 'us-central1', '--staging-bucket', 'my-bucket'];

describe('vertex-launch init', () => {
  test('without a terminal and without the required flags: exit 2 naming them, nothing written', async () => {
    const h = home();
    const r = await runCli(['init', '--region', 'us-central1'], { env: h.env });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(
      'error Missing --project, --staging-bucket: stdin is not a terminal, so init cannot ask. Pass --project ... --staging-bucket ... (or run it in a terminal).',
    );
    await expect(stat(h.config)).rejects.toThrow(/ENOENT/);
  });

  test('a bad flag value names the flag and the expected form', async () => {
    const h = home();
    const r = await runCli(['init', ...FLAGS, '--service-account', 'trainer'], { env: h.env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'error --service-account "trainer": not a service account email (name@project.iam.gserviceaccount.com).',
    );
  });

  test('flags: an owner-only agent config that validates, and the first queue from the seed config', async () => {
    const h = home();
    const r = await runCli(
      [
        ...['init', ...FLAGS],
        '--repository',
        'train',
        '--service-account',
        'trainer@my-proj-123.iam.gserviceaccount.com',
      ],
      { env: h.env },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      `✓ Wrote ${h.config}\n✓ Created queue default in ${h.db} (staging bucket gs://my-bucket, my-proj-123/us-central1)\nNext: vertex-launch doctor   (checks the bucket, repository and permissions)\n`,
    );
    expect((await stat(h.config)).mode & 0o777).toBe(0o600);
    expect((await stat(h.db)).mode & 0o777).toBe(0o600);
    const text = await readFile(h.config, 'utf8');
    expect(text).toMatch(/^# Vertex Launch agent config, written by `vertex-launch init`/);
    const agent = await loadAgentConfig(h.config);
    expect(agent).toMatchObject({
      queues: ['default'],
      max_jobs: 1,
      environment: { project: 'my-proj-123', region: 'us-central1' },
      builder: { type: 'docker' },
      registry: { uri: 'us-central1-docker.pkg.dev/my-proj-123/train/trainer' },
    });
    const queue = await queueOf(h.db, 'default');
    expect(queue).toMatchObject({ name: 'default', project: 'my-proj-123', region: 'us-central1' });
    expect(queue?.config).toEqual({
      spec: {
        worker_pool_specs: [
          {
            machine_spec: {
              machine_type: 'n1-standard-4',
              accelerator_type: 'ACCELERATOR_TYPE_UNSPECIFIED',
              accelerator_count: 0,
            },
            replica_count: 1,
            container_spec: { image_uri: '${image_uri}' },
          },
        ],
        staging_bucket: 'gs://my-bucket',
        service_account: 'trainer@my-proj-123.iam.gserviceaccount.com',
      },
      run: { restart_job_on_worker_restart: false },
    });
  });

  test('never overwrites without --force (and says so); --force replaces both', async () => {
    const h = home();
    expect((await runCli(['init', ...FLAGS], { env: h.env })).code).toBe(0);
    const before = await readFile(h.config, 'utf8');
    const again = await runCli(['init', ...FLAGS.slice(0, 4), '--staging-bucket', 'gs://other-bucket'], { env: h.env });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(
      `error ${h.config} exists and queue \`default\` exists in ${h.db}; nothing was changed. Pass --force to overwrite them, or --config PATH / --queue NAME to write new ones.`,
    );
    expect(await readFile(h.config, 'utf8')).toBe(before);
    expect((await queueOf(h.db, 'default'))?.config).toMatchObject({ spec: { staging_bucket: 'gs://my-bucket' } });

    const forced = await runCli(
      ['init', ...FLAGS.slice(0, 4), '--staging-bucket', 'gs://other-bucket', '--force', '--json'],
      { env: h.env },
    );
    expect(forced.code).toBe(0);
    expect(JSON.parse(forced.stdout)).toMatchObject({
      config: h.config,
      queueDb: h.db,
      queue: 'default',
      overwritten: { config: true, queue: true },
      agentConfig: { builder: { type: 'noop' } },
    });
    expect((await queueOf(h.db, 'default'))?.config).toMatchObject({ spec: { staging_bucket: 'gs://other-bucket' } });
  });

  test('on a terminal (--interactive), the flags that answer every required value leave nothing to ask', async () => {
    const h = home();
    const r = await runCli(['init', '--interactive', ...FLAGS], { env: h.env, input: '' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(`✓ Wrote ${h.config}`);
    const agent = await loadAgentConfig(h.config);
    expect(agent).toMatchObject({ environment: { project: 'my-proj-123', region: 'us-central1' } });
  });

  test('--interactive asks only what no flag answered', async () => {
    const h = home();
    const r = await runCli(['init', '--interactive', '--project', 'my-proj-123', '--repository', 'train'], {
      env: h.env,
      input: 'us-central1\ngs://my-bucket\n\n',
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe(
      [
        'Vertex AI region of the jobs: ',
        'Staging bucket, in the same region (gs://...): ',
        'Service account the jobs run as (empty: the Vertex AI Custom Code Service Agent): ',
      ].join(''),
    );
    expect((await queueOf(h.db, 'default'))?.config).toMatchObject({ spec: { staging_bucket: 'gs://my-bucket' } });
  });

  test('--interactive asks each question on stderr and takes the answers from stdin, with defaults', async () => {
    const h = home();
    const r = await runCli(
      ['init', '--interactive', '--queue', 'gpu-t4', '--config', join(dir.path, `cfg-${n}.yaml`)],
      {
        env: { ...h.env, GOOGLE_CLOUD_REGION: 'europe-west4' },
        input: 'my-proj-123\n\nnot a bucket!\ngs://eu-bucket\neurope-west4-docker.pkg.dev/my-proj-123/imgs\n\n',
      },
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(
      [
        'Google Cloud project id: ',
        'Vertex AI region of the jobs [europe-west4]: ',
        'Staging bucket, in the same region (gs://...): ',
        '  not a bucket, e.g. gs://my-bucket\n',
        'Staging bucket, in the same region (gs://...): ',
        'Artifact Registry Docker repository for built images (id or <region>-docker.pkg.dev/<project>/<repo>; empty: none): ',
        'Service account the jobs run as (empty: the Vertex AI Custom Code Service Agent): ',
      ].join(''),
    );
    const agent = await loadAgentConfig(join(dir.path, `cfg-${n}.yaml`));
    expect(agent).toMatchObject({
      queues: ['gpu-t4'],
      environment: { project: 'my-proj-123', region: 'europe-west4' },
      registry: { uri: 'europe-west4-docker.pkg.dev/my-proj-123/imgs/trainer' },
    });
    const queue = await queueOf(h.db, 'gpu-t4');
    expect(queue?.config).toMatchObject({ spec: { staging_bucket: 'gs://eu-bucket' } });
    expect(queue?.config).not.toHaveProperty(['spec', 'service_account']);
  });
});
