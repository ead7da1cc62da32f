// Shared fast-check generators and bookkeeping of the reliability fuzz tests (issue #11, part 1 "bad input" and the
// pure rules of part 5). Every property runs with the run's seed (test/seed.ts: a fixed default, VXL_TEST_SEED to
// replay or vary a run, `random` to draw one), printed in each summary line; VXL_FUZZ_SCALE (e.g. 10) multiplies the
// number of generated inputs.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ConfigError } from '@vertex-launch/core';
import { queueConfigSchema } from '@vertex-launch/core/config';
import fc from 'fast-check';
import { expect } from 'vitest';
import { allKeyLocations } from '../../packages/core/src/config/schema-paths.js';
import { repoRoot } from '../helpers.js';
import { testSeed } from '../seed.js';

/** YAML text of a value, with the `yaml` package core uses (not a dependency of the root). */
export const toYaml = (
  createRequire(join(repoRoot, 'packages', 'core', 'package.json'))('yaml') as { stringify: (v: unknown) => string }
).stringify;

/** The seed of every property of the suite: the run's seed (VXL_TEST_SEED). */
export const FUZZ_SEED = testSeed();
const SCALE = Number(process.env.VXL_FUZZ_SCALE ?? '') > 0 ? Number(process.env.VXL_FUZZ_SCALE) : 1;

/** Options of `fc.assert`: the suite's seed and `numRuns` times VXL_FUZZ_SCALE. */
export function fuzzOptions(numRuns: number): fc.Parameters<unknown> {
  return { seed: FUZZ_SEED, numRuns: Math.max(1, Math.round(numRuns * SCALE)), endOnFailure: false };
}

/** One call slower than this is a hang (the ReDoS found by this suite took 40 s for a 4 KB string). */
export const SLOW_MS = 1000;

/** What a fuzz test tried and what came back, printed as one `[reliability] ...` line. */
export class Tally {
  /** Inputs generated (or written by hand) and tried. */
  generated = 0;
  /** Calls of the functions under test (one input may go through several). */
  inputs = 0;
  valid = 0;
  configErrors = 0;
  crashes = 0;
  slow = 0;
  maxMs = 0;
  readonly started = performance.now();
  /** `errors` names what a refused input gave, e.g. `config errors naming the URI`. */
  constructor(
    readonly name: string,
    readonly errors = 'config errors with a path',
  ) {}

  /**
   * Runs `fn`, timing it: returns its value or the error it threw. Anything but a ConfigError is a crash (counted,
   * and it fails the property); so is a call slower than {@link SLOW_MS}.
   */
  run<T>(fn: () => T): { ok: true; value: T } | { ok: false; error: ConfigError } {
    this.inputs++;
    const t0 = performance.now();
    let outcome: { ok: true; value: T } | { ok: false; error: unknown };
    try {
      outcome = { ok: true, value: fn() };
    } catch (error) {
      outcome = { ok: false, error };
    }
    const ms = performance.now() - t0;
    this.maxMs = Math.max(this.maxMs, ms);
    if (ms > SLOW_MS) {
      this.slow++;
      throw new Error(`${this.name}: one call took ${ms.toFixed(0)} ms (a hang; limit ${SLOW_MS} ms)`);
    }
    if (!outcome.ok && !(outcome.error instanceof ConfigError)) {
      this.crashes++;
      throw outcome.error;
    }
    return outcome as { ok: true; value: T } | { ok: false; error: ConfigError };
  }

  /** Like {@link run} for async functions. */
  async runAsync<T>(fn: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: ConfigError }> {
    this.inputs++;
    const t0 = performance.now();
    let outcome: { ok: true; value: T } | { ok: false; error: unknown };
    try {
      outcome = { ok: true, value: await fn() };
    } catch (error) {
      outcome = { ok: false, error };
    }
    const ms = performance.now() - t0;
    this.maxMs = Math.max(this.maxMs, ms);
    if (ms > SLOW_MS) {
      this.slow++;
      throw new Error(`${this.name}: one call took ${ms.toFixed(0)} ms (a hang; limit ${SLOW_MS} ms)`);
    }
    if (!outcome.ok && !(outcome.error instanceof ConfigError)) {
      this.crashes++;
      throw outcome.error;
    }
    return outcome as { ok: true; value: T } | { ok: false; error: ConfigError };
  }

