#!/usr/bin/env node
// `pnpm bench`: every benchmark of docs/performance.md, each against a baseline measured in the same run. Prints the
// table, writes bench/results/latest.json and latest.md, and exits 1 when a target is missed (after the whole table).
//
//   node bench/run.mjs                 # everything (run `pnpm build` first; `pnpm bench` does)
//   node bench/run.mjs --only contexts,launch
//   node bench/run.mjs --quick         # smaller trees and shorter windows, for trying things out
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fmtMs, repoRoot } from './lib.mjs';

process.env.METADATA_SERVER_DETECTION = 'none';

// Loaded lazily, so `--only` runs need only what they use.
const BENCHMARKS = {
  contexts: async (o) => (await import('./contexts.mjs')).benchContexts(o),
  launch: async (o) => (await import('./launch.mjs')).benchLaunch(o),
  agent: async (o) => (await import('./agent.mjs')).benchAgent(o),
  reuse: async (o) => (await import('./reuse.mjs')).benchReuse(o),
  queue: async (o) => (await import('./queue.mjs')).benchQueue(o),
};

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const onlyArg = argv.find((a) => a.startsWith('--only'));
const only = onlyArg
  ? (onlyArg.includes('=') ? onlyArg.split('=')[1] : argv[argv.indexOf(onlyArg) + 1]).split(',')
  : Object.keys(BENCHMARKS);
for (const name of only) {
  if (!(name in BENCHMARKS)) {
    console.error(`unknown benchmark ${name}; known: ${Object.keys(BENCHMARKS).join(', ')}`);
    process.exit(2);
  }
}

const started = Date.now();
const log = (message) =>
  console.error(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s] ${message}`);

/** Fills `ratio` and `met` of a row: a ratio target against its baseline, or an absolute limit. */
function judge(row) {
  const out = { ...row };
  if (row.baseline !== undefined) out.ratio = row.value / row.baseline;
  if (row.target !== undefined && out.ratio !== undefined) out.met = out.ratio <= row.target;
  else if (row.limit !== undefined) out.met = row.value <= row.limit;
  else out.met = null;
  if (row.failed) out.met = false;
  return out;
}

function fmtValue(value, unit) {
  if (value === undefined || value === null || Number.isNaN(value)) return '—';
  if (unit === 'ms') return value < 10 ? `${value.toFixed(2)} ms` : fmtMs(value);
  if (unit === 'MB') return `${value.toFixed(0)} MB`;
  if (unit === 'bytes') return `${Math.round(value).toLocaleString('en')} B`;
  if (unit === 'count' || unit === '') return Number.isInteger(value) ? String(value) : value.toFixed(2);
  return `${Number.isInteger(value) ? value : value.toFixed(2)} ${unit}`;
}

function fmtTarget(row) {
  if (row.target !== undefined) return `<= ${row.target}x`;
  if (row.limit !== undefined) return `<= ${fmtValue(row.limit, row.unit)}`;
  return '—';
}

function table(rows) {
  const head = ['benchmark', 'measure', 'value', 'baseline', 'ratio', 'target', 'met'];
  const cell = (text) => String(text).replaceAll('|', '\\|');
  const lines = [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => {
      const baseline = r.baseline === undefined ? '—' : `${fmtValue(r.baseline, r.unit)} (${r.baselineLabel})`;
      const ratio = r.ratio === undefined ? '—' : `${r.ratio.toFixed(r.ratio < 0.1 ? 3 : 2)}x`;
      const met = r.met === null ? 'info' : r.met ? 'yes' : '**MISSED**';
      return `| ${[r.benchmark, r.metric, fmtValue(r.value, r.unit), baseline, ratio, fmtTarget(r), met].map(cell).join(' | ')} |`;
    }),
  ];
  return lines.join('\n');
}

const rows = [];
for (const name of only) {
  log(`${name}: start`);
  try {
    for (const row of await BENCHMARKS[name]({ quick, log })) rows.push(judge(row));
  } catch (error) {
    log(`${name}: FAILED: ${error?.stack ?? error}`);
    rows.push(
      judge({
        id: `${name}-error`,
        benchmark: name,
        metric: `error: ${String(error?.message ?? error).split('\n')[0]}`,
        unit: '',
        failed: true,
      }),
    );
  }
  log(`${name}: done`);
}

const totalS = (Date.now() - started) / 1000;
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.versions.node}`;
const md = [
  `Measured ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')} on ${machine}; the whole run took ${totalS.toFixed(0)} s${quick ? ' (--quick)' : ''}.`,
  '',
  table(rows),
  '',
].join('\n');
console.log(`\n${md}`);
const dir = join(repoRoot, 'bench', 'results');
await mkdir(dir, { recursive: true });
await writeFile(
  join(dir, 'latest.json'),
  `${JSON.stringify({ measuredAt: new Date().toISOString(), machine, quick, seconds: Math.round(totalS), rows }, null, 2)}\n`,
);
await writeFile(join(dir, 'latest.md'), md);
// A full run also puts its table into docs/performance.md, between the bench:table markers.
if (!quick && !onlyArg) {
  const docs = join(repoRoot, 'docs', 'performance.md');
  const text = await readFile(docs, 'utf8').catch(() => undefined);
  const start = '<!-- bench:table -->';
  const end = '<!-- /bench:table -->';
  if (text?.includes(start)) {
    const before = text.slice(0, text.indexOf(start) + start.length);
    const after = text.includes(end) ? text.slice(text.indexOf(end)) : `${end}\n${text.slice(before.length)}`;
    await writeFile(docs, `${before}\n\n${md}\n${after}`);
  }
}
const missed = rows.filter((r) => r.met === false);
if (missed.length > 0) {
  console.error(`${missed.length} target(s) missed: ${missed.map((r) => r.id).join(', ')}`);
  process.exitCode = 1;
}
