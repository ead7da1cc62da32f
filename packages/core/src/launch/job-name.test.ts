import { describe, expect, it } from 'vitest';
import { parseJobReference, resolveJobName } from './job-name.js';

describe('job references', () => {
  it('reads the project, region and id of the console URLs of a job', () => {
    const expected = { project: 'my-proj', region: 'europe-west4', id: '1234567890' };
    for (const url of [
      'https://console.cloud.google.com/vertex-ai/locations/europe-west4/training/1234567890?project=my-proj',
      'https://console.cloud.google.com/vertex-ai/locations/europe-west4/training/1234567890/cpu?project=my-proj',
      'https://console.cloud.google.com/vertex-ai/locations/europe-west4/training/1234567890/cpu?authuser=1&project=my-proj&hl=de',
      'https://console.cloud.google.com/ai/platform/locations/europe-west4/training/1234567890?project=my-proj',
      'console.cloud.google.com/vertex-ai/locations/europe-west4/training/1234567890/?project=my-proj#x',
      '  http://CONSOLE.cloud.google.com/vertex-ai/locations/europe-west4/training/1234567890?project=my-proj ',
    ]) {
      expect(parseJobReference(url), url).toEqual(expected);
    }
    expect(parseJobReference('https://console.cloud.google.com/vertex-ai/locations/us-central1/training/42')).toEqual({
      region: 'us-central1',
      id: '42',
    });
  });

  it('turns every form into the full name, the project of a URL without one from the defaults', () => {
    expect(
      resolveJobName('https://console.cloud.google.com/vertex-ai/locations/us-east1/training/42/cpu?project=p1', {
        project: 'other',
        region: 'us-central1',
      }),
    ).toBe('projects/p1/locations/us-east1/customJobs/42');
    expect(
      resolveJobName('https://console.cloud.google.com/vertex-ai/locations/us-east1/training/42', { project: 'p2' }),
    ).toBe('projects/p2/locations/us-east1/customJobs/42');
    expect(() => resolveJobName('https://console.cloud.google.com/vertex-ai/locations/us-east1/training/42')).toThrow(
      /has no \?project= and no project is set/,
    );
    expect(parseJobReference(' 42 ')).toEqual({ id: '42' });
    expect(parseJobReference('projects/p/locations/r/customJobs/7')).toEqual({ project: 'p', region: 'r', id: '7' });
  });

  it('refuses other pages and other hosts, saying which URL is meant', () => {
    for (const ref of [
      'https://console.cloud.google.com/vertex-ai/training/custom-jobs?project=p',
      'https://console.cloud.google.com/vertex-ai/locations/us-east1/pipelines/runs/42?project=p',
      'https://evil.example/vertex-ai/locations/us-east1/training/42?project=p',
      'https://console.cloud.google.com.evil.example/vertex-ai/locations/us-east1/training/42?project=p',
    ]) {
      expect(parseJobReference(ref), ref).toBeUndefined();
    }
    expect(() => resolveJobName('https://console.cloud.google.com/vertex-ai/training/custom-jobs?project=p')).toThrow(
      /is not the console page of a CustomJob: expected https:\/\/console\.cloud\.google\.com\/vertex-ai\/locations\/<region>\/training\/<id>\?project=<project>/,
    );
    expect(() => resolveJobName('my-job')).toThrow(/a console URL/);
  });
});
