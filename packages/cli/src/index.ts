export { ExitCode, exitCodeFor, UsageError } from './exit-codes.js';
export { createProgram, main } from './main.js';
export type { GlobalOptions } from './options.js';
export type { Io } from './output.js';
export { processIo } from './output.js';
