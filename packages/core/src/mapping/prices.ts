/**
 * A price table the user supplies (`prices.yaml`) and what a spend bound costs at those prices. None is bundled:
 * Google's prices change, differ by region and contract, and only the user knows theirs. Pure.
 *
 * ```yaml
 * currency: USD
 * machines:        # per replica-hour of the machine type (the VM, without its accelerators)
 *   g2-standard-8: 0.85
 *   n1-standard-4: 0.22
 * accelerators:    # per accelerator-hour
 *   NVIDIA_L4: 0.64
 *   NVIDIA_TESLA_T4: 0.40
 * ```
 */
import { z } from 'zod';
import { ConfigError, type ConfigIssue } from '../errors.js';
import type { SpendBound } from './spend.js';

const price = z.number().nonnegative({ error: 'must be a price of 0 or more per hour' });

/** The schema of a price table. */
export const priceTableSchema = z
  .strictObject({
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, { error: 'must be a three-letter currency code such as USD or EUR' })
      .optional()
      .describe('ISO 4217 code the prices are in. Default: USD.'),
    machines: z
      .record(z.string().min(1), price)
      .optional()
      .describe(
        'Price per replica-hour of each machine type (the VM without its accelerators), e.g. `g2-standard-8: 0.85`.',
      ),
    accelerators: z
      .record(
        z.string().regex(/^[A-Z0-9_]+$/, { error: 'accelerator names are AcceleratorType names such as NVIDIA_L4' }),
        price,
      )
      .optional()
      .describe('Price per accelerator-hour of each accelerator type, e.g. `NVIDIA_L4: 0.64`.'),
  })
  .describe('A price table of your own: what `launch --dry-run --prices FILE` multiplies the spend bound by.');

/** A checked price table. */
export type PriceTable = Readonly<z.output<typeof priceTableSchema>>;

/** Checks a parsed price table. @throws ConfigError naming `file` and every bad key. */
export function parsePriceTable(raw: unknown, file = 'the price table'): PriceTable {
  const parsed = priceTableSchema.safeParse(raw ?? {});
  if (parsed.success) return parsed.data;
  const issues: ConfigIssue[] = parsed.error.issues.flatMap((issue): ConfigIssue[] => {
    const path = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        path: path ? `${path}.${key}` : key,
        message: 'unknown key: a price table has `currency`, `machines` and `accelerators`',
        severity: 'error',
      }));
    }
    const message =
      issue.code === 'invalid_key'
        ? path.startsWith('accelerators')
          ? 'accelerator names are AcceleratorType names such as NVIDIA_L4'
          : 'machine type names must not be empty'
        : issue.message;
    return [{ path, message, severity: 'error' }];
  });
  throw new ConfigError(
    `${file}: ${issues.length} problem${issues.length === 1 ? '' : 's'}: ${issues.map((i) => `${i.path || '(top level)'}: ${i.message}`).join('; ')}`,
    issues,
    { hint: 'See docs/capacity.md ("What it costs: a price table") for the format.' },
  );
}

const cents = (amount: number) => Math.round(amount * 100) / 100;

/** What a spend bound costs at most at a price table's prices. */
export interface PricedSpend {
  currency: string;
  /** The most the request can cost, over the pools that have every price they need. */
  total: number;
  /** Per pool: its cost, or `undefined` when the table lacks a price it needs. */
  pools: { pool: number; cost: number | undefined }[];
  /** Machine and accelerator types the table has no price for (their pools are left out of `total`). */
  missing: string[];
}

/** The most `bound` can cost at `table`'s prices: replica-hours x machine price + accelerator-hours x accelerator price. */
export function priceSpend(bound: SpendBound, table: PriceTable): PricedSpend {
  const hours = bound.timeoutSeconds / 3600;
  const missing = new Set<string>();
  const pools = bound.pools.map((pool) => {
    if (pool.replicas === 0) return { pool: pool.pool, cost: 0 };
    const machine = table.machines?.[pool.machineType];
    if (machine === undefined) missing.add(pool.machineType);
    let accelerator = 0;
    if (pool.acceleratorCount > 0) {
      const each = pool.acceleratorType === undefined ? undefined : table.accelerators?.[pool.acceleratorType];
      if (each === undefined) missing.add(pool.acceleratorType ?? 'accelerator');
      else accelerator = each * pool.acceleratorHours;
    }
    const known =
      machine !== undefined &&
      (pool.acceleratorCount === 0 ||
        (pool.acceleratorType !== undefined && table.accelerators?.[pool.acceleratorType] !== undefined));
    return { pool: pool.pool, cost: known ? cents(machine * pool.replicas * hours + accelerator) : undefined };
  });
  const total = pools.reduce((sum, p) => sum + (p.cost ?? 0), 0);
  return {
    currency: table.currency ?? 'USD',
    total: Math.round(total * 100) / 100,
    pools,
    missing: [...missing].sort(),
  };
}

/** `at most 12.34 USD at your prices` (and what has no price), for people. */
export function describePricedSpend(priced: PricedSpend): string {
  const amount = `at most ${priced.total.toFixed(2)} ${priced.currency} at the prices given`;
  if (priced.missing.length === 0) return amount;
  return `${amount}, without the pools of ${priced.missing.join(', ')} (no price in the table)`;
}
