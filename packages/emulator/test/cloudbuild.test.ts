// Cloud Build over TLS gRPC with the real @google-cloud/cloudbuild client: the whole path a user takes —
// source uploaded to Cloud Storage -> build -> image in the registry -> CustomJob runs it -> logs and exit code.
import { gzipSync } from 'node:zlib';
import { v1 as aiplatform } from '@google-cloud/aiplatform';
import { ArtifactRegistryClient } from '@google-cloud/artifact-registry';
import { CloudBuildClient } from '@google-cloud/cloudbuild';
import { Storage } from '@google-cloud/storage';
import { type Emulator, startEmulator } from '@vertex-launch/emulator';
import { pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { basic, busyboxBase, MANIFEST_ACCEPT, removeTestImages, trackImage } from './docker-support.js';
import { grpcError, logLines } from './support.js';

let emu: Emulator;
let builds: CloudBuildClient;
let storage: Storage;
let baseUri: string;
let project: string;

/** A gzipped tarball of `files` (what `gcloud builds submit` uploads). */
async function tarball(files: Record<string, string | { text: string; mode: number }>): Promise<Buffer> {
  const tar = pack();
  const chunks: Buffer[] = [];
  tar.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((r) => {
    tar.on('end', () => r());
  });
  for (const [name, content] of Object.entries(files)) {
    const { text, mode } = typeof content === 'string' ? { text: content, mode: 0o644 } : content;
    tar.entry({ name, mode }, text);
  }
  tar.finalize();
  await done;
  return gzipSync(Buffer.concat(chunks));
}

async function upload(object: string, files: Parameters<typeof tarball>[0]) {
  await storage
    .bucket('vxl-src')
    .file(object)
    .save(await tarball(files), { resumable: false });
  return { storageSource: { bucket: 'vxl-src', object } };
}

const TRAIN_SH = { text: '#!/bin/sh\necho "$GREETING from train.sh, args: $*"\nexit "${EXIT_CODE:-0}"\n', mode: 0o755 };

function dockerfile(extra = '') {
  return `FROM ${baseUri}\nARG GREETING=hi\nENV GREETING=$GREETING\nCOPY train.sh /app/train.sh\n${extra}ENTRYPOINT ["/app/train.sh"]\n`;
}

function imageUri(name: string) {
  return `us-central1-docker.pkg.dev/${project}/train/${name}`;
}

async function buildOf(operationName: string | null | undefined) {
  const id = Buffer.from(String(operationName).split('/').pop() ?? '', 'base64url').toString('utf8');
  const [build] = await builds.getBuild({ projectId: project, id });
  return build;
}

async function waitForStatus(id: string, statuses: string[], timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [build] = await builds.getBuild({ projectId: project, id });
    if (statuses.includes(String(build.status))) return build;
    if (Date.now() > deadline) throw new Error(`build ${id} is ${build.status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  emu = await startEmulator({ executor: 'docker', jobTimings: { queuedMs: 20, pendingMs: 20 } });
  project = emu.projectId;
  builds = new CloudBuildClient(emu.cloudBuildClientOptions());
  storage = new Storage(emu.storageClientOptions());
  await storage.createBucket('vxl-src');
  await storage.createBucket('vxl-logs');
  baseUri = imageUri('busybox:1');
  await busyboxBase(emu, baseUri);
});

afterAll(async () => {
  await builds?.close();
  await emu?.stop();
  await removeTestImages();
});

describe('source -> image -> job', () => {
  test('a build from an uploaded context pushes an image the registry serves, and a CustomJob runs it', async () => {
    const image = imageUri('trainer:v1');
    const source = await upload('ctx/trainer.tgz', { Dockerfile: dockerfile(), 'train.sh': TRAIN_SH });
    const [operation] = await builds.createBuild({
      projectId: project,
      build: {
        source,
        steps: [
          {
            name: 'gcr.io/cloud-builders/docker',
            args: ['build', '-t', image, '--build-arg', 'GREETING=$_GREETING', '-f', 'Dockerfile', '.'],
          },
        ],
        images: [image],
        substitutions: { _GREETING: 'hello' },
        logsBucket: 'gs://vxl-logs',
        timeout: { seconds: 300 },
        tags: ['e2e'],
      },
    });
    expect(operation.name).toMatch(new RegExp(`^operations/build/${project}/`));
    const [done] = await operation.promise();
    // Decoded through the long-running operation, the status enum is a number: SUCCESS = 3.
    expect(done.status).toBe(3);
    const digest = done.results?.images?.[0]?.digest;
    expect(done.results?.images?.[0]?.name).toBe(image);
    expect(digest).toMatch(/^sha256:[a-f0-9]{64}$/);

    // The registry serves the manifest under that digest.
    const manifest = await fetch(
      `http://${emu.registry.address}/v2/us-central1-docker.pkg.dev/${project}/train/trainer/manifests/v1`,
      { headers: { authorization: basic(emu.adminToken), accept: MANIFEST_ACCEPT } },
    );
    expect(manifest.status).toBe(200);
    expect(manifest.headers.get('docker-content-digest')).toBe(digest);

    // Artifact Registry's GetTag finds it.
    const ar = new ArtifactRegistryClient(emu.artifactRegistryClientOptions());
    const [tag] = await ar.getTag({
      name: `projects/${project}/locations/us-central1/repositories/train/packages/trainer/tags/v1`,
    });
    expect(tag.version?.endsWith(`/versions/${digest}`)).toBe(true);
    await ar.close();

    // The build log: in the logs bucket and in Cloud Logging.
    const [text] = await storage.bucket('vxl-logs').file(`log-${done.id}.txt`).download();
    const log = text.toString('utf8');
    expect(log).toContain(`starting build "${done.id}"`);
    expect(log).toContain('Fetching storage object: gs://vxl-src/ctx/trainer.tgz');
    expect(log).toMatch(/Step #0: .*COPY train\.sh/);
    expect(log).toContain(`Pushing ${image}`);
    expect(log.trimEnd().endsWith('DONE')).toBe(true);
    const entries = emu
      .logEntries()
      .filter((e) => e.resource.type === 'build' && e.resource.labels.build_id === done.id);
    expect(entries.map((e) => e.textPayload)).toContain('Starting Step #0');
    expect(log).not.toContain(emu.adminToken);

    // A CustomJob runs the pushed image (its entrypoint) with the spec's args and env.
    trackImage(emu.toLocalImageRef(image)); // the job's pull leaves this tag
    const jobs = new aiplatform.JobServiceClient(emu.jobServiceClientOptions());
    const [job] = await jobs.createCustomJob({
      parent: `projects/${project}/locations/${emu.region}`,
      customJob: {
        displayName: 'e2e',
        jobSpec: {
          workerPoolSpecs: [
            {
              machineSpec: { machineType: 'n1-standard-4' },
              replicaCount: 1,
              containerSpec: { imageUri: image, args: ['--epochs', '3'] },
            },
          ],
        },
      },
    });
    const id = job.name?.split('/').pop();
    let state = '';
    for (let i = 0; i < 400 && !['JOB_STATE_SUCCEEDED', 'JOB_STATE_FAILED'].includes(state); i++) {
      await new Promise((r) => setTimeout(r, 50));
      state = String((await jobs.getCustomJob({ name: job.name }))[0].state);
    }
    expect(state).toBe('JOB_STATE_SUCCEEDED');
    expect(logLines(emu, 'job_id', id)).toEqual(['hello from train.sh, args: --epochs 3']);

    // GetBuild (no LRO) answers enums by name; ListBuilds finds it by tag and status.
    const direct = await buildOf(operation.name);
    expect(direct).toMatchObject({ status: 'SUCCESS', logsBucket: 'gs://vxl-logs', images: [image] });
    expect(direct.steps?.[0]).toMatchObject({ status: 'SUCCESS', args: expect.arrayContaining(['GREETING=hello']) });
    expect(direct.serviceAccount).toBe(`projects/${project}/serviceAccounts/${emu.cloudBuildServiceAccount}`);
    const [listed] = await builds.listBuilds({ projectId: project, filter: 'tags="e2e" AND status="SUCCESS"' });
    expect(listed.map((b) => b.id)).toEqual([done.id]);
    await jobs.close();
  });

  test('a kaniko step builds and pushes its destination', async () => {
    const image = imageUri('kaniko:v1');
    const source = await upload('ctx/kaniko.tgz', { 'app/Dockerfile': dockerfile(), 'app/train.sh': TRAIN_SH });
    const [operation] = await builds.createBuild({
      parent: `projects/${project}/locations/us-central1`,
      build: {
        source,
        steps: [
          {
            name: 'gcr.io/kaniko-project/executor:latest',
            args: [
              `--destination=${image}`,
              '--context=dir:///workspace/app',
              '--dockerfile=Dockerfile',
              '--cache=true',
            ],
          },
        ],
        logsBucket: 'gs://vxl-logs',
      },
    });
    expect(operation.name).toMatch(new RegExp(`^projects/${project}/locations/us-central1/operations/`));
    const [done] = await operation.promise();
    expect(done.status).toBe(3);
    const ar = new ArtifactRegistryClient(emu.artifactRegistryClientOptions());
    const [tag] = await ar.getTag({
      name: `projects/${project}/locations/us-central1/repositories/train/packages/kaniko/tags/v1`,
    });
    expect(tag.version).toContain('/versions/sha256:');
    await ar.close();
  });
});

