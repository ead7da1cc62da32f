import { describe, expect, test } from 'vitest';
import {
  credentialValues,
  directLaunchEnvAccess,
  envRefusal,
  isCredentialEnvName,
  maskSecrets,
  parseAllowedEnv,
} from './env-access.js';
import { validateQueueConfig } from './validate.js';

describe('env access', () => {
  test('credential names', () => {
    for (const name of [
      'GOOGLE_OAUTH_ACCESS_TOKEN',
      'GOOGLE_APPLICATION_CREDENTIALS',
      'CLOUDSDK_AUTH_ACCESS_TOKEN_FILE',
      'API_KEY',
      'WANDB_API_KEY',
      'CLIENT_SECRET',
      'GITHUB_TOKEN',
      'NPM_TOKEN',
      'PGPASSWORD',
      'DB_PASSWORD',
      'AWS_REGION',
      'AWS_SECRET_ACCESS_KEY',
      'DATABASE_URL',
      'VERTEX_LAUNCH_QUEUE_DB',
      'github_token',
    ])
      expect(isCredentialEnvName(name), name).toBe(true);
    for (const name of ['HOME', 'PATH', 'PWD', 'GOOGLE_CLOUD_PROJECT', 'WANDB_PROJECT', 'TOKENIZER', 'DATA_DIR'])
      expect(isCredentialEnvName(name), name).toBe(false);
  });

  test('refusals name the variable, the allowlist and the fix', () => {
    expect(envRefusal('HOME', {})).toBeUndefined();
    expect(envRefusal('API_KEY', { from: 'VERTEX_LAUNCH_ALLOWED_ENV' })).toBe(
      '`${env:API_KEY}` is refused: API_KEY looks like a credential, and credentials are read only when named in VERTEX_LAUNCH_ALLOWED_ENV. Name it there if you mean it, or pass a secret to the job through Secret Manager or the job’s own service account instead (docs/macros.md)',
    );
    expect(envRefusal('API_KEY', { allowed: ['API_KEY'] })).toBeUndefined();
    expect(envRefusal('HOME', { allowed: [], from: '`allowed_env`' })).toContain(
      'HOME is not in `allowed_env`, the list of variables a queue config may read. Add HOME there',
    );
  });

  test('allowlist parsing and the direct launch default', () => {
    expect(parseAllowedEnv(' A, B  C,')).toEqual(['A', 'B', 'C']);
    expect(parseAllowedEnv(' ')).toBeUndefined();
    expect(directLaunchEnvAccess({})).toEqual({ from: 'VERTEX_LAUNCH_ALLOWED_ENV' });
    expect(directLaunchEnvAccess({ VERTEX_LAUNCH_ALLOWED_ENV: 'X,API_KEY' })).toEqual({
      allowed: ['X', 'API_KEY'],
      from: 'VERTEX_LAUNCH_ALLOWED_ENV',
    });
  });

  test('masking: allowed credential values and token or key shapes', () => {
    const env = { API_KEY: 'sk-12345', HOME: '/home/me', X_TOKEN: 'abc' };
    const secrets = credentialValues(env, { allowed: ['API_KEY', 'HOME', 'X_TOKEN'] });
    expect(secrets).toEqual(['sk-12345']);
    expect(maskSecrets('k=sk-12345 h=/home/me t=ya29.a0AfH6SM-x_y.z', secrets)).toBe('k=*** h=/home/me t=***');
    expect(maskSecrets('x -----BEGIN PRIVATE KEY-----\nMII\n-----END PRIVATE KEY----- y', [])).toBe('x *** y');
  });
});

describe('validation warns about credential variables', () => {
  test('a queue config reading a credential gets a warning with the path and the fix; others none', () => {
    const config = (value: string) => ({
      spec: {
        staging_bucket: 'gs://my-bucket',
        worker_pool_specs: [
          {
            machine_spec: { machine_type: 'n1-standard-4' },
            container_spec: { image_uri: '${image_uri}', env: [{ name: 'T', value }] },
          },
        ],
      },
    });
    const warned = validateQueueConfig(config('${env:GOOGLE_OAUTH_ACCESS_TOKEN}'));
    expect(warned.issues).toEqual([
      {
        path: 'spec.worker_pool_specs[0].container_spec.env[0].value',
        severity: 'warning',
        message: expect.stringContaining(
          '`${env:GOOGLE_OAUTH_ACCESS_TOKEN}` reads a credential variable: launchers expand it only when their allowlist names it',
        ),
      },
    ]);
    expect(warned.ok).toBe(true);
    expect(validateQueueConfig(config('${env:WANDB_PROJECT}')).issues).toEqual([]);
  });
});