  /** The summary line; `extra` adds counts of the test's own. */
  line(extra: Record<string, number | string> = {}): string {
    const timed = this.inputs > 0;
    const parts = [
      timed ? `${this.generated} inputs (${this.inputs} calls)` : `${this.generated} inputs`,
      `${this.valid} valid`,
      `${this.configErrors} ${this.errors}`,
      ...Object.entries(extra).map(([k, v]) => `${v} ${k}`),
      `${this.crashes} crashes`,
      ...(timed ? [`${this.slow} hangs (>${SLOW_MS} ms)`, `slowest ${this.maxMs.toFixed(0)} ms`] : []),
      `seed ${FUZZ_SEED}`,
      `${((performance.now() - this.started) / 1000).toFixed(1)} s`,
    ];
    return `[reliability] ${this.name}: ${parts.join(', ')}`;
  }

  print(extra: Record<string, number | string> = {}): void {
    console.log(this.line(extra));
  }
}

/**
 * Every issue is well formed: a string path, a non-empty message, a known severity. An issue with an empty path
 * (the top level) must say so: it is about the whole document.
 */
export function expectWellFormedIssues(
  issues: readonly { path: string; message: string; severity: string }[],
  topLevel: RegExp,
): void {
  for (const issue of issues) {
    expect(typeof issue.path).toBe('string');
    expect(issue.message.trim().length, JSON.stringify(issue)).toBeGreaterThan(0);
    expect(['error', 'warning']).toContain(issue.severity);
    if (issue.path === '')
      expect(issue.message, 'an issue without a path must be about the top level').toMatch(topLevel);
  }
}

/** A thrown ConfigError is a clear error: a message and at least one error issue, each well formed. */
export function expectConfigErrorWithIssues(error: ConfigError, topLevel: RegExp): void {
  expect(error.message.trim().length).toBeGreaterThan(0);
  expect(error.issues.filter((i) => i.severity === 'error').length, error.message).toBeGreaterThan(0);
  expectWellFormedIssues(error.issues, topLevel);
}

// ---------------------------------------------------------------------------------------------------------------
// Values.

/** Numbers that break naive code: the extremes, the non-finite, -0, unsafe integers. */
export const edgeNumber = fc.constantFrom(
  0,
  -0,
  1,
  -1,
  0.5,
  1e308,
  -1e308,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  Number.MAX_SAFE_INTEGER + 2,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  Number.NaN,
  2 ** 31,
  -(2 ** 31) - 1,
);

const TOKENS = [
  '{{',
  '}}',
  '${',
  '}',
  '$${',
  '${env:',
  'env:',
  ' ',
  '  ',
  '\t',
  '\n',
  'a',
  'Z',
  '_',
  '-',
  '.',
  '/',
  ':',
  '@',
  'gs://',
  '<',
  '>',
  '0',
  '9',
  'h',
  'm',
  's',
  'd',
  '"',
  "'",
  '\\',
  'é',
  '\u0000',
  '\uFEFF',
  '\uD800',
  '💥',
] as const;

/**
 * Strings built by repeating a few structural tokens hundreds of times (`{{` and 3000 spaces, `${` without `}`,
 * digits then a letter, ...): the inputs that make backtracking regular expressions and quadratic loops hang.
 */
export const pathologicalString = fc
  .tuple(fc.array(fc.constantFrom(...TOKENS), { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 4000 }))
  .map(([parts, times]) => {
    const unit = parts.join('');
    return unit.repeat(Math.max(1, Math.min(times, Math.floor(6000 / unit.length))));
  });

/** Short strings of every kind: ASCII, full Unicode, lone surrogates, control characters. */
export const anyShortString = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.string({ unit: fc.constantFrom('\uD800', '\uDFFF', '\u0000', '\u202E', '\r', '\u2028'), maxLength: 6 }),
  fc.constantFrom('', ' ', '<REQUIRED>', '${image_uri}', '${env:HOME}', '{{workers}}', '$${x}', 'gs://', 'null'),
);

/** Strings, numbers, booleans and null, weighted towards the edges. */
export const weirdScalar: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  edgeNumber,
  anyShortString,
  pathologicalString,
);

