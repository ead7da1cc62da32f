// Benchmark 3: launch latency of whole `vertex-launch` processes against the emulator, interleaved with baselines: a
// minimal script that only constructs the aiplatform JobServiceClient and calls createCustomJob once, and `node -e 0`.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchDir, childEnv, dist, median, repoRoot, run } from './lib.mjs';

const cli = join(repoRoot, 'packages', 'cli', 'dist', 'bin.js');

const QUEUE_CONFIG = `spec:
  display_name: bench-\${run_id}
  worker_pool_specs:
    - machine_spec:
        machine_type: n1-standard-4
      replica_count: 1
      container_spec:
        image_uri: \${image_uri}
        env:
          - { name: VXL_EMULATOR_RUN_MS, value: "60000" }
  staging_bucket: gs://vxl-bench-staging
`;

export async function benchLaunch({ quick = false, log }) {
  const { startEmulator } = await dist('emulator');
  const emulator = await startEmulator({ quotas: { vertexCreatesPerMinute: 0, vertexReadsPerMinute: 0 } });
  const work = await mkdtemp(join(tmpdir(), 'vxl-bench-launch-'));
  try {
    const image = `us-central1-docker.pkg.dev/${emulator.projectId}/train/trainer:1`;
    // A submit checks its image in Artifact Registry first: the emulator holds a placeholder of it.
    await emulator.seedImage(image);
    const queueFile = join(work, 'queue.yaml');
    await writeFile(queueFile, QUEUE_CONFIG);
    const env = childEnv(emulator.env);
    const launchArgs = [cli, 'launch', '--queue-config', queueFile, '--image', image];
    // The baseline submits the very request the CLI builds.
    const dry = await run(process.execPath, [...launchArgs, '--dry-run', '--json'], { env });
    const requestFile = join(work, 'request.json');
    await writeFile(requestFile, dry.stdout);
    const baselineArgs = [join(benchDir, 'scripts', 'create-job.mjs'), requestFile];

    const reps = quick ? 1 : 7;
    const t = { dry: [], submit: [], base: [], help: [], node: [] };
    // One untimed round first: the OS file cache holds every module afterwards, for every side alike (not in --quick,
    // where the dry run above warmed most of it).
    const first = quick ? 0 : -1;
    for (let i = first; i < reps; i++) {
      const round = {
        base: (await run(process.execPath, baselineArgs, { env })).ms,
        dry: (await run(process.execPath, [...launchArgs, '--dry-run', '--json'], { env })).ms,
        submit: (await run(process.execPath, launchArgs, { env })).ms,
        node: (await run(process.execPath, ['-e', '0'], { env })).ms,
        help: (await run(process.execPath, [cli, '--help'], { env })).ms,
      };
      if (i >= 0) for (const [k, v] of Object.entries(round)) t[k].push(v);
    }
    const created = emulator.counters()['aiplatform.customJobs.create'] ?? 0;
    const rounds = reps - first;
    if (created !== 2 * rounds) throw new Error(`expected ${2 * rounds} jobs created, the emulator saw ${created}`);
    log(
      `launch: dry-run ${median(t.dry).toFixed(0)} ms, submit ${median(t.submit).toFixed(0)} ms, ` +
        `createCustomJob script ${median(t.base).toFixed(0)} ms; --help ${median(t.help).toFixed(0)} ms vs node -e 0 ${median(t.node).toFixed(0)} ms`,
    );
    const baselineLabel = 'script: new JobServiceClient + createCustomJob';
    return [
      {
        id: 'launch-dry-run',
        benchmark: 'Launch latency',
        metric: '`vertex-launch launch --dry-run --json`, whole process',
        value: median(t.dry),
        unit: 'ms',
        baseline: median(t.base),
        baselineLabel,
        target: 1.3,
        runs: reps,
      },
      {
        id: 'launch-submit',
        benchmark: 'Launch latency',
        metric: '`vertex-launch launch` submit to the emulator (existing image), whole process',
        value: median(t.submit),
        unit: 'ms',
        baseline: median(t.base),
        baselineLabel,
        target: 1.3,
        runs: reps,
      },
      {
        id: 'cli-help',
        benchmark: 'Launch latency',
        metric: '`vertex-launch --help`, whole process',
        value: median(t.help),
        unit: 'ms',
        baseline: median(t.node),
        baselineLabel: 'node -e 0',
        target: 3,
        runs: reps,
      },
    ];
  } finally {
    await emulator.stop();
    await rm(work, { recursive: true, force: true });
  }
}
