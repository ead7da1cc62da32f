import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import * as core from './index.js';

test('the public surface is pinned', () => {
  expect(Object.keys(core).sort()).toMatchInlineSnapshot(`
    [
      "ACCELERATOR_TYPES",
      "ApiError",
      "AuthError",
      "BuildError",
      "ConfigError",
      "DEFAULT_QUEUE_CONFIG",
      "DEPRECATED_ACCELERATOR_TYPES",
      "DURATION_FORMS",
      "DURATION_PATTERN",
      "InternalError",
      "JOB_STATES",
      "LABEL_MAX_LENGTH",
      "LAUNCH_ID_LABEL",
      "MACRO_NAMES",
      "MAX_DISPLAY_NAME_LENGTH",
      "MAX_LABELS",
      "OVERRIDABLE_SECTIONS",
      "PermissionError",
      "QUEUE_CONFIG_SCHEMA_ID",
      "QUEUE_CONFIG_WRAPPER_KEYS",
      "QUEUE_LABEL",
      "RESERVATION_AFFINITY_TYPES",
      "RESERVED_LABEL_COUNT",
      "RESERVED_LABEL_PREFIX",
      "RUN_ID_LABEL",
      "SCHEDULING_STRATEGIES",
      "SHARED_SPEC_RUN_KEYS",
      "STAGING_BUCKET_PATTERN",
      "TEMPLATE_VARIABLE_TYPES",
      "VertexLaunchError",
      "checkAllowedOverrides",
      "checkOverrides",
      "countEnvMacros",
      "defaultDisplayName",
      "durationToJson",
      "formatConfigIssues",
      "hasPlaceholder",
      "isFillInMarker",
      "isVertexLaunchError",
      "jobLabels",
      "jobStateToStatus",
      "loadConfigFile",
      "macroValues",
      "mergeOverrides",
      "normalizeBucket",
      "parseConfigText",
      "parseDuration",
      "queueConfigJsonSchema",
      "queueConfigSchema",
      "resolveQueueConfig",
      "resolveQueueConfigResult",
      "runSchema",
      "sanitizeLabelKey",
      "sanitizeLabelValue",
      "specSchema",
      "substituteMacros",
      "templateVariableSchema",
      "toCreateCustomJobRequest",
      "toDurationMessage",
      "toRestJson",
      "unwrapQueueConfig",
      "validateQueueConfig",
      "validateQueueConfigShape",
    ]
  `);
});

test('core never imports a Google library (only zod, yaml and node: modules) outside tests', async () => {
  const srcDir = fileURLToPath(new URL('.', import.meta.url));
  const files = (await readdir(srcDir, { recursive: true })).filter(
    (f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.startsWith('__fixtures__'),
  );
  const external = new Set<string>();
  for (const file of files) {
    const text = await readFile(join(srcDir, file), 'utf8');
    for (const match of text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)) {
      const spec = match[1]!;
      if (!spec.startsWith('.')) external.add(spec.startsWith('node:') ? 'node:*' : spec);
    }
  }
  expect([...external].sort()).toEqual(['node:*', 'yaml', 'zod']);
});