/** A value nested `depth` lists or mappings deep (`[[[...]]]`, `{a: {a: ...}}`), built without recursion. */
export function nested(depth: number, kind: 'array' | 'object', leaf: unknown = 1): unknown {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = kind === 'array' ? [value] : { a: value };
  return value;
}

/** Values that break validators: weird scalars, JSON trees, deep nesting past the limit, long lists. */
export const weirdValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: weirdScalar },
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 20, max: 200 }), fc.constantFrom('array' as const, 'object' as const))
      .map(([d, k]) => nested(d, k)),
  },
  { weight: 1, arbitrary: fc.integer({ min: 50, max: 500 }).map((n) => Array.from({ length: n }, (_, i) => i)) },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 10, max: 200 })
      .map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]))),
  },
);

// ---------------------------------------------------------------------------------------------------------------
// Keys.

/** Every key of the queue config schema, with the dotted path of the mapping that holds it. */
export const QUEUE_KEY_LOCATIONS = allKeyLocations(queueConfigSchema);
const SCHEMA_KEYS = [...new Set(QUEUE_KEY_LOCATIONS.map((l) => l.key))];

/** `worker_pool_specs` -> `workerPoolSpecs`. */
export function camel(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Keys a config may be written with: schema keys, their camelCase twins, typos, prototype names, junk. */
export const anyKey: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...SCHEMA_KEYS) },
  { weight: 2, arbitrary: fc.constantFrom(...SCHEMA_KEYS).map(camel) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom(...SCHEMA_KEYS), fc.nat(), fc.constantFrom('', 'x', '_', '-'))
      .map(([k, i, c]) => {
        const at = i % (k.length + 1);
        return k.slice(0, at) + c + k.slice(at + (c === '' ? 1 : 0));
      }),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '__proto__',
      'constructor',
      'prototype',
      'toString',
      'hasOwnProperty',
      '',
      ' ',
      'vertex',
      'gcp-vertex',
      'project',
      'credentials',
      'jobSpec',
    ),
  },
  { weight: 1, arbitrary: anyShortString },
  { weight: 1, arbitrary: pathologicalString },
);

/** A plain object of arbitrary keys and weird values (the `__proto__` key is an own property, as JSON.parse makes it). */
export function weirdObject(maxKeys = 5): fc.Arbitrary<Record<string, unknown>> {
  return fc.array(fc.tuple(anyKey, weirdValue), { maxLength: maxKeys }).map((entries) => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of entries)
      Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    return out;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Mutations of valid inputs.

type Path = (string | number)[];

/** Every path to a value inside `value` (objects and arrays), the root excluded. */
export function pathsOf(value: unknown, limit = 500): Path[] {
  const out: Path[] = [];
  const stack: { value: unknown; path: Path }[] = [{ value, path: [] }];
  while (stack.length > 0 && out.length < limit) {
    const top = stack.pop()!;
    if (typeof top.value !== 'object' || top.value === null) continue;
    const entries: [string | number, unknown][] = Array.isArray(top.value)
      ? top.value.map((v, i) => [i, v])
      : Object.entries(top.value);
    for (const [k, v] of entries) {
      out.push([...top.path, k]);
      stack.push({ value: v, path: [...top.path, k] });
    }
  }
  return out;
}

/** One edit of a config tree. */
export type Mutation =
  | { op: 'replace'; at: number; value: unknown }
  | { op: 'delete'; at: number }
  | { op: 'rename'; at: number; key: string }
  | { op: 'camel'; at: number }
  | { op: 'wrap'; at: number }
  | { op: 'add'; at: number; key: string; value: unknown };

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('replace' as const), at: fc.nat(), value: weirdValue }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), at: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('rename' as const), at: fc.nat(), key: anyKey }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('camel' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('wrap' as const), at: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant('add' as const), at: fc.nat(), key: anyKey, value: weirdValue }),
  },
);

