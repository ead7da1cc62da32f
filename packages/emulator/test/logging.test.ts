import { OAuth2Client } from 'google-auth-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredLogEntry } from '../src/context.js';
import { loggingService } from '../src/services/logging.js';
import { type Harness, startHarness, TestContext } from './harness/service-harness.js';

const TOKEN = 'ya29.logging-token';
let ctx: TestContext;
let harness: Harness;
let client: OAuth2Client;

interface ListResponse {
  entries?: StoredLogEntry[];
  nextPageToken?: string;
}

async function list(body: Record<string, unknown>, auth: OAuth2Client = client): Promise<ListResponse> {
  const res = await auth.request<ListResponse>({ url: `${harness.url}/v2/entries:list`, method: 'POST', data: body });
  return res.data;
}

function job(jobId: string, text: string, timestamp: string, severity: StoredLogEntry['severity'] = 'INFO') {
  ctx.logs.append({
    logName: 'projects/test-project/logs/workerpool0-0',
    resource: { type: 'ml_job', labels: { job_id: jobId, project_id: 'test-project', task_name: 'workerpool0-0' } },
    timestamp,
    severity,
    textPayload: text,
  });
}

beforeAll(async () => {
  ctx = new TestContext(TOKEN, { permissions: ['logging.logEntries.list', 'logging.logEntries.create'] });
  harness = await startHarness([loggingService(ctx)]);
  client = new OAuth2Client();
  client.setCredentials({ access_token: TOKEN, expiry_date: Date.now() + 3600_000 });
  job('123', 'starting', '2026-01-01T00:00:01Z');
  job('123', 'step 1', '2026-01-01T00:00:02.5Z');
  job('456', 'other job', '2026-01-01T00:00:02.7Z');
  job('123', 'warning: slow', '2026-01-01T00:00:03Z', 'WARNING');
  job('123', 'boom', '2026-01-01T00:00:04.000000001Z', 'ERROR');
  job('123', 'same instant A', '2026-01-01T00:00:05Z');
  job('123', 'same instant B', '2026-01-01T00:00:05Z');
  ctx.logs.append({
    logName: 'projects/other-project/logs/x',
    resource: { type: 'ml_job', labels: { job_id: '123' } },
    timestamp: '2026-01-01T00:00:01Z',
    severity: 'ERROR',
    textPayload: 'another project',
  });
});

afterAll(async () => {
  await harness?.close();
});

