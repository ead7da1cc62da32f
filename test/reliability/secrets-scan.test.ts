// Issue #11, part 5: runs the representative flows of Vertex Launch with known secrets — a service-account key, a
// gcloud ADC refresh token and client secret, a raw access token, a workload-identity-federation subject token and
// every access token the emulator issues — and scans everything the suite can see for them: CLI stdout/stderr
// (`--debug` and library debug variables included), the agent's log lines, thrown SDK errors, the CustomJobs and
// Cloud Build builds stored in the emulator, Cloud Logging entries, Cloud Storage objects (context tarballs
// untarred), every file of every layer of every image in the registry, the queue database and the files the CLI
// wrote. A canary planted in the build context proves the layer and tarball scans find what is there.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { inspect } from 'node:util';
import { auto, resolveCredentials } from '@vertex-launch/auth';
import { cloudBuild } from '@vertex-launch/builder-cloudbuild';
import { dockerBuilder } from '@vertex-launch/builder-docker';
import { launch } from '@vertex-launch/core';
import { buildBusyboxBaseImage, type Emulator, startEmulator } from '@vertex-launch/emulator';
import { sqliteQueueStore } from '@vertex-launch/queue-sqlite';
import { vertexRunner } from '@vertex-launch/vertex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, runCli } from '../../packages/cli/test/run-cli.js';
import { repoRoot, tempDir } from '../helpers.js';
import { isGzip, readRegistry, readStorage, readTar, SecretScanner } from './support/secrets-scan.js';

const requireFrom = (pkg: string) => createRequire(join(repoRoot, 'packages', pkg, 'package.json'));

interface DockerImage {
  inspect(): Promise<unknown>;
  history(): Promise<unknown>;
  remove(options: { force: boolean }): Promise<unknown>;
}
interface DockerClient {
  getImage(ref: string): DockerImage;
}
const Docker = requireFrom('builder-docker')('dockerode') as new (options: { socketPath: string }) => DockerClient;
const docker = new Docker({ socketPath: '/var/run/docker.sock' });

type Env = Record<string, string | undefined>;

const scanner = new SecretScanner();
const CANARY = `VXL-CANARY-${randomBytes(12).toString('hex')}`;
const t0 = Date.now();
let emu: Emulator;
let dir: { path: string; cleanup: () => Promise<void> };
let dataDir: string;
let home: string;
let repo: string;
let baseImage: string;
const localRefs = new Set<string>();
const cliRuns: { label: string; code: number | null; ms: number }[] = [];
const agentLines: string[] = [];
const jobNames = new Map<string, string>();
const envs: Record<string, Env> = {};
const files: Record<string, string> = {};
const restoreOutput: (() => void)[] = [];

/** Runs the CLI as a process; every byte it prints goes to the scanner. */
async function cli(label: string, args: string[], env: Env, timeoutMs = 120_000): Promise<CliResult> {
  const started = Date.now();
  const r = await runCli(args, { env: { ...env, HOME: home, XDG_CONFIG_HOME: join(home, '.config') }, timeoutMs });
  cliRuns.push({ label, code: r.code, ms: Date.now() - started });
  scanner.add('CLI outputs', `${label} (stdout)`, r.stdout);
  scanner.add('CLI outputs', `${label} (stderr)`, r.stderr);
  return r;
}

