import { expect, test } from 'vitest';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { type BuildEvent, defineBuilder } from './contract.js';

const dockerBuilder = defineBuilder(
  'docker',
  z.strictObject({ destination: z.string(), host: z.string().default('unix:///var/run/docker.sock') }),
  (options) => ({
    name: 'docker',
    async build(request) {
      request.onEvent?.({ type: 'log', line: `building on ${options.host}` });
      return { imageUri: request.destination, digest: 'sha256:0' };
    },
  }),
);

test('defineBuilder validates options with the plugin schema and applies defaults', async () => {
  const events: BuildEvent[] = [];
  const builder = dockerBuilder({ destination: 'r/img' });
  expect(builder.name).toBe('docker');
  const result = await builder.build({ contextDir: '.', destination: 'r/img:ctx-1', onEvent: (e) => events.push(e) });
  expect(result).toEqual({ imageUri: 'r/img:ctx-1', digest: 'sha256:0' });
  expect(events).toEqual([{ type: 'log', line: 'building on unix:///var/run/docker.sock' }]);
});

test('invalid options throw a ConfigError naming the plugin', () => {
  // @ts-expect-error destination is required
  expect(() => dockerBuilder({})).toThrow(
    /^\[vertex-launch\] \[builder:docker\] Missing required option `destination`\.$/,
  );
  let error: unknown;
  try {
    // @ts-expect-error wrong types and an unknown key
    dockerBuilder({ destination: 1, hots: 'x' });
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as ConfigError).message).toBe(
    '[vertex-launch] [builder:docker] 2 problems with the options:\n' +
      '  - Option `destination`: Invalid input: expected string, received number.\n' +
      '  - Unknown option `hots`; did you mean `host`?',
  );
  expect((error as ConfigError).issues.map((i) => i.path)).toEqual(['destination', 'hots']);
});

test('builder names must be kebab-case and match what the factory returns', () => {
  expect(() =>
    defineBuilder('Docker', z.object({}), () => ({
      name: 'Docker',
      build: async () => ({ imageUri: '', digest: '' }),
    })),
  ).toThrow(/must be kebab-case/);
  const mismatched = defineBuilder('a', z.object({}), () => ({
    name: 'b',
    build: async () => ({ imageUri: '', digest: '' }),
  }));
  expect(() => mismatched({})).toThrow(
    '[vertex-launch] [builder:a] The factory returned a builder named "b"; expected "a".',
  );
});
