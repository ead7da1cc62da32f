// One "machine" of the PostgreSQL reliability test (test/reliability/postgres-agents.test.ts): a process running
// core's createAgent() on the PostgreSQL queue store, with the Vertex runner on the emulator — what
// `vertex-launch agent` does with `queue_db: postgres://...` (packages/cli/test/agent-postgres.test.ts runs the CLI
// itself), with a higher attempt budget than the CLI's default because this test kills agents often. Built packages
// (dist/) are used, as the CLI uses them. Logs JSON lines on stdout (the agent's pino-shaped logger); SIGTERM
// stops it cleanly.
//
//   node pg-agent.mjs <agentId> <queue>   env: VXL_PG_URL, VXL_PROJECT, VXL_REGION, the emulator's env, HOME
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [agentId, queue] = process.argv.slice(2);
const repo = join(import.meta.dirname, '..', '..', '..');
const pkg = (name, entry = 'index.js') => import(pathToFileURL(join(repo, 'packages', name, 'dist', entry)).href);
const [{ createAgent }, { auto, resolveCredentials }, { vertexRunner }, { postgresQueueStore }] = await Promise.all([
  pkg('core', 'agent/index.js'),
  pkg('auth'),
  pkg('vertex'),
  pkg('queue-postgres'),
]);

const write = (level) => (fields, msg) =>
  process.stdout.write(`${JSON.stringify({ level, time: Date.now(), ...fields, msg })}\n`);
const logger = { debug: () => {}, info: write('info'), warn: write('warn'), error: write('error') };

const env = process.env;
const credentials = await resolveCredentials(auto({ env }), { env, homedir: env.HOME });
const runners = [];
const runnerFor = (target) => {
  const runner = vertexRunner({
    credentials,
    projectId: target.project,
    region: target.region,
    env,
    quotas: { createsPerMinute: 0, readsPerMinute: 0 },
    tracker: { minIntervalMs: 100, maxIntervalMs: 500 },
    // The emulator commits a create before it answers (no `late` faults here): a short lookup window settles an item
    // resumed at `submitting` (default 5 minutes, for servers that commit after the client's deadline).
    createLookup: { windowMs: 2_000, intervalMs: 200 },
  });
  runners.push(runner);
  return runner;
};
// Load the Google client before any lease is held (its first load blocks the event loop).
const project = env.VXL_PROJECT;
const region = env.VXL_REGION;
await runnerFor({ project, region }).list({ limit: 1 });

const store = postgresQueueStore({ connectionString: env.VXL_PG_URL, maxConnections: 4, applicationName: agentId });
const agent = createAgent({
  store,
  runner: runnerFor,
  queues: [queue],
  maxJobs: Number(env.VXL_MAX_JOBS ?? 8),
  project,
  region,
  pollIntervalMs: 100,
  leaseMs: Number(env.VXL_LEASE_MS ?? 4000),
  // Killed agents must not use up an item's attempts: the test kills often.
  maxAttempts: 50,
  statusIntervalMs: 0,
  agentId,
  logger,
  env,
});
process.once('SIGTERM', () => void agent.stop('SIGTERM'));
try {
  await agent.start();
} finally {
  await Promise.all(runners.map((runner) => runner.close().catch(() => undefined)));
  await store.close();
}
