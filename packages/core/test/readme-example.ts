// The example of packages/core/README.md, run by readme-example.test.ts (which checks that the README shows
// exactly the code between the readme-example markers). It runs when imported.
// readme-example:start
import type { LaunchContext } from '@vertex-launch/core';
import {
  formatConfigIssues,
  parseConfigText,
  resolveQueueConfig,
  validateQueueConfig,
} from '@vertex-launch/core/config';
import { toCreateCustomJobRequest } from '@vertex-launch/core/mapping';

const config = parseConfigText(`
spec:
  worker_pool_specs:
    - machine_spec: { machine_type: n1-standard-4 }
      replica_count: 1
      container_spec: { image_uri: "\${image_uri}", args: ["--epochs", "{{epochs}}"] }
  staging_bucket: gs://my-staging-bucket
run:
  timeout: 2h
template_variables:
  epochs: { type: integer, default: 3, minimum: 1 }
`);

// Every problem at once, with its path; a camelCase key is an error that names the snake_case one.
const check = validateQueueConfig(parseConfigText('spec: { workerPoolSpecs: [] }'));
if (!check.ok) console.log(formatConfigIssues(check.issues, 'bad.yaml'));

const context: LaunchContext = {
  project: 'my-project',
  region: 'us-central1',
  runId: 'run-1',
  launchId: 'launch-1',
  imageUri: 'us-central1-docker.pkg.dev/my-project/train/trainer:1',
};
const resolved = resolveQueueConfig({ config, context, variables: { epochs: '10' } });
const request = toCreateCustomJobRequest(resolved, context); // the aiplatform v1 CreateCustomJobRequest
console.log(request.parent, request.customJob.jobSpec.workerPoolSpecs[0]?.containerSpec?.args);

// readme-example:end

export { check, request };
