#!/usr/bin/env node
// Keeps an "unreleased" section at the top of every published package's CHANGELOG.md, made from the changesets
// waiting in .changeset/ — so the changelog shows what the next release will say before anything is released.
//
//   node scripts/changelog-preview.mjs           write the sections (`pnpm changelog`)
//   node scripts/changelog-preview.mjs --check   exit 1 when a section is missing or out of date
//   node scripts/changelog-preview.mjs --remove  drop the sections (`pnpm version-packages` does this first, so
//                                                `changeset version` writes the real release section once)
//
// The text is changesets' own: the script copies the manifests, changelogs and changesets into a temp directory,
// runs `changeset version` there, and takes the sections it prepended. The repository itself is never versioned
// and no changeset is consumed.
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const START = '<!-- unreleased:start -->';
const END = '<!-- unreleased:end -->';
const NOTE =
  '_Not released yet: made from the pending changesets in `.changeset/` by `pnpm changelog`. ' +
  '`pnpm version-packages` turns them into this release._';

/** `packages/*` and `examples/*` directories that hold a package.json. */
function workspaceDirs() {
  return ['packages', 'examples'].flatMap((group) =>
    readdirSync(join(root, group), { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && existsSync(join(root, group, entry.name, 'package.json')))
      .map((entry) => join(root, group, entry.name)),
  );
}

function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** A changelog without its unreleased section (and `# name` alone when there is no file yet). */
export function withoutPreview(text, name) {
  if (text === undefined) return `# ${name}\n`;
  const start = text.indexOf(START);
  if (start < 0) return text;
  const end = text.indexOf(END, start);
  if (end < 0) throw new Error(`${name}: CHANGELOG.md has ${START} without ${END}`);
  const head = text.slice(0, start).replace(/\n+$/, '\n');
  const rest = text.slice(end + END.length).replace(/^\n+/, '');
  return rest === '' ? head : `${head}\n${rest}`;
}

/** Puts a release section that `changeset version` made into the changelog as the unreleased preview. */
export function withPreview(base, section) {
  const newline = base.indexOf('\n');
  const head = newline < 0 ? `${base}\n` : base.slice(0, newline + 1);
  const rest = newline < 0 ? '' : base.slice(newline + 1).replace(/^\n+/, '');
  const body = section
    .trim()
    .replace(/^## (\S+)/, `## $1 (unreleased)\n\n${NOTE}`)
    // changesets writes one "Updated dependencies" line per changeset that touched a dependency.
    .replace(/(- Updated dependencies\n)(?:- Updated dependencies\n)+/g, '$1');
  return `${head}\n${START}\n\n${body}\n\n${END}\n${rest ? `\n${rest}` : ''}`;
}

/** The release sections `changeset version` would prepend, by package name, computed in a temp copy. */
function pendingSections(published) {
  const temp = mkdtempSync(join(tmpdir(), 'vxl-changelog-'));
  try {
    cpSync(join(root, '.changeset'), join(temp, '.changeset'), { recursive: true });
    for (const file of ['package.json', 'pnpm-workspace.yaml']) cpSync(join(root, file), join(temp, file));
    for (const dir of workspaceDirs()) {
      const target = join(temp, relative(root, dir));
      mkdirSync(target, { recursive: true });
      cpSync(join(dir, 'package.json'), join(target, 'package.json'));
    }
    const bases = new Map();
    for (const { name, dir } of published) {
      const path = join(dir, 'CHANGELOG.md');
      const base = withoutPreview(existsSync(path) ? readFileSync(path, 'utf8') : undefined, name);
      bases.set(name, base);
      writeFileSync(join(temp, relative(root, dir), 'CHANGELOG.md'), base);
    }
    symlinkSync(join(root, 'node_modules'), join(temp, 'node_modules'), 'dir');
    const bin = createRequire(join(root, 'package.json')).resolve('@changesets/cli/bin.js');
    const run = spawnSync(process.execPath, [bin, 'version'], {
      cwd: temp,
      encoding: 'utf8',
      env: { ...process.env, CI: '1' },
    });
    if (run.status !== 0) throw new Error(`changeset version failed:\n${run.stdout}${run.stderr}`);

    const sections = new Map();
    for (const { name, dir } of published) {
      const base = bases.get(name);
      const after = readFileSync(join(temp, relative(root, dir), 'CHANGELOG.md'), 'utf8');
      if (after === base) continue;
      // changesets inserts the section after the first line (`# name`).
      const newline = base.indexOf('\n');
      const section = after.slice(newline + 1, after.length - (base.length - newline - 1));
      sections.set(name, section);
    }
    return { bases, sections };
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}

function main(args) {
  const mode = args.includes('--check') ? 'check' : args.includes('--remove') ? 'remove' : 'write';
  const published = workspaceDirs()
    .filter((dir) => dir.startsWith(join(root, 'packages')))
    .map((dir) => ({ dir, manifest: readJson(join(dir, 'package.json')) }))
    .filter(({ manifest }) => manifest.private !== true)
    .map(({ dir, manifest }) => ({ dir, name: manifest.name }));

  if (mode === 'remove') {
    for (const { dir, name } of published) {
      const path = join(dir, 'CHANGELOG.md');
      if (!existsSync(path)) continue;
      const text = readFileSync(path, 'utf8');
      const stripped = withoutPreview(text, name);
      if (stripped !== text) writeFileSync(path, stripped);
    }
    return 0;
  }

  const { bases, sections } = pendingSections(published);
  const stale = [];
  for (const { dir, name } of published) {
    const path = join(dir, 'CHANGELOG.md');
    const section = sections.get(name);
    const wanted = section === undefined ? bases.get(name) : withPreview(bases.get(name), section);
    const current = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
    if (current === wanted) continue;
    if (mode === 'check') stale.push(relative(root, path));
    else writeFileSync(path, wanted);
  }
  if (stale.length > 0) {
    console.error(`Out of date with .changeset/: ${stale.join(', ')}. Run \`pnpm changelog\`.`);
    return 1;
  }
  return 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = main(process.argv.slice(2));
