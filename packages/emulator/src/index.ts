export {
  BUSYBOX_DOCKERFILE,
  type BusyboxBaseImage,
  type BusyboxBaseImageOptions,
  buildBusyboxBaseImage,
} from './base-image.js';
export {
  type StorageClientOptions,
  type StorageClientOptionsInput,
  storageClientOptions,
} from './client-options/storage.js';
export type { ClockTimer, EmulatorClock } from './clock.js';
export {
  Code,
  type CodeName,
  EmulatorError,
  HTTP_STATUS_FOR_CODE,
  type HttpService,
  type LogStore,
  type Principal,
  type ServiceContext,
  type StoredLogEntry,
} from './context.js';
export {
  type Emulator,
  type EmulatorFaults,
  type EmulatorGrpcClientOptions,
  type EmulatorIam,
  type EmulatorOptions,
  type EmulatorSummary,
  grpcClientOptions,
  loopbackHost,
  startEmulator,
} from './emulator.js';
export type { Fault } from './faults.js';
export type { GrpcServiceModule } from './grpc/server.js';
export {
  type AuthorizedUserCredentials,
  type ExternalIdentity,
  KNOWN_PERMISSIONS,
  type ServiceAccountKey,
} from './iam.js';
export type { AcceleratorQuotaRule, CapacityRule } from './jobs/capacity.js';
export { type DockerExecutorOptions, dockerExecutor, vertexEnvironment } from './jobs/docker-executor.js';
export {
  type ClockExecutorOptions,
  clockExecutor,
  type JobExecutor,
  type JobRun,
  type JobRunContext,
  type JobRunResult,
  type JobRunServices,
} from './jobs/executor.js';
export { fromLocalImageRef, type RegistryImageName, toLocalImageRef } from './registry/names.js';
export {
  type PlaceholderImageTarget,
  PlaceholderPushError,
  pushPlaceholderImage,
} from './registry/placeholder.js';
