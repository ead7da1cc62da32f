export * from './builder-conformance.js';
export * from './queue-store.js';
export * from './queue-transfer.js';
