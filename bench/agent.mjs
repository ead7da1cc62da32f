// Benchmark 4: one agent (a child process: its CPU and RSS are its own) draining 1,000 queued launches into the
// emulator and then tracking the 1,000 running jobs. Calls are counted by the emulator; CPU and peak RSS by the agent.
import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchDir, childEnv, dist, sleep } from './lib.mjs';

/** Queued (then running) jobs: 1,000, or 200 with --quick (set by benchAgent). */
let JOBS = 1000;

const queueConfig = {
  spec: {
    display_name: 'bench-${run_id}',
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

/** Starts an emulator, enqueues `JOBS` items and forks the agent; returns handles to drive it. */
async function setup({ quotas, work }) {
  const [{ startEmulator }, { sqliteQueueStore }] = await Promise.all([dist('emulator'), dist('queue-sqlite')]);
  const emulator = await startEmulator({
    // Jobs reach RUNNING at once and stay there for an hour: the agent tracks 1,000 running jobs.
    jobTimings: { queuedMs: 100, pendingMs: 100, runningMs: 3_600_000 },
    quotas,
  });
  const dbPath = join(work, `queues-${Date.now()}.db`);
  const store = sqliteQueueStore({ path: dbPath });
  await store.createQueue({ name: 'bench', config: queueConfig, project: emulator.projectId, region: emulator.region });
  const image = `us-central1-docker.pkg.dev/${emulator.projectId}/train/trainer:1`;
  for (let i = 0; i < JOBS; i++) await store.enqueue('bench', { image });
  await store.close();
  return { emulator, dbPath };
}

function startAgent(dbPath, mode, env) {
  const child = fork(join(benchDir, 'scripts', 'agent.mjs'), [dbPath, 'bench', mode], {
    env: childEnv(env),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiters = [];
  child.on('message', (m) => {
    const i = waiters.findIndex((w) => w.type === m.type);
    if (i >= 0) waiters.splice(i, 1)[0].resolve(m);
  });
  child.on('exit', (code) => {
    for (const w of waiters.splice(0)) w.reject(new Error(`the agent exited (${code}) before sending ${w.type}`));
  });
  const next = (type) => new Promise((resolve, reject) => waiters.push({ type, resolve, reject }));
  return {
    ready: next('ready'),
    stats: () => {
      const p = next('stats');
      child.send('stats');
      return p;
    },
    stop: async () => {
      const p = next('stopped');
      child.send('stop');
      const last = await p;
      await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)));
      return last;
    },
    kill: () => child.kill('SIGKILL'),
  };
}

const cpuMs = (s) => (s.cpuUs.user + s.cpuUs.system) / 1000;
const readsOf = (c) => (c['aiplatform.customJobs.list'] ?? 0) + (c['aiplatform.customJobs.get'] ?? 0);

/** Least-squares slope of `samples` ({ at, rssMb }), in MB per minute. */
export function slopeMbPerMin(samples) {
  const n = samples.length;
  if (n < 2) return Number.NaN;
  const xs = samples.map((s) => (s.at - samples[0].at) / 60_000);
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = samples.reduce((a, s) => a + s.rssMb, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (samples[i].rssMb - my);
    den += (xs[i] - mx) ** 2;
  }
  return num / den;
}

/**
 * Drain with the create quota lifted, then track 1,000 running jobs for `windowMs`. With `soakMs`, the tracking
 * goes on for that long instead, the agent's RSS sampled every 10 s, and the row is the slope of RSS over it.
 */
async function liftedRun({ windowMs, soakMs, work, log }) {
  const { emulator, dbPath } = await setup({ quotas: { vertexCreatesPerMinute: 0, vertexReadsPerMinute: 0 }, work });
  const agent = startAgent(dbPath, 'lifted', emulator.env);
  try {
    const ready = await agent.ready;
    let s;
    for (;;) {
      await sleep(250);
      s = await agent.stats();
      if (s.submitted >= JOBS) break;
      if (Date.now() - ready.at > 300_000) throw new Error(`only ${s.submitted} of ${JOBS} submitted in 5 minutes`);
    }
    const drainMs = s.at - ready.at;
    log(
      `agent: ${JOBS} submitted in ${(drainMs / 1000).toFixed(1)} s (quota lifted); tracking for ${(soakMs ?? windowMs) / 1000} s`,
    );
    // Let every job reach RUNNING and the tracker see it, then measure a quiet window of tracking.
    await sleep(3_000);
    const before = await agent.stats();
    const calls0 = emulator.counters();
    if (soakMs !== undefined) return await soak({ agent, before, soakMs, log });
    await sleep(windowMs);
    const after = await agent.stats();
    const calls1 = emulator.counters();
    const last = after;
    agent.kill();
    const cycles = after.cycles - before.cycles;
    const reads = readsOf(calls1) - readsOf(calls0);
    const windowCycles = after.lastCycles.filter((c) => c.at > before.at);
    const maxPerCycle = Math.max(0, ...windowCycles.map((c) => c.calls));
    const trackedMin = Math.min(...windowCycles.map((c) => c.tracked));
    const cpuPerMin = ((cpuMs(after) - cpuMs(before)) / (after.at - before.at)) * 60_000;
    log(
      `agent: ${cycles} cycles, ${reads} reads in the window (max ${maxPerCycle} per cycle, ${trackedMin} tracked), ` +
        `CPU ${(cpuPerMin / 1000).toFixed(2)} s/min, peak RSS ${last.maxRssMb.toFixed(0)} MB`,
    );
    if (trackedMin < JOBS) throw new Error(`the tracker followed only ${trackedMin} jobs`);
    return [
      {
        id: 'agent-calls-per-cycle',
        benchmark: 'Agent scale',
        metric: `Vertex API calls per poll cycle, ${JOBS} running jobs (${cycles} cycles in ${windowMs / 1000} s, max ${maxPerCycle})`,
        value: cycles > 0 ? reads / cycles : Number.NaN,
        unit: 'count',
        limit: 2,
      },
      {
        id: 'agent-cpu',
        benchmark: 'Agent scale',
        metric: `agent CPU while tracking ${JOBS} jobs (user + system, per minute)`,
        value: cpuPerMin,
        unit: 'ms',
      },
      {
        id: 'agent-rss',
        benchmark: 'Agent scale',
        metric: `agent peak RSS (drain + tracking of ${JOBS} jobs)`,
        value: last.maxRssMb,
        unit: 'MB',
        limit: 200,
      },
      {
        id: 'agent-rss-tracking',
        benchmark: 'Agent scale',
        metric: `agent RSS at the end of the tracking window (${JOBS} running jobs, ${windowMs / 1000} s after the drain; the peak is the drain's)`,
        value: after.rssMb,
        unit: 'MB',
      },
      {
        id: 'agent-drain-lifted',
        benchmark: 'Agent scale',
        metric: `drain ${JOBS} queued items to submitted, max_jobs -1, create quota lifted`,
        value: drainMs,
        unit: 'ms',
      },
    ];
  } finally {
    agent.kill();
    await emulator.stop();
  }
}

/** The soak of {@link liftedRun}: RSS sampled every 10 s while 1,000 running jobs are tracked for `soakMs`. */
async function soak({ agent, before, soakMs, log }) {
  const samples = [{ at: before.at, rssMb: before.rssMb, heapUsedMb: before.heapUsedMb }];
  const end = before.at + soakMs;
  while (Date.now() < end) {
    await sleep(Math.min(10_000, Math.max(0, end - Date.now())));
    const s = await agent.stats();
    samples.push({ at: s.at, rssMb: s.rssMb, heapUsedMb: s.heapUsedMb });
    if (samples.length % 6 === 0)
      log(
        `agent soak: ${((s.at - before.at) / 60_000).toFixed(1)} min, RSS ${s.rssMb.toFixed(0)} MB, heap ${s.heapUsedMb.toFixed(0)} MB`,
      );
  }
  const last = await agent.stats();
  const slope = slopeMbPerMin(samples);
  const heapSlope = slopeMbPerMin(samples.map((s) => ({ at: s.at, rssMb: s.heapUsedMb })));
  // The first minutes still return the drain's garbage, which pulls the whole slope down: the second half alone too.
  const lateSlope = slopeMbPerMin(samples.filter((s) => s.at >= before.at + soakMs / 2));
  const minutes = (last.at - before.at) / 60_000;
  log(
    `agent soak: ${minutes.toFixed(1)} min, RSS ${samples[0].rssMb.toFixed(0)} -> ${last.rssMb.toFixed(0)} MB ` +
      `(slope ${slope.toFixed(2)} MB/min, second half ${lateSlope.toFixed(2)} MB/min, heap ${heapSlope.toFixed(2)} MB/min), ` +
      `peak RSS ${last.maxRssMb.toFixed(0)} MB`,
  );
  return [
    {
      id: 'agent-soak-rss-slope',
      benchmark: 'Agent scale',
      metric: `agent RSS slope over a ${minutes.toFixed(0)}-minute soak tracking ${JOBS} jobs (least squares over ${samples.length} samples; RSS ${samples[0].rssMb.toFixed(0)} -> ${last.rssMb.toFixed(0)} MB; second half ${lateSlope.toFixed(2)} MB/min; heap slope ${heapSlope.toFixed(2)} MB/min)`,
      value: slope,
      unit: 'MB/min',
      limit: 0.5,
    },
    {
      id: 'agent-soak-rss',
      benchmark: 'Agent scale',
      metric: `agent peak RSS over the drain and the soak (${JOBS} jobs)`,
      value: last.maxRssMb,
      unit: 'MB',
      limit: 200,
    },
  ];
}

/**
 * Drain under Vertex's default quotas (60 creates per minute in the emulator and in the runner) for `windowMs`:
 * 1,000 creates take 17 minutes at that rate, so the run is bounded and the drain time projected from the rate.
 */
async function defaultQuotaRun({ windowMs, work, log }) {
  const { emulator, dbPath } = await setup({ quotas: {}, work });
  const agent = startAgent(dbPath, 'default', emulator.env);
  try {
    const ready = await agent.ready;
    const samples = [];
    const end = ready.at + windowMs;
    while (Date.now() < end) {
      await sleep(250);
      samples.push({ at: Date.now(), creates: emulator.counters()['aiplatform.customJobs.create'] ?? 0 });
    }
    // Not stopped gracefully: hundreds of creates wait in the runner's limiter. Its numbers are taken first.
    const last = await agent.stats();
    agent.kill();
    const creates = emulator.counters()['aiplatform.customJobs.create'] ?? 0;
    // The most create calls the emulator received in any 60 s window.
    let maxPerMinute = 0;
    for (const a of samples) {
      const b = samples.findLast((x) => x.at <= a.at + 60_000) ?? a;
      const before = samples.findLast((x) => x.at < a.at - 250);
      maxPerMinute = Math.max(maxPerMinute, b.creates - (before?.creates ?? 0));
    }
    const exhausted = last.exhausted;
    const rate = (last.submitted / (last.at - ready.at)) * 60_000;
    const projectedMs = ((JOBS - 60) / 60) * 60_000; // a first minute of 60 at once, then 60 per minute
    log(
      `agent (default quota): ${last.submitted} submitted in ${(windowMs / 1000).toFixed(0)} s, ${creates} create calls, ` +
        `max ${maxPerMinute} in a minute, ${exhausted} RESOURCE_EXHAUSTED`,
    );
    return [
      {
        id: 'agent-default-quota-rate',
        benchmark: 'Agent scale',
        metric: `default quota (60 creates/min): create calls in any minute of a ${(windowMs / 1000).toFixed(0)} s window (${last.submitted} submitted, ${rate.toFixed(0)}/min overall; drain of ${JOBS} projected at ${(projectedMs / 60_000).toFixed(1)} min)`,
        value: maxPerMinute,
        unit: 'count',
        limit: 60,
      },
      {
        id: 'agent-default-quota-exhausted',
        benchmark: 'Agent scale',
        metric: 'default quota: RESOURCE_EXHAUSTED answers seen by the agent',
        value: exhausted,
        unit: 'count',
        limit: 0,
      },
    ];
  } finally {
    agent.kill();
    await emulator.stop();
  }
}

/**
 * Log following at scale: `followed` running jobs followed for `windowMs` through one runner (one Cloud Logging query
 * per poll for all of them), against the same jobs followed through a runner each (a query per job per poll, what a
 * reader per job costs). Reads are counted by the emulator; the runner polls every 2 s (its default).
 */
async function followRun({ followed, windowMs, log }) {
  const [{ startEmulator }, { auto, resolveCredentials }, { vertexRunner }] = await Promise.all([
    dist('emulator'),
    dist('auth'),
    dist('vertex'),
  ]);
  const emulator = await startEmulator({
    jobTimings: { queuedMs: 50, pendingMs: 50, runningMs: 3_600_000 },
    quotas: { vertexCreatesPerMinute: 0, vertexReadsPerMinute: 0 },
  });
  const credentials = await resolveCredentials(auto({ env: emulator.env }), { env: emulator.env });
  const runnerOf = () =>
    vertexRunner({
      credentials,
      projectId: emulator.projectId,
      region: emulator.region,
      env: emulator.env,
      quotas: { createsPerMinute: 0, readsPerMinute: 0 },
    });
  const image = `us-central1-docker.pkg.dev/${emulator.projectId}/train/trainer:1`;
  const submitter = runnerOf();
  const runners = [submitter];
  try {
    const jobs = [];
    for (let i = 0; i < followed; i++) {
      const launchId = `bench-follow-${i}`;
      jobs.push(
        await submitter.submit(
          {
            parent: `projects/${emulator.projectId}/locations/${emulator.region}`,
            customJob: {
              displayName: launchId,
              labels: { 'vertex-launch-launch-id': launchId },
              jobSpec: {
                workerPoolSpecs: [
                  {
                    machineSpec: { machineType: 'n1-standard-4' },
                    replicaCount: 1,
                    containerSpec: { imageUri: image },
                  },
                ],
              },
            },
          },
          { launchId },
        ),
      );
    }
    const measure = async (runnerFor) => {
      const controllers = jobs.map(() => new AbortController());
      emulator.resetCounters();
      const reading = jobs.map(async ({ jobName }, i) => {
        const { signal } = controllers[i];
        try {
          for await (const _ of runnerFor(i).logs(jobName, { follow: true, signal }));
        } catch (error) {
          if (!signal.aborted) throw error;
        }
      });
      await sleep(windowMs);
      const reads = emulator.counters()['logging.entries.list'] ?? 0;
      for (const controller of controllers) controller.abort(new Error('bench window over'));
      await Promise.all(reading);
      return (reads / windowMs) * 60_000;
    };
    const shared = await measure(() => submitter);
    const own = Array.from({ length: followed }, () => runnerOf());
    runners.push(...own);
    const separate = await measure((i) => own[i]);
    log(
      `logs: ${followed} jobs followed, ${shared.toFixed(0)} reads/min through one runner, ${separate.toFixed(0)} with a reader each`,
    );
    return [
      {
        id: 'logs-reads-per-minute',
        benchmark: 'Log following',
        metric: `Cloud Logging entries:list reads per minute, ${followed} jobs followed through one runner (Logging allows ~60/min per project)`,
        value: shared,
        unit: 'count',
        baseline: separate,
        baselineLabel: `a reader per job (${followed} readers, a query each per poll)`,
        limit: 60,
      },
    ];
  } finally {
    await Promise.all(runners.map((r) => r.close().catch(() => undefined)));
    await emulator.stop();
  }
}

export async function benchAgent({ quick = false, soak = false, log }) {
  JOBS = quick ? 200 : 1000;
  const work = await mkdtemp(join(tmpdir(), 'vxl-bench-agent-'));
  try {
    // --soak: only the 10-minute soak (2 minutes with --quick).
    if (soak) return await liftedRun({ soakMs: quick ? 120_000 : 600_000, work, log });
    const rows = await liftedRun({ windowMs: quick ? 20_000 : 60_000, work, log });
    rows.push(...(await defaultQuotaRun({ windowMs: quick ? 10_000 : 80_000, work, log })));
    rows.push(...(await followRun({ followed: quick ? 20 : 100, windowMs: quick ? 8_000 : 30_000, log })));
    return rows;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
