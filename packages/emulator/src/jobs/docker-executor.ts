/**
 * Runs a CustomJob's first replica (`workerpool0-0`) as a Docker container, the way Vertex would: the image is
 * pulled from the emulator's registry with the Vertex service agent's credentials, the container gets the
 * spec's command, args and env plus Vertex's `AIP_*`, `CLOUD_ML_*`, `CLUSTER_SPEC` and `TF_CONFIG`, runs with
 * host networking, and its stdout/stderr become the job's log entries (INFO / ERROR) while it runs. Containers
 * carry the `vertex-launch-emulator=1` label and are removed when the run ends; cancel and timeout kill them.
 */
import type Dockerode from 'dockerode';
import { connectDocker, EMULATOR_LABEL, hasImage, pullImage } from '../docker/client.js';
import { runAttached } from '../docker/container.js';
import { parseRegistryImage } from '../registry/names.js';
import type { JobExecutor, JobRun, JobRunContext, JobRunResult } from './executor.js';

/** Options of {@link dockerExecutor}. */
export interface DockerExecutorOptions {
  /** Docker socket. Default: `DOCKER_HOST` (unix://) or /var/run/docker.sock. */
  socketPath?: string;
  /** How long to wait for the log streams to drain after the container exits. Default 2000 ms. */
  drainMs?: number;
}

/** TF_CONFIG task types of the four Vertex worker pools. */
const TF_TYPES = ['chief', 'worker', 'ps', 'evaluator'] as const;

/** The environment Vertex gives replica workerpool0-0 of `job` (before the spec's own env). */
export function vertexEnvironment(job: JobRun, projectId: string | undefined): Record<string, string> {
  const env: Record<string, string> = { CLOUD_ML_JOB_ID: job.id };
  if (projectId) env.CLOUD_ML_PROJECT_ID = projectId;
  const base = job.spec?.baseOutputDirectory?.outputUriPrefix;
  if (base) {
    const dir = base.endsWith('/') ? base : `${base}/`;
    env.AIP_MODEL_DIR = `${dir}model/`;
    env.AIP_CHECKPOINT_DIR = `${dir}checkpoints/`;
    env.AIP_TENSORBOARD_LOG_DIR = `${dir}logs/`;
  }
  const pools = job.spec?.workerPoolSpecs ?? [{ replicaCount: 1 }];
  const cluster: Record<string, string[]> = {};
  const tfCluster: Record<string, string[]> = {};
  pools.forEach((pool, i) => {
    const count = Number(pool.replicaCount ?? 0);
    if (!(count > 0)) return;
    const hosts = Array.from({ length: count }, (_, r) => `workerpool${i}-${r}:2222`);
    cluster[`workerpool${i}`] = hosts;
    tfCluster[TF_TYPES[i] ?? `workerpool${i}`] = hosts;
  });
  const jobJson = { worker_pool_specs: pools.length };
  env.CLUSTER_SPEC = JSON.stringify({
    cluster,
    environment: 'cloud',
    task: { type: 'workerpool0', index: 0 },
    job: JSON.stringify(jobJson),
  });
  env.TF_CONFIG = JSON.stringify({
    cluster: tfCluster,
    task: { type: 'chief', index: 0 },
    environment: 'cloud',
    job: jobJson,
  });
  return env;
}

/**
 * A {@link JobExecutor} that runs jobs on the local Docker daemon. Only images from the emulator's registry (any
 * `*-docker.pkg.dev` URI) or already present locally can run: it never pulls from anywhere else.
 */
export function dockerExecutor(options: DockerExecutorOptions = {}): JobExecutor {
  let dockerPromise: Promise<Dockerode> | undefined;
  const docker = () => {
    dockerPromise ??= connectDocker(options.socketPath);
    return dockerPromise;
  };
  const running = new Map<string, { container: Dockerode.Container; done: Promise<unknown> }>();
  let closed = false;

  const resolveImage = async (d: Dockerode, job: JobRun, ctx: JobRunContext): Promise<string | JobRunResult> => {
    const services = ctx.services;
    const isArtifactRegistry = parseRegistryImage(job.imageUri) !== undefined;
    if (isArtifactRegistry && services) {
      const local = `${services.registryAddress()}/${job.imageUri}`;
      try {
        await pullImage(d, local, services.pullAuth());
        return local;
      } catch (error) {
        const message = `Unable to pull the image ${job.imageUri}: ${(error as Error).message}. Push it first (the emulator serves it as ${local}), and make sure its repository exists.`;
        ctx.log(message, 'ERROR');
        return { exitCode: 1, error: { code: 3, message } };
      }
    }
    if (await hasImage(d, job.imageUri)) return job.imageUri;
    const message = `The image ${job.imageUri} is not in the emulator's registry and not present in the local Docker; the emulator never pulls from other registries. Push it to <location>-docker.pkg.dev/<project>/<repository>/<image> in the emulator.`;
    ctx.log(message, 'ERROR');
    return { exitCode: 1, error: { code: 3, message } };
  };

  const run = async (job: JobRun, ctx: JobRunContext): Promise<JobRunResult> => {
    if (closed) throw new Error('The Docker executor is closed.');
    const d = await docker();
    const image = await resolveImage(d, job, ctx);
    if (typeof image !== 'string') return image;
    if (ctx.signal.aborted) return { exitCode: 137 };

    const replicas = (job.spec?.workerPoolSpecs ?? []).reduce((n, p) => n + Number(p.replicaCount ?? 0), 0);
    if (replicas > 1) {
      ctx.log(
        `The emulator runs replica workerpool0-0 only; the other ${replicas - 1} replicas are simulated.`,
        'WARNING',
      );
    }
    if (job.resumed) ctx.log('The emulator restarted: running workerpool0-0 again from the start.', 'WARNING');

    const env = { ...vertexEnvironment(job, ctx.services?.projectId), ...job.env };
    const name = `vxl-emulator-job-${job.id}`;
    await d
      .getContainer(name)
      .remove({ force: true })
      .catch(() => undefined);
    const container = await d.createContainer({
      name,
      Image: image,
      ...(job.command.length > 0 ? { Entrypoint: [...job.command] } : {}),
      ...(job.args.length > 0 || job.command.length > 0 ? { Cmd: [...job.args] } : {}),
      Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      Labels: { [EMULATOR_LABEL]: '1', [`${EMULATOR_LABEL}.job`]: job.id },
      HostConfig: { NetworkMode: 'host' },
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
    });
    let finished!: () => void;
    const done = new Promise<void>((resolve) => {
      finished = resolve;
    });
    running.set(job.id, { container, done });
    try {
      const exitCode = await runAttached(d, container, {
        signal: ctx.signal,
        stdout: (line) => ctx.log(line, 'INFO'),
        stderr: (line) => ctx.log(line, 'ERROR'),
        drainMs: options.drainMs ?? 2000,
      });
      return { exitCode };
    } finally {
      await container.remove({ force: true }).catch(() => undefined);
      running.delete(job.id);
      finished();
    }
  };

  return {
    name: 'docker',
    run,
    async close() {
      closed = true;
      const runs = [...running.values()];
      await Promise.all(runs.map((r) => r.container.kill().catch(() => undefined)));
      await Promise.race([Promise.all(runs.map((r) => r.done)), new Promise((r) => setTimeout(r, 5000))]);
      await Promise.all(runs.map((r) => r.container.remove({ force: true }).catch(() => undefined)));
    },
  };
}
