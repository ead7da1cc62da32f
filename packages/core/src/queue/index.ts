// `@vertex-launch/core/queue`: the queue-store contract, the registry that opens a store by URL scheme, the
// in-memory store, and the transitions and checks every store driver shares (so drivers behave alike).
export * from './definitions.js';
export * from './errors.js';
export * from './memory.js';
export * from './registry.js';
export * from './store.js';
export * from './transfer.js';
export * from './transitions.js';