describe('steps in a builder image', () => {
  test('a builder image from the registry runs with /workspace mounted; its output is the step log; exit 3 fails it', async () => {
    const source = await upload('ctx/script.tgz', { 'msg.txt': 'hello from the workspace\n' });
    const script = 'cat msg.txt; echo "build $BUILD_ID of $PROJECT_ID" >&2; printf "no newline"; exit "$CODE"';
    const run = async (code: string) => {
      const [operation] = await builds.createBuild({
        projectId: project,
        build: {
          source,
          steps: [{ name: baseUri, entrypoint: 'sh', args: ['-c', script], env: [`CODE=${code}`] }],
          logsBucket: 'gs://vxl-logs',
        },
      });
      const settled = await operation.promise().then(
        () => 'resolved',
        (error: Error) => error.message,
      );
      const build = await buildOf(operation.name);
      const log = logLines(emu, 'build_id', build.id);
      return { settled, build, log };
    };

    const ok = await run('0');
    expect(ok.settled).toBe('resolved');
    expect(ok.build.status).toBe('SUCCESS');
    // stdout and stderr (Docker keeps no order between the two), and the last line without its newline too.
    const stepLines = ok.log.filter((line) => line.startsWith('Step #0: '));
    expect(stepLines.sort()).toEqual(
      [
        'Step #0: hello from the workspace',
        `Step #0: build ${ok.build.id} of ${project}`,
        'Step #0: no newline',
      ].sort(),
    );

    const failed = await run('3');
    expect(failed.settled).toContain('Build failed; check build logs for details');
    expect(failed.build.status).toBe('FAILURE');
    expect(failed.build.statusDetail).toContain(
      `Build step 0 "${baseUri}" failed: step exited with non-zero status: 3`,
    );
    expect(failed.build.statusDetail).toContain('no newline');
    expect(failed.build.steps?.[0]?.status).toBe('FAILURE');
  });
});

