import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { type BuilderRuntime, defineBuilder } from './contract.js';
import { builderTypeProblem, builtinBuilders, createBuilder, loadBuilder } from './registry.js';

/** A builder package as a module: the factory made by defineBuilder, as its default export. */
function builderModule(name: string, seen: { options?: unknown; runtime?: BuilderRuntime }) {
  const factory = defineBuilder(name, z.strictObject({ flavour: z.string().default('plain') }), (options, runtime) => {
    seen.options = options;
    seen.runtime = runtime;
    return { name, build: async (request) => ({ imageUri: request.destination, digest: 'sha256:0' }) };
  });
  return { default: factory, helper: () => 'not a builder' };
}

describe('the builder registry', () => {
  test('docker and cloudbuild are built in; a third-party builder is named by its package', () => {
    expect(builtinBuilders()).toEqual(['docker', 'cloudbuild']);
    expect(builderTypeProblem('docker', '--builder')).toBeUndefined();
    expect(builderTypeProblem('@acme/vertex-launch-kaniko', '--builder')).toBeUndefined();
    expect(builderTypeProblem('vertex-launch-builder-kaniko', '--builder')).toBeUndefined();
    expect(builderTypeProblem('dokcer', '--builder')).toBe(
      '--builder dokcer: use docker or cloudbuild (did you mean docker?), or a builder package named @scope/name or vertex-launch-builder-<name>',
    );
    expect(builderTypeProblem('kaniko', 'builder.type')).toContain('builder.type kaniko: use docker or cloudbuild, or');
  });

  test('a built-in is imported only when chosen, and its named factory is used', async () => {
    const imported: string[] = [];
    const seen: { options?: unknown; runtime?: BuilderRuntime } = {};
    const module = builderModule('docker', seen);
    const factory = await loadBuilder('docker', {
      import: async (name) => {
        imported.push(name);
        return { dockerBuilder: module.default };
      },
    });
    expect(imported).toEqual(['@vertex-launch/builder-docker']);
    expect(factory.builderName).toBe('docker');
  });

  test("a package's default export is made with the caller's options and the runtime as second argument", async () => {
    const seen: { options?: unknown; runtime?: BuilderRuntime } = {};
    const runtime: BuilderRuntime = { projectId: 'p', region: 'us-central1' };
    const builder = await createBuilder('@acme/vertex-launch-kaniko', { flavour: 'fast' }, runtime, {
      import: async () => builderModule('kaniko', seen),
    });
    expect(builder.name).toBe('kaniko');
    expect(seen).toEqual({ options: { flavour: 'fast' }, runtime });
  });

  test('a package without exactly one builder factory, or not installed, is a ConfigError saying so', async () => {
    const none = await loadBuilder('@acme/nothing', {
      where: 'builder.type in launch-config.yaml',
      import: async () => ({ x: 1 }),
    }).catch((e: unknown) => e);
    expect(none).toBeInstanceOf(ConfigError);
    expect((none as ConfigError).message).toBe(
      '[vertex-launch] [builder] @acme/nothing (builder.type in launch-config.yaml) does not export a builder factory.',
    );
    const missing = await loadBuilder('cloudbuild', {
      where: '--builder',
      import: async () => {
        throw Object.assign(new Error("Cannot find package '@vertex-launch/builder-cloudbuild'"), {
          code: 'ERR_MODULE_NOT_FOUND',
        });
      },
    }).catch((e: unknown) => e);
    expect((missing as ConfigError).message).toBe(
      '[vertex-launch] The builder `cloudbuild` (--builder) needs @vertex-launch/builder-cloudbuild, which is not installed.',
    );
    await expect(loadBuilder('dokcer', { where: '--builder' })).rejects.toThrow('did you mean docker?');
  });
});
