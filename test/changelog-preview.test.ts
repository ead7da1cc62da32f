// The unreleased CHANGELOG.md sections of scripts/changelog-preview.mjs: written between markers after the title,
// and removed without a trace, so `changeset version` (run after `--remove`) writes each entry exactly once.
import { expect, test } from 'vitest';
// @ts-expect-error plain ESM script without types
import { withoutPreview, withPreview } from '../scripts/changelog-preview.mjs';

const section = `
## 0.2.0

### Minor Changes

- New thing.

### Patch Changes

- Updated dependencies
- Updated dependencies
  - @vertex-launch/core@0.2.0
`;

test('the preview goes after the title, marked, with the version flagged as unreleased', () => {
  const base = '# @vertex-launch/x\n\n## 0.1.0\n\n### Minor Changes\n\n- First release.\n';
  expect(withPreview(base, section)).toBe(`# @vertex-launch/x

<!-- unreleased:start -->

## 0.2.0 (unreleased)

_Not released yet: made from the pending changesets in \`.changeset/\` by \`pnpm changelog\`. \`pnpm version-packages\` turns them into this release._

### Minor Changes

- New thing.

### Patch Changes

- Updated dependencies
  - @vertex-launch/core@0.2.0

<!-- unreleased:end -->

## 0.1.0

### Minor Changes

- First release.
`);
});

test('removing the preview gives back the changelog it was added to', () => {
  for (const base of ['# @vertex-launch/x\n', '# @vertex-launch/x\n\n## 0.1.0\n\n- First release.\n']) {
    expect(withoutPreview(withPreview(base, section), '@vertex-launch/x')).toBe(base);
  }
  expect(withoutPreview(undefined, '@vertex-launch/x')).toBe('# @vertex-launch/x\n');
  expect(() => withoutPreview('# x\n<!-- unreleased:start -->\n', 'x')).toThrow('without <!-- unreleased:end -->');
});