describe('entries:list', () => {
  it('filters by resource type, job label, timestamp and severity', async () => {
    const all = await list({
      resourceNames: ['projects/test-project'],
      filter: 'resource.type="ml_job" AND resource.labels.job_id="123"',
    });
    expect(all.entries?.map((e) => e.textPayload)).toEqual([
      'starting',
      'step 1',
      'warning: slow',
      'boom',
      'same instant A',
      'same instant B',
    ]);
    expect(all.entries?.[0]).toMatchObject({
      logName: 'projects/test-project/logs/workerpool0-0',
      resource: { type: 'ml_job', labels: { job_id: '123' } },
      severity: 'INFO',
      insertId: expect.any(String),
      receiveTimestamp: expect.any(String),
    });
    const errors = await list({ resourceNames: ['projects/test-project'], filter: 'severity>=ERROR' });
    expect(errors.entries?.map((e) => e.textPayload)).toEqual(['boom']);
    const warnPlus = await list({ resourceNames: ['projects/test-project'], filter: 'severity >= "WARNING"' });
    expect(warnPlus.entries?.map((e) => e.textPayload)).toEqual(['warning: slow', 'boom']);
    const since = await list({
      resourceNames: ['projects/test-project'],
      filter:
        'resource.labels.job_id="123" timestamp>="2026-01-01T00:00:04Z" AND logName="projects/test-project/logs/workerpool0-0"',
    });
    expect(since.entries?.map((e) => e.textPayload)).toEqual(['boom', 'same instant A', 'same instant B']);
    const orJobs = await list({
      resourceNames: ['projects/test-project'],
      filter: '(resource.labels.job_id="456" OR severity=ERROR) AND NOT textPayload:"boom"',
    });
    expect(orJobs.entries?.map((e) => e.textPayload)).toEqual(['other job']);
  });

  it('orders descending and pages with stable tokens, even while entries are appended', async () => {
    const desc = await list({
      resourceNames: ['projects/test-project'],
      filter: 'resource.labels.job_id="123"',
      orderBy: 'timestamp desc',
      pageSize: 4,
    });
    expect(desc.entries?.map((e) => e.textPayload)).toEqual([
      'same instant B',
      'same instant A',
      'boom',
      'warning: slow',
    ]);
    expect(desc.nextPageToken).toEqual(expect.any(String));
    const page2 = await list({
      resourceNames: ['projects/test-project'],
      filter: 'resource.labels.job_id="123"',
      orderBy: 'timestamp desc',
      pageSize: 4,
      pageToken: desc.nextPageToken,
    });
    expect(page2.entries?.map((e) => e.textPayload)).toEqual(['step 1', 'starting']);
    expect(page2.nextPageToken).toBeUndefined();

    const query = { resourceNames: ['projects/test-project'], filter: 'resource.labels.job_id="123"', pageSize: 2 };
    const p1 = await list(query);
    expect(p1.entries?.map((e) => e.textPayload)).toEqual(['starting', 'step 1']);
    // An entry lands between the pages (earlier than the cursor): the next page neither repeats nor skips.
    job('123', 'late arrival', '2026-01-01T00:00:01.5Z');
    const p2 = await list({ ...query, pageToken: p1.nextPageToken });
    expect(p2.entries?.map((e) => e.textPayload)).toEqual(['warning: slow', 'boom']);
    await expect(list({ ...query, filter: 'severity=ERROR', pageToken: p1.nextPageToken })).rejects.toMatchObject({
      status: 400,
      response: {
        data: { error: { status: 'INVALID_ARGUMENT', message: expect.stringContaining('different query') } },
      },
    });
  });

  it('supports following: timestamp>= plus insertId tie-break sees every new entry exactly once', async () => {
    const seen = new Map<string, string>();
    let lastTs = '1970-01-01T00:00:00Z';
    const poll = async () => {
      const res = await list({
        resourceNames: ['projects/test-project'],
        filter: `resource.labels.job_id="789" AND timestamp>="${lastTs}"`,
        pageSize: 1000,
      });
      for (const e of res.entries ?? []) {
        if (!seen.has(e.insertId)) seen.set(e.insertId, e.textPayload);
        lastTs = e.timestamp;
      }
    };
    job('789', 'a', '2026-01-02T00:00:00Z');
    job('789', 'b', '2026-01-02T00:00:01Z');
    await poll();
    job('789', 'c', '2026-01-02T00:00:01Z');
    job('789', 'd', '2026-01-02T00:00:02Z');
    await poll();
    await poll();
    expect([...seen.values()]).toEqual(['a', 'b', 'c', 'd']);
    const strict = await list({
      resourceNames: ['projects/test-project'],
      filter: `resource.labels.job_id="789" AND (timestamp>"2026-01-02T00:00:01Z" OR (timestamp="2026-01-02T00:00:01Z" AND insertId>"${[...seen.keys()][1]}"))`,
    });
    expect(strict.entries?.map((e) => e.textPayload)).toEqual(['c', 'd']);
  });

  it('rejects bad filters and arguments with INVALID_ARGUMENT and the fix', async () => {
    await expect(
      list({ resourceNames: ['projects/test-project'], filter: 'resource.type="ml_job' }),
    ).rejects.toMatchObject({
      status: 400,
      response: { data: { error: { message: expect.stringContaining('Unterminated string') } } },
    });
    await expect(list({ resourceNames: ['projects/test-project'], filter: 'jsonPayload.x="1"' })).rejects.toMatchObject(
      {
        response: {
          data: { error: { message: expect.stringContaining('does not support filtering on "jsonPayload.x"') } },
        },
      },
    );
    await expect(
      list({ resourceNames: ['projects/test-project'], filter: 'timestamp>="yesterday"' }),
    ).rejects.toMatchObject({
      response: { data: { error: { message: expect.stringContaining('RFC 3339') } } },
    });
    await expect(list({ resourceNames: ['projects/test-project'], orderBy: 'severity' })).rejects.toMatchObject({
      status: 400,
    });
    await expect(list({ filter: 'severity>=ERROR' })).rejects.toMatchObject({
      response: { data: { error: { message: expect.stringContaining('resourceNames') } } },
    });
  });

  it('answers 401 without credentials and 403 naming the permission', async () => {
    const res = await fetch(`${harness.url}/v2/entries:list`, {
      method: 'POST',
      body: JSON.stringify({ resourceNames: ['projects/test-project'] }),
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: { code: 401, status: 'UNAUTHENTICATED' } });
    ctx.permissions.delete('logging.logEntries.list');
    try {
      await expect(list({ resourceNames: ['projects/test-project'] })).rejects.toMatchObject({
        status: 403,
        response: {
          data: { error: { status: 'PERMISSION_DENIED', message: expect.stringContaining('logging.logEntries.list') } },
        },
      });
    } finally {
      ctx.permissions.add('logging.logEntries.list');
    }
    expect(ctx.authorized).toContainEqual(['logging.logEntries.list', 'projects/test-project']);
  });

  it('turns an injected fault into its HTTP status', async () => {
    ctx.injectFault('logging.entries.list', 'RESOURCE_EXHAUSTED', 'Read quota exceeded (injected).');
    await expect(list({ resourceNames: ['projects/test-project'] })).rejects.toMatchObject({
      status: 429,
      response: { data: { error: { status: 'RESOURCE_EXHAUSTED', message: 'Read quota exceeded (injected).' } } },
    });
  });
});