/** Expects an exit code, showing the output when it differs. */
function exits(r: CliResult, code: number, label = ''): void {
  expect(r.code, `${label}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(code);
}

/** Runs `fn` and returns the error it throws (which goes to the scanner). */
async function thrown(label: string, fn: () => Promise<unknown>): Promise<Error> {
  try {
    await fn();
  } catch (error) {
    scanner.addError(label, error, (v) => inspect(v, { depth: 6 }));
    return error as Error;
  }
  throw new Error(`${label}: expected an error`);
}

async function writePrivate(path: string, content: string): Promise<string> {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, content, { mode: 0o600 });
  return path;
}

/** Every file under `root` (relative path, bytes), skipping `skip(relativePath)`. */
async function walk(root: string, skip: (rel: string) => boolean = () => false): Promise<[string, Buffer][]> {
  const out: [string, Buffer][] = [];
  const visit = async (d: string) => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      const rel = relative(root, path);
      if (skip(rel)) continue;
      if (entry.isDirectory()) await visit(path);
      else if (entry.isFile()) out.push([rel, await readFile(path)]);
    }
  };
  await visit(root);
  return out;
}

function queueYaml(extra: string[] = []): string {
  return [
    'spec:',
    '  worker_pool_specs:',
    '    - machine_spec: { machine_type: n1-standard-4 }',
    '      replica_count: 1',
    '      container_spec:',
    '        image_uri: ${image_uri}',
    '        command: [sh, -c, "echo training run ${run_id} && echo epoch 1 loss=0.5 && echo done"]',
    '  staging_bucket: gs://vxl-scan-staging',
    ...extra,
  ].join('\n');
}

/** A build context: Dockerfile, a script and a harmless data file carrying the canary. */
async function context(name: string, extra: Record<string, string> = {}): Promise<string> {
  const root = join(dir.path, 'contexts', name);
  await mkdir(join(root, 'data'), { recursive: true });
  await writeFile(join(root, 'Dockerfile'), `FROM ${baseImage}\nCOPY . /app\nCMD ["sh", "/app/train.sh"]\n`);
  await writeFile(join(root, 'train.sh'), `echo "training ${name}"\ncat /app/data/notes.txt\n`);
  await writeFile(join(root, 'data', 'notes.txt'), `harmless notes for ${name}\ncanary=${CANARY}\n`);
  for (const [file, content] of Object.entries(extra)) await writePrivate(join(root, file), content);
  return root;
}

beforeAll(async () => {
  // Everything this test process prints (the emulator runs in it) is scanned too.
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write;
    stream.write = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
      scanner.add('test-process output', 'write', typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array));
      return (original as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
    } as typeof stream.write;
    restoreOutput.push(() => {
      stream.write = original;
    });
  }

  dir = await tempDir('vxl-secrets-scan-');
  dataDir = join(dir.path, 'emulator-data');
  home = join(dir.path, 'home');
  await mkdir(home, { recursive: true });
  emu = await startEmulator({
    dataDir,
    executor: 'docker',
    jobTimings: { queuedMs: 30, pendingMs: 30, runningMs: 200, cancellingMs: 30 },
    quotas: { vertexReadsPerMinute: 0, vertexCreatesPerMinute: 0 },
  });
  scanner.secret('emulator admin token', emu.adminToken);
  scanner.secret('canary (control)', CANARY);
  repo = `us-central1-docker.pkg.dev/${emu.projectId}/scan`;
  baseImage = `${repo}/busybox:1`;
  await buildBusyboxBaseImage({ emulator: emu, imageUri: baseImage });
  localRefs.add(baseImage).add(emu.toLocalImageRef(baseImage));
  const created = await fetch(`${emu.httpUrl}/storage/v1/b?project=${emu.projectId}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${emu.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'vxl-scan-staging', location: 'US-CENTRAL1' }),
  });
  expect(created.status).toBe(200);

  // The credentials, one of each kind the auth chain knows, and broken ones for the error paths.
  const creds = join(dir.path, 'creds');
  const key = await emu.iam.createServiceAccount('scan-launcher', { permissions: ['*'] });
  scanner.privateKey('service-account private key', key.private_key);
  files.key = await writePrivate(join(creds, 'sa.json'), JSON.stringify(key, null, 2));

  const user = emu.iam.createUser('scan-dev@example.com', { permissions: ['*'] });
  scanner.secret('ADC refresh token', user.refresh_token);
  scanner.secret('ADC client secret', user.client_secret);
  const adcDir = join(creds, 'gcloud');
  await writePrivate(join(adcDir, 'application_default_credentials.json'), JSON.stringify(user));

  const wifRunner = `scan-wif-runner@${emu.projectId}.iam.gserviceaccount.com`;
  await emu.iam.createServiceAccount('scan-wif-runner', { permissions: ['*'] });
  const identity = emu.iam.addExternalIdentity('repo:acme/train:ref:refs/heads/main');
  emu.iam.grant(identity.member, ['iam.serviceAccounts.getAccessToken'], emu.iam.serviceAccountResource(wifRunner));
  scanner.secret('federation subject token', identity.subjectToken);
  const wifConfig = (tokenFile: string) =>
    JSON.stringify({
      type: 'external_account',
      audience: identity.audience,
      subject_token_type: identity.subjectTokenType,
      token_url: 'https://sts.googleapis.com/v1/token',
      service_account_impersonation_url: `https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/${wifRunner}:generateAccessToken`,
      credential_source: { file: tokenFile },
    });
  await writePrivate(join(creds, 'oidc-token'), identity.subjectToken);
  files.wif = await writePrivate(join(creds, 'wif.json'), wifConfig(join(creds, 'oidc-token')));

  const launcherToken = emu.iam.issueToken(key.client_email);
  scanner.secret('environment access token', launcherToken);

  await emu.iam.createServiceAccount('scan-weak', { permissions: ['aiplatform.customJobs.get'] });
  const weakToken = emu.iam.issueToken(`scan-weak@${emu.projectId}.iam.gserviceaccount.com`);
  scanner.secret('weak principal token', weakToken);
  const expiredToken = emu.iam.issueToken(key.client_email, 1);
  scanner.secret('expired access token', expiredToken);

  // A key the emulator never issued (node:crypto), for an existing account: refused at the token endpoint.
  const rogue = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  scanner.privateKey('unregistered private key', rogue.privateKey);
  files.rogueKey = await writePrivate(
    join(creds, 'rogue.json'),
    JSON.stringify({ ...key, private_key_id: randomBytes(20).toString('hex'), private_key: rogue.privateKey }),
  );
  const revoked = {
    type: 'authorized_user',
    client_id: '123456-emulator.apps.googleusercontent.com',
    client_secret: randomBytes(12).toString('base64url'),
    refresh_token: `1//vxl-revoked-${randomBytes(24).toString('base64url')}`,
  };
  scanner.secret('revoked refresh token', revoked.refresh_token);
  scanner.secret('revoked client secret', revoked.client_secret);
  const revokedDir = join(creds, 'gcloud-revoked');
  await writePrivate(join(revokedDir, 'application_default_credentials.json'), JSON.stringify(revoked));
  const badSubject = `vxl-subject-${randomBytes(24).toString('base64url')}`;
  scanner.secret('unknown subject token', badSubject);
  await writePrivate(join(creds, 'bad-oidc-token'), badSubject);
  files.badWif = await writePrivate(join(creds, 'bad-wif.json'), wifConfig(join(creds, 'bad-oidc-token')));

  const base: Env = {
    ...emu.env,
    GOOGLE_OAUTH_ACCESS_TOKEN: undefined,
    GOOGLE_APPLICATION_CREDENTIALS: undefined,
    VERTEX_LAUNCH_QUEUE_DB: undefined,
    CLOUDSDK_CONFIG: join(creds, 'gcloud-empty'),
  };
  Object.assign(envs, {
    base,
    admin: { ...base, GOOGLE_OAUTH_ACCESS_TOKEN: emu.adminToken },
    token: { ...base, GOOGLE_OAUTH_ACCESS_TOKEN: launcherToken },
    key: { ...base, GOOGLE_APPLICATION_CREDENTIALS: files.key },
    adc: { ...base, CLOUDSDK_CONFIG: adcDir },
    wif: { ...base, GOOGLE_APPLICATION_CREDENTIALS: files.wif },
    weak: { ...base, GOOGLE_OAUTH_ACCESS_TOKEN: weakToken },
    expired: { ...base, GOOGLE_OAUTH_ACCESS_TOKEN: expiredToken },
    rogue: { ...base, GOOGLE_APPLICATION_CREDENTIALS: files.rogueKey },
    revoked: { ...base, CLOUDSDK_CONFIG: revokedDir },
    badWif: { ...base, GOOGLE_APPLICATION_CREDENTIALS: files.badWif },
  });

  files.queue = await writePrivate(join(dir.path, 'queue.yaml'), queueYaml());
  files.badQueue = await writePrivate(
    join(dir.path, 'bad-queue.yaml'),
    queueYaml().replace('worker_pool_specs', 'workerPoolSpecs').replace('machine_spec', 'machineSpec'),
  );
  files.ghostQueue = await writePrivate(
    join(dir.path, 'ghost-queue.yaml'),
    queueYaml([`  service_account: ghost-runner@${emu.projectId}.iam.gserviceaccount.com`]),
  );
}, 120_000);

