// The run's test seed (test/seed.ts): read from VXL_TEST_SEED (or its older name VXL_FUZZ_SEED), a fixed default,
// `random` drawn once and kept, clear errors for anything else; seeded streams repeat per seed and label.
import { describe, expect, it, vi } from 'vitest';
import { DEFAULT_TEST_SEED, resolveTestSeed, seededInt, seededRandom } from './seed.js';

describe('resolveTestSeed', () => {
  it('defaults to a fixed seed; VXL_TEST_SEED wins over VXL_FUZZ_SEED; blanks count as unset', () => {
    expect(resolveTestSeed({})).toBe(DEFAULT_TEST_SEED);
    expect(resolveTestSeed({ VXL_TEST_SEED: '  ' })).toBe(DEFAULT_TEST_SEED);
    expect(resolveTestSeed({ VXL_TEST_SEED: '42' })).toBe(42);
    expect(resolveTestSeed({ VXL_TEST_SEED: '0' })).toBe(0);
    expect(resolveTestSeed({ VXL_TEST_SEED: '-7' })).toBe(-7);
    expect(resolveTestSeed({ VXL_FUZZ_SEED: '99' })).toBe(99);
    expect(resolveTestSeed({ VXL_TEST_SEED: '5', VXL_FUZZ_SEED: '99' })).toBe(5);
    expect(resolveTestSeed({ VXL_TEST_SEED: '', VXL_FUZZ_SEED: '99' })).toBe(99);
  });

  it('`random` draws a seed, prints it, and stores it so every later read gets the same one', () => {
    const info = vi.spyOn(console, 'info').mockImplementation(() => undefined);
    const env: NodeJS.ProcessEnv = { VXL_TEST_SEED: 'random' };
    const seed = resolveTestSeed(env);
    expect(Number.isSafeInteger(seed) && seed > 0).toBe(true);
    expect(env.VXL_TEST_SEED).toBe(String(seed));
    expect(resolveTestSeed(env)).toBe(seed);
    expect(info).toHaveBeenCalledTimes(1);
    expect(info.mock.calls[0]?.[0]).toBe(
      `[seed] VXL_TEST_SEED=random drew seed ${seed}; replay this run with VXL_TEST_SEED=${seed}`,
    );
  });

  it('refuses anything but an integer or `random`, naming the variable', () => {
    expect(() => resolveTestSeed({ VXL_TEST_SEED: 'abc' })).toThrow(
      'VXL_TEST_SEED must be an integer (e.g. VXL_TEST_SEED=42) or `random`, got "abc".',
    );
    expect(() => resolveTestSeed({ VXL_FUZZ_SEED: '1.5' })).toThrow('VXL_FUZZ_SEED must be an integer');
    expect(() => resolveTestSeed({ VXL_TEST_SEED: '1e3' })).toThrow('got "1e3"');
    expect(() => resolveTestSeed({ VXL_TEST_SEED: '99999999999999999999' })).toThrow('must be an integer');
  });
});

describe('seededRandom', () => {
  const take = (random: () => number, n: number) => Array.from({ length: n }, () => random());

  it('repeats for one seed and label, and differs for another seed or label', () => {
    const a = take(seededRandom(42, 'kill delays'), 32);
    expect(take(seededRandom(42, 'kill delays'), 32)).toEqual(a);
    expect(take(seededRandom(43, 'kill delays'), 32)).not.toEqual(a);
    expect(take(seededRandom(42, 'retry jitter'), 32)).not.toEqual(a);
    expect(take(seededRandom(2 ** 32 + 42, 'kill delays'), 32)).not.toEqual(a);
  });

  it('draws in [0, 1), spread evenly enough for delays and rates', () => {
    const draws = take(seededRandom(7, 'spread'), 10_000);
    for (const d of draws) {
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(1);
    }
    const tenths = Array.from({ length: 10 }, (_, i) => draws.filter((d) => Math.floor(d * 10) === i).length);
    // 1,000 expected per tenth (sd about 30).
    for (const n of tenths) expect(n).toBeGreaterThan(880);
    for (const n of tenths) expect(n).toBeLessThan(1120);
    const ints = take(() => seededInt(seededRandom(7, 'ints'), 100, 300), 1);
    expect(ints[0]).toBeGreaterThanOrEqual(100);
    expect(ints[0]).toBeLessThan(300);
  });
});
