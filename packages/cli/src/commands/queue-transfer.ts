/**
 * `vertex-launch queue export|import|migrate`: moving queues between stores (SQLite on one machine, PostgreSQL for a
 * team) with core's export format, and bringing a store's schema to this version.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fromFlag } from '@vertex-launch/core';
import {
  canImportRecords,
  exportQueueRecords,
  formatQueueRecord,
  type ImportRecordsResult,
  parseQueueExport,
  QueueError,
  queueStoreScheme,
  redactStoreUrl,
} from '@vertex-launch/core/queue';
import { ExitCode, UsageError } from '../exit-codes.js';
import type { GlobalOptions } from '../options.js';
import { dim, green, type Io, printJson, yellow } from '../output.js';
import { commandRuntime, importPlugin } from '../runtime.js';
import { type QueueDbFlags, withQueueStore } from './queue-db.js';

/** Flags of `queue export|import|migrate`. */
export interface QueueTransferOptions extends GlobalOptions, QueueDbFlags {
  /** `queue export [NAME...]`. */
  names?: string[];
  /** `queue import FILE`. */
  file?: string;
  /** `queue export --output FILE`. */
  output?: string;
  /** `queue import --skip-existing`. */
  skipExisting?: boolean;
  /** `queue migrate --check`. */
  check?: boolean;
}

/** Writes `text` to `file` owner-only, through a temporary file renamed into place (no half-written export). */
async function writeAtomically(file: string, text: string): Promise<void> {
  const temporary = join(dirname(file), `.${basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(temporary, text, { mode: 0o600, flag: 'wx' });
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(
      `Cannot write the export to ${file} (--output): ${code ?? (error as Error).message}. Choose a file in a directory you can write.`,
    );
  }
}

/** `queue export [NAME...] [--output FILE]`: JSON Lines on stdout, or into FILE (0600). */
export async function exportQueues(options: QueueTransferOptions, io: Io, env = process.env): Promise<number> {
  const names = options.names?.length ? options.names : undefined;
  if (options.json && options.output === undefined) {
    throw new UsageError('--json needs --output FILE: without it the export itself (JSON Lines) is written to stdout.');
  }
  const { text, queues, items } = await withQueueStore(options, env, async (store) => {
    let out = '';
    let queueCount = 0;
    let itemCount = 0;
    for await (const record of exportQueueRecords(store, names === undefined ? {} : { queues: names })) {
      if (record.kind === 'queue') queueCount += 1;
      if (record.kind === 'item') itemCount += 1;
      out += formatQueueRecord(record);
    }
    return { text: out, queues: queueCount, items: itemCount };
  });
  if (options.output === undefined) {
    io.stdout(text);
    io.stderr(
      dim(io, `Exported ${queues} queue${queues === 1 ? '' : 's'} and ${items} item${items === 1 ? '' : 's'}.\n`),
    );
    return ExitCode.OK;
  }
  await writeAtomically(options.output, text);
  if (options.json) printJson(io, { file: options.output, queues, items });
  else {
    io.stdout(
      `${green(io, '✓')} Exported ${queues} queue${queues === 1 ? '' : 's'} and ${items} item${items === 1 ? '' : 's'} to ${options.output}\n`,
    );
  }
  return ExitCode.OK;
}

async function readExport(file: string): Promise<string> {
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(
      code === 'ENOENT'
        ? `No export file ${file} (FILE). Write one with \`vertex-launch queue export --output ${file}\`.`
        : `Cannot read the export file ${file} (FILE): ${code ?? (error as Error).message}.`,
    );
  }
}

function importSummary(io: Io, result: ImportRecordsResult): string {
  const parts = [
    `${result.queuesCreated} queue${result.queuesCreated === 1 ? '' : 's'} created`,
    ...(result.queuesSkipped > 0 ? [`${result.queuesSkipped} kept as they were`] : []),
    `${result.itemsImported} item${result.itemsImported === 1 ? '' : 's'} imported`,
    ...(result.itemsSkipped > 0 ? [`${result.itemsSkipped} already there`] : []),
  ];
  const requeued =
    result.itemsRequeued > 0
      ? `\n${yellow(io, '!')} ${result.itemsRequeued} item${result.itemsRequeued === 1 ? ' was' : 's were'} claimed in the source and came back queued; the next agent resumes each at its phase (re-attaching to its job).`
      : '';
  return `${green(io, '✓')} Imported: ${parts.join(', ')}.${requeued}\n`;
}

