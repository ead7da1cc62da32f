/** The {@link Emulator} object `startEmulator()` resolves with: endpoints, client options, controls and `stop()`. */
import type { Emulator } from './api.js';
import { grpcClientOptions } from './client-options/grpc.js';
import { storageClientOptions } from './client-options/storage.js';
import { fromLocalImageRef, parseRegistryImage, toLocalImageRef } from './registry/names.js';
import { pushPlaceholderImage } from './registry/placeholder.js';
import { type Seed, unlimitedAsZero } from './seed.js';
import type { Served } from './serve.js';
import { cloudBuildServiceAccount } from './services/cloud-build.js';
import type { Wired } from './wire.js';

/** The handle of a served emulator. */
export function emulatorHandle(core: Seed, wired: Wired, served: Served): Emulator {
  const { projectId, projectNumber, region, host, iam, adminToken, adminEmail, dataDir } = core;
  const { httpUrl, registryAddress } = served;
  const env: Record<string, string> = {
    VERTEX_LAUNCH_EMULATOR_HTTP: httpUrl,
    VERTEX_LAUNCH_EMULATOR_GRPC: served.grpcEndpoint,
    VERTEX_LAUNCH_EMULATOR_CA: core.caFile,
    VERTEX_LAUNCH_EMULATOR_REGISTRY: registryAddress,
    GOOGLE_CLOUD_PROJECT: projectId,
    GOOGLE_CLOUD_REGION: region,
    GOOGLE_OAUTH_ACCESS_TOKEN: adminToken,
    METADATA_SERVER_DETECTION: 'none',
  };
  const clientOptions = (authClient: unknown, clientPackage: string) =>
    grpcClientOptions(
      host,
      served.grpcPort,
      core.tls.certPem,
      authClient === undefined ? adminToken : authClient,
      clientPackage,
    );
  let stopping: Promise<void> | undefined;
  return {
    projectId,
    projectNumber,
    region,
    httpUrl,
    grpc: { host, port: served.grpcPort },
    caCertPem: core.tls.certPem,
    caFile: core.caFile,
    adminToken,
    env,
    dataDir,
    jobServiceClientOptions: (authClient?: unknown) => clientOptions(authClient, '@google-cloud/aiplatform'),
    artifactRegistryClientOptions: (authClient?: unknown) =>
      clientOptions(authClient, '@google-cloud/artifact-registry'),
    cloudBuildClientOptions: (authClient?: unknown) => clientOptions(authClient, '@google-cloud/cloudbuild'),
    cloudBuildServiceAccount: cloudBuildServiceAccount(projectNumber),
    storageClientOptions: (token) => storageClientOptions({ httpUrl, projectId, token: token ?? adminToken }),
    iam: {
      createServiceAccount: (name, opts) => iam.createServiceAccount(name, opts?.permissions),
      createUser: (email, opts) => iam.createUser(email, opts?.permissions),
      addExternalIdentity: (subject, opts) => iam.addExternalIdentity(subject, opts),
      grant: (member, permissions, resource) => iam.grant(member, permissions, resource),
      revoke: (member, permissions, resource) => iam.revoke(member, permissions, resource),
      issueToken: (member, ttl) => iam.issueToken(member, ttl).token,
      serviceAccountResource: (email) => iam.serviceAccountResource(email),
      getPolicy: (resource) => iam.policies.get(iam.canonicalResource(resource)),
      addBinding(role, member, resource) {
        const key = iam.canonicalResource(resource);
        const policy = iam.policies.get(key);
        const binding = policy.bindings.find((b) => b.role === role);
        if (binding) binding.members.push(member);
        else policy.bindings.push({ role, members: [member] });
        iam.policies.set(key, policy);
      },
      adminEmail,
      runnerEmail: core.runnerEmail,
    },
    faults: {
      seed: core.faults.seed,
      inject: (method, fault) => core.faults.inject(method, fault),
      clear: (method) => core.faults.clear(method),
      injected: () => core.faults.injected(),
    },
    services: {
      isEnabled: (name) => core.serviceUsage.isEnabled(name),
      enable: (name) => core.serviceUsage.enable(name),
      disable: (name) => core.serviceUsage.disable(name),
    },
    counters: () => core.faults.counters(),
    resetCounters: () => core.faults.resetCounters(),
    setQuota: (meter, perMinute) => core.quotas.setLimit(meter, unlimitedAsZero(perMinute)),
    regions: core.regions,
    setCapacity: (rules) => core.capacity.setCapacity(rules),
    setAcceleratorQuota: (rules) => core.capacity.setAcceleratorQuota(rules),
    registry: { address: registryAddress },
    executor: core.executor.name,
    toLocalImageRef: (uri) => toLocalImageRef(uri, registryAddress),
    fromLocalImageRef: (ref) => fromLocalImageRef(ref),
    dockerAuth: (member) => ({
      username: 'oauth2accesstoken',
      password: iam.issueToken(member ?? adminEmail).token,
      serveraddress: registryAddress,
    }),
    createDockerRepository(location, repositoryId) {
      const existing = core.repositories.find(projectId, location, repositoryId);
      return (existing ?? core.repositories.create(projectId, location, repositoryId, { format: 'DOCKER' })).name;
    },
    async seedImage(imageUri) {
      const parsed = parseRegistryImage(imageUri);
      if (!parsed) {
        throw new TypeError(
          `seedImage: "${imageUri}" is not an Artifact Registry image URI (<location>-docker.pkg.dev/<project>/<repository>/<image>[:tag]).`,
        );
      }
      if (!core.repositories.find(projectId, parsed.location, parsed.repository))
        core.repositories.create(projectId, parsed.location, parsed.repository, { format: 'DOCKER' });
      return pushPlaceholderImage({ registry: registryAddress, token: adminToken }, imageUri);
    },
    clock: { now: core.clock.now, advance: (ms) => core.clock.advance(ms) },
    logEntries: () => core.logs.all(),
    summary: () => ({
      projectId,
      projectNumber,
      region,
      endpoints: {
        http: httpUrl,
        grpc: served.grpcEndpoint,
        oauth2Token: `${httpUrl}/token`,
        sts: `${httpUrl}/v1/token`,
        iamCredentials: httpUrl,
        metadataHost: `${served.hostInUrl}:${served.httpPort}`,
        storage: httpUrl,
        logging: httpUrl,
        registry: registryAddress,
      },
      caFile: core.caFile,
      env: { ...env },
      dataDir: dataDir ?? null,
      pid: process.pid,
    }),
    stop() {
      stopping ??= stopAll(core, wired, served);
      return stopping;
    },
  };
}

/** Ends the work in flight, closes the servers, the executor and the registry, flushes state, removes temp dirs. */
async function stopAll(core: Seed, wired: Wired, served: Served): Promise<void> {
  await wired.stop();
  core.clock.close();
  await served.stop();
  await core.executor.close?.();
  await core.registryBackend.stop();
  for (const service of wired.http) {
    if (core.dataDir) await service.flush?.();
    await service.close?.();
  }
  if (core.dataDir) await core.persistence.flush();
  await core.removeTempDirs();
}
