/**
 * `vertex-launch demo`: the whole path on the bundled emulator, no Google account needed. Starts the emulator
 * in this process, builds `examples/hello` with local Docker when the daemon answers (pushing it to the
 * emulator's Artifact Registry), enqueues it on a queue made from the example's queue config, lets an agent
 * launch it, follows its logs to the end, and stops the emulator. Without Docker the job runs on the emulator's
 * clock with an image that is not built.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ImageBuilder, loadConfigFile, type QueueItem } from '@vertex-launch/core';
import { type AgentLogger, createAgent } from '@vertex-launch/core/agent';
import { ExitCode } from '../exit-codes.js';
import type { GlobalOptions } from '../options.js';
import { dim, green, type Io, printJson, red } from '../output.js';
import { builderFactory, builderRuntime, commandRuntime, openStore } from '../runtime.js';

export interface DemoOptions extends GlobalOptions {
  /** `--no-docker`: run the job on the emulator's clock even when Docker answers. */
  docker?: boolean;
  epochs?: string;
  /** `--ui`: serve the dashboard on the demo's store and emulator until Ctrl-C. */
  ui?: boolean;
  /** `--no-open` sets it to false: print the dashboard URL without opening a browser. */
  open?: boolean;
}

const QUEUE = 'demo';

/** Where the hello example is: shipped next to the built CLI, or in the repository when run from sources. */
export function findHelloDir(): string {
  const candidates = [
    fileURLToPath(new URL('../demo/hello/', import.meta.url)), // dist/commands/demo.js -> dist/demo/hello
    fileURLToPath(new URL('../../../../examples/hello/', import.meta.url)), // src/commands/demo.ts -> examples/hello
  ];
  const found = candidates.find((dir) => existsSync(join(dir, 'queue.yaml')));
  if (!found) throw new Error(`The demo's job files are missing (looked in ${candidates.join(', ')}).`);
  return found;
}

