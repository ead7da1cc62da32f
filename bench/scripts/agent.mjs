// Child process (forked with IPC): one launch agent on a SQLite queue with the real Vertex runner, pointed at the
// emulator through its environment. Answers `stats` messages with its CPU, memory, tracker cycles and call counts;
// `stop` stops it. Usage: node agent.mjs <queue db> <queue> <lifted|default>
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { getHeapSpaceStatistics } from 'node:v8';

const [dbPath, queue, quotas] = process.argv.slice(2);
const root = new URL('../..', import.meta.url).pathname;
const load = (pkg, entry = 'index.js') => import(pathToFileURL(join(root, 'packages', pkg, 'dist', entry)).href);
const [{ createAgent }, { auto, resolveCredentials }, { vertexRunner }, { sqliteQueueStore }] = await Promise.all([
  load('core', 'agent/index.js'),
  load('auth'),
  load('vertex'),
  load('queue-sqlite'),
]);

const cycles = [];
let exhausted = 0;
let retries = 0;
const credentials = await resolveCredentials(auto({ env: process.env }), { env: process.env });
const runner = vertexRunner({
  credentials,
  env: process.env,
  // `lifted`: no client-side limit either (the emulator's create quota is lifted too); `default`: Vertex's defaults.
  ...(quotas === 'lifted' ? { quotas: { createsPerMinute: 0, readsPerMinute: 0 } } : {}),
  onTrackerCycle: (cycle) =>
    cycles.push({ at: Date.now(), calls: cycle.listCalls + cycle.getCalls, tracked: cycle.tracked }),
  onRetry: (event) => {
    retries++;
    if (event.error?.code === 8 || /RESOURCE_EXHAUSTED/.test(String(event.error?.message))) exhausted++;
  },
});
const store = sqliteQueueStore({ path: dbPath });
const agent = createAgent({ store, runner, queues: [queue], maxJobs: -1, statusIntervalMs: 0 });

const stats = () => {
  const active = agent.status().active;
  return {
    type: 'stats',
    at: Date.now(),
    cpuUs: process.cpuUsage(),
    rssMb: process.memoryUsage().rss / 1024 / 1024,
    heapUsedMb: process.memoryUsage().heapUsed / 1024 / 1024,
    externalMb: process.memoryUsage().external / 1024 / 1024,
    // Reserved size of each V8 space (new_space is the young generation), in MB: what of the RSS is the JS heap.
    spacesMb: Object.fromEntries(
      getHeapSpaceStatistics().map((s) => [s.space_name.replace(/_space$/, ''), Math.round(s.space_size / 2 ** 20)]),
    ),
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    active: active.length,
    submitted: active.filter((a) => a.jobName !== undefined).length,
    cycles: cycles.length,
    lastCycles: cycles.slice(-20),
    calls: runner.calls(),
    exhausted,
    retries,
    totals: agent.status().totals,
  };
};

process.on('message', async (message) => {
  if (message === 'stats') process.send(stats());
  if (message === 'stop') {
    await agent.stop('bench done');
    await running;
    await runner.close();
    await store.close();
    process.send({ ...stats(), type: 'stopped' });
    process.disconnect();
  }
});
const running = agent.start();
running.catch((error) => {
  console.error(error);
  process.exit(1);
});
process.send({ type: 'ready', at: Date.now(), cpuUs: process.cpuUsage() });