/** Applies `mutations` to a deep copy of `value` (each picks its target among the paths present at that point). */
export function applyMutations(value: unknown, mutations: readonly Mutation[]): unknown {
  let root = structuredClone(value);
  for (const m of mutations) {
    const paths = pathsOf(root);
    const path = paths.length === 0 ? [] : paths[m.at % paths.length]!;
    if (path.length === 0) {
      if (m.op === 'replace') root = m.value;
      else if (m.op === 'wrap') root = [root];
      continue;
    }
    const parent = path.slice(0, -1).reduce<unknown>((v, k) => (v as Record<string | number, unknown>)[k], root) as
      | Record<string | number, unknown>
      | unknown[];
    const key = path[path.length - 1]!;
    const own = parent as Record<string | number, unknown>;
    const set = (k: string | number, v: unknown) =>
      Object.defineProperty(own, k, { value: v, enumerable: true, writable: true, configurable: true });
    switch (m.op) {
      case 'replace':
        set(key, m.value);
        break;
      case 'delete':
        if (Array.isArray(parent)) parent.splice(Number(key), 1);
        else delete own[key];
        break;
      case 'rename':
      case 'camel': {
        if (Array.isArray(parent)) break;
        const v = own[key];
        delete own[key];
        set(m.op === 'camel' ? camel(String(key)) : m.key, v);
        break;
      }
      case 'wrap':
        set(key, [own[key]]);
        break;
      case 'add': {
        const target = own[key];
        if (typeof target === 'object' && target !== null && !Array.isArray(target)) {
          Object.defineProperty(target, m.key, {
            value: m.value,
            enumerable: true,
            writable: true,
            configurable: true,
          });
        } else if (Array.isArray(target)) {
          target.push(m.value);
        }
        break;
      }
    }
  }
  return root;
}

/** `base` with 1-4 random mutations. */
export function mutated<T>(base: fc.Arbitrary<T>): fc.Arbitrary<unknown> {
  return fc
    .tuple(base, fc.array(mutation, { minLength: 1, maxLength: 4 }))
    .map(([value, ms]) => applyMutations(value, ms));
}

/** YAML/JSON-significant fragments inserted into config text. */
const TEXT_TOKENS = [
  ':',
  ': ',
  '- ',
  ' ',
  '  ',
  '\n',
  '\n  ',
  '\t',
  '\r',
  '[',
  ']',
  '{',
  '}',
  ',',
  '"',
  "'",
  '&a ',
  '*a',
  '!!str ',
  '!!binary ',
  '!!set ',
  '!custom ',
  '? ',
  '|\n',
  '>-\n',
  '#',
  '%YAML 1.1\n',
  '---\n',
  '...\n',
  '<<: ',
  '\u0000',
  '\uFEFF',
  '\uFFFD',
  '${',
  '{{',
  'é',
  '1e999',
  '.nan',
  '-.inf',
  '0x1F',
  '~',
] as const;

export type TextEdit =
  | { op: 'insert'; at: number; token: string }
  | { op: 'delete'; at: number; length: number }
  | { op: 'duplicate-line'; at: number }
  | { op: 'truncate'; at: number };

export const textEdit: fc.Arbitrary<TextEdit> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ op: fc.constant('insert' as const), at: fc.nat(), token: fc.constantFrom(...TEXT_TOKENS) }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ op: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 8 }) }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('duplicate-line' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }) },
);

