// Issue #25, part 2: a queue config is data from whoever may write the queue, not agent configuration. Generated
// queue configs place `${env:GOOGLE_OAUTH_ACCESS_TOKEN}` (the agent's own access token), another credential name
// and a non-credential name the agent did not list in env values, args, commands and the output directory; a
// `vertex-launch agent` process with `allowed_env: [VXL_TRUST_BUCKET]` drains them. Every such item fails naming the
// key path, the variable and the fix; none reaches the emulator as a CustomJob, and the token appears in no job, item
// or log line. Items reading the listed variable succeed with its value. Then `launch --dry-run`: a credential is
// refused without `VERTEX_LAUNCH_ALLOWED_ENV`, and masked (`***`) when it names it.
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { QueueItem } from '@vertex-launch/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../packages/cli/test/run-cli.js';
import { repoRoot } from '../helpers.js';
import { seededRandom } from '../seed.js';
import {
  type AgentProcess,
  type AgentWorld,
  allItems,
  clockQueueConfig,
  formatCounts,
  PREBUILT_IMAGE,
  startAgentProcess,
  startWorld,
  waitFor,
} from './support/agent-harness.js';

const BAD_QUEUES = 24;
const GOOD_ITEMS = 6;
const BUCKET = 'gs://vxl-trust-allowed-bucket';

let world: AgentWorld;
let agent: AgentProcess;
let token: string;

/** Where a generated config reads the environment, and the key path the refusal must name. */
const PLACEMENTS = [
  {
    path: 'spec.worker_pool_specs[0].container_spec.env[1].value',
    put: (c: Spec, m: string) => c.worker_pool_specs[0]!.container_spec.env!.push({ name: 'T', value: m }),
  },
  {
    path: 'spec.worker_pool_specs[0].container_spec.args[0]',
    put: (c: Spec, m: string) => (c.worker_pool_specs[0]!.container_spec.args = [`--token=${m}`]),
  },
  {
    path: 'spec.worker_pool_specs[0].container_spec.command[1]',
    put: (c: Spec, m: string) => (c.worker_pool_specs[0]!.container_spec.command = ['sh', `echo ${m}`]),
  },
  {
    path: 'spec.base_output_dir',
    put: (c: Spec, m: string) => (c.base_output_dir = `gs://vxl-out/${m}`),
  },
] as const;

/** The variables generated configs read: the agent's token, another credential, a name the agent did not list. */
const NAMES = ['GOOGLE_OAUTH_ACCESS_TOKEN', 'GOOGLE_OAUTH_ACCESS_TOKEN', 'VXL_TRUST_API_KEY', 'VXL_TRUST_OTHER'];

interface Spec {
  worker_pool_specs: {
    container_spec: { env?: { name: string; value: string }[]; args?: string[]; command?: string[] };
  }[];
  base_output_dir?: string;
  staging_bucket: string;
}

function config(): { spec: Spec } & Record<string, unknown> {
  return clockQueueConfig() as { spec: Spec } & Record<string, unknown>;
}

const expected = new Map<string, { path: string; name: string }>();

