/**
 * `vertex-launch completion bash|zsh|fish`: a completion script generated from the commander program itself (its
 * commands, subcommands and options), so it never falls behind the CLI. Completes commands, options, file names
 * after options that take a file or path, the values of options that have a fixed set (commander `choices`, or
 * {@link VALUE_SUGGESTIONS}), and queue names — after `--queue`/`-q` and as the name argument of the `queue`
 * commands — which the script asks the CLI for at completion time (`vertex-launch __complete queues`, reading the
 * queue store as `queue list` does; silent when there is none).
 */
import type { Command } from 'commander';
import { ExitCode, UsageError } from '../exit-codes.js';
import type { GlobalOptions } from '../options.js';
import type { Io } from '../output.js';

/** Options of `vertex-launch completion`. */
export interface CompletionOptions extends GlobalOptions {
  shell?: string;
}

/** The shells a script can be generated for. */
export const COMPLETION_SHELLS = ['bash', 'zsh', 'fish'] as const;

/** One command of the tree, flattened: its path (`queue create`), subcommands and options. */
export interface CommandNode {
  path: string[];
  description: string;
  subcommands: string[];
  options: {
    flags: string[];
    description: string;
    takesValue: boolean;
    file: boolean;
    /** The values it takes, when they are a fixed set. */
    values: string[];
    /** It takes a queue name (completed from the queue store). */
    queue: boolean;
  }[];
  /** Its first argument is an existing queue's name. */
  queueArgument: boolean;
}

/**
 * Values of options that accept more than a fixed set (so they have no commander `choices`) but have usual ones,
 * by `<command path> <flag>`.
 */
export const VALUE_SUGGESTIONS: Readonly<Record<string, readonly string[]>> = {
  'build --builder': ['docker', 'cloudbuild'],
  'agent --log-format': ['json', 'human'],
  'jobs list --state': [
    'queued',
    'pending',
    'running',
    'succeeded',
    'failed',
    'cancelling',
    'cancelled',
    'paused',
    'expired',
  ],
  'queue items --state': ['queued', 'claimed', 'finished'],
  'completion <shell>': ['bash', 'zsh', 'fish'],
};

/** The queue commands whose argument names an existing queue (`queue create` names a new one). */
const QUEUE_ARGUMENT_COMMANDS = ['queue show', 'queue update', 'queue delete', 'queue items', 'queue export'];

/** Walks the program's command tree (depth first, in declaration order). */
export function commandTree(program: Command): CommandNode[] {
  const out: CommandNode[] = [];
  const visit = (command: Command, path: string[]) => {
    const options = command.options
      .filter((o) => !o.hidden)
      .map((o) => ({
        flags: [o.long, o.short].filter((f): f is string => typeof f === 'string'),
        description: o.description,
        takesValue: o.required || o.optional,
        file: /<(file|path|dir)[^>]*>/.test(o.flags),
        values: [...(o.argChoices ?? VALUE_SUGGESTIONS[[...path, o.long].join(' ')] ?? [])],
        queue: o.long === '--queue' && path[0] !== 'init' && path[0] !== 'queue',
      }));
    options.push({
      flags: ['--help', '-h'],
      description: 'display help',
      takesValue: false,
      file: false,
      values: [],
      queue: false,
    });
    const subcommands = command.commands.filter((c) => !(c as Command & { _hidden?: boolean })._hidden);
    out.push({
      path,
      description: command.description(),
      subcommands: [
        ...subcommands.map((c) => c.name()),
        // Words the first argument takes, offered with the subcommands (e.g. `completion bash`).
        ...(VALUE_SUGGESTIONS[[...path, `<${command.registeredArguments[0]?.name() ?? ''}>`].join(' ')] ?? []),
      ],
      options,
      queueArgument: QUEUE_ARGUMENT_COMMANDS.includes(path.join(' ')),
    });
    for (const sub of subcommands) visit(sub, [...path, sub.name()]);
  };
  visit(program, []);
  return out;
}

const quote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;
const fnName = (name: string) => `_${name.replace(/[^A-Za-z0-9]/g, '_')}`;

