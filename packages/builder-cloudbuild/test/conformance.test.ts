// The Cloud Build builder passes the shared builder conformance suite against the emulator's Cloud Storage,
// Cloud Build (steps run on the local Docker daemon) and registry.
import { buildBusyboxBaseImage, type Emulator, startEmulator } from '@vertex-launch/emulator';
import { builderConformance } from '@vertex-launch/testkit';
import { cloudBuild } from '../src/index.js';
import { emulatorCredentials } from './support.js';

builderConformance(
  'cloudbuild',
  async (ctx) =>
    cloudBuild({
      credentials: await emulatorCredentials(ctx.emulator.env),
      env: ctx.emulator.env,
      pollIntervalMs: 100,
    }),
  {
    startEmulator: () => startEmulator(),
    buildBaseImage: (emulator, imageUri) => buildBusyboxBaseImage({ emulator: emulator as Emulator, imageUri }),
  },
);
