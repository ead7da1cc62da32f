export * from './agent.js';
export * from './clock.js';
export * from './config.js';
