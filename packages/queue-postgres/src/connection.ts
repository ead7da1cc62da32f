/**
 * Where the store connects, resolved once from (highest first) the options, the connection URL, the `PG*` environment
 * variables and the defaults — libpq's order (https://www.postgresql.org/docs/current/libpq-envars.html: "values
 * given in the connection string take precedence over the environment"), with node-postgres' defaults (`localhost`,
 * 5432, the OS user). The result is handed to node-postgres with every field set, so node-postgres reads nothing
 * from `process.env` behind the options' back. Pure apart from reading certificate files.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { userInfo } from 'node:os';
import type { ConnectionOptions } from 'node:tls';
import type { ConfigIssue } from '@vertex-launch/core';
import {
  optionsError,
  type ParsedPostgresQueueStoreOptions,
  type PostgresQueueStoreOptions,
  type PostgresSslMode,
  parseOptions,
  SSL_MODES,
} from './options.js';

/** Where and how to connect. The password is not enumerable: it never shows in `JSON.stringify` or `inspect`. */
export interface PostgresConnection {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly database: string;
  /** Undefined: node-postgres looks in `~/.pgpass` (`PGPASSFILE`). Not enumerable. */
  readonly password: string | undefined;
  /** The TLS mode in force. */
  readonly sslMode: PostgresSslMode;
  /** node-postgres' `ssl` value: `false`, or Node TLS options (the key not enumerable). */
  readonly ssl: false | ConnectionOptions;
  readonly applicationName: string;
  readonly connectTimeoutMs: number;
  /** `postgres://user@host:port/database` — no password, for messages. */
  readonly display: string;
}

/** URL query parameters understood (libpq names; https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-PARAMKEYWORDS). */
const URL_PARAMS = [
  'host',
  'port',
  'user',
  'password',
  'dbname',
  'sslmode',
  'sslrootcert',
  'sslcert',
  'sslkey',
  'application_name',
  'connect_timeout',
] as const;

type UrlParam = (typeof URL_PARAMS)[number];

const MASK = '***';

/**
 * A connection URL (or libpq `key=value` string) with its password replaced by `***`: the userinfo password and any
 * `password` / `sslpassword` parameter. Anything that is not such a string comes back unchanged. For `config show`
 * and every message that names the database.
 */
export function redactUrl(value: string): string {
  const masked = value.replace(
    /(\b(?:ssl)?password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]*)/gi,
    (_, key: string, secret: string) => (secret === '' ? key : `${key}${MASK}`),
  );
  const scheme = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)(.*)$/is.exec(masked);
  if (scheme === null) return masked;
  const [, head, authority, rest] = scheme as unknown as [string, string, string, string];
  const at = authority.lastIndexOf('@');
  if (at < 0) return masked;
  const userinfo = authority.slice(0, at);
  const colon = userinfo.indexOf(':');
  if (colon < 0) return masked;
  return `${head}${userinfo.slice(0, colon)}:${MASK}@${authority.slice(at + 1)}${rest}`;
}

/** True for `postgres://` and `postgresql://` URLs (the schemes libpq accepts). */
export function isPostgresUrl(value: string): boolean {
  return /^postgres(?:ql)?:\/\//i.test(value.trim());
}

interface UrlParts {
  values: Partial<Record<UrlParam, string>>;
  issues: ConfigIssue[];
}

const decode = (text: string, what: string, issues: ConfigIssue[]): string | undefined => {
  try {
    return decodeURIComponent(text);
  } catch {
    issues.push({
      path: 'connectionString',
      message: `Option \`connectionString\`: the ${what} is not valid percent-encoding.`,
      severity: 'error',
    });
    return undefined;
  }
};

/**
 * Splits a libpq connection URI: `postgres[ql]://[user[:password]@][host][:port][/dbname][?param=value&...]`
 * (https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING-URIS). Parsed by hand rather than by
 * WHATWG `URL`, which refuses an empty host (`postgres:///db?host=/var/run/postgresql`) and normalises what it keeps.
 */
