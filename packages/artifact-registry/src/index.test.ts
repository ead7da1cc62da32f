import { expect, test } from 'vitest';
import * as registry from './index.js';

test('the public surface is pinned', () => {
  expect(Object.keys(registry).sort()).toMatchInlineSnapshot(`
    [
      "artifactRegistry",
      "formatImageUri",
      "isArtifactRegistryUri",
      "packageResourceName",
      "parseImageUri",
      "repositoryResourceName",
      "tagResourceName",
      "withTag",
    ]
  `);
});
