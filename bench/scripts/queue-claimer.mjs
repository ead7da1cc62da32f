// One claimer of the queue benchmark (bench/queue.mjs): its own process and its own store (one connection for
// PostgreSQL), as an agent on its own machine would have. Prints `ready`, waits for `go` on stdin, then claims and
// completes items until `durationMs` has passed or the queue is empty, timing each claim. A call that fails with a
// storage error (SQLite's write lock held longer than its 5 s busy timeout) is counted and tried again, as an agent
// would on its next poll. Prints one JSON line last: { completed, busy, latenciesUs: [...], startedAt, endedAt }.
import { createInterface } from 'node:readline';
import { dist } from '../lib.mjs';

const [kind, target, agentId, durationArg] = process.argv.slice(2);
const durationMs = Number(durationArg);
const store =
  kind === 'postgres'
    ? (await dist('queue-postgres')).postgresQueueStore({ connectionString: target, maxConnections: 1, migrate: false })
    : (await dist('queue-sqlite')).sqliteQueueStore({ path: target });
if (kind === 'postgres') await store.ready();
// One claim before the clock starts: statements, pages and the connection are warm for every store alike.
await store.getQueue('bench');
process.stdout.write('ready\n');
for await (const line of createInterface({ input: process.stdin })) if (line === 'go') break;

const latenciesUs = [];
let completed = 0;
let busy = 0;
/** Runs `fn` until it does not fail with a storage error. */
async function retried(fn) {
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      if (error?.reason !== 'storage') throw error;
      busy += 1;
    }
  }
}
const startedAt = Date.now();
const deadline = startedAt + durationMs;
while (Date.now() < deadline) {
  const t0 = process.hrtime.bigint();
  const item = await retried(() => store.claim({ agentId, queues: ['bench'], leaseMs: 600_000 }));
  const t1 = process.hrtime.bigint();
  if (item === undefined) break;
  latenciesUs.push(Number(t1 - t0) / 1000);
  await retried(() => store.complete(item.id, agentId, { status: 'succeeded', jobName: `jobs/${item.id}` }));
  completed += 1;
}
const endedAt = Date.now();
await store.close();
process.stdout.write(`${JSON.stringify({ completed, busy, latenciesUs, startedAt, endedAt })}\n`);
