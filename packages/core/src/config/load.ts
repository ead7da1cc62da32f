/**
 * Loading queue config text (YAML 1.2; JSON is YAML) and files. Loading is separate from validating: these return
 * the raw value, `validateQueueConfig` / `resolveQueueConfig` check it.
 */
import { open } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { ConfigError } from '../errors.js';

/** Refuse text that is not a config: binary data (NUL bytes) or bytes that were not valid UTF-8. */
/** First line of a yaml error message without its ` at line N, column M:` tail (we print `line:col` ourselves). */
function shortMessage(message: string): string {
  const first = (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '');
  // The yaml parser reports a document nested too deeply for the stack as the bare RangeError text.
  return first.startsWith('Maximum call stack size exceeded')
    ? 'the document is nested too deeply (lists or mappings inside each other hundreds of levels deep)'
    : first;
}

/**
 * Largest config read, in characters of text or bytes of a file. Configs are a few KB, and the YAML parser slows down
 * more than linearly on megabytes (a 10 MB mapping key took minutes).
 */
const MAX_CONFIG_SIZE = 1024 * 1024;

function refuseTooLarge(size: number, where: string, file: string | undefined): void {
  if (size <= MAX_CONFIG_SIZE) return;
  throw new ConfigError(
    `${where} is too large for a config: ${(size / (1024 * 1024)).toFixed(1)} MB (at most ${MAX_CONFIG_SIZE / (1024 * 1024)} MB).`,
    [],
    {
      ...(file === undefined ? {} : { file }),
      hint: 'Point to the .yaml or .json config file; large data belongs in Cloud Storage, not in the config.',
    },
  );
}

/** Deepest nesting the text may show before it is parsed: the yaml parser recurses per level and overflows the stack
 * near 800 (V8 may then abort the whole process while compiling a regular expression). Configs nest under 20. */
const MAX_TEXT_NESTING = 200;

/**
 * The first line where the text nests deeper than {@link MAX_TEXT_NESTING}, counting block indentation levels, flow
 * brackets outside quoted scalars and comments, and compact `- - -` indicators; `undefined` when it does not.
 */
function tooDeepLine(text: string): number | undefined {
  const indents: number[] = [];
  let flow = 0;
  let line = 1;
  let i = 0;
  while (i < text.length) {
    let indent = 0;
    while (text[i] === ' ') {
      indent++;
      i++;
    }
    const blank = i >= text.length || text[i] === '\n' || text[i] === '\r' || text[i] === '#';
    if (flow === 0 && !blank) {
      while (indents.length > 0 && indents[indents.length - 1]! >= indent) indents.pop();
      indents.push(indent);
    }
    let compact = 0;
    while ((text[i] === '-' || text[i] === '?' || text[i] === ':') && (text[i + 1] === ' ' || text[i + 1] === '\t')) {
      compact++;
      i += 2;
      while (text[i] === ' ' || text[i] === '\t') i++;
    }
    for (; i < text.length && text[i] !== '\n'; i++) {
      const c = text[i];
      const prev = text[i - 1];
      const tokenStart = prev === undefined || ' \t[{,:\n'.includes(prev);
      if ((c === '"' || c === "'") && tokenStart) {
        // A quoted scalar (it may span lines): skip to its closing quote.
        for (i++; i < text.length; i++) {
          if (text[i] === '\n') line++;
          else if (c === '"' && text[i] === '\\') i++;
          else if (text[i] === c) {
            if (c === "'" && text[i + 1] === "'") i++;
            else break;
          }
        }
      } else if (c === '#' && (prev === ' ' || prev === '\t')) {
        while (i + 1 < text.length && text[i + 1] !== '\n') i++;
      } else if (c === '[' || c === '{') {
        flow++;
      } else if ((c === ']' || c === '}') && flow > 0) {
        flow--;
      }
      if (indents.length + compact + flow > MAX_TEXT_NESTING) return line;
    }
    if (indents.length + compact + flow > MAX_TEXT_NESTING) return line;
    i++;
    line++;
  }
  return undefined;
}

function refuseBinary(text: string, where: string): void {
  if (text.includes('\u0000')) {
    throw new ConfigError(
      `${where} looks like a binary file (it contains NUL bytes), not a YAML or JSON queue config.`,
      [],
      {
        hint: 'Point to the .yaml or .json queue config file.',
      },
    );
  }
  const bad = text.indexOf('\uFFFD');
  if (bad !== -1) {
    const line = text.slice(0, bad).split('\n').length;
    throw new ConfigError(`${where} is not valid UTF-8 text (undecodable bytes on line ${line}).`, [], {
      hint: 'Save the queue config as UTF-8.',
    });
  }
}

/**
 * Parse queue config text (YAML or JSON) into a plain value. Duplicate keys, syntax errors and binary text are
 * refused with a ConfigError naming the file and `line:col`.
 */
