// Benchmark: how fast a launch recovers from a stockout (issue #20). One agent (in this process, SQLite store, the
// real Vertex runner) drains a queue whose config asks for an L4 in us-central1, where the emulator has none, and
// whose first `fallback` alternative is europe-west4. Measured: from the moment the agent learned of the stockout
// (the item's `retried` event) to the fallback job RUNNING (its `running` phase), against the baseline of the same
// launch from enqueue to RUNNING where there is capacity — both in the same run, on the same emulator timings.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dist, median, sleep } from './lib.mjs';

const EU = 'europe-west4';

function queueConfig(fallback) {
  return {
    spec: {
      worker_pool_specs: [
        {
          machine_spec: { machine_type: 'g2-standard-8', accelerator_type: 'NVIDIA_L4', accelerator_count: 1 },
          replica_count: 1,
          container_spec: { image_uri: '${image_uri}', env: [{ name: 'VXL_EMULATOR_RUN_MS', value: '300' }] },
        },
      ],
      staging_bucket: 'gs://vxl-bench-us',
    },
    ...(fallback ? { fallback: [{ region: EU, staging_bucket: 'gs://vxl-bench-eu' }] } : {}),
  };
}

const at = (item, test) => Date.parse(item.events.find(test)?.at ?? 'x');

export async function benchCapacity({ quick, log }) {
  const runs = quick ? 3 : 10;
  const [{ startEmulator }, { auto, resolveCredentials }, { vertexRunner }, { sqliteQueueStore }, { createAgent }] =
    await Promise.all([
      dist('emulator'),
      dist('auth'),
      dist('vertex'),
      dist('queue-sqlite'),
      dist('core', 'agent/index.js'),
    ]);
  const emulator = await startEmulator({
    executor: 'clock',
    regions: ['us-central1', EU],
    jobTimings: { queuedMs: 50, pendingMs: 100, runningMs: 300, cancellingMs: 20 },
    quotas: { vertexReadsPerMinute: 0, vertexCreatesPerMinute: 0 },
  });
  const dir = await mkdtemp(join(tmpdir(), 'vxl-bench-capacity-'));
  const credentials = await resolveCredentials(auto({ env: emulator.env }), { env: emulator.env });
  const runnerOf = (region) =>
    vertexRunner({
      credentials,
      projectId: emulator.projectId,
      region,
      env: emulator.env,
      quotas: { createsPerMinute: 0, readsPerMinute: 0 },
      tracker: { minIntervalMs: 50, maxIntervalMs: 250 },
    });
  const runners = { 'us-central1': runnerOf('us-central1'), [EU]: runnerOf(EU) };
  const store = sqliteQueueStore({ path: join(dir, 'queues.db') });
  const image = 'us-docker.pkg.dev/vxl-emulator/train/trainer:1';
  try {
    await store.createQueue({
      name: 'direct',
      config: queueConfig(false),
      project: emulator.projectId,
      region: 'us-central1',
    });
    await store.createQueue({
      name: 'ladder',
      config: queueConfig(true),
      project: emulator.projectId,
      region: 'us-central1',
    });
    const agent = createAgent({
      store,
      runner: (target) => runners[target.region],
      queues: ['direct', 'ladder'],
      maxJobs: 1,
      pollIntervalMs: 50,
      statusIntervalMs: 0,
      logger: { debug() {}, info() {}, warn() {}, error() {} },
    });
    const running = agent.start();
    const base = [];
    const fallback = [];
    const until = async (id, test) => {
      for (;;) {
        const item = await store.get(id);
        if (test(item)) return item;
        await sleep(20);
      }
    };
    const isRunning = (e) => e.type === 'phase' && e.phase === 'running';
    for (let i = 0; i < runs; i++) {
      emulator.setCapacity([]);
      const a = await store.enqueue('direct', { image, runId: `direct-${i}` });
      const direct = await until(a.id, (item) => item.state === 'finished');
      base.push(at(direct, isRunning) - at(direct, (e) => e.type === 'enqueued'));
      emulator.setCapacity([{ region: 'us-central1', acceleratorType: 'NVIDIA_L4', available: 0 }]);
      const b = await store.enqueue('ladder', { image, runId: `ladder-${i}` });
      const laddered = await until(b.id, (item) => item.state === 'finished');
      if (laddered.outcome !== 'succeeded' || laddered.rung !== 1) {
        throw new Error(`the ladder launch ended ${laddered.outcome} on rung ${laddered.rung}`);
      }
      const retried = at(laddered, (e) => e.type === 'retried');
      const after = laddered.events.slice(laddered.events.findIndex((e) => e.type === 'retried'));
      fallback.push(Date.parse(after.find(isRunning)?.at ?? 'x') - retried);
    }
    await agent.stop('bench done');
    await running;
    log(
      `capacity: stockout -> fallback RUNNING ${median(fallback).toFixed(0)} ms; enqueue -> RUNNING ${median(base).toFixed(0)} ms`,
    );
    return [
      {
        id: 'capacity-fallback',
        benchmark: 'Capacity fallback',
        metric: 'stockout seen -> fallback job (europe-west4) RUNNING, agent + emulator',
        value: median(fallback),
        unit: 'ms',
        baseline: median(base),
        baselineLabel: 'enqueue -> RUNNING with capacity',
        target: 1.5,
        runs,
      },
    ];
  } finally {
    await store.close();
    for (const runner of Object.values(runners)) await runner.close();
    await emulator.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
