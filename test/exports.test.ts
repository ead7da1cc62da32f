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
      "getProjectNumber",
      "resolveCredentials",
      "resolveEndpoints",
      "serviceAccountKey",
      "troubleshootAccess",
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
      "AGENT_RECORD_RETENTION_MS",
      "AGENT_STATES",
      "ApiError",
      "AuthError",
      "BuildContextError",
      "BuildError",
      "ConfigError",
      "DEFAULT_LIST_LIMIT",
      "DEFAULT_MAX_ATTEMPTS",
      "FAILURE_PHASES",
      "FINAL_LAUNCH_STATUSES",
      "GOOGLE_SERVICE_URLS",
      "GrpcCode",
      "IMAGE_TAG_PATTERN",
      "InternalError",
      "JOB_STATES",
      "JobFailedError",
      "LAUNCH_ID_LABEL",
      "LAUNCH_PHASES",
      "LaunchProgress",
      "MAX_TIMER_MS",
      "NoCredentialsError",
      "PROJECT_ENV_VARS",
      "PROJECT_ID_PATTERN",
      "PermissionError",
      "QUEUE_DB_ENV",
      "QUEUE_DB_FILE",
      "QUEUE_ITEM_STATES",
      "QUEUE_LABEL",
      "QUEUE_NAME_PATTERN",
      "QUEUE_RESOURCES",
      "QueueError",
      "REGION_ENV_VARS",
      "REGION_NAME_PATTERN",
      "RUN_ID_LABEL",
      "TOKEN_ENV_VARS",
      "TRANSIENT_GRPC_CODES",
      "VERTEX_AI_REGIONS",
      "VertexLaunchError",
      "WaitTimeoutError",
      "artifactRegistryDockerLocation",
      "backoff",
      "buildEventEmitter",
      "builderTypeProblem",
      "builtinBuilders",
      "checkRegion",
      "createBuilder",
      "credentialRefusalMessage",
      "declined",
      "defaultQueueDbPath",
      "defineAuthStrategy",
      "defineBuilder",
      "describeSource",
      "describeSourced",
      "emulatorConnectionOf",
      "emulatorGrpcClientOptions",
      "endpointsOption",
      "firstEnv",
      "formatElapsed",
      "formatJobName",
      "fromEmulatorImageRef",
      "fromFlag",
      "gcloudConfigDir",
      "grpcCodeName",
      "grpcCodeOf",
      "imageReferenceProblem",
      "isBuilderFactory",
      "isCredentialRefusal",
      "isLeaseLost",
      "isServiceEndpoints",
      "isStoreUnavailable",
      "isTransientGrpcError",
      "isVertexLaunchError",
      "jobConsoleUrl",
      "jobStateToStatus",
      "launch",
      "loadBuilder",
      "loadConfigFile",
      "loadPluginFactory",
      "loadPluginModule",
      "memoryQueueStore",
      "newRunId",
      "openQueueStore",
      "optionsError",
      "parseJobName",
      "plainHeaders",
      "planLaunch",
      "prepareImage",
      "preparedContextOf",
      "readEmulatorConnection",
      "readGcloudConfiguration",
      "redactStoreUrl",
      "registerBuilder",
      "registerQueueStoreDriver",
      "requireProjectId",
      "requireRegion",
      "resolveAuthChain",
      "resolveImage",
      "resolveJobName",
      "resolveRuntime",
      "resolveServiceEndpoints",
      "retry",
      "sanitizeLabelValue",
      "splitImageReference",
      "systemClock",
      "timerDelay",
      "toEmulatorImageRef",
      "unknownOptions",
      "waitForJob",
    ]
  `);
});

test('@vertex-launch/core subpaths: /agent, /build, /config, /mapping, /queue', async () => {
  const subpaths = {
    agent: await import('@vertex-launch/core/agent'),
    build: await import('@vertex-launch/core/build'),
    config: await import('@vertex-launch/core/config'),
    mapping: await import('@vertex-launch/core/mapping'),
    queue: await import('@vertex-launch/core/queue'),
  };
  expect(
    Object.fromEntries(Object.entries(subpaths).map(([name, module]) => [name, exportNames(module)])),
  ).toMatchInlineSnapshot(`
    {
      "agent": [
        "AGENT_CONFIG_FILE",
        "DEFAULT_AGENT_CONFIG_PATH",
        "DEFAULT_AGENT_LEASE_MS",
        "DEFAULT_AGENT_MAX_JOBS",
        "DEFAULT_AGENT_POLL_INTERVAL_MS",
        "DEFAULT_LEASE_DURATION_S",
        "DEFAULT_MAX_JOBS",
        "DEFAULT_POLL_INTERVAL_S",
        "DEFAULT_START_TIMEOUT_MS",
        "DEFAULT_START_TIMEOUT_S",
        "MAX_LEASE_DURATION_S",
        "MAX_POLL_INTERVAL_S",
        "MAX_START_TIMEOUT_S",
        "agentConfigIssues",
        "agentConfigSchema",
        "createAgent",
        "defaultAgentConfigPath",
        "loadAgentConfig",
        "newAgentId",
        "parseAgentConfig",
        "silentAgentLogger",
      ],
      "build": [
        "BuildContextError",
        "CREDENTIAL_KIND_DESCRIPTIONS",
        "DEFAULT_ACCELERATOR_BASE_IMAGE",
        "DEFAULT_PYTHON_BASE_IMAGE",
        "INJECTED_DOCKERFILE_NAME",
        "SNIFF_BYTES",
        "SNIFF_MAX_FILE_SIZE",
        "buildEventEmitter",
        "builderTypeProblem",
        "builtinBuilders",
        "contextTag",
        "createBuilder",
        "defaultCacheDir",
        "defineBuilder",
        "findCredentialFiles",
        "fingerprintContext",
        "generateDockerfile",
        "isBuilderFactory",
        "loadBuilder",
        "packContext",
        "prepareContext",
        "prepareImage",
        "preparedContextOf",
        "registerBuilder",
        "resolveImage",
      ],
      "config": [
        "ACCELERATOR_TYPES",
        "BOOT_DISK_SIZE_GB",
        "BOOT_DISK_TYPES",
        "DEFAULT_QUEUE_CONFIG",
        "DEPRECATED_ACCELERATOR_TYPES",
        "DURATION_FORMS",
        "DURATION_PATTERN",
        "FLEX_START_ACCELERATORS",
        "FLEX_START_MAX_TIMEOUT_SECONDS",
        "KNOWN_MACHINE_TYPES",
        "LABEL_KEY_PATTERN",
        "LABEL_MAX_LENGTH",
        "LABEL_VALUE_PATTERN",
        "LAUNCH_ID_LABEL",
        "MACHINE_FAMILIES",
        "MACRO_NAMES",
        "MAX_CREATE_REQUEST_TIMEOUT_SECONDS",
        "MAX_ENV_VARS",
        "MAX_LABELS",
        "MAX_PACKAGE_URIS",
        "MAX_RUN_TIMEOUT_SECONDS",
        "MAX_WAIT_DURATION_SECONDS",
        "NETWORK_PATTERN",
        "NO_VPC_PEERING_ACCELERATORS",
        "OVERRIDABLE_SECTIONS",
        "QUEUE_CONFIG_SCHEMA_ID",
        "QUEUE_CONFIG_WRAPPER_KEYS",
        "QUEUE_LABEL",
        "RESERVATION_AFFINITY_TYPES",
        "RESERVATION_NAME_KEY",
        "RESERVATION_NAME_PATTERN",
        "RESERVED_LABEL_COUNT",
        "RESERVED_LABEL_PREFIX",
        "RUN_ID_LABEL",
        "SCHEDULING_STRATEGIES",
        "SHARED_SPEC_RUN_KEYS",
        "STAGING_BUCKET_PATTERN",
        "SYSTEM_LABEL_PREFIX",
        "TEMPLATE_VARIABLE_TYPES",
        "checkAllowedOverrides",
        "checkMachineSpec",
        "checkOverrides",
        "closestMachineTypes",
        "countEnvMacros",
        "durationOutOfRange",
        "durationToJson",
        "formatConfigIssues",
        "formatSeconds",
        "hasPlaceholder",
        "isFillInMarker",
        "isKnownMachineType",
        "labelKeyProblem",
        "labelValueProblem",
        "loadConfigFile",
        "machineFamilyOf",
        "machineSpecIssues",
        "macroValues",
        "mergeOverrides",
        "normalizeBucket",
        "parseConfigText",
        "parseDuration",
        "queueConfigJsonSchema",
        "queueConfigSchema",
        "resolveQueueConfig",
        "resolveQueueConfigResult",
        "runSchema",
        "sanitizeLabelValue",
        "specSchema",
        "substituteMacros",
        "templateVariableSchema",
        "toDurationMessage",
        "unwrapQueueConfig",
        "validateQueueConfig",
        "validateQueueConfigShape",
      ],
      "mapping": [
        "MAX_DISPLAY_NAME_LENGTH",
        "defaultDisplayName",
        "jobLabels",
        "toCreateCustomJobRequest",
        "toRestJson",
      ],
      "queue": [
        "AGENT_RECORD_RETENTION_MS",
        "AGENT_STATES",
        "DEFAULT_LIST_LIMIT",
        "DEFAULT_MAX_ATTEMPTS",
        "FAILURE_PHASES",
        "FINAL_LAUNCH_STATUSES",
        "LAUNCH_PHASES",
        "MAX_LEASE_MS",
        "QUEUE_DB_FILE",
        "QUEUE_EXPORT_FORMAT",
        "QUEUE_EXPORT_VERSION",
        "QUEUE_ITEM_STATES",
        "QUEUE_NAME_PATTERN",
        "QUEUE_RESOURCES",
        "QueueError",
        "RUN_ID_PATTERN",
        "abandonItem",
        "agentRecord",
        "assertHoldsLease",
        "canImportRecords",
        "checkAgentHeartbeat",
        "checkAgentId",
        "checkClaimOptions",
        "checkLaunchRequest",
        "checkLeaseMs",
        "checkListLimit",
        "checkQueueName",
        "claimItem",
        "completeItem",
        "defaultQueueDbPath",
        "exportQueueRecords",
        "failForDeletedQueue",
        "failItem",
        "formatQueueRecord",
        "generateRunId",
        "heartbeatItem",
        "importedItem",
        "isClaimable",
        "isExhausted",
        "isLeaseLost",
        "isStoreUnavailable",
        "itemNotFound",
        "maxAttemptsOf",
        "memoryQueueStore",
        "newQueueItem",
        "openQueueStore",
        "outcomeOfStatus",
        "parseQueueExport",
        "prepareLaunchRequest",
        "prepareQueue",
        "prepareQueueUpdate",
        "queueClaimOrder",
        "queueExists",
        "queueNotEmpty",
        "queueNotFound",
        "queueStoreDriver",
        "queueStoreScheme",
        "queueStoreSchemes",
        "recordPhaseItem",
        "redactStoreUrl",
        "registerQueueStoreDriver",
        "requestCancelItem",
        "requeueItem",
        "seedQueueConfig",
      ],
    }
  `);
});

test('@vertex-launch/core: the root barrel has no store-driver internals (they are in /queue)', async () => {
  const root = new Set(exportNames(await import('@vertex-launch/core')));
  const driverOnly = ['claimItem', 'completeItem', 'heartbeatItem', 'recordPhaseItem', 'prepareQueue', 'queueNotFound'];
  expect(driverOnly.filter((name) => root.has(name))).toEqual([]);
  const queue = new Set(exportNames(await import('@vertex-launch/core/queue')));
  expect(driverOnly.filter((name) => !queue.has(name))).toEqual([]);
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
      "APPLICATION_ID",
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
      "JobTracker",
      "LoggingHttpError",
      "RateLimiter",
      "VERTEX_RUNNER",
      "consoleUrlOf",
      "createJobServiceClient",
      "describeBucket",
      "googleMessage",
      "isAmbiguous",
      "isNotFound",
      "jobServiceClientOptions",
      "listLogEntries",
      "loadJobServiceClient",
      "plainHeaders",
      "readJobLogs",
      "regionalEndpoint",
      "toDate",
      "toJobLogEntry",
      "toJobSnapshot",
      "toVertexLaunchError",
      "vertexRunner",
    ]
  `);
});
