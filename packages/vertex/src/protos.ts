/**
 * The protos the JobServiceClient loads, cut to what JobService uses. The generated client requires the whole of
 * `@google-cloud/aiplatform`'s `protos.json` (every v1 and v1beta1 service, ~1.5 MB of descriptors) and builds it
 * twice (the gRPC package definition and the long-running-operations root): ~65 MB of RSS that an agent keeps for
 * its lifetime. Before the client's module is first loaded, its `require('../../protos/protos.json')` is answered
 * with a copy that keeps every namespace outside `google.cloud.aiplatform` whole and, inside it, only the types
 * reachable from `google.cloud.aiplatform.v1.JobService` (its methods' requests, responses and long-running
 * operation types, and every type their fields name, transitively). Types are resolved as protobuf.js resolves them:
 * from the referring type's scope outwards. The wire format is unchanged: the same descriptors, fewer of them.
 */
import { readFileSync } from 'node:fs';
import { createRequire, Module } from 'node:module';

/** A namespace, message, enum or service of protobuf.js's JSON descriptor format. */
interface ProtoNode {
  nested?: Record<string, ProtoNode>;
  fields?: Record<string, { type: string; keyType?: string }>;
  methods?: Record<string, { requestType: string; responseType: string; options?: Record<string, unknown> }>;
  values?: Record<string, number>;
  [key: string]: unknown;
}

const SERVICE = 'google.cloud.aiplatform.v1.JobService';
const PRUNED = 'google.cloud.aiplatform';
const LRO_OPTIONS = [
  '(google.longrunning.operation_info).response_type',
  '(google.longrunning.operation_info).metadata_type',
];

/** Every node by full name (`google.cloud.aiplatform.v1.CustomJob`). */
function indexNodes(root: ProtoNode): Map<string, ProtoNode> {
  const index = new Map<string, ProtoNode>();
  const walk = (node: ProtoNode, name: string) => {
    if (name) index.set(name, node);
    for (const [child, value] of Object.entries(node.nested ?? {})) walk(value, name ? `${name}.${child}` : child);
  };
  walk(root, '');
  return index;
}

/** The full name `type` means inside `scope` (protobuf.js: the innermost enclosing scope that has it). */
function resolve(index: Map<string, ProtoNode>, type: string, scope: string): string | undefined {
  if (type.startsWith('.')) return index.has(type.slice(1)) ? type.slice(1) : undefined;
  for (let at = scope; ; at = at.slice(0, Math.max(0, at.lastIndexOf('.')))) {
    const candidate = at ? `${at}.${type}` : type;
    if (index.has(candidate)) return candidate;
    if (!at) return undefined;
  }
}

/** The full names of the types `service` needs, and of the namespaces holding them. */
export function reachableFrom(root: ProtoNode, service: string): Set<string> {
  const index = indexNodes(root);
  const keep = new Set<string>();
  const pending: string[] = [service];
  const add = (type: string | undefined) => {
    if (type !== undefined && !keep.has(type)) pending.push(type);
  };
  while (pending.length > 0) {
    const name = pending.pop() as string;
    if (keep.has(name)) continue;
    const node = index.get(name);
    if (node === undefined) continue;
    keep.add(name);
    // A type's scope for its own field types is itself (nested types first), then its parents.
    for (const field of Object.values(node.fields ?? {})) add(resolve(index, field.type, name));
    const parent = name.slice(0, name.lastIndexOf('.'));
    for (const method of Object.values(node.methods ?? {})) {
      add(resolve(index, method.requestType, parent));
      add(resolve(index, method.responseType, parent));
      for (const option of LRO_OPTIONS) {
        const type = method.options?.[option];
        if (typeof type === 'string') add(resolve(index, type, parent));
      }
    }
    // Nested types travel with their parent (a message's nested enum or map entry).
    for (const child of Object.keys(node.nested ?? {})) add(`${name}.${child}`);
  }
  // The namespaces on the way to each kept type.
  for (const name of [...keep]) {
    for (let at = name; at.includes('.'); ) {
      at = at.slice(0, at.lastIndexOf('.'));
      keep.add(at);
    }
  }
  return keep;
}

/** A copy of `root` with `google.cloud.aiplatform` cut to what `service` reaches. */
export function slimProtos(root: ProtoNode, service: string = SERVICE): ProtoNode {
  const keep = reachableFrom(root, service);
  const copy = (node: ProtoNode, name: string): ProtoNode => {
    if (!node.nested) return node;
    const inside = name === PRUNED || name.startsWith(`${PRUNED}.`);
    const nested: Record<string, ProtoNode> = {};
    for (const [child, value] of Object.entries(node.nested)) {
      const full = name ? `${name}.${child}` : child;
      const onTheWay = PRUNED.startsWith(`${full}.`) || full === PRUNED;
      if (inside && !keep.has(full)) continue;
      nested[child] = onTheWay || inside ? copy(value, full) : value;
    }
    return { ...node, nested };
  };
  return copy(root, '');
}

/**
 * Runs `load` (the first import of the JobServiceClient's module) with the client's `require` of `protos.json`
 * answered by {@link slimProtos} of it. The slim copy is taken out of the require cache again once `load` settles:
 * the client module keeps it, and anything else in the process that requires `protos.json` later (an app's own
 * aiplatform clients) gets the whole file. When the file was loaded already, `load` runs as it is.
 */
export async function withSlimProtos<T>(load: () => Promise<T>): Promise<T> {
  const require = createRequire(import.meta.url);
  let path: string | undefined;
  try {
    path = require.resolve('@google-cloud/aiplatform/build/protos/protos.json');
  } catch {
    path = undefined;
  }
  if (path === undefined || require.cache[path] !== undefined) return load();
  const module = new Module(path);
  module.filename = path;
  module.loaded = true;
  module.exports = slimProtos(JSON.parse(readFileSync(path, 'utf8')) as ProtoNode);
  require.cache[path] = module;
  try {
    return await load();
  } finally {
    if (require.cache[path] === module) delete require.cache[path];
  }
}
