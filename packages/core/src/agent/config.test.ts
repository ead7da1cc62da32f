import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatConfigIssues } from '../config/validate.js';
import { ConfigError } from '../errors.js';
import { agentConfigIssues, defaultAgentConfigPath, loadAgentConfig, parseAgentConfig } from './config.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vxl-agent-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('agent config', () => {
  it('applies the defaults and resolves durations to seconds', () => {
    expect(parseAgentConfig({ queues: ['gpu'] })).toEqual({
      max_jobs: 1,
      queues: ['gpu'],
      environment: {},
      builder: { type: 'noop' },
      auth: {},
      allowed_env: [],
      quotas: { creates_per_minute: 60, reads_per_minute: 600 },
      start_timeout: 1800,
      poll_interval: 5,
      create_lookup_window: 300,
      create_lookup_interval: 5,
      lease_duration: 60,
      max_attempts: 5,
    });
    const full = parseAgentConfig({
      max_jobs: -1,
      queues: ['a', 'b'],
      environment: { project: 'my-project', region: 'europe-west4' },
      builder: { type: 'docker' },
      registry: { uri: 'europe-docker.pkg.dev/my-project/train/trainer' },
      auth: { key_file: '/keys/sa.json', impersonate_service_account: 'trainer@my-project.iam.gserviceaccount.com' },
      queue_db: '/var/lib/vxl/queues.db',
      start_timeout: '1h30m',
      poll_interval: 0.5,
      lease_duration: '2m',
    });
    expect(full).toMatchObject({ max_jobs: -1, start_timeout: 5400, poll_interval: 0.5, lease_duration: 120 });
    expect(full.registry?.uri).toBe('europe-docker.pkg.dev/my-project/train/trainer');
  });

  it('lists every problem with its key and a fix, suggesting snake_case for camelCase keys', () => {
    const issues = agentConfigIssues({
      maxJobs: 2,
      queues: [],
      environment: { project: 'My Project', zone: 'x' },
      start_timeout: 'soon',
      builder: { type: 'kaniko' },
      project: 'p',
    });
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i.message]));
    expect(byPath.maxJobs).toBe('unknown key; did you mean `max_jobs`?');
    expect(byPath.project).toBe('unknown key; put the project under `environment: { project: ... }`');
    expect(byPath['environment.zone']).toBe('unknown key; known keys: project, region');
    expect(byPath.queues).toBe('list at least one queue, e.g. `queues: [default]`');
    expect(byPath['environment.project']).toBe('not a GCP project id, e.g. `my-project-123`');
    expect(byPath.start_timeout).toContain('`soon` is not a duration');
    expect(byPath['builder.type']).toBe(
      'expected one of `docker`, `cloudbuild`, `noop` or a builder package (`@scope/name`, `vertex-launch-builder-<name>`)',
    );
  });

  it('a malformed environment.region gets a did-you-mean; a well-formed unknown one is left to the API', () => {
    const byPath = (region: string) =>
      Object.fromEntries(agentConfigIssues({ queues: ['q'], environment: { region } }).map((i) => [i.path, i.message]));
    expect(byPath('US-CENTRAL1')['environment.region']).toBe(
      '`US-CENTRAL1` is not a region name: regions are lowercase, like us-central1. Did you mean `us-central1`?',
    );
    expect(byPath('us-centrl1')).toEqual({});
  });

  it('requires queues, max_jobs of at least 1 or -1, and a registry for docker builds', () => {
    const paths = (raw: unknown) => agentConfigIssues(raw).map((i) => `${i.path}: ${i.message}`);
    expect(paths({})).toEqual(['queues: is required: list the queues to drain, e.g. `queues: [default]`']);
    expect(paths({ queues: ['q'], max_jobs: 0 })).toEqual(['max_jobs: must be at least 1, or -1 for no limit']);
    expect(paths({ queues: ['q'], max_jobs: 1.5 })).toEqual(['max_jobs: must be a whole number']);
    expect(paths({ queues: ['q'], builder: { type: 'docker' }, max_jobs: 0 })).toEqual([
      'registry: required with `builder.type: docker`: add `registry: { uri: us-docker.pkg.dev/<project>/<repo>/<image> }`',
      'max_jobs: must be at least 1, or -1 for no limit',
    ]);
    expect(paths({ queues: ['Bad Name'] })[0]).toMatch(/^queues\[0\]: not a queue name/);
    expect(paths([1])).toEqual([': the agent config must be a mapping of keys (max_jobs, queues, ...)']);
  });

  it('max_attempts is a whole number from 1 to 1000; create_lookup_interval a duration from 0.05s to 5m', () => {
    const paths = (raw: unknown) => agentConfigIssues(raw).map((i) => `${i.path}: ${i.message}`);
    expect(parseAgentConfig({ queues: ['q'], max_attempts: 50, create_lookup_interval: 0.2 })).toMatchObject({
      max_attempts: 50,
      create_lookup_interval: 0.2,
    });
    expect(parseAgentConfig({ queues: ['q'], max_attempts: 1000 }).max_attempts).toBe(1000);
    expect(paths({ queues: ['q'], max_attempts: 0 })).toEqual(['max_attempts: must be at least 1']);
    expect(paths({ queues: ['q'], max_attempts: 1001 })).toEqual(['max_attempts: must be at most 1000']);
    expect(paths({ queues: ['q'], max_attempts: 2.5 })).toEqual(['max_attempts: must be a whole number']);
    expect(paths({ queues: ['q'], max_attempts: '5' })).toEqual(['max_attempts: expected number, got string']);
    expect(paths({ queues: ['q'], maxAttempts: 5 })).toEqual([
      'maxAttempts: unknown key; did you mean `max_attempts`?',
    ]);
    expect(paths({ queues: ['q'], create_lookup_interval: '10m' })).toEqual([
      'create_lookup_interval: `10m` (600 s) is out of range: use 0.05s to 5m (300 s)',
    ]);
  });

  it('loadAgentConfig names the file in errors: missing file, bad YAML, invalid keys', async () => {
    const missing = join(dir, 'nope.yaml');
    const e1 = await loadAgentConfig(missing).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(ConfigError);
    expect((e1 as ConfigError).message).toBe(`Agent config file ${missing} does not exist.`);
    expect((e1 as ConfigError).file).toBe(missing);
    expect((e1 as ConfigError).hint).toContain('queues: [<queue>]');

    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'queues: [a\nmax_jobs: 2\n');
    const e2 = (await loadAgentConfig(bad).catch((e: unknown) => e)) as ConfigError;
    expect(e2.message).toContain(`${bad}:`);

    const invalid = join(dir, 'invalid.yaml');
    await writeFile(invalid, 'queues: [gpu]\nmaxJobs: 2\npoll_interval: fast\n');
    await chmod(invalid, 0o600);
    const e3 = (await loadAgentConfig(invalid).catch((e: unknown) => e)) as ConfigError;
    expect(e3).toBeInstanceOf(ConfigError);
    expect(e3.file).toBe(invalid);
    expect(e3.message).toBe(`Invalid agent config ${invalid} (2 problems).`);
    expect(formatConfigIssues(e3.issues, e3.file)).toContain(
      `${invalid}: maxJobs: unknown key; did you mean \`max_jobs\`?`,
    );
    expect(formatConfigIssues(e3.issues, e3.file)).toContain(`${invalid}: poll_interval: \`fast\` is not a duration`);
    expect(e3.issues.map((i) => i.path)).toEqual(['poll_interval', 'maxJobs']);

    const good = join(dir, 'good.yaml');
    await writeFile(good, 'queues: [gpu, cpu]\nmax_jobs: 2\nstart_timeout: 10m\n');
    expect(await loadAgentConfig(good)).toMatchObject({ queues: ['gpu', 'cpu'], max_jobs: 2, start_timeout: 600 });
  });

  it('finds the default path under XDG_CONFIG_HOME, else ~/.config', () => {
    expect(defaultAgentConfigPath({ XDG_CONFIG_HOME: '/cfg' }, '/home/u')).toBe(
      '/cfg/vertex-launch/launch-config.yaml',
    );
    expect(defaultAgentConfigPath({ XDG_CONFIG_HOME: 'relative' }, '/home/u')).toBe(
      '/home/u/.config/vertex-launch/launch-config.yaml',
    );
    expect(defaultAgentConfigPath({}, '/home/u')).toBe('/home/u/.config/vertex-launch/launch-config.yaml');
  });
});
