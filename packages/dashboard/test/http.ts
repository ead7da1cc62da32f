// A raw HTTP client for the dashboard tests: unlike fetch it can send any Host and Origin header, as an attacker's
// page (DNS rebinding) or another site's form would.
import { request } from 'node:http';

/** What came back. */
export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request to `127.0.0.1:port` with exactly these headers (Host defaults to `127.0.0.1:port`). */
export function rawRequest(
  port: number,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: options.method ?? 'GET',
        headers: { host: `127.0.0.1:${port}`, ...options.headers },
        setHost: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Signs in with the URL's token and returns the cookie header to send afterwards. */
export async function signIn(url: string): Promise<{ port: number; cookie: string }> {
  const parsed = new URL(url);
  const port = Number(parsed.port);
  const response = await rawRequest(port, `${parsed.pathname}${parsed.search}`);
  const setCookie = response.headers['set-cookie'];
  const first = Array.isArray(setCookie) ? setCookie[0] : setCookie;
  if (response.status !== 303 || first === undefined) throw new Error(`sign-in failed: ${response.status}`);
  return { port, cookie: first.split(';')[0] as string };
}
