/**
 * The JSON Schema of queue configs, generated from the zod schema, for editor completion
 * (`# yaml-language-server: $schema=...`).
 */
import { z } from 'zod';
import { queueConfigSchema } from './schema.js';

/** `$id` of the generated schema. */
export const QUEUE_CONFIG_SCHEMA_ID = 'https://vertex-launch.dev/schemas/queue-config.json';

/** JSON Schema (draft 2020-12) of the queue config as users write it (durations as numbers or strings). */
export function queueConfigJsonSchema(): object {
  const schema = z.toJSONSchema(queueConfigSchema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' });
  return { ...schema, $id: QUEUE_CONFIG_SCHEMA_ID, title: 'Vertex Launch queue config' };
}
