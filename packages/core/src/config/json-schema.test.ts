import { expect, test } from 'vitest';
import { queueConfigJsonSchema } from './json-schema.js';

type Node = Record<string, unknown>;

/** Every property of every object in the schema, with its path. */
function properties(node: unknown, path: string, out: Array<{ path: string; schema: Node }>): void {
  if (Array.isArray(node)) {
    node.forEach((n, i) => {
      properties(n, `${path}[${i}]`, out);
    });
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const n = node as Node;
  if (n.properties && typeof n.properties === 'object') {
    for (const [key, schema] of Object.entries(n.properties as Node)) {
      out.push({ path: `${path}.${key}`, schema: schema as Node });
    }
  }
  for (const [key, child] of Object.entries(n)) properties(child, `${path}/${key}`, out);
}

test('the JSON Schema is pinned', () => {
  expect(queueConfigJsonSchema()).toMatchSnapshot();
});

test('every key of the JSON Schema has a description, and unknown keys are refused', () => {
  const schema = queueConfigJsonSchema() as Node;
  const found: Array<{ path: string; schema: Node }> = [];
  properties(schema, '', found);
  expect(found.length).toBeGreaterThan(85);
  const undocumented = found.filter(({ schema: s }) => typeof s.description !== 'string' || s.description === '');
  expect(undocumented.map((u) => u.path)).toEqual([]);
  expect(schema.additionalProperties).toBe(false);
  expect(schema.required).toEqual(['spec']);
});

test('durations accept numbers and strings; accelerator types list the proto enum', () => {
  const text = JSON.stringify(queueConfigJsonSchema());
  expect(text).toContain('"NVIDIA_H100_80GB"');
  const schema = queueConfigJsonSchema() as { properties: { run: { properties: { timeout: Node } } } };
  expect(JSON.stringify(schema.properties.run.properties.timeout)).toMatch(/"type":"number".*"type":"string"/);
});
