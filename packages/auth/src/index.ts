export {
  addPolicyBindings,
  type BindingsResult,
  createServiceAccount,
  enableServices,
  getServiceState,
  mergeBindings,
  type PolicyTarget,
  type RoleBinding,
  serviceAccountExists,
} from './admin.js';
export { type Credentials, ManagedAuthClient, type ManagedAuthClientOptions } from './auth-client.js';
export {
  AUTO,
  type AutoOptions,
  auto,
  autoStrategies,
  type ResolveCredentialsOptions,
  resolveCredentials,
} from './chain.js';
export { CLOUD_PLATFORM_SCOPE, type ServiceAccountKeyJson, validateServiceAccountKey } from './credential-file.js';
export { GOOGLE_ENDPOINTS, type GoogleEndpoints, type ResolvedEndpoints, resolveEndpoints } from './endpoints.js';
export {
  type AccessState,
  type AccessTuple,
  getProjectNumber,
  type IamCallOptions,
  troubleshootAccess,
} from './iam.js';
export {
  type CheckPermissionsOptions,
  checkPermissions,
  LAUNCH_PERMISSIONS,
  type LaunchPermission,
  LEGACY_PERMISSION_REPLACEMENTS,
  type PermissionCheck,
  type PermissionReport,
  vertexPermission,
} from './permissions.js';
export type { CommonStrategyOptions } from './strategies/common.js';
export { ENVIRONMENT, type EnvironmentOptions, environment } from './strategies/environment.js';
export { GCLOUD_ADC, type GcloudAdcOptions, gcloudAdc } from './strategies/gcloud-adc.js';
export {
  SERVICE_ACCOUNT_KEY,
  type ServiceAccountKeyOptions,
  serviceAccountKey,
} from './strategies/service-account-key.js';
export { WORKLOAD_IDENTITY, type WorkloadIdentityOptions, workloadIdentity } from './strategies/workload-identity.js';
export { DEFAULT_REFRESH_MARGIN_MS, type FetchedToken, TokenCache, type TokenCacheOptions } from './token-cache.js';
