// Loopback-only network guard.
//
// Loaded by the vitest setup file in every test worker, and by `--import` in every
// process a test spawns (see `guardedNodeOptions()` in test/helpers.ts). It refuses any
// TCP/UDP connect or DNS lookup that would leave this machine, records the attempt, and
// (inside vitest) fails the test that made it.
import dgram from 'node:dgram';
import dns from 'node:dns';
import net from 'node:net';

const violations = [];
globalThis.__vertexLaunchNetViolations = violations;

process.env.METADATA_SERVER_DETECTION = 'none';

const LOOPBACK_NAMES = new Set(['localhost', 'localhost.localdomain', 'ip6-localhost', 'ip6-loopback']);

/** True for 127.0.0.0/8, ::1, ::ffff:127.x and the local names. */
export function isLoopback(host) {
  if (host === undefined || host === null || host === '') return true; // Node defaults to localhost
  const h = String(host)
    .replace(/^\[|\]$/g, '')
    .toLowerCase();
  if (LOOPBACK_NAMES.has(h)) return true;
  if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return net.isIPv4(v4) && v4.startsWith('127.');
}

function refuse(kind, target) {
  const message = `[net-guard] refused ${kind} to ${target}: tests may only reach loopback`;
  violations.push(message);
  if (process.env.VERTEX_LAUNCH_NET_GUARD_VERBOSE !== '0') process.stderr.write(`${message}\n`);
  const err = new Error(message);
  err.code = 'ENETUNREACH';
  return err;
}

const originalConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function guardedConnect(...args) {
  let options = args[0];
  if (Array.isArray(options)) options = options[0]; // internal normalized form
  let host;
  let isPipe = false;
  if (options !== null && typeof options === 'object') {
    if (options.path) isPipe = true;
    host = options.host;
  } else if (typeof options === 'string' && !/^\d+$/.test(options)) {
    isPipe = true; // unix socket path
  } else {
    host = typeof args[1] === 'string' ? args[1] : undefined;
  }
  if (!isPipe && !isLoopback(host)) {
    const err = refuse('connect', `${host}:${options?.port ?? options}`);
    process.nextTick(() => this.destroy(err));
    return this;
  }
  return originalConnect.apply(this, args);
};

const originalSend = dgram.Socket.prototype.send;
dgram.Socket.prototype.send = function guardedSend(...args) {
  const address = args.find((a, i) => i > 0 && typeof a === 'string');
  if (address !== undefined && !isLoopback(address)) throw refuse('udp send', address);
  return originalSend.apply(this, args);
};

const guardHost = isLoopback;

const originalLookup = dns.lookup;
dns.lookup = function guardedLookup(hostname, ...rest) {
  if (!guardHost(hostname)) {
    const cb = rest.find((a) => typeof a === 'function');
    const err = refuse('DNS lookup', hostname);
    err.code = 'ENOTFOUND';
    if (cb) process.nextTick(() => cb(err));
    return {};
  }
  return originalLookup.call(this, hostname, ...rest);
};
const originalPromiseLookup = dns.promises.lookup;
dns.promises.lookup = function guardedPromiseLookup(hostname, ...rest) {
  if (!guardHost(hostname)) {
    const err = refuse('DNS lookup', hostname);
    err.code = 'ENOTFOUND';
    return Promise.reject(err);
  }
  return originalPromiseLookup.call(this, hostname, ...rest);
};
for (const method of ['resolve', 'resolve4', 'resolve6', 'resolveAny', 'resolveSrv', 'resolveTxt']) {
  dns[method] = function guardedResolve(hostname, ...rest) {
    const cb = rest.find((a) => typeof a === 'function');
    const err = refuse(`DNS ${method}`, hostname);
    if (cb) process.nextTick(() => cb(err));
    return undefined;
  };
  dns.promises[method] = (hostname) => Promise.reject(refuse(`DNS ${method}`, hostname));
}

/** Returns and clears the violations recorded so far. */
export function takeViolations() {
  return violations.splice(0, violations.length);
}
