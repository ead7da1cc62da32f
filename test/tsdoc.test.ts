// Every symbol a package exports from src/index.ts carries a TSDoc comment (`/** ... */`) at its declaration,
// and so does every option — each member of an exported `...Options` interface — so editors show them and the
// API reads without the sources. The check follows re-exports (`export *`, renames, `export type`) to the
// declarations with the TypeScript compiler API and lists every undocumented one.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, test } from 'vitest';
import { repoRoot } from './helpers.js';

const packagesDir = join(repoRoot, 'packages');
const packageNames = readdirSync(packagesDir, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .filter((name) => {
    try {
      readFileSync(join(packagesDir, name, 'src', 'index.ts'));
      return true;
    } catch {
      return false;
    }
  })
  .sort();

const entryPoints = packageNames.map((name) => join(packagesDir, name, 'src', 'index.ts'));

/** Every non-test source file of the packages: the program holds these and nothing else. */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts'))
    .map((entry) => join(entry.parentPath, entry.name))
    .filter((file) => !file.includes('__fixtures__'));
}

// One program over the packages' own sources. `noResolve` keeps dependencies (the Google client typings are
// large) out: exports are followed through our files only, which is all a doc comment can be written on.
const program = ts.createProgram(
  packageNames.flatMap((name) => sourceFiles(join(packagesDir, name, 'src'))),
  {
    noResolve: true,
    types: [],
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    skipLibCheck: true,
    noEmit: true,
    allowImportingTsExtensions: false,
  },
);
const checker = program.getTypeChecker();

/** The JSDoc comment text of a declaration (`/** ... *\/` blocks only, not `//` lines). */
function hasDocComment(declaration: ts.Declaration): boolean {
  // A variable's JSDoc sits on its statement (`/** doc */ export const x = ...`).
  let node: ts.Node = declaration;
  if (ts.isVariableDeclaration(node) && ts.isVariableDeclarationList(node.parent)) node = node.parent.parent;
  const docs = ts.getJSDocCommentsAndTags(node).filter(ts.isJSDoc);
  return docs.some((doc) => {
    const comment = ts.getTextOfJSDocComment(doc.comment)?.trim() ?? '';
    return comment.length > 0 || (doc.tags?.length ?? 0) > 0;
  });
}

function declarationsOf(symbol: ts.Symbol): ts.Declaration[] {
  const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
  return (target.declarations ?? []).filter((declaration) => !declaration.getSourceFile().isDeclarationFile);
}

/** Members of an exported options interface (`interface XOptions { ... }`) without a doc comment. */
function undocumentedOptions(name: string, declarations: readonly ts.Declaration[]): ts.Node[] {
  if (!name.endsWith('Options')) return [];
  return declarations
    .filter(ts.isInterfaceDeclaration)
    .flatMap((declaration) => [...declaration.members])
    .filter((member) => ts.isPropertySignature(member) || ts.isMethodSignature(member))
    .filter((member) => !hasDocComment(member as ts.Declaration));
}

function where(node: ts.Node): string {
  const file = relative(repoRoot, node.getSourceFile().fileName);
  const { line } = node.getSourceFile().getLineAndCharacterOfPosition(node.getStart());
  return `${file}:${line + 1}`;
}

function undocumentedExports(entry: string): string[] {
  const source = program.getSourceFile(entry);
  if (source === undefined) throw new Error(`${entry} is not in the program`);
  const moduleSymbol = checker.getSymbolAtLocation(source);
  if (moduleSymbol === undefined) return [];
  const missing: string[] = [];
  const exported = checker.getExportsOfModule(moduleSymbol);
  expect(exported.length, `${entry} exports nothing the checker can see`).toBeGreaterThan(0);
  for (const symbol of exported) {
    const declarations = declarationsOf(symbol);
    // Symbols re-exported from other packages are documented there; overloads and merged
    // declarations (a const and a type of one name) count as documented when one of them is.
    if (declarations.length === 0) continue;
    if (!declarations.some(hasDocComment)) missing.push(`${symbol.getName()} (${where(declarations[0]!)})`);
    for (const member of undocumentedOptions(symbol.getName(), declarations)) {
      const memberName = (member as ts.PropertySignature).name.getText();
      missing.push(`${symbol.getName()}.${memberName} (${where(member)})`);
    }
  }
  return missing.sort();
}

describe('TSDoc on every exported symbol', () => {
  test('the program has no missing files', () => {
    expect(entryPoints.length).toBeGreaterThanOrEqual(9);
    for (const entry of entryPoints) expect(program.getSourceFile(entry), entry).toBeDefined();
  });

  test.each(packageNames)('@vertex-launch/%s', (name) => {
    const missing = undocumentedExports(join(packagesDir, name, 'src', 'index.ts'));
    expect(missing, `exports of @vertex-launch/${name} without a /** doc comment */`).toEqual([]);
  });
});
