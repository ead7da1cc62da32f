import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { tempDir } from '../../../../test/helpers.js';
import { type AuthCredentials, defineAuthStrategy } from '../auth.js';
import { ConfigError } from '../errors.js';
import { emulatorConnectionOf, resolveServiceEndpoints } from './endpoints.js';
import { describeSourced, requireProjectId, requireRegion, resolveRuntime } from './resolve.js';
import { describeSource, fromFlag } from './sources.js';

let dir: { path: string; cleanup: () => Promise<void> };
let agentConfig: string;
let gcloud: string;

beforeAll(async () => {
  dir = await tempDir('vxl-runtime-');
  agentConfig = join(dir.path, 'launch-config.yaml');
  await writeFile(
    agentConfig,
    'queues: [q]\nenvironment: { project: file-proj, region: europe-west4 }\nqueue_db: /srv/q.db\n',
  );
  gcloud = join(dir.path, 'gcloud');
  await mkdir(join(gcloud, 'configurations'), { recursive: true });
  await writeFile(join(gcloud, 'active_config'), 'work\n');
  await writeFile(
    join(gcloud, 'configurations', 'config_work'),
    '[core]\nproject = gcloud-proj\n[ai]\nregion = asia-east1\n',
  );
});
afterAll(() => dir.cleanup());

/** A clean environment: only what a test adds, gcloud's folder in the temp dir, no emulator. */
const env = (extra: Record<string, string> = {}) => ({ CLOUDSDK_CONFIG: gcloud, XDG_DATA_HOME: dir.path, ...extra });

