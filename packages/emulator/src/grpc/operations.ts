/**
 * `google.longrunning.Operations` is one gRPC service shared by every API the emulator serves (Vertex, Artifact
 * Registry, Cloud Build all poll `GetOperation` on the same endpoint), so one module routes each call to the
 * surface that owns the operation.
 */
import type * as grpc from '@grpc/grpc-js';
import { EmulatorError } from '../context.js';
import { type GrpcServiceModule, unary } from './server.js';

/** A `google.protobuf.Any` as proto-loader encodes it. */
export interface AnyMessage {
  typeUrl: string;
  value: Buffer;
}

/** A `google.longrunning.Operation` as proto-loader encodes it. */
export interface LroOperation {
  name: string;
  done: boolean;
  metadata?: AnyMessage;
  response?: AnyMessage;
  error?: { code: number; message: string; details?: AnyMessage[] };
}

/** A surface that owns some operations. */
export interface OperationOwner {
  /** The operation named `name` when it is this surface's (authorizing the caller), else undefined. */
  findOperation(name: string, authorization: string | undefined): Promise<LroOperation | undefined>;
}

/** Packs an encoded message into an Any (`type.googleapis.com/<full name>`). */
export function packAny(fullName: string, value: Buffer | Uint8Array): AnyMessage {
  return { typeUrl: `type.googleapis.com/${fullName}`, value: Buffer.from(value) };
}

/** Encodes a message with one length-delimited field (`field = 1` for a wrapper like `BuildOperationMetadata`). */
export function wrapField(fieldNumber: number, encoded: Buffer | Uint8Array): Buffer {
  const varint = (n: number) => {
    const bytes: number[] = [];
    let v = n;
    while (v > 0x7f) {
      bytes.push((v & 0x7f) | 0x80);
      v >>>= 7;
    }
    bytes.push(v);
    return Buffer.from(bytes);
  };
  return Buffer.concat([varint((fieldNumber << 3) | 2), varint(encoded.length), Buffer.from(encoded)]);
}

/** The Operations module: `GetOperation` asks each owner in turn, then `fallback` (which answers NOT_FOUND itself). */
export function operationsModule(
  definition: grpc.ServiceDefinition,
  owners: readonly OperationOwner[],
  fallback: (name: string, authorization: string | undefined) => Promise<unknown>,
): GrpcServiceModule {
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const method of Object.keys(definition)) {
    implementation[method] = unary(async () => {
      throw new EmulatorError(
        'UNIMPLEMENTED',
        `The emulator does not implement Operations.${method}; GetOperation is served.`,
      );
    });
  }
  implementation.GetOperation = unary(async (req: { name?: string }, call) => {
    const name = req.name ?? '';
    for (const owner of owners) {
      const found = await owner.findOperation(name, call.authorization);
      if (found) return found;
    }
    return fallback(name, call.authorization);
  });
  return { name: 'google.longrunning.Operations', definition, implementation };
}
