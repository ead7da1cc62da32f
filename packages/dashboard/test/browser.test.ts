// The dashboard in a real browser: Debian's Chromium driven by playwright-core, against the emulator, with core's
// agent and the Vertex runner doing the launches (as `vertex-launch demo` wires them). A queue is created through
// the form (a camelCase mistake shown live, then fixed), a launch is enqueued and watched to SUCCEEDED with its logs
// streaming in, another is cancelled from its page. Screenshots go to test-artifacts/dashboard/ (git-ignored).
// Chromium may only reach 127.0.0.1: its resolver maps every other name to nothing, a dead proxy takes anything
// else, and every request the pages made is checked at the end.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auto, resolveCredentials } from '@vertex-launch/auth';
import type { QueueStore } from '@vertex-launch/core';
import { type Agent, createAgent } from '@vertex-launch/core/agent';
import { type Dashboard, startDashboard } from '@vertex-launch/dashboard';
import { type Emulator, startEmulator } from '@vertex-launch/emulator';
import { sqliteQueueStore } from '@vertex-launch/queue-sqlite';
import { type VertexRunner, vertexRunner } from '@vertex-launch/vertex';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { repoRoot } from '../../../test/helpers.js';

/** Debian's Chromium (`apt-get install chromium`; scripts/test-prepare.sh installs it). */
const CHROMIUM = process.env.VERTEX_LAUNCH_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = join(repoRoot, 'test-artifacts', 'dashboard');
const IMAGE = 'us-docker.pkg.dev/vxl-emulator/train/trainer:1';

/** The queue config typed into the editor: the emulator's outcome knobs come from template variables. */
const goodConfig = `template_variables:
  run_ms:
    type: string
    default: "1500"
spec:
  worker_pool_specs:
    - machine_spec:
        machine_type: n1-standard-4
      replica_count: 1
      container_spec:
        image_uri: \${image_uri}
        env:
          - name: VXL_EMULATOR_RUN_MS
            value: "{{run_ms}}"
  staging_bucket: gs://vxl-dashboard-e2e
run:
  restart_job_on_worker_restart: false
`;
/** The same with the classic mistake: a camelCase key (the Node client's name) instead of the SDK's snake_case. */
const camelConfig = goodConfig.replace('staging_bucket:', 'stagingBucket:');

let emulator: Emulator;
let runner: VertexRunner;
let store: QueueStore;
let dashboard: Dashboard;
let agent: Agent | undefined;
let agentDone: Promise<void> | undefined;
let context: BrowserContext;
let page: Page;
let work: string;
const requested: string[] = [];

const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

beforeAll(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  work = await mkdtemp(join(tmpdir(), 'vxl-dashboard-e2e-'));
  emulator = await startEmulator({
    executor: 'clock',
    jobTimings: { queuedMs: 200, pendingMs: 200, runningMs: 1500, cancellingMs: 200 },
    quotas: { vertexReadsPerMinute: 0, vertexCreatesPerMinute: 0 },
  });
  const credentials = await resolveCredentials(auto({ env: emulator.env }), { env: emulator.env });
  runner = vertexRunner({
    credentials,
    projectId: emulator.projectId,
    region: emulator.region,
    env: emulator.env,
    quotas: { createsPerMinute: 0, readsPerMinute: 0 },
    tracker: { minIntervalMs: 100, maxIntervalMs: 300 },
    logs: { pollIntervalMs: 200, lagMs: 1000 },
  });
  // Load the Google client now: its first load blocks the event loop, which would stall the page's first stream.
  await runner.list({ limit: 1 });
  store = sqliteQueueStore({ path: join(work, 'queues.db') });
  dashboard = await startDashboard({
    store,
    runner,
    project: emulator.projectId,
    region: emulator.region,
    storeLabel: `sqlite ${join(work, 'queues.db')}`,
    pollIntervalMs: 200,
    doctor: async () => [
      { id: 'credentials', title: 'Credentials', status: 'pass', evidence: 'emulator credentials' },
      {
        id: 'staging-bucket',
        title: 'Staging bucket',
        status: 'fail',
        evidence: 'gs://vxl-dashboard-e2e does not exist',
        fix: 'Create it in us-central1.',
      },
    ],
  });
  context = await chromium.launchPersistentContext(join(work, 'chromium-profile'), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
      // Loopback only: no name resolves but 127.0.0.1's, and whatever is not loopback goes to a closed port.
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
      '--proxy-server=http://127.0.0.1:9',
    ],
  });
  context.on('request', (request) => requested.push(request.url()));
  page = context.pages()[0] ?? (await context.newPage());
}, 120_000);

