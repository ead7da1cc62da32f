/** Options every command understands (commands import this, never `main.ts`). */
export interface GlobalOptions {
  /** `--debug`: show stack traces and debug output. */
  debug?: boolean;
  /** `--json`: print one JSON document on stdout instead of text (where the command prints data). */
  json?: boolean;
}
