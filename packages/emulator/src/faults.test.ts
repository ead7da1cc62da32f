import { describe, expect, it } from 'vitest';
import { EmulatorError } from './context.js';
import { FaultInjector, faultDraw } from './faults.js';

/** Runs `calls` calls of `method` through both phases; returns what each call answered. */
async function calls(faults: FaultInjector, method: string, count: number): Promise<string[]> {
  const answers: string[] = [];
  for (let i = 0; i < count; i++) {
    try {
      await faults.apply(method, 'before');
      await faults.apply(method, 'after');
      answers.push('ok');
    } catch (error) {
      answers.push(error instanceof EmulatorError ? error.code : String(error));
    }
  }
  return answers;
}

describe('FaultInjector', () => {
  it('`skip` lets the first calls through, `times` bounds the hits, and injected() counts them by kind', async () => {
    const faults = new FaultInjector();
    faults.inject('storage.uploads.put', { code: 'UNAVAILABLE', skip: 2, times: 2 });
    expect(await calls(faults, 'storage.uploads.put', 6)).toEqual([
      'ok',
      'ok',
      'UNAVAILABLE',
      'UNAVAILABLE',
      'ok',
      'ok',
    ]);
    expect(faults.injected()).toEqual({ 'storage.uploads.put UNAVAILABLE': 2 });
    expect(faults.counters()['storage.uploads.put']).toBe(6);
  });

  it('an after-commit fault is counted apart from a before fault', async () => {
    const faults = new FaultInjector();
    faults.inject('aiplatform.customJobs.create', { code: 'DEADLINE_EXCEEDED', phase: 'after', times: 1 });
    faults.inject('aiplatform.customJobs.create', { code: 'UNAVAILABLE', times: 1 });
    expect(await calls(faults, 'aiplatform.customJobs.create', 3)).toEqual(['UNAVAILABLE', 'DEADLINE_EXCEEDED', 'ok']);
    expect(faults.injected()).toEqual({
      'aiplatform.customJobs.create UNAVAILABLE': 1,
      'aiplatform.customJobs.create DEADLINE_EXCEEDED after-commit': 1,
    });
  });

  it('a latency-only spike honours `times` (and `rate` 0 never hits), and never fails the call', async () => {
    const faults = new FaultInjector();
    faults.inject('aiplatform.customJobs.get', { latencyMs: 30, times: 1 });
    faults.inject('aiplatform.customJobs.list', { latencyMs: 30, rate: 0 });
    const started = performance.now();
    expect(await calls(faults, 'aiplatform.customJobs.get', 3)).toEqual(['ok', 'ok', 'ok']);
    expect(await calls(faults, 'aiplatform.customJobs.list', 3)).toEqual(['ok', 'ok', 'ok']);
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
    expect(faults.injected()).toEqual({ 'aiplatform.customJobs.get latency': 1 });
  });

  it('add() keeps byte counters next to call counts; resetCounters() clears both and the hit counts', async () => {
    const faults = new FaultInjector();
    faults.add('storage.uploads.bytes', 1024);
    faults.add('storage.uploads.bytes', 512);
    faults.inject('x', { code: 'INTERNAL', times: 1 });
    await calls(faults, 'x', 1);
    expect(faults.counters()).toEqual({ 'storage.uploads.bytes': 1536, x: 1 });
    faults.resetCounters();
    expect(faults.counters()).toEqual({});
    expect(faults.injected()).toEqual({});
  });

  describe('seeded rates', () => {
    /** What `count` sequential calls of `method` answered, as a string of `.` (ok) and `x` (hit). */
    async function pattern(faults: FaultInjector, method: string, count: number): Promise<string> {
      return (await calls(faults, method, count)).map((a) => (a === 'ok' ? '.' : 'x')).join('');
    }

    it('the same seed hits the same calls; another seed hits others; the share hit follows the rate', async () => {
      const run = async (seed: number) => {
        const faults = new FaultInjector(seed);
        faults.inject('aiplatform.customJobs.get', { code: 'UNAVAILABLE', rate: 0.2 });
        return pattern(faults, 'aiplatform.customJobs.get', 400);
      };
      const first = await run(42);
      expect(await run(42)).toBe(first);
      const other = await run(43);
      expect(other).not.toBe(first);
      for (const p of [first, other]) {
        const hit = [...p].filter((c) => c === 'x').length;
        // 400 draws at 0.2: mean 80, sd 8; 50..110 is ±3.7 sd.
        expect(hit).toBeGreaterThan(50);
        expect(hit).toBeLessThan(110);
      }
      expect(new FaultInjector(42).seed).toBe(42);
      expect(new FaultInjector().seed).toBe(0);
    });

    it("calls of other methods, and other faults, do not shift a fault's sequence", async () => {
      const alone = new FaultInjector(7);
      alone.inject('aiplatform.customJobs.create', { code: 'INTERNAL', rate: 0.3 });
      const expected = await pattern(alone, 'aiplatform.customJobs.create', 60);

      const busy = new FaultInjector(7);
      busy.inject('aiplatform.customJobs.create', { code: 'INTERNAL', rate: 0.3 });
      busy.inject('aiplatform.customJobs.list', { code: 'UNAVAILABLE', rate: 0.5 });
      busy.inject('*', { latencyMs: 1, rate: 0.1 });
      let got = '';
      for (let i = 0; i < 60; i++) {
        // A varying number of calls of other methods between two creates, some of them concurrent with it.
        const others = Array.from({ length: i % 4 }, () => calls(busy, 'aiplatform.customJobs.list', 1));
        const [create] = await Promise.all([pattern(busy, 'aiplatform.customJobs.create', 1), ...others]);
        got += create;
      }
      expect(got).toBe(expected);
      expect(busy.injected()['aiplatform.customJobs.list UNAVAILABLE']).toBeGreaterThan(0);
    });

    it("a fault's call numbers start when it is injected, whatever came before", async () => {
      const fresh = new FaultInjector(5);
      fresh.inject('storage.objects.get', { code: 'UNAVAILABLE', rate: 0.4 });
      const expected = await pattern(fresh, 'storage.objects.get', 50);

      const late = new FaultInjector(5);
      await calls(late, 'storage.objects.get', 17);
      late.inject('storage.objects.get', { code: 'UNAVAILABLE', rate: 0.4 });
      expect(await pattern(late, 'storage.objects.get', 50)).toBe(expected);
    });

    it('two faults on one method draw apart, and a `*` fault draws per method', async () => {
      const faults = new FaultInjector(11);
      faults.inject('m', { code: 'INTERNAL', rate: 0.5, times: 1_000 });
      faults.inject('m', { code: 'UNAVAILABLE', rate: 0.5, phase: 'after' });
      const first = (await calls(faults, 'm', 64)).join(',');
      // Both codes occur: the second fault is not the first one's sequence again.
      expect(first).toContain('INTERNAL');
      expect(first).toContain('UNAVAILABLE');
      const draws = (id: string, method: string) =>
        Array.from({ length: 32 }, (_, i) => faultDraw(11, id, method, i + 1) < 0.5);
      expect(draws('*#1', 'a')).not.toEqual(draws('*#1', 'b'));
      expect(draws('m#1', 'm')).not.toEqual(draws('m#2', 'm'));
    });

    it('faultDraw is a pure function in [0, 1), and large or negative seeds are distinct', () => {
      const seeds = [0, 1, -1, 2 ** 32, 2 ** 32 + 1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER];
      const sequences = seeds.map((seed) => Array.from({ length: 16 }, (_, i) => faultDraw(seed, 'x#1', 'x', i + 1)));
      for (const [i, seq] of sequences.entries()) {
        expect(seq).toEqual(Array.from({ length: 16 }, (_, j) => faultDraw(seeds[i] as number, 'x#1', 'x', j + 1)));
        for (const d of seq) {
          expect(d).toBeGreaterThanOrEqual(0);
          expect(d).toBeLessThan(1);
        }
      }
      expect(new Set(sequences.map((s) => s.join())).size).toBe(seeds.length);
    });

    it('refuses a seed that is not a safe integer', () => {
      expect(() => new FaultInjector(1.5)).toThrow('The fault seed must be an integer (e.g. 42), got 1.5.');
      expect(() => new FaultInjector(Number.NaN)).toThrow('got NaN');
    });
  });
});
