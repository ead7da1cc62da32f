// Issue #11, part 1: bad files given to the CLI — malformed YAML/JSON, wrong types, huge values, deep nesting, YAML
// bombs, non-UTF-8 text, binaries, directories, missing files — through every command that reads a config file
// (`queue validate`, `launch --queue-config/--override/--set-var --dry-run`, `agent --config`, `queue create
// --config`, `config show --config`). Each gives exit code 2 and a clear message on stderr that names the file and
// what is wrong, never a stack trace.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type CliResult, runCli } from '../../packages/cli/test/run-cli.js';
import { tempDir } from '../helpers.js';

let dir: { path: string; cleanup: () => Promise<void> };
const t0 = performance.now();

const VALID = `spec:
  worker_pool_specs:
    - machine_spec: {machine_type: n1-standard-4}
      container_spec: {image_uri: "\${image_uri}"}
  staging_bucket: gs://my-bucket
template_variables:
  workers: {type: integer, minimum: 1, maximum: 8, default: 1}
allowed_overrides: [run.timeout]
`;

/** name -> [content, what stderr must say about it]. */
const BAD: Record<string, [string | Buffer | null, RegExp]> = {
  'malformed.yaml': ['spec:\n  worker_pool_specs: [\n  - bad: : :\n', /invalid YAML\/JSON/],
  'malformed.json': ['{"spec": {"staging_bucket": "b",}', /invalid YAML\/JSON/],
  'duplicate-keys.yaml': ['spec: {}\nspec: {}\n', /Map keys must be unique/],
  'wrong-types.yaml': ['spec: [1, 2]\nrun: 5\ntemplate_variables: yes\n', /must be a mapping/],
  'not-a-mapping.json': ['[1, 2, 3]', /must be a mapping/],
  'empty.yaml': ['', /empty/],
  'huge-string.yaml': [`spec:\n  staging_bucket: ${'a'.repeat(10_000_000)}\n`, /too large for a config: 9\.5 MB/],
  'long-key.yaml': [`spec:\n  ${'k'.repeat(2000)}: 1\n`, /must be at most 1024 chars/],
  'long-key.json': [`{"spec": {"${'k'.repeat(300_000)}": 1}}`, /unknown key `k{60}… \(300000 characters\)`/],
  'huge-numbers.json': [
    '{"spec": {"worker_pool_specs": [{"replica_count": 1e308}, {"replica_count": 1e999}]}}',
    /replica_count/,
  ],
  'huge-list.json': [`{"spec": {"worker_pool_specs": [${Array(5000).fill('{}').join(',')}]}}`, /worker_pool_specs/],
  'deep-arrays.json': [`{"spec": ${'['.repeat(10_000)}${']'.repeat(10_000)}}`, /nested too deeply/],
  'deep-objects.json': [`${'{"a": '.repeat(10_000)}1${'}'.repeat(10_000)}`, /nested too deeply/],
  'deep-yaml.yaml': [`spec: ${'- '.repeat(10_000)}x\n`, /nested too deeply|invalid YAML/],
  'alias-bomb.yaml': [
    [
      'a: &a [x,x,x,x,x,x,x,x,x]',
      ...'bcdefg'.split('').map((c, i) => `${c}: &${c} [${Array(9).fill(`*${'abcdefg'[i]}`).join(',')}]`),
    ].join('\n'),
    /aliases/,
  ],
  'latin1.yaml': [Buffer.from('spec:\n  staging_bucket: caf\xe9\n', 'latin1'), /not valid UTF-8/],
  'utf16le.yaml': [Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(VALID, 'utf16le')]), /UTF-16 LE/],
  'utf16be.yaml': [Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(VALID, 'utf16le').swap16()]), /UTF-16 BE/],
  'invalid-utf8.yaml': [
    Buffer.from([0x73, 0x70, 0x65, 0x63, 0x3a, 0x20, 0xc3, 0x28, 0xa0, 0xa1, 0x0a]),
    /not valid UTF-8/,
  ],
  'binary.bin': [Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x00, 0x00, 0x01, 0x02]), /binary|UTF-8/],
  'a-directory': [null, /is a directory/],
};

