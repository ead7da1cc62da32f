// The example of packages/builder-docker/README.md, run by readme-example.test.ts against the emulator and the local
// Docker daemon (which checks that the README shows exactly the code between the readme-example markers).
// readme-example:start
import { auto, resolveCredentials } from '@vertex-launch/auth';
import { dockerBuilder } from '@vertex-launch/builder-docker';
import { contextTag, fingerprintContext } from '@vertex-launch/core/build';
// readme-example:end

export async function example() {
  // readme-example:start
  const builder = dockerBuilder({ credentials: await resolveCredentials(auto()) });
  const contextDir = './trainer';
  const destination = contextTag(
    'us-central1-docker.pkg.dev/my-proj/ml/trainer',
    await fingerprintContext({ contextDir }),
  );
  const { imageUri, digest } = await builder.build({
    contextDir,
    destination,
    buildArgs: { EPOCHS: '3' },
    onEvent: (event) => console.error(event),
  });
  // readme-example:end
  return { destination, imageUri, digest };
}