/** A bash completion script (`complete -F`) for `names` (the binary and its aliases). */
export function bashScript(tree: CommandNode[], names: readonly string[]): string {
  const fn = fnName(names[0] as string);
  const paths = tree.map((n) => n.path.join(' '));
  const cases = tree
    .map((n) => {
      const words = [...n.subcommands, ...n.options.flatMap((o) => o.flags)].join(' ');
      const queues = n.queueArgument ? '; queues=1' : '';
      return `    ${quote(n.path.join(' '))}) words=${quote(words)}${queues} ;;`;
    })
    .join('\n');
  const valueCases = tree.flatMap((n) =>
    n.options
      .filter((o) => o.values.length > 0)
      .map(
        (o) =>
          `    ${o.flags.map((f) => quote(`${n.path.join(' ')}|${f}`)).join('|')}) words=${quote(o.values.join(' '))} ;;`,
      ),
  );
  const queueCases = [
    ...new Set(
      tree.flatMap((n) =>
        n.options.filter((o) => o.queue).flatMap((o) => o.flags.map((f) => `${n.path.join(' ')}|${f}`)),
      ),
    ),
  ];
  const fileOptions = [...new Set(tree.flatMap((n) => n.options.filter((o) => o.file).flatMap((o) => o.flags)))];
  const valueOptions = [
    ...new Set(tree.flatMap((n) => n.options.filter((o) => o.takesValue && !o.file).flatMap((o) => o.flags))),
  ];
  return `# bash completion for ${names.join(', ')} (generated by \`${names[0]} completion bash\`)
${fn}() {
  local cur prev word candidate words queues i cmdpath
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  cmdpath=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    case "$word" in -*) continue ;; esac
    candidate="\${cmdpath:+$cmdpath }$word"
    case "$candidate" in
      ${paths
        .filter((p) => p !== '')
        .map(quote)
        .join('|')}) cmdpath="$candidate" ;;
    esac
  done
  words=""
  case "$cmdpath|$prev" in
${valueCases.join('\n')}
    ${queueCases.length > 0 ? queueCases.map(quote).join('|') : "'--no-queue-options'"}) words="$("\${COMP_WORDS[0]}" __complete queues 2>/dev/null)" ;;
  esac
  if [[ -n "$words" ]]; then COMPREPLY=( $(compgen -W "$words" -- "$cur") ); return 0; fi
  case "$prev" in
    ${fileOptions.length > 0 ? fileOptions.join('|') : '--no-file-options'}) COMPREPLY=( $(compgen -f -- "$cur") ); return 0 ;;
    ${valueOptions.length > 0 ? valueOptions.join('|') : '--no-value-options'}) COMPREPLY=(); return 0 ;;
  esac
  queues=""
  case "$cmdpath" in
${cases}
    *) words="" ;;
  esac
  if [[ -n "$queues" && "$cur" != -* ]]; then words="$("\${COMP_WORDS[0]}" __complete queues 2>/dev/null)"; fi
  COMPREPLY=( $(compgen -W "$words" -- "$cur") )
}
${names.map((name) => `complete -F ${fn} ${name}`).join('\n')}
`;
}

/** A zsh completion script (`#compdef`), self-contained. */
export function zshScript(tree: CommandNode[], names: readonly string[]): string {
  const fn = fnName(names[0] as string);
  const paths = tree.map((n) => n.path.join(' ')).filter((p) => p !== '');
  const cases = tree
    .map((n) => {
      const subs = n.subcommands.map((s) => {
        const child = tree.find((c) => c.path.join(' ') === [...n.path, s].join(' '));
        return quote(`${s}:${(child?.description ?? '').replace(/:/g, '\\:')}`);
      });
      const opts = n.options.flatMap((o) => o.flags.map((f) => quote(`${f}:${o.description.replace(/:/g, '\\:')}`)));
      const queues = n.queueArgument ? '\n      queues=1' : '';
      return `    ${quote(n.path.join(' '))})\n      subs=(${subs.join(' ')})\n      opts=(${opts.join(' ')})${queues} ;;`;
    })
    .join('\n');
  const valueCases = tree.flatMap((n) =>
    n.options
      .filter((o) => o.values.length > 0)
      .map(
        (o) =>
          `    ${o.flags.map((f) => quote(`${n.path.join(' ')}|${f}`)).join('|')}) compadd -- ${o.values.map(quote).join(' ')}; return ;;`,
      ),
  );
  const queueCases = [
    ...new Set(
      tree.flatMap((n) =>
        n.options.filter((o) => o.queue).flatMap((o) => o.flags.map((f) => `${n.path.join(' ')}|${f}`)),
      ),
    ),
  ];
  const fileOptions = [...new Set(tree.flatMap((n) => n.options.filter((o) => o.file).flatMap((o) => o.flags)))];
  const valueOptions = [
    ...new Set(tree.flatMap((n) => n.options.filter((o) => o.takesValue && !o.file).flatMap((o) => o.flags))),
  ];
  return `#compdef ${names.join(' ')}
# zsh completion for ${names.join(', ')} (generated by \`${names[0]} completion zsh\`)
${fn}() {
  local -a subs opts
  local cmdpath="" word candidate i queues=""
  for ((i = 2; i < CURRENT; i++)); do
    word="\${words[i]}"
    [[ "$word" == -* ]] && continue
    candidate="\${cmdpath:+$cmdpath }$word"
    case "$candidate" in
      ${paths.map(quote).join('|')}) cmdpath="$candidate" ;;
    esac
  done
  case "$cmdpath|\${words[CURRENT-1]}" in
${valueCases.join('\n')}
    ${queueCases.length > 0 ? queueCases.map(quote).join('|') : "'--no-queue-options'"}) compadd -- \${(f)"$("\${words[1]}" __complete queues 2>/dev/null)"}; return ;;
  esac
  case "\${words[CURRENT-1]}" in
    ${fileOptions.length > 0 ? fileOptions.join('|') : '--no-file-options'}) _files; return ;;
    ${valueOptions.length > 0 ? valueOptions.join('|') : '--no-value-options'}) _message 'value'; return ;;
  esac
  case "$cmdpath" in
${cases}
  esac
  if [[ -n "$queues" && "\${words[CURRENT]}" != -* ]]; then
    compadd -- \${(f)"$("\${words[1]}" __complete queues 2>/dev/null)"}
  fi
  if [[ "\${words[CURRENT]}" == -* ]]; then
    _describe -t options 'option' opts
  else
    _describe -t commands 'command' subs
  fi
}
if [[ "\${zsh_eval_context[-1]}" == loadautoload ]]; then
  ${fn} "$@"
else
  compdef ${fn} ${names.join(' ')}
fi
`;
}

