import { describe, expect, it } from 'vitest';
import { steppingClock } from '../../../test/helpers.js';
import { RateLimiter } from './limiter.js';

describe('RateLimiter', () => {
  it('lets `perMinute` calls through, then waits for the window to move', async () => {
    const clock = steppingClock();
    const limiter = new RateLimiter(3, clock);
    const starts: number[] = [];
    for (let i = 0; i < 7; i++) {
      await limiter.acquire();
      starts.push(clock.now());
    }
    expect(starts).toEqual([0, 0, 0, 61_000, 61_000, 61_000, 122_000]);
  });

  it('serves concurrent callers in order, and 0 means unlimited', async () => {
    const clock = steppingClock();
    const limiter = new RateLimiter(2, clock);
    const order: number[] = [];
    await Promise.all([0, 1, 2, 3].map((i) => limiter.acquire().then(() => order.push(i))));
    expect(order).toEqual([0, 1, 2, 3]);
    const free = new RateLimiter(0, clock);
    await Promise.all(Array.from({ length: 1000 }, () => free.acquire()));
    expect(free.perMinute).toBe(Number.POSITIVE_INFINITY);
  });

  it('a waiter whose signal aborts rejects with its reason; the next waiter is still served', async () => {
    const limiter = new RateLimiter(1, steppingClock());
    await limiter.acquire();
    const controller = new AbortController();
    controller.abort(new Error('the launch was stopped'));
    await expect(limiter.acquire(controller.signal)).rejects.toThrow('the launch was stopped');
    await expect(limiter.acquire()).resolves.toBeUndefined();
  });
});
