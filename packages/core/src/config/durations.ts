/**
 * Durations in queue configs: a number of seconds (`3600`, `0.5`) or a string (`"3600s"`, `"90m"`, `"2h"`,
 * `"1h30m"`, `"1d"`). Resolved configs hold seconds; the mapping turns them into protobuf Durations.
 */

/** Accepted duration strings: a bare number of seconds, or any of `d`, `h`, `m`, `s` parts in that order. */
export const DURATION_PATTERN = /^(?=\S)(?:\d+(?:\.\d{1,9})?|(?:\d+d)?(?:\d+h)?(?:\d+m)?(?:\d+(?:\.\d{1,9})?s)?)$/;

const PARTS = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d{1,9})?)s)?$/;

/** Most `run.timeout`, seconds: Vertex AI refuses a Scheduling.timeout over 30 days. */
export const MAX_RUN_TIMEOUT_SECONDS = 30 * 86_400;
/** Most `run.create_request_timeout`, seconds: a CreateCustomJob call that takes an hour has failed. */
export const MAX_CREATE_REQUEST_TIMEOUT_SECONDS = 3600;
/** Most `run.max_wait_duration`, seconds: Dynamic Workload Scheduler waits at most 7 days. */
export const MAX_WAIT_DURATION_SECONDS = 7 * 86_400;

/** Human description of the accepted forms, used in error messages and schema descriptions. */
export const DURATION_FORMS = 'seconds (3600) or a string like "3600s", "90m", "2h" or "1h30m"';

/** Seconds for a duration value, or `undefined` when it is not a valid duration. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (text === '' || !DURATION_PATTERN.test(text)) return undefined;
  if (/^\d+(?:\.\d+)?$/.test(text)) return Number(text);
  const match = PARTS.exec(text);
  if (!match) return undefined;
  const [, d, h, m, s] = match;
  return Number(d ?? 0) * 86_400 + Number(h ?? 0) * 3600 + Number(m ?? 0) * 60 + Number(s ?? 0);
}

/** `d`/`h`/`m`/`s` form of whole seconds: `86400` -> `"24h"`... `"1d"`, `90` -> `"90s"`. */
export function formatSeconds(seconds: number): string {
  if (seconds >= 86_400 && seconds % 86_400 === 0) return `${seconds / 86_400}d`;
  if (seconds >= 3600 && seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds >= 60 && seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

/**
 * The message for a duration outside its bounds, naming the value and the range:
 * "`25h` (90000 s) is out of range: use 1s to 1d (86400 s)".
 */
export function durationOutOfRange(value: unknown, min: number, max: number): string {
  const seconds = parseDuration(value);
  const given = typeof value === 'number' ? `${value} s` : `\`${String(value).trim()}\` (${seconds} s)`;
  return `${given} is out of range: use ${formatSeconds(min)} to ${formatSeconds(max)} (${max} s)`;
}

/** A protobuf Duration as the Node client takes it: int64 seconds as a string, int32 nanos. */
export interface DurationMessage {
  seconds: string;
  nanos?: number;
}

/** Seconds -> `{ seconds: '3600' }` (nanos only when there is a fraction). */
export function toDurationMessage(seconds: number): DurationMessage {
  const whole = Math.floor(seconds);
  const nanos = Math.round((seconds - whole) * 1e9);
  return nanos > 0 ? { seconds: String(whole), nanos } : { seconds: String(whole) };
}

/** A Duration message in proto3 JSON form: `"3600s"`, `"1.5s"` (3, 6 or 9 fractional digits). */
export function durationToJson(duration: DurationMessage): string {
  let text = String(duration.seconds);
  if (duration.nanos !== undefined && duration.nanos > 0) {
    text += `.${String(duration.nanos)
      .padStart(9, '0')
      .replace(/^((?:\d\d\d)+?)0*$/, '$1')}`;
  }
  return `${text}s`;
}