describe('resolveRuntime', () => {
  test('flags > environment > launch-config.yaml > gcloud config, each value with its source', async () => {
    const all = await resolveRuntime({
      projectId: fromFlag('--project', 'flag-proj'),
      agentConfig,
      env: env({ GOOGLE_CLOUD_REGION: 'us-east1', GOOGLE_CLOUD_PROJECT: 'env-proj' }),
    });
    expect(describeSourced(all.projectId)).toBe('flag-proj (from --project)');
    expect(describeSourced(all.region)).toBe('us-east1 (from $GOOGLE_CLOUD_REGION)');

    const fromFile = await resolveRuntime({ agentConfig, env: env() });
    expect(describeSourced(fromFile.projectId)).toBe(`file-proj (from environment.project in ${agentConfig})`);
    expect(describeSourced(fromFile.region)).toBe(`europe-west4 (from environment.region in ${agentConfig})`);
    expect(fromFile.queueDb).toEqual({
      value: '/srv/q.db',
      source: { kind: 'file', file: agentConfig, key: 'queue_db' },
    });

    const fromGcloud = await resolveRuntime({ agentConfig: join(dir.path, 'none.yaml'), env: env() });
    expect(describeSourced(fromGcloud.projectId)).toBe(
      'gcloud-proj (from gcloud config core/project (configuration work))',
    );
    expect(describeSourced(fromGcloud.region)).toBe('asia-east1 (from gcloud config ai/region (configuration work))');
    expect(fromGcloud.agentConfig).toMatchObject({ exists: false, raw: undefined });
    expect(fromGcloud.queueDb).toEqual({
      value: join(dir.path, 'vertex-launch', 'queues.db'),
      source: { kind: 'default' },
    });
  });

  test('one variable list for every command: GCLOUD_PROJECT and CLOUDSDK_AI_REGION count', async () => {
    const runtime = await resolveRuntime({
      agentConfig: false,
      gcloud: false,
      env: { GCLOUD_PROJECT: 'g-proj', CLOUDSDK_AI_REGION: 'us-west1', CLOUDSDK_COMPUTE_REGION: 'us-east4' },
    });
    expect(runtime.projectId).toEqual({ value: 'g-proj', source: { kind: 'env', name: 'GCLOUD_PROJECT' } });
    expect(runtime.region).toEqual({ value: 'us-west1', source: { kind: 'env', name: 'CLOUDSDK_AI_REGION' } });
  });

  test('SDK options are named as options; the credentials fill in last, resolved once through the strategy', async () => {
    let calls = 0;
    const credentials = {
      strategy: 'fake',
      projectId: 'cred-proj',
      region: 'us-central1',
    } as unknown as AuthCredentials;
    const runtime = await resolveRuntime({
      region: 'me-west1',
      agentConfig: false,
      gcloud: false,
      env: {},
      auth: (partial) => {
        // The strategy sees what was found without credentials.
        expect(partial.region?.value).toBe('me-west1');
        return defineAuthStrategy({
          name: 'fake',
          resolve: async () => {
            calls += 1;
            return { credentials };
          },
        });
      },
    });
    expect(calls).toBe(1);
    expect(runtime.credentials).toBe(credentials);
    expect(describeSourced(runtime.region)).toBe('me-west1 (from option `region`)');
    expect(describeSourced(runtime.projectId)).toBe('cred-proj (from the credentials (fake))');
  });

  test('a missing project or region is a ConfigError naming every place looked at', async () => {
    const runtime = await resolveRuntime({ agentConfig: join(dir.path, 'none.yaml'), gcloud: false, env: {} });
    expect(runtime.projectId).toBeUndefined();
    const error = (() => {
      try {
        requireProjectId(runtime);
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('expected a ConfigError');
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(
      `No project: pass --project <id>, set $GOOGLE_CLOUD_PROJECT (or $GCLOUD_PROJECT, $CLOUDSDK_CORE_PROJECT), set environment.project in ${join(dir.path, 'none.yaml')}, or run \`gcloud config set project <id>\`.`,
    );
    expect(() => requireRegion(runtime)).toThrow('run `gcloud config set ai/region <region>`');
  });

  test('an unreadable agent config is a warning, not a failure; a given agent config content is used as is', async () => {
    const broken = join(dir.path, 'broken.yaml');
    await writeFile(broken, 'queues: [a\n');
    const runtime = await resolveRuntime({ agentConfig: broken, gcloud: false, env: {} });
    expect(runtime.agentConfig).toMatchObject({ path: broken, exists: true, raw: undefined });
    expect(runtime.warnings).toEqual([expect.stringMatching(new RegExp(`^${broken} could not be read: `))]);
    const given = await resolveRuntime({
      agentConfig: broken,
      agentConfigContent: { environment: { project: 'given-proj' } },
      gcloud: false,
      env: {},
    });
    expect(given.projectId?.value).toBe('given-proj');
  });
});

describe('resolveServiceEndpoints', () => {
  test('Google by default, GCE_METADATA_HOST moves only the metadata server', () => {
    const google = resolveServiceEndpoints({});
    expect(google).toMatchObject({
      origin: 'google',
      storageUrl: 'https://storage.googleapis.com',
      loggingUrl: 'https://logging.googleapis.com',
      metadataHost: '169.254.169.254',
      emulator: undefined,
    });
    expect(describeSource(google.source)).toBe('default');
    expect(resolveServiceEndpoints({ GCE_METADATA_HOST: '127.0.0.1:9' })).toMatchObject({
      origin: 'google',
      metadataHost: '127.0.0.1:9',
      metadataHostExplicit: true,
    });
  });

  test("the emulator's variables move every API; an incomplete set fails only the gRPC clients", () => {
    const full = resolveServiceEndpoints({
      VERTEX_LAUNCH_EMULATOR_HTTP: 'http://127.0.0.1:8123/',
      VERTEX_LAUNCH_EMULATOR_GRPC: '127.0.0.1:8124',
      VERTEX_LAUNCH_EMULATOR_CA: '/tmp/ca.pem',
    });
    expect(full).toMatchObject({
      origin: 'emulator',
      storageUrl: 'http://127.0.0.1:8123',
      oauth2TokenUrl: 'http://127.0.0.1:8123/token',
      metadataHost: '127.0.0.1:8123',
    });
    expect(describeSource(full.source)).toBe('$VERTEX_LAUNCH_EMULATOR_HTTP, _GRPC, _CA');
    expect(emulatorConnectionOf(full)).toMatchObject({ grpcHost: '127.0.0.1', grpcPort: 8124, caFile: '/tmp/ca.pem' });

    const httpOnly = resolveServiceEndpoints({ VERTEX_LAUNCH_EMULATOR_HTTP: 'http://127.0.0.1:8123' });
    expect(httpOnly.iamUrl).toBe('http://127.0.0.1:8123');
    expect(() => emulatorConnectionOf(httpOnly)).toThrow('VERTEX_LAUNCH_EMULATOR_GRPC is not set');
    expect(() => resolveServiceEndpoints({ VERTEX_LAUNCH_EMULATOR_HTTP: 'not a url' })).toThrow(
      'VERTEX_LAUNCH_EMULATOR_HTTP="not a url" is not a URL',
    );
  });
});
