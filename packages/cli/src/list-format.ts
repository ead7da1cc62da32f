/**
 * `--filter`, `--sort-by` and `--format` of the list commands (`jobs list`, `queue list`, `queue items`), as gcloud
 * has them. Every list row is the JSON object `--json` prints for it; the flags see the same fields. Pure: the flags
 * are parsed and checked before any I/O, so a typo fails at once (exit 2) with the valid fields.
 *
 * Filter expressions (docs/cli-output.md): terms `FIELD OP VALUE` joined by `AND` (or a space), `OR`,
 * `NOT` / `-` and parentheses; OP is `=` / `!=` (equal, case-insensitive), `~` / `!~` (regular expression,
 * case-insensitive), `:` (contains; `FIELD:*` is set), `<` `<=` `>` `>=` (numbers, or text such as ISO times).
 */
import { stringify } from 'yaml';
import { UsageError } from './exit-codes.js';
import { dim, editDistance, type Io, printJson } from './output.js';

/** A field of a list row. */
export interface ListField {
  name: string;
  /** An object or a map: `name.key` reaches into it (`labels.team`). */
  nested?: boolean;
}

/** What a list command lists and how its fields compare. */
export interface ListSpec {
  /** The command, for messages: `jobs list`. */
  command: string;
  fields: readonly ListField[];
  /** How `=` / `!=` / `:` see a field's value (and the value written), e.g. a state without its `JOB_STATE_`. */
  normalize?: Readonly<Record<string, (value: string) => string>>;
}

/** The flags. */
export interface ListFlags {
  filter?: string;
  sortBy?: string;
  format?: string;
  json?: boolean;
}

export type ListFormat =
  | { kind: 'default' }
  | { kind: 'json' }
  | { kind: 'yaml' }
  | { kind: 'table' | 'value'; fields: readonly string[] };

type Row = Record<string, unknown>;
export type RowPredicate = (row: Row) => boolean;

/** The parsed flags of a list command: `filter` undefined when there is none. */
export interface ListOptions {
  filter: RowPredicate | undefined;
  sort: ((a: Row, b: Row) => number) | undefined;
  format: ListFormat;
}

/** Parse and check `--filter`, `--sort-by` and `--format` (with `--json` as `--format json`). */
export function listOptions(flags: ListFlags, spec: ListSpec): ListOptions {
  return {
    filter: flags.filter === undefined ? undefined : compileFilter(flags.filter, spec),
    sort: flags.sortBy === undefined ? undefined : compileSort(flags.sortBy, spec),
    format: parseFormat(flags, spec),
  };
}

/** `--format`: json, yaml, table(field,...), value(field,...), or table (the default table). */
export function parseFormat(flags: ListFlags, spec: ListSpec): ListFormat {
  const text = flags.format?.trim();
  if (text === undefined) return flags.json ? { kind: 'json' } : { kind: 'default' };
  const m = /^([a-z]+)\s*(?:\((.*)\))?$/is.exec(text);
  const kind = m?.[1]?.toLowerCase();
  const args = m?.[2];
  const usage = 'use json, yaml, table, table(FIELD,...) or value(FIELD,...)';
  if (flags.json && kind !== 'json') {
    throw new UsageError(`--json and --format ${text} disagree: --json is --format json; pass one of them.`);
  }
  if (kind === 'json' || kind === 'yaml') {
    if (args !== undefined) throw new UsageError(`--format ${text}: ${kind} takes no fields; ${usage}.`);
    return { kind };
  }
  if (kind === 'table' && args === undefined) return { kind: 'default' };
  if ((kind === 'table' || kind === 'value') && args !== undefined) {
    const fields = args
      .split(',')
      .map((f) => f.trim())
      .filter((f) => f !== '');
    if (fields.length === 0) throw new UsageError(`--format ${text}: name at least one field. ${fieldList(spec)}`);
    for (const field of fields) checkField('--format', field, spec, text);
    return { kind, fields };
  }
  throw new UsageError(`--format ${text}: not a format; ${usage}.`);
}

/** `--sort-by FIELD[,~FIELD...]`: ascending, `~` for descending; rows without the field last. */
export function compileSort(text: string, spec: ListSpec): (a: Row, b: Row) => number {
  const keys = text
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k !== '')
    .map((k) => ({ descending: k.startsWith('~'), field: k.replace(/^~\s*/, '') }));
  if (keys.length === 0)
    throw new UsageError(`--sort-by "${text}": name a field (~FIELD sorts descending). ${fieldList(spec)}`);
  for (const key of keys) checkField('--sort-by', key.field, spec, text);
  return (a, b) => {
    for (const { field, descending } of keys) {
      const x = valueAt(a, field);
      const y = valueAt(b, field);
      const xMissing = x === undefined || x === null || x === '';
      const yMissing = y === undefined || y === null || y === '';
      if (xMissing || yMissing) {
        if (xMissing !== yMissing) return xMissing ? 1 : -1;
        continue;
      }
      const order = compareValues(x, y);
      if (order !== 0) return descending ? -order : order;
    }
    return 0;
  };
}

