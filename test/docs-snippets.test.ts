// Every code block of README.md and docs/*.md is checked, or marked as illustrative (and then listed as such):
//   yaml   queue configs validate like `vertex-launch queue validate` (which checks machine types as `doctor` does);
//          launch-config.yaml (or a fragment of it) validates like the agent loads it. A block marked
//          `<!-- snippet: invalid FILE -->` must fail, and the text block after it must show every problem.
//   json   parses.
//   ts     appears verbatim in a file under examples/ (or the file named by `<!-- code: FILE -->`), or type-checks
//          against the workspace sources (one tsc run for all of them).
//   sh     every `vertex-launch` command names a command and options that exist, with a valid number of
//          arguments; every `pnpm NAME` names a root script; heredoc'd YAML files are validated as above.
//   text   output samples; `$ vertex-launch ...` lines in them are checked like sh.
// Markers are HTML comments on the line right before a block: `<!-- snippet: illustrative: WHY -->`,
// `<!-- snippet: invalid FILE -->`, `<!-- code: FILE -->`, `<!-- test: getting-started -->` (run by
// test/getting-started.test.ts).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createProgram } from '@vertex-launch/cli';
import { agentConfigSchema, parseAgentConfig } from '@vertex-launch/core/agent';
import { formatConfigIssues, parseConfigText, validateQueueConfig } from '@vertex-launch/core/config';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from './helpers.js';

interface Block {
  file: string;
  line: number;
  lang: string;
  marker: string | undefined;
  code: string;
  /** The block right after this one in the same file (for `snippet: invalid`). */
  next?: Block;
}

/** Fenced code blocks of a Markdown text, with the HTML comment on the line before each. */
function extractBlocks(file: string, markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,})([\w-]*)(.*)$/.exec(lines[i] as string);
    if (!open) continue;
    const [, indent = '', fence = '```', lang = ''] = open;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !(lines[j] as string).trimStart().startsWith(fence)) {
      const text = lines[j] as string;
      body.push(text.startsWith(indent) ? text.slice(indent.length) : text.trimStart());
      j++;
    }
    const before = (lines[i - 1] ?? '').trim();
    const marker = /^<!--\s*(.*?)\s*-->$/.exec(before)?.[1];
    const block: Block = { file, line: i + 1, lang: lang.toLowerCase(), marker, code: `${body.join('\n')}\n` };
    const previous = blocks[blocks.length - 1];
    if (previous) previous.next = block;
    blocks.push(block);
    i = j;
  }
  return blocks;
}

