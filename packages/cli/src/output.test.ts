import { PassThrough } from 'node:stream';
import { ConfigError, type ConfigIssue } from '@vertex-launch/core';
import { resolveQueueConfig } from '@vertex-launch/core/config';
import { describe, expect, it } from 'vitest';
import { ExitCode } from './exit-codes.js';
import { editDistance, exitQuietlyOnBrokenPipe, type Io, reportError } from './output.js';

function capture(): { io: Io; stderr: () => string } {
  let err = '';
  return {
    io: { stdout: () => {}, stderr: (t) => (err += t), isTTY: false, color: false },
    stderr: () => err,
  };
}

const count = (text: string, part: string) => text.split(part).length - 1;

describe('exitQuietlyOnBrokenPipe', () => {
  it('exits with 141 on EPIPE and rethrows any other stream error', () => {
    const stream = new PassThrough() as unknown as NodeJS.WriteStream;
    const exits: number[] = [];
    exitQuietlyOnBrokenPipe([stream], (code) => exits.push(code));
    stream.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    expect(exits).toEqual([ExitCode.BROKEN_PIPE]);
    expect(ExitCode.BROKEN_PIPE).toBe(141);
    const other = Object.assign(new Error('write EIO'), { code: 'EIO' });
    expect(() => stream.emit('error', other)).toThrow(other);
    expect(exits).toEqual([141]);
  });
});

describe('reportError on a ConfigError', () => {
  it('prints each problem of a queue config once, and the warnings once', () => {
    let error: unknown;
    try {
      resolveQueueConfig({
        config: {
          spec: {
            // The typo is a warning (a machine type newer than the list is possible); the rest are errors.
            worker_pool_specs: [{ machine_spec: { machine_type: 'n1-standrd-4' }, replica_count: 1 }],
            staging_bucket: 'gs://B',
            labels: { Team: 'ml' },
          },
          run: { timeout: 'soon' },
        },
        context: { project: 'p', region: 'us-central1', runId: 'r1', launchId: 'l1' },
        file: 'q.yaml',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const issues = (error as ConfigError).issues;
    expect(issues.filter((i) => i.severity === 'error').length).toBeGreaterThanOrEqual(2);
    expect(issues.some((i) => i.severity === 'warning')).toBe(true);
    const out = capture();
    expect(reportError(out.io, error)).toBe(ExitCode.USAGE);
    const text = out.stderr();
    expect(text.startsWith('error Invalid queue config q.yaml (')).toBe(true);
    for (const issue of issues) expect(count(text, `${issue.path}: `), issue.path).toBeGreaterThan(0);
    for (const issue of issues) expect(count(text, issue.message), issue.message).toBe(1);
    expect(text).toContain('hint Fix the keys named above');
  });

  it('lists the problems a message only counts, and those it states in other words, once each', () => {
    const issues: ConfigIssue[] = [
      { path: 'queues', message: 'list at least one queue', severity: 'error' },
      { path: 'max_jobs', message: 'must be at least 1', severity: 'error' },
    ];
    const out = capture();
    reportError(out.io, new ConfigError('Invalid agent config a.yaml (2 problems).', issues, { file: 'a.yaml' }));
    expect(out.stderr()).toBe(
      'error Invalid agent config a.yaml (2 problems).\n' +
        '  a.yaml: queues: list at least one queue\n' +
        '  a.yaml: max_jobs: must be at least 1\n',
    );
  });

  it('does not repeat problems a one-line message names with their keys', () => {
    const issues: ConfigIssue[] = [
      { path: 'VERTEX_LAUNCH_EMULATOR_CA', message: 'is not set', severity: 'error' },
      { path: 'VERTEX_LAUNCH_EMULATOR_GRPC', message: 'is not host:port', severity: 'error' },
    ];
    const message = `Incomplete or invalid emulator connection: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}.`;
    const out = capture();
    reportError(out.io, new ConfigError(message, issues));
    expect(out.stderr()).toBe(`error ${message}\n`);
  });
});

describe('editDistance', () => {
  it('counts a swap of neighbours as one edit', () => {
    expect(editDistance('itmes', 'items')).toBe(1);
    expect(editDistance('describ', 'describe')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('list', 'logs')).toBe(3);
  });
});

describe('reportError in JSON mode', () => {
  it('prints one JSON line on stdout with code, message and hint, and the message for people on stderr', () => {
    let out = '';
    let err = '';
    const io: Io = { stdout: (t) => (out += t), stderr: (t) => (err += t), isTTY: false, color: false };
    const issues: ConfigIssue[] = [{ path: 'spec.x', message: 'is unknown', severity: 'error' }];
    const code = reportError(io, new ConfigError('Bad q.yaml.', issues, { file: 'q.yaml', hint: 'Fix it.' }), {
      json: true,
    });
    expect(code).toBe(ExitCode.USAGE);
    expect(out.endsWith('\n')).toBe(true);
    expect(out.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(out)).toEqual({
      error: {
        code: 'CONFIG_INVALID',
        message: 'Bad q.yaml.',
        hint: 'Fix it.',
        file: 'q.yaml',
        issues: [{ path: 'spec.x', message: 'is unknown', severity: 'error' }],
      },
    });
    expect(err).toBe('error Bad q.yaml.\n  q.yaml: spec.x: is unknown\nhint Fix it.\n');
  });
});
