/**
 * The options of `postgresQueueStore()`, validated by the plugin's own zod schema when the factory is called. Errors
 * name the plugin and the option: `[vertex-launch] [queue:postgres] Option \`port\`: ...`. No message ever shows an
 * option's value, so a password (or a key) given in the wrong place is not printed either.
 */
import { ConfigError, type ConfigIssue } from '@vertex-launch/core';
import { z } from 'zod';

/** The prefix of every message of this plugin. */
export const PLUGIN = '[vertex-launch] [queue:postgres]';

/** `sslmode` values, as libpq defines them (https://www.postgresql.org/docs/current/libpq-ssl.html, table 34.1). */
export const SSL_MODES = ['disable', 'require', 'verify-ca', 'verify-full'] as const;

/** How TLS is used and checked: libpq's `sslmode` values that node-postgres can honour. */
export type PostgresSslMode = (typeof SSL_MODES)[number];

/** TLS settings of {@link PostgresQueueStoreOptions.ssl}. */
export interface PostgresTlsOptions {
  /**
   * How TLS is used and checked, with libpq's meaning: `require` encrypts without checking the server's certificate,
   * `verify-ca` checks that a trusted CA signed it, `verify-full` (the default when `ssl` is an object) also checks
   * that it names the host.
   */
  mode?: PostgresSslMode;
  /** CA certificates that sign the server's certificate: PEM text or a file path (libpq `sslrootcert`). Default: Node's CA list. */
  ca?: string;
  /** Client certificate for certificate authentication: PEM text or a file path (libpq `sslcert`). */
  cert?: string;
  /** The client certificate's private key: PEM text or a file path (libpq `sslkey`). Never printed. */
  key?: string;
  /** The host name to check the certificate against, when it differs from `host` (e.g. connecting by IP address). */
  servername?: string;
}

/** Options of `postgresQueueStore()`. Unset connection settings come from the URL, then `PG*` variables, then defaults. */
export interface PostgresQueueStoreOptions {
  /**
   * A connection URL, `postgres://user:password@host:5432/database?sslmode=verify-full` (libpq's URI form; also
   * `postgresql://`). Its parts are overridden by the separate options below and override `PG*` environment variables.
   */
  connectionString?: string;
  /** Server host name or IP address, or a unix socket directory (`/var/run/postgresql`). Default `PGHOST`, else `localhost`. */
  host?: string;
  /** Server port. Default `PGPORT`, else 5432. */
  port?: number;
  /** Database user. Default `PGUSER`, else the operating system user. */
  user?: string;
  /** The user's password. Default `PGPASSWORD`, else `~/.pgpass` (`PGPASSFILE`). Never printed or logged. */
  password?: string;
  /** Database name. Default `PGDATABASE`, else the user name. */
  database?: string;
  /**
   * TLS: `false` or `'disable'` for none, `true` for `verify-full`, a libpq `sslmode` name, or {@link PostgresTlsOptions}.
   * Default: `sslmode` of the URL, else `PGSSLMODE` (with `PGSSLROOTCERT`, `PGSSLCERT`, `PGSSLKEY`), else no TLS.
   */
  ssl?: boolean | PostgresSslMode | PostgresTlsOptions;
  /**
   * The PostgreSQL schema (namespace) holding the store's tables, created on first use. Default `vertex_launch`. One
   * database can hold several stores under different schemas; a schema holding other tables is refused.
   */
  schema?: string;
  /** Connections kept open at most (node-postgres' pool `max`). Default 10. */
  maxConnections?: number;
  /** Close a connection unused this long, ms. Default 30 000. */
  idleTimeoutMs?: number;
  /** Give up connecting after this long, ms. Default `PGCONNECT_TIMEOUT` (seconds), else 10 000. */
  connectTimeoutMs?: number;
  /** A statement (or a transaction left idle) running longer than this is cancelled by the server, ms. Default 30 000. */
  statementTimeoutMs?: number;
  /**
   * After the store first connected: how long a call keeps retrying through a lost connection, a server restart or a
   * failover before it fails, ms. Default 30 000. A call never runs twice: a commit whose answer was lost is looked up.
   */
  retryTimeoutMs?: number;
  /** `application_name` shown in `pg_stat_activity`. Default `PGAPPNAME`, else `vertex-launch`. */
  applicationName?: string;
  /**
   * Bring the schema to this package's version when the store opens (default `true`). With `false` the store refuses
   * a schema that is older, naming `vertex-launch queue migrate`; read-only tools should pass `false`.
   */
  migrate?: boolean;
  /**
   * Clock in epoch milliseconds for leases and timestamps. Default: the database server's clock, so agents on
   * machines whose clocks disagree still agree on when a lease ran out. Inject one to test lease expiry.
   */
  now?: () => number;
  /** Environment to read `PG*` variables from. Default `process.env`. */
  env?: Record<string, string | undefined>;
}

const positiveMs = (what: string, max: number) =>
  z.number().int().min(1).max(max).describe(`${what}, in milliseconds (a whole number from 1 to ${max}).`);

/** The schema names this plugin accepts: lowercase SQL identifiers, so they never need quoting rules explained. */
export const SCHEMA_NAME_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;

