/**
 * `gcloudAdc()`: the credentials `gcloud auth application-default login` writes
 * (`application_default_credentials.json` in `CLOUDSDK_CONFIG` or the user's gcloud folder), with project and
 * region read from gcloud's active configuration file. `gcloud` itself is never run.
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type AuthStrategy,
  declined,
  defineAuthStrategy,
  gcloudConfigDir,
  readGcloudConfiguration,
} from '@vertex-launch/core';
import type { ManagedAuthClient } from '../auth-client.js';
import { clientFromJson, readCredentialFile } from '../credential-file.js';

import { type CommonStrategyOptions, finish, prepare } from './common.js';

/** Strategy name of {@link gcloudAdc}. */
export const GCLOUD_ADC = 'gcloud-adc';

/** Options of {@link gcloudAdc}. */
export interface GcloudAdcOptions extends CommonStrategyOptions {
  /** gcloud's configuration folder. Default `$CLOUDSDK_CONFIG`, else `~/.config/gcloud` (`%APPDATA%\gcloud` on Windows). */
  configDir?: string;
}

/** Uses gcloud's application-default credentials; declines when the file does not exist. */
export function gcloudAdc(options: GcloudAdcOptions = {}): AuthStrategy<ManagedAuthClient> {
  return defineAuthStrategy({
    name: GCLOUD_ADC,
    async resolve(context) {
      const run = prepare(GCLOUD_ADC, options, context);
      const dir = options.configDir ?? gcloudConfigDir(run.env, run.homedir);
      const file = join(dir, 'application_default_credentials.json');
      try {
        await access(file);
      } catch {
        return declined(`${file} does not exist (run \`gcloud auth application-default login\`)`);
      }
      const json = await readCredentialFile(file, 'gcloud application-default credentials', GCLOUD_ADC, run.warn);
      const built = clientFromJson(json, file, run.build);
      const config = await readGcloudConfiguration(dir, run.env);
      const facts = [
        config.project ? `project from gcloud configuration "${config.name}"` : undefined,
        config.region ? `region from ${config.regionProperty}` : undefined,
      ].filter(Boolean);
      return {
        credentials: finish(
          run,
          {
            client: built.client,
            source: `gcloud application-default credentials: ${built.client.source}${facts.length ? `; ${facts.join(', ')}` : ''}`,
            principal: built.principal,
            projectId: config.project ?? built.projectId,
            region: config.region,
          },
          options,
        ),
      };
    },
  });
}
