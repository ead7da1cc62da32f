// Issue #11, part 5 (the build context): generated credential-looking files (names and contents from the guard's
// rule list, in random directories) stop the build with an error that names them and never their content; template
// names and ordinary files do not. Generated symlinks that escape the context (absolute, `..` past the root, through
// other links) are refused by name; links that stay inside are kept.
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
