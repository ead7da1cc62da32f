/**
 * One authorised JSON call to a Google REST API (Resource Manager, IAM, Policy Troubleshooter): the token goes in
 * the Authorization header and never into what is returned or thrown.
 */
import { ApiError } from '@vertex-launch/core';
import { describeHttpError, redact } from './auth-client.js';

/** The answer of {@link googleRest}: the parsed body, or the HTTP status and Google's message. */
export type RestAnswer =
  | { ok: true; status: number; body: Record<string, unknown> }
  | { ok: false; status: number; body: Record<string, unknown>; message: string };

/**
 * Calls `url` with `token`. Resolves with the answer for any HTTP status; throws {@link ApiError} (service
 * `service`) only when the server cannot be reached.
 */
export async function googleRest(
  url: string,
  token: string,
  service: string,
  init: { method?: 'GET' | 'POST'; body?: unknown; timeoutMs?: number } = {},
): Promise<RestAnswer> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      signal: AbortSignal.timeout(init.timeoutMs ?? 30_000),
    });
  } catch (error) {
    throw new ApiError(
      service,
      `[vertex-launch] [auth] ${url} could not be reached: ${redact(describeHttpError(error), [token])}`,
      { cause: error, hint: 'Check the network, or the emulator environment (VERTEX_LAUNCH_EMULATOR_HTTP).' },
    );
  }
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    const parsed = text ? JSON.parse(text) : {};
    body = parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  } catch {
    body = {};
  }
  if (response.ok) return { ok: true, status: response.status, body };
  const detail = (body.error as { message?: unknown } | undefined)?.message;
  const message = redact(typeof detail === 'string' ? detail : text.slice(0, 300), [token]);
  return { ok: false, status: response.status, body, message };
}
