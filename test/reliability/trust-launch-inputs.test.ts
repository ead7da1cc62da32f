// Issue #11, part 5 (the pure rules): what a launch submits may not read the launcher's environment nor change what
// the queue does not allow. Generated `${env:NAME}` placements in overrides and template variable values are refused
// (and the variable's value never reaches the job or a message); generated override paths outside a queue's
// `allowed_overrides` are refused, each named; paths inside are accepted.
import { ConfigError, type ConfigIssue } from '@vertex-launch/core';
import { resolveQueueConfig } from '@vertex-launch/core/config';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { fuzzOptions, QUEUE_KEY_LOCATIONS, Tally } from './arbitraries.js';

const SECRET = 'hunter2-launcher-secret';
const env = { VXL_SECRET: SECRET, HOME: SECRET, PATH: SECRET };
const context = { project: 'my-project', region: 'us-central1', runId: 'r1', launchId: 'l1', imageUri: 'img:1' };

const baseSpec = () => ({
  staging_bucket: 'gs://my-bucket',
  worker_pool_specs: [
    { machine_spec: { machine_type: 'n1-standard-4' }, container_spec: { image_uri: '${image_uri}', args: ['--a'] } },
  ],
});

function resolve(input: Partial<Parameters<typeof resolveQueueConfig>[0]> & { config: unknown }) {
  try {
    return { value: resolveQueueConfig({ context, env, ...input }) };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { error };
  }
}

/** Nothing the launcher's environment holds shows in what came back. */
function expectNoSecret(outcome: { value?: unknown; error?: ConfigError }): void {
  expect(JSON.stringify(outcome.value ?? null)).not.toContain(SECRET);
  expect(outcome.error?.message ?? '').not.toContain(SECRET);
  expect(JSON.stringify(outcome.error?.issues ?? [])).not.toContain(SECRET);
}

/** Ways to write one env macro: spaces inside, other names. */
const envMacro = fc
  .tuple(
    fc.constantFrom('', ' ', '  ', '\t'),
    fc.constantFrom('', ' '),
    fc.constantFrom('VXL_SECRET', 'HOME', 'PATH'),
    fc.constantFrom('', ' '),
  )
  .map(([a, b, name, c]) => `\${${a}env:${b}${name}${c}}`);
const text = fc.stringMatching(/^[a-z0-9 =/_-]{0,8}$/);

describe('launch inputs cannot read the launcher environment', () => {
  test('`${env:…}` anywhere in an override is refused, and nothing of it is merged', () => {
    const tally = new Tally('trust: ${env:…} in overrides');
    const placement = fc.oneof(
      fc.record({ where: fc.constant('run.timeout' as const), value: fc.tuple(text, envMacro, text) }),
      fc.record({ where: fc.constant('spec.labels' as const), value: fc.tuple(text, envMacro, text) }),
      fc.record({ where: fc.constant('spec.worker_pool_specs' as const), value: fc.tuple(text, envMacro, text) }),
      fc.record({ where: fc.constant('spec.base_output_dir' as const), value: fc.tuple(text, envMacro, text) }),
    );
    fc.assert(
      fc.property(placement, fc.boolean(), ({ where, value }, restricted) => {
        tally.generated++;
        const s = value.join('');
        const overrides =
          where === 'run.timeout'
            ? { run: { timeout: s } }
            : where === 'spec.labels'
              ? { spec: { labels: { team: s } } }
              : where === 'spec.base_output_dir'
                ? { spec: { base_output_dir: `gs://out/${s}` } }
                : {
                    spec: {
                      worker_pool_specs: [
                        {
                          machine_spec: { machine_type: 'n1-standard-4' },
                          container_spec: { image_uri: 'i', args: [s] },
                        },
                      ],
                    },
                  };
        const config = { spec: baseSpec(), ...(restricted ? { allowed_overrides: [where] } : {}) };
        const out = tally.run(() => resolveQueueConfig({ config, overrides, context, env }));
        expect(out.ok).toBe(false);
        if (out.ok) return;
        tally.configErrors++;
        const refusal = out.error.issues.find((i) => i.message.includes('is not allowed in launch overrides'));
        expect(refusal, out.error.message).toBeDefined();
        expect(refusal!.path.startsWith('overrides.')).toBe(true);
        expectNoSecret({ error: out.error });
      }),
      fuzzOptions(300),
    );
    // `$${env:NAME}` is the literal text `${env:NAME}`: accepted, and it stays text.
    fc.assert(
      fc.property(text, fc.constantFrom('VXL_SECRET', 'HOME'), (prefix, name) => {
        tally.generated++;
        const out = resolve({ config: { spec: baseSpec() }, overrides: { spec: { labels: { note: 'x' } }, run: {} } });
        expect(out.error).toBeUndefined();
        const escaped = resolve({
          config: { spec: baseSpec() },
          overrides: {
            spec: {
              worker_pool_specs: [
                {
                  machine_spec: { machine_type: 'n1-standard-4' },
                  container_spec: { image_uri: 'i', args: [`${prefix}$\${env:${name}}`] },
                },
              ],
            },
          },
        });
        expect(escaped.error?.message).toBeUndefined();
        expect(JSON.stringify(escaped.value)).toContain(`${prefix}\${env:${name}}`);
        expectNoSecret(escaped);
        tally.valid++;
      }),
      fuzzOptions(100),
    );
    tally.print();
  });

  test('template variable values can neither hold, form nor complete an `${env:…}` macro', () => {
    const tally = new Tally('trust: ${env:…} through template variable values');
    // Split an env macro into config text before `{{v}}`, the launch value, and config text after it.
    const split = fc
      .tuple(envMacro, fc.nat(), fc.nat(), text, text)
      .map(([macro, a, b, pre, post]) => {
        const i = a % (macro.length + 1);
        const j = i + (b % (macro.length - i + 1));
        return { before: pre + macro.slice(0, i), value: macro.slice(i, j), after: macro.slice(j) + post, macro };
      })
      .filter(({ value }) => value !== '');
    fc.assert(
      fc.property(split, ({ before, value, after }) => {
        tally.generated++;
        const config = {
          spec: {
            ...baseSpec(),
            worker_pool_specs: [
              {
                machine_spec: { machine_type: 'n1-standard-4' },
                container_spec: { image_uri: '${image_uri}', args: [`${before}{{v}}${after}`] },
              },
            ],
          },
          template_variables: { v: { type: 'string', default: 'x' } },
        };
        const out = resolve({ config, variables: { v: value } });
        expectNoSecret(out);
        expect(
          out.error,
          `value ${JSON.stringify(value)} in ${JSON.stringify(`${before}{{v}}${after}`)}`,
        ).toBeDefined();
        const issues: readonly ConfigIssue[] = out.error!.issues;
        expect(
          issues.some((i) =>
            /template_variables\.v|spec\.worker_pool_specs\[0\]\.container_spec\.args\[0\]/.test(i.path),
          ),
          out.error!.message,
        ).toBe(true);
        tally.configErrors++;
      }),
      fuzzOptions(400),
    );
    tally.print();
  });
});

