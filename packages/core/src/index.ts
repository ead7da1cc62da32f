// `@vertex-launch/core`: what an SDK program and a plugin need — the errors, the runtime (project, region,
// credentials, endpoints with their sources), the plugin contracts and registries, `resolveImage()`, `launch()` and
// the job states. The rest is in subpaths: `/config` (queue configs), `/mapping` (the CustomJob request), `/queue`
// (stores and the transitions store drivers share), `/agent` (the launch agent) and `/build` (build contexts).

// Plugin contracts and loading
export * from './auth.js';
export * from './build/check-image.js';
export type { ContextManifest, PreparedContext } from './build/context.js';
export { BuildContextError } from './build/context-error.js';
export {
  type BuildContextInput,
  type BuildEvent,
  type BuilderCredentials,
  type BuilderFactory,
  type BuilderRuntime,
  type BuildRequest,
  type BuildResult,
  buildEventEmitter,
  defineBuilder,
  type ImageBuilder,
  type ImageRegistry,
  isBuilderFactory,
  preparedContextOf,
} from './build/contract.js';
export * from './build/registry.js';
export * from './build/resolve-image.js';
export * from './clock.js';
// Launching and tracking
export { ATTEMPT_LABEL, LAUNCH_ID_LABEL, QUEUE_LABEL, RUN_ID_LABEL, sanitizeLabelValue } from './config/labels.js';
export { loadConfigFile } from './config/load.js';
export type { LaunchContext } from './config/resolve.js';
export type { ResolvedQueueConfig, UserQueueConfig } from './config/schema.js';
export type { LaunchValue } from './config/variables.js';
// The runtime and the emulator connection
export * from './emulator-connection.js';
// Errors
export * from './errors.js';
export * from './failure.js';
export * from './grpc-code.js';
export * from './image-ref.js';
export * from './job-state.js';
export * from './launch/index.js';
export type { CreateCustomJobRequest } from './mapping/custom-job.js';
export * from './plugins.js';
// Queues: the store contract, the registry, the in-memory store
export { isLeaseLost, isStoreUnavailable, QueueError, type QueueErrorReason } from './queue/errors.js';
export { type MemoryQueueStoreOptions, memoryQueueStore } from './queue/memory.js';
export * from './queue/orphans.js';
export {
  defaultQueueDbPath,
  type OpenQueueStoreOptions,
  openQueueStore,
  QUEUE_DB_FILE,
  type QueueStoreDriver,
  redactStoreUrl,
  registerQueueStoreDriver,
} from './queue/registry.js';
export * from './queue/store.js';
export * from './regions.js';
export * from './retry.js';
export * from './runtime/index.js';
