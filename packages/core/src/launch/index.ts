export * from './events.js';
export * from './job-name.js';
export * from './pipeline.js';
export * from './runner.js';
export * from './wait.js';
