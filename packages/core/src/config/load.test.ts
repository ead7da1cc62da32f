import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ConfigError } from '../errors.js';
import { loadConfigFile, parseConfigText } from './load.js';

async function caught(fn: () => unknown): Promise<ConfigError> {
  try {
    await fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('parseConfigText', () => {
  test('parses YAML and JSON (JSON is YAML), YAML 1.2 booleans, a BOM', () => {
    expect(parseConfigText('spec:\n  staging_bucket: b\nrun: {sync: no}\n')).toEqual({
      spec: { staging_bucket: 'b' },
      run: { sync: 'no' },
    });
    expect(parseConfigText('\uFEFF{"spec": {"worker_pool_specs": [{}]}, "run": {"sync": true}}')).toEqual({
      spec: { worker_pool_specs: [{}] },
      run: { sync: true },
    });
  });

  test('syntax errors name the file and line:col; unquoted macros in flow lists get a hint', async () => {
    const error = await caught(() => parseConfigText('spec:\n  args: [--run, ${run_id}]\n', 'queue.yaml'));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.file).toBe('queue.yaml');
    expect(error.message).toMatch(/^queue\.yaml:2:\d+: invalid YAML\/JSON: /);
    expect(error.hint).toContain('Quote values that hold `${macro}`');
    const duplicate = await caught(() => parseConfigText('spec: {}\nspec: {}\n', 'q.yaml'));
    expect(duplicate.message).toBe('q.yaml:2:1: invalid YAML/JSON: Map keys must be unique');
    expect(duplicate.issues).toEqual([{ path: '', message: 'line 2:1: Map keys must be unique', severity: 'error' }]);
  });

  test('refuses binary text', async () => {
    const error = await caught(() => parseConfigText('spec:\u0000\u0001', 'model.bin'));
    expect(error.message).toBe(
      'model.bin looks like a binary file (it contains NUL bytes), not a YAML or JSON queue config.',
    );
  });
});

describe('loadConfigFile', () => {
  test('reads and parses a file; missing files, directories and non-UTF-8 files name the path', async () => {
    const dir = join(tmpdir(), `vertex-launch-load-${process.pid}-${Date.now()}`);
    await mkdir(dir, { recursive: true });
    const good = join(dir, 'queue.yaml');
    await writeFile(good, 'spec:\n  staging_bucket: my-bucket\n');
    expect(await loadConfigFile(good)).toEqual({ spec: { staging_bucket: 'my-bucket' } });

    const missing = await caught(() => loadConfigFile(join(dir, 'nope.yaml')));
    expect(missing.message).toBe(`Queue config file ${join(dir, 'nope.yaml')} does not exist.`);
    expect(missing.file).toBe(join(dir, 'nope.yaml'));

    expect((await caught(() => loadConfigFile(dir))).message).toBe(
      `Queue config file ${dir} is a directory, not a file.`,
    );

    const latin1 = join(dir, 'latin1.yaml');
    await writeFile(latin1, Buffer.from([0x61, 0x3a, 0x20, 0xe9, 0x0a]));
    expect((await caught(() => loadConfigFile(latin1))).message).toBe(
      `Queue config file ${latin1} is not valid UTF-8 text (is it a binary file?).`,
    );
  });
});
