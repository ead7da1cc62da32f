/**
 * Cloud Build (`google.devtools.cloudbuild.v1.CloudBuild`, ../cloudbuild/service.ts) as an emulator service: builds
 * run on the core's Docker daemon as the Cloud Build service account (or the build's own), reading their source from
 * and writing their logs to the emulator's Cloud Storage.
 */
import { GcsClient } from '../cloudbuild/gcs.js';
import { CloudBuildService } from '../cloudbuild/service.js';
import type { EmulatorService } from './contract.js';

/** The service account builds run as unless they name one: `<project number>@cloudbuild.gserviceaccount.com`. */
export function cloudBuildServiceAccount(projectNumber: string): string {
  return `${projectNumber}@cloudbuild.gserviceaccount.com`;
}

/** Cloud Build. */
export const cloudBuild: EmulatorService = {
  name: 'cloud-build',
  create(core) {
    const { iam } = core;
    const serviceAccount = cloudBuildServiceAccount(core.projectNumber);
    iam.ensureServiceAccount(serviceAccount);
    iam.grant(serviceAccount, [
      'storage.objects.get',
      'storage.objects.list',
      'storage.objects.create',
      'storage.objects.delete',
      'storage.buckets.get',
      'artifactregistry.repositories.downloadArtifacts',
      'artifactregistry.repositories.uploadArtifacts',
      'logging.logEntries.create',
    ]);
    const service = new CloudBuildService({
      ctx: core.ctx,
      clock: core.clock,
      projectNumber: core.projectNumber,
      authenticate: (authorization) => void iam.authenticate(authorization),
      serviceAccountExists: (email) => iam.hasServiceAccount(email),
      serviceAccountResource: (email) => iam.serviceAccountResource(email),
      defaultServiceAccount: serviceAccount,
      runner: {
        docker: core.docker,
        registryAddress: () => core.endpoints.registryAddress,
        tokenFor: (email) => iam.issueToken(email, 3600).token,
        adminToken: () => core.adminToken,
        gcs: new GcsClient(() => core.endpoints.httpUrl),
      },
    });
    return { grpc: service.grpcModules(), operations: service, stop: () => service.close() };
  },
};
