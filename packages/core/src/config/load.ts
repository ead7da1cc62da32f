/**
 * Loading queue config text (YAML 1.2; JSON is YAML) and files. Loading is separate from validating: these return
 * the raw value, `validateQueueConfig` / `resolveQueueConfig` check it.
 */
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { ConfigError } from '../errors.js';

/** Refuse text that is not a config: binary data (NUL bytes) or bytes that were not valid UTF-8. */
/** First line of a yaml error message without its ` at line N, column M:` tail (we print `line:col` ourselves). */
function shortMessage(message: string): string {
  return (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '');
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
  refuseBinary(text, where);
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
  return doc.toJS({ maxAliasCount: 100 });
}

/** Read and parse a queue config file. A missing or unreadable file is a ConfigError naming the path. */
export async function loadConfigFile(path: string): Promise<unknown> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (cause) {
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
    throw new ConfigError(`Queue config file ${path} is not valid UTF-8 text (is it a binary file?).`, [], {
      file: path,
      cause,
      hint: 'Save the queue config as UTF-8 YAML or JSON.',
    });
  }
  return parseConfigText(text, path);
}
