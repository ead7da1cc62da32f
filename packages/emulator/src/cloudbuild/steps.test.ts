import { describe, expect, test } from 'vitest';
import { dockerfileBaseImages, isNativeStep, parseNativeStep, StepArgsError, substitute } from './steps.js';

const DOCKER = 'gcr.io/cloud-builders/docker';
const KANIKO = 'gcr.io/kaniko-project/executor:v1.23.2';

describe('docker steps', () => {
  test('build with tags, file, build args, cache-from, target, labels and both flag forms', () => {
    expect(
      parseNativeStep(
        DOCKER,
        [
          'build',
          '-t',
          'us-docker.pkg.dev/p/r/a:1',
          '--tag=us-docker.pkg.dev/p/r/a:latest',
          '-f',
          'docker/Dockerfile',
          '--build-arg',
          'A=1',
          '--build-arg=B',
          '--cache-from',
          'us-docker.pkg.dev/p/r/a:latest',
          '--target=train',
          '--label',
          'team=ml',
          '--network=cloudbuild',
          '--no-cache',
          'src',
        ],
        undefined,
      ),
    ).toEqual({
      kind: 'build',
      tags: ['us-docker.pkg.dev/p/r/a:1', 'us-docker.pkg.dev/p/r/a:latest'],
      file: 'docker/Dockerfile',
      buildArgs: { A: '1', B: undefined },
      cacheFrom: ['us-docker.pkg.dev/p/r/a:latest'],
      target: 'train',
      labels: { team: 'ml' },
      noCache: true,
      context: 'src',
      pushAfter: false,
      fileBase: 'cwd',
    });
  });

  test('push and tag', () => {
    expect(parseNativeStep(`${DOCKER}:24`, ['push', 'us-docker.pkg.dev/p/r/a:1'], 'docker')).toEqual({
      kind: 'push',
      image: 'us-docker.pkg.dev/p/r/a:1',
    });
    expect(parseNativeStep(DOCKER, ['tag', 'a:1', 'b:2'], undefined)).toEqual({
      kind: 'tag',
      source: 'a:1',
      target: 'b:2',
    });
  });

  test('what cannot be interpreted is refused with a reason', () => {
    const refused = (args: string[], entrypoint?: string) => {
      try {
        parseNativeStep(DOCKER, args, entrypoint);
      } catch (error) {
        expect(error).toBeInstanceOf(StepArgsError);
        return (error as Error).message;
      }
      throw new Error('expected a refusal');
    };
    expect(refused(['run', 'busybox'])).toContain('docker run is not supported');
    expect(refused(['build', '.'])).toContain('needs a tag');
    expect(refused(['build', '-t', 'x', 'a', 'b'])).toContain('exactly one context');
    expect(refused(['build', '-t', 'x', '--squash', '.'])).toContain('--squash is not supported');
    expect(refused(['build', '-t'])).toContain('-t needs a value');
    expect(refused(['push'])).toContain('exactly one image');
    expect(refused(['version'], 'bash')).toContain('entrypoint "bash" is not supported');
  });
});

describe('kaniko steps', () => {
  test('destinations, context, dockerfile (relative to the context), build args; cache flags ignored', () => {
    expect(
      parseNativeStep(
        KANIKO,
        [
          '--destination=us-docker.pkg.dev/p/r/a:1',
          '-d',
          'us-docker.pkg.dev/p/r/a:2',
          '--context=dir:///workspace/app',
          '--dockerfile',
          'Dockerfile.train',
          '--build-arg=X=y',
          '--cache=true',
          '--cache-ttl',
          '6h',
        ],
        undefined,
      ),
    ).toMatchObject({
      tags: ['us-docker.pkg.dev/p/r/a:1', 'us-docker.pkg.dev/p/r/a:2'],
      context: '/workspace/app',
      file: 'Dockerfile.train',
      buildArgs: { X: 'y' },
      pushAfter: true,
      fileBase: 'context',
    });
    expect(() => parseNativeStep(KANIKO, ['--context=gs://b/ctx.tgz', '-d', 'x'], undefined)).toThrow('not supported');
  });

  test('-f, --target, --label and --no-push; each builder keeps its own spelling of the tag and the Dockerfile', () => {
    expect(
      parseNativeStep(
        KANIKO,
        ['-d', 'us-docker.pkg.dev/p/r/a:1', '-f', 'ci/Dockerfile', '--target', 'run', '--label=k=v', '--no-push'],
        undefined,
      ),
    ).toEqual({
      kind: 'build',
      tags: ['us-docker.pkg.dev/p/r/a:1'],
      file: 'ci/Dockerfile',
      buildArgs: {},
      cacheFrom: [],
      target: 'run',
      labels: { k: 'v' },
      noCache: false,
      context: '.',
      pushAfter: false,
      fileBase: 'context',
    });
    expect(() => parseNativeStep(KANIKO, ['-t', 'us-docker.pkg.dev/p/r/a:1'], undefined)).toThrow(
      'kaniko flag -t is not supported by the emulator',
    );
    expect(() => parseNativeStep(DOCKER, ['build', '-d', 'x', '.'], undefined)).toThrow(
      'docker build flag -d is not supported by the emulator',
    );
    expect(() => parseNativeStep(DOCKER, ['build', '--dockerfile=D', '-t', 'x', '.'], undefined)).toThrow(
      'docker build flag --dockerfile=D is not supported by the emulator',
    );
  });

  test('only the two builders run natively', () => {
    expect(isNativeStep('gcr.io/cloud-builders/docker')).toBe(true);
    expect(isNativeStep('gcr.io/kaniko-project/executor:latest')).toBe(true);
    expect(isNativeStep('gcr.io/cloud-builders/gcloud')).toBe(false);
    expect(isNativeStep('us-docker.pkg.dev/p/r/busybox:1')).toBe(false);
  });
});

test('dockerfileBaseImages substitutes ARGs and skips scratch and earlier stages', () => {
  const dockerfile = [
    'ARG BASE=us-docker.pkg.dev/p/r/base:1',
    'ARG TAG',
    'FROM --platform=linux/amd64 ${BASE} AS deps',
    'FROM scratch AS empty',
    'FROM us-docker.pkg.dev/p/r/runtime:$TAG',
    'COPY --from=deps /x /x',
    'FROM deps',
  ].join('\n');
  expect(dockerfileBaseImages(dockerfile, { TAG: '2' })).toEqual([
    'us-docker.pkg.dev/p/r/base:1',
    'us-docker.pkg.dev/p/r/runtime:2',
  ]);
});

test('substitute: built-ins and user substitutions, $$ escapes, unknown user keys reported', () => {
  const missing = new Set<string>();
  expect(
    substitute(
      '$PROJECT_ID/${_REPO}/app:$BUILD_ID $$HOME $HOME ${_NOPE}',
      { PROJECT_ID: 'p', BUILD_ID: 'b1', _REPO: 'r' },
      missing,
    ),
  ).toBe('p/r/app:b1 $HOME $HOME ${_NOPE}');
  expect([...missing]).toEqual(['_NOPE']);
});
