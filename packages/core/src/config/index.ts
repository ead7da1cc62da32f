// `@vertex-launch/core/config`: the queue config — schema, loading, validation, template variables, overrides,
// macros and resolution — plus the machine-type table and the job labels.
export * from '../machine-types.js';
export * from './durations.js';
export * from './json-schema.js';
export * from './labels.js';
export * from './load.js';
export * from './macros.js';
export * from './overrides.js';
export * from './resolve.js';
export * from './schema.js';
export * from './validate.js';
export type { LaunchValue } from './variables.js';
