import { describe, expect, test } from 'vitest';
import { credentialKindByName, describeCredentialFindings, normalizeAllowSecrets, sniffCredential } from './secrets.js';

const head = (text: string) => Buffer.from(text);

describe('credential detection', () => {
  test('by name: .env files (not templates) and SSH keys (not public ones)', () => {
    expect(credentialKindByName('.env')).toBe('dotenv');
    expect(credentialKindByName('conf/.env.production')).toBe('dotenv');
    expect(credentialKindByName('.env.example')).toBeUndefined();
    expect(credentialKindByName('.ssh/id_ed25519')).toBe('ssh-private-key');
    expect(credentialKindByName('id_rsa')).toBe('ssh-private-key');
    expect(credentialKindByName('id_rsa.pub')).toBeUndefined();
    expect(credentialKindByName('environment.py')).toBeUndefined();
  });

  test('by content: service-account keys, refresh tokens, PEM private keys, npm tokens', () => {
    const sa =
      '{\n  "type": "service_account",\n  "private_key_id": "1",\n  "private_key": "-----BEGIN PRIVATE KEY-----\\n"\n}';
    expect(sniffCredential('anything.json', head(sa))).toBe('gcp-service-account-key');
    expect(
      sniffCredential('credentials.json', head('{"client_id":"a","refresh_token":"1//x","type":"authorized_user"}')),
    ).toBe('oauth-refresh-token');
    expect(sniffCredential('certs/server.key', head('-----BEGIN EC PRIVATE KEY-----\nMHc\n'))).toBe('private-key');
    expect(sniffCredential('k', head('-----BEGIN OPENSSH PRIVATE KEY-----\n'))).toBe('private-key');
    expect(sniffCredential('.npmrc', head('registry=https://r/\n//r/:_authToken=abc\n'))).toBe('npm-token');
    expect(sniffCredential('.npmrc', head('registry=https://r/\n'))).toBeUndefined();
  });

  test('look-alikes and binary files are not flagged', () => {
    expect(sniffCredential('schema.json', head('{"type": "service_account"}'))).toBeUndefined();
    expect(sniffCredential('cert.pem', head('-----BEGIN CERTIFICATE-----\n'))).toBeUndefined();
    expect(sniffCredential('tokens.json', head('{"refresh_token": ""}'))).toBeUndefined();
    const binary = Buffer.concat([Buffer.from([0, 1, 2]), head('-----BEGIN RSA PRIVATE KEY-----')]);
    expect(sniffCredential('model.bin', binary)).toBeUndefined();
  });

  test('only the first 64 KiB are looked at', () => {
    const late = Buffer.concat([Buffer.alloc(70 * 1024, 0x20), head('-----BEGIN RSA PRIVATE KEY-----')]);
    expect(sniffCredential('notes.txt', late)).toBeUndefined();
  });

  test('messages list paths and kinds with the fix, never contents', () => {
    const { message, hint } = describeCredentialFindings([{ path: 'a/.env', kind: 'dotenv' }]);
    expect(message).toBe(
      'Refusing to build: 1 file in the build context looks like credentials and would be baked into the image:\n' +
        '  - a/.env (environment file)',
    );
    expect(hint).toBe(
      "Add it to .dockerignore (one path per line, e.g. `a/.env`), or, if it belongs in the image, pass `allowSecrets: ['a/.env']`.",
    );
    expect(normalizeAllowSecrets(['./keys/', '/x.pem', '.'])).toEqual(['keys', 'x.pem']);
  });
});
