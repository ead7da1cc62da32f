// Issue #11, part 5 (the build context): generated credential-looking files (names and contents from the guard's
// rule list, in random directories) stop the build with an error that names them and never their content; template
// names and ordinary files do not. Generated symlinks that escape the context (absolute, `..` past the root, through
// other links) are refused by name; links that stay inside are kept. Issue #25, part 3: the credential files the guard
// missed (.netrc, .git-credentials, .aws/credentials, .docker/config.json, .pypirc, kubeconfigs with credentials,
// gcloud's credential stores, .pgpass, ya29. access tokens, service-account JSON without its type) are refused too.
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BuildContextError } from '@vertex-launch/core';
import { fingerprintContext } from '@vertex-launch/core/build';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { tempDir } from '../helpers.js';
import { fuzzOptions, Tally } from './arbitraries.js';

let dir: { path: string; cleanup: () => Promise<void> };
let runDir = 0;
beforeAll(async () => {
  dir = await tempDir('vxl-trust-context-');
});
afterAll(async () => {
  await dir?.cleanup();
});

/** A fresh context directory with a Dockerfile and a few ordinary files. */
async function newContext(): Promise<string> {
  const root = join(dir.path, `ctx-${runDir++}`);
  await mkdir(join(root, 'src'), { recursive: true });
  await writeFile(join(root, 'Dockerfile'), 'FROM python:3.12\nCOPY . /app\n');
  await writeFile(join(root, 'src', 'train.py'), 'print("training")\n');
  await writeFile(join(root, 'README.md'), '# trainer\n');
  return root;
}

const SECRET_MARK = 'VXL-TRUST-SECRET';
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const pkcs1 = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();

const ws = fc.constantFrom('', ' ', '\n  ', '\t');
const secretValue = fc.stringMatching(/^[A-Za-z0-9+/=_-]{8,40}$/).map((s) => `${SECRET_MARK}-${s}`);

/** A credential file: a name and content the guard's rules must recognise. */
const credential = fc.oneof(
  // Names alone: .env, .env.<anything but a template suffix>, ssh keys.
  fc.record({
    name: fc.oneof(
      fc.constant('.env'),
      fc
        .stringMatching(/^[a-z0-9_-]{1,10}$/)
        .filter((s) => !['example', 'sample', 'template', 'dist'].includes(s))
        .map((s) => `.env.${s}`),
      fc.constantFrom('id_rsa', 'id_dsa', 'id_ecdsa', 'id_ed25519', 'id_ecdsa_sk', 'id_ed25519_sk'),
    ),
    content: fc.oneof(
      secretValue.map((v) => `API_KEY=${v}\n`),
      fc.constant(''),
    ),
  }),
  // A Google service-account key, fields in any order with any spacing.
  fc
    .record({
      name: fc.stringMatching(/^[a-z0-9_-]{1,12}$/).map((n) => `${n}.json`),
      secret: secretValue,
      a: ws,
      b: ws,
      extra: fc.boolean(),
    })
    .map(({ name, secret, a, b, extra }) => ({
      name,
      content: `{${a}"type"${b}:${a}"service_account",${extra ? ' "project_id": "p",' : ''}${b}"private_key_id": "1",${a}"private_key"${b}:${a}"${secret}"}`,
    })),
  // A gcloud user credential (refresh token), with or without a .json name.
  fc
    .record({
      name: fc.constantFrom('adc.json', 'application_default_credentials.json', 'creds', 'token.txt'),
      secret: secretValue,
      a: ws,
    })
    .map(({ name, secret, a }) => ({
      name,
      content: `{${a}"client_id": "x",${a}"refresh_token"${a}:${a}"${secret}", "type": "authorized_user"}`,
    })),
  // PEM private keys of every header kind, in any file name.
  fc
    .record({
      name: fc.stringMatching(/^[a-z0-9_.-]{1,12}$/).filter((n) => n !== '.' && n !== '..'),
      pem: fc.constantFrom(
        pkcs8,
        pkcs1,
        `-----BEGIN EC PRIVATE KEY-----\n${SECRET_MARK}\n-----END EC PRIVATE KEY-----\n`,
        `-----BEGIN OPENSSH PRIVATE KEY-----\n${SECRET_MARK}\n-----END OPENSSH PRIVATE KEY-----\n`,
        `-----BEGIN ENCRYPTED PRIVATE KEY-----\n${SECRET_MARK}\n-----END ENCRYPTED PRIVATE KEY-----\n`,
      ),
      before: fc.constantFrom('', 'some text\n', '# key\n'),
    })
    .map(({ name, pem, before }) => ({ name, content: before + pem })),
  // An .npmrc with a token.
  fc
    .record({
      key: fc.constantFrom('_authToken', '_auth', '_password'),
      secret: secretValue,
      prefix: fc.constantFrom('', '//registry.npmjs.org/:'),
    })
    .map(({ key, secret, prefix }) => ({
      name: '.npmrc',
      content: `registry=https://registry.npmjs.org/\n${prefix}${key}=${secret}\n`,
    })),
);

