import type { BuildEvent } from '@vertex-launch/core';
import { describe, expect, it } from 'vitest';
import { LogTail, ProgressTranslator } from './progress.js';

describe('ProgressTranslator', () => {
  it('turns build output into log and step events, joining split lines', () => {
    const events: BuildEvent[] = [];
    const t = new ProgressTranslator((e) => events.push(e), new LogTail(2));
    t.accept({ stream: 'Step 1/2 : FROM sc' });
    t.accept({ stream: 'ratch\n ---> abc\n' });
    t.accept({ aux: { ID: 'sha256:1' } });
    t.end();
    expect(events).toEqual([
      { type: 'log', line: 'Step 1/2 : FROM scratch', stream: 'stdout' },
      { type: 'step', current: 1, total: 2, text: 'FROM scratch' },
      { type: 'log', line: ' ---> abc', stream: 'stdout' },
    ]);
    expect(t.outcome).toEqual({ error: undefined, imageId: 'sha256:1', digest: undefined });
  });

  it('records the first error message of a push and its digest, keeping only the tail', () => {
    const events: BuildEvent[] = [];
    const tail = new LogTail(2);
    const t = new ProgressTranslator((e) => events.push(e), tail);
    t.accept({ status: 'Pushing', id: 'l1', progressDetail: { current: 10, total: 20 } });
    t.accept({ status: 'Pushed', id: 'l1' });
    t.accept({ error: 'unauthorized: bad token', errorDetail: { message: 'unauthorized: bad token' } });
    t.accept({ error: 'second' });
    t.accept({ aux: { Digest: 'sha256:d' } });
    expect(t.outcome.error).toBe('unauthorized: bad token');
    expect(t.outcome.digest).toBe('sha256:d');
    expect(events.slice(0, 2)).toEqual([
      { type: 'push', layer: 'l1', bytes: 10, totalBytes: 20 },
      { type: 'push', layer: 'l1', bytes: 0, totalBytes: undefined, done: true },
    ]);
    expect(tail.toArray()).toEqual(['unauthorized: bad token', 'second']);
  });
});
