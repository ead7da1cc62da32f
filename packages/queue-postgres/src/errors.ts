/**
 * What a failure from node-postgres means for the store: retry (the connection went away, the server is restarting,
 * a serialization conflict), or give up with a `QueueError` `storage` that names the database and the fix. SQLSTATE
 * codes from https://www.postgresql.org/docs/current/errcodes-appendix.html.
 */
import { QueueError } from '@vertex-launch/core';

/** SQLSTATE classes and codes after which the same transaction can simply be tried again. */
const RETRY_CODES = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '55P03', // lock_not_available
  '53300', // too_many_connections
  '57P01', // admin_shutdown (pg_ctl stop -m fast, pg_terminate_backend)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (the server is starting up or shutting down)
  '57P05', // idle_session_timeout
  '25P03', // idle_in_transaction_session_timeout
  '58030', // io_error
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '08007',
]);

/** Node socket errors of a connection that is gone or could not be made. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTCONN',
  'EAI_AGAIN',
  'ENOENT', // a unix socket that is not there while the server restarts
]);

/** node-postgres' own messages for a connection that broke or could not be made in time. */
const CONNECTION_MESSAGES =
  /Connection terminated|connection error|not queryable|timeout exceeded when trying to connect|Connection ended|terminating connection|Client was closed|server closed the connection/i;

export const codeOf = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
};

/** True when the connection itself failed: the outcome of a COMMIT in flight is then unknown. */
export function isConnectionError(error: unknown): boolean {
  const code = codeOf(error);
  if (code !== undefined && (NETWORK_CODES.has(code) || code.startsWith('08') || code.startsWith('57P'))) return true;
  return error instanceof Error && CONNECTION_MESSAGES.test(error.message);
}

/** True when trying again (on a new connection) may succeed. */
export function isTransient(error: unknown): boolean {
  const code = codeOf(error);
  return (code !== undefined && RETRY_CODES.has(code)) || isConnectionError(error);
}

/** A copy of a driver error with only its name, message and SQLSTATE: no client, socket or query objects. */
export function plainCause(error: unknown): Error {
  if (!(error instanceof Error)) return new Error(String(error));
  const copy = new Error(error.message) as Error & { code?: string };
  copy.name = error.name;
  const code = codeOf(error);
  if (code !== undefined) copy.code = code;
  return copy;
}

/** What to do about a failure, by SQLSTATE class. */
function hintFor(error: unknown): string {
  const code = codeOf(error) ?? '';
  if (code === '28P01' || code === '28000') {
    return 'check the user and password (the `password` option, the URL, PGPASSWORD or ~/.pgpass) and pg_hba.conf';
  }
  if (code === '3D000') return 'create the database (`createdb`), or name another one in the URL';
  if (code === '42501') {
    return 'grant this user USAGE and CREATE on the schema (CREATE on the database to create it), or run `vertex-launch queue migrate` as its owner';
  }
  if (code === '57014') return 'a statement ran longer than `statementTimeoutMs`; retry, or raise it';
  if (code === '53300')
    return 'the server has no free connection slot; lower `maxConnections` or raise max_connections';
  if (/self[- ]signed|certificate|SSL|TLS/i.test(error instanceof Error ? error.message : '')) {
    return 'check the TLS settings (`ssl`, sslmode, sslrootcert): the server certificate must be signed by a CA in `ssl.ca`';
  }
  if (isConnectionError(error)) {
    return 'check that the server runs and accepts connections from here (host, port, pg_hba.conf, firewall); retry when it is back';
  }
  return 'check the server log';
}

/** The `QueueError` `storage` for a failed call on the database `display`. */
export function storageError(display: string, action: string, error: unknown, extra = ''): QueueError {
  const code = codeOf(error);
  const text = error instanceof Error ? error.message : String(error);
  return new QueueError(
    'storage',
    `Queue database ${display}: cannot ${action} (${code ? `${code}: ` : ''}${text})${extra}; ${hintFor(error)}.`,
    { cause: plainCause(error) },
  );
}
