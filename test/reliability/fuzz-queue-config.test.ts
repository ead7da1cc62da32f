// Issue #11, part 1: property-based fuzzing of queue configs. Every generated or mutated config (as a value, and as
// YAML/JSON text) either validates or yields config errors that each carry a path and a message — never another
// exception type, never a hang (each call is timed; > 1 s fails).
import { ConfigError } from '@vertex-launch/core';
import {
  parseConfigText,
  resolveQueueConfig,
  resolveQueueConfigResult,
  validateQueueConfig,
} from '@vertex-launch/core/config';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  applyTextEdits,
  expectConfigErrorWithIssues,
  expectWellFormedIssues,
  fuzzOptions,
  mutated,
  nested,
  pathologicalString,
  toYaml as stringify,
  Tally,
  textEdit,
  validQueueConfig,
  weirdObject,
  weirdValue,
} from './arbitraries.js';

/** Issues without a path are about the whole document: its type, its wrapper, or YAML syntax at `line:col`. */
const TOP_LEVEL = /queue config|wrapped under|^line \d+:\d+|YAML aliases|nested more than|too large/;

const context = { project: 'my-project', region: 'us-central1', runId: 'r1', launchId: 'l1', imageUri: 'img:1' };

/** Validates `raw` and checks the outcome is consistent; counts it. */
function check(tally: Tally, raw: unknown): boolean {
  const out = tally.run(() => validateQueueConfig(raw));
  if (!out.ok) throw new Error('validateQueueConfig threw instead of returning its issues');
  const result = out.value;
  expectWellFormedIssues(result.issues, TOP_LEVEL);
  const errors = result.issues.filter((i) => i.severity === 'error');
  if (result.ok) {
    expect(errors).toEqual([]);
    expect(result.value).toBeDefined();
    tally.valid++;
  } else {
    expect(errors.length).toBeGreaterThan(0);
    tally.configErrors++;
  }
  return result.ok;
}

/** Resolves `raw` for a launch: a config, or a thrown ConfigError listing its problems. */
function checkResolve(tally: Tally, raw: unknown): void {
  const out = tally.run(() => resolveQueueConfig({ config: raw, context, env: {} }));
  if (out.ok) tally.valid++;
  else {
    expectConfigErrorWithIssues(out.error, TOP_LEVEL);
    tally.configErrors++;
  }
}

