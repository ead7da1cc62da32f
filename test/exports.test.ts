// Pins the runtime exports of every published package: adding, renaming or removing one shows up here and
// needs a changeset. (Type-only exports have no runtime value to pin; test/tsdoc.test.ts checks each is documented.)
import { expect, test } from 'vitest';
import { publishedPackages } from './published-packages.js';

const exportNames = (module: object) => Object.keys(module).sort();

test('every published package is pinned below', () => {
  expect(publishedPackages().map(({ manifest }) => manifest.name)).toEqual(
    [
      '@vertex-launch/artifact-registry',
      '@vertex-launch/auth',
      '@vertex-launch/builder-cloudbuild',
      '@vertex-launch/builder-docker',
      '@vertex-launch/cli',
      '@vertex-launch/core',
      '@vertex-launch/dashboard',
      '@vertex-launch/emulator',
      '@vertex-launch/queue-postgres',
      '@vertex-launch/queue-sqlite',
      '@vertex-launch/vertex',
    ].sort(),
  );
});

test('@vertex-launch/artifact-registry', async () => {
  expect(exportNames(await import('@vertex-launch/artifact-registry'))).toMatchInlineSnapshot(`
    [
      "artifactRegistry",
      "formatImageUri",
      "isArtifactRegistryUri",
      "packageResourceName",
      "parseImageUri",
      "repositoryResourceName",
      "tagResourceName",
      "withTag",
    ]
  `);
});