/** A fish completion script (`complete -c`). */
export function fishScript(tree: CommandNode[], names: readonly string[]): string {
  const lines = [`# fish completion for ${names.join(', ')} (generated by \`${names[0]} completion fish\`)`];
  for (const name of names) {
    lines.push(`complete -c ${name} -f`);
    for (const node of tree) {
      const siblings = node.subcommands.join(' ');
      // The condition that the user is at this node: its path was typed and none of its subcommands yet.
      const at =
        node.path.length === 0
          ? '__fish_use_subcommand'
          : `${node.path.map((p) => `__fish_seen_subcommand_from ${p}`).join('; and ')}${siblings ? `; and not __fish_seen_subcommand_from ${siblings}` : ''}`;
      for (const sub of node.subcommands) {
        const child = tree.find((c) => c.path.join(' ') === [...node.path, sub].join(' '));
        lines.push(`complete -c ${name} -n ${quote(at)} -a ${sub} -d ${quote(child?.description ?? '')}`);
      }
      if (node.queueArgument) {
        lines.push(`complete -c ${name} -n ${quote(at)} -a ${quote(`(${name} __complete queues 2>/dev/null)`)}`);
      }
      for (const option of node.options) {
        const long = option.flags.find((f) => f.startsWith('--'))?.slice(2);
        const short = option.flags.find((f) => /^-[^-]$/.test(f))?.slice(1);
        const parts = [`complete -c ${name} -n ${quote(at)}`];
        if (long) parts.push(`-l ${long}`);
        if (short) parts.push(`-s ${short}`);
        if (option.file) parts.push('-r -F');
        else if (option.queue) parts.push(`-r -f -a ${quote(`(${name} __complete queues 2>/dev/null)`)}`);
        else if (option.values.length > 0) parts.push(`-r -f -a ${quote(option.values.join(' '))}`);
        else if (option.takesValue) parts.push('-r');
        parts.push(`-d ${quote(option.description)}`);
        lines.push(parts.join(' '));
      }
    }
  }
  return `${lines.join('\n')}\n`;
}

/** `vertex-launch __complete queues` (hidden; the scripts call it): the queue names of the store, one a line. */
export async function completeValues(
  options: { what?: string; db?: string },
  io: Io,
  env = process.env,
): Promise<number> {
  if (options.what !== 'queues') return ExitCode.OK;
  try {
    const { READ_ONLY, withQueueStore } = await import('./queue-db.js');
    const queues = await withQueueStore(
      { ...(options.db ? { db: options.db } : {}) },
      env,
      (store) => store.listQueues(),
      READ_ONLY,
    );
    for (const queue of queues) io.stdout(`${queue.name}\n`);
  } catch {
    // No store (or an unreadable one): nothing to offer; completion never prints an error into the prompt.
  }
  return ExitCode.OK;
}

/** `vertex-launch completion <shell>`. */
export default async function completion(options: CompletionOptions, io: Io): Promise<number> {
  const shell = options.shell;
  if (!shell || !(COMPLETION_SHELLS as readonly string[]).includes(shell)) {
    throw new UsageError(`Unknown shell "${shell ?? ''}": use one of ${COMPLETION_SHELLS.join(', ')}.`);
  }
  const { createProgram } = await import('../main.js');
  const tree = commandTree(createProgram(io, () => {}));
  const names = ['vertex-launch', 'vxl'];
  const script =
    shell === 'bash' ? bashScript(tree, names) : shell === 'zsh' ? zshScript(tree, names) : fishScript(tree, names);
  io.stdout(script);
  return ExitCode.OK;
}