describe('failures', () => {
  test('a failing step fails the build with the step and its log tail', async () => {
    const source = await upload('ctx/broken.tgz', {
      Dockerfile: dockerfile('RUN echo "about to fail" && exit 7\n'),
      'train.sh': TRAIN_SH,
    });
    const [operation] = await builds.createBuild({
      projectId: project,
      build: {
        source,
        steps: [{ name: 'gcr.io/cloud-builders/docker', args: ['build', '-t', imageUri('broken:v1'), '.'] }],
        images: [imageUri('broken:v1')],
        logsBucket: 'gs://vxl-logs',
      },
    });
    await expect(operation.promise()).rejects.toThrow('Build failed; check build logs for details');
    const build = await buildOf(operation.name);
    expect(build.status).toBe('FAILURE');
    expect(build.statusDetail).toContain('Build step 0 "gcr.io/cloud-builders/docker" failed');
    expect(build.statusDetail).toContain('about to fail');
    expect(build.failureInfo).toMatchObject({ type: 'USER_BUILD_STEP' });
    expect(build.steps?.[0]?.status).toBe('FAILURE');
    const [text] = await storage.bucket('vxl-logs').file(`log-${build.id}.txt`).download();
    expect(text.toString()).toContain('ERROR: Build step 0');
  });

  test('timeout ends the build as TIMEOUT; cancel as CANCELLED', async () => {
    const source = await upload('ctx/slow.tgz', { Dockerfile: dockerfile('RUN sleep 30\n'), 'train.sh': TRAIN_SH });
    const slow = (timeoutSeconds: number) =>
      builds.createBuild({
        projectId: project,
        build: {
          source,
          steps: [
            { name: 'gcr.io/cloud-builders/docker', args: ['build', '--no-cache', '-t', imageUri('slow:v1'), '.'] },
          ],
          timeout: { seconds: timeoutSeconds },
          logsBucket: 'gs://vxl-logs',
        },
      });
    const started = Date.now();
    const [timedOut] = await slow(2);
    const [toCancel] = await slow(300);
    const cancelId = (await buildOf(toCancel.name)).id as string;
    await waitForStatus(cancelId, ['WORKING']);
    const [cancelled] = await builds.cancelBuild({ projectId: project, id: cancelId });
    expect(cancelled.status).toBe('CANCELLED');
    await expect(toCancel.promise()).rejects.toThrow('Build was cancelled');
    await expect(timedOut.promise()).rejects.toThrow('Build timed out');
    const timeoutBuild = await buildOf(timedOut.name);
    expect(timeoutBuild.status).toBe('TIMEOUT');
    expect(Date.now() - started).toBeLessThan(15_000);
    const message = await grpcError(builds.cancelBuild({ projectId: project, id: cancelId }), 9);
    expect(message).toContain('already ended with status CANCELLED');
  });

  test('the build service account pushes: without uploadArtifacts the push is refused', async () => {
    const sa = await emu.iam.createServiceAccount('builder-no-push', {
      permissions: ['storage.objects.get', 'storage.objects.create', 'artifactregistry.repositories.downloadArtifacts'],
    });
    const image = imageUri('denied:v1');
    const source = await upload('ctx/denied.tgz', { Dockerfile: dockerfile(), 'train.sh': TRAIN_SH });
    const [operation] = await builds.createBuild({
      projectId: project,
      build: {
        source,
        steps: [{ name: 'gcr.io/cloud-builders/docker', args: ['build', '-t', image, '.'] }],
        images: [image],
        serviceAccount: `projects/${project}/serviceAccounts/${sa.client_email}`,
        logsBucket: 'gs://vxl-logs',
      },
    });
    await expect(operation.promise()).rejects.toThrow('Build failed');
    const build = await buildOf(operation.name);
    expect(build.failureInfo?.type).toBe('PUSH_NOT_AUTHORIZED');
    expect(build.statusDetail).toContain('artifactregistry.repositories.uploadArtifacts');
  });

  test('requests are validated and authorized', async () => {
    const noSteps = await grpcError(builds.createBuild({ projectId: project, build: { steps: [] } }), 3);
    expect(noSteps).toContain('build does not specify any steps');
    const unknownSub = await grpcError(
      builds.createBuild({
        projectId: project,
        build: { steps: [{ name: 'gcr.io/cloud-builders/docker', args: ['$_NOPE'] }] },
      }),
      3,
    );
    expect(unknownSub).toContain('"_NOPE" is not matched');
    // MUST_MATCH (the default substitution_option) also refuses a substitution the template never uses ...
    const version = [{ name: 'gcr.io/cloud-builders/docker', args: ['version'] }];
    const unused = await grpcError(
      builds.createBuild({ projectId: project, build: { steps: version, substitutions: { _UNUSED: 'x' } } }),
      3,
    );
    expect(unused).toContain('key "_UNUSED" in the substitution data is not matched in the template');
    // ... and ALLOW_LOOSE lets both through.
    const [loose] = await builds.createBuild({
      projectId: project,
      build: {
        steps: [{ name: 'gcr.io/cloud-builders/docker', args: ['version', '$_NOPE'] }],
        substitutions: { _UNUSED: 'x' },
        options: { substitutionOption: 'ALLOW_LOOSE' },
      },
    });
    // No timeout: Cloud Build's default of 60 minutes (cloudbuild.proto: "Default time is 60 minutes").
    const looseBuild = await buildOf(loose.name);
    expect(looseBuild.timeout).toMatchObject({ seconds: '3600' });
    // Cleanup: the build may already have ended (its step fails at once), which Cloud Build answers FAILED_PRECONDITION.
    await builds
      .cancelBuild({ projectId: project, id: looseBuild.id })
      .catch((error: { code?: number }) => expect(error.code).toBe(9));
    // service_account is a resource name, never a bare email.
    const bareEmail = await grpcError(
      builds.createBuild({
        projectId: project,
        build: { steps: version, serviceAccount: emu.cloudBuildServiceAccount },
      }),
      3,
    );
    expect(bareEmail).toContain('must be of the format projects/{PROJECT_ID}/serviceAccounts/{ACCOUNT}');
    const outsider = await emu.iam.createServiceAccount('no-build-rights');
    const limited = new CloudBuildClient(emu.cloudBuildClientOptions(emu.iam.issueToken(outsider.client_email)));
    const denied = await grpcError(
      limited.createBuild({
        projectId: project,
        build: { steps: [{ name: 'gcr.io/cloud-builders/docker', args: ['version'] }] },
      }),
      7,
    );
    expect(denied).toContain("Permission 'cloudbuild.builds.create' denied");
    await limited.close();
    emu.faults.inject('cloudbuild.builds.get', { code: 'UNAVAILABLE', times: 1 });
    await grpcError(builds.getBuild({ projectId: project, id: 'x' }, { retry: null } as never), 14);
    expect(emu.counters()['cloudbuild.builds.create']).toBeGreaterThanOrEqual(6);
  });
});
