/**
 * The ListCustomJobs filter language (an AIP-160 subset), exactly the fields `ListCustomJobsRequest.filter` documents
 * in google/cloud/aiplatform/v1/job_service.proto: `display_name` (`=`, `!=`, `:` wildcard), `state` (`=`, `!=`),
 * `create_time` (`=`, `!=`, `<`, `<=`, `>`, `>=`, RFC 3339), `labels.key=value` and `labels.key:*`, combined with AND,
 * OR, NOT / `-`, parentheses and implicit AND. Any other field (`update_time`, `displayName`, ...) is
 * INVALID_ARGUMENT. As in AIP-160, OR binds tighter than AND.
 */

import { JOB_STATES } from '@vertex-launch/core';
import { EmulatorError } from '../context.js';

/** The fields of a job a filter can see. */
export interface FilterableJob {
  displayName: string;
  state: string;
  labels: Record<string, string>;
  createTime: number;
}

/** A compiled filter. */
export type JobPredicate = (job: FilterableJob) => boolean;

type Token =
  | { kind: 'word'; text: string }
  | { kind: 'string'; text: string }
  | { kind: 'op'; text: string }
  | { kind: 'lparen' }
  | { kind: 'rparen' };

const OPS = ['<=', '>=', '!=', '=', '<', '>', ':'];
const TIME_FIELDS: Record<string, keyof FilterableJob> = { create_time: 'createTime' };

function bad(filter: string, why: string): EmulatorError {
  return new EmulatorError('INVALID_ARGUMENT', `Invalid filter "${filter}": ${why}.`);
}