beforeAll(async () => {
  world = await startWorld();
  token = world.emulator.env.GOOGLE_OAUTH_ACCESS_TOKEN as string;
  expect(token.length).toBeGreaterThan(10);
  const random = seededRandom(world.seed, 'trust env macros');
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const target = { project: world.emulator.projectId, region: world.emulator.region };
  for (let i = 0; i < BAD_QUEUES; i++) {
    const placement = pick(PLACEMENTS);
    const name = pick(NAMES);
    const space = pick(['', ' ']);
    const queueConfig = config();
    placement.put(queueConfig.spec, `\${${space}env:${name}${space}}`);
    const queue = `bad-${i}`;
    await world.store.createQueue({ name: queue, config: queueConfig, ...target });
    const item = await world.store.enqueue(queue, { image: PREBUILT_IMAGE });
    expected.set(item.id, { path: placement.path, name });
  }
  const good = config();
  good.spec.staging_bucket = '${env:VXL_TRUST_BUCKET}';
  good.spec.worker_pool_specs[0]!.container_spec.env!.push({ name: 'BUCKET', value: '${env:VXL_TRUST_BUCKET}' });
  await world.store.createQueue({ name: 'good', config: good, ...target });
  for (let i = 0; i < GOOD_ITEMS; i++) await world.store.enqueue('good', { image: PREBUILT_IMAGE });
  const queues = [...Array.from({ length: BAD_QUEUES }, (_, i) => `bad-${i}`), 'good'];
  agent = await startAgentProcess(
    world,
    'trust-env',
    [`queues: [${queues.join(', ')}]`, 'max_jobs: 8', 'allowed_env: [VXL_TRUST_BUCKET]'],
    { VXL_TRUST_BUCKET: BUCKET, VXL_TRUST_API_KEY: `${token}-key`, VXL_TRUST_OTHER: `${token}-other` },
  );
}, 120_000);

afterAll(async () => {
  if (agent && agent.child.exitCode === null) agent.child.kill('SIGKILL');
  await world?.close();
});

/** Every CustomJob the emulator stores, read with the real client. */
async function storedJobs(): Promise<{ name: string; jobSpec: { stagingBucket?: string } }[]> {
  const aiplatform = createRequire(join(repoRoot, 'packages', 'vertex', 'package.json'))(
    '@google-cloud/aiplatform',
  ) as {
    v1: {
      JobServiceClient: new (
        o: unknown,
      ) => { listCustomJobs(r: unknown, o: unknown): Promise<[unknown[]]>; close(): Promise<void> };
    };
  };
  const client = new aiplatform.v1.JobServiceClient(world.emulator.jobServiceClientOptions());
  try {
    const [jobs] = await client.listCustomJobs(
      { parent: `projects/${world.emulator.projectId}/locations/${world.emulator.region}`, pageSize: 1000 },
      { autoPaginate: false },
    );
    return jobs as { name: string; jobSpec: { stagingBucket?: string } }[];
  } finally {
    await client.close();
  }
}