const subdir = fc.array(fc.stringMatching(/^[a-z0-9_-]{1,8}$/), { maxLength: 3 }).map((parts) => parts.join('/'));

/** Files that look alike but are not credentials. */
const harmless = fc.oneof(
  fc.record({
    name: fc.constantFrom('.env.example', '.env.sample', '.env.template', '.env.dist'),
    content: fc.constant('API_KEY=\n'),
  }),
  fc.record({
    name: fc.constantFrom('config.json', 'package.json'),
    content: fc.constant('{"type": "module", "private_key_path": "/run/key"}'),
  }),
  fc.record({
    name: fc.constantFrom('id_rsa.pub', 'notes.md'),
    content: fc.constant('ssh-rsa AAAA user@host\n-----BEGIN PUBLIC KEY-----\n'),
  }),
  fc.record({ name: fc.constant('.npmrc'), content: fc.constant('registry=https://registry.npmjs.org/\n') }),
);

describe('credential-looking files stop the build', () => {
  test('generated credential files are refused by path, never by content; allowSecrets and look-alikes pass', async () => {
    const tally = new Tally('trust: credential files in a build context', 'builds refused naming the file');
    let allowed = 0;
    let harmlessPassed = 0;
    await fc.assert(
      fc.asyncProperty(credential, subdir, harmless, subdir, async (cred, sub, benign, benignSub) => {
        tally.generated++;
        const root = await newContext();
        const rel = sub === '' ? cred.name : `${sub}/${cred.name}`;
        const benignRel = benignSub === '' ? `x-${benign.name}` : `${benignSub}/${benign.name}`;
        await mkdir(dirname(join(root, rel)), { recursive: true });
        await mkdir(dirname(join(root, benignRel)), { recursive: true });
        await writeFile(join(root, benignRel), benign.content);
        await writeFile(join(root, rel), cred.content);
        let error: unknown;
        try {
          await fingerprintContext({ contextDir: root, statCachePath: false });
        } catch (e) {
          error = e;
        }
        expect(error, `${rel} was not refused`).toBeInstanceOf(BuildContextError);
        const e = error as BuildContextError;
        expect(e.paths).toEqual([rel]);
        expect(e.message).toContain(rel);
        expect(e.message).toContain('Refusing to build');
        expect(`${e.message}\n${e.hint}`).not.toContain(SECRET_MARK);
        tally.configErrors++;
        // Allowed explicitly (the file, or its directory), it is sent; the look-alike never stops anything.
        const manifest = await fingerprintContext({
          contextDir: root,
          statCachePath: false,
          allowSecrets: [sub === '' ? rel : `./${sub}/`],
        });
        expect(manifest.files).toContain(rel);
        expect(manifest.files).toContain(benignRel);
        allowed++;
        harmlessPassed++;
        tally.valid++;
        await rm(root, { recursive: true, force: true });
      }),
      fuzzOptions(80),
    );
    tally.print({ 'passed with allowSecrets': allowed, 'look-alike files passed': harmlessPassed });
  });
});

