/**
 * The Artifact Registry API (`google.devtools.artifactregistry.v1.ArtifactRegistry`, ../artifactregistry/service.ts)
 * as an emulator service: repositories from the core, images read live from the emulator's Docker registry.
 */
import { ArtifactRegistryService } from '../artifactregistry/service.js';
import { RegistryReader } from '../registry/reader.js';
import type { EmulatorService } from './contract.js';

/** The Artifact Registry API. */
export const artifactRegistry: EmulatorService = {
  name: 'artifact-registry',
  create(core) {
    const service = new ArtifactRegistryService({
      ctx: core.ctx,
      repositories: core.repositories,
      registry: new RegistryReader(core.registryBackend),
      authenticate: (authorization) => void core.iam.authenticate(authorization),
      policies: core.iam.policies,
    });
    return { grpc: service.grpcModules(), operations: service };
  },
};
