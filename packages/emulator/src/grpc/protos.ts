/**
 * Loads the service protos shipped in the Google client packages, so the emulator speaks exactly the
 * protocol the real clients were generated from.
 */
import { createRequire } from 'node:module';
import { join, sep } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const require = createRequire(import.meta.url);

/** proto-loader options used for every service: camelCase fields, enums as names, int64 as strings. */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
};

/** The `build/protos` directory of an installed package (resolved from its main entry). */
function protosDirOf(mainFile: string): string {
  const i = mainFile.lastIndexOf(`${sep}build${sep}`);
  if (i < 0) throw new Error(`Cannot find the build/protos directory next to ${mainFile}.`);
  return join(mainFile.slice(0, i), 'build', 'protos');
}

/** Include dirs for a Google client package: its own protos plus google-gax's (google/api, google/longrunning). */
export function clientProtoDirs(packageName: string): string[] {
  const main = require.resolve(packageName);
  const gaxMain = createRequire(main).resolve('google-gax');
  return [protosDirOf(main), protosDirOf(gaxMain)];
}

const cache = new Map<string, grpc.GrpcObject>();

/** Loads `files` (relative to the package's proto dirs) into a grpc object; cached per process. */
export function loadClientProtos(packageName: string, files: readonly string[]): grpc.GrpcObject {
  const key = `${packageName}|${files.join(',')}`;
  let loaded = cache.get(key);
  if (!loaded) {
    const definition = protoLoader.loadSync([...files], {
      ...LOADER_OPTIONS,
      includeDirs: clientProtoDirs(packageName),
    });
    loaded = grpc.loadPackageDefinition(definition);
    cache.set(key, loaded);
  }
  return loaded;
}

/** Walks a dotted name (`google.cloud.aiplatform.v1.JobService`) in a loaded grpc object. */
export function lookup<T>(root: grpc.GrpcObject, dotted: string): T {
  let node: unknown = root;
  for (const part of dotted.split('.')) {
    node = (node as Record<string, unknown> | undefined)?.[part];
  }
  if (node === undefined) throw new Error(`Proto symbol ${dotted} is not in the loaded protos.`);
  return node as T;
}
