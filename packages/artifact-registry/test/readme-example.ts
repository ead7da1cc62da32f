// The example of packages/artifact-registry/README.md, run by readme-example.test.ts against the emulator (which
// checks that the README shows exactly the code between the readme-example markers).
// readme-example:start
import { artifactRegistry } from '@vertex-launch/artifact-registry';
import { auto, resolveCredentials } from '@vertex-launch/auth';
// readme-example:end

export async function example() {
  // readme-example:start
  const registry = artifactRegistry({ credentials: await resolveCredentials(auto()) });
  const uri = 'europe-west4-docker.pkg.dev/my-proj/train/trainer:ctx-0123456789ab';

  // A DOCKER repository in europe-west4, created when missing; without `create`, an error names the gcloud command.
  await registry.ensureRepository(uri, { create: true });
  const pushed = await registry.tagExists(uri); // one GetTag call
  if (!pushed) {
    const auth = await registry.pushCredentials(uri); // { username: 'oauth2accesstoken', password, serveraddress }
    console.log(`docker login -u ${auth.username} ${auth.serveraddress}`); // never log auth.password
    // ... docker build + push with `auth` ...
  }
  const digest = await registry.getDigest(uri); // 'sha256:...' or undefined
  await registry.close();
  // readme-example:end
  return { pushed, digest };
}
