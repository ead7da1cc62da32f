import { on } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildRequest, ImageBuilder } from '../build/contract.js';
import { ConfigError, PermissionError } from '../errors.js';
import { JOB_STATES, jobStateToStatus } from '../job-state.js';
import type { CreateCustomJobRequest } from '../mapping/custom-job.js';
import { type LaunchEvent, LaunchProgress } from './events.js';
import { formatJobName, jobConsoleUrl, parseJobName, resolveJobName } from './job-name.js';
import { launch } from './pipeline.js';
import type { JobLogEntry, JobRunner, JobSnapshot, JobWatchListener } from './runner.js';
import { WaitTimeoutError, waitForJob } from './wait.js';

/** An in-memory JobRunner: jobs move through `script` states one per `get()`. */
function memoryRunner(script: string[] = ['JOB_STATE_PENDING', 'JOB_STATE_RUNNING', 'JOB_STATE_SUCCEEDED']) {
  const jobs = new Map<string, { snapshot: JobSnapshot; step: number }>();
  const submitted: { request: CreateCustomJobRequest; launchId: string }[] = [];
  const snapshot = (name: string, state: string, labels: Record<string, string>): JobSnapshot => {
    const { status, terminal } = jobStateToStatus(state);
    const parts = parseJobName(name)!;
    return {
      name,
      id: parts.id,
      region: parts.region,
      displayName: 'job',
      state,
      status,
      terminal,
      createTime: new Date(),
      startTime: undefined,
      endTime: undefined,
      updateTime: new Date(),
      error: state === 'JOB_STATE_FAILED' ? { code: 3, message: 'replica exited 1' } : undefined,
      labels,
      imageUri: undefined,
      consoleUrl: jobConsoleUrl(parts),
    };
  };
  const runner: JobRunner & { submitted: typeof submitted } = {
    name: 'memory',
    submitted,
    jobName: (ref) => resolveJobName(ref, { project: 'p', region: 'us-central1' }),
    async submit(request, { launchId }) {
      submitted.push({ request, launchId });
      const name = formatJobName({ project: 'p', region: 'us-central1', id: String(1000 + jobs.size) });
      const job = snapshot(name, 'JOB_STATE_QUEUED', request.customJob.labels);
      jobs.set(name, { snapshot: job, step: 0 });
      return { jobName: name, job, existing: false };
    },
    async get(name) {
      const entry = jobs.get(name)!;
      const state = script[Math.min(entry.step, script.length - 1)]!;
      entry.step += 1;
      entry.snapshot = snapshot(name, state, entry.snapshot.labels);
      return entry.snapshot;
    },
    async list() {
      return [...jobs.values()].map((j) => j.snapshot);
    },
    async cancel(name) {
      return snapshot(name, 'JOB_STATE_CANCELLED', jobs.get(name)!.snapshot.labels);
    },
    async *logs(): AsyncIterable<JobLogEntry> {
      yield { timestamp: '2026-01-01T00:00:00Z', severity: 'INFO', text: 'hello', insertId: '1', task: undefined };
    },
    consoleUrl: (name) => jobConsoleUrl(parseJobName(name)!),
  };
  return runner;
}

const CONFIG = {
  spec: {
    worker_pool_specs: [
      { machine_spec: { machine_type: 'n1-standard-4' }, container_spec: { image_uri: '${image_uri}' } },
    ],
    staging_bucket: 'gs://bucket',
  },
};
const fast = { pollIntervalMs: { min: 1, max: 2 } };

