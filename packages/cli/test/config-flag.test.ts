// `--config` names the agent config (launch-config.yaml) in every command; queue configs are `--queue-config`.
// `queue create|update --config FILE`, the old spelling, still works with a deprecation warning.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/helpers.js';
import { commandTree } from '../src/commands/completion.js';
import { createProgram } from '../src/main.js';
import type { Io } from '../src/output.js';
import { CLEAN_ENV, runCli } from './run-cli.js';

let dir: { path: string; cleanup: () => Promise<void> };
let queueFile: string;
let db: string;

beforeAll(async () => {
  dir = await tempDir('vxl-cli-config-flag-');
  queueFile = join(dir.path, 'queue.yaml');
  db = join(dir.path, 'queues.db');
  await writeFile(
    queueFile,
    'spec:\n  worker_pool_specs:\n    - machine_spec: { machine_type: n1-standard-4 }\n      replica_count: 1\n      container_spec: { image_uri: "${image_uri}" }\n  staging_bucket: gs://vxl-config-flag\n',
  );
});
afterAll(async () => {
  await dir?.cleanup();
});

describe('--config and --queue-config', () => {
  it('every visible --config is the agent config; queue configs are --queue-config', () => {
    const silent: Io = { stdout: () => {}, stderr: () => {}, isTTY: false, color: false };
    const tree = commandTree(createProgram(silent, () => {}));
    const withConfig = tree.filter((n) => n.options.some((o) => o.flags.includes('--config')));
    expect(withConfig.map((n) => n.path.join(' ')).sort()).toEqual(['agent', 'config show', 'doctor', 'init', 'setup']);
    for (const node of withConfig) {
      const option = node.options.find((o) => o.flags.includes('--config'));
      expect(option?.description).toMatch(/agent config/);
    }
    for (const path of ['launch', 'doctor', 'queue create', 'queue update']) {
      expect(tree.find((n) => n.path.join(' ') === path)?.options.some((o) => o.flags.includes('--queue-config'))).toBe(
        true,
      );
    }
  });

  it('queue create --queue-config: no warning; the old --config still works and says what to use', async () => {
    const created = await runCli(['queue', 'create', 'new', '--queue-config', queueFile, '--db', db], {
      env: { ...CLEAN_ENV },
    });
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const old = await runCli(['queue', 'create', 'old', '--config', queueFile, '--db', db], { env: { ...CLEAN_ENV } });
    expect(old.code).toBe(0);
    expect(old.stdout).toContain('Created queue old');
    expect(old.stderr).toContain(`warning queue create --config is deprecated: use --queue-config ${queueFile}`);
    const update = await runCli(['queue', 'update', 'old', '--config', queueFile, '--db', db], {
      env: { ...CLEAN_ENV },
    });
    expect(update.code).toBe(0);
    expect(update.stderr).toContain('warning queue update --config is deprecated');
    const both = await runCli(
      ['queue', 'update', 'old', '--config', queueFile, '--queue-config', queueFile, '--db', db],
      {
        env: { ...CLEAN_ENV },
      },
    );
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('pass the queue config once, with --queue-config FILE');
  });
});