/** Issue #25: the credential files the guard missed before, each with the kind the error must name. */
const accessToken = fc.stringMatching(/^[A-Za-z0-9_-]{40,80}$/).map((s) => `ya29.${s}`);
const missedCredential: fc.Arbitrary<{ kind: string; name: string; content: string }> = fc.oneof(
  fc
    .record({ name: fc.constantFrom('.netrc', '_netrc'), secret: secretValue })
    .map(({ name, secret }) => ({ kind: 'netrc login file', name, content: `machine h login u password ${secret}\n` })),
  secretValue.map((secret) => ({
    kind: 'git credential store',
    name: '.git-credentials',
    content: `https://u:${secret}@github.com\n`,
  })),
  secretValue.map((secret) => ({
    kind: 'AWS credentials file',
    name: '.aws/credentials',
    content: `[default]\naws_secret_access_key = ${secret}\n`,
  })),
  secretValue.map((secret) => ({
    kind: 'Docker client config',
    name: '.docker/config.json',
    content: `{"auths": {"r": {"auth": "${secret}"}}}`,
  })),
  secretValue.map((secret) => ({
    kind: 'PyPI upload credentials',
    name: '.pypirc',
    content: `[pypi]\nusername = __token__\npassword = ${secret}\n`,
  })),
  fc
    .record({
      name: fc.constantFrom('.kube/config', 'kubeconfig', 'deploy/cluster.yaml'),
      field: fc.constantFrom('token', 'client-key-data', 'password'),
      secret: secretValue,
    })
    .map(({ name, field, secret }) => ({
      kind: 'Kubernetes config with credentials',
      name,
      content: `apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user:\n    ${field}: ${secret}\n`,
    })),
  fc
    .record({
      name: fc.constantFrom(
        '.config/gcloud/access_tokens.db',
        '.config/gcloud/credentials.db',
        '.config/gcloud/legacy_credentials/me@example.com/adc.json',
      ),
      secret: secretValue,
    })
    .map(({ name, secret }) => ({
      kind: 'gcloud credential store',
      name,
      // SQLite files are binary: found by name, whatever they hold.
      content: `SQLite format 3\u0000${secret}`,
    })),
  secretValue.map((secret) => ({
    kind: 'PostgreSQL password file',
    name: '.pgpass',
    content: `db:5432:*:u:${secret}\n`,
  })),
  fc
    .record({
      name: fc.constantFrom('notes.txt', 'run.sh', 'token', 'config.yaml'),
      token: accessToken,
      before: fc.constantFrom('', 'export TOKEN=', 'Authorization: Bearer ', 'token: "'),
    })
    .map(({ name, token, before }) => ({
      kind: 'Google OAuth access token',
      name,
      content: `# ${SECRET_MARK}\n${before}${token}\n`,
    })),
  secretValue.map((secret) => ({
    kind: 'Google service-account key',
    name: 'key.json',
    content: `{"client_email": "sa@p.iam.gserviceaccount.com", "private_key": "${secret}"}`,
  })),
);

describe('issue #25: the credential files the guard missed are refused by name or content', () => {
  test('each kind stops the build naming the file and the kind, never the content; .dockerignore lets it pass', async () => {
    const tally = new Tally('trust: issue #25 credential files in a build context', 'builds refused naming the file');
    const kinds: Record<string, number> = {};
    let ignored = 0;
    await fc.assert(
      fc.asyncProperty(missedCredential, subdir, async (cred, sub) => {
        tally.generated++;
        const root = await newContext();
        const rel = sub === '' ? cred.name : `${sub}/${cred.name}`;
        await mkdir(dirname(join(root, rel)), { recursive: true });
        await writeFile(join(root, rel), cred.content);
        const error = await fingerprintContext({ contextDir: root, statCachePath: false }).catch((e: unknown) => e);
        expect(error, `${rel} was not refused`).toBeInstanceOf(BuildContextError);
        const e = error as BuildContextError;
        expect(e.paths).toEqual([rel]);
        expect(e.message).toContain(`${rel} (${cred.kind}`);
        expect(`${e.message}\n${e.hint}`).not.toMatch(/VXL-TRUST-SECRET|ya29\.[A-Za-z0-9_-]{8}/);
        expect(e.hint).toContain('.dockerignore');
        tally.configErrors++;
        kinds[cred.kind] = (kinds[cred.kind] ?? 0) + 1;
        // The fix the message names: excluded by .dockerignore, the file is neither refused nor sent.
        await writeFile(join(root, '.dockerignore'), `${rel}\n`);
        const manifest = await fingerprintContext({ contextDir: root, statCachePath: false });
        expect(manifest.files).not.toContain(rel);
        ignored++;
        tally.valid++;
        await rm(root, { recursive: true, force: true });
      }),
      fuzzOptions(120),
    );
    // Every kind was generated at least once.
    expect(Object.keys(kinds).length).toBe(10);
    tally.print({ 'passed once in .dockerignore': ignored, ...kinds });
  });
});