describe('${env:…} in queue configs through the agent', () => {
  it(`${BAD_QUEUES} queue configs reading the agent's token (or unlisted names) fail; none reaches Vertex`, async () => {
    const t0 = Date.now();
    let items: QueueItem[] = [];
    await waitFor(
      'every item finished',
      async () => {
        items = await allItems(world.store);
        return items.every((item) => item.state === 'finished');
      },
      { timeoutMs: 90_000, detail: () => agent.stderr().slice(-500) },
    );
    const outcomes: Record<string, number> = {};
    for (const item of items) {
      outcomes[item.outcome ?? item.state] = (outcomes[item.outcome ?? item.state] ?? 0) + 1;
      const bad = expected.get(item.id);
      if (bad === undefined) {
        expect(item.outcome, JSON.stringify(item.failure)).toBe('succeeded');
        continue;
      }
      expect(item.outcome).toBe('failed');
      expect(item.jobName).toBeUndefined();
      const message = item.failure?.message ?? '';
      expect(message).toContain(
        `${bad.path}: \`\${env:${bad.name}}\` is refused: ${bad.name} is not in \`allowed_env\``,
      );
      expect(message).toContain('Secret Manager');
    }
    const jobs = await storedJobs();
    // Only the items reading the listed variable became jobs, with its value.
    expect(jobs.length).toBe(GOOD_ITEMS);
    for (const job of jobs) expect(JSON.stringify(job.jobSpec)).toContain(BUCKET);
    const everything = JSON.stringify(jobs) + JSON.stringify(items) + JSON.stringify(agent.logs) + agent.stderr();
    expect(everything).not.toContain(token);
    console.log(
      `[reliability] trust: \${env:…} through the agent: ${BAD_QUEUES} generated configs reading GOOGLE_OAUTH_ACCESS_TOKEN, another credential or an unlisted name → ${outcomes.failed ?? 0} items failed naming the key, the variable and allowed_env; outcomes ${formatCounts(outcomes)}; CustomJobs stored ${jobs.length} (token in 0 jobs, items or log lines), seed ${world.seed}, ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
  }, 120_000);
});

describe('launch --dry-run never prints a credential', () => {
  it('refuses a credential without VERTEX_LAUNCH_ALLOWED_ENV; masks it when listed', async () => {
    const random = seededRandom(world.seed, 'trust env dry-run');
    const secret = `ya29.${Array.from({ length: 40 }, () => 'abcdefghijklmnopqrstuvwxyz0123456789'[Math.floor(random() * 36)]).join('')}`;
    const apiKey = `vxl-key-${Math.floor(random() * 1e12).toString(36)}`;
    const file = join(world.dir, 'dry-run.yaml');
    const queueConfig = config();
    queueConfig.spec.worker_pool_specs[0]!.container_spec.env!.push(
      { name: 'T', value: '${env:GOOGLE_OAUTH_ACCESS_TOKEN}' },
      { name: 'K', value: 'key=${env:MY_API_KEY}' },
      { name: 'B', value: '${env:VXL_TRUST_BUCKET}' },
    );
    await writeFile(file, JSON.stringify(queueConfig));
    const args = ['launch', '--queue-config', file, '--image', PREBUILT_IMAGE, '--dry-run'];
    const env = {
      GOOGLE_CLOUD_PROJECT: 'my-project',
      GOOGLE_CLOUD_REGION: 'us-central1',
      GOOGLE_OAUTH_ACCESS_TOKEN: secret,
      MY_API_KEY: apiKey,
      VXL_TRUST_BUCKET: BUCKET,
      VERTEX_LAUNCH_ALLOWED_ENV: undefined,
    };
    const refused = await runCli(args, { env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      'spec.worker_pool_specs[0].container_spec.env[1].value: `${env:GOOGLE_OAUTH_ACCESS_TOKEN}` is refused: GOOGLE_OAUTH_ACCESS_TOKEN looks like a credential, and credentials are read only when named in VERTEX_LAUNCH_ALLOWED_ENV',
    );
    expect(refused.stderr).toContain('env[2].value: `${env:MY_API_KEY}` is refused');
    expect(refused.stderr).not.toContain('VXL_TRUST_BUCKET');
    const allowed = await runCli(args, {
      env: { ...env, VERTEX_LAUNCH_ALLOWED_ENV: 'GOOGLE_OAUTH_ACCESS_TOKEN, MY_API_KEY,VXL_TRUST_BUCKET' },
    });
    expect(allowed.code, allowed.stderr).toBe(0);
    const body = JSON.parse(allowed.stdout) as {
      customJob: { jobSpec: { workerPoolSpecs: { containerSpec: { env: { name: string; value: string }[] } }[] } };
    };
    expect(body.customJob.jobSpec.workerPoolSpecs[0]?.containerSpec.env.slice(1)).toEqual([
      { name: 'T', value: '***' },
      { name: 'K', value: 'key=***' },
      { name: 'B', value: BUCKET },
    ]);
    // Listed, a non-credential name the list leaves out is refused too.
    const strict = await runCli(args, { env: { ...env, VERTEX_LAUNCH_ALLOWED_ENV: 'GOOGLE_OAUTH_ACCESS_TOKEN' } });
    expect(strict.code).toBe(2);
    expect(strict.stderr).toContain('VXL_TRUST_BUCKET is not in VERTEX_LAUNCH_ALLOWED_ENV');
    for (const r of [refused, allowed, strict]) {
      expect(r.stdout + r.stderr).not.toContain(secret);
      expect(r.stdout + r.stderr).not.toContain(apiKey);
    }
    console.log(
      `[reliability] trust: launch --dry-run with \${env:…} credentials: 3 runs (refused without VERTEX_LAUNCH_ALLOWED_ENV exit 2, masked when listed exit 0, an unlisted name refused exit 2); secret in 0 outputs, seed ${world.seed}`,
    );
  }, 60_000);
});
