// publint on every published package, as npm would receive it (packed with pnpm, so `files` is honoured):
// the exports map, types, `main`, `bin` and the module format of dist/ must be consistent. Needs the built
// dist/ (`pnpm test` builds first). Suggestions are printed, errors and warnings fail.
import { basename } from 'node:path';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { describe, expect, test } from 'vitest';
import { publishedPackages } from '../published-packages.js';

describe('publint', () => {
  test.each(publishedPackages().map(({ dir, manifest }) => [manifest.name, dir] as const))('%s', async (_, dir) => {
    const { messages, pkg } = await publint({ pkgDir: dir, level: 'suggestion', pack: 'pnpm' });
    const lines = messages.map((message) => `${message.type}: ${formatMessage(message, pkg, { color: false })}`);
    const suggestions = lines.filter((line) => line.startsWith('suggestion:'));
    if (suggestions.length > 0) console.info(`${basename(dir)}:\n${suggestions.join('\n')}`);
    expect(lines.filter((line) => !line.startsWith('suggestion:'))).toEqual([]);
  });
});
