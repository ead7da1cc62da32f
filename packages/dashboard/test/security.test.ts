// The dashboard's guards over real HTTP: the token (missing, wrong, swapped for a cookie), Host checks against DNS
// rebinding, Origin checks against cross-site posts, the headers of every page, and no secret on any page.

import { memoryQueueStore, type QueueStore, seedQueueConfig } from '@vertex-launch/core/queue';
import { type DashboardLogLine, startDashboard } from '@vertex-launch/dashboard';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { rawRequest, signIn } from './http.js';

let store: QueueStore;
let dashboard: Awaited<ReturnType<typeof startDashboard>>;
let logs: DashboardLogLine[];
const config = seedQueueConfig({ spec: { staging_bucket: 'gs://vxl-dashboard-test' } });

beforeEach(async () => {
  store = memoryQueueStore();
  logs = [];
  dashboard = await startDashboard({ store, onLog: (line) => logs.push(line), pollIntervalMs: 50 });
});
afterEach(async () => {
  await dashboard.close();
  await store.close();
});

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

describe('the token', () => {
  test('binds 127.0.0.1 and prints a URL with a long random token', () => {
    expect(dashboard.host).toBe('127.0.0.1');
    expect(dashboard.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{43}$/);
    expect(logs).toEqual([{ level: 'info', message: `dashboard listening on 127.0.0.1:${dashboard.port}` }]);
  });

  test('without it every page and action is refused with 401 and a plain message', async () => {
    for (const [method, path] of [
      ['GET', '/'],
      ['GET', '/queues/new'],
      ['GET', '/assets/dashboard.js'],
      ['GET', '/agents'],
    ] as const) {
      const response = await rawRequest(dashboard.port, path, { method });
      expect(response.status, path).toBe(401);
      expect(response.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(response.body).toBe(
        'Not signed in: open the URL that `vertex-launch ui` printed (it carries the token).\n',
      );
    }
    const post = await rawRequest(dashboard.port, '/queues', {
      method: 'POST',
      headers: {
        origin: `http://127.0.0.1:${dashboard.port}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: form({ name: 'sneaky', config: JSON.stringify(config) }),
    });
    expect(post.status).toBe(401);
    expect(await store.listQueues()).toEqual([]);
  });

  test('a wrong token, in the URL or in the cookie, is refused with 403', async () => {
    const wrongUrl = await rawRequest(dashboard.port, '/?token=not-the-token');
    expect(wrongUrl.status).toBe(403);
    expect(wrongUrl.body).toBe('Refused: wrong token. Open the URL that `vertex-launch ui` printed.\n');
    expect(wrongUrl.headers['set-cookie']).toBeUndefined();
    const wrongCookie = await rawRequest(dashboard.port, '/', {
      headers: { cookie: `vxl_dashboard_${dashboard.port}=${'x'.repeat(43)}` },
    });
    expect(wrongCookie.status).toBe(403);
    expect(wrongCookie.body).toContain('Refused: wrong token');
    // Another dashboard's cookie (another port) is not this one's.
    const otherPort = await rawRequest(dashboard.port, '/', {
      headers: { cookie: `vxl_dashboard_1=${new URL(dashboard.url).searchParams.get('token')}` },
    });
    expect(otherPort.status).toBe(401);
  });

  test('the URL token is swapped for an HttpOnly SameSite=Strict cookie and dropped from the address', async () => {
    const token = new URL(dashboard.url).searchParams.get('token');
    const first = await rawRequest(dashboard.port, `/agents?token=${token}`);
    expect(first.status).toBe(303);
    expect(first.headers.location).toBe('/agents');
    expect(first.headers['set-cookie']).toEqual([
      `vxl_dashboard_${dashboard.port}=${token}; HttpOnly; SameSite=Strict; Path=/`,
    ]);
    const { cookie } = await signIn(dashboard.url);
    const page = await rawRequest(dashboard.port, '/agents', { headers: { cookie } });
    expect(page.status).toBe(200);
    expect(page.body).toContain('<h1>Agents</h1>');
    expect(page.body).not.toContain(token);
  });
});

describe('Host and Origin', () => {
  test('a Host that is not this server (DNS rebinding) is refused with 403, even with the cookie', async () => {
    const { cookie } = await signIn(dashboard.url);
    for (const host of [`attacker.example:${dashboard.port}`, 'localhost:1', '127.0.0.1']) {
      const response = await rawRequest(dashboard.port, '/', { headers: { host, cookie } });
      expect(response.status, host).toBe(403);
      expect(response.body).toBe(
        `Refused: the Host header "${host}" does not name this dashboard (DNS rebinding protection). Open the URL that \`vertex-launch ui\` printed.\n`,
      );
    }
    for (const host of [`127.0.0.1:${dashboard.port}`, `localhost:${dashboard.port}`, `[::1]:${dashboard.port}`]) {
      expect((await rawRequest(dashboard.port, '/', { headers: { host, cookie } })).status, host).toBe(200);
    }
  });

  test('a cross-origin POST is refused with 403 and changes nothing; a POST without Origin too', async () => {
    const { cookie } = await signIn(dashboard.url);
    const body = form({ name: 'evil', config: JSON.stringify(config) });
    const headers = { cookie, 'content-type': 'application/x-www-form-urlencoded' };
    const cross = await rawRequest(dashboard.port, '/queues', {
      method: 'POST',
      headers: { ...headers, origin: 'http://attacker.example' },
      body,
    });
    expect(cross.status).toBe(403);
    expect(cross.body).toBe(
      'Refused: a request from another origin (http://attacker.example) (cross-site request protection).\n',
    );
    const otherPort = await rawRequest(dashboard.port, '/queues', {
      method: 'POST',
      headers: { ...headers, origin: 'http://127.0.0.1:1' },
      body,
    });
    expect(otherPort.status).toBe(403);
    const none = await rawRequest(dashboard.port, '/queues', { method: 'POST', headers, body });
    expect(none.status).toBe(403);
    expect(none.body).toContain('must come from the dashboard page (it has no Origin header)');
    expect(await store.listQueues()).toEqual([]);

    const same = await rawRequest(dashboard.port, '/queues', {
      method: 'POST',
      headers: { ...headers, origin: `http://127.0.0.1:${dashboard.port}` },
      body,
    });
    expect(same.status).toBe(303);
    expect(same.headers.location).toBe('/queues/evil');
    expect((await store.listQueues()).map((queue) => queue.name)).toEqual(['evil']);
  });

  test('a cross-origin read (a script on another site) is refused too', async () => {
    const { cookie } = await signIn(dashboard.url);
    const response = await rawRequest(dashboard.port, '/', { headers: { cookie, origin: 'http://attacker.example' } });
    expect(response.status).toBe(403);
  });
});

describe('what the page gets', () => {
  test('every page forbids framing, foreign scripts and referrers, and is not cached', async () => {
    const { cookie } = await signIn(dashboard.url);
    const response = await rawRequest(dashboard.port, '/', { headers: { cookie } });
    expect(response.headers).toMatchObject({
      'content-security-policy':
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
      'referrer-policy': 'same-origin',
      'x-frame-options': 'DENY',
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-store',
    });
    expect(response.body).toContain('<script src="/assets/dashboard.js" defer></script>');
    expect(response.body).not.toMatch(/https?:\/\/(?!127\.0\.0\.1)[^"]*\.(js|css)/);
  });

  test('no secret reaches a page: database passwords are masked, ${env:...} values are not read', async () => {
    await dashboard.close();
    process.env.VXL_DASHBOARD_TEST_SECRET = 'hunter2-secret-value';
    try {
      dashboard = await startDashboard({
        store,
        storeLabel: 'postgres postgres://launch:s3cr3t-pw@db.internal:5432/launch',
        project: 'proj',
        region: 'us-central1',
      });
      const queueConfig = seedQueueConfig({
        spec: {
          staging_bucket: 'gs://vxl-dashboard-test',
          worker_pool_specs: [
            {
              machine_spec: { machine_type: 'n1-standard-4' },
              container_spec: {
                image_uri: '${image_uri}',
                env: [{ name: 'API_KEY', value: '${env:VXL_DASHBOARD_TEST_SECRET}' }],
              },
            },
          ],
        },
      });
      await store.createQueue({ name: 'q', config: queueConfig });
      const item = await store.enqueue('q', { image: 'us-docker.pkg.dev/p/r/i:1' });
      const { port, cookie } = await signIn(dashboard.url);
      const token = new URL(dashboard.url).searchParams.get('token') as string;
      const bodies: string[] = [];
      for (const path of ['/', '/queues/q', '/queues/q/edit', `/items/${item.id}`, '/agents', '/doctor']) {
        const response = await rawRequest(port, path, { headers: { cookie } });
        expect(response.status, path).toBe(200);
        bodies.push(response.body);
      }
      const all = bodies.join('\n');
      expect(all).toContain('postgres://launch:***@db.internal:5432/launch');
      expect(all).not.toContain('s3cr3t-pw');
      expect(all).not.toContain('hunter2-secret-value');
      expect(all).not.toContain(token);
      // The request is shown with the macro's placeholder instead of the value.
      expect(bodies[3]).toContain('&lt;env:VXL_DASHBOARD_TEST_SECRET&gt;');
    } finally {
      delete process.env.VXL_DASHBOARD_TEST_SECRET;
    }
  });

  test('a bad port is refused before anything listens, naming the option', async () => {
    await expect(startDashboard({ store, port: 70_000 })).rejects.toThrow(
      '[vertex-launch] [dashboard] Invalid port 70000: use 0 (any free port) to 65535.',
    );
  });
});

describe('/api/validate', () => {
  const validate = async (text: string) => {
    const { cookie } = await signIn(dashboard.url);
    const response = await rawRequest(dashboard.port, '/api/validate', {
      method: 'POST',
      headers: { cookie, origin: `http://127.0.0.1:${dashboard.port}`, 'content-type': 'text/plain' },
      body: text,
    });
    expect(response.status).toBe(200);
    return JSON.parse(response.body);
  };

  test('every problem with its path, snake_case hints for camelCase keys, and warnings', async () => {
    const answer = await validate(`spec:
  workerPoolSpecs:
    - machine_spec: { machine_type: n1-standard-4 }
      container_spec: { image_uri: "\${image_uri}" }
  staging_bucket: <REQUIRED>
template_variables:
  lr: { type: number }
`);
    expect(answer.ok).toBe(false);
    expect(answer.issues).toEqual(
      expect.arrayContaining([
        {
          path: 'spec.workerPoolSpecs',
          message:
            "unknown key `workerPoolSpecs`: queue configs use the Python SDK's snake_case names — use `worker_pool_specs`",
          severity: 'error',
        },
        expect.objectContaining({ path: 'spec.staging_bucket', severity: 'error' }),
        {
          path: 'template_variables.lr',
          message: 'has no default: every launch must set it (--set-var lr=...)',
          severity: 'warning',
        },
      ]),
    );
  });

  test('a YAML syntax error names its line and column', async () => {
    const answer = await validate('spec:\n  staging_bucket: [unclosed\n');
    expect(answer.ok).toBe(false);
    expect(answer.issues[0].message).toMatch(/^line \d+:\d+: /);
  });

  test('the default config is only missing its staging bucket', async () => {
    const { cookie } = await signIn(dashboard.url);
    const page = await rawRequest(dashboard.port, '/queues/new', { headers: { cookie } });
    const yaml = /<textarea id="config"[^>]*>([\s\S]*?)<\/textarea>/.exec(page.body)?.[1] ?? '';
    const text = yaml
      .replaceAll('&lt;', '<')
      .replaceAll('&gt;', '>')
      .replaceAll('&quot;', '"')
      .replaceAll('&#39;', "'")
      .replaceAll('&amp;', '&');
    expect(text).toContain('machine_type: n1-standard-4');
    const answer = await validate(text);
    expect(
      answer.issues
        .filter((issue: { severity: string }) => issue.severity === 'error')
        .map((i: { path: string }) => i.path),
    ).toEqual(['spec.staging_bucket']);
    expect((await validate(text.replace('staging_bucket: <REQUIRED>', 'staging_bucket: gs://my-bucket'))).ok).toBe(
      true,
    );
  });
});
