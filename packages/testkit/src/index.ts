export * from './queue-store.js';
