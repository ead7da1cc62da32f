// The example plugin passes the same conformance suite as the builders Vertex Launch ships.
import { buildBusyboxBaseImage, type Emulator, startEmulator } from '@vertex-launch/emulator';
import { builderConformance } from '@vertex-launch/testkit';
import { codeLayerBuilder } from '../src/index.js';

builderConformance(
  'code-layer',
  (ctx) =>
    codeLayerBuilder({
      baseImage: ctx.baseImage,
      entrypoint: ctx.entrypoint,
      workdir: ctx.workdir,
      credentials: ctx.credentials,
      env: ctx.emulator.env,
    }),
  {
    startEmulator: () => startEmulator(),
    buildBaseImage: (emulator, imageUri) => buildBusyboxBaseImage({ emulator: emulator as Emulator, imageUri }),
    dockerfile: 'generated',
  },
);
