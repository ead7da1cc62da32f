// Issue #11, part 1: property-based fuzzing of agent configs (launch-config.yaml): generated valid configs load,
// mutated and random ones give config errors whose issues each name a key — never another exception, never a hang.
import { ConfigError } from '@vertex-launch/core';
import { agentConfigIssues, parseAgentConfig } from '@vertex-launch/core/agent';
import { parseConfigText } from '@vertex-launch/core/config';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  applyTextEdits,
  expectConfigErrorWithIssues,
  expectWellFormedIssues,
  fuzzOptions,
  mutated,
  nested,
  Tally,
  textEdit,
  toYaml,
  validAgentConfig,
  weirdObject,
  weirdValue,
} from './arbitraries.js';

/** Issues without a path are about the whole file: not a mapping, or YAML syntax at `line:col`. */
const TOP_LEVEL = /agent config must be a mapping|^line \d+:\d+|YAML aliases|nested more than|too large/;

function check(tally: Tally, raw: unknown): void {
  const issues = tally.run(() => agentConfigIssues(raw));
  if (!issues.ok) throw new Error('agentConfigIssues threw instead of returning its issues');
  expectWellFormedIssues(issues.value, TOP_LEVEL);
  const parsed = tally.run(() => parseAgentConfig(raw, 'launch-config.yaml'));
  if (parsed.ok) {
    expect(issues.value).toEqual([]);
    expect(parsed.value.queues.length).toBeGreaterThan(0);
    tally.valid++;
  } else {
    expectConfigErrorWithIssues(parsed.error, TOP_LEVEL);
    expect(parsed.error.file).toBe('launch-config.yaml');
    expect(parsed.error.issues).toEqual(issues.value);
    tally.configErrors++;
  }
}

describe('agent config fuzz', () => {
  test('generated agent configs load; mutated, random and deep ones give config errors with paths', () => {
    const tally = new Tally('agent-config fuzz (valid + mutated + random values)');
    let validGenerated = 0;
    fc.assert(
      fc.property(validAgentConfig, (config) => {
        tally.generated++;
        check(tally, config);
        expect(agentConfigIssues(config)).toEqual([]);
        validGenerated++;
      }),
      fuzzOptions(100),
    );
    const input = fc.oneof(
      { weight: 6, arbitrary: mutated(validAgentConfig) },
      { weight: 1, arbitrary: weirdValue },
      { weight: 2, arbitrary: weirdObject() },
    );
    fc.assert(
      fc.property(input, (raw) => {
        tally.generated++;
        check(tally, raw);
      }),
      fuzzOptions(2000),
    );
    for (const raw of [
      nested(50_000, 'array'),
      { queues: nested(50_000, 'array') },
      { environment: nested(50_000, 'object') },
    ]) {
      tally.generated++;
      check(tally, raw);
    }
    tally.print({ 'generated valid configs': validGenerated });
    expect(tally.crashes + tally.slow).toBe(0);
  });

  test('mutated launch-config.yaml text parses or gives a config error', () => {
    const tally = new Tally('agent-config fuzz (mutated YAML text)');
    let syntax = 0;
    fc.assert(
      fc.property(fc.tuple(validAgentConfig, fc.array(textEdit, { minLength: 1, maxLength: 5 })), ([config, edits]) => {
        tally.generated++;
        const text = applyTextEdits(toYaml(config), edits);
        const parsed = tally.run(() => parseConfigText(text, 'launch-config.yaml'));
        if (!parsed.ok) {
          syntax++;
          tally.configErrors++;
          expect(parsed.error).toBeInstanceOf(ConfigError);
          expect(parsed.error.message).toMatch(/^launch-config\.yaml/);
          return;
        }
        check(tally, parsed.value);
      }),
      fuzzOptions(900),
    );
    tally.print({ 'YAML syntax errors': syntax });
    expect(tally.crashes + tally.slow).toBe(0);
  });
});
