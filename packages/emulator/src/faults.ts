/** Injected faults, latency, per-method call counters and per-minute quotas. */
import { type CodeName, EmulatorError } from './context.js';

/** The fault seed of an emulator started without `faultSeed`. */
export const DEFAULT_FAULT_SEED = 0;

/** A fault injected into one method (e.g. `aiplatform.customJobs.create`). */
export interface Fault {
  /** The error to answer with. Omit to inject only latency. */
  code?: CodeName;
  /**
   * Probability (0..1) that a call is hit. Default 1. Which calls are hit follows the emulator's `faultSeed`: the
   * decision for the N-th call of a method since the fault was injected depends only on the seed, the fault, the
   * method and N.
   */
  rate?: number;
  /** How many calls to hit before the fault disappears. Default: unlimited. */
  times?: number;
  /** Calls (in this fault's phase) to let through before the fault applies, e.g. 2 to hit the third chunk. Default 0. */
  skip?: number;
  /**
   * Extra latency in ms (wall time). With a `code`, added to every call of the method while the fault is active;
   * without one (a latency spike), added to the share `rate` of the calls, `times` times.
   */
  latencyMs?: number;
  /**
   * `before` (default): fail before the method does anything. `after`: fail once the method has
   * committed its change — e.g. DEADLINE_EXCEEDED after a create, which makes naive retries duplicate jobs.
   * `late`: answer the error once the request is validated, and commit its change `commitDelayMs` later — a create
   * the server commits after the client's deadline: the client sees the error, the job appears afterwards (with
   * that later create time). Only methods that commit something check it (`aiplatform.customJobs.create`).
   */
  phase?: 'before' | 'after' | 'late';
  /** With `phase: 'late'`: how long after the error the change is committed, ms (wall time). Default 1 000. */
  commitDelayMs?: number;
  /** Message of the injected error. */
  message?: string;
}

interface ActiveFault extends Fault {
  remaining: number;
  skipped: number;
  /** `<method or *>#<k>`: the k-th fault injected for that name since the injector was made. */
  id: string;
  /** The call ordinals of the fault's phase when it was injected, per method: its own call numbers start after them. */
  baseline: ReadonlyMap<string, number>;
}

