/**
 * Vertex AI CustomJobs (`google.cloud.aiplatform.v1.JobService`, ../jobs/service.ts) as an emulator service: jobs run
 * by the core's executor, pulling their images from the emulator's registry as the Vertex AI custom code service
 * agent; jobs persist in `emulator.json` and resume after a restart.
 */
import { JobService } from '../jobs/service.js';
import type { JobRecord } from '../jobs/types.js';
import type { EmulatorService } from './contract.js';

/** The Vertex AI JobService. */
export const vertexJobs: EmulatorService = {
  name: 'vertex-jobs',
  create(core) {
    const { iam, projectNumber } = core;
    const serviceAgent = `service-${projectNumber}@gcp-sa-aiplatform-cc.iam.gserviceaccount.com`;
    iam.ensureServiceAccount(serviceAgent);
    iam.grant(serviceAgent, ['artifactregistry.repositories.downloadArtifacts']);
    const jobs = new JobService({
      ctx: core.ctx,
      clock: core.clock,
      projectNumber,
      timings: core.timings,
      executor: core.executor,
      authenticate: (authorization) => void iam.authenticate(authorization),
      serviceAccountExists: (email) => iam.hasServiceAccount(email),
      serviceAccountResource: (email) => iam.serviceAccountResource(email),
      onChange: core.onChange,
      regions: core.regions,
      capacity: core.capacity,
      runServices: {
        projectId: core.projectId,
        projectNumber,
        region: core.region,
        registryAddress: () => core.endpoints.registryAddress,
        pullAuth: () => ({
          username: 'oauth2accesstoken',
          password: iam.issueToken(serviceAgent, 3600).token,
          serveraddress: core.endpoints.registryAddress,
        }),
      },
    });
    return {
      grpc: jobs.grpcModules().filter((m) => m.name !== 'google.longrunning.Operations'),
      // Vertex answers GetOperation for every name the other services do not own (NOT_FOUND unless it is a job's).
      unknownOperation: (name, authorization) => jobs.getOperation({ name }, authorization),
      state: { key: 'jobs', save: () => jobs.toJSON(), restore: (saved) => jobs.load(saved as JobRecord[]) },
      stop: () => jobs.close(),
    };
  },
};
