/**
 * The Cloud Build records the emulator keeps: a build as received (`BuildInput`, `BuildStepInput`) and as it runs
 * (`BuildRecord`). Shared by the service (./service.ts), which creates and reports builds, and the runner
 * (./runner.ts), which runs them; neither imports the other's module for them.
 */

/** A build step as received (camelCase; proto-loader decoded). */
export interface BuildStepInput {
  name?: string;
  args?: string[];
  env?: string[];
  dir?: string;
  id?: string;
  entrypoint?: string;
  timeout?: { seconds?: string | number; nanos?: number };
  [key: string]: unknown;
}

/** The Build of a CreateBuildRequest as received. */
export interface BuildInput {
  steps?: BuildStepInput[];
  images?: string[];
  source?: { storageSource?: { bucket?: string; object?: string; generation?: string | number } };
  timeout?: { seconds?: string | number; nanos?: number };
  logsBucket?: string;
  serviceAccount?: string;
  substitutions?: Record<string, string>;
  tags?: string[];
  options?: { substitutionOption?: string | number; [key: string]: unknown };
  [key: string]: unknown;
}

/** A build as the emulator keeps it (times in ms on the emulator clock). */
export interface BuildRecord {
  id: string;
  location: string;
  input: BuildInput;
  /** Steps, images and substitutions after substitution. */
  steps: BuildStepInput[];
  images: string[];
  status: string;
  statusDetail: string;
  createTime: number;
  startTime?: number;
  finishTime?: number;
  timeoutMs: number;
  logsBucket: string;
  serviceAccount: string;
  results: { images: { name: string; digest: string }[]; buildStepImages: string[] };
  stepStatus: { status: string; start?: number; end?: number }[];
  /** `Build.timing` by phase (FETCHSOURCE, BUILD, PUSH), as the runner reaches them. */
  phases: Record<string, { start: number; end?: number }>;
  failureInfo?: { type: string; detail: string };
  operationName: string;
  /** Set when the build ended because of a cancel or its timeout. */
  abortReason?: 'CANCELLED' | 'TIMEOUT';
}
