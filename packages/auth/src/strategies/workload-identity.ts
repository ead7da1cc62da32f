/**
 * `workloadIdentity()`: credentials the platform provides. Without options it asks the GCE/GKE metadata
 * server for the attached service account; with `credentialConfig` it uses workload identity federation (an
 * `external_account` file or object, e.g. from a CI provider's OIDC token), including service-account impersonation.
 */
import { type AuthStrategy, ConfigError, declined, defineAuthStrategy } from '@vertex-launch/core';
import { ManagedAuthClient, tokenError } from '../auth-client.js';
import { clientFromJson, readCredentialFile } from '../credential-file.js';
import { explicitMetadataHost } from '../endpoints.js';
import { MetadataServer, regionOfZone } from '../metadata.js';
import { type CommonStrategyOptions, finish, prepare } from './common.js';

/** Strategy name of {@link workloadIdentity}. */
export const WORKLOAD_IDENTITY = 'workload-identity';

/** Options of {@link workloadIdentity}. */
export interface WorkloadIdentityOptions extends CommonStrategyOptions {
  /** An `external_account` (workload identity federation) config: a file path or the parsed object. Default: the metadata server. */
  credentialConfig?: string | Record<string, unknown>;
  /** Metadata-server service account to use. Default `default`. */
  serviceAccount?: string;
  /** How long to wait for the metadata server to answer the probe. Default 500 ms. */
  probeTimeoutMs?: number;
}

/** Uses the metadata server (GKE/GCE) or a workload identity federation config; declines when neither is there. */
export function workloadIdentity(options: WorkloadIdentityOptions = {}): AuthStrategy<ManagedAuthClient> {
  const config = options.credentialConfig;
  if (config !== undefined && typeof config === 'object' && config.type !== 'external_account') {
    throw new ConfigError(
      `[vertex-launch] [auth:${WORKLOAD_IDENTITY}] \`credentialConfig\` must be an external_account config, got type ${JSON.stringify(config.type)}.`,
      [{ path: 'credentialConfig.type', message: 'must be "external_account"', severity: 'error' }],
    );
  }
  return defineAuthStrategy({
    name: WORKLOAD_IDENTITY,
    async resolve(context) {
      const run = prepare(WORKLOAD_IDENTITY, options, context);
      if (config !== undefined) {
        const where = typeof config === 'string' ? config : 'the `credentialConfig` option';
        const json =
          typeof config === 'string'
            ? await readCredentialFile(config, '`credentialConfig`', WORKLOAD_IDENTITY, run.warn)
            : config;
        if (json.type !== 'external_account') {
          throw new ConfigError(
            `[vertex-launch] [auth:${WORKLOAD_IDENTITY}] ${where} has type ${JSON.stringify(json.type)}; workload identity federation needs an external_account config (\`gcloud iam workload-identity-pools create-cred-config\`).`,
            [{ path: 'type', message: 'must be "external_account"', severity: 'error' }],
            { file: where },
          );
        }
        const built = clientFromJson(json, where, run.build);
        return {
          credentials: finish(
            run,
            {
              client: built.client,
              source: built.client.source,
              principal: built.principal,
              projectId: built.projectId,
              region: undefined,
            },
            options,
          ),
        };
      }

      const host = run.endpoints.metadataHost;
      const detection = run.env.METADATA_SERVER_DETECTION?.trim().toLowerCase();
      const explicitHost = explicitMetadataHost(options.endpoints);
      if (detection === 'none' && !explicitHost) {
        return declined(
          'metadata server detection is disabled (METADATA_SERVER_DETECTION=none) and no credentialConfig is set',
        );
      }
      const server = new MetadataServer(host);
      if (detection !== 'assume-present' && !(await server.available(options.probeTimeoutMs ?? 500))) {
        return declined(`no metadata server answered at ${host} (not on GKE/GCE) and no credentialConfig is set`);
      }
      const account = options.serviceAccount ?? 'default';
      const where = run.env.KUBERNETES_SERVICE_HOST ? 'GKE workload identity' : 'GCE metadata server';
      let email: string | undefined;
      let projectId: string | undefined;
      let zone: string | undefined;
      try {
        [email, projectId, zone] = await Promise.all([
          server.get(`instance/service-accounts/${encodeURIComponent(account)}/email`),
          server.get('project/project-id'),
          server.get('instance/zone'),
        ]);
      } catch (error) {
        throw tokenError(WORKLOAD_IDENTITY, `the metadata server at ${host}`, error, []);
      }
      if (email === undefined) {
        throw tokenError(
          WORKLOAD_IDENTITY,
          `the metadata server at ${host}`,
          new Error(
            `no service account "${account}" is attached to this ${where === 'GKE workload identity' ? 'pod' : 'instance'}`,
          ),
          [],
        );
      }
      const source = `${where} (metadata server at ${host}) as ${email.trim()}`;
      const now = options.now ?? (() => Date.now());
      // The metadata server grants the instance's scopes; ask for others only when set explicitly.
      const scopes = options.scopes ?? [];
      const client = new ManagedAuthClient({
        strategy: WORKLOAD_IDENTITY,
        source,
        fetch: async () => {
          try {
            return await server.token(account, scopes, now);
          } catch (error) {
            throw tokenError(WORKLOAD_IDENTITY, source, error, []);
          }
        },
        now,
        ...(options.refreshMarginMs === undefined ? {} : { refreshMarginMs: options.refreshMarginMs }),
      });
      return {
        credentials: finish(
          run,
          { client, source, principal: email.trim(), projectId: projectId?.trim(), region: regionOfZone(zone) },
          options,
        ),
      };
    },
  });
}
