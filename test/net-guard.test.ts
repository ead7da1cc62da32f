import { spawnSync } from 'node:child_process';
import dns from 'node:dns';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { childEnv } from './helpers.js';
// @ts-expect-error plain ESM module without types
import { isLoopback, takeViolations } from './net-guard.mjs';

describe('network guard', () => {
  it('classifies loopback addresses', () => {
    expect(['127.0.0.1', '127.8.9.1', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1'].map(isLoopback)).toEqual([
      true,
      true,
      true,
      true,
      true,
      true,
    ]);
    expect(
      ['169.254.169.254', '10.0.0.1', '192.168.1.1', 'metadata.google.internal', '8.8.8.8'].map(isLoopback),
    ).toEqual([false, false, false, false, false]);
  });

  it('refuses a connect to the metadata server address and records it', async () => {
    const err = await new Promise<Error>((resolve) => {
      const socket = net.connect({ host: '169.254.169.254', port: 80 });
      socket.on('error', resolve);
      socket.on('connect', () => resolve(new Error('connected')));
    });
    expect(err.message).toContain('refused connect to 169.254.169.254:80');
    expect(takeViolations()).toEqual([
      '[net-guard] refused connect to 169.254.169.254:80: tests may only reach loopback',
    ]);
  });

  it('refuses DNS lookups of remote names', async () => {
    await expect(dns.promises.lookup('aiplatform.googleapis.com')).rejects.toThrow(/refused DNS lookup to aiplatform/);
    const cbErr = await new Promise<NodeJS.ErrnoException | null>((resolve) =>
      dns.lookup('metadata.google.internal', (e) => resolve(e)),
    );
    expect(cbErr?.code).toBe('ENOTFOUND');
    expect(takeViolations()).toHaveLength(2);
  });

  it('lets loopback traffic through', async () => {
    const server = net.createServer((s) => s.end('hi'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as net.AddressInfo;
    const data = await new Promise<string>((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      let buf = '';
      socket.on('data', (d) => (buf += d));
      socket.on('end', () => resolve(buf));
      socket.on('error', reject);
    });
    server.close();
    expect(data).toBe('hi');
  });

  it('is loaded into child processes through NODE_OPTIONS', () => {
    const child = spawnSync(
      process.execPath,
      ['-e', "require('net').connect({host:'10.1.2.3',port:1}).on('error',e=>{console.log(e.code);})"],
      { env: childEnv(), encoding: 'utf8' },
    );
    expect(child.stdout.trim()).toBe('ENETUNREACH');
    expect(child.stderr).toContain('[net-guard] refused connect to 10.1.2.3:1');
  });
});
