// The example of packages/builder-cloudbuild/README.md, run by readme-example.test.ts against the emulator's Cloud
// Storage and Cloud Build (which checks that the README shows exactly the code between the readme-example markers).
// readme-example:start
import { auto, resolveCredentials } from '@vertex-launch/auth';
import { cloudBuild } from '@vertex-launch/builder-cloudbuild';
// readme-example:end

export async function example() {
  // readme-example:start
  const builder = cloudBuild({
    credentials: await resolveCredentials(auto()),
    stagingBucket: 'my-proj-builds',
    machineType: 'E2_HIGHCPU_8',
  });
  const { digest } = await builder.build({
    contextDir: './trainer',
    destination: 'us-central1-docker.pkg.dev/my-proj/ml/trainer:v1',
    onEvent: (event) => event.type === 'log' && console.error(event.line),
  });
  // readme-example:end
  return { digest };
}
