// Issue #25, part 4 and issue #24, part 8, through the CLI: a device or a pipe as a config stops at the 1 MB limit;
// a malformed region or project id is refused where it enters (`--dry-run` included); `--image` is checked as an
// OCI reference. Each exits 2 with a message naming the flag or file, never a stack trace.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CLEAN_ENV, type CliResult, runCli } from '../../packages/cli/test/run-cli.js';
import { tempDir } from '../helpers.js';
import { fuzzOptions } from './arbitraries.js';

let dir: { path: string; cleanup: () => Promise<void> };
let queue: string;
const tally = { runs: 0, refused: 0, accepted: 0 };

beforeAll(async () => {
  dir = await tempDir('vxl-entry-');
  queue = join(dir.path, 'q.yaml');
  await writeFile(
    queue,
    'spec:\n  worker_pool_specs:\n    - machine_spec: {machine_type: n1-standard-4}\n      container_spec: {image_uri: "${image_uri}"}\n  staging_bucket: gs://my-bucket\n',
  );
});
afterAll(async () => {
  console.log(
    `[reliability] bad input at entry: ${tally.runs} CLI runs, ${tally.refused} refused with exit 2, ${tally.accepted} valid accepted`,
  );
  await dir?.cleanup();
});

const env = () => ({ ...CLEAN_ENV, HOME: dir.path, CLOUDSDK_CONFIG: join(dir.path, 'gcloud'), NO_COLOR: '1' });
async function dryRun(flags: string[]): Promise<CliResult> {
  tally.runs++;
  return runCli(['launch', '--queue-config', queue, '--dry-run', ...flags], { env: env() });
}
function refused(result: CliResult, message: RegExp): void {
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(message);
  expect(result.stderr).not.toMatch(/\n\s+at /);
  expect(result.stdout).toBe('');
  tally.refused++;
}
const IMAGE = ['--image', 'us-docker.pkg.dev/my-project/r/i:1'];
const PLACE = ['--project', 'my-project', '--region', 'us-central1'];

describe('config reads are capped for devices and pipes', () => {
  test.each([['/dev/zero'], ['/dev/urandom']])('%s as a queue config and as an agent config', async (device) => {
    const started = performance.now();
    tally.runs++;
    refused(await runCli(['queue', 'validate', device], { env: env() }), /too large for a config: more than 1 MB/);
    refused(await dryRun([...IMAGE, ...PLACE, '--override', device]), /too large for a config: more than 1 MB/);
    tally.runs++;
    refused(
      await runCli(['agent', '--config', device], { env: env(), timeoutMs: 15_000 }),
      /Agent config file .* too large|too large for a config/,
    );
    expect(performance.now() - started).toBeLessThan(20_000);
  });
});

describe('regions and project ids are refused where they enter', () => {
  test('--region and --project, in --dry-run', async () => {
    refused(
      await dryRun([...IMAGE, '--project', 'my-project', '--region', '../../etc']),
      /`\.\.\/\.\.\/etc` \(from --region\) is not a region name/,
    );
    refused(
      await dryRun([...IMAGE, '--project', 'BAD/..', '--region', 'us-central1']),
      /The project `BAD\/\.\.` \(from --project\) is not a GCP project id/,
    );
    tally.runs++;
    const fromEnv = await runCli(
      ['launch', '--queue-config', queue, '--dry-run', ...IMAGE, '--region', 'us-central1'],
      {
        env: { ...env(), GOOGLE_CLOUD_PROJECT: 'x-y' },
      },
    );
    refused(fromEnv, /\(from \$GOOGLE_CLOUD_PROJECT\) is not a GCP project id/);
    const legacy = await dryRun([...IMAGE, '--project', 'example.com:my-project', '--region', 'us-central1']);
    expect(legacy.code).toBe(0);
    expect(JSON.parse(legacy.stdout).parent).toBe('projects/example.com:my-project/locations/us-central1');
    tally.accepted++;
  });

  test('generated project ids: the rule is 6-30 chars, a letter first, [a-z0-9-], no trailing hyphen', async () => {
    const { PROJECT_ID_PATTERN } = await import('@vertex-launch/core');
    const valid = fc
      .tuple(
        fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz'),
        fc.stringMatching(/^[a-z0-9-]{4,28}$/),
        fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'),
      )
      .map(([a, b, c]) => a + b + c);
    fc.assert(
      fc.property(valid, (id) => PROJECT_ID_PATTERN.test(id)),
      fuzzOptions(300),
    );
    const invalid = fc.oneof(
      valid.map((id) => `${id}-`.slice(-31)),
      valid.map((id) => `9${id.slice(1)}`),
      valid.map((id) => id.toUpperCase()),
      fc.stringMatching(/^[a-z][a-z0-9]{0,4}$/),
      valid.map((id) => `${id}${'x'.repeat(31 - id.length)}`),
      valid.map((id) => `${id.slice(0, 3)}/../${id.slice(3)}`),
    );
    fc.assert(
      fc.property(invalid, (id) => !PROJECT_ID_PATTERN.test(id)),
      fuzzOptions(300),
    );
  });
});

describe('--image is an OCI reference', () => {
  test.each([
    ['hello:${env:X}', /--image hello:\$\{env:X\}: not an image reference: tag `\$\{env:X\}` is not a tag/],
    ['gcr.io/Team/app:1', /name component `Team`/],
    ['gcr.io/p/app@sha256:abc', /a sha256 digest is 64 lowercase hex digits/],
  ])('%s', async (image, message) => {
    refused(await dryRun(['--image', image, ...PLACE]), message);
  });
});
