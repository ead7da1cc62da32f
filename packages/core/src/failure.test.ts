import { describe, expect, test } from 'vitest';
import { classifyFailure, FAILURE_CLASSES, type FailureEvidence } from './failure.js';

const failed = (message: string, extra: Partial<FailureEvidence> = {}): FailureEvidence => ({
  status: 'failed',
  error: { code: 3, message },
  ...extra,
});

describe('classifyFailure', () => {
  test('a launch that succeeded or has not ended has no failure class', () => {
    expect(classifyFailure({ status: 'succeeded' })).toBeUndefined();
    expect(classifyFailure({ status: 'running' })).toBeUndefined();
    expect(classifyFailure({ status: 'queued', error: { code: 8, message: 'quota metrics exceed' } })).toBeUndefined();
  });

  const cases = [
    [
      'quota',
      failed(
        'The following quota metrics exceed quota limits: aiplatform.googleapis.com/custom_model_training_nvidia_l4_gpus',
        {
          error: {
            code: 8,
            message:
              'The following quota metrics exceed quota limits: aiplatform.googleapis.com/custom_model_training_nvidia_l4_gpus',
          },
          region: 'us-central1',
        },
      ),
      /quota for aiplatform\.googleapis\.com\/custom_model_training_nvidia_l4_gpus in us-central1/,
    ],
    [
      'stockout',
      failed('The resources are insufficient in region: us-central1. Please try a different region.', {
        region: 'us-central1',
      }),
      /no capacity for this machine in us-central1.*FLEX_START/,
    ],
    [
      'flex_wait_expired',
      { status: 'expired', schedulingStrategy: 'flex_start', states: ['JOB_STATE_QUEUED', 'JOB_STATE_PENDING'] },
      /max_wait_duration/,
    ],
    [
      'timeout',
      { status: 'cancelled', error: { code: 1, message: 'The job exceeded the maximum run time and was cancelled.' } },
      /run\.timeout/,
    ],
    ['preempted', failed('The job was preempted: the Spot VM was reclaimed.'), /retry: \{ on: \[preempted\] \}/],
    [
      'out_of_memory',
      failed('The replica workerpool0-0 exited with a non-zero status of 137. Termination reason: OOMKilled.'),
      /machine_type with more memory/,
    ],
    [
      'image_pull',
      failed('Unable to pull the image us-central1-docker.pkg.dev/p/r/trainer:1: manifest unknown'),
      /roles\/artifactregistry\.reader/,
    ],
    [
      'bucket_region',
      failed(
        'The Cloud Storage bucket of `gs://staging/job` is in location `us`. It must be in the same regional location as the service location `us-central1`.',
        {
          error: {
            code: 9,
            message:
              'The Cloud Storage bucket of `gs://staging/job` is in location `us`. It must be in the same regional location as the service location `us-central1`.',
          },
        },
      ),
      /staging bucket in the job's region/,
    ],
    [
      'permission',
      failed(
        'User does not have permission iam.serviceAccounts.actAs on the service account trainer@p.iam.gserviceaccount.com',
        {
          error: {
            code: 7,
            message: 'User does not have permission iam.serviceAccounts.actAs on trainer@p.iam.gserviceaccount.com',
          },
        },
      ),
      /roles\/iam\.serviceAccountUser/,
    ],
    [
      'user_code',
      failed('The replica workerpool0-0 exited with a non-zero status of 1. Termination reason: Error.'),
      /status 1/,
    ],
    ['cancelled', { status: 'cancelled', error: { code: 1, message: 'CANCELED' } }, undefined],
    ['unknown', failed('Internal error occurred. Please retry in a few minutes.'), undefined],
  ] as const;

  test.each(cases)('%s', (expected, evidence, fix) => {
    const failure = classifyFailure(evidence as FailureEvidence);
    expect(failure?.class).toBe(expected);
    if (fix === undefined) expect(failure?.fix).toBeUndefined();
    else expect(failure?.fix).toMatch(fix);
    expect(failure?.summary.length).toBeGreaterThan(0);
  });

  test('the cases above reach every class, each named once in FAILURE_CLASSES, unknown last', () => {
    expect(new Set(FAILURE_CLASSES).size).toBe(FAILURE_CLASSES.length);
    expect([...new Set(cases.map(([name]) => name))].sort()).toEqual([...FAILURE_CLASSES].sort());
    expect(FAILURE_CLASSES.at(-1)).toBe('unknown');
  });

  test('the exit code comes from Vertex or from the log tail', () => {
    expect(classifyFailure(failed('The replica workerpool0-0 exited with a non-zero status of 2.'))).toMatchObject({
      class: 'user_code',
      exitCode: 2,
    });
    expect(
      classifyFailure({
        status: 'failed',
        error: { code: 3, message: 'Job failed.' },
        logTail: [
          'Traceback (most recent call last):',
          'The replica workerpool0-1 exited with a non-zero status of 3.',
        ],
      }),
    ).toMatchObject({ class: 'user_code', exitCode: 3 });
  });

  test('the log tail turns a bare non-zero exit into out_of_memory, for the CPU and the GPU', () => {
    const gpu = classifyFailure(
      failed('The replica workerpool0-0 exited with a non-zero status of 1.', {
        logTail: ['torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB'],
      }),
    );
    expect(gpu).toMatchObject({ class: 'out_of_memory', exitCode: 1 });
    expect(gpu?.fix).toMatch(/GPU ran out of memory/);
    expect(
      classifyFailure(
        failed('The replica workerpool0-0 exited with a non-zero status of 1.', { logTail: ['MemoryError'] }),
      )?.class,
    ).toBe('out_of_memory');
  });

  test("the user's own log lines do not make an image-pull failure", () => {
    const failure = classifyFailure(
      failed('The replica workerpool0-0 exited with a non-zero status of 1.', {
        logTail: ['FileNotFoundError: image /data/cat.png not found'],
      }),
    );
    expect(failure).toMatchObject({ class: 'user_code', exitCode: 1 });
  });

  test('DEADLINE_EXCEEDED is a timeout once the job ran, a flex wait that expired when it never did', () => {
    const deadline = { code: 4, message: 'Deadline exceeded.' };
    expect(
      classifyFailure({ status: 'failed', error: deadline, states: ['JOB_STATE_PENDING', 'JOB_STATE_RUNNING'] })?.class,
    ).toBe('timeout');
    expect(
      classifyFailure({
        status: 'failed',
        error: deadline,
        schedulingStrategy: 'FLEX_START',
        states: ['JOB_STATE_PENDING'],
      })?.class,
    ).toBe('flex_wait_expired');
  });

  test('a quota refusal of the create call (no job) is classified the same way', () => {
    expect(
      classifyFailure({
        status: 'failed',
        error: { code: 8, message: 'Quota exceeded for aiplatform.googleapis.com/custom_model_training_cpus' },
      }),
    ).toMatchObject({ class: 'quota' });
  });
});