export function parseConfigText(text: string, file?: string): unknown {
  const where = file ?? 'the queue config';
  refuseTooLarge(text.length, where, file);
  refuseBinary(text, where);
  const deepLine = tooDeepLine(text);
  if (deepLine !== undefined) {
    throw new ConfigError(
      `${where}:${deepLine}: the document is nested too deeply (more than ${MAX_TEXT_NESTING} levels of lists or mappings inside each other).`,
      [{ path: '', message: `line ${deepLine}: nested more than ${MAX_TEXT_NESTING} levels deep`, severity: 'error' }],
      {
        ...(file === undefined ? {} : { file }),
        hint: 'A config nests a few levels deep; fix the brackets or indentation.',
      },
    );
  }
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const doc = parseDocument(source, { prettyErrors: true, uniqueKeys: true, strict: true });
  if (doc.errors.length > 0) {
    const issues = doc.errors.map((e) => {
      const pos = e.linePos?.[0];
      const at = pos ? `${pos.line}:${pos.col}` : '';
      const message = shortMessage(e.message);
      return { path: '', message: `${at ? `line ${at}: ` : ''}${message}`, severity: 'error' as const };
    });
    const first = doc.errors[0]!;
    const pos = first.linePos?.[0];
    const line = pos ? (source.split('\n')[pos.line - 1] ?? '') : '';
    const macroInFlow = /[[{].*\$\{|\$\{.*[\]}]/.test(line) || line.includes('{{');
    throw new ConfigError(
      `${where}${pos ? `:${pos.line}:${pos.col}` : ''}: invalid YAML/JSON: ${shortMessage(first.message)}`,
      issues,
      {
        ...(file === undefined ? {} : { file }),
        hint: macroInFlow
          ? 'Quote values that hold `${macro}` or `{{variable}}`, e.g. `args: [--run, "${run_id}"]` or `replica_count: "{{workers}}"`.'
          : 'Fix the YAML at that line and column.',
      },
    );
  }
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (cause) {
    // yaml throws a ReferenceError for an alias bomb (`*a` expanding to millions of nodes).
    throw new ConfigError(
      `${where}: invalid YAML: its aliases (\`*name\`) expand to too many nodes (${(cause as Error).message}).`,
      [{ path: '', message: 'YAML aliases expand to too many nodes', severity: 'error' }],
      {
        ...(file === undefined ? {} : { file }),
        cause,
        hint: 'Write the repeated values out instead of aliasing them.',
      },
    );
  }
}

/**
 * The bytes of `path`, at most `limit + 1` of them: a regular file larger than `limit` is refused by its size before
 * any read; a device or a pipe (`/dev/zero`, `<(yes)`) is read in chunks and stops one byte past the limit, so no
 * input can make a config read take more than that much memory.
 */
async function readCapped(path: string, limit: number): Promise<{ bytes: Buffer; size: number | undefined }> {
  const handle = await open(path, 'r');
  try {
    const info = await handle.stat();
    if (info.isDirectory()) throw Object.assign(new Error(`EISDIR: ${path}`), { code: 'EISDIR' });
    if (info.isFile() && info.size > limit) return { bytes: Buffer.alloc(0), size: info.size };
    const chunks: Buffer[] = [];
    let total = 0;
    while (total <= limit) {
      const chunk = Buffer.alloc(Math.min(64 * 1024, limit + 1 - total));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      total += bytesRead;
    }
    return { bytes: Buffer.concat(chunks, total), size: total > limit ? undefined : total };
  } finally {
    await handle.close();
  }
}

/** Read and parse a queue config file. A missing or unreadable file is a ConfigError naming the path. */
export async function loadConfigFile(path: string): Promise<unknown> {
  let bytes: Buffer;
  try {
    const read = await readCapped(path, MAX_CONFIG_SIZE);
    if (read.size === undefined) {
      throw new ConfigError(
        `Queue config file ${path} is too large for a config: more than ${MAX_CONFIG_SIZE / (1024 * 1024)} MB (read stopped there; is it a device or a pipe?).`,
        [],
        {
          file: path,
          hint: 'Point to the .yaml or .json config file; large data belongs in Cloud Storage, not in the config.',
        },
      );
    }
    refuseTooLarge(read.size, `Queue config file ${path}`, path);
    bytes = read.bytes;
  } catch (cause) {
    if (cause instanceof ConfigError) throw cause;
    const code = (cause as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'does not exist'
        : code === 'EISDIR'
          ? 'is a directory, not a file'
          : code === 'EACCES'
            ? 'cannot be read (permission denied)'
            : `cannot be read (${code ?? 'unknown error'})`;
    throw new ConfigError(`Queue config file ${path} ${reason}.`, [], {
      file: path,
      cause,
      hint: 'Check the path, or create one from the default queue config.',
    });
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (cause) {
    // UTF-16 (what some Windows editors and PowerShell's `>` write) starts with a byte order mark: say so.
    const utf16 =
      bytes[0] === 0xff && bytes[1] === 0xfe ? 'UTF-16 LE' : bytes[0] === 0xfe && bytes[1] === 0xff ? 'UTF-16 BE' : '';
    throw new ConfigError(
      utf16
        ? `Queue config file ${path} is ${utf16} text (it starts with a UTF-16 byte order mark), not UTF-8.`
        : `Queue config file ${path} is not valid UTF-8 text (is it a binary file?).`,
      [],
      { file: path, cause, hint: 'Save the queue config as UTF-8 YAML or JSON.' },
    );
  }
  return parseConfigText(text, path);
}
