/**
 * A small Node HTTP service with a launch agent inside: clients enqueue launches over HTTP, the embedded agent
 * (`createAgent` from @vertex-launch/core) claims them from a SQLite queue, submits them as Vertex AI CustomJobs and
 * follows them to the end. Every step is persisted in the queue database, so a restart picks up where it stopped.
 *
 *   POST /launches        {"image": "...", "variables": {"epochs": "5"}, "runId"?: "...", "submitter"?: "..."}
 *                         -> 202 {"id", "runId", "state", "location"}; 400 with every problem of the request
 *   GET  /launches/:id    -> 200 the launch: state, phase, outcome, status, jobName, failure, ...; 404
 *   GET  /healthz         -> 200 {"ok": true, "agent": {...}} while serving; 503 while shutting down
 *
 * SIGTERM (or SIGINT): stop accepting requests, stop the agent (it stops claiming, stops following its jobs — they
 * keep running on Vertex AI — and gives its items back with their job names), close the database, exit 0.
 *
 * Environment: STAGING_BUCKET (read by queue.yaml), PORT (8080; 0 picks a free one), HOST (127.0.0.1), QUEUE_DB
 * (./launches.db), QUEUE (training), QUEUE_CONFIG (./queue.yaml, used when the queue does not exist yet), MAX_JOBS
 * (2), AGENT_POLL_MS (2000), and what `auto()` of @vertex-launch/auth reads for credentials, project and region.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { auto, resolveCredentials } from '@vertex-launch/auth';
import { ConfigError, loadConfigFile, type QueueItem } from '@vertex-launch/core';
import { type AgentLogger, createAgent } from '@vertex-launch/core/agent';
import { sqliteQueueStore } from '@vertex-launch/queue-sqlite';
import { vertexRunner } from '@vertex-launch/vertex';

const env = process.env;
const queue = env.QUEUE ?? 'training';

/** One JSON line per log record on stdout. */
function log(level: string, message: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...fields })}\n`);
}
const agentLogger: AgentLogger = {
  debug: () => {},
  info: (fields, message) => log('info', message, { component: 'agent', ...fields }),
  warn: (fields, message) => log('warn', message, { component: 'agent', ...fields }),
  error: (fields, message) => log('error', message, { component: 'agent', ...fields }),
};

const credentials = await resolveCredentials(auto());
const project = credentials.projectId;
const region = credentials.region ?? 'us-central1';
if (!project) throw new Error('No project: set GOOGLE_CLOUD_PROJECT (or use credentials that name one).');

const store = sqliteQueueStore({ path: env.QUEUE_DB ?? 'launches.db' });
if (!(await store.getQueue(queue))) {
  const file = env.QUEUE_CONFIG ?? 'queue.yaml';
  await store.createQueue({ name: queue, config: await loadConfigFile(file), project, region });
  log('info', `created queue ${queue} from ${file}`);
}
const runner = vertexRunner({ credentials, projectId: project, region });
const agent = createAgent({
  store,
  runner,
  queues: [queue],
  maxJobs: Number(env.MAX_JOBS ?? 2),
  project,
  region,
  pollIntervalMs: Number(env.AGENT_POLL_MS ?? 2000),
  logger: agentLogger,
  // Queue configs read only the variables listed here with `${env:NAME}` (queue.yaml reads STAGING_BUCKET).
  allowedEnv: ['STAGING_BUCKET'],
});

/** What GET /launches/:id answers: the persisted item, without its history. */
function launchJson(item: QueueItem) {
  return {
    id: item.id,
    queue: item.queue,
    runId: item.runId,
    launchId: item.launchId,
    state: item.state,
    phase: item.phase ?? null,
    outcome: item.outcome ?? null,
    status: item.status ?? null,
    jobName: item.jobName ?? null,
    imageUri: item.imageUri ?? null,
    failure: item.failure ?? null,
    attempts: item.attempts,
    enqueuedAt: item.enqueuedAt,
    updatedAt: item.updatedAt,
    finishedAt: item.finishedAt ?? null,
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  let text = '';
  for await (const chunk of req) {
    text += chunk;
    if (text.length > 64 * 1024) throw new SyntaxError('request body over 64 KiB');
  }
  return JSON.parse(text);
}

let stopping = false;

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://service');
  if (req.method === 'GET' && url.pathname === '/healthz') {
    const status = agent.status();
    return send(res, stopping ? 503 : 200, {
      ok: !stopping,
      agent: { id: status.agentId, state: status.state, active: status.active.length, totals: status.totals },
    });
  }
  if (req.method === 'POST' && url.pathname === '/launches') {
    if (stopping) return send(res, 503, { error: 'shutting down' });
    let body: Record<string, unknown>;
    try {
      body = (await readJson(req)) as Record<string, unknown>;
      if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new SyntaxError('expected an object');
    } catch (error) {
      return send(res, 400, { error: `The body must be a JSON object: ${(error as Error).message}` });
    }
    try {
      const item = await store.enqueue(queue, {
        image: body.image as string,
        ...(body.variables === undefined ? {} : { variables: body.variables as Record<string, string> }),
        ...(body.runId === undefined ? {} : { runId: body.runId as string }),
        ...(body.submitter === undefined ? {} : { submitter: body.submitter as string }),
      });
      log('info', `enqueued ${item.id}`, { item: item.id, runId: item.runId });
      res.setHeader('location', `/launches/${item.id}`);
      return send(res, 202, { id: item.id, runId: item.runId, state: item.state, location: `/launches/${item.id}` });
    } catch (error) {
      if (error instanceof ConfigError) {
        return send(res, 400, { error: error.message, issues: error.issues });
      }
      throw error;
    }
  }
  const match = /^\/launches\/([^/]+)$/.exec(url.pathname);
  if (req.method === 'GET' && match) {
    const item = await store.get(decodeURIComponent(match[1] as string));
    return item ? send(res, 200, launchJson(item)) : send(res, 404, { error: 'no such launch' });
  }
  return send(res, 404, { error: `no route for ${req.method} ${url.pathname}` });
}

const server = createServer((req, res) => {
  handle(req, res).catch((error: unknown) => {
    log('error', 'request failed', { error: (error as Error).message, url: req.url });
    if (!res.headersSent) send(res, 500, { error: 'internal error' });
  });
});
server.listen(Number(env.PORT ?? 8080), env.HOST ?? '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const { address, port } = server.address() as AddressInfo;
log('info', 'listening', { url: `http://${address}:${port}`, queue, project, region });

const running = agent.start();

async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log('info', `${signal}: shutting down`);
  // Stop accepting connections; requests already in progress finish.
  const closed = new Promise((resolve) => server.close(resolve));
  server.closeIdleConnections();
  // The agent stops claiming and gives its items back, each with its phase and job name, for the next start.
  await agent.stop(signal);
  await running;
  await closed;
  await runner.close();
  await store.close();
  log('info', 'stopped');
}
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));
