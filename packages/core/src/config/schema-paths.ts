/**
 * Walking the queue config schema by path: which keys are allowed where, and where else a key would belong.
 * Used for "did you mean" suggestions and to check `allowed_overrides` paths.
 */
import { z } from 'zod';

/** Path segments as zod reports them: keys and array indices. */
export type PathSegments = readonly PropertyKey[];

/** Strip optional / default / pipe / nullable wrappers. */
function unwrap(schema: z.ZodType): z.ZodType {
  let current: z.ZodType = schema;
  for (;;) {
    if (current instanceof z.ZodOptional || current instanceof z.ZodNullable || current instanceof z.ZodDefault) {
      current = current.unwrap() as z.ZodType;
    } else if (current instanceof z.ZodPipe) {
      current = current.in as z.ZodType;
    } else {
      return current;
    }
  }
}

/** The schema at `path` below `root` (array indices step into elements, record keys into values). */
export function schemaAt(root: z.ZodType, path: PathSegments): z.ZodType | undefined {
  let current: z.ZodType | undefined = unwrap(root);
  for (const segment of path) {
    if (current === undefined) return undefined;
    if (current instanceof z.ZodObject) {
      const next: z.ZodType | undefined = (current.shape as Record<string, z.ZodType>)[String(segment)];
      current = next === undefined ? undefined : unwrap(next);
    } else if (current instanceof z.ZodArray) {
      current = unwrap(current.element as z.ZodType);
    } else if (current instanceof z.ZodRecord) {
      current = unwrap(current.valueType as z.ZodType);
    } else {
      return undefined;
    }
  }
  return current;
}

/** Keys allowed in the object at `path`, or `undefined` when there is no object schema there. */
export function objectKeysAt(root: z.ZodType, path: PathSegments): string[] | undefined {
  const schema = schemaAt(root, path);
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : undefined;
}

/** Every object key of the schema with the path of the object that holds it (`spec.worker_pool_specs[]`). */
export function allKeyLocations(root: z.ZodType): Array<{ key: string; parent: string }> {
  const found: Array<{ key: string; parent: string }> = [];
  const visit = (schema: z.ZodType, parent: string, depth: number) => {
    if (depth > 12) return;
    const s = unwrap(schema);
    if (s instanceof z.ZodObject) {
      for (const [key, child] of Object.entries(s.shape as Record<string, z.ZodType>)) {
        found.push({ key, parent });
        visit(child, parent === '' ? key : `${parent}.${key}`, depth + 1);
      }
    } else if (s instanceof z.ZodArray) {
      visit(s.element as z.ZodType, `${parent}[]`, depth + 1);
    } else if (s instanceof z.ZodRecord) {
      visit(s.valueType as z.ZodType, `${parent}.<name>`, depth + 1);
    }
  };
  visit(root, '', 0);
  return found;
}

/** A key as shown in paths and messages: keys longer than 80 characters are cut (a 10 MB key is not echoed). */
export function shortKey(key: string): string {
  return key.length > 80 ? `${key.slice(0, 60)}… (${key.length} characters)` : key;
}

/** `['spec', 'worker_pool_specs', 0, 'machine_spec']` -> `spec.worker_pool_specs[0].machine_spec`. */
export function formatPath(path: PathSegments): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else {
      const key = String(segment);
      if (/^[A-Za-z_][A-Za-z0-9_-]{0,79}$/.test(key)) text += text === '' ? key : `.${key}`;
      else text += `[${JSON.stringify(shortKey(key))}]`;
    }
  }
  return text;
}
