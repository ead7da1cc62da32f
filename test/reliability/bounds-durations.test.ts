// Issue #24, part 4: every duration of the agent config and of queue configs is checked against its bounds (the
// error names the key, the value and the range), and no timer the code sets can overflow setTimeout's 2^31 - 1 ms.
import { MAX_TIMER_MS, systemClock, timerDelay } from '@vertex-launch/core';
import {
  agentConfigIssues,
  MAX_CREATE_LOOKUP_INTERVAL_S,
  MAX_CREATE_LOOKUP_WINDOW_S,
  MAX_LEASE_DURATION_S,
  MAX_POLL_INTERVAL_S,
  MAX_START_TIMEOUT_S,
} from '@vertex-launch/core/agent';
import {
  MAX_CREATE_REQUEST_TIMEOUT_SECONDS,
  MAX_RUN_TIMEOUT_SECONDS,
  MAX_WAIT_DURATION_SECONDS,
  validateQueueConfig,
} from '@vertex-launch/core/config';
import fc from 'fast-check';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { fuzzOptions, Tally } from './arbitraries.js';

const AGENT_BOUNDS = [
  ['start_timeout', 1, MAX_START_TIMEOUT_S],
  ['poll_interval', 0.05, MAX_POLL_INTERVAL_S],
  ['lease_duration', 1, MAX_LEASE_DURATION_S],
  ['create_lookup_window', 0, MAX_CREATE_LOOKUP_WINDOW_S],
  ['create_lookup_interval', 0.05, MAX_CREATE_LOOKUP_INTERVAL_S],
] as const;

const QUEUE_BOUNDS = [
  ['timeout', MAX_RUN_TIMEOUT_SECONDS],
  ['create_request_timeout', MAX_CREATE_REQUEST_TIMEOUT_SECONDS],
  ['max_wait_duration', MAX_WAIT_DURATION_SECONDS],
] as const;

/** A duration as users write it: seconds, or the same as `"<n>s"`, `"<n>m"` or `"<n>h"` when whole. */
const written = (seconds: number) =>
  fc.constantFrom<number | string>(
    seconds,
    `${seconds}s`,
    ...(seconds % 60 === 0 ? [`${seconds / 60}m`] : []),
    ...(seconds % 3600 === 0 ? [`${seconds / 3600}h`] : []),
  );

function queueConfig(key: string, value: unknown) {
  return {
    spec: {
      worker_pool_specs: [
        { machine_spec: { machine_type: 'n1-standard-4' }, container_spec: { image_uri: 'gcr.io/p/i:1' } },
      ],
    },
    run: { [key]: value, ...(key === 'max_wait_duration' ? { scheduling_strategy: 'FLEX_START' } : {}) },
  };
}

describe('duration bounds (#24.4)', () => {
  test('agent durations: in range load, out of range name the key, the value and the range', () => {
    const tally = new Tally('agent duration bounds');
    const input = fc
      .tuple(fc.constantFrom(...AGENT_BOUNDS), fc.boolean(), fc.integer({ min: 1, max: 10 ** 7 }))
      .chain(([bound, over, step]) => {
        const [, min, max] = bound;
        const seconds = over ? max + step : Math.max(min, (step % max) + 1);
        return fc.tuple(fc.constant(bound), fc.constant(over), fc.constant(seconds), written(seconds));
      });
    fc.assert(
      fc.property(input, ([[key, , max], over, seconds, value]) => {
        tally.generated++;
        const issues = agentConfigIssues({ queues: ['q'], [key]: value });
        if (!over) {
          expect(issues).toEqual([]);
          tally.valid++;
          return;
        }
        expect(issues).toHaveLength(1);
        expect(issues[0]?.path).toBe(key);
        expect(issues[0]?.message).toContain(`${seconds} s`);
        expect(issues[0]?.message).toContain(`(${max} s)`);
        expect(issues[0]?.message).toMatch(/is out of range: use \S+ to \S+/);
        tally.configErrors++;
      }),
      fuzzOptions(200),
    );
    tally.print();
    expect(tally.valid).toBeGreaterThan(0);
    expect(tally.configErrors).toBeGreaterThan(0);
  });

  test('the agent example of the issue: a 25h lease and a 10-day poll interval are refused together', () => {
    const issues = agentConfigIssues({ queues: ['q'], lease_duration: '25h', poll_interval: '10d' });
    expect(issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'poll_interval: `10d` (864000 s) is out of range: use 0.05s to 1h (3600 s)',
      'lease_duration: `25h` (90000 s) is out of range: use 1s to 1d (86400 s)',
    ]);
  });

  test('queue durations over their bounds are errors at run.<key>, naming the value and the range', () => {
    const tally = new Tally('queue duration bounds');
    fc.assert(
      fc.property(
        fc.constantFrom(...QUEUE_BOUNDS),
        fc.boolean(),
        fc.integer({ min: 1, max: 10 ** 8 }),
        (bound, over, n) => {
          const [key, max] = bound;
          const seconds = over ? max + n : n % (max + 1);
          tally.generated++;
          const result = validateQueueConfig(queueConfig(key, seconds));
          const mine = result.issues.filter((i) => i.path === `run.${key}` && i.severity === 'error');
          if (over) {
            expect(mine.map((i) => i.message)).toEqual([
              `${seconds} s is out of range: use 0s to ${key === 'create_request_timeout' ? '1h' : key === 'timeout' ? '30d' : '7d'} (${max} s)`,
            ]);
            tally.configErrors++;
          } else {
            expect(mine.filter((i) => i.message.includes('out of range'))).toEqual([]);
            tally.valid++;
          }
        },
      ),
      fuzzOptions(300),
    );
    tally.print();
    expect(tally.configErrors).toBeGreaterThan(0);
  });
});

describe('timers never overflow (#24.4)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  test('timerDelay clamps to 0..2^31-1 ms, NaN to 0', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: false }), (ms) => {
        const delay = timerDelay(ms);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(MAX_TIMER_MS);
        if (Number.isNaN(ms)) expect(delay).toBe(0);
        else if (ms > 0 && ms <= MAX_TIMER_MS) expect(delay).toBe(ms);
      }),
      fuzzOptions(500),
    );
  });

  test('systemClock.sleep of a huge delay does not fire at once and warns nothing', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const controller = new AbortController();
      let woke = false;
      const sleeping = systemClock.sleep(365 * 86_400_000, controller.signal).then(() => {
        woke = true;
      });
      await new Promise((r) => setTimeout(r, 50));
      expect(woke).toBe(false);
      controller.abort();
      await sleeping;
      expect(woke).toBe(true);
      await new Promise((r) => setImmediate(r));
      expect(warnings).not.toContain('TimeoutOverflowWarning');
    } finally {
      process.off('warning', onWarning);
    }
  });
});