const tlsObject = z
  .object({
    mode: z.enum(SSL_MODES).optional().describe('libpq sslmode: require, verify-ca or verify-full (default).'),
    ca: z.string().min(1).optional().describe('CA certificates: PEM text or a file path (libpq sslrootcert).'),
    cert: z.string().min(1).optional().describe('Client certificate: PEM text or a file path (libpq sslcert).'),
    key: z.string().min(1).optional().describe('Client key: PEM text or a file path (libpq sslkey). Never printed.'),
    servername: z.string().min(1).optional().describe('Host name the server certificate must name.'),
  })
  .strict();

/** The zod schema of {@link PostgresQueueStoreOptions}. */
export const postgresQueueStoreOptions = z
  .object({
    connectionString: z
      .string()
      .min(1)
      .optional()
      .describe('Connection URL, postgres://user:password@host:5432/database?sslmode=verify-full.'),
    host: z.string().min(1).optional().describe('Server host, IP address or unix socket directory.'),
    port: z.number().int().min(1).max(65535).optional().describe('Server port (1-65535).'),
    user: z.string().min(1).optional().describe('Database user.'),
    password: z.string().optional().describe('The password. Never printed.'),
    database: z.string().min(1).optional().describe('Database name.'),
    ssl: z
      .union([z.boolean(), z.enum(SSL_MODES), tlsObject])
      .optional()
      .describe('TLS: false, true, a libpq sslmode name, or { mode, ca, cert, key, servername }.'),
    schema: z
      .string()
      .regex(SCHEMA_NAME_PATTERN, 'use lowercase letters, digits and `_`, starting with a letter or `_`, at most 63')
      .optional()
      .describe('Schema holding the tables. Default vertex_launch.'),
    maxConnections: z.number().int().min(1).max(1000).optional().describe('Pool size (1-1000). Default 10.'),
    idleTimeoutMs: positiveMs('Idle connection lifetime', 86_400_000).optional(),
    connectTimeoutMs: positiveMs('Connect timeout', 600_000).optional(),
    statementTimeoutMs: positiveMs('Statement timeout', 3_600_000).optional(),
    retryTimeoutMs: z
      .number()
      .int()
      .min(0)
      .max(3_600_000)
      .optional()
      .describe('How long calls retry through lost connections, ms (0: never). Default 30000.'),
    applicationName: z.string().min(1).max(63).optional().describe('application_name. Default vertex-launch.'),
    migrate: z.boolean().optional().describe('Migrate the schema when the store opens. Default true.'),
    now: z
      .custom<() => number>((v) => typeof v === 'function', 'must be a function returning epoch milliseconds')
      .optional()
      .describe('Clock in epoch ms. Default: the database server clock.'),
    env: z
      // A custom check, not z.record: process.env is not a plain object.
      .custom<Record<string, string | undefined>>((v) => typeof v === 'object' && v !== null, 'must be an object')
      .optional()
      .describe('Environment for PG* variables. Default process.env.'),
  })
  .strict();

/** The parsed options. */
export type ParsedPostgresQueueStoreOptions = z.output<typeof postgresQueueStoreOptions>;

function issuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

const SUGGESTIONS: Record<string, string> = {
  url: 'connectionString',
  uri: 'connectionString',
  connection_string: 'connectionString',
  username: 'user',
  dbname: 'database',
  db: 'database',
  max: 'maxConnections',
  poolSize: 'maxConnections',
  sslmode: 'ssl',
  application_name: 'applicationName',
  connectionTimeoutMillis: 'connectTimeoutMs',
  idleTimeoutMillis: 'idleTimeoutMs',
  statement_timeout: 'statementTimeoutMs',
};

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issuePath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => {
      const full = path === '' ? k : `${path}.${k}`;
      const hint = path === '' ? SUGGESTIONS[k] : undefined;
      return `\`${full}\`${hint ? ` (did you mean \`${hint}\`?)` : ''}`;
    });
    return `Unknown option${issue.keys.length > 1 ? 's' : ''} ${keys.join(', ')}.`;
  }
  // zod's own text says what was expected; it never includes the value given (which could be a secret).
  const text =
    issue.code === 'invalid_union' ? 'expected true, false, an sslmode name or a TLS options object' : issue.message;
  return path === '' ? `The options ${text}.` : `Option \`${path}\`: ${text}.`;
}

/** A ConfigError of this plugin with one or more issues. */
export function optionsError(issues: ConfigIssue[]): ConfigError {
  const message =
    issues.length === 1
      ? `${PLUGIN} ${issues[0]!.message}`
      : `${PLUGIN} ${issues.length} problems with the options:\n${issues.map((i) => `  - ${i.message}`).join('\n')}`;
  return new ConfigError(message, issues, {
    hint: 'Check the options of postgresQueueStore() (or the queue_db URL); see the @vertex-launch/queue-postgres README.',
  });
}

/** Validates the options. @throws ConfigError naming the plugin and every bad option. */
export function parseOptions(options: unknown): ParsedPostgresQueueStoreOptions {
  const result = postgresQueueStoreOptions.safeParse(options ?? {});
  if (result.success) return result.data;
  throw optionsError(
    result.error.issues.map((issue) => ({
      path: issuePath(issue.path),
      message: describeIssue(issue),
      severity: 'error',
    })),
  );
}