export default async function demo(options: DemoOptions, io: Io): Promise<number> {
  const t0 = Date.now();
  const say = (text: string) => io.stderr(`${dim(io, `[${((Date.now() - t0) / 1000).toFixed(1)}s]`)} ${text}\n`);
  const epochs = options.epochs ?? '3';

  const [{ startEmulator, buildBusyboxBaseImage }, { vertexRunner }] = await Promise.all([
    import('@vertex-launch/emulator'),
    import('@vertex-launch/vertex'),
  ]);

  say('starting the emulator (a local Google Cloud: IAM, Vertex AI, Cloud Storage, Logging, Artifact Registry)');
  const emulator = await startEmulator({
    executor: options.docker === false ? 'clock' : 'auto',
    jobTimings: { queuedMs: 300, pendingMs: 300, runningMs: 1500 },
  });
  const work = await mkdtemp(join(tmpdir(), 'vxl-demo-'));
  const savedEnv = { ...process.env };
  let dashboard: Awaited<ReturnType<typeof import('./ui.js').demoDashboard>> | undefined;
  try {
    // Point every client of this process at the emulator, as `vertex-launch emulator start` tells users to.
    Object.assign(process.env, emulator.env);
    const env = { ...process.env };
    const { projectId: project, region } = emulator;
    say(`emulator up: project ${project}, region ${region}, jobs run with the ${emulator.executor} executor`);

    // The demo's runtime: the emulator's project and region, its endpoints, credentials from its environment.
    const runtime = await commandRuntime({ project, region, agentConfig: false, db: join(work, 'queues.db') }, env, {
      credentials: true,
      gcloud: false,
    });
    const credentials = runtime.credentials as NonNullable<typeof runtime.credentials>;
    say(`credentials: ${credentials.source}`);

    const helloDir = findHelloDir();
    const repository = `${region}-docker.pkg.dev/${project}/demo`;
    let builder: ImageBuilder | undefined;
    let request: { image?: string; source?: string };
    if (emulator.executor === 'docker') {
      say('building the busybox base image FROM scratch and pushing it to the emulator registry');
      await buildBusyboxBaseImage({ emulator, imageUri: `${repository}/busybox:1` });
      builder = (await builderFactory('docker', 'demo'))({ env }, builderRuntime(runtime));
      request = { source: helloDir };
    } else {
      const why = options.docker === false ? 'Docker not used (--no-docker)' : 'Docker is not available';
      say(red(io, `${why}: the job runs on the emulator clock with an image that is not built`));
      request = { image: `${repository}/hello:prebuilt` };
    }

    const store = await openStore(runtime.queueDb);
    const config = await loadConfigFile(join(helloDir, 'queue.yaml'));
    await store.createQueue({ name: QUEUE, config, project, region, description: 'vertex-launch demo' });
    const item = await store.enqueue(QUEUE, { ...request, variables: { epochs }, submitter: 'vertex-launch demo' });
    say(`enqueued item ${item.id} on queue "${QUEUE}" (${request.source ? `source ${helloDir}` : request.image})`);

    const runner = vertexRunner({
      credentials,
      projectId: project,
      region,
      endpoints: runtime.endpoints,
      tracker: { minIntervalMs: 250, maxIntervalMs: 1000 },
      logs: { pollIntervalMs: 300, lagMs: 2000 },
    });
    if (options.ui)
      dashboard = await (await import('./ui.js')).demoDashboard(store, runner, io, options.open !== false);
    let finished: (value: QueueItem) => void = () => {};
    let finishWithError: (error: unknown) => void = () => {};
    const done = new Promise<QueueItem>((resolve, reject) => {
      finished = resolve;
      finishWithError = reject;
    });
    const agent = createAgent({
      store,
      runner,
      queues: [QUEUE],
      maxJobs: 1,
      project,
      region,
      pollIntervalMs: 200,
      statusIntervalMs: 0,
      ...(builder ? { builder, imageRepository: `${repository}/hello`, builderCredentials: credentials } : {}),
      logger: agentLogger(say),
      onItemFinished: (finishedItem) => {
        if (finishedItem.id === item.id) finished(finishedItem);
      },
    });
    say('agent started: claiming the item, building, submitting, tracking');
    // start() resolves when the agent has stopped; a rejection (e.g. a missing queue) ends the demo.
    const running = agent.start();
    running.catch(finishWithError);

    // Follow the job's logs once the agent has persisted its name.
    const follow = new AbortController();
    const logsDone = (async () => {
      let jobName: string | undefined;
      while (!jobName && !follow.signal.aborted) {
        jobName = (await store.get(item.id))?.jobName;
        if (!jobName) await new Promise((r) => setTimeout(r, 100));
      }
      if (!jobName) return;
      say(`job ${jobName}`);
      try {
        for await (const entry of runner.logs(jobName, { follow: true, signal: follow.signal })) {
          io.stderr(`${dim(io, '  │')} ${entry.text}\n`);
        }
      } catch (error) {
        if (!follow.signal.aborted) throw error;
      }
    })();

    const final = await done;
    // Give the log reader one more poll for the last lines, then stop it.
    await new Promise((r) => setTimeout(r, 1200));
    follow.abort();
    await logsDone;
    if (dashboard) await dashboard.serveUntilSignal();
    await agent.stop();
    await running;
    await store.close();

    const ok = final.outcome === 'succeeded';
    const summary = {
      ok,
      outcome: final.outcome,
      status: final.status,
      jobName: final.jobName,
      imageUri: final.imageUri,
      built: builder !== undefined,
      executor: emulator.executor,
      failure: final.failure,
      elapsedSeconds: Math.round((Date.now() - t0) / 100) / 10,
    };
    if (options.json) printJson(io, summary);
    else if (ok) io.stdout(`${green(io, '✓')} demo job ${final.jobName} SUCCEEDED (image ${final.imageUri})\n`);
    else
      io.stdout(`${red(io, '✗')} demo job ended ${final.status ?? final.outcome}: ${final.failure?.message ?? ''}\n`);
    return ok ? ExitCode.OK : ExitCode.JOB_FAILED;
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
    Object.assign(process.env, savedEnv);
    await dashboard?.close();
    await emulator.stop();
    await rm(work, { recursive: true, force: true });
    say('emulator stopped');
  }
}

function agentLogger(say: (text: string) => void): AgentLogger {
  return {
    debug: () => {},
    info: (_fields, message) => say(`agent: ${message}`),
    warn: (_fields, message) => say(`agent: ${message}`),
    error: (_fields, message) => say(`agent: ${message}`),
  };
}
