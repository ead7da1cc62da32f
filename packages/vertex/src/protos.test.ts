import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { loadJobServiceClient } from './client.js';
import { slimProtos } from './protos.js';

const require = createRequire(import.meta.url);
const protosPath = require.resolve('@google-cloud/aiplatform/build/protos/protos.json');
// protobuf.js as google-gax (the client's own runtime) loads it.
const protobuf = createRequire(require.resolve('google-gax'))('protobufjs') as {
  Root: { fromJSON(json: unknown): { resolveAll(): unknown; lookup(name: string): unknown } };
};
const full = JSON.parse(readFileSync(protosPath, 'utf8'));
const slim = slimProtos(JSON.parse(readFileSync(protosPath, 'utf8')));

/** The methods of `.google.cloud.aiplatform.v1.JobService`, with each one's request and response type. */
function methodsOf(json: unknown) {
  const root = protobuf.Root.fromJSON(json);
  root.resolveAll();
  const service = root.lookup('.google.cloud.aiplatform.v1.JobService') as {
    methodsArray: {
      name: string;
      resolvedRequestType: { fullName: string };
      resolvedResponseType: { fullName: string };
    }[];
  };
  return service.methodsArray.map((m) => [m.name, m.resolvedRequestType.fullName, m.resolvedResponseType.fullName]);
}

// Building protobuf.js roots of the whole file takes seconds on a loaded machine.
describe('slimProtos', { timeout: 60_000 }, () => {
  it('keeps every JobService method with its request and response types, all resolvable', () => {
    // resolveAll() throws on any type a kept field or method names that the slim root lacks.
    const methods = methodsOf(slim);
    expect(methods).toEqual(methodsOf(full));
    expect(methods.length).toBeGreaterThan(20);
    expect(methods).toContainEqual([
      'CreateCustomJob',
      '.google.cloud.aiplatform.v1.CreateCustomJobRequest',
      '.google.cloud.aiplatform.v1.CustomJob',
    ]);
  });

  it('keeps the CustomJob message as the whole file defines it, and the long-running operation types', () => {
    const root = protobuf.Root.fromJSON(slim);
    const fullRoot = protobuf.Root.fromJSON(full);
    for (const name of [
      '.google.cloud.aiplatform.v1.CustomJob',
      '.google.cloud.aiplatform.v1.CustomJobSpec',
      '.google.cloud.aiplatform.v1.WorkerPoolSpec',
      '.google.cloud.aiplatform.v1.Scheduling',
      '.google.cloud.aiplatform.v1.DeleteOperationMetadata',
      '.google.cloud.aiplatform.v1.UpdateModelDeploymentMonitoringJobOperationMetadata',
      '.google.longrunning.Operation',
      '.google.protobuf.Empty',
      '.google.rpc.Status',
    ]) {
      const kept = root.lookup(name) as { toJSON(): unknown } | null;
      expect(kept, name).not.toBeNull();
      expect(kept!.toJSON(), name).toEqual((fullRoot.lookup(name) as { toJSON(): unknown }).toJSON());
    }
  });

  it('leaves out v1beta1 and the other v1 services: a fraction of the descriptors', () => {
    const aiplatform = slim.nested!.google!.nested!.cloud!.nested!.aiplatform!.nested!;
    expect(Object.keys(aiplatform)).toEqual(['v1']);
    const v1 = aiplatform.v1!.nested!;
    expect(v1.JobService).toBeDefined();
    expect(v1.PipelineService).toBeUndefined();
    expect(v1.PredictionService).toBeUndefined();
    const size = (json: unknown) => JSON.stringify(json).length;
    console.info(`[protos] JobService's protos: ${size(slim)} of ${size(full)} bytes of descriptors`);
    expect(size(slim)).toBeLessThan(size(full) * 0.5);
  });

  it('the client module keeps the slim copy; a later require of protos.json (an app’s own clients) gets the whole', async () => {
    const Client = await loadJobServiceClient();
    const { grpc } = await import('google-gax');
    const client = new Client({ apiEndpoint: '127.0.0.1', port: 9, sslCreds: grpc.credentials.createInsecure() });
    const loaded = (client as unknown as { _protos: { google: { cloud: { aiplatform: Record<string, unknown> } } } })
      ._protos.google.cloud.aiplatform;
    expect(Object.keys(loaded)).toEqual(['v1']);
    await client.close();
    const later = require(protosPath) as typeof full;
    expect(Object.keys(later.nested.google.nested.cloud.nested.aiplatform.nested)).toEqual(['v1', 'v1beta1']);
  });
});
