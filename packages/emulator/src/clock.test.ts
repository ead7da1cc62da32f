import { afterEach, expect, test } from 'vitest';
import { createClock, type EmulatorClock } from './clock.js';

let clock: EmulatorClock;
afterEach(() => clock?.close());

test('advance fires due timers in order, including ones scheduled by earlier timers', async () => {
  clock = createClock();
  const start = clock.now();
  const fired: string[] = [];
  clock.schedule(3_000, () => fired.push(`c@${clock.now() - start}`));
  clock.schedule(1_000, () => {
    fired.push(`a@${clock.now() - start}`);
    clock.schedule(500, () => fired.push(`b@${clock.now() - start}`));
  });
  clock.schedule(10_000, () => fired.push('late'));
  await clock.advance(3_000);
  expect(fired.map((f) => f.replace(/@(\d+)/, (_, ms) => `@${Math.round(Number(ms) / 100) * 100}`))).toEqual([
    'a@1000',
    'b@1500',
    'c@3000',
  ]);
  expect(clock.now() - start).toBeGreaterThanOrEqual(3_000);
});

test('sleep resolves on advance and rejects with the abort reason; cancelled timers never fire', async () => {
  clock = createClock(5_000);
  expect(clock.offset()).toBe(5_000);
  const slept = clock.sleep(60_000);
  const controller = new AbortController();
  const aborted = clock.sleep(60_000, controller.signal);
  let cancelledRan = false;
  clock
    .schedule(1_000, () => {
      cancelledRan = true;
    })
    .cancel();
  controller.abort('stop');
  await expect(aborted).rejects.toBe('stop');
  await clock.advance(60_000);
  await expect(slept).resolves.toBeUndefined();
  expect(cancelledRan).toBe(false);
  await expect(clock.advance(-1)).rejects.toThrow('non-negative');
});

test('timers also fire in real time', async () => {
  clock = createClock();
  const fired = await new Promise<boolean>((resolve) => {
    clock.schedule(20, () => resolve(true));
  });
  expect(fired).toBe(true);
});
