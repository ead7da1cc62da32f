// Resource sampling for the soak test: RSS and open file descriptors of a process read from /proc (no product
// change), and a preload probe that a child Node process loads with NODE_OPTIONS to report its heap after a full GC
// and its active handles as JSON lines in a file.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** One outside sample of a process. */
export interface ProcSample {
  /** ms since the sampler started */
  t: number;
  rssBytes: number;
  fds: number;
}

/** One sample the probe wrote from inside the process. */
export interface ProbeSample {
  t: number;
  rss: number;
  heapUsed: number;
  external: number;
  /** process.getActiveResourcesInfo().length */
  resources: number;
  byType: Record<string, number>;
  /** Listeners on `process` (signal handlers, warnings, ...). */
  processListeners: number;
}

/** VmRSS (bytes) and the open file descriptors of `pid`; undefined once it has exited. */
export async function readProc(pid: number): Promise<{ rssBytes: number; fds: number } | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    const fds = (await readdir(`/proc/${pid}/fd`)).length;
    return kb === undefined ? undefined : { rssBytes: Number(kb) * 1024, fds };
  } catch {
    return undefined;
  }
}

/** Samples `pid` every `intervalMs` until `stop()`. */
export function sampleProcess(pid: number, intervalMs = 1000): { samples: ProcSample[]; stop: () => void } {
  const started = Date.now();
  const samples: ProcSample[] = [];
  const timer = setInterval(() => {
    void readProc(pid).then((s) => {
      if (s) samples.push({ t: Date.now() - started, ...s });
    });
  }, intervalMs);
  return { samples, stop: () => clearInterval(timer) };
}

/**
 * Writes the probe module into `dir` and returns NODE_OPTIONS flags that load it (with `--expose-gc`, so each sample
 * is taken after a full collection). The probe appends one JSON line per `intervalMs` to `file`; its timer is unref'd
 * so it never keeps the process alive.
 */
export async function writeProbe(dir: string, file: string, intervalMs = 2000): Promise<string> {
  const path = join(dir, 'soak-probe.mjs');
  await writeFile(
    path,
    `import { openSync, writeSync } from 'node:fs';
const fd = openSync(${JSON.stringify(file)}, 'a');
const sample = () => {
  globalThis.gc?.();
  const m = process.memoryUsage();
  const resources = process.getActiveResourcesInfo();
  const byType = {};
  for (const r of resources) byType[r] = (byType[r] ?? 0) + 1;
  const processListeners = process.eventNames().reduce((n, e) => n + process.listenerCount(e), 0);
  writeSync(fd, JSON.stringify({ t: Date.now(), rss: m.rss, heapUsed: m.heapUsed, external: m.external, resources: resources.length, byType, processListeners }) + '\\n');
};
setInterval(sample, ${intervalMs}).unref();
`,
  );
  return `--expose-gc --import ${pathToFileURL(path).href}`;
}

/** Reads the probe's samples. */
export async function readProbe(file: string): Promise<ProbeSample[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as ProbeSample);
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** The samples after `warmupFraction` of them, split into a first and a last third. */
export function thirds<T>(samples: readonly T[], warmupFraction = 0.25): { first: T[]; last: T[]; warm: T[] } {
  const warm = samples.slice(Math.floor(samples.length * warmupFraction));
  const third = Math.max(1, Math.floor(warm.length / 3));
  return { first: warm.slice(0, third), last: warm.slice(warm.length - third), warm };
}

export const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