afterAll(async () => {
  for (const restore of restoreOutput) restore();
  for (const ref of localRefs) {
    await docker
      .getImage(ref)
      .remove({ force: true })
      .catch(() => undefined);
  }
  await emu?.stop();
  await dir?.cleanup();
});

describe('secret scan', () => {
  it('auth check with each kind of credential, and with credentials that are refused', async () => {
    const results = await Promise.all([
      cli('auth check --json (key)', ['auth', 'check', '--json'], { ...envs.key, GOOGLE_SDK_NODE_LOGGING: '*' }),
      cli('auth check (adc)', ['auth', 'check'], { ...envs.adc, GOOGLE_SDK_NODE_LOGGING: '*' }),
      cli('auth check --json (federation)', ['auth', 'check', '--json'], { ...envs.wif, GOOGLE_SDK_NODE_LOGGING: '*' }),
      cli(
        'auth check (token)',
        ['auth', 'check', '--service-account', `scan-wif-runner@${'vxl-emulator'}.iam.gserviceaccount.com`],
        envs.token!,
      ),
      cli('auth check (weak)', ['auth', 'check'], { ...envs.weak, DEBUG: '*', GOOGLE_SDK_NODE_LOGGING: '*' }),
      cli('--debug auth check (unregistered key)', ['--debug', 'auth', 'check'], envs.rogue!),
      cli('--debug auth check (revoked refresh token)', ['--debug', 'auth', 'check'], envs.revoked!),
      cli('--debug auth check --json (unknown subject token)', ['--debug', 'auth', 'check', '--json'], envs.badWif!),
    ]);
    const [keyR, adcR, wifR, tokenR, weakR, rogueR, revokedR, badWifR] = results as [CliResult, ...CliResult[]] &
      CliResult[];
    exits(keyR, 0, 'key');
    expect(JSON.parse(keyR.stdout).principal).toBe(`scan-launcher@${emu.projectId}.iam.gserviceaccount.com`);
    exits(adcR!, 0, 'adc');
    exits(wifR!, 0, 'wif');
    exits(tokenR!, 0, 'token');
    exits(weakR!, 3, 'weak');
    expect(weakR!.stdout + weakR!.stderr).toContain('aiplatform.customJobs.create');
    for (const r of [rogueR, revokedR, badWifR]) exits(r!, 3);
  });

  it('launch: dry run, submit and wait, --source with a Docker build, the credential-file refusal, error paths', async () => {
    const [dry, dryDebug, waitKey, waitWif, source, refusal, denied, badConfig, ghost, expired] = await Promise.all([
      cli(
        'launch --dry-run --json',
        ['launch', '--queue-config', files.queue!, '--image', baseImage, '--dry-run', '--json'],
        envs.key!,
      ),
      cli(
        '--debug launch --dry-run',
        ['--debug', 'launch', '--queue-config', files.queue!, '--image', baseImage, '--dry-run'],
        envs.token!,
      ),
      cli('launch --wait (key)', ['launch', '--queue-config', files.queue!, '--image', baseImage, '--wait'], envs.key!),
      cli(
        'launch --wait --json (federation)',
        ['launch', '--queue-config', files.queue!, '--image', baseImage, '--wait', '--json'],
        {
          ...envs.wif,
          GRPC_TRACE: 'all',
          GRPC_VERBOSITY: 'DEBUG',
        },
      ),
      cli(
        'launch --source --follow (adc)',
        [
          'launch',
          '--queue-config',
          files.queue!,
          '--source',
          await context('launch-source'),
          '--image',
          `${repo}/trainer`,
          '--follow',
        ],
        envs.adc!,
      ),
      cli(
        '--debug launch --source (credential files in the context)',
        [
          '--debug',
          'launch',
          '--queue-config',
          files.queue!,
          '--source',
          await context('with-secrets', {
            'config/sa-key.json': await readFile(files.key!, 'utf8'),
            '.env': `REFRESH_TOKEN=${(JSON.parse(await readFile(join(envs.adc!.CLOUDSDK_CONFIG!, 'application_default_credentials.json'), 'utf8')) as { refresh_token: string }).refresh_token}\n`,
          }),
          '--image',
          `${repo}/trainer`,
        ],
        envs.key!,
      ),
      cli(
        '--debug launch (permission denied)',
        ['--debug', 'launch', '--queue-config', files.queue!, '--image', baseImage],
        envs.weak!,
      ),
      cli(
        'launch (invalid queue config)',
        ['launch', '--queue-config', files.badQueue!, '--image', baseImage],
        envs.key!,
      ),
      cli(
        '--debug launch --wait (unknown job service account)',
        ['--debug', 'launch', '--queue-config', files.ghostQueue!, '--image', baseImage, '--wait'],
        envs.key!,
      ),
      cli('--debug auth check (expired token)', ['--debug', 'auth', 'check'], envs.expired!),
    ]);
    exits(dry!, 0, 'dry');
    expect(JSON.parse(dry!.stdout).customJob.jobSpec.workerPoolSpecs[0].containerSpec.imageUri).toBe(baseImage);
    exits(dryDebug!, 0, 'dry debug');
    exits(waitKey!, 0, 'wait key');
    jobNames.set('key', waitKey!.stdout.trim());
    exits(waitWif!, 0, 'wait wif');
    jobNames.set('wif', JSON.parse(waitWif!.stdout).job.name);
    exits(source!, 0, 'source');
    expect(source!.stderr).toMatch(/✓ Pushed \S+:ctx-[0-9a-f]{12}/);
    expect(source!.stdout).toContain('epoch 1 loss=0.5');
    jobNames.set('source', source!.stdout.trim().split('\n').at(-1)!);
    for (const ref of /Pushed (\S+)/.exec(source!.stderr)!.slice(1)) localRefs.add(ref).add(emu.toLocalImageRef(ref));
    // Nothing was built: refused before the context was sent anywhere.
    expect(refusal!.code, refusal!.stderr).toBe(2);
    expect(refusal!.stderr).not.toContain('Building ');
    expect(refusal!.stderr).toContain('Refusing to build');
    expect(refusal!.stderr).toContain('config/sa-key.json (Google service-account key)');
    expect(refusal!.stderr).toContain('.env (environment file)');
    exits(denied!, 3, 'denied');
    expect(denied!.stderr).toContain('aiplatform.customJobs.create');
    exits(badConfig!, 2, 'bad config');
    expect(badConfig!.stderr).toContain('workerPoolSpecs');
    expect([3, 4]).toContain(ghost!.code);
    exits(expired!, 3, 'expired');
  });

  it('Cloud Build, an agent process draining a queue, jobs list/status/logs, doctor and config show', async () => {
    const db = join(dir.path, 'queues.db');
    const agentConfig = await writePrivate(
      join(dir.path, 'launch-config.yaml'),
      [
        'queues: [scan]',
        'max_jobs: 3',
        `environment: { project: ${emu.projectId}, region: ${emu.region} }`,
        'builder: { type: docker }',
        `registry: { uri: ${repo}/agent-trainer }`,
        `auth: { key_file: ${files.key} }`,
        `queue_db: ${db}`,
        'quotas: { creates_per_minute: 0, reads_per_minute: 0 }',
        'poll_interval: 0.2',
      ].join('\n'),
    );
    // The same config without `auth.key_file`: every command (doctor too) takes the credentials of launch-config.yaml,
    // so the weak principal's doctor run needs a config that names none.
    const weakAgentConfig = await writePrivate(
      join(dir.path, 'launch-config-weak.yaml'),
      (await readFile(agentConfig, 'utf8'))
        .split('\n')
        .filter((line) => !line.startsWith('auth:'))
        .join('\n'),
    );
    const create = await cli(
      'queue create',
      [
        'queue',
        'create',
        'scan',
        '--config',
        files.queue!,
        '--db',
        db,
        '--project',
        emu.projectId,
        '--region',
        emu.region,
      ],
      envs.base!,
    );
    exits(create, 0, 'queue create');
    const enqueued = await Promise.all([
      cli('launch --queue (image)', ['launch', '--queue', 'scan', '--db', db, '--image', baseImage], envs.base!),
      cli(
        'launch --queue (image, --json)',
        ['launch', '--queue', 'scan', '--db', db, '--image', baseImage, '--json'],
        envs.base!,
      ),
      cli(
        'launch --queue --source',
        ['launch', '--queue', 'scan', '--db', db, '--source', await context('agent-source')],
        envs.base!,
      ),
    ]);
    for (const r of enqueued) exits(r, 0, 'enqueue');

    // The agent (key file from its config) and a Cloud Build build run at the same time.
    const store = sqliteQueueStore({ path: db });
    const { spawn } = await import('node:child_process');
    const { childEnv } = await import('../helpers.js');
    const agentStarted = Date.now();
    const agent = spawn(
      process.execPath,
      [
        join(repoRoot, 'packages/cli/dist/bin.js'),
        'agent',
        '--config',
        agentConfig,
        '--log-format',
        'json',
        '--status-interval',
        '1',
      ],
      { env: childEnv({ ...envs.base, HOME: home }), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let agentStdout = '';
    let agentStderr = '';
    agent.stdout.setEncoding('utf8').on('data', (d: string) => (agentStdout += d));
    agent.stderr.setEncoding('utf8').on('data', (d: string) => (agentStderr += d));
    const agentExit = new Promise<number | null>((resolve) => agent.on('exit', (code) => resolve(code)));
    try {
      const cloudBuildResult = await cli(
        'build --builder cloudbuild --json (key)',
        [
          'build',
          '--builder',
          'cloudbuild',
          '--source',
          await context('cloud-build'),
          '--destination',
          `${repo}/cb-trainer`,
          '--json',
        ],
        { ...envs.key, GOOGLE_SDK_NODE_LOGGING: '*' },
      );
      exits(cloudBuildResult, 0, 'cloud build');
      const built = JSON.parse(cloudBuildResult.stdout) as { imageUri: string; builder: string };
      expect(built.builder).toBe('cloudbuild');
      localRefs.add(built.imageUri).add(emu.toLocalImageRef(built.imageUri));

      const deadline = Date.now() + 90_000;
      while ((await store.list({ queue: 'scan', states: ['finished'], limit: 10 })).length < 3) {
        if (Date.now() > deadline || agent.exitCode !== null)
          throw new Error(`agent did not drain the queue:\n${agentStdout}\n${agentStderr}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      agent.kill('SIGTERM');
    }
    expect(await agentExit).toBe(0);
    cliRuns.push({ label: 'agent (3 items)', code: 0, ms: Date.now() - agentStarted });
    const items = await store.list({ queue: 'scan', limit: 10 });
    expect(
      items.map((i) => i.outcome),
      JSON.stringify(items.map((i) => i.events.map((e) => e.message))),
    ).toEqual(['succeeded', 'succeeded', 'succeeded']);
    for (const item of items) {
      scanner.add('queue items', item.id, JSON.stringify(item));
      if (item.imageUri) localRefs.add(item.imageUri).add(emu.toLocalImageRef(item.imageUri));
    }
    await store.close();
    agentLines.push(...agentStdout.split('\n').filter((l) => l.trim() !== ''));
    scanner.addLines('agent log lines', 'agent stdout', agentStdout);
    scanner.add('CLI outputs', 'agent (stderr)', agentStderr);

    const job = jobNames.get('source')!;
    const results = await Promise.all([
      cli('queue items', ['queue', 'items', 'scan', '--db', db, '--json'], envs.base!),
      cli('jobs list --json (federation, DEBUG=*)', ['jobs', 'list', '--json'], { ...envs.wif, DEBUG: '*' }),
      cli('jobs status (adc)', ['jobs', 'status', jobNames.get('key')!], envs.adc!),
      cli('jobs logs (token)', ['jobs', 'logs', job], envs.token!),
      cli('doctor (key)', ['doctor', '--config', agentConfig, '--queue', 'scan', '--db', db], envs.key!),
      cli(
        '--debug doctor --json (weak)',
        ['--debug', 'doctor', '--json', '--config', weakAgentConfig, '--queue', 'scan', '--db', db],
        envs.weak!,
      ),
      cli('config show (key)', ['config', 'show'], { ...envs.key, DEBUG: '*' }),
    ]);
    const [queueItems, listWif, statusAdc, logsToken, doctorKey, doctorWeak, configShow] = results;
    exits(queueItems!, 0, 'queue items');
    exits(listWif!, 0, 'jobs list wif');
    expect(JSON.stringify(JSON.parse(listWif!.stdout))).toContain('SUCCEEDED');
    exits(statusAdc!, 0, 'status');
    exits(logsToken!, 0, 'logs');
    expect(logsToken!.stdout).toContain('epoch 1 loss=0.5');
    expect(doctorKey!.stdout + doctorKey!.stderr).toContain('✓ Credentials');
    expect(doctorWeak!.code).toBe(3);
    exits(configShow!, 0, 'config show');
  });

  it('SDK calls in-process: refused credentials, a denied submit, a denied push and a denied Cloud Build throw errors', async () => {
    const resolved = async (env: Env) =>
      resolveCredentials(auto({ env }), { env, warn: (m) => scanner.add('error messages', 'warning', m) });
    for (const [label, env] of [
      ['unregistered key', envs.rogue],
      ['revoked refresh token', envs.revoked],
      ['unknown subject token', envs.badWif],
    ] as const) {
      const error = await thrown(`accessToken() (${label})`, async () => (await resolved(env!)).accessToken());
      expect(error.message).toMatch(/401|invalid|refused|denied|unauth/i);
    }
    const good = await Promise.all([resolved(envs.key!), resolved(envs.adc!), resolved(envs.wif!)]);
    for (const c of good) {
      scanner.add('printed credentials', c.strategy, `${inspect(c, { depth: 8 })}\n${JSON.stringify(c)}\n${String(c)}`);
    }

    const weak = await resolved(envs.weak!);
    const runner = vertexRunner({ credentials: weak, projectId: emu.projectId, region: emu.region, env: emu.env });
    try {
      await thrown('launch() (permission denied)', () =>
        launch({
          config: {
            spec: {
              worker_pool_specs: [
                {
                  machine_spec: { machine_type: 'n1-standard-4' },
                  replica_count: 1,
                  container_spec: { image_uri: '${image_uri}' },
                },
              ],
            },
          },
          projectId: emu.projectId,
          region: emu.region,
          image: baseImage,
          runner,
        }),
      );
    } finally {
      await runner.close();
    }
    const pushDenied = await thrown('dockerBuilder().build() (push denied)', () =>
      dockerBuilder({ credentials: weak, env: emu.env }).build({
        contextDir: join(dir.path, 'contexts', 'launch-source'),
        destination: `${repo}/denied:v1`,
        onEvent: (e) => scanner.add('build events', 'docker (denied)', JSON.stringify(e)),
      }),
    );
    expect(pushDenied.message).toMatch(/denied|permission|push/i);
    localRefs.add(`${repo}/denied:v1`).add(emu.toLocalImageRef(`${repo}/denied:v1`));
    await thrown('cloudBuild().build() (denied)', () =>
      cloudBuild({ credentials: weak, env: emu.env, pollIntervalMs: 100 }).build({
        contextDir: join(dir.path, 'contexts', 'cloud-build'),
        destination: `${repo}/denied-cb:v1`,
        onEvent: (e) => scanner.add('build events', 'cloud build (denied)', JSON.stringify(e)),
      }),
    );
  });

  it('scans every output, stored job, build, log entry, object, layer and file: zero hits', async () => {
    const later: (() => void)[] = [];
    // What the emulator stores: CustomJobs and Cloud Build builds (read with the real clients), log entries,
    // Cloud Storage objects and the registry's images.
    const aiplatform = requireFrom('vertex')('@google-cloud/aiplatform') as {
      v1: {
        JobServiceClient: new (
          o: unknown,
        ) => { listCustomJobs(r: unknown, o: unknown): Promise<[unknown[]]>; close(): Promise<void> };
      };
    };
    const jobs = new aiplatform.v1.JobServiceClient(emu.jobServiceClientOptions());
    const [customJobs] = await jobs.listCustomJobs(
      { parent: `projects/${emu.projectId}/locations/${emu.region}`, pageSize: 1000 },
      { autoPaginate: false },
    );
    await jobs.close();
    for (const job of customJobs)
      scanner.add('CustomJobs', String((job as { name: string }).name), JSON.stringify(job));
    later.push(() => expect(customJobs.length).toBeGreaterThanOrEqual(6));

    const { CloudBuildClient } = requireFrom('builder-cloudbuild')('@google-cloud/cloudbuild') as {
      CloudBuildClient: new (
        o: unknown,
      ) => { listBuilds(r: unknown, o: unknown): Promise<[unknown[]]>; close(): Promise<void> };
    };
    const cb = new CloudBuildClient(emu.cloudBuildClientOptions());
    const [builds] = await cb.listBuilds({ projectId: emu.projectId, pageSize: 100 }, { autoPaginate: false });
    await cb.close();
    for (const build of builds)
      scanner.add('Cloud Build builds', String((build as { id: string }).id), JSON.stringify(build));
    later.push(() => expect(builds.length).toBeGreaterThanOrEqual(1));

    for (const entry of emu.logEntries()) scanner.add('log entries', 'entry', JSON.stringify(entry));

    let tarballs = 0;
    for (const object of await readStorage(emu.httpUrl, emu.projectId, emu.adminToken)) {
      const name = `gs://${object.bucket}/${object.name}`;
      scanner.add('GCS objects', name, object.body, { patterns: !isGzip(object.body) });
      scanner.add('GCS objects', `${name} (metadata)`, object.metadata);
      if (/\.(tar\.gz|tgz|tar)$/.test(object.name)) {
        tarballs++;
        for (const entry of readTar(object.body))
          scanner.add('context tarball files', `${name}:${entry.path}`, entry.data, { patterns: true });
      }
    }
    later.push(() => expect(tarballs).toBeGreaterThanOrEqual(1));

    const images = await readRegistry(
      emu.registry.address,
      `Basic ${Buffer.from(`oauth2accesstoken:${emu.adminToken}`).toString('base64')}`,
    );
    const layers = new Set<string>();
    for (const image of images) {
      const ref = `${image.name}:${image.tag}`;
      for (const m of image.manifests)
        scanner.add('image manifests and configs', `${ref} ${m.digest}`, m.body.toString('utf8'));
      for (const c of image.configs)
        scanner.add('image manifests and configs', `${ref} config ${c.digest}`, c.body.toString('utf8'));
      for (const layer of image.layers) {
        if (layers.has(layer.digest)) continue;
        layers.add(layer.digest);
        scanner.add('image layers (raw)', `${ref} ${layer.digest}`, layer.body);
        for (const entry of readTar(layer.body)) {
          // Binaries (busybox) are searched for the known secrets but not for secret-shaped strings.
          const text = !entry.data.subarray(0, 8000).includes(0);
          scanner.add('image layer files', `${ref} ${layer.digest.slice(7, 19)}:${entry.path}`, entry.data, {
            patterns: text,
          });
        }
      }
    }
    later.push(() => expect(images.length).toBeGreaterThanOrEqual(4));

    // The local images' metadata as Docker keeps it (build args, labels, history).
    for (const ref of localRefs) {
      const image = docker.getImage(ref);
      const meta = await Promise.all([image.inspect(), image.history()]).catch(() => undefined);
      if (meta) scanner.add('local image metadata', ref, JSON.stringify(meta));
    }

    // Files the CLI, the agent and the emulator wrote: the home directory (stat caches, configs), the queue
    // database, and the emulator's data dir — except the state file that holds issued tokens by design, the TLS key
    // and the registry's blobs (read above through the registry).
    for (const [rel, data] of await walk(home)) scanner.add('files written', `home/${rel}`, data, { patterns: false });
    for (const name of (await readdir(dir.path)).filter((f) => f.startsWith('queues.db'))) {
      scanner.add('files written', name, await readFile(join(dir.path, name)), { patterns: false });
    }
    await emu.stop();
    for (const [rel, data] of await walk(
      dataDir,
      (r) => r === 'emulator.json' || r.startsWith('tls') || r.startsWith('registry'),
    )) {
      scanner.add('emulator data dir', rel, data, { patterns: !isGzip(data) && !data.subarray(0, 8000).includes(0) });
    }

    // Every access token the emulator issued during the run (its persisted IAM state keeps the unexpired ones).
    const state = JSON.parse(await readFile(join(dataDir, 'emulator.json'), 'utf8')) as {
      iam?: { tokens?: Record<string, unknown> };
    };
    const issued = Object.keys(state.iam?.tokens ?? {});
    later.push(() => expect(issued.length).toBeGreaterThan(5));
    const known = new Set([emu.adminToken]);
    let n = 0;
    for (const token of issued) if (!known.has(token)) scanner.secret(`emulator-issued access token #${++n}`, token);

    const scanStarted = Date.now();
    const { hits, patternHits, needles, bytes } = scanner.scan();
    const scanMs = Date.now() - scanStarted;
    const canary = hits.filter((h) => h.secret === 'canary (control)');
    const leaks = hits.filter((h) => h.secret !== 'canary (control)');
    const canaryPlaces = new Set(canary.map((h) => h.category));

    const counts = scanner.counts();
    const part = (category: string, extra = '') => {
      const c = counts.get(category);
      return c ? `${category} ${c.artifacts}${extra}` : `${category} 0`;
    };
    const secrets = scanner.secrets.length - 1;
    console.info(
      `[reliability] secret scan: ${secrets} secrets (${secrets - n} test secrets + ${n} emulator-issued tokens; ${needles} needles incl. encoded forms) × ${scanner.artifactCount.toLocaleString('en-US')} artifacts, ${(bytes / 1e6).toFixed(1)} MB (` +
        [
          part('CLI outputs', ` from ${cliRuns.length} runs, ${counts.get('CLI outputs')?.lines ?? 0} lines`),
          part('agent log lines'),
          part('error messages'),
          part('printed credentials'),
          part('CustomJobs'),
          part('Cloud Build builds'),
          part('log entries'),
          part('GCS objects'),
          `tarballs ${tarballs} with ${counts.get('context tarball files')?.artifacts ?? 0} files`,
          `images ${images.length}, layers ${layers.size} with ${counts.get('image layer files')?.artifacts ?? 0} files`,
          part('image manifests and configs'),
          part('local image metadata'),
          part('queue items'),
          part('files written'),
          part('emulator data dir'),
          part('test-process output'),
        ].join(', ') +
        `) = ${leaks.length} hits, ${patternHits.length} secret-shaped strings; canary found in ${[...canaryPlaces].sort().join(', ')}; scan ${scanMs} ms, test ${((Date.now() - t0) / 1000).toFixed(0)} s`,
    );
    console.info(
      `[reliability] secret scan CLI runs: ${cliRuns.map((r) => `${r.label} → ${r.code} (${(r.ms / 1000).toFixed(1)} s)`).join('; ')}`,
    );
    expect(leaks, 'secrets found in artifacts').toEqual([]);
    for (const check of later) check();
    expect(patternHits, 'secret-shaped strings found in artifacts').toEqual([]);
    // The control: the canary in the build contexts is found where the contexts went.
    expect(canaryPlaces).toContain('image layer files');
    expect(canaryPlaces).toContain('context tarball files');
    expect(agentLines.length).toBeGreaterThan(5);
  });
});
