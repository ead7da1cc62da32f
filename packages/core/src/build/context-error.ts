import { BuildError } from '../errors.js';

/**
 * The build context cannot be sent: credential-like files, symlinks escaping the context, a file that changed while
 * it was read, a missing Dockerfile. `paths` lists the offending files (relative to the context root); the message
 * names them and `hint` says what to do. Messages never contain file contents.
 */
export class BuildContextError extends BuildError {
  override name = 'BuildContextError';
  /** The offending paths, relative to the context root. */
  readonly paths: readonly string[];

  constructor(message: string, options: { paths?: readonly string[]; hint?: string; cause?: unknown } = {}) {
    super('context', message, {
      ...(options.hint === undefined ? {} : { hint: options.hint }),
      ...(options.cause === undefined ? {} : { cause: options.cause }),
    });
    this.paths = options.paths ?? [];
  }
}
