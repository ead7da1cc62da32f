#!/usr/bin/env node
// `pnpm bench`: every benchmark of docs/performance.md, each against a baseline measured in the same run. Prints the
// table, writes bench/results/latest.json and latest.md, and exits 1 when a target is missed (after the whole table).
//
//   node bench/run.mjs                 # everything (run `pnpm build` first; `pnpm bench` does)
//   node bench/run.mjs --only contexts,launch
//   node bench/run.mjs --quick         # small trees, few runs, short windows: every row in ~1.5 minutes (CI)
//   node bench/run.mjs --only agent --soak   # the agent's 10-minute soak alone (RSS slope); bench/results/soak.*
//
// Every run records the machine (CPU model, cores, memory, load average), the Node version and the date with the
// results. --quick writes bench/results/quick.{json,md} instead of latest.*, and exits 1 only when a benchmark
// breaks (throws or yields no value): its small inputs say nothing about the targets, which it reports as `quick`.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { arch, availableParallelism, cpus, loadavg, platform, release, totalmem } from 'node:os';
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
  capacity: async (o) => (await import('./capacity.mjs')).benchCapacity(o),
};

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
// --soak: the agent benchmark runs only its 10-minute soak (RSS slope), which no other run includes.
const soak = argv.includes('--soak');
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

/** The machine the numbers come from; on a shared machine the load average matters as much as the CPU. */
function machineInfo() {
  const cpu = cpus()[0];
  return {
    cpuModel: cpu?.model.trim() ?? 'unknown',
    cpuMHz: cpu?.speed ?? 0,
    cores: availableParallelism(),
    memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
    os: `${platform()} ${release()} ${arch()}`,
    node: process.versions.node,
    loadAverage1m: Number(loadavg()[0].toFixed(2)),
  };
}
const describeMachine = (m) => `${m.cores} × ${m.cpuModel}, ${m.memoryGiB.toFixed(0)} GiB, ${m.os}, Node ${m.node}`;

const started = Date.now();
const startedAt = new Date(started).toISOString();
const machine = machineInfo();
const log = (message) =>
  console.error(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s] ${message}`);

/** Fills `ratio` and `met` of a row: a ratio target against its baseline, or an absolute limit. */
function judge(row) {
  const out = { ...row };
  if (row.baseline !== undefined) out.ratio = row.value / row.baseline;
  if (row.target !== undefined && out.ratio !== undefined) out.met = out.ratio <= row.target;
  else if (row.limit !== undefined) out.met = row.value <= row.limit;
  else out.met = null;
  // A row without a number is a broken benchmark, whatever its target.
  if (!Number.isFinite(row.value) || (row.baseline !== undefined && !Number.isFinite(row.baseline))) out.failed = true;
  if (out.failed) out.met = false;
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
      const met = r.failed
        ? '**FAILED**'
        : r.met === null
          ? 'info'
          : quick
            ? `quick: ${r.met ? 'yes' : 'no'}`
            : r.met
              ? 'yes'
              : '**MISSED**';
      return `| ${[r.benchmark, r.metric, fmtValue(r.value, r.unit), baseline, ratio, fmtTarget(r), met].map(cell).join(' | ')} |`;
    }),
  ];
  return lines.join('\n');
}

console.error(
  `[bench] ${startedAt} on ${describeMachine(machine)}; load average ${machine.loadAverage1m} (1 min)${quick ? '; --quick' : ''}`,
);
const rows = [];
for (const name of only) {
  log(`${name}: start`);
  try {
    for (const row of await BENCHMARKS[name]({ quick, soak, log })) rows.push(judge(row));
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
const loadAverageEnd = Number(loadavg()[0].toFixed(2));
const md = [
  `Measured ${startedAt.replace(/\.\d+Z$/, 'Z')} on ${describeMachine(machine)}; load average ${machine.loadAverage1m} at the start, ${loadAverageEnd} at the end (1 min); the whole run took ${totalS.toFixed(0)} s${quick ? ' (--quick: small inputs, targets not judged)' : ''}.`,
  '',
  table(rows),
  '',
].join('\n');
console.log(`\n${md}`);
const dir = join(repoRoot, 'bench', 'results');
const base = soak ? 'soak' : quick ? 'quick' : 'latest';
await mkdir(dir, { recursive: true });
await writeFile(
  join(dir, `${base}.json`),
  `${JSON.stringify(
    {
      measuredAt: startedAt,
      machine: { ...machine, loadAverage1mEnd: loadAverageEnd },
      quick,
      soak,
      only: onlyArg ? only : undefined,
      seconds: Math.round(totalS),
      rows,
    },
    null,
    2,
  )}\n`,
);
await writeFile(join(dir, `${base}.md`), md);
// A full run also puts its table into docs/performance.md, between the bench:table markers.
if (!quick && !soak && !onlyArg) {
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
const failed = rows.filter((r) => r.failed);
const missed = rows.filter((r) => r.met === false && !r.failed);
if (failed.length > 0) {
  console.error(`${failed.length} benchmark row(s) failed: ${failed.map((r) => r.id).join(', ')}`);
  process.exitCode = 1;
}
if (missed.length > 0) {
  console.error(
    `${missed.length} target(s) missed: ${missed.map((r) => r.id).join(', ')}${quick ? ' (not judged in --quick)' : ''}`,
  );
  if (!quick) process.exitCode = 1;
}