describe('entries:write', () => {
  it('writes entries that entries:list returns, with defaults from the request', async () => {
    await client.request({
      url: `${harness.url}/v2/entries:write`,
      method: 'POST',
      data: {
        logName: 'projects/test-project/logs/custom',
        resource: { type: 'global', labels: { project_id: 'test-project' } },
        labels: { source: 'test' },
        entries: [
          { textPayload: 'first', severity: 'WARNING', timestamp: '2026-03-01T00:00:00Z' },
          { textPayload: 'second', severity: 500, timestamp: '2026-03-01T00:00:01Z', labels: { extra: '1' } },
        ],
      },
    });
    const res = await list({
      resourceNames: ['projects/test-project'],
      filter: 'logName="projects/test-project/logs/custom"',
    });
    expect(res.entries).toMatchObject([
      { textPayload: 'first', severity: 'WARNING', resource: { type: 'global' }, labels: { source: 'test' } },
      { textPayload: 'second', severity: 'ERROR', labels: { source: 'test', extra: '1' } },
    ]);
    const byLabel = await list({ resourceNames: ['projects/test-project'], filter: 'labels.extra="1"' });
    expect(byLabel.entries?.map((e) => e.textPayload)).toEqual(['second']);
  });

  it('validates entries and checks logging.logEntries.create', async () => {
    await expect(
      client.request({
        url: `${harness.url}/v2/entries:write`,
        method: 'POST',
        data: {
          entries: [{ logName: 'projects/test-project/logs/x', resource: { type: 'global' }, jsonPayload: { a: 1 } }],
        },
      }),
    ).rejects.toMatchObject({
      status: 400,
      response: { data: { error: { message: expect.stringContaining('textPayload') } } },
    });
    ctx.permissions.delete('logging.logEntries.create');
    try {
      await expect(
        client.request({
          url: `${harness.url}/v2/entries:write`,
          method: 'POST',
          data: {
            entries: [{ logName: 'projects/test-project/logs/x', resource: { type: 'global' }, textPayload: 'x' }],
          },
        }),
      ).rejects.toMatchObject({
        status: 403,
        response: { data: { error: { message: expect.stringContaining('logging.logEntries.create') } } },
      });
    } finally {
      ctx.permissions.add('logging.logEntries.create');
    }
    const res = await list({
      resourceNames: ['projects/test-project'],
      filter: 'logName="projects/test-project/logs/x"',
    });
    expect(res.entries).toBeUndefined();
  });
});