const docFiles = [
  'README.md',
  ...readdirSync(join(repoRoot, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`),
];
const blocks = docFiles.flatMap((file) => extractBlocks(file, readFileSync(join(repoRoot, file), 'utf8')));

// ---------------------------------------------------------------------------------------------------------------
// YAML

const agentKeys = Object.keys(agentConfigSchema.shape);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Problems of a YAML config block: a queue config, an agent config or a fragment of one. Undefined: not a config. */
function yamlProblems(text: string, where: string): string[] | undefined {
  const raw = parseConfigText(text, where);
  if (!isObject(raw)) return undefined;
  const queueConfig = 'spec' in raw || 'vertex' in raw || 'gcp-vertex' in raw;
  if (queueConfig) {
    const result = validateQueueConfig(raw);
    return result.issues.map((issue) => formatConfigIssues([issue]));
  }
  if ('queues' in raw || Object.keys(raw).every((key) => agentKeys.includes(key))) {
    try {
      // A fragment (e.g. just `auth:`) is checked inside an otherwise minimal config.
      parseAgentConfig({ queues: ['default'], ...raw });
      return [];
    } catch (error) {
      const issues = (error as { issues?: unknown[] }).issues ?? [];
      return [String((error as Error).message), ...issues.map((issue) => JSON.stringify(issue))];
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Shell

type Command = ReturnType<typeof createProgram>;
type Option = Command['options'][number];

const program = createProgram({ stdout: () => {}, stderr: () => {}, isTTY: false, color: false }, () => {});
const rootScripts = Object.keys(
  (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts,
);
const PNPM_BUILTINS = new Set(['install', 'i', 'add', 'exec', 'dlx', 'run', 'link', 'why', 'list', 'update', 'build']);

/** Splits a shell line into words and operators, honouring quotes; drops comments. */
function shellWords(line: string): string[] {
  const words: string[] = [];
  let current = '';
  let quote: string | undefined;
  let started = false;
  const push = () => {
    if (started) words.push(current);
    current = '';
    started = false;
  };
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quote) {
      if (c === quote) quote = undefined;
      else current += c;
      continue;
    }
    if (c === "'" || c === '"') {
      quote = c;
      started = true;
    } else if (c === '<' && /^<[\w.:/@-]+>/.test(line.slice(i))) {
      // A placeholder like `<item-id>`, not a redirection.
      const end = line.indexOf('>', i);
      current += line.slice(i, end + 1);
      started = true;
      i = end;
    } else if (c === '#' && !started) {
      break;
    } else if (/\s/.test(c)) {
      push();
    } else if ('|&;<>()'.includes(c)) {
      push();
      let op = c;
      while (i + 1 < line.length && '|&;<>'.includes(line[i + 1] as string)) op += line[++i];
      words.push(op);
    } else {
      current += c;
      started = true;
    }
  }
  push();
  return words;
}

const OPERATORS = /^(?:\|\|?|&&?|;|\(|\)|[<>]+&?|\d?>>?)$/;

/** Each simple command of a line (words between operators), with redirection targets dropped. */
function simpleCommands(line: string): string[][] {
  const commands: string[][] = [];
  let current: string[] = [];
  let skipNext = false;
  for (const word of shellWords(line.replace(/\$\(/g, ' ( '))) {
    if (skipNext) {
      skipNext = false;
      continue;
    }
    if (/^[<>]+$/.test(word) || /^\d?>>?$/.test(word)) {
      skipNext = true;
      continue;
    }
    if (OPERATORS.test(word)) {
      if (current.length > 0) commands.push(current);
      current = [];
      continue;
    }
    current.push(word);
  }
  if (current.length > 0) commands.push(current);
  return commands.map((words) => {
    // Leading VAR=value assignments and `until`/`while`/`if` keywords are not the command.
    let i = 0;
    while (
      i < words.length &&
      (/^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i] as string) || /^(until|while|if|then|do|!)$/.test(words[i] as string))
    )
      i++;
    return words.slice(i);
  });
}

function optionsOf(command: Command): Option[] {
  const all: Option[] = [];
  for (let c: Command | null = command; c; c = c.parent) all.push(...c.options);
  return all;
}

/** Why `vertex-launch ARGS` would be refused by the CLI's parser, or undefined. */
function cliProblem(args: readonly string[]): string | undefined {
  let command: Command = program;
  let i = 0;
  while (i < args.length) {
    const sub = command.commands.find((c) => c.name() === args[i] || c.aliases().includes(args[i] as string));
    if (!sub) break;
    command = sub;
    i++;
  }
  const rest = args.slice(i);
  if (rest.includes('--help') || rest.includes('-h')) return undefined;
  if (command === program) return `\`${args[0] ?? ''}\` is not a command`;
  if (command.commands.length > 0) return `\`${args.slice(0, i).join(' ')}\` needs a subcommand`;
  const options = optionsOf(command);
  let positionals = 0;
  for (let k = 0; k < rest.length; k++) {
    const word = rest[k] as string;
    if (word.startsWith('-') && word !== '-') {
      const flag = word.split('=')[0] as string;
      const option = options.find((o) => o.long === flag || o.short === flag);
      if (!option) return `\`${args.slice(0, i).join(' ')}\` has no option ${flag}`;
      if ((option.required || option.optional) && !word.includes('=')) k++;
      continue;
    }
    positionals++;
  }
  const declared = command.registeredArguments;
  const required = declared.filter((a) => a.required).length;
  const variadic = declared.some((a) => a.variadic);
  if (positionals < required) return `\`${args.slice(0, i).join(' ')}\` needs ${required} argument(s)`;
  if (!variadic && positionals > declared.length) {
    return `\`${args.slice(0, i).join(' ')}\` takes ${declared.length} argument(s), got ${positionals}: ${rest.join(' ')}`;
  }
  return undefined;
}

interface ShellCheck {
  /** Commands checked (vertex-launch, pnpm scripts, heredoc'd configs). */
  checked: number;
  problems: string[];
}

/** Checks the commands of a shell block (or the `$ ` lines of an output block). */
function checkShell(code: string, where: string, promptOnly: boolean): ShellCheck {
  const result: ShellCheck = { checked: 0, problems: [] };
  const rawLines = code.replace(/\\\n/g, ' ').split('\n');
  for (let n = 0; n < rawLines.length; n++) {
    let line = rawLines[n] as string;
    if (promptOnly) {
      if (!line.startsWith('$ ')) continue;
      line = line.slice(2);
    }
    const heredoc = /<<-?\s*'?(\w+)'?/.exec(line);
    if (heredoc) {
      const end = rawLines.findIndex((l, k) => k > n && l.trim() === heredoc[1]);
      const body = rawLines.slice(n + 1, end).join('\n');
      const target = /(?:^|\s)>\s*(\S+\.ya?ml)/.exec(line)?.[1];
      if (target) {
        const problems = yamlProblems(body, target);
        if (problems === undefined) result.problems.push(`${where}: ${target} is not a config`);
        else result.problems.push(...problems.map((p) => `${where}: ${target}: ${p}`));
        result.checked++;
      }
      n = end;
    }
    for (const words of simpleCommands(line)) {
      const [head, ...args] = words;
      if (head === undefined) continue;
      if (head === 'vertex-launch' || head === 'vxl' || head.endsWith('packages/cli/dist/bin.js')) {
        const problem = cliProblem(args);
        if (problem) result.problems.push(`${where}: ${line.trim()}: ${problem}`);
        result.checked++;
      } else if (head === 'node' && args[0]?.endsWith('packages/cli/dist/bin.js')) {
        const problem = cliProblem(args.slice(1));
        if (problem) result.problems.push(`${where}: ${line.trim()}: ${problem}`);
        result.checked++;
      } else if (head === 'pnpm' && args[0] !== undefined && !args[0].startsWith('-')) {
        if (!PNPM_BUILTINS.has(args[0]) && !rootScripts.includes(args[0])) {
          result.problems.push(`${where}: \`pnpm ${args[0]}\` is not a script of the root package.json`);
        }
        result.checked++;
      }
    }
  }
  return result;
}

// ---------------------------------------------------------------------------------------------------------------
// TypeScript

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path));
    else if (/\.(ts|mts|js|mjs)$/.test(name)) out.push(path);
  }
  return out;
}

