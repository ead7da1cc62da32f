import { expect, test } from 'vitest';
import * as emulator from './index.js';

test('the public surface is pinned', () => {
  expect(Object.keys(emulator).sort()).toMatchInlineSnapshot(`
    [
      "Code",
      "EmulatorError",
      "HTTP_STATUS_FOR_CODE",
      "KNOWN_PERMISSIONS",
      "clockExecutor",
      "grpcClientOptions",
      "loopbackHost",
      "startEmulator",
      "storageClientOptions",
    ]
  `);
});
