/**
 * `${macro}` substitution in queue config strings. Macros are filled at launch from the launch context;
 * `${env:NAME}` reads the launching process's environment and is only allowed in the queue config itself,
 * never in launch-time overrides or variable values (a submitter must not read the agent's secrets), and only for
 * the names the launching process allows (see env-access.ts: a queue config is data, not launcher configuration).
 * `$${` is a literal `${` (e.g. for shell variables in container args: `echo $${HOME}`).
 */
import type { ConfigIssue } from '../errors.js';
import { type EnvAccess, envRefusal, isCredentialEnvName } from './env-access.js';
import { formatPath, shortKey } from './schema-paths.js';
import { closestKey } from './suggest.js';
import { envMacros, error, MACRO_TOKEN, mapStrings, warning } from './util.js';

/** Names of the context macros, without `${}`. */
export const MACRO_NAMES = [
  'image_uri',
  'run_id',
  'run_name',
  'queue_name',
  'project_name',
  'region',
  'launch_id',
] as const;

/** A context macro name. */
export type MacroName = (typeof MACRO_NAMES)[number];

/** Values of the context macros; `undefined` when the launch has none (using it is then an error). */
export type MacroValues = Partial<Record<MacroName, string>>;

const TOKEN = MACRO_TOKEN;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const KNOWN_LIST = `${MACRO_NAMES.map((n) => `\${${n}}`).join(', ')} and \${env:NAME}`;

const MISSING_HINTS: Record<MacroName, string> = {
  image_uri: 'this launch has no image: pass one (--image) or let the launch build it',
  run_id: 'this launch has no run id',
  run_name: 'this launch has no run name',
  queue_name: 'this launch has no queue name: launch through a queue or stop using ${queue_name}',
  project_name: 'this launch has no GCP project: set --project',
  region: 'this launch has no region: set --region',
  launch_id: 'this launch has no launch id',
};

/** Where macros are read from, and what they may use. */
export interface MacroOptions {
  /** Values to fill; when omitted, macros are only checked (names and syntax), not filled. */
  values?: MacroValues;
  /** The environment `${env:NAME}` reads. Required to fill `${env:...}`. */
  env?: Record<string, string | undefined>;
  /** Whether `${env:NAME}` is allowed here (queue config: yes; overrides and variable values: no). */
  allowEnv: boolean;
  /** Names the source in the refusal of `${env:...}`, e.g. `launch overrides`. */
  source?: string;
  /** Which names `${env:NAME}` may read (see {@link EnvAccess}); when omitted, names are only checked for syntax. */
  envAccess?: EnvAccess;
  /** Warn about `${env:NAME}` of a credential variable (validation: the launcher's allowlist is not known here). */
  warnCredentials?: boolean;
}

/** Count of `${env:` macros in a string (escaped `$${env:` excluded). */
export function countEnvMacros(text: string): number {
  return envMacros(text).length;
}

function credentialWarning(name: string): string {
  return `\`\${env:${name}}\` reads a credential variable: launchers expand it only when their allowlist names it (an agent's \`allowed_env\`, VERTEX_LAUNCH_ALLOWED_ENV), and it is then written into the CustomJob for anyone with jobs.get to read. Give the job its secret through Secret Manager or its own service account instead`;
}

function fillString(text: string, path: PropertyKey[], options: MacroOptions, issues: ConfigIssue[]): string {
  if (!text.includes('${')) return text;
  const where = formatPath(path);
  return text.replace(TOKEN, (token, name: string | undefined, close: string | undefined) => {
    if (token === '$${') return options.values ? '${' : token;
    if (close !== '}') {
      issues.push(
        error(
          where,
          `unterminated macro \`${shortKey(token)}\`: close it with \`}\` (or write \`$\${\` for a literal \`\${\`)`,
        ),
      );
      return token;
    }
    const trimmed = (name ?? '').trim();
    if (trimmed.startsWith('env:')) {
      const envName = trimmed.slice(4).trim();
      if (!options.allowEnv) {
        issues.push(
          error(
            where,
            `\`\${env:${envName}}\` is not allowed in ${options.source ?? 'this value'}: only the queue config may read the launcher's environment`,
          ),
        );
        return token;
      }
      if (!ENV_NAME.test(envName)) {
        issues.push(
          error(where, `\`${shortKey(token)}\` is not a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*)`),
        );
        return token;
      }
      const refusal = options.envAccess === undefined ? undefined : envRefusal(envName, options.envAccess);
      if (refusal !== undefined) {
        issues.push(error(where, refusal));
        return token;
      }
      if (options.warnCredentials && isCredentialEnvName(envName))
        issues.push(warning(where, credentialWarning(envName)));
      if (!options.values) return token;
      const value = options.env?.[envName];
      if (value === undefined) {
        issues.push(
          error(where, `\`\${env:${envName}}\`: environment variable ${envName} is not set where the launch runs`),
        );
        return token;
      }
      return value;
    }
    if (!(MACRO_NAMES as readonly string[]).includes(trimmed)) {
      const suggestion = closestKey(trimmed, MACRO_NAMES);
      issues.push(
        error(
          where,
          `unknown macro \`${shortKey(token)}\`${suggestion ? ` (did you mean \`\${${suggestion}}\`?)` : ''}; known macros: ${KNOWN_LIST}. Write \`$\${\` for a literal \`\${\``,
        ),
      );
      return token;
    }
    if (!options.values) return token;
    const value = options.values[trimmed as MacroName];
    if (value === undefined) {
      issues.push(error(where, `\`${shortKey(token)}\` cannot be filled: ${MISSING_HINTS[trimmed as MacroName]}`));
      return token;
    }
    return value;
  });
}

/**
 * Check (and, with `options.values`, fill) every macro in the strings of `value`. Returns the new value and the
 * problems found, each with its path (`path` is the path of `value` itself).
 */
export function substituteMacros(
  value: unknown,
  path: PropertyKey[],
  options: MacroOptions,
): { value: unknown; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const out = mapStrings(value, path, (text, at) => fillString(text, at, options, issues));
  return { value: out, issues };
}