/** Applies text edits (positions taken modulo the current length). */
export function applyTextEdits(text: string, edits: readonly TextEdit[]): string {
  let out = text;
  for (const e of edits) {
    const at = out.length === 0 ? 0 : e.at % (out.length + 1);
    if (e.op === 'insert') out = out.slice(0, at) + e.token + out.slice(at);
    else if (e.op === 'delete') out = out.slice(0, at) + out.slice(at + e.length);
    else if (e.op === 'truncate') out = out.slice(0, at);
    else {
      const lines = out.split('\n');
      const i = e.at % lines.length;
      lines.splice(i, 0, lines[i]!);
      out = lines.join('\n');
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Valid inputs.

const safeArg = fc.stringMatching(/^[a-z0-9 =_.-]{1,16}$/);
const envName = fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,12}$/);

const machineSpec = fc.oneof(
  fc.record({ machine_type: fc.constantFrom('n1-standard-4', 'n1-highmem-8', 'e2-standard-8') }),
  // Machine types with the accelerators and counts they take (core's machine-types.ts).
  fc.record({
    machine_type: fc.constantFrom('n1-standard-8', 'n1-highmem-16'),
    accelerator_type: fc.constantFrom('NVIDIA_TESLA_T4', 'NVIDIA_TESLA_P4', 'NVIDIA_TESLA_P100'),
    accelerator_count: fc.constantFrom(1, 2, 4),
  }),
  fc
    .constantFrom(
      ['g2-standard-8', 'NVIDIA_L4', 1],
      ['g2-standard-24', 'NVIDIA_L4', 2],
      ['a2-highgpu-1g', 'NVIDIA_TESLA_A100', 1],
      ['a2-ultragpu-2g', 'NVIDIA_A100_80GB', 2],
      ['a3-highgpu-8g', 'NVIDIA_H100_80GB', 8],
    )
    .map(([machine_type, accelerator_type, accelerator_count]) => ({
      machine_type,
      accelerator_type,
      accelerator_count,
    })),
  fc.record({ machine_type: fc.constant('ct5lp-hightpu-4t'), tpu_topology: fc.constant('2x2') }),
  fc.record({
    machine_type: fc.constant('n1-standard-4'),
    accelerator_type: fc.constant('ACCELERATOR_TYPE_UNSPECIFIED'),
    accelerator_count: fc.constant(0),
  }),
);

const containerSpec = fc.record(
  {
    image_uri: fc.constantFrom('${image_uri}', 'us-docker.pkg.dev/my-project/train/trainer:1', 'python:3.12'),
    command: fc.array(fc.stringMatching(/^[a-z0-9=_.-]{1,16}$/), { minLength: 1, maxLength: 3 }),
    args: fc.array(fc.oneof(safeArg, fc.constantFrom('--run=${run_id}', '--out=${run_name}', 'echo $${HOME}')), {
      maxLength: 4,
    }),
    env: fc.array(fc.record({ name: envName, value: fc.oneof(safeArg, fc.constant('${queue_name}')) }), {
      maxLength: 3,
    }),
  },
  { requiredKeys: ['image_uri'] },
);

const pool = (chief: boolean) =>
  fc.record(
    {
      machine_spec: machineSpec,
      replica_count: chief ? fc.constant(1) : fc.integer({ min: 1, max: 16 }),
      container_spec: containerSpec,
      disk_spec: fc.record({
        boot_disk_type: fc.constantFrom('pd-ssd', 'pd-standard'),
        boot_disk_size_gb: fc.integer({ min: 100, max: 2000 }),
      }),
    },
    { requiredKeys: ['machine_spec', 'container_spec'] },
  );

const labelKey = fc.stringMatching(/^[a-uw-z][a-z0-9_-]{0,20}$/);
const labelValue = fc.stringMatching(/^[a-z0-9_-]{0,20}$/);

/** Queue configs that must validate: the shapes the README and the seed config use, with varied values. */
export const validQueueConfig = fc.record(
  {
    spec: fc.record(
      {
        worker_pool_specs: fc
          .tuple(pool(true), fc.array(pool(false), { maxLength: 3 }))
          .map(([chief, rest]) => [chief, ...rest]),
        staging_bucket: fc.constantFrom('gs://my-bucket', 'my-bucket', 'gs://my-bucket/staging', 'gs://b-12_3.x'),
        base_output_dir: fc.constantFrom('gs://my-bucket/out', 'gs://out/${run_id}'),
        labels: fc.dictionary(labelKey, labelValue, { maxKeys: 5 }),
        display_name: fc.stringMatching(/^[a-z][a-z0-9-]{0,30}$/),
        service_account: fc.constant('trainer@my-project.iam.gserviceaccount.com'),
        enable_web_access: fc.boolean(),
      },
      { requiredKeys: ['worker_pool_specs', 'staging_bucket'] },
    ),
    run: fc.record(
      {
        timeout: fc.constantFrom('2h', '90m', '3600s', '1h30m', 3600, 0.5),
        restart_job_on_worker_restart: fc.boolean(),
        disable_retries: fc.boolean(),
        scheduling_strategy: fc.constantFrom('STANDARD', 'SPOT'),
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: ['spec'] },
);

const queueName = fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,20}$/);

/** Agent configs (launch-config.yaml) that must validate. */
export const validAgentConfig = fc
  .record(
    {
      queues: fc.array(queueName, { minLength: 1, maxLength: 4 }),
      max_jobs: fc.oneof(fc.constant(-1), fc.integer({ min: 1, max: 64 })),
      environment: fc.record(
        {
          project: fc.constantFrom('my-project-123', 'example.com:my-project', 'vxl-emulator'),
          region: fc.constantFrom('us-central1', 'europe-west4', 'asia-northeast1'),
        },
        { requiredKeys: [] },
      ),
      auth: fc.record(
        {
          key_file: fc.constantFrom('/etc/keys/sa.json', 'key.json'),
          impersonate_service_account: fc.constant('trainer@my-project.iam.gserviceaccount.com'),
        },
        { requiredKeys: [] },
      ),
      quotas: fc.record(
        { creates_per_minute: fc.integer({ min: 0, max: 600 }), reads_per_minute: fc.integer({ min: 0, max: 6000 }) },
        { requiredKeys: [] },
      ),
      queue_db: fc.constantFrom('/var/lib/vertex-launch/queues.db', 'queues.db'),
      start_timeout: fc.constantFrom('30m', '1h', 60, '90s'),
      poll_interval: fc.constantFrom('5s', 1, 0.5, '1m'),
      lease_duration: fc.constantFrom('60s', 30, '2m'),
      create_lookup_window: fc.constantFrom('5m', 0, 2, '30s'),
      create_lookup_interval: fc.constantFrom('5s', 0.2, 1),
      max_attempts: fc.integer({ min: 1, max: 1000 }),
      docker: fc.boolean(),
    },
    { requiredKeys: ['queues', 'docker'] },
  )
  .map(({ docker, ...rest }) =>
    docker
      ? { ...rest, builder: { type: 'docker' }, registry: { uri: 'us-docker.pkg.dev/my-project/train/trainer' } }
      : { ...rest, builder: { type: 'noop' } },
  );

// ---------------------------------------------------------------------------------------------------------------
// Image URIs.

const location = fc.constantFrom('us', 'europe', 'asia', 'us-central1', 'europe-west4', 'asia-east1');
const project = fc.stringMatching(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/);
const repository = fc.stringMatching(/^[a-z]([a-z0-9-]{0,20}[a-z0-9])?$/);
const imageComponent = fc.stringMatching(/^[a-z0-9]{1,8}((\.|_|__|-{1,2})[a-z0-9]{1,8}){0,2}$/);
const tag = fc.stringMatching(/^\w[\w.-]{0,40}$/);
const digest = fc.stringMatching(/^[a-f0-9]{64}$/).map((h) => `sha256:${h}`);

/** Valid Artifact Registry image URIs: nested images, tags, digests, domain-scoped projects. */
export const validImageUri = fc
  .record(
    {
      location,
      domain: fc.constantFrom('example.com', 'corp.example.co.uk'),
      project,
      repository,
      image: fc.array(imageComponent, { minLength: 1, maxLength: 3 }),
      tag,
      digest,
    },
    { requiredKeys: ['location', 'project', 'repository', 'image'] },
  )
  .map(
    (r) =>
      `${r.location}-docker.pkg.dev/${r.domain ? `${r.domain}/` : ''}${r.project}/${r.repository}/${r.image.join('/')}` +
      `${r.tag === undefined ? '' : `:${r.tag}`}${r.digest === undefined ? '' : `@${r.digest}`}`,
  );

const URI_TOKENS = [
  '/',
  ':',
  '@',
  '.',
  '-',
  '_',
  '__',
  'A',
  ' ',
  '//',
  '..',
  'sha256:',
  '-docker.pkg.dev',
  'é',
  '\n',
  '%2F',
];

/** Valid image URIs with characters inserted, deleted or replaced. */
export const mutatedImageUri = fc
  .tuple(
    validImageUri,
    fc.array(
      fc.tuple(fc.nat(), fc.integer({ min: 0, max: 3 }), fc.oneof(fc.constantFrom(...URI_TOKENS), fc.constant(''))),
      { minLength: 1, maxLength: 3 },
    ),
  )
  .map(([uri, edits]) => {
    let out = uri;
    for (const [at, del, insert] of edits) {
      const i = at % (out.length + 1);
      out = out.slice(0, i) + insert + out.slice(i + del);
    }
    return out;
  });
