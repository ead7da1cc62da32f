// leanAgentHeap() in a process of its own (it changes a V8 flag for the whole process): under a steady allocation
// rate with survivors, as an agent's, the young generation stays at its initial size instead of growing.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, test } from 'vitest';

// The child loads this very source, compiled to CommonJS (plain Node cannot load TypeScript).
const work = mkdtempSync(join(tmpdir(), 'vxl-heap-'));
const heapModule = join(work, 'heap.cjs');
const source = readFileSync(new URL('./heap.ts', import.meta.url), 'utf8');
writeFileSync(heapModule, ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS } }).outputText);
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The largest new-space size (MB) seen in a child that allocates 400 MB in small objects, 1 in 50 kept a while. */
function newSpacePeak(lean: boolean): number {
  const script = `
    const v8 = require('node:v8');
    ${lean ? `require(${JSON.stringify(heapModule)}).leanAgentHeap();` : ''}
    const kept = [];
    let peak = 0;
    for (let round = 0; round < 200; round++) {
      for (let i = 0; i < 20000; i++) {
        const o = { id: i, name: 'item-' + i, events: [round, i] };
        if (i % 50 === 0) kept.push(o);
      }
      if (kept.length > 20000) kept.splice(0, 10000);
      const space = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
      peak = Math.max(peak, space.space_size);
    }
    process.stdout.write(String(peak / 2 ** 20));
  `;
  const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  return Number(out);
}

describe('leanAgentHeap', () => {
  test('keeps the young generation at its initial size under a steady allocation rate', () => {
    const grown = newSpacePeak(false);
    const lean = newSpacePeak(true);
    expect(grown).toBeGreaterThanOrEqual(8);
    expect(lean).toBeLessThanOrEqual(4);
  });
});
