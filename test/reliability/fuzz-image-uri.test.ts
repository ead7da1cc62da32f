// Issue #11, part 1: property-based fuzzing of Artifact Registry image URIs. Valid URIs parse and format back to the
// same text; mutated and random strings either parse (and round-trip) or throw a ConfigError that names the URI and
// the expected form — never another exception, never a hang.
import { formatImageUri, parseImageUri } from '@vertex-launch/artifact-registry';
import { contextTag } from '@vertex-launch/core/build';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  anyShortString,
  fuzzOptions,
  mutatedImageUri,
  pathologicalString,
  Tally,
  validImageUri,
} from './arbitraries.js';

function check(tally: Tally, uri: string): boolean {
  const out = tally.run(() => parseImageUri(uri));
  if (out.ok) {
    expect(formatImageUri(out.value)).toBe(uri);
    tally.valid++;
    return true;
  }
  expect(out.error.message.startsWith(`Image URI ${JSON.stringify(uri)}: `)).toBe(true);
  expect(out.error.message).toContain('Expected <location>-docker.pkg.dev/<project>/<repository>/<image>');
  tally.configErrors++;
  return false;
}

describe('image URI fuzz', () => {
  test('valid URIs round-trip; mutated and random strings parse or give a config error naming the URI', () => {
    const tally = new Tally(
      'image-uri fuzz (valid + mutated + random)',
      'config errors naming the URI and the expected form',
    );
    fc.assert(
      fc.property(validImageUri, (uri) => {
        tally.generated++;
        expect(check(tally, uri)).toBe(true);
      }),
      fuzzOptions(1500),
    );
    fc.assert(
      fc.property(fc.oneof({ weight: 4, arbitrary: mutatedImageUri }, anyShortString, pathologicalString), (uri) => {
        tally.generated++;
        check(tally, uri);
        // The content tag of a build: refused with a ConfigError when the image already has a tag or digest.
        const tagged = tally.run(() => contextTag(uri, { tag: 'ctx-0123456789ab' }));
        if (tagged.ok) expect(tagged.value).toBe(`${uri}:ctx-0123456789ab`);
      }),
      fuzzOptions(2000),
    );
    for (const uri of [
      `us-docker.pkg.dev/my-project/repo/${'a'.repeat(10_000_000)}`,
      `${'-'.repeat(1_000_000)}docker.pkg.dev/p`,
    ]) {
      tally.generated++;
      check(tally, uri);
    }
    tally.print();
    expect(tally.crashes + tally.slow).toBe(0);
  });
});