/** Dotted paths an override may name: every key of `spec` and `run` and of the mappings below them (no lists). */
const OVERRIDE_PATHS = QUEUE_KEY_LOCATIONS.map((l) => (l.parent === '' ? l.key : `${l.parent}.${l.key}`)).filter(
  (p) => /^(spec|run)\./.test(p) && !p.includes('[]') && !p.includes('<name>'),
);

describe('overrides stay inside allowed_overrides', () => {
  test('every override leaf outside the allowed paths is refused by name; leaves inside are accepted', () => {
    const tally = new Tally('trust: overrides outside allowed_overrides');
    let refused = 0;
    let accepted = 0;
    const input = fc.record({
      allowed: fc.subarray(['spec', 'run', ...OVERRIDE_PATHS], { maxLength: 6 }),
      leaves: fc.array(
        fc.oneof(
          fc.constantFrom(...OVERRIDE_PATHS),
          fc.constantFrom(...OVERRIDE_PATHS).map((p) => `${p}.__proto__`),
          fc.constantFrom(
            'spec.labels.team',
            'spec.labels.__proto__',
            'run.constructor',
            'spec.__proto__.staging_bucket',
          ),
        ),
        { minLength: 1, maxLength: 4 },
      ),
    });
    fc.assert(
      fc.property(input, ({ allowed, leaves }) => {
        tally.generated++;
        // Build {spec: {...}, run: {...}} with a scalar at each leaf (own `__proto__` keys, as JSON.parse makes them).
        const overrides: Record<string, unknown> = {};
        const kept: string[] = [];
        for (const leaf of leaves) {
          const parts = leaf.split('.');
          let node = overrides;
          let clash = false;
          for (const part of parts.slice(0, -1)) {
            const next = Object.hasOwn(node, part) ? node[part] : undefined;
            if (next !== undefined && (typeof next !== 'object' || next === null)) clash = true;
            if (clash) break;
            if (next === undefined)
              Object.defineProperty(node, part, { value: {}, enumerable: true, writable: true, configurable: true });
            node = node[part] as Record<string, unknown>;
          }
          const last = parts[parts.length - 1]!;
          if (clash || Object.hasOwn(node, last)) continue;
          Object.defineProperty(node, last, { value: 'x', enumerable: true, writable: true, configurable: true });
          kept.push(leaf);
        }
        const config = { spec: baseSpec(), allowed_overrides: allowed };
        const out = tally.run(() => resolveQueueConfig({ config, overrides, context, env }));
        const issues = out.ok ? [] : out.error.issues;
        for (const leaf of kept) {
          const covered = allowed.some((a) => leaf === a || leaf.startsWith(`${a}.`));
          const issue = issues.find(
            (i) => i.path === `overrides.${leaf}` || i.message.includes(`overriding \`${leaf}\``),
          );
          if (covered) {
            expect(issue?.message ?? '', leaf).not.toContain('does not allow overriding');
            accepted++;
          } else {
            expect(issue?.message, `${leaf} with allowed ${JSON.stringify(allowed)}`).toContain(
              `this queue does not allow overriding \`${leaf}\``,
            );
            refused++;
          }
        }
        if (out.ok) tally.valid++;
        else tally.configErrors++;
        // Own `__proto__` keys never reach the prototype of shared objects.
        expect(({} as Record<string, unknown>).staging_bucket).toBeUndefined();
      }),
      fuzzOptions(500),
    );
    tally.print({ 'leaves refused': refused, 'leaves accepted': accepted });
    expect(refused).toBeGreaterThan(0);
  });
});
