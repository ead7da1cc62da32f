import { describe, expect, it } from 'vitest';
import { EmulatorError } from './context.js';
import { FaultInjector } from './faults.js';

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
});
