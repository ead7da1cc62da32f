/**
 * Every service the emulator serves, in mount order (HTTP surfaces are asked in this order). Adding a service: write
 * one file exporting an {@link EmulatorService} (see ./contract.ts and, for a small one, ./iam-policy.ts) and add it
 * to this list.
 */
import { artifactRegistry } from './artifact-registry.js';
import { cloudBuild } from './cloud-build.js';
import type { EmulatorService } from './contract.js';
import { iamPolicy } from './iam-policy.js';
import { identity } from './identity.js';
import { logging } from './logging.js';
import { serviceUsage } from './service-usage.js';
import { storage } from './storage/service.js';
import { vertexJobs } from './vertex-jobs.js';

export type { EmulatorService, ServiceParts } from './contract.js';

/** The services `startEmulator()` mounts. */
export const SERVICES: readonly EmulatorService[] = [
  identity,
  iamPolicy,
  serviceUsage,
  storage,
  logging,
  vertexJobs,
  artifactRegistry,
  cloudBuild,
];
