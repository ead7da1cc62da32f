// Benchmark 6: the queue stores under concurrent claimers. 1, 4 and 16 agents — each a process with its own store,
// as agents on their own machines — claim and complete items from one prefilled queue for a fixed window, on
// PostgreSQL (a private cluster on loopback, fsync on) and on SQLite (one file, WAL, synchronous = FULL): both make
// every commit durable, so the comparison is fair. Measured: claim+complete throughput and the p99 of claim latency.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { benchDir, childEnv, dist, repoRoot } from './lib.mjs';

const AGENTS = [1, 4, 16];
const queueConfig = {
  spec: {
    worker_pool_specs: [
      {
        machine_spec: { machine_type: 'n1-standard-4' },
        replica_count: 1,
        container_spec: { image_uri: '${image_uri}' },
      },
    ],
    staging_bucket: 'gs://vxl-bench-staging',
  },
};

/** `items` queued launches as an export (one transaction to load, instead of one enqueue each). */
function prefill(items, at) {
  const iso = new Date(at).toISOString();
  const records = [
    { kind: 'header', format: 'vertex-launch-queues', version: 1, exportedAt: iso, source: 'bench' },
    {
      kind: 'queue',
      queue: { name: 'bench', resource: 'gcp-vertex', config: queueConfig, createdAt: iso, updatedAt: iso },
    },
  ];
  for (let i = 0; i < items; i++) {
    const runId = `r${i.toString(36).padStart(7, '0')}`;
    records.push({
      kind: 'item',
      item: {
        id: randomUUID(),
        queue: 'bench',
        launchId: randomUUID(),
        runId,
        request: { image: `us-docker.pkg.dev/p/r/i:${i}` },
        state: 'queued',
        cancelRequested: false,
        attempts: 0,
        enqueuedAt: iso,
        updatedAt: iso,
        events: [{ at: iso, type: 'enqueued', message: `enqueued: run ${runId}` }],
      },
    });
  }
  return records;
}

function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Starts `n` claimers on `target`, releases them together, and sums what they report. */
async function runClaimers(kind, target, n, durationMs) {
  const children = Array.from({ length: n }, (_, i) => {
    const child = spawn(
      process.execPath,
      [join(benchDir, 'scripts', 'queue-claimer.mjs'), kind, target, `bench-agent-${i}`, String(durationMs)],
      { env: childEnv(), stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const lines = [];
    const ready = new Promise((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        lines.push(line);
        if (line === 'ready') resolve();
      });
      child.once('exit', (code) => reject(new Error(`claimer ${i} exited (${code}) before it was ready`)));
    });
    const done = new Promise((resolve, reject) =>
      child.once('close', (code) =>
        code === 0 ? resolve(JSON.parse(lines.at(-1))) : reject(new Error(`claimer ${i} exited ${code}`)),
      ),
    );
    return { child, ready, done };
  });
  await Promise.all(children.map((c) => c.ready));
  for (const c of children) c.child.stdin.end('go\n');
  const results = await Promise.all(children.map((c) => c.done));
  const completed = results.reduce((sum, r) => sum + r.completed, 0);
  const busy = results.reduce((sum, r) => sum + r.busy, 0);
  const wallMs = Math.max(...results.map((r) => r.endedAt)) - Math.min(...results.map((r) => r.startedAt));
  const latencies = results.flatMap((r) => r.latenciesUs).sort((a, b) => a - b);
  return { completed, busy, perSecond: (completed / wallMs) * 1000, p99Ms: percentile(latencies, 99) / 1000, wallMs };
}

export async function benchQueue({ quick, log }) {
  const durationMs = quick ? 2_000 : 6_000;
  const items = quick ? 6_000 : 20_000;
  const [{ sqliteQueueStore }, { postgresQueueStore }] = await Promise.all([
    dist('queue-sqlite'),
    dist('queue-postgres'),
  ]);
  const { startPostgresCluster } = await import(pathToFileURL(join(repoRoot, 'scripts', 'postgres-cluster.mjs')).href);
  const work = await mkdtemp(join(tmpdir(), 'vxl-bench-queue-'));
  const cluster = await startPostgresCluster({ fsync: true, settings: ['max_connections = 100'] });
  const results = {};
  try {
    for (const n of AGENTS) {
      for (const kind of ['sqlite', 'postgres']) {
        const target =
          kind === 'sqlite' ? join(work, `queues-${n}.db`) : cluster.url.replace(/\/postgres$/, `/bench${n}`);
        if (kind === 'postgres') await cluster.psql(`CREATE DATABASE bench${n}`);
        const store =
          kind === 'sqlite' ? sqliteQueueStore({ path: target }) : postgresQueueStore({ connectionString: target });
        await store.importRecords(prefill(items, Date.now()));
        await store.close();
        const result = await runClaimers(kind, target, n, durationMs);
        if (result.completed >= items)
          log(`queue ${kind} ${n}: the ${items} prefilled items ran out before the window ended`);
        log(
          `queue ${kind} x${n}: ${result.completed} claim+complete in ${result.wallMs} ms = ${result.perSecond.toFixed(0)}/s, p99 claim ${result.p99Ms.toFixed(2)} ms, ${result.busy} calls timed out and retried`,
        );
        results[`${kind}-${n}`] = result;
      }
    }
  } finally {
    await cluster.close();
    await rm(work, { recursive: true, force: true });
  }
  const rows = [];
  for (const n of AGENTS) {
    const pg = results[`postgres-${n}`];
    const sqlite = results[`sqlite-${n}`];
    const agents = `${n} agent${n === 1 ? '' : 's'} (processes)`;
    const retries = (r) => (r.busy > 0 ? `, ${r.busy} calls timed out on the lock and were retried` : '');
    rows.push(
      {
        id: `queue-throughput-${n}`,
        benchmark: 'Queue store',
        metric: `claim+complete per second, ${agents}, PostgreSQL (${pg.completed} in ${(pg.wallMs / 1000).toFixed(1)} s${retries(pg)})`,
        unit: '/s',
        value: pg.perSecond,
        baseline: sqlite.perSecond,
        baselineLabel: `SQLite, ${sqlite.completed} in ${(sqlite.wallMs / 1000).toFixed(1)} s${retries(sqlite)}`,
      },
      {
        id: `queue-claim-p99-${n}`,
        benchmark: 'Queue store',
        metric: `p99 claim latency (a claim retried after a timeout counts once, with its wait), ${agents}, PostgreSQL`,
        unit: 'ms',
        value: pg.p99Ms,
        baseline: sqlite.p99Ms,
        baselineLabel: 'SQLite',
      },
    );
  }
  return rows;
}
