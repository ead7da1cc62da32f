// Types of scripts/postgres-cluster.mjs for the tests that import it.
export const POSTGRES_MISSING: string;
export function findPostgresBin(env?: Record<string, string | undefined>, debianRoot?: string): string | undefined;
export function freePort(): Promise<number>;
export function serverUser(
  env?: Record<string, string | undefined>,
): { name: string; uid: number; gid: number } | undefined;
export interface PostgresClusterOptions {
  /** Default false. */
  fsync?: boolean;
  /** Extra postgresql.conf lines. */
  settings?: string[];
  port?: number;
  tmpdir?: string;
  env?: Record<string, string | undefined>;
  /** Where Debian keeps /<version>/bin; default /usr/lib/postgresql. */
  debianRoot?: string;
  log?: (line: string) => void;
}
export interface PostgresCluster {
  /** postgres://vxl:<password>@127.0.0.1:<port>/postgres */
  url: string;
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  dataDir: string;
  socketDir: string;
  logFile: string;
  bin: string;
  urlOf(database: string): string;
  start(): Promise<void>;
  stop(options?: { mode?: 'smart' | 'fast' | 'immediate' }): Promise<void>;
  restart(options?: { mode?: 'smart' | 'fast' | 'immediate'; downMs?: number }): Promise<void>;
  psql(sql: string, database?: string): Promise<string>;
  close(): Promise<void>;
}
export function startPostgresCluster(options?: PostgresClusterOptions): Promise<PostgresCluster>;