/** Sort (stably) and print `rows` as `format` says; `wrap` makes the JSON/YAML document of the rows. */
export function printRows(
  io: Io,
  format: Exclude<ListFormat, { kind: 'default' }>,
  rows: readonly Row[],
  wrap: (rows: readonly Row[]) => unknown,
): void {
  if (format.kind === 'json') printJson(io, wrap(rows));
  else if (format.kind === 'yaml') io.stdout(stringify(wrap(rows)));
  else if (format.kind === 'value') {
    for (const row of rows) io.stdout(`${format.fields.map((f) => cellText(valueAt(row, f), ';')).join('\t')}\n`);
  } else {
    const table = [
      format.fields.map((f) => f.toUpperCase()),
      ...rows.map((row) => format.fields.map((f) => cellText(valueAt(row, f), ','))),
    ];
    const widths = format.fields.map((_, i) => Math.max(...table.map((r) => (r[i] as string).length)));
    table.forEach((r, n) => {
      const line = r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] as number)))
        .join('  ')
        .trimEnd();
      io.stdout(`${n === 0 ? dim(io, line) : line}\n`);
    });
  }
}

/** Filter, sort and cut rows: what every list command does with its rows before printing them. */
export function selectRows<R extends Row>(rows: readonly R[], options: ListOptions, limit?: number): R[] {
  const kept = options.filter ? rows.filter((r) => options.filter?.(r)) : [...rows];
  if (options.sort) kept.sort(options.sort);
  return limit === undefined ? kept : kept.slice(0, limit);
}

