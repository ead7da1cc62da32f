// The Docker builder passes the shared builder conformance suite against the emulator's registry.
import { buildBusyboxBaseImage, type Emulator, startEmulator } from '@vertex-launch/emulator';
import { builderConformance } from '@vertex-launch/testkit';
import { dockerBuilder } from '../src/index.js';

builderConformance('docker', (ctx) => dockerBuilder({ env: ctx.emulator.env, credentials: ctx.credentials }), {
  startEmulator: () => startEmulator(),
  buildBaseImage: (emulator, imageUri) => buildBusyboxBaseImage({ emulator: emulator as Emulator, imageUri }),
});
