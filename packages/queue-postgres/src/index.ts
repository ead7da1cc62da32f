export {
  isPostgresUrl,
  type PostgresConnection,
  redactUrl,
  resolveConnection,
} from './connection.js';
export {
  checkDatabase,
  type DatabaseStatus,
  DEFAULT_SCHEMA,
  MIN_SERVER_VERSION,
  type MigrationReport,
  migrate,
} from './database.js';
export {
  type PostgresQueueStoreOptions,
  type PostgresSslMode,
  type PostgresTlsOptions,
  postgresQueueStoreOptions,
  SSL_MODES,
} from './options.js';
export { SCHEMA_VERSION } from './schema.js';
export { type PostgresQueueStore, postgresQueueStore } from './store.js';
