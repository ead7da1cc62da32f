// The one seed of a test run (issue #16, part 3: no randomness without a seed in tests). Every test that draws
// anything a decision depends on — fast-check inputs, the emulator's fault rates (`faultSeed`), kill moments, retry
// jitter — takes it from here, prints it in its summary line, and replays exactly with `VXL_TEST_SEED=<seed>`.
// `VXL_TEST_SEED=random` draws a seed (printed once; vitest.config.ts draws it before the workers start, so every
// file of the run shares it). `VXL_FUZZ_SEED` is the older name, still read when VXL_TEST_SEED is unset.
// Not drawn from the seed, on purpose: nonces that keep image names of concurrent runs on one Docker daemon apart,
// and incompressible filler bytes; no test decision depends on their values.
import { randomInt } from 'node:crypto';

/** The seed of a run without VXL_TEST_SEED: CI draws the same inputs and faults every time. */
export const DEFAULT_TEST_SEED = 20_261_129;

let used = false;

/**
 * The seed named by `env`: `VXL_TEST_SEED`, else `VXL_FUZZ_SEED`, else {@link DEFAULT_TEST_SEED}. `random` draws a
 * seed, stores it in `env.VXL_TEST_SEED` (so later calls and child processes get the same one) and prints it.
 * Throws a clear error for anything but an integer or `random`.
 */
export function resolveTestSeed(env: NodeJS.ProcessEnv = process.env): number {
  const named = (['VXL_TEST_SEED', 'VXL_FUZZ_SEED'] as const).find((name) => (env[name] ?? '').trim() !== '');
  if (named === undefined) return DEFAULT_TEST_SEED;
  const raw = (env[named] as string).trim();
  if (raw === 'random') {
    const seed = randomInt(1, 2 ** 31);
    env.VXL_TEST_SEED = String(seed);
    console.info(`[seed] ${named}=random drew seed ${seed}; replay this run with VXL_TEST_SEED=${seed}`);
    return seed;
  }
  const seed = Number(raw);
  if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(seed)) {
    throw new Error(`${named} must be an integer (e.g. ${named}=42) or \`random\`, got "${raw}".`);
  }
  return seed;
}

/** The seed of this run (see {@link resolveTestSeed}); a failing test of a file that asked for it prints how to replay. */
export function testSeed(): number {
  used = true;
  return resolveTestSeed();
}

/** Whether this test file asked for the seed (test/setup.ts prints the replay line only then). */
export function testSeedUsed(): boolean {
  return used;
}

/** 32-bit FNV-1a of a string's UTF-16 code units. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** A 32-bit finalizer with good avalanche (the "lowbias32" constants of Chris Wellons' hash-prospector). */
function mix32(x: number): number {
  let h = x >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * A stream of numbers in [0, 1) from `seed` and `label`: a counter (Weyl sequence) through {@link mix32}. Each
 * consumer takes a label of its own, so adding draws to one stream never shifts another.
 */
export function seededRandom(seed: number, label: string): () => number {
  let state = mix32(mix32((seed >>> 0) ^ mix32(Math.floor(seed / 2 ** 32))) ^ fnv1a(label));
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    return mix32(state) / 2 ** 32;
  };
}

/** An integer in [min, max) from `random`. */
export function seededInt(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min));
}