const exampleSources = filesUnder(join(repoRoot, 'examples')).map((path) => ({
  path: relative(repoRoot, path),
  text: readFileSync(path, 'utf8'),
}));

const tsBlocks = blocks.filter(
  (b) => ['ts', 'typescript'].includes(b.lang) && !b.marker?.startsWith('snippet: illustrative'),
);
/** ts blocks that no example file contains: they are type-checked. */
const typeChecked = tsBlocks.filter(
  (b) => !(b.marker?.startsWith('code:') ?? false) && !exampleSources.some((s) => s.text.includes(b.code.trim())),
);
const tsErrors = new Map<Block, string[]>();

beforeAll(() => {
  if (typeChecked.length === 0) return;
  // Inside the repository, so `@types/node` and the packages' dependencies resolve as they do for the sources.
  const dir = join(repoRoot, 'node_modules', '.cache', 'vxl-docs-snippets');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      extends: '../../../tsconfig.base.json',
      compilerOptions: {
        paths: {
          '@vertex-launch/core/*': ['../../../packages/core/src/*/index.ts'],
          '@vertex-launch/*': ['../../../packages/*/src/index.ts'],
        },
      },
      include: ['*.ts'],
    }),
  );
  const names = typeChecked.map((block, i) => {
    const name = `snippet-${i}.ts`;
    // Each block is its own module (top-level await allowed).
    writeFileSync(join(dir, name), `${block.code}\nexport {};\n`);
    return name;
  });
  const tsc = spawnSync(process.execPath, [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], {
    encoding: 'utf8',
  });
  const output = `${tsc.stdout}${tsc.stderr}`;
  typeChecked.forEach((block, i) => {
    const errors = output.split('\n').filter((l) => l.startsWith(names[i] as string) || l.includes(`/${names[i]}(`));
    tsErrors.set(block, errors);
  });
  if (tsc.status !== 0 && [...tsErrors.values()].every((e) => e.length === 0)) {
    throw new Error(`tsc failed outside the snippets:\n${output}`);
  }
}, 300_000);

// ---------------------------------------------------------------------------------------------------------------

const OUTPUT_LANGS = new Set(['', 'text', 'console', 'output']);
const SHELL_LANGS = new Set(['sh', 'bash', 'shell', 'zsh']);

function label(block: Block): string {
  return `${block.file}:${block.line} ${block.lang || 'text'}`;
}

