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

  test('by name: login files, cloud and registry credential stores', () => {
    const cases: [string, string][] = [
      ['.netrc', 'netrc'],
      ['home/_netrc', 'netrc'],
      ['.git-credentials', 'git-credentials'],
      ['home/.aws/credentials', 'aws-credentials'],
      ['.docker/config.json', 'docker-config'],
      ['.pypirc', 'pypirc'],
      ['.kube/config', 'kubeconfig'],
      ['.config/gcloud/access_tokens.db', 'gcloud-credentials'],
      ['gcloud/credentials.db', 'gcloud-credentials'],
      ['.config/gcloud/legacy_credentials/me@example.com/adc.json', 'gcloud-credentials'],
      ['.pgpass', 'pgpass'],
    ];
    for (const [path, kind] of cases) expect(credentialKindByName(path), path).toBe(kind);
    for (const path of ['aws/credentials.md', 'config.json', 'docker/config.json', 'kube/config', 'netrc.py'])
      expect(credentialKindByName(path), path).toBeUndefined();
  });

  test('by content: access tokens, kubeconfigs with credentials, service-account JSON without its type', () => {
    expect(sniffCredential('notes.txt', head(`export TOKEN=ya29.${'a0AfB_x-'.repeat(5)}\n`))).toBe(
      'oauth-access-token',
    );
    expect(sniffCredential('notes.txt', head('see ya29.short'))).toBeUndefined();
    const kube = 'apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user:\n    token: abcdef\n';
    expect(sniffCredential('deploy/kubeconfig.yaml', head(kube))).toBe('kubeconfig');
    const kubeKey = kube.replace('token: abcdef', 'client-key-data: LS0t');
    expect(sniffCredential('k.yaml', head(kubeKey))).toBe('kubeconfig');
    const kubeExec = kube.replace('token: abcdef', 'exec:\n      command: gke-gcloud-auth-plugin');
    expect(sniffCredential('k.yaml', head(kubeExec))).toBeUndefined();
    expect(sniffCredential('sa.json', head('{"client_email": "a@b", "private_key": "MIIE"}'))).toBe(
      'gcp-service-account-key',
    );
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