const file = (name: string) => join(dir.path, name);
/** In the environment of every run: nothing may print it. */
const SECRET = 'hunter2-cli-secret';
const runs: { args: string; ms: number; code: number | null }[] = [];

/** Runs the CLI for each argument list, a few at a time (the machine is shared). */
async function runAll(list: { label: string; args: string[] }[]): Promise<Map<string, CliResult>> {
  const out = new Map<string, CliResult>();
  let next = 0;
  const worker = async () => {
    while (next < list.length) {
      const { label, args } = list[next++]!;
      const started = performance.now();
      const result = await runCli(args, {
        env: { HOME: dir.path, XDG_CONFIG_HOME: join(dir.path, 'config'), VXL_BAD_INPUT_SECRET: SECRET },
      });
      runs.push({ args: label, ms: performance.now() - started, code: result.code });
      out.set(label, result);
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return out;
}

/** Exit 2; stderr names the file and says what is wrong; no stack trace, no "bug" notice, not megabytes long. */
function expectClearError(result: CliResult | undefined, label: string, name: string, what: RegExp): void {
  expect(result, label).toBeDefined();
  const { code, stderr } = result!;
  expect(code, `${label}\n${stderr.slice(0, 2000)}`).toBe(2);
  expect(stderr, label).toContain(name);
  expect(stderr, label).toMatch(what);
  expect(stderr, `${label}: no stack trace`).not.toMatch(/^\s+at /m);
  expect(stderr, label).not.toContain('This is a bug');
  expect(stderr.length, `${label}: a clear message, not the input echoed`).toBeLessThan(20_000);
}

beforeAll(async () => {
  dir = await tempDir('vxl-bad-input-');
  await writeFile(file('valid.yaml'), VALID);
  for (const [name, [content]] of Object.entries(BAD)) {
    if (content === null) await mkdir(file(name));
    else await writeFile(file(name), content);
  }
});

afterAll(async () => {
  const slowest = runs.reduce((a, b) => (b.ms > a.ms ? b : a), { args: '', ms: 0, code: 0 });
  console.log(
    `[reliability] bad-input CLI: ${Object.keys(BAD).length + 1} bad files, ${runs.length} CLI runs, ` +
      `${runs.filter((r) => r.code === 2).length} exit 2, ${runs.filter((r) => r.code !== 2).length} other exits, ` +
      `slowest ${(slowest.ms / 1000).toFixed(1)} s (${slowest.args}), ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  await dir?.cleanup();
});

describe('the CLI refuses bad config files with exit 2 and a clear message', () => {
  test('queue validate: every bad file; --json gives { valid: false, issues }', async () => {
    const list = [
      ...[...Object.keys(BAD), 'missing.yaml'].map((name) => ({
        label: `validate ${name}`,
        args: ['queue', 'validate', file(name)],
      })),
      ...['deep-arrays.json', 'utf16le.yaml'].map((name) => ({
        label: `validate --json ${name}`,
        args: ['queue', 'validate', file(name), '--json'],
      })),
    ];
    const results = await runAll(list);
    for (const [name, [, what]] of Object.entries(BAD)) {
      expectClearError(results.get(`validate ${name}`), `queue validate ${name}`, name, what);
    }
    expectClearError(
      results.get('validate missing.yaml'),
      'queue validate missing.yaml',
      'missing.yaml',
      /does not exist/,
    );
    for (const name of ['deep-arrays.json', 'utf16le.yaml']) {
      const result = results.get(`validate --json ${name}`)!;
      expect(result.code).toBe(2);
      const body = JSON.parse(result.stdout) as {
        valid: boolean;
        file: string;
        issues: { path: string; message: string }[];
      };
      expect(body.valid).toBe(false);
      expect(body.file).toBe(file(name));
      expect(body.issues.length).toBeGreaterThan(0);
      for (const issue of body.issues) expect(issue.message.length).toBeGreaterThan(0);
    }
  });

  test('launch --dry-run, agent, queue create and config show read the same files the same way', async () => {
    const launch = ['launch', '--dry-run', '--project', 'my-project', '--region', 'us-central1', '--image', 'img:1'];
    const deepOverride = `{"run": ${'{"a": '.repeat(10_000)}1${'}'.repeat(10_000)}}`;
    const list = [
      ...['deep-arrays.json', 'latin1.yaml', 'alias-bomb.yaml'].map((name) => ({
        label: `launch ${name}`,
        args: [...launch, '--queue-config', file(name)],
      })),
      ...['deep-objects.json', 'utf16be.yaml', 'wrong-types.yaml'].map((name) => ({
        label: `agent ${name}`,
        args: ['agent', '--config', file(name)],
      })),
      {
        label: 'queue create',
        args: ['queue', 'create', 'q1', '--queue-config', file('deep-arrays.json'), '--db', file('q.db')],
      },
      { label: 'config show', args: ['config', 'show', '--config', file('utf16le.yaml')] },
      {
        label: 'override deep inline',
        args: [...launch, '--queue-config', file('valid.yaml'), '--override', deepOverride],
      },
      {
        label: 'override utf16 file',
        args: [...launch, '--queue-config', file('valid.yaml'), '--override', file('utf16le.yaml')],
      },
      {
        label: 'override latin1 file',
        args: [...launch, '--queue-config', file('valid.yaml'), '--override', file('latin1.yaml')],
      },
      { label: 'override bad json', args: [...launch, '--queue-config', file('valid.yaml'), '--override', '{"run": '] },
      {
        label: 'override env',
        args: [
          ...launch,
          '--queue-config',
          file('valid.yaml'),
          '--override',
          '{"run": {"timeout": "${env:VXL_BAD_INPUT_SECRET}"}}',
        ],
      },
      { label: 'set-var huge', args: [...launch, '--queue-config', file('valid.yaml'), '--set-var', 'workers=1e308'] },
      { label: 'set-var malformed', args: [...launch, '--queue-config', file('valid.yaml'), '--set-var', 'workers'] },
    ];
    const results = await runAll(list);
    const what: Record<string, RegExp> = Object.fromEntries(Object.entries(BAD).map(([k, [, w]]) => [k, w]));
    for (const name of ['deep-arrays.json', 'latin1.yaml', 'alias-bomb.yaml']) {
      expectClearError(results.get(`launch ${name}`), `launch --queue-config ${name}`, name, what[name]!);
    }
    for (const name of ['deep-objects.json', 'utf16be.yaml']) {
      expectClearError(results.get(`agent ${name}`), `agent --config ${name}`, name, what[name]!);
    }
    expectClearError(
      results.get('agent wrong-types.yaml'),
      'agent --config wrong-types.yaml',
      'wrong-types.yaml',
      /spec|unknown key/,
    );
    expectClearError(
      results.get('queue create'),
      'queue create --queue-config deep-arrays.json',
      'deep-arrays.json',
      /nested too deeply/,
    );
    // config show reports settings: an unreadable agent config is a warning naming the file and the encoding.
    const shown = results.get('config show')!;
    expect(shown.code).toBe(0);
    expect(shown.stderr).toMatch(/utf16le\.yaml .*UTF-16 LE/);
    expect(shown.stderr).not.toMatch(/^\s+at /m);
    expectClearError(
      results.get('override deep inline'),
      'launch --override <10,000 deep>',
      'overrides',
      /nested more than 64 levels/,
    );
    expectClearError(
      results.get('override utf16 file'),
      'launch --override utf16le.yaml',
      'utf16le.yaml',
      /UTF-8|UTF-16|binary/,
    );
    expectClearError(results.get('override latin1 file'), 'launch --override latin1.yaml', 'latin1.yaml', /UTF-8/);
    expectClearError(results.get('override bad json'), 'launch --override {"run": ', '--override', /not valid JSON/);
    expectClearError(
      results.get('override env'),
      'launch --override ${env:…}',
      'overrides.run.timeout',
      /not allowed in launch overrides/,
    );
    for (const result of results.values()) expect(result.stdout + result.stderr).not.toContain(SECRET);
    expectClearError(results.get('set-var huge'), 'launch --set-var workers=1e308', 'workers', /integer|at most/);
    expectClearError(results.get('set-var malformed'), 'launch --set-var workers', '--set-var', /name=value/);
  });
});
