// The live stream of an item page (Server-Sent Events), read over raw HTTP: it starts with `reset`, sends the item's
// facts again whenever the store changes the item, and ends once the item is finished (here: cancelled while queued,
// so there is no job and no log). Also: actions on the page go through the store (cancel) and are fenced by Origin.

import { request } from 'node:http';
import { memoryQueueStore, type QueueStore, seedQueueConfig } from '@vertex-launch/core/queue';
import { type Dashboard, startDashboard } from '@vertex-launch/dashboard';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { rawRequest, signIn } from './http.js';

let store: QueueStore;
let dashboard: Dashboard;

beforeEach(async () => {
  store = memoryQueueStore();
  await store.createQueue({ name: 'q', config: seedQueueConfig({ spec: { staging_bucket: 'gs://vxl-stream' } }) });
  dashboard = await startDashboard({ store, pollIntervalMs: 30 });
});
afterEach(async () => {
  await dashboard.close();
  await store.close();
});

/** Reads SSE events from `path` until `end` (or the connection closes). */
function readEvents(port: number, path: string, cookie: string, onEvent: (name: string, data: unknown) => void) {
  return new Promise<void>((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, headers: { host: `127.0.0.1:${port}`, cookie, accept: 'text/event-stream' } },
      (res) => {
        expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const name = /^event: (.+)$/m.exec(block)?.[1] ?? 'message';
            const data = /^data: (.*)$/m.exec(block)?.[1] ?? 'null';
            onEvent(name, JSON.parse(data));
          }
        });
        res.on('end', resolve);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

test('an item page streams the item as it changes and ends when it is finished', async () => {
  const item = await store.enqueue('q', { image: 'us-docker.pkg.dev/p/r/i:1', runId: 'streamed' });
  const { port, cookie } = await signIn(dashboard.url);
  const events: { name: string; data: unknown }[] = [];
  const done = readEvents(port, `/items/${item.id}/events`, cookie, (name, data) => {
    events.push({ name, data });
    // Once the first facts arrived, cancel through the page's own form post.
    if (name === 'item' && events.filter((e) => e.name === 'item').length === 1) {
      void rawRequest(port, `/items/${item.id}/cancel`, {
        method: 'POST',
        headers: { cookie, origin: `http://127.0.0.1:${port}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: '',
      }).then((response) => expect(response.status).toBe(303));
    }
  });
  await done;
  expect(events.map((e) => e.name)).toEqual(['reset', 'item', 'item', 'end']);
  const [first, second] = events.filter((e) => e.name === 'item').map((e) => e.data as { html: string; state: string });
  expect(first?.state).toBe('queued');
  expect(first?.html).toContain('Cancel launch');
  expect(second?.state).toBe('finished');
  expect(second?.html).toContain('CANCELLED');
  expect(second?.html).toContain('cancelled before any agent launched it');
  expect(events.at(-1)?.data).toEqual({ state: 'finished', outcome: 'cancelled' });
  expect((await store.get(item.id))?.outcome).toBe('cancelled');
});

test('a cancel from another site does nothing', async () => {
  const item = await store.enqueue('q', { image: 'us-docker.pkg.dev/p/r/i:1' });
  const { port, cookie } = await signIn(dashboard.url);
  const response = await rawRequest(port, `/items/${item.id}/cancel`, {
    method: 'POST',
    headers: { cookie, origin: 'http://attacker.example', 'content-type': 'application/x-www-form-urlencoded' },
    body: '',
  });
  expect(response.status).toBe(403);
  expect((await store.get(item.id))?.state).toBe('queued');
});

test('unknown items and malformed paths get 404 and 400, as plain text', async () => {
  const { port, cookie } = await signIn(dashboard.url);
  const missing = await rawRequest(port, '/items/nope', { headers: { cookie } });
  expect(missing.status).toBe(404);
  expect(missing.body).toBe('Item `nope` does not exist.\n');
  const malformed = await rawRequest(port, '/queues/%E0%A4%A', { headers: { cookie } });
  expect(malformed.status).toBe(400);
  const page = await rawRequest(port, '/queues/none', { headers: { cookie, accept: 'text/html' } });
  expect(page.status).toBe(404);
  expect(page.body).toContain('Queue `none` does not exist.');
});
