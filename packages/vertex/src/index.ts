export * from './client.js';
export * from './errors.js';
export * from './job.js';
export * from './limiter.js';
export * from './logs.js';
export * from './runner.js';
export * from './staging-bucket.js';
export * from './tracker.js';
