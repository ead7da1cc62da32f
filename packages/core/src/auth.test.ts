import { describe, expect, test } from 'vitest';
import {
  type AuthCredentials,
  type AuthStrategy,
  declined,
  defineAuthStrategy,
  NoCredentialsError,
  resolveAuthChain,
} from './auth.js';
import { AuthError } from './errors.js';

const context = { env: {}, homedir: '/home/test', warn: () => {} };
const client = { getAccessToken: async () => ({ token: 't' }), getRequestHeaders: async () => ({}) };
const creds = (strategy: string): AuthCredentials => ({
  strategy,
  authClient: client,
  projectId: 'p',
  region: undefined,
  principal: undefined,
  source: strategy,
  accessToken: async () => ({ token: 't', expiresAt: undefined }),
});

describe('resolveAuthChain', () => {
  test('the first strategy that answers wins; later ones are not asked', async () => {
    const asked: string[] = [];
    const strategy = (name: string, answers: boolean): AuthStrategy =>
      defineAuthStrategy({
        name,
        async resolve() {
          asked.push(name);
          return answers ? { credentials: creds(name) } : declined(`${name} is not configured`);
        },
      });
    const found = await resolveAuthChain([strategy('a', false), strategy('b', true), strategy('c', true)], context);
    expect(found.strategy).toBe('b');
    expect(asked).toEqual(['a', 'b']);
  });

  test('when none answers, one AuthError lists every strategy and its reason', async () => {
    const strategies = ['env', 'gcloud-adc'].map((name) =>
      defineAuthStrategy({ name, resolve: async () => declined(`no ${name}`) }),
    );
    const error = await resolveAuthChain(strategies, context).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoCredentialsError);
    expect(error).toBeInstanceOf(AuthError);
    expect((error as NoCredentialsError).code).toBe('AUTH');
    expect((error as Error).message).toBe(
      '[vertex-launch] [auth] No credentials found. Tried, in order:\n  - env: no env\n  - gcloud-adc: no gcloud-adc',
    );
    expect((error as NoCredentialsError).attempts).toEqual([
      { strategy: 'env', reason: 'no env' },
      { strategy: 'gcloud-adc', reason: 'no gcloud-adc' },
    ]);
  });

  test('an error thrown by a strategy propagates (a broken explicit setup never falls through)', async () => {
    const broken = defineAuthStrategy({
      name: 'broken',
      resolve: async () => {
        throw new AuthError('key file unreadable');
      },
    });
    const never = defineAuthStrategy({ name: 'never', resolve: async () => ({ credentials: creds('never') }) });
    await expect(resolveAuthChain([broken, never], context)).rejects.toThrow('key file unreadable');
  });

  test('strategy names must be kebab-case', () => {
    expect(() => defineAuthStrategy({ name: 'Gcloud ADC', resolve: async () => declined('x') })).toThrow(
      '[vertex-launch] [auth] Strategy name "Gcloud ADC" must be kebab-case, e.g. "gcloud-adc".',
    );
  });
});
