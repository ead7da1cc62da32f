/**
 * `environment()`: credentials named by environment variables. A raw access token
 * (`GOOGLE_OAUTH_ACCESS_TOKEN`, `CLOUDSDK_AUTH_ACCESS_TOKEN`) wins — it is the most deliberate, short-lived
 * override, as in gcloud — then the credential file in `GOOGLE_APPLICATION_CREDENTIALS`. Project and region come
 * from `GOOGLE_CLOUD_PROJECT`/`GCLOUD_PROJECT`/`CLOUDSDK_CORE_PROJECT` and
 * `GOOGLE_CLOUD_REGION`/`CLOUDSDK_AI_REGION`/`CLOUDSDK_COMPUTE_REGION`.
 */
import { type AuthStrategy, declined, defineAuthStrategy } from '@vertex-launch/core';
import { ManagedAuthClient } from '../auth-client.js';
import { clientFromJson, readCredentialFile } from '../credential-file.js';
import {
  type CommonStrategyOptions,
  finish,
  firstEnv,
  PROJECT_VARIABLES,
  prepare,
  REGION_VARIABLES,
  TOKEN_VARIABLES,
} from './common.js';

/** Strategy name of {@link environment}. */
export const ENVIRONMENT = 'environment';

/** Options of {@link environment}. */
export type EnvironmentOptions = CommonStrategyOptions;

/** Reads credentials, project and region from environment variables; declines when none names credentials. */
export function environment(options: EnvironmentOptions = {}): AuthStrategy<ManagedAuthClient> {
  return defineAuthStrategy({
    name: ENVIRONMENT,
    async resolve(context) {
      const run = prepare(ENVIRONMENT, options, context);
      const project = firstEnv(run.env, PROJECT_VARIABLES);
      const region = firstEnv(run.env, REGION_VARIABLES);
      const token = firstEnv(run.env, TOKEN_VARIABLES);
      const file = firstEnv(run.env, ['GOOGLE_APPLICATION_CREDENTIALS']);
      if (token) {
        const value = token.value;
        const source = `access token from $${token.name}`;
        const client = new ManagedAuthClient({
          strategy: ENVIRONMENT,
          source,
          // A raw token cannot be refreshed; its expiry is unknown until the server refuses it.
          fetch: async () => ({ token: value, expiresAt: undefined }),
          ...(options.now ? { now: options.now } : {}),
        });
        return {
          credentials: finish(
            run,
            { client, source, principal: undefined, projectId: project?.value, region: region?.value },
            options,
          ),
        };
      }
      if (file) {
        const json = await readCredentialFile(file.value, '$GOOGLE_APPLICATION_CREDENTIALS', ENVIRONMENT, run.warn);
        const built = clientFromJson(json, file.value, run.build);
        return {
          credentials: finish(
            run,
            {
              client: built.client,
              source: `$GOOGLE_APPLICATION_CREDENTIALS: ${built.client.source}`,
              principal: built.principal,
              projectId: project?.value ?? built.projectId,
              region: region?.value,
            },
            options,
          ),
        };
      }
      return declined(
        `none of ${[...TOKEN_VARIABLES, 'GOOGLE_APPLICATION_CREDENTIALS'].map((n) => `$${n}`).join(', ')} is set`,
      );
    },
  });
}