describe('symlinks escaping the build context are refused', () => {
  type LinkCase = { at: string; target: string; escapes: boolean; setup?: [string, string][] };
  const segment = fc.stringMatching(/^[a-z]{1,6}$/);
  const linkCase: fc.Arbitrary<LinkCase> = fc.oneof(
    // Absolute targets always escape (even when they point into the context).
    fc.record({
      at: segment,
      target: fc.constantFrom('/etc/passwd', '/', '/tmp', '/root/.ssh/id_rsa'),
      escapes: fc.constant(true),
    }),
    // `..` past the root from a link `depth` directories down.
    fc
      .tuple(fc.array(segment, { maxLength: 3 }), fc.integer({ min: 0, max: 3 }), fc.array(segment, { maxLength: 2 }))
      .map(([dirs, extra, rest]) => ({
        at: [...dirs, 'link'].join('/'),
        target: [...Array(dirs.length + 1 + extra).fill('..'), ...rest].join('/') || '..',
        escapes: true,
      })),
    // `..` that stays inside: up to the root at most, then down.
    fc
      .tuple(
        fc.array(segment, { minLength: 1, maxLength: 3 }),
        fc.nat(),
        fc.constantFrom('src/train.py', 'README.md', 'src', 'missing/file'),
      )
      .map(([dirs, up, rest]) => ({
        at: [...dirs, 'link'].join('/'),
        target: [...Array(up % (dirs.length + 1)).fill('..'), rest].join('/'),
        escapes: false,
      })),
    // Through another link inside the context that is absolute, or that climbs out.
    fc.record({
      at: fc.constant('b/link'),
      target: fc.constantFrom('../hop/x', '../hop'),
      escapes: fc.constant(true),
      setup: fc.constantFrom<[string, string][]>([['hop', '/etc']], [['hop', '..']], [['hop', 'deeper/../../..']]),
    }),
    // Through an inside link that stays inside.
    fc.record({
      at: fc.constant('b/link'),
      target: fc.constant('../hop/train.py'),
      escapes: fc.constant(false),
      setup: fc.constant<[string, string][]>([['hop', 'src']]),
    }),
  );

  test('generated escaping links are refused by name; links that stay inside are packed', async () => {
    const tally = new Tally('trust: symlinks escaping the build context', 'builds refused naming the link');
    let kept = 0;
    await fc.assert(
      fc.asyncProperty(linkCase, async (c) => {
        tally.generated++;
        const root = await newContext();
        for (const [path, target] of c.setup ?? []) {
          await mkdir(dirname(join(root, path)), { recursive: true });
          await symlink(target, join(root, path));
        }
        await mkdir(dirname(join(root, c.at)), { recursive: true });
        await symlink(c.target, join(root, c.at));
        let error: unknown;
        let files: string[] | undefined;
        try {
          files = (await fingerprintContext({ contextDir: root, statCachePath: false })).files;
        } catch (e) {
          error = e;
        }
        if (c.escapes) {
          expect(error, `${c.at} -> ${c.target} was not refused`).toBeInstanceOf(BuildContextError);
          const e = error as BuildContextError;
          expect(e.paths).toContain(c.at);
          expect(e.message).toMatch(/point(s)? outside it/);
          tally.configErrors++;
        } else {
          expect(error, `${c.at} -> ${c.target}: ${String(error)}`).toBeUndefined();
          expect(files).toContain(c.at);
          kept++;
          tally.valid++;
        }
        await rm(root, { recursive: true, force: true });
      }),
      fuzzOptions(100),
    );
    tally.print({ 'inside links kept': kept });
  });
});