describe('launch with an image', () => {
  it('resolves, submits with the launch id, and waits to the end, emitting typed events in order', async () => {
    const runner = memoryRunner();
    const events: LaunchEvent[] = [];
    const handle = await launch({
      config: CONFIG,
      projectId: 'p',
      region: 'us-central1',
      image: 'us-docker.pkg.dev/p/r/train:1',
      runId: 'run1',
      launchId: 'launch-1',
      runner,
      onEvent: (e) => events.push(e),
    });
    expect(handle.jobName).toBe('projects/p/locations/us-central1/customJobs/1000');
    expect(handle.consoleUrl).toBe(
      'https://console.cloud.google.com/vertex-ai/locations/us-central1/training/1000?project=p',
    );
    expect(runner.submitted).toHaveLength(1);
    expect(runner.submitted[0]?.launchId).toBe('launch-1');
    const { customJob } = runner.submitted[0]!.request;
    expect(customJob.labels).toMatchObject({ 'vertex-launch-run-id': 'run1', 'vertex-launch-launch-id': 'launch-1' });
    expect(customJob.jobSpec.workerPoolSpecs[0]?.containerSpec?.imageUri).toBe('us-docker.pkg.dev/p/r/train:1');

    const final = await handle.wait(fast);
    expect(final.state).toBe('JOB_STATE_SUCCEEDED');
    expect(events.map((e) => (e.type === 'state-changed' ? `${e.type}:${e.state}` : e.type))).toEqual([
      'resolved',
      'submitted',
      'state-changed:JOB_STATE_PENDING',
      'state-changed:JOB_STATE_RUNNING',
      'state-changed:JOB_STATE_SUCCEEDED',
      'finished',
    ]);
    const changed = events.filter((e) => e.type === 'state-changed');
    expect(changed[0]).toMatchObject({ previousState: 'JOB_STATE_QUEUED', status: 'pending' });
    expect(events.at(-1)).toMatchObject({ type: 'finished', status: 'succeeded', error: undefined });
    const logs: string[] = [];
    for await (const entry of handle.logs()) logs.push(entry.text);
    expect(logs).toEqual(['hello']);
  });

  it('refuses an invalid config before submitting anything, naming every problem', async () => {
    const runner = memoryRunner();
    const error = await launch({
      config: { spec: { worker_pool_specs: [] } },
      projectId: 'p',
      region: 'us-central1',
      image: 'img',
      runner,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((i) => i.path)).toEqual(
      expect.arrayContaining(['spec.worker_pool_specs', 'spec.staging_bucket']),
    );
    expect(runner.submitted).toHaveLength(0);
  });

  it('needs exactly one of image and source', async () => {
    const runner = memoryRunner();
    await expect(launch({ config: CONFIG, projectId: 'p', region: 'us-central1', runner })).rejects.toThrow(
      /Nothing to run/,
    );
    await expect(
      launch({
        config: CONFIG,
        projectId: 'p',
        region: 'us-central1',
        runner,
        image: 'img',
        source: { image: 'repo/img', contextDir: '.' },
      }),
    ).rejects.toThrow(/not both/);
  });
});

describe('launch options, as plain JS passes them', () => {
  it('misnamed or unknown options are errors naming the right name', async () => {
    const runner = memoryRunner();
    const error = await launch({
      config: CONFIG,
      project: 'p',
      location: 'us-central1',
      image: 'img',
      runner,
    } as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe(
      '[vertex-launch] [launch] 2 problems with the options:\n' +
        '  - Unknown option `project`; did you mean `projectId`?\n' +
        '  - Unknown option `location`; did you mean `region`?',
    );
    expect(runner.submitted).toHaveLength(0);
  });

  it('takes project and region from the runtime (named by source in errors), else the runner; never projects/undefined', async () => {
    const runner = Object.assign(memoryRunner(), { projectId: 'p', region: 'us-central1' });
    const fromRunner = await launch({ config: CONFIG, image: 'img', runner, runId: 'r1' });
    expect(fromRunner.request.parent).toBe('projects/p/locations/us-central1');

    const events: LaunchEvent[] = [];
    const progress = new LaunchProgress();
    progress.on('resolved', (event) => events.push(event));
    await launch({
      config: CONFIG,
      image: 'img',
      runner: memoryRunner(),
      runtime: {
        projectId: { value: 'p', source: { kind: 'env', name: 'GOOGLE_CLOUD_PROJECT' } },
        region: {
          value: 'us-central1',
          source: { kind: 'gcloud', property: 'ai/region', configuration: 'default', file: 'f' },
        },
      },
      onEvent: progress.onEvent,
    });
    expect(events).toEqual([expect.objectContaining({ type: 'resolved', projectId: 'p', region: 'us-central1' })]);

    const bare = memoryRunner();
    const missing = await launch({ config: CONFIG, image: 'img', runner: bare }).catch((e: unknown) => e);
    expect((missing as ConfigError).message).toContain('No project: pass `projectId`');
    expect((missing as ConfigError).message).toContain('No region: pass `region`');
    const wrong = await launch({
      config: CONFIG,
      image: 'img',
      runner: bare,
      runtime: {
        projectId: { value: 'p', source: { kind: 'flag', name: '--project' } },
        region: { value: 'US-CENTRAL1', source: { kind: 'env', name: 'GOOGLE_CLOUD_REGION' } },
      },
    }).catch((e: unknown) => e);
    expect((wrong as ConfigError).message).toBe(
      '[vertex-launch] [launch] region "US-CENTRAL1" (from $GOOGLE_CLOUD_REGION) is not a Vertex AI region like us-central1.',
    );
    expect(bare.submitted).toHaveLength(0);
  });

  it('LaunchProgress is a typed EventEmitter: one event name per type, and `event` for all, iterable with on()', async () => {
    const progress = new LaunchProgress();
    const all: string[] = [];
    progress.on('event', (event) => all.push(event.type));
    const iterated = (async () => {
      const types: string[] = [];
      for await (const [event] of on(progress, 'event')) {
        types.push((event as LaunchEvent).type);
        if ((event as LaunchEvent).type === 'finished') break;
      }
      return types;
    })();
    const handle = await launch({
      config: CONFIG,
      projectId: 'p',
      region: 'us-central1',
      image: 'img',
      runner: memoryRunner(['JOB_STATE_SUCCEEDED']),
      onEvent: progress.onEvent,
    });
    await handle.wait(fast);
    expect(all).toEqual(['resolved', 'submitted', 'state-changed', 'finished']);
    expect(await iterated).toEqual(all);
  });
});

describe('launch from source', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vxl-launch-src-'));
    await writeFile(join(dir, 'Dockerfile'), 'FROM busybox\nCOPY train.py /train.py\n');
    await writeFile(join(dir, 'train.py'), 'print("hi")\n');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function recordingBuilder(): ImageBuilder & { requests: BuildRequest[] } {
    const requests: BuildRequest[] = [];
    return {
      name: 'recording',
      requests,
      async build(request) {
        requests.push(request);
        request.onEvent?.({ type: 'log', line: 'Step 1/2 : FROM busybox' });
        return { imageUri: request.destination, digest: `sha256:${'a'.repeat(64)}` };
      },
    };
  }

  it('builds the content-tagged image, runs it, and skips the build when the tag exists', async () => {
    const builder = recordingBuilder();
    const events: LaunchEvent[] = [];
    const source = { image: 'europe-docker.pkg.dev/p/r/train', contextDir: dir, statCachePath: false as const };
    const first = await launch({
      config: CONFIG,
      projectId: 'p',
      region: 'us-central1',
      source,
      builder,
      runner: memoryRunner(),
      onEvent: (e) => events.push(e),
    });
    expect(first.imageUri).toMatch(/^europe-docker\.pkg\.dev\/p\/r\/train:ctx-[0-9a-f]{12}$/);
    expect(builder.requests.map((r) => r.destination)).toEqual([first.imageUri]);
    expect(first.request.customJob.jobSpec.workerPoolSpecs[0]?.containerSpec?.imageUri).toBe(first.imageUri);
    expect(events.map((e) => e.type)).toEqual(['resolved', 'build-started', 'build-log', 'build-pushed', 'submitted']);
    // Resolved and mapped once, with the content-tagged image known before the build.
    expect(events[0]).toMatchObject({ type: 'resolved', imageUri: first.imageUri });
    expect(builder.requests[0]?.context?.manifest.tag).toBe(first.imageUri.split(':').at(-1));
    expect(events[2]).toEqual({ type: 'build-log', line: 'Step 1/2 : FROM busybox' });

    const checked: string[] = [];
    const second: LaunchEvent[] = [];
    const again = await launch({
      config: CONFIG,
      projectId: 'p',
      region: 'us-central1',
      source,
      builder,
      registry: {
        name: 'memory',
        tagExists: async (uri) => {
          checked.push(uri);
          return true;
        },
      },
      runner: memoryRunner(),
      onEvent: (e) => second.push(e),
    });
    expect(again.imageUri).toBe(first.imageUri);
    expect(checked).toEqual([first.imageUri]);
    expect(builder.requests).toHaveLength(1);
    expect(second.map((e) => e.type)).toEqual(['resolved', 'build-skipped', 'submitted']);
  });

  it('a registry that refuses the check (permission, outage) does not stop the launch; a missing tag does', async () => {
    const image = 'us-central1-docker.pkg.dev/p/r/train:1';
    const refusing = (error: Error) => ({
      name: 'refusing',
      tagExists: async () => {
        throw error;
      },
    });
    const denied = new PermissionError('[vertex-launch] [registry:x] Permission denied to look up tag 1');
    const events: LaunchEvent[] = [];
    const handle = await launch({
      config: CONFIG,
      projectId: 'p',
      region: 'us-central1',
      image,
      registry: refusing(denied),
      runner: memoryRunner(),
      onEvent: (e) => events.push(e),
    });
    expect(handle.jobName).toBeTruthy();
    const resolved = events.find((e) => e.type === 'resolved');
    expect(resolved).toMatchObject({
      warnings: [
        {
          path: 'image',
          severity: 'warning',
          message: expect.stringMatching(
            /^could not check that `us-central1-docker\.pkg\.dev\/p\/r\/train:1` exists \(Permission denied to look up tag 1\); submitting anyway/,
          ),
        },
      ],
    });
    await expect(
      launch({
        config: CONFIG,
        projectId: 'p',
        region: 'us-central1',
        image,
        registry: { name: 'empty', tagExists: async () => false },
        runner: memoryRunner(),
      }),
    ).rejects.toThrow(ConfigError);
  });

  it('needs a builder to build', async () => {
    await expect(
      launch({
        config: CONFIG,
        projectId: 'p',
        region: 'us-central1',
        source: { image: 'repo/img', contextDir: dir },
        runner: memoryRunner(),
      }),
    ).rejects.toThrow(/needs a builder plugin/);
  });
});

describe('waitForJob', () => {
  it('every final Vertex state frees the waiter; other states keep it waiting', async () => {
    const terminal = JOB_STATES.filter((s) => jobStateToStatus(s).terminal);
    expect(terminal).toEqual([
      'JOB_STATE_SUCCEEDED',
      'JOB_STATE_FAILED',
      'JOB_STATE_CANCELLED',
      'JOB_STATE_EXPIRED',
      'JOB_STATE_PARTIALLY_SUCCEEDED',
    ]);
    for (const state of terminal) {
      const runner = memoryRunner(['JOB_STATE_RUNNING', 'JOB_STATE_PAUSED', 'JOB_STATE_UPDATING', state]);
      const { jobName } = await runner.submit(
        {
          parent: 'projects/p/locations/us-central1',
          customJob: {
            displayName: 'x',
            labels: {},
            jobSpec: { workerPoolSpecs: [], baseOutputDirectory: { outputUriPrefix: 'gs://b' } },
          },
        },
        { launchId: 'l' },
      );
      const seen: string[] = [];
      const final = await waitForJob(runner, jobName, { ...fast, onChange: (j) => seen.push(j.state) });
      expect(final.state).toBe(state);
      expect(seen).toEqual(['JOB_STATE_RUNNING', 'JOB_STATE_PAUSED', 'JOB_STATE_UPDATING', state]);
    }
  });

  it('uses the runner’s watch() when it has one, and stops watching at the end', async () => {
    let listener: JobWatchListener | undefined;
    let stopped = 0;
    const runner: JobRunner = {
      ...memoryRunner(),
      watch(_name, l) {
        listener = l;
        return () => {
          stopped += 1;
        };
      },
    };
    const waiting = waitForJob(runner, 'projects/p/locations/us-central1/customJobs/1');
    const base = await memoryRunner().submit(
      {
        parent: 'projects/p/locations/us-central1',
        customJob: {
          displayName: 'x',
          labels: {},
          jobSpec: { workerPoolSpecs: [], baseOutputDirectory: { outputUriPrefix: 'gs://b' } },
        },
      },
      { launchId: 'l' },
    );
    listener?.onChange({ ...base.job, state: 'JOB_STATE_EXPIRED', status: 'expired', terminal: true }, base.job);
    expect((await waiting).state).toBe('JOB_STATE_EXPIRED');
    expect(stopped).toBe(1);
  });

  it('a job that started and ended between two looks is reported RUNNING (its startTime says so) before it ends', async () => {
    const states: string[] = [];
    let listener: JobWatchListener | undefined;
    const runner: JobRunner = {
      ...memoryRunner(),
      watch(_name, l) {
        listener = l;
        return () => {};
      },
    };
    const base = await memoryRunner().submit(
      {
        parent: 'projects/p/locations/us-central1',
        customJob: {
          displayName: 'x',
          labels: {},
          jobSpec: { workerPoolSpecs: [], baseOutputDirectory: { outputUriPrefix: 'gs://b' } },
        },
      },
      { launchId: 'l' },
    );
    const pending = { ...base.job, state: 'JOB_STATE_PENDING', status: 'pending' as const, terminal: false };
    const waiting = waitForJob(runner, base.jobName, {
      initial: pending,
      onChange: (j, p) => states.push(`${p?.state}>${j.state}`),
    });
    const failed = {
      ...pending,
      state: 'JOB_STATE_FAILED',
      status: 'failed' as const,
      terminal: true,
      startTime: new Date(),
      endTime: new Date(),
    };
    listener?.onChange(failed, pending);
    expect((await waiting).state).toBe('JOB_STATE_FAILED');
    expect(states).toEqual(['JOB_STATE_PENDING>JOB_STATE_RUNNING', 'JOB_STATE_RUNNING>JOB_STATE_FAILED']);

    // A job cancelled before it ever ran (no startTime) is not: it goes straight to its final state.
    states.length = 0;
    const again = waitForJob(runner, base.jobName, {
      initial: pending,
      onChange: (j, p) => states.push(`${p?.state}>${j.state}`),
    });
    listener?.onChange({ ...pending, state: 'JOB_STATE_CANCELLED', status: 'cancelled', terminal: true }, pending);
    await again;
    expect(states).toEqual(['JOB_STATE_PENDING>JOB_STATE_CANCELLED']);
  });

  it('times out saying so, and stops on abort with the signal’s reason', async () => {
    const runner = memoryRunner(['JOB_STATE_RUNNING']);
    const { jobName } = await runner.submit(
      {
        parent: 'projects/p/locations/us-central1',
        customJob: {
          displayName: 'x',
          labels: {},
          jobSpec: { workerPoolSpecs: [], baseOutputDirectory: { outputUriPrefix: 'gs://b' } },
        },
      },
      { launchId: 'l' },
    );
    const timeout = await waitForJob(runner, jobName, { ...fast, timeoutMs: 30 }).catch((e: unknown) => e);
    expect(timeout).toBeInstanceOf(WaitTimeoutError);
    expect((timeout as Error).message).toBe(
      `Timed out after 30ms waiting for job ${jobName} to end; it is still JOB_STATE_RUNNING.`,
    );
    const controller = new AbortController();
    const waiting = waitForJob(runner, jobName, { ...fast, signal: controller.signal });
    controller.abort(new Error('interrupted'));
    await expect(waiting).rejects.toThrow('interrupted');
  });
});

describe('job names', () => {
  it('accepts a full name or a bare id with project and region, and names what is missing', () => {
    expect(resolveJobName('projects/p/locations/europe-west4/customJobs/42')).toBe(
      'projects/p/locations/europe-west4/customJobs/42',
    );
    expect(resolveJobName(' 42 ', { project: 'p', region: 'us-central1' })).toBe(
      'projects/p/locations/us-central1/customJobs/42',
    );
    expect(() => resolveJobName('42', { region: 'us-central1' })).toThrow(/needs a project \(--project/);
    expect(() => resolveJobName('my-job')).toThrow(/"my-job" is not a CustomJob/);
  });
});
