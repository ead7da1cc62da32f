// `vertex-launch queue import --from-gcloud FILE`: the --config file of `gcloud ai custom-jobs create` (a CustomJobSpec
// in camelCase) becomes a queue config that `queue validate` and `queue create` take, printed or written to a file.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { tempDir } from '../../../test/helpers.js';
import { CLEAN_ENV, runCli } from './run-cli.js';

let dir: { path: string; cleanup: () => Promise<void> };
const file = (name: string) => join(dir.path, name);
const env = () => ({
  ...CLEAN_ENV,
  XDG_CONFIG_HOME: file('config'),
  VERTEX_LAUNCH_QUEUE_DB: file('queues.db'),
  NO_COLOR: '1',
});

const GCLOUD_CONFIG = `# gcloud ai custom-jobs create --region=us-central1 --display-name=train --config=job.yaml
workerPoolSpecs:
  - machineSpec:
      machineType: n1-standard-8
      acceleratorType: NVIDIA_TESLA_T4
      acceleratorCount: 1
    replicaCount: 1
    containerSpec:
      imageUri: us-central1-docker.pkg.dev/my-proj/train/trainer:v3
      args: ["--epochs=5"]
scheduling:
  timeout: 7200s
  strategy: SPOT
serviceAccount: trainer@my-proj.iam.gserviceaccount.com
baseOutputDirectory:
  outputUriPrefix: gs://my-proj-out/runs
enableWebAccess: true
`;

beforeAll(async () => {
  dir = await tempDir('vxl-from-gcloud-');
  await writeFile(file('job.yaml'), GCLOUD_CONFIG);
});
afterAll(async () => {
  await dir.cleanup();
});

describe('vertex-launch queue import --from-gcloud', () => {
  it('prints a snake_case queue config that validates, with notes on stderr; --output writes it for queue create', async () => {
    const r = await runCli(['queue', 'import', '--from-gcloud', file('job.yaml')], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    const config = parse(r.stdout);
    expect(config).toEqual({
      spec: {
        worker_pool_specs: [
          {
            machine_spec: { machine_type: 'n1-standard-8', accelerator_type: 'NVIDIA_TESLA_T4', accelerator_count: 1 },
            replica_count: 1,
            container_spec: { image_uri: '${image_uri}', args: ['--epochs=5'] },
          },
        ],
        staging_bucket: 'gs://my-proj-out',
        base_output_dir: 'gs://my-proj-out/runs',
        service_account: 'trainer@my-proj.iam.gserviceaccount.com',
        enable_web_access: true,
      },
      run: { timeout: '7200s', scheduling_strategy: 'SPOT' },
    });
    expect(r.stderr).toContain(
      'note: the image us-central1-docker.pkg.dev/my-proj/train/trainer:v3 is now ${image_uri}: launch with --image us-central1-docker.pkg.dev/my-proj/train/trainer:v3',
    );
    expect(r.stderr).not.toContain('problem');

    const written = await runCli(
      ['queue', 'import', '--from-gcloud', file('job.yaml'), '--output', file('queue.yaml'), '--display-name', 'train'],
      { env: env() },
    );
    expect(written.code, written.stderr).toBe(0);
    expect(written.stdout).toBe('');
    expect(written.stderr).toContain(`✓ Wrote ${file('queue.yaml')} (from ${file('job.yaml')})`);
    expect(parse(await readFile(file('queue.yaml'), 'utf8')).spec.display_name).toBe('train');
    const validate = await runCli(['queue', 'validate', file('queue.yaml')], { env: env() });
    expect(validate.code, validate.stderr).toBe(0);
    const create = await runCli(['queue', 'create', 'gpu', '--config', file('queue.yaml'), '--json'], { env: env() });
    expect(create.code, create.stderr).toBe(0);
    // Never overwritten.
    const again = await runCli(['queue', 'import', '--from-gcloud', file('job.yaml'), '-o', file('queue.yaml')], {
      env: env(),
    });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`error --output ${file('queue.yaml')} exists; nothing was written.`);
  });

  it('names what it cannot convert: no bucket, an unknown key, a file that is no CustomJobSpec (exit 2)', async () => {
    await writeFile(
      file('bare.yaml'),
      'workerPoolSpecs:\n  - machineSpec: { machineType: n1-standard-4 }\n    containerSpec: { imageUri: "x:1" }\nfancyNewField: 1\n',
    );
    const r = await runCli(['queue', 'import', '--from-gcloud', file('bare.yaml'), '--json'], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    const body = JSON.parse(r.stdout);
    expect(body.config.spec.staging_bucket).toBe('<your-bucket>');
    expect(body.notes).toContain('fancyNewField has no queue config key: left out');
    expect(body.issues).toEqual([expect.objectContaining({ path: 'spec.staging_bucket', severity: 'error' })]);

    await writeFile(file('queue-config.yaml'), 'spec:\n  worker_pool_specs: []\n');
    const notGcloud = await runCli(['queue', 'import', '--from-gcloud', file('queue-config.yaml')], { env: env() });
    expect(notGcloud.code).toBe(2);
    expect(notGcloud.stderr).toContain(
      `error --from-gcloud ${file('queue-config.yaml')}: no \`workerPoolSpecs\` list: a gcloud --config file is a CustomJobSpec`,
    );
    const both = await runCli(['queue', 'import', 'x.jsonl', '--from-gcloud', file('job.yaml')], { env: env() });
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('give an export FILE or --from-gcloud FILE, not both');
    for (const x of [notGcloud, both]) expect(x.stderr).not.toMatch(/\n\s+at /);
  });
});
