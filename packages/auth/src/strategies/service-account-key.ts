/**
 * `serviceAccountKey()`: a downloaded service-account JSON key, from a file or inline. The JSON is validated
 * when the strategy is made (inline) or resolved (file), every problem listed; a key file readable by group or
 * others draws a warning.
 */
import { type AuthStrategy, ConfigError, defineAuthStrategy } from '@vertex-launch/core';
import type { ManagedAuthClient } from '../auth-client.js';
import {
  parseCredentialJson,
  readCredentialFile,
  type ServiceAccountKeyJson,
  serviceAccountClient,
  validateServiceAccountKey,
} from '../credential-file.js';
import { type CommonStrategyOptions, finish, prepare } from './common.js';

/** Strategy name of {@link serviceAccountKey}. */
export const SERVICE_ACCOUNT_KEY = 'service-account-key';

/** Options of {@link serviceAccountKey}: a key file path, or the key itself. */
export type ServiceAccountKeyOptions = CommonStrategyOptions &
  (
    | {
        /** Path of the JSON key file. */
        keyFile: string;
        credentials?: undefined;
      }
    | {
        /** The key as an object or a JSON string (e.g. from a secret manager). */
        credentials: object | string;
        keyFile?: undefined;
      }
  );

/** Authenticates with a service-account key. Never declines: a broken key is an error. */
export function serviceAccountKey(options: ServiceAccountKeyOptions): AuthStrategy<ManagedAuthClient> {
  const hasFile = typeof options?.keyFile === 'string' && options.keyFile !== '';
  const hasInline = options?.credentials !== undefined;
  if (hasFile === hasInline) {
    throw new ConfigError(
      `[vertex-launch] [auth:${SERVICE_ACCOUNT_KEY}] Pass exactly one of \`keyFile\` (path of a JSON key) or \`credentials\` (the key object), ${hasFile ? 'not both' : 'got neither'}.`,
      [
        {
          path: hasFile ? 'credentials' : 'keyFile',
          message: hasFile ? 'conflicts with keyFile' : 'is required',
          severity: 'error',
        },
      ],
    );
  }
  let inline: ServiceAccountKeyJson | undefined;
  if (hasInline) {
    const raw =
      typeof options.credentials === 'string'
        ? parseCredentialJson(options.credentials, 'the `credentials` option', SERVICE_ACCOUNT_KEY)
        : options.credentials;
    inline = validateServiceAccountKey(raw, 'the `credentials` option', SERVICE_ACCOUNT_KEY);
  }
  return defineAuthStrategy({
    name: SERVICE_ACCOUNT_KEY,
    async resolve(context) {
      const run = prepare(SERVICE_ACCOUNT_KEY, options, context);
      let key = inline;
      let where = 'inline credentials';
      if (!key) {
        where = options.keyFile as string;
        const json = await readCredentialFile(where, '`keyFile`', SERVICE_ACCOUNT_KEY, run.warn);
        key = validateServiceAccountKey(json, where, SERVICE_ACCOUNT_KEY);
      }
      const built = serviceAccountClient(key, where, run.build);
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
    },
  });
}
