import { expect, test } from 'vitest';
import * as emulator from './index.js';

test('the public surface is pinned', () => {
  expect(Object.keys(emulator).sort()).toMatchInlineSnapshot(`
    [
      "BUSYBOX_DOCKERFILE",
      "Code",
      "EmulatorError",
      "HTTP_STATUS_FOR_CODE",
      "KNOWN_PERMISSIONS",
      "buildBusyboxBaseImage",
      "clockExecutor",
      "dockerExecutor",
      "fromLocalImageRef",
      "grpcClientOptions",
      "loopbackHost",
      "startEmulator",
      "storageClientOptions",
      "toLocalImageRef",
      "vertexEnvironment",
    ]
  `);
});
