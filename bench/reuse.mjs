// Benchmark 5: a relaunch of unchanged sources must build nothing and upload nothing. Counted by the emulator:
// Cloud Build builds created, bytes uploaded to Cloud Storage (the context), and registry pushes; the first launch of
// the same sources is the baseline. Through the SDK's launch pipeline (Cloud Build builder) and through the CLI
// (`launch --source`, local Docker builder).
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childEnv, dist, repoRoot, run } from './lib.mjs';

const PUSH = 'artifactregistry.docker.push';
const BUILDS = 'cloudbuild.builds.create';
const BYTES = 'storage.uploads.bytes';

function delta(before, after) {
  const out = {};
  for (const key of [PUSH, BUILDS, BYTES, 'aiplatform.customJobs.create'])
    out[key] = (after[key] ?? 0) - (before[key] ?? 0);
  return out;
}

export async function benchReuse({ log }) {
  const [
    { buildBusyboxBaseImage, startEmulator },
    core,
    { auto, resolveCredentials },
    { vertexRunner },
    { cloudBuild },
  ] = await Promise.all([dist('emulator'), dist('core'), dist('auth'), dist('vertex'), dist('builder-cloudbuild')]);
  const emulator = await startEmulator({ jobTimings: { queuedMs: 50, pendingMs: 50, runningMs: 200 } });
  const work = await mkdtemp(join(tmpdir(), 'vxl-bench-reuse-'));
  try {
    // examples/hello builds FROM this base; no public registry is reachable.
    await buildBusyboxBaseImage({
      emulator,
      imageUri: `us-central1-docker.pkg.dev/${emulator.projectId}/demo/busybox:1`,
    });
    const source = join(work, 'hello');
    await cp(join(repoRoot, 'examples', 'hello'), source, { recursive: true });
    const parsed = await loadYaml(await readFile(join(source, 'queue.yaml'), 'utf8'));

    // SDK: launch() with the Cloud Build builder, twice.
    const env = { ...emulator.env };
    const credentials = await resolveCredentials(auto({ env }), { env, warn: () => undefined });
    const runner = vertexRunner({ credentials, env, projectId: emulator.projectId, region: emulator.region });
    const builder = cloudBuild({ credentials, env, pollIntervalMs: 200 });
    const image = `us-central1-docker.pkg.dev/${emulator.projectId}/demo/hello-cb`;
    const sdkLaunch = async () => {
      const before = emulator.counters();
      const events = [];
      await core.launch({
        config: parsed,
        projectId: emulator.projectId,
        region: emulator.region,
        env,
        source: { contextDir: source, image },
        builder,
        runner,
        onEvent: (e) => events.push(e.type),
      });
      return { ...delta(before, emulator.counters()), skipped: events.includes('build-skipped') };
    };
    const sdkFirst = await sdkLaunch();
    const sdkAgain = await sdkLaunch();
    await runner.close();
    log(`reuse (Cloud Build): first ${JSON.stringify(sdkFirst)}, relaunch ${JSON.stringify(sdkAgain)}`);

    // CLI: `launch --source` with the local Docker builder, twice, as whole processes.
    const cliRepo = `us-central1-docker.pkg.dev/${emulator.projectId}/demo/hello-docker`;
    const args = [
      join(repoRoot, 'packages', 'cli', 'dist', 'bin.js'),
      'launch',
      '--queue-config',
      join(source, 'queue.yaml'),
      '--source',
      source,
      '--image',
      cliRepo,
    ];
    const cliEnv = childEnv({ ...emulator.env, XDG_CACHE_HOME: join(work, 'cache') });
    const cliLaunch = async () => {
      const before = emulator.counters();
      const r = await run(process.execPath, args, { env: cliEnv });
      return {
        ...delta(before, emulator.counters()),
        built: /Building /.test(r.stderr),
        skipped: /Build skipped/.test(r.stderr),
      };
    };
    const cliFirst = await cliLaunch();
    const cliAgain = await cliLaunch();
    log(`reuse (CLI, Docker): first ${JSON.stringify(cliFirst)}, relaunch ${JSON.stringify(cliAgain)}`);
    if (sdkAgain['aiplatform.customJobs.create'] !== 1 || cliAgain['aiplatform.customJobs.create'] !== 1) {
      throw new Error('a relaunch did not submit its job');
    }

    return [
      {
        id: 'reuse-cloudbuild-builds',
        benchmark: 'Build reuse',
        metric: `relaunch of unchanged sources, SDK + Cloud Build: builds created (first launch: ${sdkFirst[BUILDS]})`,
        value: sdkAgain[BUILDS],
        unit: 'count',
        limit: 0,
      },
      {
        id: 'reuse-cloudbuild-bytes',
        benchmark: 'Build reuse',
        metric: `relaunch of unchanged sources, SDK + Cloud Build: context bytes uploaded (first launch: ${sdkFirst[BYTES].toLocaleString('en')} B)`,
        value: sdkAgain[BYTES],
        unit: 'bytes',
        limit: 0,
      },
      {
        id: 'reuse-docker-builds',
        benchmark: 'Build reuse',
        metric: `relaunch of unchanged sources, CLI + local Docker: builds (first launch: ${cliFirst.built ? 1 : 0})`,
        value: cliAgain.built ? 1 : 0,
        unit: 'count',
        limit: 0,
      },
      {
        id: 'reuse-docker-pushes',
        benchmark: 'Build reuse',
        metric: `relaunch of unchanged sources, CLI + local Docker: registry upload requests (first launch: ${cliFirst[PUSH]})`,
        value: cliAgain[PUSH],
        unit: 'count',
        limit: 0,
      },
    ];
  } finally {
    await removeBenchImages(emulator).catch(() => undefined);
    await emulator.stop();
    await rm(work, { recursive: true, force: true });
  }
}

/** Removes the local image tags this run made: its own repositories, and everything under this emulator's registry. */
async function removeBenchImages(emulator) {
  const listed = await run('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}'], { env: process.env });
  const registry = emulator.registry?.address;
  const mine = listed.stdout
    .split('\n')
    .filter((ref) => /\/demo\/hello-(cb|docker):/.test(ref) || (registry && ref.startsWith(`${registry}/`)));
  if (mine.length > 0) await run('docker', ['rmi', '-f', ...mine], { env: process.env, allowFailure: true });
}

async function loadYaml(text) {
  const { createRequire } = await import('node:module');
  const require = createRequire(join(repoRoot, 'packages', 'core', 'package.json'));
  return require('yaml').parse(text);
}