/** 32-bit FNV-1a of a string's UTF-16 code units. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** A 32-bit integer finalizer with good avalanche (the "lowbias32" constants of Chris Wellons' hash-prospector). */
function mix32(x: number): number {
  let h = x >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * The draw in [0, 1) that decides whether fault `faultId` hits the `n`-th call (1-based, counted from when the fault
 * was injected) of `method`: the call is hit when the draw is below the fault's `rate`. A pure function of its four
 * arguments — a hash, not a shared random stream — so calls of other methods, other faults and the timing of
 * concurrent requests cannot shift one fault's sequence: the same seed and the same calls give the same hits.
 */
export function faultDraw(seed: number, faultId: string, method: string, n: number): number {
  const high = Math.floor(seed / 2 ** 32);
  let h = mix32((seed >>> 0) ^ 0x9e3779b9);
  h = mix32(h ^ mix32(high));
  h = mix32(h ^ fnv1a(faultId));
  h = mix32(h ^ fnv1a(method));
  h = mix32(h ^ (n >>> 0));
  h = mix32(h ^ Math.floor(n / 2 ** 32));
  return h / 2 ** 32;
}

/** Checks a fault seed: a safe integer (negative ones too). Returns the problem, or undefined. */
export function faultSeedProblem(seed: unknown): string | undefined {
  return Number.isSafeInteger(seed) ? undefined : `must be an integer (e.g. 42), got ${String(seed)}`;
}

/** Fault injection and call counting for every emulator method. */
export class FaultInjector {
  private readonly faults = new Map<string, ActiveFault[]>();
  private counts: Record<string, number> = {};
  private hits: Record<string, number> = {};
  /** Calls per `<phase> <method>` since the injector was made; never reset (a fault's call numbers come from it). */
  private readonly ordinals = new Map<string, number>();
  /** Faults injected per method name (or `*`) since the injector was made; never reset (a fault's id comes from it). */
  private readonly injectedPerKey = new Map<string, number>();

  /** `seed` decides which calls a fault with a `rate` below 1 hits (see {@link faultDraw}). */
  constructor(readonly seed: number = DEFAULT_FAULT_SEED) {
    const problem = faultSeedProblem(seed);
    if (problem) throw new RangeError(`The fault seed ${problem}.`);
  }

  inject(method: string, fault: Fault): void {
    if (fault.rate !== undefined && !(fault.rate >= 0 && fault.rate <= 1)) {
      throw new RangeError(`Fault rate for ${method} must be between 0 and 1, got ${fault.rate}.`);
    }
    if (fault.code === undefined && fault.latencyMs === undefined) {
      throw new RangeError(`A fault for ${method} needs a \`code\`, a \`latencyMs\`, or both.`);
    }
    if (fault.phase === 'late' && fault.code === undefined) {
      throw new RangeError(
        `A fault for ${method} with \`phase: 'late'\` needs a \`code\` (the error the client sees).`,
      );
    }
    if (fault.commitDelayMs !== undefined && !(fault.commitDelayMs >= 0 && fault.phase === 'late')) {
      throw new RangeError(
        `Fault commitDelayMs for ${method} must be >= 0 and goes with \`phase: 'late'\`, got ${fault.commitDelayMs}.`,
      );
    }
    const k = (this.injectedPerKey.get(method) ?? 0) + 1;
    this.injectedPerKey.set(method, k);
    const prefix = `${fault.phase ?? 'before'} `;
    const baseline = new Map<string, number>();
    for (const [key, n] of this.ordinals) if (key.startsWith(prefix)) baseline.set(key.slice(prefix.length), n);
    const list = this.faults.get(method) ?? [];
    list.push({
      ...fault,
      remaining: fault.times ?? Number.POSITIVE_INFINITY,
      skipped: 0,
      id: `${method}#${k}`,
      baseline,
    });
    this.faults.set(method, list);
  }

  clear(method?: string): void {
    if (method === undefined) this.faults.clear();
    else this.faults.delete(method);
  }

  counters(): Record<string, number> {
    return { ...this.counts };
  }

  /** Adds `n` to the counter `name` (e.g. bytes received), next to the call counts. */
  add(name: string, n: number): void {
    this.counts[name] = (this.counts[name] ?? 0) + n;
  }

  /**
   * Faults that hit, per method and kind: `<method> <CODE>` (before), `<method> <CODE> after-commit`,
   * `<method> <CODE> late-commit`, `<method> latency` (latency-only spikes).
   */
  injected(): Record<string, number> {
    return { ...this.hits };
  }

  resetCounters(): void {
    this.counts = {};
    this.hits = {};
  }

  /**
   * Applies the faults of `method` (and `*`) for one call in `phase`. Each call of a method in a phase gets the next
   * ordinal of that method and phase, so a fault's decision for a call depends only on the seed, the fault, the method
   * and how many calls of that method (in the fault's phase) came since the fault was injected.
   */
  async apply(method: string, phase: 'before' | 'after'): Promise<void> {
    await this.#apply(method, phase);
  }

  /**
   * The `late` faults of `method` for one call whose change is ready to commit: undefined, or the error to answer
   * now and the delay after which the change is to be committed anyway.
   */
  async lateCommit(method: string): Promise<{ error: EmulatorError; commitDelayMs: number } | undefined> {
    return this.#apply(method, 'late');
  }

  async #apply(
    method: string,
    phase: 'before' | 'after' | 'late',
  ): Promise<{ error: EmulatorError; commitDelayMs: number } | undefined> {
    if (phase === 'before') this.counts[method] = (this.counts[method] ?? 0) + 1;
    const ordinalKey = `${phase} ${method}`;
    const ordinal = (this.ordinals.get(ordinalKey) ?? 0) + 1;
    this.ordinals.set(ordinalKey, ordinal);
    const list = [...(this.faults.get(method) ?? []), ...(this.faults.get('*') ?? [])];
    for (const fault of list) {
      if ((fault.phase ?? 'before') !== phase || fault.remaining <= 0) continue;
      if (fault.skipped < (fault.skip ?? 0)) {
        fault.skipped += 1;
        continue;
      }
      if (fault.code === undefined) {
        // A latency spike: the share `rate` of the calls wait, `times` times.
        if (!this.strikes(fault, method, ordinal)) continue;
        this.hit(method, fault);
        await new Promise((r) => setTimeout(r, fault.latencyMs));
        continue;
      }
      if (fault.latencyMs) await new Promise((r) => setTimeout(r, fault.latencyMs));
      if (!this.strikes(fault, method, ordinal)) continue;
      this.hit(method, fault);
      const error = new EmulatorError(
        fault.code,
        fault.message ??
          `Injected fault: ${fault.code} for ${method}${phase === 'after' ? ' (after the change was committed)' : phase === 'late' ? ' (the change is committed later)' : ''}.`,
      );
      if (phase === 'late') return { error, commitDelayMs: fault.commitDelayMs ?? 1_000 };
      throw error;
    }
    return undefined;
  }

  /** Whether `fault` hits the call with ordinal `ordinal` of `method` (always when its rate is 1). */
  private strikes(fault: ActiveFault, method: string, ordinal: number): boolean {
    const rate = fault.rate ?? 1;
    if (rate >= 1) return true;
    const n = ordinal - (fault.baseline.get(method) ?? 0);
    return faultDraw(this.seed, fault.id, method, n) < rate;
  }

  private hit(method: string, fault: ActiveFault): void {
    const kind =
      fault.code === undefined
        ? 'latency'
        : `${fault.code}${fault.phase === 'after' ? ' after-commit' : fault.phase === 'late' ? ' late-commit' : ''}`;
    const key = `${method} ${kind}`;
    this.hits[key] = (this.hits[key] ?? 0) + 1;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.remove(method, fault);
  }

  private remove(method: string, fault: ActiveFault): void {
    for (const key of [method, '*']) {
      const list = this.faults.get(key);
      if (list?.includes(fault))
        this.faults.set(
          key,
          list.filter((f) => f !== fault),
        );
    }
  }
}

