// `@vertex-launch/core/config`: the queue config — schema, loading, validation, template variables, overrides,
// macros and resolution — plus the machine-type table and the job labels.
export * from '../machine-types.js';
export * from './durations.js';
export {
  ALLOWED_ENV_VARIABLE,
  credentialValues,
  directLaunchEnvAccess,
  type EnvAccess,
  isCredentialEnvName,
  maskSecretsDeep,
} from './env-access.js';
export * from './fallback.js';
export * from './gcloud.js';
export * from './json-schema.js';
export * from './labels.js';
export * from './load.js';
export * from './macros.js';
export * from './overrides.js';
export * from './resolve.js';
export * from './schema.js';
export * from './validate.js';
export type { LaunchValue } from './variables.js';
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
} from './vertex-rules.js';