describe('docs code blocks', () => {
  it('finds the blocks of README.md and docs/', () => {
    expect(docFiles).toContain('docs/getting-started.md');
    expect(blocks.length).toBeGreaterThan(40);
  });

  const illustrative = blocks.filter((b) => b.marker?.startsWith('snippet: illustrative'));
  it.each(illustrative.map((b) => [`${label(b)} — ${b.marker?.replace(/^snippet: /, '')}`, b] as const))(
    'not checked: %s',
    (_name, block) => {
      // Illustrative blocks must say why they cannot be checked; the vertex-launch commands in them still must exist.
      expect(block.marker).toMatch(/^snippet: illustrative: \S.{5,}/);
      if (SHELL_LANGS.has(block.lang)) expect(checkShell(block.code, label(block), false).problems).toEqual([]);
    },
  );

  const checked = blocks.filter((b) => !b.marker?.startsWith('snippet: illustrative'));
  it.each(checked.map((b) => [label(b), b] as const))('%s', (_name, block) => {
    const where = label(block);
    const marker = block.marker ?? '';
    if (marker.startsWith('code:')) {
      const file = marker.slice('code:'.length).trim();
      expect(readFileSync(join(repoRoot, file), 'utf8'), `${where} is no longer in ${file}`).toContain(block.code);
      return;
    }
    if (marker.startsWith('snippet: invalid')) {
      const file = marker.slice('snippet: invalid'.length).trim() || undefined;
      const raw = parseConfigText(block.code, file);
      const result = validateQueueConfig(raw);
      expect(result.ok, `${where} is marked invalid but validates`).toBe(false);
      const shown = block.next?.code ?? '';
      for (const line of formatConfigIssues(result.issues, file).split('\n')) {
        expect(shown, `${where}: the output block after it must show the problem`).toContain(line);
      }
      return;
    }
    if (['yaml', 'yml'].includes(block.lang)) {
      const problems = yamlProblems(block.code, where);
      expect(problems, `${where} is neither a queue config nor launch-config.yaml: mark it illustrative`).toBeDefined();
      expect(problems).toEqual([]);
      return;
    }
    if (block.lang === 'json') {
      expect(() => JSON.parse(block.code), where).not.toThrow();
      return;
    }
    if (['ts', 'typescript'].includes(block.lang)) {
      if (!typeChecked.includes(block)) return; // verbatim in an example file
      expect(tsErrors.get(block), `${where} does not type-check`).toEqual([]);
      return;
    }
    if (SHELL_LANGS.has(block.lang)) {
      const result = checkShell(block.code, where, false);
      expect(result.problems).toEqual([]);
      // Blocks run by test/getting-started.test.ts may hold only plain shell (cd, export, curl).
      if (marker.startsWith('test: getting-started')) return;
      expect(
        result.checked,
        `${where} runs nothing this test can check: mark it <!-- snippet: illustrative: WHY -->`,
      ).toBeGreaterThan(0);
      return;
    }
    if (OUTPUT_LANGS.has(block.lang)) {
      // Output samples; the commands shown in them must exist.
      expect(checkShell(block.code, where, true).problems).toEqual([]);
      return;
    }
    throw new Error(`${where}: no check for \`${block.lang}\` blocks: mark it <!-- snippet: illustrative: WHY -->`);
  });
});

describe('the snippet checks themselves', () => {
  it('refuse unknown commands, options and argument counts', () => {
    expect(cliProblem(['queue', 'validate', 'q.yaml'])).toBeUndefined();
    expect(cliProblem(['launch', '--queue-config', 'q.yaml', '--image', 'x', '--wait'])).toBeUndefined();
    expect(cliProblem(['lauch'])).toMatch(/not a command/);
    expect(cliProblem(['queue'])).toMatch(/needs a subcommand/);
    expect(cliProblem(['launch', '--queue-file', 'q.yaml'])).toMatch(/has no option --queue-file/);
    expect(cliProblem(['queue', 'validate'])).toMatch(/needs 1 argument/);
    expect(cliProblem(['jobs', 'status', 'a', 'b'])).toMatch(/takes 1 argument/);
  });

  it('find the commands of a shell line', () => {
    expect(simpleCommands("vertex-launch doctor --json | jq -r '.checks[] | .fix' # note")).toEqual([
      ['vertex-launch', 'doctor', '--json'],
      ['jq', '-r', '.checks[] | .fix'],
    ]);
    expect(simpleCommands('X=1 vertex-launch emulator start --json > emulator.json &')).toEqual([
      ['vertex-launch', 'emulator', 'start', '--json'],
    ]);
  });

  it('reject a queue config with a camelCase key and accept the seed one', () => {
    expect(yamlProblems('spec:\n  workerPoolSpecs: []\n', 'q.yaml')?.join('\n')).toMatch(/use `worker_pool_specs`/);
    expect(yamlProblems('maxJobs: 2\nqueues: [a]\n', 'a.yaml')?.join('\n')).toMatch(/max_jobs/);
    expect(yamlProblems('on: push\n', 'ci.yaml')).toBeUndefined();
  });
});
