// `vertex-launch queue create|list|show|update|delete|items|cancel` and `launch --queue`, the built CLI as a process
// on a temp SQLite file (no emulator needed: nothing is submitted).
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/helpers.js';
import { runCli } from './run-cli.js';

let dir: { path: string; cleanup: () => Promise<void> };
let env: Record<string, string>;
const file = (name: string) => join(dir.path, name);

beforeAll(async () => {
  dir = await tempDir('vxl-cli-queue-');
  env = { VERTEX_LAUNCH_QUEUE_DB: file('queues.db'), XDG_CONFIG_HOME: file('config'), NO_COLOR: '1' };
});
afterAll(async () => {
  await dir?.cleanup();
});

describe('vertex-launch queue', () => {
  it('create refuses the default config until staging_bucket is set, naming the fix; --print-default starts a file', async () => {
    const refused = await runCli(['queue', 'create', 'gpu'], { env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('Cannot create queue `gpu`: 1 problem; nothing was saved.');
    expect(refused.stderr).toContain(
      'the default queue config: spec.staging_bucket: still holds the placeholder `<REQUIRED>`',
    );
    expect(refused.stderr).toContain(
      'hint Write the default config to a file with `vertex-launch queue create gpu --print-default > gpu.yaml`',
    );

    const printed = await runCli(['queue', 'create', 'gpu', '--print-default'], { env });
    expect(printed.code).toBe(0);
    expect(printed.stdout).toContain('machine_type: n1-standard-4');
    expect(printed.stdout).toContain('image_uri: ${image_uri}');
    expect(printed.stdout).toContain('staging_bucket: <REQUIRED>');
    await writeFile(
      file('gpu.yaml'),
      printed.stdout.replace('staging_bucket: <REQUIRED>', 'staging_bucket: gs://vxl-bucket'),
    );
    await writeFile(file('broken.yaml'), printed.stdout.replace('replica_count: 1', 'replica_count: one'));

    const bad = await runCli(
      ['queue', 'create', 'gpu', '--queue-config', file('broken.yaml'), '--region', 'mars', '--json'],
      { env },
    );
    expect(bad.code).toBe(2);
    // The error as JSON on stdout (for scripts), and for people on stderr.
    expect(bad.stderr).toContain('error Cannot create queue `gpu`');
    const body = JSON.parse(bad.stdout);
    const paths = body.error.issues.map((i: { path: string }) => i.path);
    expect(paths).toContain('--region');
    expect(paths).toContain(`${file('broken.yaml')}: spec.staging_bucket`);
    expect(paths.some((p: string) => p === `${file('broken.yaml')}: spec.worker_pool_specs[0].replica_count`)).toBe(
      true,
    );

    const created = await runCli(
      [
        'queue',
        'create',
        'gpu',
        '--queue-config',
        file('gpu.yaml'),
        '--project',
        'my-proj-1',
        '--region',
        'us-central1',
        '--json',
      ],
      { env },
    );
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({
      name: 'gpu',
      project: 'my-proj-1',
      region: 'us-central1',
      config: { spec: { staging_bucket: 'gs://vxl-bucket' } },
    });
    expect((await stat(file('queues.db'))).mode & 0o777).toBe(0o600);
    const again = await runCli(['queue', 'create', 'gpu', '--queue-config', file('gpu.yaml')], { env });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('Queue `gpu` already exists.');
  });

  it('launch --queue validates against the queue before enqueueing, then items/show/list/cancel/update/delete', async () => {
    await writeFile(
      file('vars.yaml'),
      [
        'template_variables:',
        '  lr: { type: number, minimum: 0, maximum: 1 }',
        'allowed_overrides: [run.timeout]',
        'spec:',
        '  worker_pool_specs:',
        '    - machine_spec: { machine_type: n1-standard-4 }',
        '      container_spec: { image_uri: "${image_uri}", args: ["--lr={{lr}}"] }',
        '  staging_bucket: gs://vxl-bucket',
      ].join('\n'),
    );
    expect((await runCli(['queue', 'create', 'cpu', '--queue-config', file('vars.yaml')], { env })).code).toBe(0);

    const missingVar = await runCli(['launch', '--queue', 'cpu', '--image', 'img:1'], { env });
    expect(missingVar.code).toBe(2);
    expect(missingVar.stderr).toContain('Cannot enqueue to queue `cpu`: the launch does not resolve');
    expect(missingVar.stderr).toContain('variable `lr` has no default and no launch value');
    const badOverride = await runCli(
      [
        'launch',
        '--queue',
        'cpu',
        '--image',
        'img:1',
        '--set-var',
        'lr=0.1',
        '--override',
        '{"spec":{"staging_bucket":"gs://x"}}',
      ],
      { env },
    );
    expect(badOverride.code).toBe(2);
    expect(badOverride.stderr).toContain('does not allow overriding `spec.staging_bucket`');
    const both = await runCli(['launch', '--queue', 'cpu', '--queue-config', file('vars.yaml'), '--image', 'x'], {
      env,
    });
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--queue and --queue-config are exclusive');
    const neither = await runCli(['launch', '--queue', 'cpu'], { env });
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain('give --image URI (a ready image) or --source DIR');
    expect((await runCli(['queue', 'items', 'cpu', '--json'], { env })).stdout).toContain('"items": []');

    const ok = await runCli(
      ['launch', '--queue', 'cpu', '--image', 'img:1', '--set-var', 'lr=0.1', '--run-id', 'exp-1', '--json'],
      { env },
    );
    expect(ok.code).toBe(0);
    const item = JSON.parse(ok.stdout);
    expect(item).toMatchObject({
      queue: 'cpu',
      runId: 'exp-1',
      state: 'queued',
      request: { image: 'img:1', variables: { lr: '0.1' }, runId: 'exp-1' },
    });
    const plain = await runCli(['launch', '--queue', 'cpu', '--source', dir.path, '--set-var', 'lr=0.2'], { env });
    expect(plain.code).toBe(0);
    const sourceId = plain.stdout.trim();
    expect(sourceId).toMatch(/^[0-9a-f-]{36}$/);

    const items = await runCli(['queue', 'items', 'cpu'], { env });
    expect(items.stdout.split('\n')[0]).toMatch(/^ITEM\s+RUN\s+STATE\s+ATTEMPT\s+PHASE\s+JOB STATUS\s+JOB\s+ERROR$/);
    expect(items.stdout).toContain(item.id);
    expect(items.stdout).toMatch(new RegExp(`${item.id}\\s+exp-1\\s+queued\\s+1\\s+-\\s+-\\s+-`));

    const shown = await runCli(['queue', 'show', 'cpu'], { env });
    expect(shown.stdout).toContain('variables:   lr (--set-var name=value)');
    expect(shown.stdout).toContain('overrides:   run.timeout (--override)');
    expect(shown.stdout).toContain('items:       2 queued, 0 active, 0 finished');

    const cancelled = await runCli(['queue', 'cancel', item.id, '--json'], { env });
    expect(JSON.parse(cancelled.stdout)).toMatchObject({ id: item.id, state: 'cancelled', jobStatus: null });
    expect(JSON.parse(cancelled.stdout)).not.toHaveProperty('outcome');

    // One state per item, and --state takes exactly those values (finished: the three ends).
    const states = async (...args: string[]) => {
      const r = await runCli(['queue', 'items', 'cpu', ...args], { env });
      expect(r.code, r.stderr).toBe(0);
      return r.stdout;
    };
    const all = JSON.parse(await states('--json')).items as { id: string; state: string; runId: string }[];
    expect(all.map((i) => [i.id, i.state]).sort()).toEqual(
      [
        [item.id, 'cancelled'],
        [sourceId, 'queued'],
      ].sort(),
    );
    expect(await states('--state', 'cancelled', '--format', 'value(id,state)')).toBe(`${item.id}\tcancelled\n`);
    expect(await states('--state', 'finished', '--format', 'value(id)')).toBe(`${item.id}\n`);
    expect(await states('--state', 'succeeded', '--state', 'failed', '--format', 'value(id)')).toBe('');
    expect((await states('--state', 'queued,cancelled', '--format', 'value(id)')).trim().split('\n').sort()).toEqual(
      [item.id, sourceId].sort(),
    );
    expect(await states('--filter', 'runId=exp-1 state=cancelled', '--format', 'value(runId)')).toBe('exp-1\n');
    expect(await states('--filter', 'request.variables.lr=0.2', '--format', 'value(id)')).toBe(`${sourceId}\n`);
    expect(await states('--sort-by', '~state', '--format', 'value(state)')).toBe('queued\ncancelled\n');
    expect(await states('--format', 'yaml', '--state', 'cancelled')).toContain(
      `queue: cpu\nitems:\n  - id: ${item.id}\n`,
    );
    const table = await states('--state', 'cancelled');
    expect(table).toMatch(new RegExp(`${item.id}\\s+exp-1\\s+cancelled\\s+`));
    const none = await runCli(['queue', 'items', 'cpu', '--state', 'failed'], { env });
    expect(none.stderr).toBe('No items in queue cpu match --state failed.\n');
    const badState = await runCli(['queue', 'items', 'cpu', '--state', 'done', '--json'], { env });
    expect(badState.code).toBe(2);
    expect(badState.stderr).toContain(
      '--state done: not an item state; use queued, claimed, succeeded, failed, cancelled or finished',
    );
    expect(JSON.parse(badState.stdout).error.code).toBe('USAGE');
    const badField = await runCli(['queue', 'items', 'cpu', '--filter', 'status=running'], { env });
    expect(badField.code).toBe(2);
    expect(badField.stderr).toContain('queue items has no field `status`');
    expect(badField.stderr).toContain('jobStatus');
    const queues = await runCli(
      ['queue', 'list', '--filter', 'items.queued>=1', '--format', 'table(name,items.queued,items.finished)'],
      { env },
    );
    expect(queues.stdout).toBe('NAME  ITEMS.QUEUED  ITEMS.FINISHED\ncpu   1             1\n');

    const listed = JSON.parse((await runCli(['queue', 'list', '--json'], { env })).stdout);
    expect(listed.queues.map((q: { name: string; items: object }) => [q.name, q.items])).toEqual([
      ['cpu', { queued: 1, claimed: 0, finished: 1 }],
      ['gpu', { queued: 0, claimed: 0, finished: 0 }],
    ]);

    const updated = await runCli(['queue', 'update', 'cpu', '--region', 'europe-west4', '--json'], { env });
    expect(JSON.parse(updated.stdout)).toMatchObject({ name: 'cpu', region: 'europe-west4' });

    const refused = await runCli(['queue', 'delete', 'cpu'], { env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('Queue `cpu` has 1 unfinished item');
    const forced = await runCli(['queue', 'delete', 'cpu', '--force', '--json'], { env });
    expect(JSON.parse(forced.stdout)).toEqual({ deleted: 'cpu', failedItems: 1 });
    const gone = await runCli(['queue', 'items', 'cpu'], { env });
    expect(gone.code).toBe(2);
    expect(gone.stderr).toContain('Queue `cpu` does not exist.');
  }, 180_000);

  it('--db wins over VERTEX_LAUNCH_QUEUE_DB, which wins over queue_db of the agent config', async () => {
    await writeFile(file('agent.yaml'), `queues: [x]\nqueue_db: ${file('from-config.db')}\n`);
    await writeFile(
      file('x.yaml'),
      'spec:\n  worker_pool_specs: [{ machine_spec: { machine_type: n1-standard-4 }, container_spec: { image_uri: "${image_uri}" } }]\n  staging_bucket: gs://vxl-b\n',
    );
    const noEnv = { ...env, VERTEX_LAUNCH_QUEUE_DB: undefined };
    await runCli(['queue', 'create', 'x', '--queue-config', file('x.yaml'), '--agent-config', file('agent.yaml')], {
      env: noEnv,
    });
    await runCli(['queue', 'create', 'y', '--queue-config', file('x.yaml'), '--db', file('flag.db')], { env });
    const names = async (args: string[], e: Record<string, string | undefined>) =>
      JSON.parse((await runCli(['queue', 'list', '--json', ...args], { env: e })).stdout).queues.map(
        (q: { name: string }) => q.name,
      );
    expect(await names(['--agent-config', file('agent.yaml')], noEnv)).toEqual(['x']);
    expect(await names(['--db', file('flag.db'), '--agent-config', file('agent.yaml')], env)).toEqual(['y']);
    expect(await names(['--agent-config', file('agent.yaml')], env)).toEqual(['gpu']);
  });
});
