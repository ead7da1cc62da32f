// Issue #24, part 8: image references are checked as the OCI distribution spec defines them (name components, tag,
// digest, registry host), naming the offending part; `--image` and `image_uri` values go through the same check.
import { imageReferenceProblem } from '@vertex-launch/core';
import { validateQueueConfig } from '@vertex-launch/core/config';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { fuzzOptions, Tally, validImageUri } from './arbitraries.js';

const alnum = fc.string({
  unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'),
  minLength: 1,
  maxLength: 8,
});
const separator = fc.constantFrom('.', '_', '__', '-', '--');
const component = fc
  .tuple(alnum, fc.array(fc.tuple(separator, alnum), { maxLength: 2 }))
  .map(([head, rest]) => head + rest.map(([s, a]) => s + a).join(''));
const host = fc.constantFrom(
  'gcr.io',
  'localhost',
  'localhost:5000',
  'us-docker.pkg.dev',
  '127.0.0.1:5000',
  'Reg.Example.COM',
);
const tagChar = fc.constantFrom(...'abcXYZ019_.-');
const tag = fc
  .tuple(fc.constantFrom(...'aZ9_'), fc.string({ unit: tagChar, maxLength: 20 }))
  .map(([first, rest]) => first + rest);
const digest = fc.stringMatching(/^[a-f0-9]{64}$/).map((hex) => `sha256:${hex}`);
const validRef = fc
  .tuple(fc.option(host), fc.array(component, { minLength: 1, maxLength: 3 }), fc.option(tag), fc.option(digest))
  .map(
    ([h, path, t, d]) =>
      `${h === null ? 'team/' : `${h}/`}${path.join('/')}${t === null ? '' : `:${t}`}${d === null ? '' : `@${d}`}`,
  );

// Without a host the first component is a path component (one with a dot would be taken for a host, as docker does).
/** A bad part and the words the problem must name it with. */
const badTag = fc
  .constantFrom('${env:X}', '{{tag}}', '.hidden', '-dash', 'a b', 'a:b', 'ümlaut', 'x'.repeat(129), '')
  .map((t) => ({ part: `:${t}`, names: 'tag' }));
const badComponent = fc
  .constantFrom('Upper', 'a___b', 'trail-', '-lead', 'a..b', 'dollar$', '')
  .map((c) => ({ part: `/${c}`, names: 'name component' }));
const badDigest = fc
  .constantFrom('sha256:abc', 'sha256:' + 'A'.repeat(64), 'md5', ':' + 'a'.repeat(64), 'sha256:!!')
  .map((d) => ({ part: `@${d}`, names: 'digest' }));

describe('image reference validation (#24.8)', () => {
  test('generated OCI references and Artifact Registry URIs are valid; broken parts are named', () => {
    const tally = new Tally('image-reference fuzz (valid + broken tag/component/digest)', 'problems naming the part');
    fc.assert(
      fc.property(validRef, (ref) => {
        tally.generated++;
        expect(tally.run(() => imageReferenceProblem(ref))).toEqual({ ok: true, value: undefined });
        tally.valid++;
      }),
      fuzzOptions(300),
    );
    fc.assert(
      fc.property(validImageUri, (uri) => {
        tally.generated++;
        expect(imageReferenceProblem(uri)).toBeUndefined();
        tally.valid++;
      }),
      fuzzOptions(100),
    );
    const broken = fc.oneof(
      fc.tuple(fc.constant('gcr.io/p/app'), badTag).map(([name, bad]) => ({ ref: name + bad.part, ...bad })),
      fc.tuple(fc.constant('gcr.io/p'), badComponent).map(([name, bad]) => ({ ref: `${name + bad.part}:v1`, ...bad })),
      fc.tuple(fc.constant('gcr.io/p/app'), badDigest).map(([name, bad]) => ({ ref: name + bad.part, ...bad })),
    );
    fc.assert(
      fc.property(broken, ({ ref, part, names }) => {
        tally.generated++;
        const problem = tally.run(() => imageReferenceProblem(ref));
        if (!problem.ok || problem.value === undefined) throw new Error(`${ref} was accepted`);
        expect(problem.value).toContain(names);
        // The offending part is quoted (a very long one only by its kind and length).
        if (part.length < 100) expect(problem.value).toContain(`\`${part.slice(1)}\``);
        tally.configErrors++;
      }),
      fuzzOptions(300),
    );
    tally.print();
    expect(tally.crashes).toBe(0);
  });

  test('a literal image_uri that is not a reference is a config error at its path; placeholders wait for launch', () => {
    const config = (image: string) => ({
      spec: {
        worker_pool_specs: [{ machine_spec: { machine_type: 'n1-standard-4' }, container_spec: { image_uri: image } }],
        staging_bucket: 'gs://my-bucket',
      },
    });
    const bad = validateQueueConfig(config('gcr.io/p/App:v1!'));
    expect(bad.issues.filter((i) => i.severity === 'error').map((i) => `${i.path}: ${i.message}`)).toEqual([
      'spec.worker_pool_specs[0].container_spec.image_uri: not an image reference: name component `App` is not lowercase letters and digits separated by `.`, `_`, `__` or `-`',
    ]);
    expect(validateQueueConfig(config('${image_uri}')).ok).toBe(true);
    expect(validateQueueConfig(config('gcr.io/p/app:v1')).ok).toBe(true);
  });
});
