import { expect, test } from 'vitest';
import { checkRegion, REGION_NAME_PATTERN, VERTEX_AI_REGIONS } from './regions.js';

test('every listed region is well formed, listed once, and passes', () => {
  expect(new Set(VERTEX_AI_REGIONS).size).toBe(VERTEX_AI_REGIONS.length);
  for (const region of VERTEX_AI_REGIONS) {
    expect(REGION_NAME_PATTERN.test(region), region).toBe(true);
    expect(checkRegion(region, '--region')).toEqual({ region });
  }
});

test('a typo is a warning with a did-you-mean that names where the region came from', () => {
  expect(checkRegion('us-centrl1', '--region')).toEqual({
    region: 'us-centrl1',
    severity: 'warning',
    suggestion: 'us-central1',
    message:
      '`us-centrl1` (from --region) is not a Vertex AI region (https://cloud.google.com/vertex-ai/docs/general/locations). Did you mean `us-central1`? Change it where it is set: --region.',
  });
  expect(checkRegion('europe-west99').suggestion).toBe('europe-west9');
  // Well formed but far from every listed region (perhaps newer than the list): a warning without a suggestion.
  expect(checkRegion('mars-north1').severity).toBe('warning');
  expect(checkRegion('mars-north1').suggestion).toBeUndefined();
});

test('a malformed region is an error: upper case, spaces, global, empty', () => {
  expect(checkRegion('US-CENTRAL1', 'GOOGLE_CLOUD_REGION')).toEqual({
    region: 'US-CENTRAL1',
    severity: 'error',
    suggestion: 'us-central1',
    message:
      '`US-CENTRAL1` (from GOOGLE_CLOUD_REGION) is not a region name: regions are lowercase, like us-central1. Did you mean `us-central1`? Change it where it is set: GOOGLE_CLOUD_REGION.',
  });
  expect(checkRegion('europe west4').suggestion).toBe('europe-west4');
  expect(checkRegion('global', 'environment.region in launch-config.yaml').message).toBe(
    'The region (from environment.region in launch-config.yaml) is `global`, but Vertex AI custom training runs in a region (there is no global location), e.g. us-central1. Change it where it is set: environment.region in launch-config.yaml.',
  );
  expect(checkRegion('').severity).toBe('error');
  expect(checkRegion('x'.repeat(10_000)).message).toMatch(/^`x{60}…` is not a region name/);
});
