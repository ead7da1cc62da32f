export * from './agent/index.js';
export * from './auth.js';
export * from './build/index.js';
export * from './config/durations.js';
export * from './config/json-schema.js';
export * from './config/labels.js';
export * from './config/load.js';
export * from './config/macros.js';
export * from './config/overrides.js';
export * from './config/resolve.js';
export * from './config/schema.js';
export * from './config/validate.js';
export {
  BOOT_DISK_SIZE_GB,
  BOOT_DISK_TYPES,
  FLEX_START_MAX_TIMEOUT_SECONDS,
  MAX_ENV_VARS,
  MAX_PACKAGE_URIS,
  machineSpecIssues,
  NETWORK_PATTERN,
  RESERVATION_NAME_KEY,
  RESERVATION_NAME_PATTERN,
} from './config/vertex-rules.js';
export * from './emulator-connection.js';
export * from './errors.js';
export * from './grpc-code.js';
export * from './job-state.js';
export * from './launch/index.js';
export * from './machine-types.js';
export * from './mapping/custom-job.js';
export * from './mapping/rest-json.js';
export * from './queue/index.js';
export * from './regions.js';
