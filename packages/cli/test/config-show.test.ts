// `vertex-launch config show` as a process: the effective settings with their sources (flags > environment >
// launch-config.yaml > defaults), never a token, and never a Google client library loaded.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { guardedNodeOptions, repoRoot, tempDir } from '../../../test/helpers.js';
import { CLEAN_ENV, runCli } from './run-cli.js';

let dir: { path: string; cleanup: () => Promise<void> };
let env: Record<string, string | undefined>;
let config: string;

const CLEAN = { ...CLEAN_ENV, GOOGLE_APPLICATION_CREDENTIALS: undefined };

beforeAll(async () => {
  dir = await tempDir('vxl-config-show-');
  env = {
    ...CLEAN,
    HOME: dir.path,
    XDG_CONFIG_HOME: join(dir.path, 'cfg'),
    XDG_DATA_HOME: join(dir.path, 'data'),
    CLOUDSDK_CONFIG: join(dir.path, 'gcloud'),
  };
  config = join(dir.path, 'cfg', 'vertex-launch', 'launch-config.yaml');
  await mkdir(join(dir.path, 'cfg', 'vertex-launch'), { recursive: true });
  await writeFile(
    config,
    'queues: [default]\nenvironment: { project: file-proj-1, region: europe-west4 }\nqueue_db: /srv/vxl/queues.db\nauth: { key_file: /keys/sa.json }\nmax_attempts: 50\ncreate_lookup_window: 2\n',
  );
});
afterAll(async () => {
  await dir.cleanup();
});

describe('vertex-launch config show', () => {
  test('values from the config file, with defaults for the rest', async () => {
    const r = await runCli(['config', 'show'], { env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        `project      file-proj-1  (environment.project in ${config})`,
        `region       europe-west4  (environment.region in ${config})`,
        `agent config ${config}  (default under $XDG_CONFIG_HOME)`,
        `queue db     /srv/vxl/queues.db  (queue_db in ${config})`,
        `auth         service-account key /keys/sa.json  (auth.key_file in ${config})`,
        'impersonate  -  (not set)',
        `max attempts 50  (max_attempts in ${config})`,
        `lookup       2s window, every 5s  (create_lookup_window in ${config}, default for the other)`,
        'emulator     -  (not set (Google Cloud))',
        '',
      ].join('\n'),
    );
  });

  test('the environment beats the file and flags beat the environment; tokens are never printed', async () => {
    const token = 'ya29.secret-token-value';
    const r = await runCli(
      ['config', 'show', '--json', '--region', 'us-east1', '--config', join(dir.path, 'none.yaml')],
      {
        env: {
          ...env,
          GOOGLE_CLOUD_PROJECT: 'env-proj-1',
          GOOGLE_CLOUD_REGION: 'us-west1',
          GOOGLE_OAUTH_ACCESS_TOKEN: token,
          VERTEX_LAUNCH_QUEUE_DB: '/tmp/q.db',
          VERTEX_LAUNCH_EMULATOR_HTTP: 'http://127.0.0.1:8123',
          VERTEX_LAUNCH_EMULATOR_GRPC: '127.0.0.1:8124',
          VERTEX_LAUNCH_EMULATOR_CA: '/tmp/ca.pem',
        },
      },
    );
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(token);
    expect(JSON.parse(r.stdout)).toEqual({
      settings: {
        project: { value: 'env-proj-1', source: '$GOOGLE_CLOUD_PROJECT' },
        region: { value: 'us-east1', source: '--region' },
        agentConfig: { value: join(dir.path, 'none.yaml'), source: '--config (does not exist)' },
        queueDb: { value: '/tmp/q.db', source: '$VERTEX_LAUNCH_QUEUE_DB' },
        auth: { value: 'environment (access token, set)', source: '$GOOGLE_OAUTH_ACCESS_TOKEN' },
        impersonate: { value: null, source: 'not set' },
        maxAttempts: { value: '5', source: 'default' },
        createLookup: { value: '5m window, every 5s', source: 'default' },
        emulator: {
          value: 'http://127.0.0.1:8123, gRPC 127.0.0.1:8124',
          source: '$VERTEX_LAUNCH_EMULATOR_HTTP, _GRPC, _CA',
        },
      },
      warnings: [
        `${join(dir.path, 'none.yaml')} does not exist (create it with \`vertex-launch init --config ${join(dir.path, 'none.yaml')}\`)`,
      ],
    });
  });

  test('no config file: the default queue db and the auto chain', async () => {
    const r = await runCli(['config', 'show', '--json'], { env: { ...env, XDG_CONFIG_HOME: join(dir.path, 'empty') } });
    const { settings } = JSON.parse(r.stdout);
    expect(settings.project).toEqual({ value: null, source: 'not set' });
    expect(settings.queueDb).toEqual({
      value: join(dir.path, 'data', 'vertex-launch', 'queues.db'),
      source: 'default',
    });
    expect(settings.auth).toEqual({
      value: 'auto: gcloud ADC, then workload identity (metadata server)',
      source: 'default',
    });
  });

  test('loads no Google client library', async () => {
    const trace = join(dir.path, 'trace.txt');
    await writeFile(trace, '');
    const hook = pathToFileURL(join(repoRoot, 'packages/cli/test/fixtures/trace-google-imports.mjs')).href;
    for (const args of [
      ['config', 'show'],
      ['config', 'show', '--help'],
      ['completion', 'bash'],
      ['doctor', '--help'],
      ['init', '--help'],
    ]) {
      const r = await runCli(args, {
        env: { ...env, TRACE_FILE: trace, NODE_OPTIONS: `${guardedNodeOptions()} --import ${hook}` },
      });
      expect(r.code).toBe(0);
    }
    expect(await readFile(trace, 'utf8')).toBe('');
  });
});
