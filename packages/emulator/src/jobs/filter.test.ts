import { describe, expect, test } from 'vitest';
import { compileJobFilter, type FilterableJob } from './filter.js';

const t = (iso: string) => Date.parse(iso);
const jobs: FilterableJob[] = [
  {
    displayName: 'train-a',
    state: 'JOB_STATE_RUNNING',
    labels: { team: 'vision', gpu: 't4' },
    createTime: t('2026-01-01T00:00:00Z'),
  },
  {
    displayName: 'train-b',
    state: 'JOB_STATE_FAILED',
    labels: { team: 'nlp' },
    createTime: t('2026-01-02T00:00:00Z'),
  },
  {
    displayName: 'eval c',
    state: 'JOB_STATE_SUCCEEDED',
    labels: {},
    createTime: t('2026-01-03T00:00:00Z'),
  },
];
const names = (filter: string) => jobs.filter(compileJobFilter(filter)).map((j) => j.displayName);

describe('compileJobFilter', () => {
  test.each([
    ['', ['train-a', 'train-b', 'eval c']],
    ['labels.team=vision', ['train-a']],
    ['labels.team="nlp"', ['train-b']],
    ['labels.team:*', ['train-a', 'train-b']],
    ['labels.team!=vision', ['train-b', 'eval c']],
    ['state=JOB_STATE_FAILED OR state="JOB_STATE_SUCCEEDED"', ['train-b', 'eval c']],
    ['display_name:"train-*"', ['train-a', 'train-b']],
    ['display_name="eval c"', ['eval c']],
    ['NOT labels.gpu:*', ['train-b', 'eval c']],
    ['-labels.gpu:*', ['train-b', 'eval c']],
    // AIP-160: OR binds tighter than AND.
    ['labels.team:* AND state=JOB_STATE_RUNNING OR state=JOB_STATE_FAILED', ['train-a', 'train-b']],
    ['(labels.team=vision OR labels.team=nlp) state!=JOB_STATE_RUNNING', ['train-b']],
    ['create_time>="2026-01-02T00:00:00Z"', ['train-b', 'eval c']],
    ['create_time<"2026-01-02T00:00:00Z"', ['train-a']],
  ])('%s', (filter, expected) => {
    expect(names(filter)).toEqual(expected);
  });

  test.each([
    ['owner=me', 'unsupported field `owner`'],
    // Fields of a CustomJob that job_service.proto does not list for the filter.
    [
      'update_time>"2026-01-01T00:00:00Z"',
      'unsupported field `update_time`; ListCustomJobs filters on display_name, state, create_time and labels.<key>',
    ],
    ['end_time>"2026-01-01T00:00:00Z"', 'unsupported field `end_time`'],
    ['start_time>"2026-01-01T00:00:00Z"', 'unsupported field `start_time`'],
    ['displayName="train-a"', 'unsupported field `displayName`'],
    ['constructor="x"', 'unsupported field `constructor`'],
    ['state>JOB_STATE_FAILED', '`state` supports = and !='],
    ['state=FAILED', '`FAILED` is not a job state'],
    ['display_name<"x"', '`display_name` supports =, != and :'],
    ['labels.=x', 'a label filter needs a key'],
    ['create_time>"2026-01-01"', 'RFC 3339'],
    ['(state=JOB_STATE_FAILED', 'a parenthesis is not closed'],
    ['state=JOB_STATE_FAILED)', 'unexpected `)`'],
    ['display_name="open', 'a quoted string is not closed'],
    ['labels.a=', 'expected a value after `labels.a=`'],
    ['AND', 'expected a comparison operator after `AND`'],
  ])('%s is INVALID_ARGUMENT: %s', (filter, message) => {
    expect(() => compileJobFilter(filter)).toThrow(message);
    try {
      compileJobFilter(filter);
    } catch (error) {
      expect((error as { code: string }).code).toBe('INVALID_ARGUMENT');
    }
  });
});
