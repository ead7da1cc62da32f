import { systemClock } from '@vertex-launch/core';
import { describe, expect, it } from 'vitest';
import { LogFeed } from './log-feed.js';
import type { RestLogEntry } from './logs.js';

/** A Cloud Logging stand-in over a fixed list of entries: it applies the feed's filter (job ids and timestamps). */
function logging(entries: RestLogEntry[]) {
  const bodies: { filter: string }[] = [];
  const fetchPage = async (body: Record<string, unknown>) => {
    const filter = String(body.filter);
    bodies.push({ filter });
    const clauses = [...filter.matchAll(/resource\.labels\.job_id="(\d+)"(?: AND timestamp>="([^"]+)")?/g)];
    const windows = new Map(clauses.map((m) => [m[1]!, m[2] === undefined ? 0 : Date.parse(m[2])]));
    const matching = entries.filter((e) => {
      const from = windows.get(e.resource?.labels?.job_id ?? '');
      return from !== undefined && Date.parse(e.timestamp ?? '') >= from;
    });
    return { entries: matching, nextPageToken: undefined };
  };
  return { fetchPage, bodies };
}

const entry = (job: number, second: number, text: string): RestLogEntry => ({
  insertId: `${job}-${second}`,
  timestamp: new Date(Date.UTC(2026, 11, 3, 12, 0, second)).toISOString(),
  textPayload: text,
  resource: { labels: { job_id: String(job) } },
});

async function collect(iterable: AsyncIterable<{ text: string }>) {
  const out: string[] = [];
  for await (const e of iterable) out.push(e.text);
  return out;
}

describe('LogFeed', () => {
  it('reads 120 jobs with 3 queries a poll (50 a query), each job its own entries once, in order', async () => {
    const entries = Array.from({ length: 120 }, (_, j) => [entry(j, 1, `a${j}`), entry(j, 2, `b${j}`)]).flat();
    const api = logging(entries);
    const feed = new LogFeed({
      ...api,
      resourceName: 'projects/p',
      pollIntervalMs: 5,
      lagMs: 60_000,
      clock: systemClock,
    });
    let polls = 0;
    // Each job is found ended at its third check: three reads, the last after it ended.
    const checks = new Map<number, number>();
    const isDone = (j: number) => () => {
      const n = (checks.get(j) ?? 0) + 1;
      checks.set(j, n);
      if (j === 0) polls = n;
      return n >= 3;
    };
    const all = await Promise.all(
      Array.from({ length: 120 }, (_, j) =>
        collect(feed.follow({ jobId: String(j), since: undefined, signal: undefined, isDone: isDone(j) })),
      ),
    );
    expect(all).toEqual(Array.from({ length: 120 }, (_, j) => [`a${j}`, `b${j}`]));
    expect(polls).toBe(3);
    // The followers arrive in one tick: 3 polls x 3 queries, one clause per job in each.
    expect(api.bodies).toHaveLength(9);
    expect(api.bodies.map((b) => (b.filter.match(/job_id=/g) ?? []).length)).toEqual([
      50, 50, 20, 50, 50, 20, 50, 50, 20,
    ]);
    expect(feed.size).toBe(0);
  });

  it('each follower reads from its own window: `since`, then its newest entry minus the lag', async () => {
    const api = logging([entry(1, 1, 'one-early'), entry(1, 30, 'one-late'), entry(2, 1, 'two-early')]);
    const feed = new LogFeed({
      ...api,
      resourceName: 'projects/p',
      pollIntervalMs: 5,
      lagMs: 5_000,
      clock: systemClock,
    });
    let n = 0;
    const since = new Date(Date.UTC(2026, 11, 3, 12, 0, 10));
    const [one, two] = await Promise.all([
      collect(feed.follow({ jobId: '1', since, signal: undefined, isDone: () => ++n > 2 })),
      collect(feed.follow({ jobId: '2', since: undefined, signal: undefined, isDone: () => true })),
    ]);
    expect(one).toEqual(['one-late']);
    expect(two).toEqual(['two-early']);
    expect(api.bodies[0]!.filter).toBe(
      'resource.type="ml_job" AND ((resource.labels.job_id="1" AND timestamp>="2026-12-03T12:00:10.000Z") OR resource.labels.job_id="2")',
    );
    // After it saw 12:00:30, job 1 is read from 12:00:25 (the 5 s lag window).
    expect(api.bodies.at(-1)!.filter).toContain('timestamp>="2026-12-03T12:00:25.000Z"');
  });

  it('a failed read fails the followers of that query; an abort ends one follower quietly', async () => {
    const feed = new LogFeed({
      fetchPage: async () => {
        throw new Error('PERMISSION_DENIED: logging.logEntries.list');
      },
      resourceName: 'projects/p',
      pollIntervalMs: 5,
      lagMs: 1_000,
      clock: systemClock,
    });
    await expect(
      collect(feed.follow({ jobId: '1', since: undefined, signal: undefined, isDone: () => false })),
    ).rejects.toThrow('PERMISSION_DENIED');
    const controller = new AbortController();
    controller.abort();
    expect(
      await collect(feed.follow({ jobId: '2', since: undefined, signal: controller.signal, isDone: () => false })),
    ).toEqual([]);
  });
});
