/**
 * Typed template variables: a queue config declares `template_variables: {name: {type, default, minimum, maximum,
 * enum}}` and uses `{{name}}` inside `spec` / `run` strings. A string that is exactly `{{name}}` becomes the typed
 * value (an integer for `replica_count`); inside a longer string the value is interpolated as text.
 */
import type { ConfigIssue } from '../errors.js';
import { countEnvMacros } from './macros.js';
import { templateVariableSchema } from './schema.js';
import { closestKey } from './suggest.js';
import { envMacros, error, isPlainObject, mapStrings } from './util.js';

/** A template variable declaration. */
export interface TemplateVariable {
  type: 'integer' | 'number' | 'string';
  description?: string | undefined;
  default?: number | string | undefined;
  minimum?: number | undefined;
  maximum?: number | undefined;
  enum?: Array<number | string> | undefined;
}

const WHOLE = /^\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$/;
// `{{ name }}` anywhere in a string. One unbounded part only (the name is trimmed in code): `\s*([^{}]*?)\s*` took
// cubic time on `{{` followed by many spaces and no `}}`.
const ANY = /\{\{([^{}]*)\}\}/g;

function shown(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * The well-formed declarations of `template_variables` (malformed ones are reported by schema validation) and the
 * problems of their defaults (wrong type, outside the range or the enum).
 */
export function readDeclarations(raw: unknown): { declarations: Map<string, TemplateVariable>; issues: ConfigIssue[] } {
  const declarations = new Map<string, TemplateVariable>();
  const issues: ConfigIssue[] = [];
  if (!isPlainObject(raw)) return { declarations, issues };
  for (const [name, declaration] of Object.entries(raw)) {
    const parsed = templateVariableSchema.safeParse(declaration);
    if (!parsed.success) continue;
    const decl = parsed.data;
    declarations.set(name, decl);
    const at = ['template_variables', name];
    if (decl.minimum !== undefined && decl.maximum !== undefined && decl.minimum > decl.maximum) {
      issues.push(error([...at, 'minimum'], `minimum (${decl.minimum}) is greater than maximum (${decl.maximum})`));
    }
    if (decl.type === 'string' && (decl.minimum !== undefined || decl.maximum !== undefined)) {
      issues.push(error(at, '`minimum` and `maximum` only apply to integer and number variables'));
    }
    decl.enum?.forEach((value, i) => {
      const checked = coerceVariable(name, { ...decl, enum: undefined }, value);
      if ('error' in checked) issues.push(error([...at, 'enum', i], checked.error));
    });
    if (decl.default !== undefined) {
      const checked = coerceVariable(name, decl, decl.default);
      if ('error' in checked) issues.push(error([...at, 'default'], `the default is invalid: ${checked.error}`));
    }
  }
  return { declarations, issues };
}

/** A launch value (string from `--set-var`, or a default) checked and typed against its declaration. */
export function coerceVariable(
  name: string,
  decl: TemplateVariable,
  raw: string | number,
): { value: string | number } | { error: string } {
  let value: string | number;
  if (decl.type === 'string') {
    value = String(raw);
  } else {
    const text = String(raw).trim();
    const number = typeof raw === 'number' ? raw : text === '' ? Number.NaN : Number(text);
    if (
      decl.type === 'integer' &&
      (!Number.isInteger(number) || (typeof raw === 'string' && !/^[+-]?\d+$/.test(text)))
    ) {
      return { error: `variable \`${name}\` must be an integer, got ${shown(raw)}` };
    }
    if (!Number.isFinite(number)) return { error: `variable \`${name}\` must be a number, got ${shown(raw)}` };
    value = number;
    if (decl.minimum !== undefined && number < decl.minimum) {
      return { error: `variable \`${name}\` must be at least ${decl.minimum} (minimum), got ${number}` };
    }
    if (decl.maximum !== undefined && number > decl.maximum) {
      return { error: `variable \`${name}\` must be at most ${decl.maximum} (maximum), got ${number}` };
    }
  }
  if (decl.enum !== undefined && !decl.enum.some((allowed) => String(allowed) === String(value))) {
    return {
      error: `variable \`${name}\` must be one of ${decl.enum.map((v) => shown(v)).join(', ')} (enum), got ${shown(raw)}`,
    };
  }
  return { value };
}

/** Values that satisfy each declaration, for checking a config before launch: the default, else a probe value. */
export function probeValues(declarations: Map<string, TemplateVariable>): Map<string, string | number> {
  const values = new Map<string, string | number>();
  for (const [name, decl] of declarations) {
    const probe =
      decl.default ??
      decl.enum?.[0] ??
      (decl.type === 'string'
        ? undefined
        : (decl.minimum ?? (decl.maximum !== undefined ? Math.min(decl.maximum, 1) : 1)));
    if (probe !== undefined) values.set(name, probe);
  }
  return values;
}

/** A launch value of a template variable: a string (`--set-var`) or, from SDK code, a number (or a boolean for a string variable). */
export type LaunchValue = string | number | boolean;

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * The typed value of every declared variable for a launch: the launch value, else the default. Names launch values
 * that are not declared, values that break a rule, and required variables that are missing.
 */
export function launchValues(
  declarations: Map<string, TemplateVariable>,
  given: Readonly<Record<string, LaunchValue>> | undefined,
): { values: Map<string, string | number>; issues: ConfigIssue[] } {
  const values = new Map<string, string | number>();
  const issues: ConfigIssue[] = [];
  const declared = [...declarations.keys()];
  if (given !== undefined && (given === null || typeof given !== 'object' || Array.isArray(given))) {
    issues.push(
      error('template_variables', `the launch values must be an object of name: value, got ${describeValue(given)}`),
    );
    return { values, issues };
  }
  for (const [name, raw] of Object.entries(given ?? {})) {
    const decl = declarations.get(name);
    if (decl === undefined) {
      const suggestion = closestKey(name, declared);
      issues.push(
        error(
          'template_variables',
          `launch value for unknown variable \`${name}\`${suggestion ? ` (did you mean \`${suggestion}\`?)` : ''}; ` +
            (declared.length > 0
              ? `declared variables: ${declared.join(', ')}`
              : 'this queue config declares no template_variables'),
        ),
      );
      continue;
    }
    // Launch values come from flags (strings) or from SDK code, where plain JS may pass anything.
    if (typeof raw !== 'string' && (typeof raw !== 'number' || !Number.isFinite(raw))) {
      if (typeof raw === 'boolean' && decl.type === 'string') {
        values.set(name, String(raw));
        continue;
      }
      issues.push(
        error(
          ['template_variables', name],
          `variable \`${name}\` (${decl.type}) must be given as a ${decl.type === 'string' ? 'string' : 'number or a numeric string'}, got ${describeValue(raw)}`,
        ),
      );
      continue;
    }
    if (typeof raw === 'string' && countEnvMacros(raw) > 0) {
      issues.push(
        error(['template_variables', name], `variable \`${name}\`: \`\${env:...}\` is not allowed in launch values`),
      );
      continue;
    }
    const checked = coerceVariable(name, decl, raw);
    if ('error' in checked) issues.push(error(['template_variables', name], checked.error));
    else values.set(name, checked.value);
  }
  for (const [name, decl] of declarations) {
    if (values.has(name) || given?.[name] !== undefined) continue;
    if (decl.default !== undefined) {
      const checked = coerceVariable(name, decl, decl.default);
      if ('value' in checked) values.set(name, checked.value);
    } else {
      issues.push(
        error(
          ['template_variables', name],
          `variable \`${name}\` has no default and no launch value: set it (--set-var ${name}=...)${decl.description ? ` — ${decl.description}` : ''}`,
        ),
      );
    }
  }
  return { values, issues };
}

/**
 * Fill `{{name}}` in every string of `value` (the `spec` / `run` sections). Undeclared names are errors; declared
 * variables without a value stay as `{{name}}` text (when checking a config before launch).
 */
export function substituteVariables(
  value: unknown,
  path: PropertyKey[],
  declarations: Map<string, TemplateVariable>,
  values: Map<string, string | number>,
): { value: unknown; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const declared = [...declarations.keys()];
  const unknown = (name: string, at: PropertyKey[]) => {
    const suggestion = closestKey(name, declared);
    issues.push(
      error(
        at,
        `undeclared template variable \`{{${name}}}\`${suggestion ? ` (did you mean \`{{${suggestion}}}\`?)` : ''}: ` +
          (declared.length > 0
            ? `declared variables: ${declared.join(', ')}`
            : 'declare it under `template_variables` (type, default, ...)'),
      ),
    );
  };
  const out = mapStrings(value, path, (text, at) => {
    if (!text.includes('{{')) return text;
    const whole = WHOLE.exec(text);
    if (whole) {
      const name = whole[1]!;
      if (!declarations.has(name)) {
        unknown(name, at);
        return text;
      }
      return values.get(name) ?? text;
    }
    const filled = text.replace(ANY, (token, inner: string) => {
      const name = inner.trim();
      if (!declarations.has(name)) {
        unknown(name, at);
        return token;
      }
      const v = values.get(name);
      return v === undefined ? token : String(v);
    });
    // Values must not form an env macro, nor complete one the config holds (`${env:{{name}}}` would let the launch
    // pick which variable of the launcher's environment to read): the env macros must stay exactly as written.
    if (envMacros(filled).join('\0') !== envMacros(text).join('\0')) {
      issues.push(error(at, 'template variable values may not form an `${env:...}` macro'));
      return text;
    }
    return filled;
  });
  return { value: out, issues };
}