test('@vertex-launch/auth', async () => {
  expect(exportNames(await import('@vertex-launch/auth'))).toMatchInlineSnapshot(`
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

test('@vertex-launch/builder-cloudbuild', async () => {
  expect(exportNames(await import('@vertex-launch/builder-cloudbuild'))).toMatchInlineSnapshot(`
    [
      "cloudBuild",
      "cloudBuildConfig",
      "cloudBuildOptions",
    ]
  `);
});

test('@vertex-launch/builder-docker', async () => {
  expect(exportNames(await import('@vertex-launch/builder-docker'))).toMatchInlineSnapshot(`
    [
      "dockerBuilder",
      "dockerBuilderOptions",
    ]
  `);
});

test('@vertex-launch/cli (the index only exports; bin.js runs the program)', async () => {
  expect(exportNames(await import('@vertex-launch/cli'))).toMatchInlineSnapshot(`
    [
      "ExitCode",
      "UsageError",
      "createProgram",
      "exitCodeFor",
      "main",
      "processIo",
    ]
  `);
});

test('@vertex-launch/core', async () => {
  expect(exportNames(await import('@vertex-launch/core'))).toMatchInlineSnapshot(`
    [
      "ACCELERATOR_TYPES",
      "AGENT_CONFIG_FILE",
      "AGENT_RECORD_RETENTION_MS",
      "AGENT_STATES",
      "ApiError",
      "AuthError",
      "BuildContextError",
      "BuildError",
      "CREDENTIAL_KIND_DESCRIPTIONS",
      "ConfigError",
      "DEFAULT_ACCELERATOR_BASE_IMAGE",
      "DEFAULT_AGENT_CONFIG_PATH",
      "DEFAULT_AGENT_LEASE_MS",
      "DEFAULT_AGENT_MAX_JOBS",
      "DEFAULT_AGENT_POLL_INTERVAL_MS",
      "DEFAULT_LEASE_DURATION_S",
      "DEFAULT_LIST_LIMIT",
      "DEFAULT_MAX_ATTEMPTS",
      "DEFAULT_MAX_JOBS",
      "DEFAULT_POLL_INTERVAL_S",
      "DEFAULT_PYTHON_BASE_IMAGE",
      "DEFAULT_QUEUE_CONFIG",
      "DEFAULT_START_TIMEOUT_MS",
      "DEFAULT_START_TIMEOUT_S",
      "DEPRECATED_ACCELERATOR_TYPES",
      "DURATION_FORMS",
      "DURATION_PATTERN",
      "FAILURE_PHASES",
      "FINAL_LAUNCH_STATUSES",
      "GrpcCode",
      "INJECTED_DOCKERFILE_NAME",
      "InternalError",
      "JOB_STATES",
      "JobFailedError",
      "LABEL_MAX_LENGTH",
      "LAUNCH_ID_LABEL",
      "LAUNCH_PHASES",
      "MACHINE_FAMILIES",
      "MACRO_NAMES",
      "MAX_DISPLAY_NAME_LENGTH",
      "MAX_LABELS",
      "MAX_LEASE_MS",
      "NoCredentialsError",
      "OVERRIDABLE_SECTIONS",
      "PermissionError",
      "QUEUE_CONFIG_SCHEMA_ID",
      "QUEUE_CONFIG_WRAPPER_KEYS",
      "QUEUE_EXPORT_FORMAT",
      "QUEUE_EXPORT_VERSION",
      "QUEUE_ITEM_STATES",
      "QUEUE_LABEL",
      "QUEUE_NAME_PATTERN",
      "QUEUE_RESOURCES",
      "QueueError",
      "RESERVATION_AFFINITY_TYPES",
      "RESERVED_LABEL_COUNT",
      "RESERVED_LABEL_PREFIX",
      "RUN_ID_LABEL",
      "RUN_ID_PATTERN",
      "SCHEDULING_STRATEGIES",
      "SHARED_SPEC_RUN_KEYS",
      "SNIFF_BYTES",
      "SNIFF_MAX_FILE_SIZE",
      "STAGING_BUCKET_PATTERN",
      "TEMPLATE_VARIABLE_TYPES",
      "VertexLaunchError",
      "WaitTimeoutError",
      "abandonItem",
      "agentConfigIssues",
      "agentConfigSchema",
      "agentRecord",
      "assertHoldsLease",
      "buildEventEmitter",
      "canImportRecords",
      "checkAgentHeartbeat",
      "checkAgentId",
      "checkAllowedOverrides",
      "checkClaimOptions",
      "checkLaunchRequest",
      "checkLeaseMs",
      "checkListLimit",
      "checkMachineType",
      "checkOverrides",
      "checkQueueName",
      "claimItem",
      "completeItem",
      "contextTag",
      "countEnvMacros",
      "createAgent",
      "declined",
      "defaultAgentConfigPath",
      "defaultCacheDir",
      "defaultDisplayName",
      "defineAuthStrategy",
      "defineBuilder",
      "durationToJson",
      "emulatorGrpcClientOptions",
      "exportQueueRecords",
      "failForDeletedQueue",
      "failItem",
      "findCredentialFiles",
      "fingerprintContext",
      "formatConfigIssues",
      "formatElapsed",
      "formatJobName",
      "formatQueueRecord",
      "fromEmulatorImageRef",
      "generateDockerfile",
      "generateRunId",
      "hasPlaceholder",
      "heartbeatItem",
      "importedItem",
      "isClaimable",
      "isExhausted",
      "isFillInMarker",
      "isLeaseLost",
      "isVertexLaunchError",
      "itemNotFound",
      "jobConsoleUrl",
      "jobLabels",
      "jobStateToStatus",
      "launch",
      "loadAgentConfig",
      "loadConfigFile",
      "machineFamilyOf",
      "macroValues",
      "maxAttemptsOf",
      "memoryQueueStore",
      "mergeOverrides",
      "newAgentId",
      "newQueueItem",
      "newRunId",
      "normalizeBucket",
      "outcomeOfStatus",
      "packContext",
      "parseAgentConfig",
      "parseConfigText",
      "parseDuration",
      "parseJobName",
      "parseQueueExport",
      "plainHeaders",
      "planLaunch",
      "prepareLaunchRequest",
      "prepareQueue",
      "prepareQueueUpdate",
      "queueClaimOrder",
      "queueConfigJsonSchema",
      "queueConfigSchema",
      "queueExists",
      "queueNotEmpty",
      "queueNotFound",
      "readEmulatorConnection",
      "recordPhaseItem",
      "requestCancelItem",
      "requeueItem",
      "resolveAuthChain",
      "resolveJobName",
      "resolveQueueConfig",
      "resolveQueueConfigResult",
      "runSchema",
      "sanitizeLabelKey",
      "sanitizeLabelValue",
      "seedQueueConfig",
      "silentAgentLogger",
      "specSchema",
      "substituteMacros",
      "systemClock",
      "templateVariableSchema",
      "toCreateCustomJobRequest",
      "toDurationMessage",
      "toEmulatorImageRef",
      "toRestJson",
      "unwrapQueueConfig",
      "validateQueueConfig",
      "validateQueueConfigShape",
      "waitForJob",
    ]
  `);
});

test('@vertex-launch/dashboard', async () => {
  expect(exportNames(await import('@vertex-launch/dashboard'))).toMatchInlineSnapshot(`
    [
      "startDashboard",
      "validateConfigText",
    ]
  `);
});

test('@vertex-launch/emulator', async () => {
  expect(exportNames(await import('@vertex-launch/emulator'))).toMatchInlineSnapshot(`
    [
      "BUSYBOX_DOCKERFILE",
      "Code",
      "EmulatorError",
      "HTTP_STATUS_FOR_CODE",
      "KNOWN_PERMISSIONS",
      "buildBusyboxBaseImage",
      "clockExecutor",
      "dockerExecutor",
      "fromLocalImageRef",
      "grpcClientOptions",
      "loopbackHost",
      "startEmulator",
      "storageClientOptions",
      "toLocalImageRef",
      "vertexEnvironment",
    ]
  `);
});

test('@vertex-launch/queue-postgres', async () => {
  expect(exportNames(await import('@vertex-launch/queue-postgres'))).toMatchInlineSnapshot(`
    [
      "DEFAULT_SCHEMA",
      "MIN_SERVER_VERSION",
      "SCHEMA_VERSION",
      "SSL_MODES",
      "checkDatabase",
      "isPostgresUrl",
      "migrate",
      "postgresQueueStore",
      "postgresQueueStoreOptions",
      "redactUrl",
      "resolveConnection",
    ]
  `);
});

test('@vertex-launch/queue-sqlite', async () => {
  expect(exportNames(await import('@vertex-launch/queue-sqlite'))).toMatchInlineSnapshot(`
    [
      "QUEUE_DB_FILE",
      "SCHEMA_VERSION",
      "defaultQueueDbPath",
      "sqliteQueueStore",
    ]
  `);
});

test('@vertex-launch/vertex', async () => {
  expect(exportNames(await import('@vertex-launch/vertex'))).toMatchInlineSnapshot(`
    [
      "AMBIGUOUS_CODES",
      "CLOUD_LOGGING_URL",
      "DEFAULT_RETRY_POLICY",
      "DEFAULT_TRACKER_OPTIONS",
      "FINAL_STATES",
      "GrpcCode",
      "JobTracker",
      "LoggingHttpError",
      "RETRYABLE_CODES",
      "RateLimiter",
      "VERTEX_RUNNER",
      "backoffDelay",
      "consoleUrlOf",
      "createJobServiceClient",
      "googleMessage",
      "grpcCodeName",
      "grpcCodeOf",
      "isAmbiguous",
      "isNotFound",
      "isRetryable",
      "jobServiceClientOptions",
      "listLogEntries",
      "loadJobServiceClient",
      "plainHeaders",
      "readJobLogs",
      "realTiming",
      "regionalEndpoint",
      "toDate",
      "toJobLogEntry",
      "toJobSnapshot",
      "toVertexLaunchError",
      "vertexRunner",
      "withRetry",
    ]
  `);
});
