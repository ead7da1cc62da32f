/**
 * A Node app that launches a Vertex AI CustomJob with the Vertex Launch SDK and waits for it: credentials from the
 * `auto()` chain, the Vertex runner, a queue config written as an object, `launch()` with typed progress events,
 * `wait()` until the job ends, then its logs. Exit code 0 when the job succeeded, 1 when it did not.
 *
 *   TRAINER_IMAGE=us-central1-docker.pkg.dev/my-proj/train/trainer:1 STAGING_BUCKET=gs://my-bucket \
 *     pnpm start --learning-rate 0.05
 */
import { parseArgs } from 'node:util';
import { auto, resolveCredentials } from '@vertex-launch/auth';
import { formatElapsed, type LaunchEvent, launch, type UserQueueConfig } from '@vertex-launch/core';
import { vertexRunner } from '@vertex-launch/vertex';

const { values } = parseArgs({
  options: {
    'learning-rate': { type: 'string', default: '0.01' },
    'run-name': { type: 'string' },
  },
});
const image = process.env.TRAINER_IMAGE;
const stagingBucket = process.env.STAGING_BUCKET;
if (!image || !stagingBucket) {
  console.error('Set TRAINER_IMAGE (the image to run) and STAGING_BUCKET (gs://bucket for the job outputs).');
  process.exit(2);
}

/** The queue config, as an object: the same keys as a queue.yaml file (snake_case, `spec` and `run`). */
const config: UserQueueConfig = {
  template_variables: {
    learning_rate: { type: 'number', minimum: 0, maximum: 1, default: 0.01, description: 'Optimizer learning rate' },
  },
  spec: {
    display_name: 'sdk-${run_name}',
    worker_pool_specs: [
      {
        machine_spec: { machine_type: 'n1-standard-4' },
        replica_count: 1,
        container_spec: {
          image_uri: '${image_uri}',
          command: ['python', '-m', 'trainer.task'],
          args: ['--learning-rate', '{{learning_rate}}'],
          env: [{ name: 'RUN_NAME', value: '${run_name}' }],
        },
      },
    ],
    staging_bucket: stagingBucket,
    labels: { team: 'ml', launched_by: 'programmatic-launch' },
  },
  run: { timeout: '1h', restart_job_on_worker_restart: false },
};

/** One line per progress event. */
function report(event: LaunchEvent): void {
  switch (event.type) {
    case 'resolved':
      console.log(`resolved run ${event.runId} (launch ${event.launchId}) for ${event.projectId}/${event.region}`);
      break;
    case 'submitted':
      console.log(`submitted ${event.jobName}${event.existing ? ' (already there)' : ''}`);
      console.log(`  console: ${event.consoleUrl}`);
      break;
    case 'state-changed':
      console.log(`[+${formatElapsed(event.elapsedMs)}] ${event.previousState ?? '-'} -> ${event.state}`);
      break;
    case 'finished':
      console.log(`finished ${event.state} after ${formatElapsed(event.elapsedMs)}`);
      break;
    default:
      break;
  }
}

const credentials = await resolveCredentials(auto());
console.log(`credentials: ${credentials.strategy} (${credentials.principal ?? 'principal not named'})`);
const runner = vertexRunner({ credentials, region: credentials.region ?? 'us-central1' });
try {
  const handle = await launch({
    config,
    variables: { learning_rate: values['learning-rate'] },
    // Project and region: the runner's (launch() takes them from a `runtime` or the runner when not given).
    image,
    ...(values['run-name'] ? { runName: values['run-name'] } : {}),
    runner,
    onEvent: report,
  });
  // Ctrl-C stops waiting (the job keeps running on Vertex AI; cancel it with handle.cancel() if you want).
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort(new Error('interrupted')));
  const final = await handle.wait({ signal: stop.signal });
  for await (const entry of handle.logs()) console.log(`  log | ${entry.text}`);
  if (final.status !== 'succeeded') console.error(`job failed: ${final.error?.message ?? final.state}`);
  process.exitCode = final.status === 'succeeded' ? 0 : 1;
} finally {
  await runner.close();
}
