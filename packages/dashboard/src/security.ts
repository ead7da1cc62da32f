/**
 * Who may talk to the dashboard. Every request passes three checks before any page or action runs:
 *
 * 1. **Host** must name this server (`127.0.0.1:PORT`, `localhost:PORT`, ... or the address it was bound to). A
 *    page on another site cannot use DNS rebinding (its own name re-pointed at 127.0.0.1) to read the dashboard:
 *    its requests carry its own name in Host and are refused.
 * 2. **Origin**, when the browser sends one, must be this server's own origin, and every request that changes
 *    something (any method but GET and HEAD) must carry it. Browsers send Origin on every cross-origin request and
 *    on every POST (https://fetch.spec.whatwg.org/#origin-header), so a form or script on another site cannot post
 *    here (CSRF).
 * 3. **The token**: a random secret in the printed URL (`?token=`), swapped at once for an HttpOnly, SameSite=Strict
 *    cookie (https://httpwg.org/http-extensions/draft-ietf-httpbis-rfc6265bis.html#name-the-samesite-attribute-2:
 *    Strict cookies are not sent on cross-site requests) and a redirect that drops it from the address bar.
 *    Other local users and programs that can reach the port do not know it.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';

/** True for 127.0.0.0/8, ::1 and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIPv4(v4) && v4.startsWith('127.');
}

/** A new token: 32 random bytes, base64url. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

const hostPort = (host: string, port: number) => `${isIPv6(host) ? `[${host}]` : host}:${port}`;

/**
 * The Host header values this server answers to: the loopback names when bound to loopback; the bound address
 * itself otherwise; every interface address and the machine's name when bound to all (`0.0.0.0`, `::`).
 */
export function allowedHostHeaders(boundHost: string, port: number): Set<string> {
  const names = new Set<string>();
  if (isLoopbackHost(boundHost)) {
    for (const name of ['127.0.0.1', 'localhost', '::1', boundHost]) names.add(name);
  } else if (boundHost === '0.0.0.0' || boundHost === '::') {
    for (const name of ['127.0.0.1', 'localhost', '::1', hostname()]) names.add(name);
    for (const addresses of Object.values(networkInterfaces())) {
      for (const address of addresses ?? []) if (!address.address.includes('%')) names.add(address.address);
    }
  } else {
    names.add(boundHost);
  }
  return new Set([...names].map((name) => hostPort(name, port).toLowerCase()));
}

/** What {@link checkRequest} needs. */
export interface RequestGuard {
  /** The secret of the printed URL. */
  token: string;
  /** Name of the cookie holding it (per port: browsers share cookies across the ports of one host). */
  cookieName: string;
  /** Host header values this server answers to (lowercase). */
  hosts: ReadonlySet<string>;
}

/** The parts of a request the checks read. */
export interface GuardedRequest {
  method: string;
  /** Path and query, e.g. `/queues?token=...`. */
  url: string;
  headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** The verdict: go on (and whether the token came in the URL, to set the cookie), or refuse with a plain message. */
export type GuardVerdict = { ok: true; tokenFromUrl: boolean } | { ok: false; status: 401 | 403; message: string };

const header = (request: GuardedRequest, name: string): string | undefined => {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

function sameSecret(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The value of cookie `name` in a Cookie header. */
export function readCookie(cookieHeader: string | undefined, name: string): string | undefined {
  for (const part of (cookieHeader ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return undefined;
}

/** Checks Host, Origin and the token (see the module comment). */
export function checkRequest(request: GuardedRequest, guard: RequestGuard): GuardVerdict {
  const host = header(request, 'host')?.toLowerCase();
  if (host === undefined || !guard.hosts.has(host)) {
    return {
      ok: false,
      status: 403,
      message: `Refused: the Host header ${host === undefined ? 'is missing' : `"${host}"`} does not name this dashboard (DNS rebinding protection). Open the URL that \`vertex-launch ui\` printed.`,
    };
  }
  const origin = header(request, 'origin');
  const unsafe = request.method !== 'GET' && request.method !== 'HEAD';
  if (origin !== undefined && origin.toLowerCase() !== `http://${host}`) {
    return {
      ok: false,
      status: 403,
      message: `Refused: a request from another origin (${origin}) (cross-site request protection).`,
    };
  }
  if (unsafe && origin === undefined) {
    return {
      ok: false,
      status: 403,
      message: 'Refused: a request that changes something must come from the dashboard page (it has no Origin header).',
    };
  }
  const fromUrl = new URL(request.url, 'http://dashboard').searchParams.get('token');
  if (fromUrl !== null) {
    if (sameSecret(fromUrl, guard.token)) return { ok: true, tokenFromUrl: true };
    return { ok: false, status: 403, message: 'Refused: wrong token. Open the URL that `vertex-launch ui` printed.' };
  }
  const fromCookie = readCookie(header(request, 'cookie'), guard.cookieName);
  if (fromCookie === undefined) {
    return {
      ok: false,
      status: 401,
      message: 'Not signed in: open the URL that `vertex-launch ui` printed (it carries the token).',
    };
  }
  if (!sameSecret(fromCookie, guard.token)) {
    return {
      ok: false,
      status: 403,
      message: 'Refused: wrong token (a dashboard that was restarted?). Open the URL that `vertex-launch ui` printed.',
    };
  }
  return { ok: true, tokenFromUrl: false };
}

/** The Set-Cookie value that keeps the token for the session. */
export function tokenCookie(guard: RequestGuard): string {
  return `${guard.cookieName}=${guard.token}; HttpOnly; SameSite=Strict; Path=/`;
}