function tokenize(filter: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < filter.length) {
    const c = filter[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(') {
      tokens.push({ kind: 'lparen' });
      i++;
    } else if (c === ')') {
      tokens.push({ kind: 'rparen' });
      i++;
    } else if (c === '"' || c === "'") {
      let text = '';
      i++;
      while (i < filter.length && filter[i] !== c) {
        if (filter[i] === '\\' && i + 1 < filter.length) i++;
        text += filter[i];
        i++;
      }
      if (i >= filter.length) throw bad(filter, 'a quoted string is not closed');
      i++;
      tokens.push({ kind: 'string', text });
    } else {
      const op = OPS.find((o) => filter.startsWith(o, i));
      if (op) {
        tokens.push({ kind: 'op', text: op });
        i += op.length;
      } else {
        let text = '';
        while (i < filter.length && !/[\s()"'=!<>:]/.test(filter[i] as string)) text += filter[i++];
        if (text === '') throw bad(filter, `unexpected character '${c}' at position ${i}`);
        tokens.push({ kind: 'word', text });
      }
    }
  }
  return tokens;
}

/** Compiles a filter string; an empty filter matches every job. Throws INVALID_ARGUMENT naming the problem. */
export function compileJobFilter(filter: string): JobPredicate {
  if (filter.trim() === '') return () => true;
  const tokens = tokenize(filter);
  let pos = 0;
  const peek = () => tokens[pos];
  const isKeyword = (t: Token | undefined, kw: string) => t?.kind === 'word' && t.text === kw;

  const expression = (): JobPredicate => {
    const parts = [sequence()];
    while (isKeyword(peek(), 'AND')) {
      pos++;
      parts.push(sequence());
    }
    return parts.length === 1 ? (parts[0] as JobPredicate) : (job) => parts.every((p) => p(job));
  };
  const sequence = (): JobPredicate => {
    const parts = [factor()];
    for (;;) {
      const t = peek();
      if (t === undefined || t.kind === 'rparen' || isKeyword(t, 'AND')) break;
      parts.push(factor());
    }
    return parts.length === 1 ? (parts[0] as JobPredicate) : (job) => parts.every((p) => p(job));
  };
  const factor = (): JobPredicate => {
    const parts = [term()];
    while (isKeyword(peek(), 'OR')) {
      pos++;
      parts.push(term());
    }
    return parts.length === 1 ? (parts[0] as JobPredicate) : (job) => parts.some((p) => p(job));
  };
  const term = (): JobPredicate => {
    const t = peek();
    if (isKeyword(t, 'NOT')) {
      pos++;
      const inner = simple();
      return (job) => !inner(job);
    }
    if (t?.kind === 'word' && t.text.startsWith('-') && t.text.length > 1) {
      tokens[pos] = { kind: 'word', text: t.text.slice(1) };
      const inner = simple();
      return (job) => !inner(job);
    }
    return simple();
  };
  const simple = (): JobPredicate => {
    const t = peek();
    if (t === undefined) throw bad(filter, 'it ends where a comparison was expected');
    if (t.kind === 'lparen') {
      pos++;
      const inner = expression();
      if (peek()?.kind !== 'rparen') throw bad(filter, 'a parenthesis is not closed');
      pos++;
      return inner;
    }
    if (t.kind !== 'word') throw bad(filter, `expected a field name, found ${describe(t)}`);
    pos++;
    const op = peek();
    if (op?.kind !== 'op') throw bad(filter, `expected a comparison operator after \`${t.text}\``);
    pos++;
    const value = peek();
    if (value === undefined || (value.kind !== 'word' && value.kind !== 'string')) {
      throw bad(filter, `expected a value after \`${t.text}${op.text}\``);
    }
    pos++;
    return comparison(filter, t.text, op.text, value.text, value.kind === 'string');
  };

  const predicate = expression();
  if (pos < tokens.length) throw bad(filter, `unexpected ${describe(tokens[pos] as Token)}`);
  return predicate;
}

function describe(t: Token): string {
  if (t.kind === 'lparen') return '`(`';
  if (t.kind === 'rparen') return '`)`';
  return `\`${t.text}\``;
}

function globToRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`, 's');
}

function comparison(filter: string, field: string, op: string, value: string, quoted: boolean): JobPredicate {
  if (field === 'display_name') {
    if (op === '=') return (job) => job.displayName === value;
    if (op === '!=') return (job) => job.displayName !== value;
    if (op === ':') {
      const re = globToRegExp(value);
      return (job) => re.test(job.displayName);
    }
    throw bad(filter, `\`display_name\` supports =, != and : (wildcard), not ${op}`);
  }
  if (field === 'state') {
    if (!(JOB_STATES as readonly string[]).includes(value)) {
      throw bad(filter, `\`${value}\` is not a job state; use one of ${JOB_STATES.slice(1).join(', ')}`);
    }
    if (op === '=') return (job) => job.state === value;
    if (op === '!=') return (job) => job.state !== value;
    throw bad(filter, `\`state\` supports = and !=, not ${op}`);
  }
  const timeKey = Object.hasOwn(TIME_FIELDS, field) ? TIME_FIELDS[field] : undefined;
  if (timeKey) {
    const t = Date.parse(value);
    if (!/^\d{4}-\d\d-\d\dT/.test(value) || Number.isNaN(t)) {
      throw bad(filter, `\`${field}\` needs an RFC 3339 time such as "2021-05-18T00:00:00Z", not ${value}`);
    }
    const cmp = compareWith(op);
    if (!cmp) throw bad(filter, `\`${field}\` supports =, !=, <, <=, >, >=, not ${op}`);
    return (job) => {
      const v = job[timeKey] as number | undefined;
      return v !== undefined && cmp(v, t);
    };
  }
  if (field.startsWith('labels.')) {
    const key = field.slice('labels.'.length);
    if (key === '') throw bad(filter, 'a label filter needs a key, as in labels.team=ml');
    if (op === ':' && value === '*' && !quoted) return (job) => Object.hasOwn(job.labels, key);
    if (op === '=' || op === ':') return (job) => job.labels[key] === value;
    if (op === '!=') return (job) => job.labels[key] !== value;
    throw bad(filter, `labels support =, != and :* (key exists), not ${op}`);
  }
  throw bad(
    filter,
    `unsupported field \`${field}\`; ListCustomJobs filters on display_name, state, create_time and labels.<key>`,
  );
}

function compareWith(op: string): ((a: number, b: number) => boolean) | undefined {
  switch (op) {
    case '=':
      return (a, b) => a === b;
    case '!=':
      return (a, b) => a !== b;
    case '<':
      return (a, b) => a < b;
    case '<=':
      return (a, b) => a <= b;
    case '>':
      return (a, b) => a > b;
    case '>=':
      return (a, b) => a >= b;
    default:
      return undefined;
  }
}