/** `queue import FILE [--skip-existing]`: all or nothing, in one transaction of the target store. */
export async function importQueues(options: QueueTransferOptions, io: Io, env = process.env): Promise<number> {
  const file = options.file;
  if (!file)
    throw new UsageError('Missing the FILE argument (an export of `vertex-launch queue export`, or - for stdin).');
  const records = parseQueueExport(await readExport(file), file === '-' ? 'stdin' : file);
  const result = await withQueueStore(options, env, async (store) => {
    if (!canImportRecords(store)) {
      throw new QueueError(
        'invalid_argument',
        `The queue store ${store.name} cannot import exports; nothing was imported. Import into a SQLite or PostgreSQL store (--db).`,
      );
    }
    return store.importRecords(records, { existingQueues: options.skipExisting ? 'skip' : 'fail' });
  });
  if (options.json) printJson(io, result);
  else io.stdout(importSummary(io, result));
  return ExitCode.OK;
}

interface PostgresAdmin {
  migrate(options: { connectionString: string }): Promise<{
    schema: string;
    from: number;
    to: number;
    applied: readonly { version: number; name: string }[];
  }>;
  checkDatabase(options: { connectionString: string }): Promise<{
    schema: string;
    state: string;
    version: number;
    expected: number;
    serverVersion: string;
  }>;
}

/**
 * `queue migrate [--check]`: brings the store's schema to this version (PostgreSQL: the numbered migrations, each
 * in a transaction; SQLite migrates whenever it is opened). `--check` only reports (`migrationDue` in `--json`).
 */
export async function migrateQueues(options: QueueTransferOptions, io: Io, env = process.env): Promise<number> {
  const runtime = await commandRuntime(
    { agentConfig: fromFlag('--agent-config', options.agentConfig), db: options.db },
    env,
    { gcloud: false },
  );
  const url = runtime.queueDb.value;
  const shown = redactStoreUrl(url);
  const scheme = queueStoreScheme(url);
  if (scheme === 'postgres' || scheme === 'postgresql') {
    const admin = (await importPlugin('@vertex-launch/queue-postgres')) as PostgresAdmin;
    if (options.check) {
      const status = await admin.checkDatabase({ connectionString: url });
      const due = status.state === 'absent' || status.state === 'empty' || status.state === 'older';
      if (options.json) printJson(io, { store: shown, ...status, migrationDue: due });
      else {
        io.stdout(
          `${due ? yellow(io, '!') : green(io, '✓')} ${shown} schema ${status.schema}: ${status.state} (version ${status.version}, this version writes ${status.expected}; PostgreSQL ${status.serverVersion})${due ? '. Run `vertex-launch queue migrate`.' : ''}\n`,
        );
      }
      return ExitCode.OK;
    }
    const report = await admin.migrate({ connectionString: url });
    if (options.json) printJson(io, { store: shown, ...report });
    else if (report.applied.length === 0) {
      io.stdout(`${green(io, '✓')} ${shown} schema ${report.schema} is at version ${report.to}; nothing to do.\n`);
    } else {
      io.stdout(
        `${green(io, '✓')} ${shown} schema ${report.schema}: version ${report.from} -> ${report.to} (${report.applied.map((m) => `${m.version} ${m.name}`).join(', ')})\n`,
      );
    }
    return ExitCode.OK;
  }
  // SQLite: opening the store applies the migrations (each in an IMMEDIATE transaction).
  const { SCHEMA_VERSION } = (await importPlugin('@vertex-launch/queue-sqlite')) as { SCHEMA_VERSION: number };
  if (options.check) {
    throw new UsageError(
      `--check is for PostgreSQL stores; the SQLite store ${shown} migrates whenever it is opened (run \`vertex-launch queue migrate\`).`,
    );
  }
  await withQueueStore(options, env, async () => undefined);
  if (options.json) printJson(io, { store: shown, schema: 'main', to: SCHEMA_VERSION });
  else io.stdout(`${green(io, '✓')} ${shown} is at schema version ${SCHEMA_VERSION}.\n`);
  return ExitCode.OK;
}
