// Vitest setup for every test file: loopback-only network, no metadata-server probing,
// and a failure for the test that tried to leave the machine.
import { afterEach, expect } from 'vitest';
// @ts-expect-error plain ESM module without types
import { takeViolations } from './net-guard.mjs';

process.env.METADATA_SERVER_DETECTION = 'none';
// Keep any gcloud configuration of the developer's machine out of the tests.
process.env.CLOUDSDK_CONFIG ??= '/nonexistent/vertex-launch-tests/gcloud';
delete process.env.GOOGLE_APPLICATION_CREDENTIALS;

afterEach(() => {
  const violations: string[] = takeViolations();
  expect(violations, 'this test tried to reach a non-loopback address').toEqual([]);
});