export function parseConnectionUrl(url: string): UrlParts {
  const issues: ConfigIssue[] = [];
  const values: Partial<Record<UrlParam, string>> = {};
  const bad = (message: string) =>
    issues.push({ path: 'connectionString', message: `Option \`connectionString\`: ${message}`, severity: 'error' });
  const shown = redactUrl(url);
  const match = /^postgres(?:ql)?:\/\/([^/?#]*)(\/[^?#]*)?(\?[^#]*)?(#.*)?$/i.exec(url.trim());
  if (match === null) {
    bad(`\`${shown}\` is not a PostgreSQL URL; write postgres://user:password@host:5432/database.`);
    return { values, issues };
  }
  const [, authority = '', path = '', query = ''] = match;
  const at = authority.lastIndexOf('@');
  const userinfo = at < 0 ? '' : authority.slice(0, at);
  let hostport = at < 0 ? authority : authority.slice(at + 1);
  if (userinfo !== '') {
    const colon = userinfo.indexOf(':');
    const user = decode(colon < 0 ? userinfo : userinfo.slice(0, colon), 'user name', issues);
    if (user) values.user = user;
    if (colon >= 0) {
      const password = decode(userinfo.slice(colon + 1), 'password', issues);
      if (password !== undefined) values.password = password;
    }
  }
  if (hostport.includes(',')) {
    bad(`\`${shown}\` lists several hosts; node-postgres connects to one. Name one host (or a load balancer).`);
    hostport = hostport.split(',')[0] ?? '';
  }
  let host = hostport;
  let port: string | undefined;
  const bracket = /^\[([^\]]+)\](?::(\d*))?$/.exec(hostport);
  if (bracket) {
    host = bracket[1] ?? '';
    port = bracket[2];
  } else if (hostport.includes(':')) {
    host = hostport.slice(0, hostport.lastIndexOf(':'));
    port = hostport.slice(hostport.lastIndexOf(':') + 1);
  }
  if (host !== '') {
    const decoded = decode(host, 'host', issues);
    if (decoded) values.host = decoded;
  }
  if (port !== undefined && port !== '') values.port = port;
  if (path.length > 1) {
    const database = decode(path.slice(1), 'database name', issues);
    if (database) values.dbname = database;
  }
  for (const pair of query.replace(/^\?/, '').split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = decode(eq < 0 ? pair : pair.slice(0, eq), 'parameter name', issues) ?? '';
    const value = decode(eq < 0 ? '' : pair.slice(eq + 1).replaceAll('+', ' '), `value of \`${key}\``, issues) ?? '';
    if ((URL_PARAMS as readonly string[]).includes(key)) values[key as UrlParam] = value;
    else {
      bad(
        `unknown parameter \`${key}\` in \`${shown}\`; supported: ${URL_PARAMS.join(', ')}. (Other libpq parameters are not supported by node-postgres.)`,
      );
    }
  }
  return { values, issues };
}

/** libpq's `sslmode` names, including those node-postgres cannot honour, each with what to do instead. */
function sslModeOf(text: string, where: string, issues: ConfigIssue[], path: string): PostgresSslMode | undefined {
  const mode = text.trim().toLowerCase();
  if ((SSL_MODES as readonly string[]).includes(mode)) return mode as PostgresSslMode;
  if (mode === 'no-verify') return 'require';
  if (mode === 'prefer' || mode === 'allow') {
    issues.push({
      path,
      message: `${where}: sslmode \`${mode}\` (try TLS, fall back to none) is not supported by node-postgres, which cannot fall back; use \`require\` (TLS, certificate not checked), \`verify-full\` (checked), or \`disable\`.`,
      severity: 'error',
    });
    return undefined;
  }
  issues.push({
    path,
    message: `${where}: unknown sslmode \`${text.slice(0, 40)}\`; use one of ${SSL_MODES.join(', ')}.`,
    severity: 'error',
  });
  return undefined;
}

/** PEM text as is, or the contents of the file it names. */
function pemOrFile(value: string, path: string, what: string, issues: ConfigIssue[]): string | undefined {
  if (value.includes('-----BEGIN')) return value;
  try {
    return readFileSync(value, 'utf8');
  } catch (cause) {
    const code = (cause as { code?: string }).code;
    issues.push({
      path,
      message: `${path}: cannot read the ${what} file ${value}${code ? ` (${code})` : ''}; give a readable file or the PEM text.`,
      severity: 'error',
    });
    return undefined;
  }
}

function positiveInt(text: string, max: number): number | undefined {
  if (!/^\d+$/.test(text.trim())) return undefined;
  const n = Number(text.trim());
  return n >= 1 && n <= max ? n : undefined;
}

/**
 * Where and how `postgresQueueStore(options)` would connect (for `config show` and `doctor`: print `display` and
 * `sslMode`, never the password). Reads certificate files, connects to nothing.
 * @throws ConfigError naming the plugin and every bad setting (a URL that does not parse, an unknown sslmode, an
 * unreadable certificate file) — never showing a password.
 */
export function resolveConnection(options: PostgresQueueStoreOptions = {}): PostgresConnection {
  return resolveParsedConnection(parseOptions(options));
}

/** {@link resolveConnection} of options already validated. */
export function resolveParsedConnection(options: ParsedPostgresQueueStoreOptions): PostgresConnection {
  const env = options.env ?? process.env;
  const issues: ConfigIssue[] = [];
  const url =
    options.connectionString === undefined ? { values: {}, issues: [] } : parseConnectionUrl(options.connectionString);
  issues.push(...url.issues);
  const u = url.values as Partial<Record<UrlParam, string>>;
  const envText = (name: string) => {
    const value = env[name];
    return value === undefined || value === '' ? undefined : value;
  };

  const host = options.host ?? u.host ?? envText('PGHOST') ?? 'localhost';
  let port = options.port;
  if (port === undefined) {
    const [text, where] = u.port !== undefined ? [u.port, 'connectionString'] : [envText('PGPORT'), 'PGPORT'];
    if (text !== undefined) {
      port = positiveInt(text, 65535);
      if (port === undefined) {
        issues.push({
          path: where,
          message: `${where === 'PGPORT' ? 'PGPORT' : 'Option `connectionString`'}: port \`${text.slice(0, 20)}\` is not a number from 1 to 65535.`,
          severity: 'error',
        });
      }
    }
  }
  let osUser: string | undefined;
  try {
    osUser = userInfo().username;
  } catch {
    osUser = undefined;
  }
  const user = options.user ?? u.user ?? envText('PGUSER') ?? envText('USER') ?? osUser ?? 'postgres';
  const database = options.database ?? u.dbname ?? envText('PGDATABASE') ?? user;
  const password = options.password ?? u.password ?? envText('PGPASSWORD');
  const applicationName = options.applicationName ?? u.application_name ?? envText('PGAPPNAME') ?? 'vertex-launch';

  let connectTimeoutMs = options.connectTimeoutMs;
  if (connectTimeoutMs === undefined) {
    const [text, where] =
      u.connect_timeout !== undefined
        ? [u.connect_timeout, 'connectionString']
        : [envText('PGCONNECT_TIMEOUT'), 'PGCONNECT_TIMEOUT'];
    // libpq: connect_timeout is in seconds; 0 (or unset) means wait forever — here, the default 10 s instead.
    if (text !== undefined && text.trim() !== '0') {
      const seconds = positiveInt(text, 600);
      if (seconds === undefined) {
        issues.push({
          path: where,
          message: `${where === 'PGCONNECT_TIMEOUT' ? 'PGCONNECT_TIMEOUT' : 'Option `connectionString`'}: connect_timeout \`${text.slice(0, 20)}\` is not a number of seconds from 1 to 600.`,
          severity: 'error',
        });
      } else connectTimeoutMs = seconds * 1000;
    }
  }

  // TLS: the `ssl` option, else the URL's sslmode, else PGSSLMODE; certificates from the option object, else the URL's
  // sslrootcert/sslcert/sslkey, else PGSSLROOTCERT/PGSSLCERT/PGSSLKEY.
  const sslOption = options.ssl;
  let mode: PostgresSslMode | undefined;
  let tls: { ca?: string; cert?: string; key?: string; servername?: string } = {};
  if (sslOption === true) mode = 'verify-full';
  else if (sslOption === false) mode = 'disable';
  else if (typeof sslOption === 'string') mode = sslOption;
  else if (sslOption !== undefined) {
    mode = sslOption.mode ?? 'verify-full';
    tls = sslOption;
  } else if (u.sslmode !== undefined)
    mode = sslModeOf(u.sslmode, 'Option `connectionString`', issues, 'connectionString');
  else if (envText('PGSSLMODE') !== undefined)
    mode = sslModeOf(envText('PGSSLMODE')!, 'PGSSLMODE', issues, 'PGSSLMODE');
  mode ??= 'disable';
  const source = (option: string | undefined, param: UrlParam, envName: string): [string, string] | undefined => {
    if (option !== undefined)
      return [option, `ssl.${param === 'sslrootcert' ? 'ca' : param === 'sslcert' ? 'cert' : 'key'}`];
    if (u[param] !== undefined) return [u[param]!, `connectionString ${param}`];
    if (envText(envName) !== undefined) return [envText(envName)!, envName];
    return undefined;
  };
  let ssl: false | ConnectionOptions = false;
  if (mode !== 'disable') {
    const out: ConnectionOptions = {};
    const ca = source(tls.ca, 'sslrootcert', 'PGSSLROOTCERT');
    const cert = source(tls.cert, 'sslcert', 'PGSSLCERT');
    const key = source(tls.key, 'sslkey', 'PGSSLKEY');
    // libpq's `sslrootcert=system`: the system's trusted CAs, which is what Node uses when `ca` is not set.
    if (ca !== undefined && ca[0] !== 'system') out.ca = pemOrFile(ca[0], ca[1], 'CA certificate', issues);
    if (cert !== undefined) out.cert = pemOrFile(cert[0], cert[1], 'client certificate', issues);
    if (key !== undefined) {
      const text = pemOrFile(key[0], key[1], 'client key', issues);
      if (text !== undefined) Object.defineProperty(out, 'key', { value: text, enumerable: false, writable: true });
    }
    if ((cert === undefined) !== (key === undefined)) {
      issues.push({
        path: 'ssl',
        message: `TLS: a client certificate needs its key and a key needs its certificate; set both (${cert ? 'the key is missing' : 'the certificate is missing'}).`,
        severity: 'error',
      });
    }
    if (mode === 'require') {
      // libpq: with `require` and no root certificate the server's certificate is not checked; with one, `require`
      // behaves like `verify-ca`.
      if (out.ca === undefined) out.rejectUnauthorized = false;
      else out.checkServerIdentity = () => undefined;
    } else if (mode === 'verify-ca') {
      out.rejectUnauthorized = true;
      out.checkServerIdentity = () => undefined;
    } else {
      out.rejectUnauthorized = true;
    }
    const servername = tls.servername ?? (host.startsWith('/') || isIP(host) !== 0 ? undefined : host);
    if (servername !== undefined) out.servername = servername;
    ssl = out;
  }

  if (issues.length > 0) throw optionsError(issues);
  const resolvedPort = port ?? 5432;
  const display = `postgres://${encodeURIComponent(user)}@${host.startsWith('/') ? encodeURIComponent(host) : host.includes(':') ? `[${host}]` : host}:${resolvedPort}/${encodeURIComponent(database)}`;
  const connection = {
    host,
    port: resolvedPort,
    user,
    database,
    sslMode: mode,
    ssl,
    applicationName,
    connectTimeoutMs: connectTimeoutMs ?? 10_000,
    display,
  } as PostgresConnection;
  Object.defineProperty(connection, 'password', { value: password, enumerable: false });
  return Object.freeze(connection);
}
