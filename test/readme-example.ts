// README examples are code that runs. A README marks its example with
//
//   <!-- readme-example:start -->            (or `readme-example:start <name>` when a README has several)
//   ```ts
//   ...
//   ```
//   <!-- readme-example:end -->
//
// and the package's test file holds the same code between `// readme-example:start` / `// readme-example:end`
// lines — imports at the top of the module, the rest in a function the test calls. `readmeExampleDrift()`
// says where the two differ, so the README cannot show code that the test does not run.
import { readFileSync } from 'node:fs';

const START = 'readme-example:start';
const END = 'readme-example:end';

/** The ```ts block between the README's markers (named `name`, or the unnamed one). */
export function readmeBlock(readmePath: string, name = ''): string {
  const lines = readFileSync(readmePath, 'utf8').split('\n');
  const start = lines.findIndex((line) => line.trim() === `<!-- ${`${START} ${name}`.trim()} -->`);
  if (start < 0) throw new Error(`${readmePath} has no <!-- ${START} ${name} --> marker`);
  const end = lines.findIndex((line, index) => index > start && line.trim() === `<!-- ${END} -->`);
  if (end < 0) throw new Error(`${readmePath}: <!-- ${START} ${name} --> is not closed by <!-- ${END} -->`);
  const block = lines.slice(start + 1, end);
  const open = block.findIndex((line) => /^```(ts|typescript)\s*$/.test(line));
  const close = block.findIndex((line, index) => index > open && line.trim() === '```');
  if (open < 0 || close < 0) throw new Error(`${readmePath}: no \`\`\`ts block between the ${name} markers`);
  return block.slice(open + 1, close).join('\n');
}

/**
 * The regions of a source file between `// readme-example:start [name]` and `// readme-example:end`, each
 * dedented and trimmed of blank lines, joined by one blank line.
 */
export function exampleRegions(sourcePath: string, name = ''): string {
  const lines = readFileSync(sourcePath, 'utf8').split('\n');
  const regions: string[][] = [];
  let current: string[] | undefined;
  for (const line of lines) {
    const trimmed = line.trim();
    if (trimmed === `// ${`${START} ${name}`.trim()}`) current = [];
    else if (current !== undefined && trimmed === `// ${END}`) {
      regions.push(current);
      current = undefined;
    } else current?.push(line);
  }
  if (regions.length === 0) throw new Error(`${sourcePath} has no // ${START} ${name} region`);
  return regions.map(dedent).join('\n\n');
}

/** The lines without their common indentation, and without blank lines at the start and the end. */
function dedent(lines: string[]): string {
  while (lines.length > 0 && lines[0]!.trim() === '') lines = lines.slice(1);
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines = lines.slice(0, -1);
  const indents = lines.filter((line) => line.trim() !== '').map((line) => line.match(/^ */)![0].length);
  const cut = Math.min(...indents);
  return lines.map((line) => line.slice(cut)).join('\n');
}

/** The assertion message of the README/test comparison. */
export const README_DRIFT =
  'the README code block differs from the readme-example region of the test file: change both together';
