import { expect, test } from 'vitest';
import * as auth from './index.js';

test('the public surface is pinned', () => {
  expect(Object.keys(auth).sort()).toMatchInlineSnapshot(`
    [
      "AUTO",
      "CLOUD_PLATFORM_SCOPE",
      "DEFAULT_REFRESH_MARGIN_MS",
      "ENVIRONMENT",
      "GCLOUD_ADC",
      "GOOGLE_ENDPOINTS",
      "LAUNCH_PERMISSIONS",
      "LEGACY_PERMISSION_REPLACEMENTS",
      "ManagedAuthClient",
      "SERVICE_ACCOUNT_KEY",
      "TokenCache",
      "WORKLOAD_IDENTITY",
      "auto",
      "autoStrategies",
      "checkPermissions",
      "environment",
      "gcloudAdc",
      "gcloudConfigDir",
      "readGcloudConfiguration",
      "resolveCredentials",
      "resolveEndpoints",
      "serviceAccountKey",
      "validateServiceAccountKey",
      "vertexPermission",
      "workloadIdentity",
    ]
  `);
});
