// The runtime: project, region, credentials, endpoints, agent config and queue store of a command, each with its
// source (exported from the root of @vertex-launch/core).
export * from './endpoints.js';
export {
  type Env,
  firstEnv,
  PROJECT_ENV_VARS,
  QUEUE_DB_ENV,
  REGION_ENV_VARS,
  TOKEN_ENV_VARS,
} from './env.js';
export { type GcloudConfiguration, gcloudConfigDir, readGcloudConfiguration } from './gcloud-config.js';
export * from './resolve.js';
export * from './sources.js';
