/**
 * Job logs from Cloud Logging's REST API (`POST /v2/entries:list`; no Node logging client is needed): entries of
 * `resource.type="ml_job" AND resource.labels.job_id="<id>"`, oldest first. Following repeats the list from the last
 * timestamp seen (minus a lag window for entries ingested late) and drops entries already yielded, by insertId.
 */
import { type AuthClientLike, type Clock, GOOGLE_SERVICE_URLS, type JobLogEntry } from '@vertex-launch/core';
import { plainHeaders } from './client.js';

/** Google's Cloud Logging endpoint (the runtime's endpoints carry it as `loggingUrl`). */
export const CLOUD_LOGGING_URL: string = GOOGLE_SERVICE_URLS.loggingUrl;

/** A Cloud Logging LogEntry as `entries:list` returns it (the fields we read). */
export interface RestLogEntry {
  insertId?: string;
  timestamp?: string;
  severity?: string;
  textPayload?: string;
  jsonPayload?: { message?: unknown; [key: string]: unknown };
  resource?: { labels?: Record<string, string> };
  labels?: Record<string, string>;
}

/** An HTTP error of Cloud Logging, with the status (mapped to a gRPC code by the error helpers). */
export class LoggingHttpError extends Error {
  override name = 'LoggingHttpError';
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** Posts one `entries:list` request. */
export async function listLogEntries(
  baseUrl: string,
  authClient: AuthClientLike,
  body: Record<string, unknown>,
  signal?: AbortSignal,
): Promise<{ entries: RestLogEntry[]; nextPageToken: string | undefined }> {
  const url = `${baseUrl}/v2/entries:list`;
  const headers = plainHeaders(await authClient.getRequestHeaders(url));
  const res = await fetch(url, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });
  const text = await res.text();
  let json: { entries?: RestLogEntry[]; nextPageToken?: string; error?: { message?: string } } = {};
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    json = {};
  }
  if (!res.ok) throw new LoggingHttpError(res.status, json.error?.message ?? `HTTP ${res.status} from ${url}`);
  return { entries: json.entries ?? [], nextPageToken: json.nextPageToken || undefined };
}

/** A REST LogEntry as a {@link JobLogEntry}. */
export function toJobLogEntry(entry: RestLogEntry): JobLogEntry {
  const message = entry.jsonPayload?.message;
  const text =
    entry.textPayload ??
    (typeof message === 'string' ? message : entry.jsonPayload ? JSON.stringify(entry.jsonPayload) : '');
  return {
    timestamp: entry.timestamp ?? '',
    severity: entry.severity ?? 'DEFAULT',
    text,
    insertId: entry.insertId ?? '',
    task: entry.resource?.labels?.task_name,
  };
}

/** What {@link readJobLogs} needs. */
export interface ReadJobLogsOptions {
  /** One page of `entries:list` (with the caller's retries). */
  fetchPage(body: Record<string, unknown>): Promise<{ entries: RestLogEntry[]; nextPageToken: string | undefined }>;
  /** `projects/<project id>`. */
  resourceName: string;
  /** The numeric CustomJob id (`resource.labels.job_id` of its log entries). */
  jobId: string;
  /** Keep reading until the job has ended (`isDone()`), instead of returning after the entries there are. */
  follow: boolean;
  /** Only entries at or after this time. */
  since: Date | undefined;
  /** Only the entries of this replica (`resource.labels.task_name`), e.g. `workerpool0-0`. */
  task?: string | undefined;
  /** Only the last `tail` entries (read newest first, yielded oldest first); not with `follow`. */
  tail?: number | undefined;
  /** Stops reading when aborted. */
  signal: AbortSignal | undefined;
  /** True once the job has ended (checked before each read when following). */
  isDone(): boolean | Promise<boolean>;
  /** Pause between reads while following, ms. */
  pollIntervalMs: number;
  /** Re-read this far back when following, for entries ingested late, ms. */
  lagMs: number;
  /** Sleeps between reads (injected by tests). */
  clock: Clock;
}

/** The Logging filter of a job's entries (of one replica when `task` is set). */
function jobLogFilter(jobId: string, task?: string): string {
  const base = `resource.type="ml_job" AND resource.labels.job_id="${jobId}"`;
  return task === undefined ? base : `${base} AND resource.labels.task_name="${task.replace(/["\\]/g, '\\$&')}"`;
}

/** The last `tail` entries (newest first from Logging, as few pages as that takes), yielded oldest first. */
async function* readTail(options: ReadJobLogsOptions, base: string): AsyncGenerator<JobLogEntry> {
  const wanted = options.tail ?? 0;
  const filter = options.since === undefined ? base : `${base} AND timestamp>="${options.since.toISOString()}"`;
  const newest: JobLogEntry[] = [];
  let pageToken: string | undefined;
  while (newest.length < wanted && !options.signal?.aborted) {
    const page = await options.fetchPage({
      resourceNames: [options.resourceName],
      filter,
      orderBy: 'timestamp desc',
      pageSize: Math.min(1000, wanted - newest.length),
      ...(pageToken ? { pageToken } : {}),
    });
    for (const raw of page.entries) if (newest.length < wanted) newest.push(toJobLogEntry(raw));
    pageToken = page.nextPageToken;
    if (!pageToken) break;
  }
  yield* newest.reverse();
}

/** The job's log entries, oldest first; with `follow`, until the job has ended and its last entries were read. */
export async function* readJobLogs(options: ReadJobLogsOptions): AsyncGenerator<JobLogEntry> {
  const base = jobLogFilter(options.jobId, options.task);
  if (options.tail !== undefined) {
    yield* readTail(options, base);
    return;
  }
  /** insertId -> timestamp (ms) of entries already yielded inside the re-read window. */
  const yielded = new Map<string, number>();
  const sinceMs = options.since?.getTime();
  let cursorMs: number | undefined;
  for (;;) {
    if (options.signal?.aborted) return;
    const done = options.follow ? await options.isDone() : true;
    // Re-read a lag window behind the newest entry seen (entries can be ingested late), never before `since`.
    const fromMs = cursorMs === undefined ? sinceMs : Math.max(cursorMs - options.lagMs, sinceMs ?? 0);
    const from = fromMs === undefined ? undefined : new Date(fromMs).toISOString();
    const filter = from === undefined ? base : `${base} AND timestamp>="${from}"`;
    let pageToken: string | undefined;
    do {
      const page = await options.fetchPage({
        resourceNames: [options.resourceName],
        filter,
        orderBy: 'timestamp asc',
        pageSize: 1000,
        ...(pageToken ? { pageToken } : {}),
      });
      for (const raw of page.entries) {
        const entry = toJobLogEntry(raw);
        const at = Date.parse(entry.timestamp);
        if (entry.insertId && yielded.has(entry.insertId)) continue;
        if (entry.insertId) yielded.set(entry.insertId, Number.isNaN(at) ? 0 : at);
        if (!Number.isNaN(at)) cursorMs = Math.max(cursorMs ?? at, at);
        yield entry;
      }
      pageToken = page.nextPageToken;
    } while (pageToken && !options.signal?.aborted);
    if (done) return;
    // Forget ids that fell out of the re-read window.
    if (cursorMs !== undefined) {
      const floor = cursorMs - options.lagMs - 1_000;
      for (const [id, at] of yielded) if (at < floor) yielded.delete(id);
    }
    // An abort ends the sleep early; the loop then returns.
    await options.clock.sleep(options.pollIntervalMs, options.signal);
  }
}
