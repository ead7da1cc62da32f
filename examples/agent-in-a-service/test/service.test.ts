// examples/agent-in-a-service as a process (`tsx src/server.ts`) against the emulator: launches enqueued over HTTP
// run to SUCCEEDED; SIGTERM stops it cleanly with a launch in flight; a restart on the same database re-attaches to
// that launch's job (no second job) and finishes it.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { v1 } from '@google-cloud/aiplatform';
import { type Emulator, startEmulator } from '@vertex-launch/emulator';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { childEnv, repoRoot, tempDir } from '../../../test/helpers.js';

const exampleDir = join(repoRoot, 'examples', 'agent-in-a-service');
let emulator: Emulator;
let dir: { path: string; cleanup: () => Promise<void> };
const services: Service[] = [];

interface Service {
  child: ChildProcessWithoutNullStreams;
  url: string;
  /** Every JSON log line so far. */
  logs: Array<Record<string, unknown>>;
  exited: Promise<number | null>;
}

/** Starts the service on a free port with the emulator's environment; resolves once it listens. */
async function startService(): Promise<Service> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: exampleDir,
    env: childEnv({
      ...emulator.env,
      PORT: '0',
      QUEUE_DB: join(dir.path, 'launches.db'),
      STAGING_BUCKET: 'gs://vxl-service-example',
      AGENT_POLL_MS: '200',
    }),
  });
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    let buffer = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      buffer += d;
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const record = JSON.parse(buffer.slice(0, nl)) as Record<string, unknown>;
        buffer = buffer.slice(nl + 1);
        logs.push(record);
        if (record.msg === 'listening') resolve(record.url as string);
      }
    });
    void exited.then((code) => reject(new Error(`the service exited (${code}) before listening: ${stderr}`)));
  });
  const service = { child, url, logs, exited };
  services.push(service);
  return service;
}

/** One HTTP request on its own connection (no keep-alive: a reused socket may be closed under a slow event loop). */
function request(service: Service, method: string, path: string, body?: unknown) {
  return new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
    const req = httpRequest(`${service.url}${path}`, { method, headers: { connection: 'close' } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body));
  });
}

/** Polls GET /launches/:id until `done` holds. */
async function waitFor(service: Service, id: string, done: (launch: Record<string, unknown>) => boolean) {
  const deadline = Date.now() + 40_000;
  for (;;) {
    const { body } = await request(service, 'GET', `/launches/${id}`);
    if (done(body)) return body;
    if (Date.now() > deadline) throw new Error(`launch ${id} never got there: ${JSON.stringify(body)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  emulator = await startEmulator({
    jobTimings: { queuedMs: 100, pendingMs: 100, runningMs: 3500 },
    quotas: { vertexReadsPerMinute: 0, vertexCreatesPerMinute: 0 },
  });
  dir = await tempDir('vxl-agent-service-');
});
afterAll(async () => {
  for (const s of services) if (s.child.exitCode === null) s.child.kill('SIGKILL');
  await emulator?.stop();
  await dir?.cleanup();
});

it('enqueues over HTTP, runs to SUCCEEDED, survives SIGTERM with a launch in flight and resumes it after a restart', async () => {
  const image = `us-central1-docker.pkg.dev/${emulator.projectId}/train/trainer:1`;
  const first = await startService();
  const health = await request(first, 'GET', '/healthz');
  expect(health.status).toBe(200);
  expect(health.body).toMatchObject({ ok: true, agent: { state: 'running', active: 0 } });

  // Bad requests are refused with every problem named; nothing is enqueued.
  const notJson = await request(first, 'POST', '/launches', '{"image": ');
  expect(notJson.status).toBe(400);
  expect(notJson.body.error).toMatch(/^The body must be a JSON object/);
  const badVariable = await request(first, 'POST', '/launches', { image, variables: { epochs: 'many' } });
  expect(badVariable.status).toBe(400);
  expect(JSON.stringify(badVariable.body.issues)).toContain('variable `epochs` must be an integer');

  // A launch runs to the end.
  const a = await request(first, 'POST', '/launches', { image, variables: { epochs: '5' }, submitter: 'test' });
  expect(a.status).toBe(202);
  expect(a.body).toMatchObject({ state: 'queued', location: `/launches/${a.body.id}` });
  const doneA = await waitFor(first, a.body.id as string, (l) => l.state === 'finished');
  expect(doneA).toMatchObject({ outcome: 'succeeded', status: 'succeeded', imageUri: image, attempts: 1 });
  const jobs = new v1.JobServiceClient(emulator.jobServiceClientOptions());
  try {
    const [job] = await jobs.getCustomJob({ name: doneA.jobName as string });
    expect(job.state).toBe('JOB_STATE_SUCCEEDED');
    expect(job.jobSpec?.workerPoolSpecs?.[0]?.containerSpec?.args).toEqual(['--epochs', '5']);
    expect(job.labels).toMatchObject({
      launched_by: 'agent-in-a-service',
      'vertex-launch-queue': 'training',
      'vertex-launch-run-id': a.body.runId,
    });
  } finally {
    await jobs.close();
  }

  // A second launch is in flight (submitted, running) when the service gets SIGTERM.
  const b = await request(first, 'POST', '/launches', { image });
  const inFlight = await waitFor(first, b.body.id as string, (l) => typeof l.jobName === 'string');
  first.child.kill('SIGTERM');
  expect(await first.exited).toBe(0);
  expect(first.logs.map((l) => l.msg)).toEqual(expect.arrayContaining(['SIGTERM: shutting down', 'stopped']));

  // Restarted on the same database: the item was given back with its job name and is picked up again.
  const second = await startService();
  const resumed = await request(second, 'GET', `/launches/${b.body.id}`);
  expect(resumed.body).toMatchObject({ jobName: inFlight.jobName });
  expect(['queued', 'claimed', 'finished']).toContain(resumed.body.state);
  const doneB = await waitFor(second, b.body.id as string, (l) => l.state === 'finished');
  expect(doneB).toMatchObject({ outcome: 'succeeded', jobName: inFlight.jobName, attempts: 2 });
  // One job per launch: the restart re-attached instead of submitting again.
  expect(emulator.counters()['aiplatform.customJobs.create']).toBe(2);
  // The first launch is still there, unchanged.
  expect((await request(second, 'GET', `/launches/${a.body.id}`)).body).toMatchObject({ outcome: 'succeeded' });
  expect((await request(second, 'GET', '/launches/nope')).status).toBe(404);

  second.child.kill('SIGTERM');
  expect(await second.exited).toBe(0);
}, 120_000);