/** The value at a dotted path (`labels.team`, `workerPools.0.machineType`). */
export function valueAt(row: unknown, path: string): unknown {
  let value: unknown = row;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function cellText(value: unknown, separator: string): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.map((v) => cellText(v, separator)).join(separator);
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function compareValues(x: unknown, y: unknown): number {
  const nx = typeof x === 'number' ? x : Number.NaN;
  const ny = typeof y === 'number' ? y : Number.NaN;
  if (!Number.isNaN(nx) && !Number.isNaN(ny)) return nx - ny;
  const sx = cellText(x, ',');
  const sy = cellText(y, ',');
  return sx < sy ? -1 : sx > sy ? 1 : 0;
}

function fieldList(spec: ListSpec): string {
  return `Fields of ${spec.command}: ${spec.fields.map((f) => (f.nested ? `${f.name}.KEY` : f.name)).join(', ')}.`;
}

/** Refuse a field the rows do not have, with a did-you-mean and the valid fields. */
function checkField(flag: string, path: string, spec: ListSpec, context?: string): void {
  const [head, ...rest] = path.split('.');
  const field = spec.fields.find((f) => f.name === head);
  const where = context === undefined ? `${flag} ${path}` : `${flag} "${context}"`;
  if (!field) {
    const near = closest(
      head ?? '',
      spec.fields.map((f) => f.name),
    );
    throw new UsageError(
      `${where}: ${spec.command} has no field \`${head}\`${near ? ` (did you mean \`${near}\`?)` : ''}. ${fieldList(spec)}`,
    );
  }
  if (rest.length > 0 && !field.nested) {
    throw new UsageError(`${where}: \`${head}\` is not an object; \`${path}\` names nothing. ${fieldList(spec)}`);
  }
  if (rest.some((part) => part === ''))
    throw new UsageError(`${where}: \`${path}\` has an empty part. ${fieldList(spec)}`);
}

function closest(word: string, candidates: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = candidate.toLowerCase() === lower ? 0 : editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

// ---- the filter language ----

type Token =
  | { kind: 'term'; field: string; op: string; value: string; text: string }
  | { kind: 'and' | 'or' | 'not' | 'lparen' | 'rparen'; text: string };

const OPS = ['!=', '!~', '<=', '>=', '=', '~', '<', '>', ':'];

function tokenize(filter: string, spec: ListSpec): Token[] {
  const tokens: Token[] = [];
  const bad = (why: string) => new UsageError(`--filter "${filter}": ${why}`);
  let i = 0;
  while (i < filter.length) {
    const c = filter[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '(' || c === ')') {
      tokens.push({ kind: c === '(' ? 'lparen' : 'rparen', text: c });
      i++;
      continue;
    }
    if (c === '-' && /[A-Za-z(]/.test(filter[i + 1] ?? '')) {
      tokens.push({ kind: 'not', text: '-' });
      i++;
      continue;
    }
    const start = i;
    const key = /^[A-Za-z_][A-Za-z0-9_.-]*/.exec(filter.slice(i))?.[0];
    if (!key) throw bad(`expected a field at \`${filter.slice(i)}\`.`);
    i += key.length;
    while (filter[i] === ' ') i++;
    const op = OPS.find((o) => filter.startsWith(o, i));
    if (!op) {
      if (key === 'AND' || key === 'OR' || key === 'NOT') {
        tokens.push({ kind: key.toLowerCase() as 'and' | 'or' | 'not', text: key });
        i = start + key.length;
        continue;
      }
      throw bad(`\`${key}\` has no operator: write FIELD=VALUE (or != ~ !~ : < <= > >=).`);
    }
    i += op.length;
    while (filter[i] === ' ') i++;
    let value = '';
    const quote = filter[i];
    if (quote === '"' || quote === "'") {
      const end = filter.indexOf(quote, i + 1);
      if (end < 0) throw bad(`the quote at \`${filter.slice(i)}\` is not closed.`);
      value = filter.slice(i + 1, end);
      i = end + 1;
    } else {
      while (i < filter.length && !/[\s()]/.test(filter[i] as string)) value += filter[i++];
      if (value === '') throw bad(`\`${key}${op}\` has no value (quote an empty one: ${key}${op}"").`);
    }
    const text = filter.slice(start, i);
    checkField('--filter', key, spec, filter);
    tokens.push({ kind: 'term', field: key, op, value, text });
  }
  return tokens;
}

/** Compile a `--filter` expression into a predicate on rows; a bad expression is a UsageError naming the flag. */
export function compileFilter(filter: string, spec: ListSpec): RowPredicate {
  const tokens = tokenize(filter, spec);
  if (tokens.length === 0) throw new UsageError(`--filter "${filter}": empty; write FIELD=VALUE terms.`);
  let pos = 0;
  const bad = (why: string) => new UsageError(`--filter "${filter}": ${why}`);
  const peek = () => tokens[pos];
  // OR binds looser than AND here, as in gcloud's own filters (and most languages).
  const parseOr = (): RowPredicate => {
    const parts = [parseAnd()];
    while (peek()?.kind === 'or') {
      pos++;
      parts.push(parseAnd());
    }
    return parts.length === 1 ? (parts[0] as RowPredicate) : (row) => parts.some((p) => p(row));
  };
  const parseAnd = (): RowPredicate => {
    const parts = [parseUnary()];
    for (;;) {
      const next = peek();
      if (next?.kind === 'and') {
        pos++;
        parts.push(parseUnary());
      } else if (next && (next.kind === 'term' || next.kind === 'not' || next.kind === 'lparen')) {
        parts.push(parseUnary());
      } else break;
    }
    return parts.length === 1 ? (parts[0] as RowPredicate) : (row) => parts.every((p) => p(row));
  };
  const parseUnary = (): RowPredicate => {
    const token = tokens[pos++];
    if (!token) throw bad('ends where a term was expected.');
    if (token.kind === 'not') {
      const inner = parseUnary();
      return (row) => !inner(row);
    }
    if (token.kind === 'lparen') {
      const inner = parseOr();
      if (tokens[pos++]?.kind !== 'rparen') throw bad('a ( is not closed.');
      return inner;
    }
    if (token.kind === 'term') return termPredicate(token, spec, filter);
    throw bad(`unexpected \`${token.text}\`.`);
  };
  const predicate = parseOr();
  if (pos < tokens.length) throw bad(`unexpected \`${tokens[pos]?.text}\`.`);
  return predicate;
}

function termPredicate(term: Extract<Token, { kind: 'term' }>, spec: ListSpec, filter: string): RowPredicate {
  const normalize = spec.normalize?.[term.field] ?? ((v: string) => v);
  const norm = (v: string) => normalize(v).toLowerCase();
  const wanted = norm(term.value);
  const scalars = (row: Row): unknown[] => {
    const value = valueAt(row, term.field);
    return Array.isArray(value) ? value : [value];
  };
  const present = (v: unknown) => v !== undefined && v !== null && v !== '';
  const text = (v: unknown) => (typeof v === 'object' ? JSON.stringify(v) : String(v));
  switch (term.op) {
    case '=':
    case '!=': {
      const equal = (row: Row) => scalars(row).some((v) => (present(v) ? norm(text(v)) === wanted : wanted === ''));
      return term.op === '=' ? equal : (row) => !equal(row);
    }
    case ':':
      if (term.value === '*') return (row) => scalars(row).some(present);
      return (row) => scalars(row).some((v) => present(v) && norm(text(v)).includes(wanted));
    case '~':
    case '!~': {
      let re: RegExp;
      try {
        re = new RegExp(term.value, 'i');
      } catch (error) {
        throw new UsageError(
          `--filter "${filter}": \`${term.value}\` is not a regular expression (${(error as Error).message}).`,
        );
      }
      const matches = (row: Row) => scalars(row).some((v) => present(v) && re.test(text(v)));
      return term.op === '~' ? matches : (row) => !matches(row);
    }
    default: {
      const n = Number(term.value);
      const numeric = term.value.trim() !== '' && Number.isFinite(n);
      const order = (v: unknown): number | undefined => {
        if (!present(v)) return undefined;
        if (numeric && typeof v === 'number') return v - n;
        const s = text(v);
        return s < term.value ? -1 : s > term.value ? 1 : 0;
      };
      const test =
        term.op === '<'
          ? (o: number) => o < 0
          : term.op === '<='
            ? (o: number) => o <= 0
            : term.op === '>'
              ? (o: number) => o > 0
              : (o: number) => o >= 0;
      return (row) =>
        scalars(row).some((v) => {
          const o = order(v);
          return o !== undefined && test(o);
        });
    }
  }
}
