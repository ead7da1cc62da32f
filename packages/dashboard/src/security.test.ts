import { networkInterfaces } from 'node:os';
import { describe, expect, test } from 'vitest';
import { allowedHostHeaders, checkRequest, isLoopbackHost, readCookie } from './security.js';
import { nonLoopbackWarning } from './server.js';

describe('Host names', () => {
  test('loopback addresses and names', () => {
    for (const host of ['127.0.0.1', '127.8.9.1', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
    for (const host of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.2', 'example.com', '128.0.0.1']) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });

  test('bound to loopback: only the loopback names with the port', () => {
    expect([...allowedHostHeaders('127.0.0.1', 8080)].sort()).toEqual([
      '127.0.0.1:8080',
      '[::1]:8080',
      'localhost:8080',
    ]);
  });

  test('bound to one address: that address; bound to all: every interface address and the machine name', () => {
    expect([...allowedHostHeaders('10.1.2.3', 80)]).toEqual(['10.1.2.3:80']);
    const all = allowedHostHeaders('0.0.0.0', 81);
    expect(all.has('127.0.0.1:81')).toBe(true);
    for (const address of Object.values(networkInterfaces()).flat()) {
      if (address && !address.address.includes('%')) {
        const name = address.family === 'IPv6' ? `[${address.address}]:81` : `${address.address}:81`;
        expect(all.has(name.toLowerCase()), name).toBe(true);
      }
    }
    expect(all.has('attacker.example:81')).toBe(false);
  });

  test('the warning for a host that is not loopback says who can reach it and what to prefer', () => {
    expect(nonLoopbackWarning('0.0.0.0', 7000)).toBe(
      'the dashboard listens on 0.0.0.0, not on loopback: anyone who can reach 0.0.0.0:7000 and learns the URL can create queues and cancel launches, over plain HTTP. Prefer the default 127.0.0.1 with an SSH tunnel.',
    );
  });
});

describe('checkRequest', () => {
  const guard = { token: 't'.repeat(43), cookieName: 'vxl_dashboard_9', hosts: new Set(['127.0.0.1:9']) };
  const headers = { host: '127.0.0.1:9', cookie: `other=1; vxl_dashboard_9=${'t'.repeat(43)}` };

  test('passes a same-origin request with the cookie, and a token in the URL', () => {
    expect(checkRequest({ method: 'GET', url: '/', headers }, guard)).toEqual({ ok: true, tokenFromUrl: false });
    expect(
      checkRequest({ method: 'POST', url: '/queues', headers: { ...headers, origin: 'http://127.0.0.1:9' } }, guard),
    ).toEqual({ ok: true, tokenFromUrl: false });
    expect(
      checkRequest({ method: 'GET', url: `/?token=${'t'.repeat(43)}`, headers: { host: '127.0.0.1:9' } }, guard),
    ).toEqual({
      ok: true,
      tokenFromUrl: true,
    });
  });

  test('refuses a token of another length or value without comparing it in the open', () => {
    for (const token of ['', 't', 't'.repeat(42), `${'t'.repeat(42)}u`, 't'.repeat(44)]) {
      const verdict = checkRequest(
        { method: 'GET', url: '/', headers: { host: '127.0.0.1:9', cookie: `vxl_dashboard_9=${token}` } },
        guard,
      );
      expect(verdict, token).toMatchObject({ ok: false, status: 403 });
    }
  });

  test('a missing Host header is refused', () => {
    expect(checkRequest({ method: 'GET', url: '/', headers: { cookie: headers.cookie } }, guard)).toMatchObject({
      ok: false,
      status: 403,
      message: expect.stringContaining('the Host header is missing'),
    });
  });

  test('readCookie finds one cookie among many', () => {
    expect(readCookie('a=1; b=two=2;c=3', 'b')).toBe('two=2');
    expect(readCookie('a=1', 'b')).toBeUndefined();
    expect(readCookie(undefined, 'b')).toBeUndefined();
  });
});
