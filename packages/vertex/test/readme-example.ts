// The example of packages/vertex/README.md, run by readme-example.test.ts against the emulator (which checks that
// the README shows exactly the code between the readme-example markers).
// readme-example:start
import { auto, resolveCredentials } from '@vertex-launch/auth';
import { launch, loadConfigFile } from '@vertex-launch/core';
import { vertexRunner } from '@vertex-launch/vertex';
// readme-example:end

/** Runs the example; it reports through `console.log` / `console.error` only, as in the README. */
export async function example(): Promise<void> {
  // readme-example:start
  const credentials = await resolveCredentials(auto());
  const runner = vertexRunner({ credentials, projectId: 'my-project', region: 'us-central1' });
  try {
    const handle = await launch({
      config: await loadConfigFile('queue.yaml'),
      image: 'us-docker.pkg.dev/my-project/train/trainer:1',
      runner,
      onEvent: (event) => console.error(event.type),
    });
    console.log(handle.jobName, handle.consoleUrl);
    const final = await handle.wait();
    for await (const entry of handle.logs()) console.log(entry.text);
    console.log(final.state, final.error?.message);
  } finally {
    await runner.close();
  }
  // readme-example:end
}
