import { describe, expect, test } from 'vitest';
import { GOOGLE_ENDPOINTS, redirectGoogleUrl, resolveEndpoints } from './endpoints.js';

describe('resolveEndpoints', () => {
  test('Google by default; GCE_METADATA_HOST moves only the metadata server', () => {
    expect(resolveEndpoints(undefined, {})).toEqual({
      ...GOOGLE_ENDPOINTS,
      origin: 'google',
      metadataHostExplicit: false,
    });
    expect(resolveEndpoints(undefined, { GCE_METADATA_HOST: '127.0.0.1:9000' })).toMatchObject({
      oauth2TokenUrl: GOOGLE_ENDPOINTS.oauth2TokenUrl,
      metadataHost: '127.0.0.1:9000',
      metadataHostExplicit: true,
    });
  });

  test('the emulator environment moves every endpoint; explicit options win per key', () => {
    const env = { VERTEX_LAUNCH_EMULATOR_HTTP: 'http://127.0.0.1:8085/' };
    expect(resolveEndpoints(undefined, env)).toEqual({
      oauth2TokenUrl: 'http://127.0.0.1:8085/token',
      stsUrl: 'http://127.0.0.1:8085/v1/token',
      iamCredentialsUrl: 'http://127.0.0.1:8085',
      metadataHost: '127.0.0.1:8085',
      resourceManagerUrl: 'http://127.0.0.1:8085',
      iamUrl: 'http://127.0.0.1:8085',
      origin: 'emulator',
      metadataHostExplicit: true,
    });
    expect(resolveEndpoints({ stsUrl: 'http://127.0.0.1:1/sts' }, env)).toMatchObject({
      stsUrl: 'http://127.0.0.1:1/sts',
      oauth2TokenUrl: 'http://127.0.0.1:8085/token',
      origin: 'explicit',
    });
  });

  test('a malformed emulator URL names the variable', () => {
    expect(() => resolveEndpoints(undefined, { VERTEX_LAUNCH_EMULATOR_HTTP: 'localhost 8085' })).toThrow(
      'VERTEX_LAUNCH_EMULATOR_HTTP="localhost 8085" is not a URL',
    );
  });
});

describe('redirectGoogleUrl', () => {
  const endpoints = resolveEndpoints(undefined, { VERTEX_LAUNCH_EMULATOR_HTTP: 'http://127.0.0.1:8085' });
  test('rewrites Google token, STS and IAM Credentials URLs, and nothing else', () => {
    expect(redirectGoogleUrl('https://oauth2.googleapis.com/token', endpoints)).toBe('http://127.0.0.1:8085/token');
    expect(redirectGoogleUrl('https://sts.googleapis.com/v1/token', endpoints)).toBe('http://127.0.0.1:8085/v1/token');
    expect(
      redirectGoogleUrl(
        'https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/a@b.iam.gserviceaccount.com:generateAccessToken',
        endpoints,
      ),
    ).toBe('http://127.0.0.1:8085/v1/projects/-/serviceAccounts/a@b.iam.gserviceaccount.com:generateAccessToken');
    expect(redirectGoogleUrl('https://oauth2.googleapis.com/tokeninfo', endpoints)).toBe(
      'https://oauth2.googleapis.com/tokeninfo',
    );
    expect(redirectGoogleUrl('https://example.com/token', endpoints)).toBe('https://example.com/token');
  });
});
