export { defaultQueueDbPath, QUEUE_DB_FILE } from './paths.js';
export { APPLICATION_ID, SCHEMA_VERSION } from './schema.js';
export { type SqliteQueueStore, type SqliteQueueStoreOptions, sqliteQueueStore } from './store.js';