describe('queue config fuzz', () => {
  test('generated valid configs validate, also after a YAML and a JSON round trip', () => {
    const tally = new Tally('queue-config fuzz (valid, value + YAML + JSON)');
    fc.assert(
      fc.property(validQueueConfig, (config) => {
        tally.generated++;
        expect(check(tally, config)).toBe(true);
        for (const text of [stringify(config), JSON.stringify(config)]) {
          const parsed = tally.run(() => parseConfigText(text, 'queue.yaml'));
          expect(parsed.ok).toBe(true);
          if (parsed.ok) expect(check(tally, parsed.value)).toBe(true);
        }
      }),
      fuzzOptions(300),
    );
    tally.print();
    expect(tally.crashes + tally.slow).toBe(0);
  });

  test('mutated and random configs validate or give config errors with paths (validate and resolve)', () => {
    const tally = new Tally('queue-config fuzz (mutated + random values)');
    const input = fc.oneof(
      { weight: 6, arbitrary: mutated(validQueueConfig) },
      { weight: 1, arbitrary: weirdValue },
      { weight: 1, arbitrary: weirdObject() },
      { weight: 1, arbitrary: fc.record({ spec: weirdObject(), run: weirdObject() }) },
      {
        weight: 1,
        arbitrary: fc
          .tuple(fc.constantFrom('vertex', 'gcp-vertex'), mutated(validQueueConfig))
          .map(([k, v]) => ({ [k]: v })),
      },
    );
    fc.assert(
      fc.property(input, (raw) => {
        tally.generated++;
        check(tally, raw);
        checkResolve(tally, raw);
      }),
      fuzzOptions(2000),
    );
    tally.print();
    expect(tally.crashes + tally.slow).toBe(0);
  });

  test('mutated YAML and JSON text parses or gives a config error naming line:col', () => {
    const tally = new Tally('queue-config fuzz (mutated YAML/JSON text)');
    let parseErrors = 0;
    const input = fc.tuple(validQueueConfig, fc.boolean(), fc.array(textEdit, { minLength: 1, maxLength: 5 }));
    fc.assert(
      fc.property(input, ([config, json, edits]) => {
        tally.generated++;
        const text = applyTextEdits(json ? JSON.stringify(config, null, 2) : stringify(config), edits);
        const parsed = tally.run(() => parseConfigText(text, 'queue.yaml'));
        if (!parsed.ok) {
          parseErrors++;
          tally.configErrors++;
          expect(parsed.error.message).toMatch(/^queue\.yaml/);
          expect(parsed.error.file ?? 'queue.yaml').toBe('queue.yaml');
          expectWellFormedIssues(parsed.error.issues, TOP_LEVEL);
          return;
        }
        check(tally, parsed.value);
      }),
      fuzzOptions(1200),
    );
    tally.print({ 'YAML/JSON syntax errors': parseErrors });
    expect(tally.crashes + tally.slow).toBe(0);
  });

  test('pathological strings in every string position never hang', () => {
    const tally = new Tally('queue-config fuzz (pathological strings: ReDoS, quadratic loops)');
    const input = fc.tuple(
      validQueueConfig,
      fc.array(fc.tuple(fc.nat(), pathologicalString), { minLength: 1, maxLength: 3 }),
    );
    fc.assert(
      fc.property(input, ([config, strings]) => {
        tally.generated++;
        // Put each string at one of the string leaves, and as a key next to it.
        const leaves: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
        const visit = (v: unknown): void => {
          if (typeof v !== 'object' || v === null) return;
          const entries: [string | number, unknown][] = Array.isArray(v) ? v.map((x, k) => [k, x]) : Object.entries(v);
          for (const [key, x] of entries) {
            if (typeof x === 'string') leaves.push({ parent: v as Record<string, unknown>, key });
            else visit(x);
          }
        };
        visit(config);
        for (const [at, s] of strings) {
          const leaf = leaves[at % leaves.length]!;
          (leaf.parent as Record<string | number, unknown>)[leaf.key] = s;
          if (!Array.isArray(leaf.parent)) leaf.parent[s] = 'x';
        }
        check(tally, config);
        checkResolve(tally, config);
      }),
      fuzzOptions(60),
    );
    tally.print();
    expect(tally.crashes + tally.slow).toBe(0);
  });

  test('deep nesting, huge values and YAML bombs give a clear config error, not a RangeError', () => {
    const tally = new Tally('queue-config bad input (deep, huge, bombs)');
    const timings: string[] = [];
    const bomb = [
      'a: &a [x,x,x,x,x,x,x,x,x]',
      ...'bcdefg'.split('').map((c, i) => `${c}: &${c} [${Array(9).fill(`*${'abcdefg'[i]}`).join(',')}]`),
    ].join('\n');
    const texts: [string, string, RegExp | undefined][] = [
      ['10,000 nested JSON arrays', `{"spec": ${'['.repeat(10_000)}${']'.repeat(10_000)}}`, /nested too deeply/],
      ['10,000 nested JSON objects', `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`, /nested too deeply/],
      [
        '1,000 nested YAML block lists',
        Array.from({ length: 1000 }, (_, i) => `${' '.repeat(i)}- `).join('\n'),
        undefined,
      ],
      ['a YAML alias bomb', bomb, /aliases/],
      ['a 10 MB string', `spec:\n  staging_bucket: ${'a'.repeat(10_000_000)}\n`, /too large for a config/],
      ['a 10 MB unknown key', `{"spec": {"${'k'.repeat(10_000_000)}": 1}}`, /too large for a config/],
      [
        'a 10 MB accelerator type',
        `spec:\n  worker_pool_specs:\n    - machine_spec: {machine_type: n1, accelerator_type: ${'T'.repeat(10_000_000)}}\n`,
        /too large for a config/,
      ],
      [
        '1e308 and 1e999 numbers',
        'spec:\n  worker_pool_specs:\n    - replica_count: 1e308\n    - replica_count: 1e999\n',
        undefined,
      ],
      ['a list of 5,000 pools', `spec: {worker_pool_specs: [${'{},'.repeat(5000)}]}`, undefined],
    ];
    for (const [what, text, expected] of texts) {
      const t0 = performance.now();
      let error: unknown;
      let issues: readonly { path: string; message: string; severity: string }[] = [];
      try {
        const result = validateQueueConfig(parseConfigText(text, 'big.yaml'));
        issues = result.issues;
        expect(result.ok, what).toBe(false);
      } catch (e) {
        error = e;
      }
      const ms = performance.now() - t0;
      tally.inputs++;
      tally.generated++;
      tally.maxMs = Math.max(tally.maxMs, ms);
      if (error !== undefined) {
        expect(error, `${what}: ${String(error)}`).toBeInstanceOf(ConfigError);
        const e = error as ConfigError;
        expect(e.message, what).toMatch(/^big\.yaml/);
        if (expected) expect(e.message, what).toMatch(expected);
        issues = e.issues;
      }
      tally.configErrors++;
      expectWellFormedIssues(issues, TOP_LEVEL);
      // Messages stay short: a 10 MB value is never echoed whole.
      for (const issue of issues) expect(issue.message.length, what).toBeLessThan(2000);
      // Big inputs get more time than the 1 s of one fuzz call (the yaml parser reads ~50k nodes/s), never minutes.
      expect(ms, what).toBeLessThan(15_000);
      timings.push(`${what} ${(ms / 1000).toFixed(1)} s`);
    }
    // The same for values handed to the SDK directly: deeper than any file can be.
    for (const raw of [
      nested(100_000, 'array'),
      nested(100_000, 'object'),
      { spec: { labels: nested(20_000, 'object') } },
    ]) {
      const result = tally.run(() => resolveQueueConfigResult({ config: raw, context, env: {} }));
      expect(result.ok).toBe(true);
      if (result.ok) {
        expect(result.value.ok).toBe(false);
        expect(result.value.issues.map((i) => i.message).join('\n')).toMatch(/nested more than 64 levels/);
      }
      tally.configErrors++;
    }
    // Huge strings handed to the SDK directly (no file size limit applies): unknown keys, enum values, macros and
    // variables of 2 MB are checked in well under a second (edit distances of 1 MB keys took 20 s before).
    const huge = 'k'.repeat(2_000_000);
    for (const raw of [
      { spec: { [huge]: 1 } },
      { [huge]: {} },
      { spec: { worker_pool_specs: [{ machine_spec: { machine_type: 'n1', accelerator_type: huge } }] } },
      { spec: { staging_bucket: `\${${huge}}` } },
      { spec: { staging_bucket: `{{${' '.repeat(2_000_000)}` } },
      { run: { scheduling_strategy: huge, timeout: `${'9'.repeat(2_000_000)}x` } },
    ]) {
      tally.generated++;
      const result = tally.run(() => validateQueueConfig(raw));
      expect(result.ok).toBe(true);
      if (result.ok) {
        expect(result.value.ok).toBe(false);
        for (const issue of result.value.issues) expect(issue.message.length + issue.path.length).toBeLessThan(2000);
      }
      tally.configErrors++;
    }
    tally.print();
    console.log(`[reliability] queue-config bad input timings: ${timings.join('; ')}`);
  });
});
