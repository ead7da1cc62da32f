/**
 * Launches examples/python-training on Vertex AI: Cloud Build builds the directory with the Dockerfile Vertex Launch
 * generates for a Python project without one (base image, `pip install -r requirements.txt` in its own layer, the
 * sources, `ENTRYPOINT ["python", "train.py"]`), pushes it to Artifact Registry under its content tag (an unchanged
 * project is not rebuilt), submits the CustomJob from queue.yaml, waits for it and prints its logs.
 *
 *   STAGING_BUCKET=gs://my-bucket IMAGE_REPOSITORY=us-central1-docker.pkg.dev/my-proj/train/python-training \
 *     pnpm launch --epochs 20
 *
 * Environment: STAGING_BUCKET (required), IMAGE_REPOSITORY (default
 * `<region>-docker.pkg.dev/<project>/training/python-training`), PYTHON_BASE_IMAGE (default `python:3.12-slim`),
 * and what `auto()` of @vertex-launch/auth reads for credentials, project and region.
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { auto, resolveCredentials } from '@vertex-launch/auth';
import { cloudBuild } from '@vertex-launch/builder-cloudbuild';
import { formatElapsed, type LaunchEvent, launch, loadConfigFile } from '@vertex-launch/core';
import { vertexRunner } from '@vertex-launch/vertex';

const projectDir = dirname(dirname(fileURLToPath(import.meta.url)));
const { values } = parseArgs({ options: { epochs: { type: 'string', default: '5' } } });

function print(event: LaunchEvent): void {
  switch (event.type) {
    case 'build-started':
      console.log(`building ${event.imageUri} with ${event.builder}`);
      break;
    case 'build-log':
      console.log(`  build | ${event.line}`);
      break;
    case 'build-pushed':
      console.log(`pushed ${event.imageUri} (${event.digest})`);
      break;
    case 'build-skipped':
      console.log(`build skipped: ${event.reason}`);
      break;
    case 'submitted':
      console.log(`submitted ${event.jobName}\n  ${event.consoleUrl}`);
      break;
    case 'state-changed':
      console.log(`[+${formatElapsed(event.elapsedMs)}] ${event.state}`);
      break;
    default:
      break;
  }
}

const credentials = await resolveCredentials(auto());
const project = credentials.projectId;
const region = credentials.region ?? 'us-central1';
if (!project) throw new Error('No project: set GOOGLE_CLOUD_PROJECT (or use credentials that name one).');
const repository = process.env.IMAGE_REPOSITORY ?? `${region}-docker.pkg.dev/${project}/training/python-training`;
const baseImage = process.env.PYTHON_BASE_IMAGE;

const runner = vertexRunner({ credentials, projectId: project, region });
try {
  const handle = await launch({
    config: await loadConfigFile(`${projectDir}/queue.yaml`),
    file: 'queue.yaml',
    variables: { epochs: values.epochs },
    projectId: project,
    region,
    // No Dockerfile in the directory: the build context carries a generated one.
    source: {
      contextDir: projectDir,
      image: repository,
      ...(baseImage ? { generateDockerfile: { baseImage } } : {}),
    },
    builder: cloudBuild({ credentials, pollIntervalMs: 500 }),
    builderCredentials: credentials,
    runner,
    onEvent: print,
  });
  const final = await handle.wait();
  for await (const entry of handle.logs()) console.log(`  job | ${entry.text}`);
  console.log(`${final.state}${final.error ? `: ${final.error.message}` : ''}`);
  process.exitCode = final.status === 'succeeded' ? 0 : 1;
} finally {
  await runner.close();
}
