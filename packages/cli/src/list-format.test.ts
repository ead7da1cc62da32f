import { describe, expect, it } from 'vitest';
import { compileFilter, type ListSpec, listOptions, parseFormat, printRows, selectRows } from './list-format.js';
import type { Io } from './output.js';

const spec: ListSpec = {
  command: 'jobs list',
  fields: [{ name: 'id' }, { name: 'state' }, { name: 'displayName' }, { name: 'labels', nested: true }, { name: 'n' }],
  normalize: { state: (v) => v.toUpperCase().replace(/^JOB_STATE_/, '') },
};
const rows = [
  { id: '1', state: 'JOB_STATE_RUNNING', displayName: 'train-a', labels: { team: 'ml' }, n: 10 },
  { id: '2', state: 'JOB_STATE_FAILED', displayName: 'eval-b', labels: { team: 'ml' }, n: 2 },
  { id: '3', state: 'JOB_STATE_RUNNING', displayName: 'Train-c', labels: { team: 'web' }, n: 30 },
  { id: '4', state: 'JOB_STATE_SUCCEEDED', displayName: 'other', labels: {}, n: 4 },
];
const ids = (filter: string) => rows.filter(compileFilter(filter, spec)).map((r) => r.id);

function capture(): { io: Io; out: () => string } {
  let text = '';
  return { io: { stdout: (t) => (text += t), stderr: () => {}, isTTY: false, color: false }, out: () => text };
}

describe('--filter', () => {
  it('ANDs terms (with AND or a space), and has OR, NOT, - and parentheses', () => {
    expect(ids('state=RUNNING')).toEqual(['1', '3']);
    expect(ids('state=job_state_running labels.team=ml')).toEqual(['1']);
    expect(ids('state=RUNNING AND labels.team=ml')).toEqual(['1']);
    expect(ids('state=FAILED OR labels.team=web')).toEqual(['2', '3']);
    expect(ids('NOT state=RUNNING')).toEqual(['2', '4']);
    expect(ids('-labels.team:* OR (state=FAILED AND n<5)')).toEqual(['2', '4']);
    expect(ids('state!=RUNNING labels.team="ml"')).toEqual(['2']);
  });

  it('matches regular expressions and substrings without case, compares numbers as numbers', () => {
    expect(ids('displayName~^train')).toEqual(['1', '3']);
    expect(ids('displayName!~train')).toEqual(['2', '4']);
    expect(ids("displayName:'al'")).toEqual(['2']);
    expect(ids('n>=10')).toEqual(['1', '3']);
    expect(ids('n<4')).toEqual(['2']);
  });

  it('names the flag, the unknown field with a did-you-mean, and every valid field', () => {
    expect(() => compileFilter('stat=RUNNING', spec)).toThrow(
      '--filter "stat=RUNNING": jobs list has no field `stat` (did you mean `state`?). Fields of jobs list: id, state, displayName, labels.KEY, n.',
    );
    expect(() => compileFilter('state.x=1', spec)).toThrow('`state` is not an object');
    expect(() => compileFilter('state RUNNING', spec)).toThrow('`state` has no operator');
    expect(() => compileFilter('(state=RUNNING', spec)).toThrow('a ( is not closed');
    expect(() => compileFilter('displayName~"("', spec)).toThrow('is not a regular expression');
    expect(() => compileFilter('displayName="x', spec)).toThrow('is not closed');
  });
});

describe('--sort-by and --format', () => {
  it('sorts by fields, ~ descending, and prints the fields asked for', () => {
    const options = listOptions({ sortBy: '~state,n', format: 'value(id,labels.team)' }, spec);
    const selected = selectRows(rows, options, 3);
    expect(selected.map((r) => r.id)).toEqual(['4', '1', '3']);
    const { io, out } = capture();
    printRows(io, options.format as Exclude<typeof options.format, { kind: 'default' }>, selected, (r) => r);
    expect(out()).toBe('4\t\n1\tml\n3\tweb\n');
  });

  it('prints tables, YAML and JSON', () => {
    const table = capture();
    printRows(table.io, { kind: 'table', fields: ['id', 'displayName'] }, rows.slice(0, 2), (r) => r);
    expect(table.out()).toBe('ID  DISPLAYNAME\n1   train-a\n2   eval-b\n');
    const yaml = capture();
    printRows(yaml.io, { kind: 'yaml' }, rows.slice(3), (jobs) => ({ jobs }));
    expect(yaml.out()).toBe(
      'jobs:\n  - id: "4"\n    state: JOB_STATE_SUCCEEDED\n    displayName: other\n    labels: {}\n    n: 4\n',
    );
    expect(parseFormat({ json: true }, spec)).toEqual({ kind: 'json' });
    expect(parseFormat({ format: 'JSON', json: true }, spec)).toEqual({ kind: 'json' });
    expect(parseFormat({ format: 'table' }, spec)).toEqual({ kind: 'default' });
  });

  it('refuses an unknown format or field, naming the flag', () => {
    expect(() => parseFormat({ format: 'csv' }, spec)).toThrow(
      '--format csv: not a format; use json, yaml, table, table(FIELD,...) or value(FIELD,...).',
    );
    expect(() => parseFormat({ format: 'table(id,nme)' }, spec)).toThrow(
      '--format "table(id,nme)": jobs list has no field `nme`',
    );
    expect(() => parseFormat({ format: 'yaml', json: true }, spec)).toThrow('--json and --format yaml disagree');
    expect(() => listOptions({ sortBy: '~created' }, spec)).toThrow(
      '--sort-by "~created": jobs list has no field `created`',
    );
  });
});