afterAll(async () => {
  await context?.close();
  await agent?.stop();
  await agentDone;
  await dashboard?.close();
  await store?.close();
  await runner?.close();
  await emulator?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the dashboard in Chromium', () => {
  test('sign in, create a queue through the form (a camelCase mistake shown live, then fixed)', async () => {
    await page.goto(dashboard.url);
    // The token went into a cookie; the address bar no longer shows it.
    expect(page.url()).toBe(`http://127.0.0.1:${dashboard.port}/`);
    const cookies = await context.cookies();
    expect(cookies).toEqual([
      expect.objectContaining({ name: `vxl_dashboard_${dashboard.port}`, httpOnly: true, sameSite: 'Strict' }),
    ]);
    await expect(page.locator('h1').textContent()).resolves.toBe('Queues');
    await page.getByRole('link', { name: 'Create queue' }).first().click();
    await page.waitForURL('**/queues/new');
    // The editor starts from the default queue config, and the server already says what is missing.
    const editor = page.locator('#config');
    expect(await editor.inputValue()).toContain('staging_bucket: <REQUIRED>');
    await expect(page.locator('#issues').textContent()).resolves.toContain('spec.staging_bucket');

    await page.fill('input[name="name"]', 'train');
    await page.fill('input[name="project"]', emulator.projectId);
    await page.fill('input[name="region"]', emulator.region);
    await page.fill('input[name="description"]', 'made in the browser test');
    await editor.fill(camelConfig);
    const issues = page.locator('#issues');
    await issues.getByText("queue configs use the Python SDK's snake_case names — use `staging_bucket`").waitFor();
    expect(await issues.textContent()).toContain('spec.stagingBucket');
    // One problem: the camelCase key, not also "`spec.staging_bucket` is required" for the key it misspells.
    expect(await issues.textContent()).toContain('✗ 1 problem');
    expect(await issues.textContent()).not.toContain('is required');
    await shot('01-queue-editor-camelcase');

    // Submitted as it is, the server refuses it with the same problems and keeps what was typed.
    await page.getByRole('button', { name: 'Create queue' }).click();
    await page.getByRole('alert').getByText('Cannot create queue `train`; nothing was saved.').waitFor();
    expect(await page.locator('#config').inputValue()).toBe(camelConfig);
    expect(await page.locator('#issues').textContent()).toContain('use `staging_bucket`');
    expect(await store.listQueues()).toEqual([]);

    await page.locator('#config').fill(goodConfig);
    await page.locator('#issues').getByText('✓ The queue config is valid.').waitFor();
    await shot('02-queue-editor-valid');
    await page.getByRole('button', { name: 'Create queue' }).click();
    await page.waitForURL('**/queues/train');
    expect(await store.getQueue('train')).toMatchObject({
      name: 'train',
      project: emulator.projectId,
      region: emulator.region,
      description: 'made in the browser test',
      config: expect.objectContaining({ spec: expect.objectContaining({ staging_bucket: 'gs://vxl-dashboard-e2e' }) }),
    });
  });

  test('enqueue a launch and watch it reach SUCCEEDED with its logs streaming in', async () => {
    agent = createAgent({
      store,
      runner,
      queues: ['train'],
      maxJobs: 2,
      project: emulator.projectId,
      region: emulator.region,
      pollIntervalMs: 100,
      leaseMs: 3000,
      statusIntervalMs: 0,
    });
    agentDone = agent.start();

    await page.locator('details.enqueue summary').click();
    await page.fill('input[name="image"]', IMAGE);
    await page.fill('textarea[name="variables"]', 'run_ms=1500');
    await page.fill('input[name="runId"]', 'first-run');
    await page.getByRole('button', { name: 'Enqueue' }).click();
    await page.waitForURL('**/items/*');
    // The request the agent submits, mapped from the queue config.
    const request = await page.locator('pre.request').textContent();
    expect(JSON.parse(request ?? '{}')).toMatchObject({
      parent: `projects/${emulator.projectId}/locations/${emulator.region}`,
      customJob: {
        labels: expect.objectContaining({ 'vertex-launch-run-id': 'first-run', 'vertex-launch-queue': 'train' }),
        jobSpec: {
          workerPoolSpecs: [
            expect.objectContaining({
              containerSpec: { imageUri: IMAGE, env: [{ name: 'VXL_EMULATOR_RUN_MS', value: '1500' }] },
            }),
          ],
        },
      },
    });
    // Live: the state changes arrive over the stream, then the job's own log lines, then the end.
    await page.locator('#item-live [data-status="succeeded"]').waitFor({ timeout: 30_000 });
    await page.locator('#logs[data-ended="true"]').waitFor({ timeout: 30_000 });
    const logs = (await page.locator('#logs').textContent()) ?? '';
    expect(logs).toContain('Job finished with exit code 0');
    expect(logs).toContain('— end of the stream —');
    const live = (await page.locator('#item-live').textContent()) ?? '';
    expect(live).toContain('SUCCEEDED');
    for (const event of ['enqueued', 'claimed', 'submitted', 'completed']) expect(live).toContain(event);
    const consoleLink = page.locator('#item-live a.job-link');
    expect(await consoleLink.getAttribute('href')).toMatch(
      /^https:\/\/console\.cloud\.google\.com\/vertex-ai\/locations\/us-central1\/training\/\d+\?project=/,
    );
    expect(await consoleLink.getAttribute('rel')).toBe('noopener noreferrer');
    await shot('03-item-succeeded');
    const [item] = await store.list({ queue: 'train' });
    expect(item).toMatchObject({ runId: 'first-run', outcome: 'succeeded', status: 'succeeded' });
  });

  test('cancel another launch from its page', async () => {
    await page.goto(`http://127.0.0.1:${dashboard.port}/queues/train`);
    await page.locator('details.enqueue summary').click();
    await page.fill('input[name="image"]', IMAGE);
    await page.fill('textarea[name="variables"]', 'run_ms=600000');
    await page.fill('input[name="runId"]', 'to-cancel');
    await page.getByRole('button', { name: 'Enqueue' }).click();
    await page.waitForURL('**/items/*');
    await page.locator('#item-live [data-job-state="JOB_STATE_RUNNING"]').waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Cancel launch' }).click();
    await page.locator('#item-live [data-status="cancelled"]').waitFor({ timeout: 30_000 });
    expect(await page.locator('#item-live').textContent()).toContain('cancel_requested');
    await shot('04-item-cancelled');
    const cancelled = (await store.list({ queue: 'train' })).find((i) => i.runId === 'to-cancel');
    expect(cancelled).toMatchObject({ outcome: 'cancelled', status: 'cancelled' });
    expect((await runner.get(cancelled?.jobName ?? '')).state).toBe('JOB_STATE_CANCELLED');
  });

  test('the queue list counts the items by state; the items table links each job to the console', async () => {
    await page.goto(`http://127.0.0.1:${dashboard.port}/`);
    const row = page.locator('#queues tbody tr', { hasText: 'train' });
    expect(await row.locator('[data-count="succeeded"]').textContent()).toBe('1');
    expect(await row.locator('[data-count="cancelled"]').textContent()).toBe('1');
    expect(await row.locator('[data-count="queued"]').textContent()).toBe('0');
    await shot('05-queues');
    await row.getByRole('link', { name: 'train' }).click();
    await page.waitForURL('**/queues/train');
    const items = page.locator('#items tbody tr');
    expect(await items.count()).toBe(2);
    expect(await items.first().textContent()).toContain('CANCELLED');
    expect(await items.first().locator('a.job-link').getAttribute('href')).toContain('console.cloud.google.com');
    expect(await items.nth(1).locator('td').nth(6).textContent()).toBe('1');
  });

  test('agents and doctor pages', async () => {
    await page.goto(`http://127.0.0.1:${dashboard.port}/agents`);
    const row = page.locator(`#agents tr[data-agent="${agent?.id}"]`);
    await row.waitFor();
    const text = (await row.textContent()) ?? '';
    expect(text).toContain('train');
    expect(text).toContain('running');
    await shot('06-agents');
    await page.goto(`http://127.0.0.1:${dashboard.port}/doctor`);
    await page.getByRole('button', { name: 'Run the checks' }).click();
    await page.locator('[data-check="staging-bucket"]').waitFor();
    expect(await page.locator('[data-check="staging-bucket"]').textContent()).toContain(
      'fix: Create it in us-central1.',
    );
    expect(await page.locator('[data-check="credentials"] .mark').textContent()).toBe('✓');
    await shot('07-doctor');
  });

  test('Chromium only ever reached this dashboard on 127.0.0.1', () => {
    expect(requested.length).toBeGreaterThan(10);
    const elsewhere = requested.filter((url) => !url.startsWith(`http://127.0.0.1:${dashboard.port}/`));
    expect(elsewhere).toEqual([]);
  });
});
