export * from './definitions.js';
export * from './errors.js';
export * from './memory.js';
export * from './store.js';
export * from './transfer.js';
export * from './transitions.js';
