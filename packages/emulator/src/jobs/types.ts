/** The CustomJob message shapes as @grpc/proto-loader decodes them (camelCase, enums as names, int64 as strings). */

/** google.protobuf.Duration / Timestamp as decoded. */
export interface ProtoSeconds {
  seconds?: string | number;
  nanos?: number;
}

/** An `EnvVar`. */
export interface EnvVarInput {
  name?: string;
  value?: string;
}

/** A `WorkerPoolSpec` as received. */
export interface WorkerPoolSpecInput {
  containerSpec?: { imageUri?: string; command?: string[]; args?: string[]; env?: EnvVarInput[] };
  pythonPackageSpec?: {
    executorImageUri?: string;
    packageUris?: string[];
    pythonModule?: string;
    args?: string[];
    env?: EnvVarInput[];
  };
  machineSpec?: {
    machineType?: string;
    acceleratorType?: string;
    acceleratorCount?: number;
    tpuTopology?: string;
    gpuPartitionSize?: string;
    reservationAffinity?: { reservationAffinityType?: string; key?: string; values?: string[] };
  };
  replicaCount?: string | number;
  diskSpec?: { bootDiskType?: string; bootDiskSizeGb?: number };
  nfsMounts?: { server?: string; path?: string; mountPoint?: string }[];
  [key: string]: unknown;
}

/** A `CustomJobSpec` as received. */
export interface CustomJobSpecInput {
  workerPoolSpecs?: WorkerPoolSpecInput[];
  scheduling?: { timeout?: ProtoSeconds; maxWaitDuration?: ProtoSeconds; strategy?: string; [key: string]: unknown };
  serviceAccount?: string;
  network?: string;
  pscInterfaceConfig?: { networkAttachment?: string; dnsPeeringConfigs?: { domain?: string }[] };
  enableWebAccess?: boolean;
  baseOutputDirectory?: { outputUriPrefix?: string };
  [key: string]: unknown;
}

/** A `CustomJob` as received in CreateCustomJobRequest. */
export interface CustomJobInput {
  name?: string;
  displayName?: string;
  jobSpec?: CustomJobSpecInput;
  labels?: Record<string, string>;
  encryptionSpec?: { kmsKeyName?: string };
  [key: string]: unknown;
}

/** google.rpc.Status as stored on a job. */
export interface JobError {
  code: number;
  message: string;
}

/** A job as the emulator stores it (JSON-serialisable; times in ms on the emulator clock). */
export interface JobRecord {
  id: string;
  /** The region the job was created in (absent in state saved before regions: the default region). */
  location?: string | undefined;
  displayName: string;
  jobSpec: CustomJobSpecInput;
  labels: Record<string, string>;
  encryptionSpec?: { kmsKeyName?: string } | undefined;
  state: string;
  createTime: number;
  updateTime: number;
  startTime?: number | undefined;
  endTime?: number | undefined;
  error?: JobError | undefined;
  webAccessUris?: Record<string, string> | undefined;
  /** Who created it (member string). */
  creator: string;
}