/** The quota meters the emulator applies, with Vertex-like messages. */
const QUOTA_DESCRIPTIONS: Record<string, { metric: string; limit: string; service: string }> = {
  'vertex.reads': {
    metric: 'aiplatform.googleapis.com/resource_management_requests',
    limit: 'Resource management (CRUD) requests per minute per region',
    service: 'aiplatform.googleapis.com',
  },
  'vertex.creates': {
    metric: 'aiplatform.googleapis.com/custom_job_create_requests',
    limit: 'Custom job create requests per minute per region',
    service: 'aiplatform.googleapis.com',
  },
};

/** Sliding one-minute quotas per meter, on the emulator clock. A limit of 0 or Infinity means unlimited. */
export class QuotaMeter {
  private readonly limits = new Map<string, number>();
  private readonly calls = new Map<string, number[]>();

  constructor(
    private readonly now: () => number,
    private readonly consumer: string,
    private readonly region: string,
  ) {}

  /** Sets the per-minute limit of `meter` (0 or Infinity: unlimited). */
  setLimit(meter: string, perMinute: number): void {
    if (!(perMinute >= 0)) throw new RangeError(`Quota for ${meter} must be >= 0 per minute, got ${perMinute}.`);
    this.limits.set(meter, perMinute);
  }

  limit(meter: string): number {
    const l = this.limits.get(meter) ?? 0;
    return l === 0 ? Number.POSITIVE_INFINITY : l;
  }

  consume(meter: string): void {
    const limit = this.limit(meter);
    if (limit === Number.POSITIVE_INFINITY) return;
    const now = this.now();
    const recent = (this.calls.get(meter) ?? []).filter((t) => t > now - 60_000);
    if (recent.length >= limit) {
      this.calls.set(meter, recent);
      const d = QUOTA_DESCRIPTIONS[meter] ?? { metric: meter, limit: `${meter} per minute`, service: 'emulator' };
      const retryIn = Math.ceil(((recent[0] as number) + 60_000 - now) / 1000);
      throw new EmulatorError(
        'RESOURCE_EXHAUSTED',
        `Quota exceeded for quota metric '${d.metric}' and limit '${d.limit}' of service '${d.service}' for consumer '${this.consumer}' in region ${this.region}: ${limit} per minute. Retry in ${retryIn}s with backoff, or raise the emulator quota.`,
      );
    }
    recent.push(now);
    this.calls.set(meter, recent);
  }
}
