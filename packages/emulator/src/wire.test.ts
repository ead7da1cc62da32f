// The service contract end to end: a service added next to the built-in ones is mounted on the HTTP server, uses the
// shared IAM and faults, and keeps its state in the data dir across a restart (seed -> wire -> serve, as startEmulator).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import type { Emulator } from './api.js';
import { emulatorHandle } from './handle.js';
import { sendJson } from './http/server.js';
import { seed } from './seed.js';
import { serve } from './serve.js';
import type { EmulatorService } from './services/index.js';
import { SERVICES } from './services/index.js';
import { wire } from './wire.js';

/** A tiny REST service: `POST /v1/greetings` stores a greeting, `GET /v1/greetings` lists them. */
const greetings: EmulatorService = {
  name: 'greetings',
  create(core) {
    let saved: string[] = [];
    return {
      http: {
        name: 'greetings',
        async handle(req, res, url) {
          if (url.pathname !== '/v1/greetings') return false;
          await core.ctx.authorize(req.headers.authorization, 'greetings.write', `projects/${core.projectId}`);
          await core.ctx.beforeCall('greetings.call');
          if (req.method === 'POST') {
            saved = [...saved, url.searchParams.get('text') ?? ''];
            core.onChange();
          }
          sendJson(res, 200, { greetings: saved });
          return true;
        },
      },
      state: {
        key: 'greetings',
        save: () => saved,
        restore: (value) => {
          saved = value as string[];
        },
      },
    };
  },
};

async function start(dataDir: string): Promise<Emulator> {
  const core = await seed({ dataDir });
  const wired = await wire(core, [...SERVICES, greetings]);
  return emulatorHandle(core, wired, await serve(core, wired));
}

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

test('a listed service is mounted, authorized, faulted and keeps its state across a restart', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'vxl-wire-test-'));
  cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
  const first = await start(dataDir);
  cleanup.push(() => first.stop());
  const call = (emu: Emulator, method: string, query = '', token = emu.adminToken) =>
    fetch(`${emu.httpUrl}/v1/greetings${query}`, { method, headers: { authorization: `Bearer ${token}` } });

  const posted = await call(first, 'POST', '?text=hello');
  expect(posted.status).toBe(200);
  expect(await posted.json()).toEqual({ greetings: ['hello'] });

  // The shared IAM: a caller without the permission is refused with the emulator's message.
  const sa = await first.iam.createServiceAccount('no-greetings');
  const denied = await call(first, 'GET', '', first.iam.issueToken(sa.client_email));
  expect(denied.status).toBe(403);
  expect(JSON.stringify(await denied.json())).toContain("Permission 'greetings.write' denied");

  // The shared faults and counters (the refused call never reached the fault point).
  first.faults.inject('greetings.call', { code: 'UNAVAILABLE', times: 1 });
  expect((await call(first, 'GET')).status).toBe(503);
  expect((await call(first, 'GET')).status).toBe(200);
  expect(first.counters()['greetings.call']).toBe(3);

  // The built-in services are still there on the same server.
  const storage = await fetch(`${first.httpUrl}/storage/v1/b?project=${first.projectId}`, {
    headers: { authorization: `Bearer ${first.adminToken}` },
  });
  expect(await storage.json()).toEqual({ kind: 'storage#buckets' });
  await first.stop();

  const second = await start(dataDir);
  cleanup.push(() => second.stop());
  expect(await (await call(second, 'GET')).json()).toEqual({ greetings: ['hello'] });
});

test('two services may not keep state under the same key', async () => {
  const core = await seed({});
  cleanup.push(async () => {
    core.clock.close();
    await core.removeTempDirs();
  });
  const twice: EmulatorService = { ...greetings, name: 'greetings-again' };
  await expect(wire(core, [greetings, twice])).rejects.toThrow('emulator.json already has a "greetings" part.');
});
