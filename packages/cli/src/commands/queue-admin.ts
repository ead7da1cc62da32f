/**
 * `vertex-launch queue create|list|show|update|delete|items|cancel`: the queues and items of the SQLite queue store,
 * the same `QueueStore` calls SDK users make.
 */
import {
  ConfigError,
  type ConfigIssue,
  loadConfigFile,
  QUEUE_ITEM_STATES,
  type QueueDefinition,
  type QueueItem,
  type QueueItemState,
  type QueueStore,
} from '@vertex-launch/core';
import { DEFAULT_QUEUE_CONFIG, unwrapQueueConfig } from '@vertex-launch/core/config';
import { seedQueueConfig } from '@vertex-launch/core/queue';
import { stringify } from 'yaml';
import { ExitCode, UsageError } from '../exit-codes.js';
import { type ListFlags, type ListSpec, listOptions, printRows, selectRows } from '../list-format.js';
import type { GlobalOptions } from '../options.js';
import { dim, green, type Io, printJson, red, yellow } from '../output.js';
import { type QueueDbFlags, READ_ONLY, withQueueStore } from './queue-db.js';

/** Flags of the queue commands. */
export interface QueueAdminOptions extends GlobalOptions, QueueDbFlags, ListFlags {
  name?: string;
  item?: string;
  /** `--queue-config FILE`: the queue config (create, update). */
  queueConfig?: string;
  /** Deprecated `--config FILE` of create and update: the queue config (everywhere else `--config` is the agent config). */
  config?: string;
  project?: string;
  region?: string;
  description?: string;
  printDefault?: boolean;
  force?: boolean;
  /** `queue items --state`, repeatable and comma-separated. */
  state?: string[] | string;
  limit?: string;
}

const requireName = (options: QueueAdminOptions): string => {
  if (!options.name) throw new UsageError('Missing the queue NAME argument.');
  return options.name;
};

/** A ConfigError of the store, re-pointed at what the user wrote: the config file (or the default) and the flags. */
function pointAtInputs(error: unknown, name: string, action: string, file: string | undefined): unknown {
  if (!(error instanceof ConfigError)) return error;
  const source = file ?? 'the default queue config';
  const issues: ConfigIssue[] = error.issues.map((issue) => {
    let path = issue.path;
    if (path === 'config') path = source;
    else if (path.startsWith('config.')) path = `${source}: ${path.slice('config.'.length)}`;
    else if (path === 'project' || path === 'region' || path === 'description') path = `--${path}`;
    else if (path === 'name') path = `NAME (${name})`;
    return { ...issue, path };
  });
  const errors = issues.filter((i) => i.severity === 'error').length;
  const configProblem = issues.some((i) => i.path.startsWith(source));
  const hint =
    configProblem && file === undefined
      ? `Write the default config to a file with \`vertex-launch queue ${action} ${name} --print-default > ${name}.yaml\`, set the values marked <REQUIRED> (spec.staging_bucket), then run \`vertex-launch queue ${action} ${name} --config ${name}.yaml\`.`
      : configProblem
        ? `Fix ${file} (\`vertex-launch queue validate ${file}\` checks it on its own), then run this again.`
        : 'Fix the flags named above and run this again.';
  return new ConfigError(
    `Cannot ${action} queue \`${name}\`: ${errors} problem${errors === 1 ? '' : 's'}; nothing was saved.`,
    issues,
    { hint, cause: error },
  );
}

async function counts(store: QueueStore, queue: string): Promise<Record<QueueItemState, number>> {
  const out = { queued: 0, claimed: 0, finished: 0 } as Record<QueueItemState, number>;
  for (const state of QUEUE_ITEM_STATES) {
    out[state] = (await store.list({ queue, states: [state], limit: 100_000 })).length;
  }
  return out;
}

function queueJson(queue: QueueDefinition, itemCounts?: Record<QueueItemState, number>) {
  return {
    name: queue.name,
    resource: queue.resource,
    project: queue.project ?? null,
    region: queue.region ?? null,
    description: queue.description ?? null,
    createdAt: queue.createdAt,
    updatedAt: queue.updatedAt,
    config: queue.config,
    ...(itemCounts ? { items: itemCounts } : {}),
  };
}

/**
 * The queue config file of `queue create|update`: `--queue-config`, or the deprecated `--config` (with a warning:
 * `--config` names the agent config, launch-config.yaml, in every other command).
 */
export function queueConfigFile(options: QueueAdminOptions, io: Io, action: 'create' | 'update'): string | undefined {
  if (options.config === undefined) return options.queueConfig;
  if (options.queueConfig !== undefined) {
    throw new UsageError(`queue ${action}: pass the queue config once, with --queue-config FILE (not also --config).`);
  }
  io.stderr(
    `${yellow(io, 'warning')} queue ${action} --config is deprecated: use --queue-config ${options.config} (\`--config\` names the agent config, launch-config.yaml, in the other commands; here it will too).\n`,
  );
  return options.config;
}

/** `queue create NAME`. */
export async function create(options: QueueAdminOptions, io: Io, env = process.env): Promise<number> {
  const name = requireName(options);
  const file = queueConfigFile(options, io, 'create');
  if (options.printDefault) {
    io.stdout(`# Queue config for \`vertex-launch queue create ${name} --queue-config <this file>\`.\n`);
    io.stdout('# Set every <REQUIRED> value; ${image_uri} is filled at launch (--image or a build).\n');
    io.stdout(stringify(DEFAULT_QUEUE_CONFIG));
    return ExitCode.OK;
  }
  const config = file === undefined ? seedQueueConfig() : await loadConfigFile(file);
  const queue = await withQueueStore(options, env, (store) =>
    store
      .createQueue({
        name,
        config,
        ...(options.project ? { project: options.project } : {}),
        ...(options.region ? { region: options.region } : {}),
        ...(options.description ? { description: options.description } : {}),
      })
      .catch((error: unknown) => {
        throw pointAtInputs(error, name, 'create', file);
      }),
  );
  if (options.json) printJson(io, queueJson(queue));
  else io.stdout(`${green(io, '✓')} Created queue ${queue.name}\n`);
  return ExitCode.OK;
}

/** The fields of `queue list` rows (its `--json` queue objects). */
export const QUEUE_LIST: ListSpec = {
  command: 'queue list',
  fields: [
    { name: 'name' },
    { name: 'resource' },
    { name: 'project' },
    { name: 'region' },
    { name: 'description' },
    { name: 'createdAt' },
    { name: 'updatedAt' },
    { name: 'config', nested: true },
    { name: 'items', nested: true },
  ],
};

/** `queue list`. */
export async function list(options: QueueAdminOptions, io: Io, env = process.env): Promise<number> {
  const shown = listOptions(options, QUEUE_LIST);
  const all = await withQueueStore(
    options,
    env,
    async (store) => {
      const queues = await store.listQueues();
      return Promise.all(queues.map(async (queue) => ({ queue, items: await counts(store, queue.name) })));
    },
    READ_ONLY,
  );
  const byJson = new Map(all.map((r) => [queueJson(r.queue, r.items) as Record<string, unknown>, r]));
  const selected = selectRows([...byJson.keys()], shown);
  if (shown.format.kind !== 'default') {
    printRows(io, shown.format, selected, (queues) => ({ queues }));
    return ExitCode.OK;
  }
  const rows = selected.map((json) => byJson.get(json) as (typeof all)[number]);
  if (rows.length === 0) {
    io.stderr(
      all.length === 0
        ? 'No queues. Create one with `vertex-launch queue create NAME --queue-config FILE`.\n'
        : `No queues match --filter ${options.filter} (of ${all.length}).\n`,
    );
    return ExitCode.OK;
  }
  const table = [
    ['NAME', 'PROJECT', 'REGION', 'QUEUED', 'ACTIVE', 'FINISHED', 'DESCRIPTION'],
    ...rows.map(({ queue, items }) => [
      queue.name,
      queue.project ?? '-',
      queue.region ?? '-',
      String(items.queued),
      String(items.claimed),
      String(items.finished),
      queue.description ?? '',
    ]),
  ];
  io.stdout(formatTable(table));
  return ExitCode.OK;
}

/** `queue show NAME`. */
export async function show(options: QueueAdminOptions, io: Io, env = process.env): Promise<number> {
  const name = requireName(options);
  const { queue, items } = await withQueueStore(
    options,
    env,
    async (store) => {
      const found = await store.getQueue(name);
      if (!found) throw notFound(name);
      return { queue: found, items: await counts(store, name) };
    },
    READ_ONLY,
  );
  if (options.json) {
    printJson(io, queueJson(queue, items));
    return ExitCode.OK;
  }
  const config = unwrapQueueConfig(queue.config) as Record<string, unknown>;
  io.stdout(`name:        ${queue.name}\n`);
  io.stdout(`project:     ${queue.project ?? dim(io, '(the agent’s environment.project)')}\n`);
  io.stdout(`region:      ${queue.region ?? dim(io, '(the agent’s environment.region)')}\n`);
  if (queue.description) io.stdout(`description: ${queue.description}\n`);
  io.stdout(`items:       ${items.queued} queued, ${items.claimed} active, ${items.finished} finished\n`);
  io.stdout(`updated:     ${queue.updatedAt}\n`);
  if (config.template_variables) {
    io.stdout(`variables:   ${Object.keys(config.template_variables as object).join(', ')} (--set-var name=value)\n`);
  }
  if (Array.isArray(config.allowed_overrides)) {
    io.stdout(`overrides:   ${config.allowed_overrides.join(', ')} (--override)\n`);
  }
  io.stdout(`config:\n${indent(stringify(queue.config))}`);
  return ExitCode.OK;
}

/** `queue update NAME`. */
export async function update(options: QueueAdminOptions, io: Io, env = process.env): Promise<number> {
  const name = requireName(options);
  const file = queueConfigFile(options, io, 'update');
  if (
    file === undefined &&
    options.project === undefined &&
    options.region === undefined &&
    options.description === undefined
  ) {
    throw new UsageError(
      `queue update ${name}: nothing to change; pass --queue-config FILE, --project, --region or --description ("" removes it).`,
    );
  }
  const config = file === undefined ? undefined : await loadConfigFile(file);
  const queue = await withQueueStore(options, env, (store) =>
    store
      .updateQueue(name, {
        ...(config === undefined ? {} : { config }),
        ...(options.project === undefined ? {} : { project: options.project === '' ? null : options.project }),
        ...(options.region === undefined ? {} : { region: options.region === '' ? null : options.region }),
        ...(options.description === undefined
          ? {}
          : { description: options.description === '' ? null : options.description }),
      })
      .catch((error: unknown) => {
        throw pointAtInputs(error, name, 'update', file);
      }),
  );
  if (options.json) printJson(io, queueJson(queue));
  else io.stdout(`${green(io, '✓')} Updated queue ${queue.name}\n`);
  return ExitCode.OK;
}

/** `queue delete NAME [--force]`. */
export async function remove(options: QueueAdminOptions, io: Io, env = process.env): Promise<number> {
  const name = requireName(options);
  const unfinished = await withQueueStore(options, env, async (store) => {
    if (!(await store.getQueue(name))) throw notFound(name);
    const before = await counts(store, name);
    await store.deleteQueue(name, { force: options.force === true });
    return before.queued + before.claimed;
  });
  if (options.json) printJson(io, { deleted: name, failedItems: options.force ? unfinished : 0 });
  else {
    io.stdout(`${green(io, '✓')} Deleted queue ${name}\n`);
    if (options.force && unfinished > 0) {
      io.stderr(`${yellow(io, 'note')} ${unfinished} unfinished item${unfinished === 1 ? '' : 's'} marked failed\n`);
    }
  }
  return ExitCode.OK;
}

/**
 * The states of `queue items` (`--state` and the `state` of each item): the store's `queued` and `claimed`, and a
 * finished item's outcome.
 */
export const ITEM_STATES = ['queued', 'claimed', 'succeeded', 'failed', 'cancelled'] as const;
export type ItemState = (typeof ITEM_STATES)[number];

/** The state of an item as `queue items` shows it: one of {@link ITEM_STATES}. */
export function itemState(item: QueueItem): ItemState {
  return item.state === 'finished' ? (item.outcome ?? 'failed') : item.state;
}

/** An item as `queue items --json` and `queue cancel --json` print it: one `state` (see {@link ITEM_STATES}). */
export function itemJson(item: QueueItem) {
  const { state: _state, outcome: _outcome, status, ...rest } = item;
  return {
    ...rest,
    state: itemState(item),
    jobStatus: status ?? null,
    submitUnknown: submitUnknown(item),
    /** The attempt the item is on: 1, or 1 + its resubmissions (fallback and retries). */
    attempt: item.retries + 1,
    failureClass: item.failure?.class ?? null,
  };
}

/** The fields of `queue items` rows. */
export const QUEUE_ITEMS: ListSpec = {
  command: 'queue items',
  fields: [
    { name: 'id' },
    { name: 'queue' },
    { name: 'launchId' },
    { name: 'runId' },
    { name: 'request', nested: true },
    { name: 'state' },
    { name: 'phase' },
    { name: 'jobStatus' },
    { name: 'cancelRequested' },
    { name: 'submitUnknown' },
    { name: 'imageUri' },
    { name: 'jobName' },
    { name: 'failure', nested: true },
    { name: 'agentId' },
    { name: 'leaseExpiresAt' },
    { name: 'attempts' },
    { name: 'attempt' },
    { name: 'retries' },
    { name: 'rung' },
    { name: 'notBefore' },
    { name: 'admission', nested: true },
    { name: 'failureClass' },
    { name: 'enqueuedAt' },
    { name: 'updatedAt' },
    { name: 'finishedAt' },
    { name: 'events', nested: true },
  ],
};

/** `--state` of `queue items`: the states wanted (`finished` is succeeded, failed and cancelled). */
export function itemStates(values: readonly string[] | string | undefined): ItemState[] | undefined {
  if (values === undefined) return undefined;
  const wanted = (Array.isArray(values) ? values : [values])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
  const known = (v: string): v is ItemState => (ITEM_STATES as readonly string[]).includes(v);
  const bad = wanted.filter((v) => !known(v.toLowerCase()) && v.toLowerCase() !== 'finished');
  if (bad.length > 0 || wanted.length === 0) {
    throw new UsageError(
      `--state ${bad.join(',') || '""'}: not an item state; use ${ITEM_STATES.join(', ')} or finished (all three ends), repeated or comma-separated.`,
    );
  }
  const states = wanted.flatMap((v): ItemState[] =>
    v.toLowerCase() === 'finished' ? ['succeeded', 'failed', 'cancelled'] : [v.toLowerCase() as ItemState],
  );
  return [...new Set(states)];
}

/** `queue items NAME`. */
export async function items(options: QueueAdminOptions, io: Io, env = process.env): Promise<number> {
  const name = requireName(options);
  const states = itemStates(options.state);
  const limit = options.limit === undefined ? 50 : Number(options.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit ${options.limit}: use a whole number >= 1.`);
  const shown = listOptions(options, QUEUE_ITEMS);
  const storeStates = states
    ? [...new Set(states.map((s): QueueItemState => (s === 'queued' || s === 'claimed' ? s : 'finished')))]
    : undefined;
  // The store filters by its own states; outcomes and --filter are applied here, a page at a time, until `limit`
  // items match or the queue has no more.
  const matches = (item: QueueItem) =>
    (!states || states.includes(itemState(item))) && (!shown.filter || shown.filter(itemJson(item)));
  const found = await withQueueStore(
    options,
    env,
    async (store) => {
      if (!(await store.getQueue(name))) throw notFound(name);
      const out: QueueItem[] = [];
      const page = Math.max(limit, 100);
      let before: string | undefined;
      for (;;) {
        const batch = await store.list({
          queue: name,
          limit: page,
          ...(storeStates ? { states: storeStates } : {}),
          ...(before ? { before } : {}),
        });
        out.push(...batch.filter(matches));
        if (batch.length < page || (out.length >= limit && !shown.sort)) break;
        before = batch.at(-1)?.id;
      }
      return out;
    },
    READ_ONLY,
  );
  const byJson = new Map(found.map((item) => [itemJson(item) as Record<string, unknown>, item]));
  const selected = selectRows([...byJson.keys()], { ...shown, filter: undefined }, limit);
  if (shown.format.kind !== 'default') {
    printRows(io, shown.format, selected, (rows) => ({ queue: name, items: rows }));
    return ExitCode.OK;
  }
  const rows = selected.map((json) => byJson.get(json) as QueueItem);
  if (rows.length === 0) {
    io.stderr(
      states || options.filter
        ? `No items in queue ${name} match${states ? ` --state ${states.join(',')}` : ''}${options.filter ? ` --filter ${options.filter}` : ''}.\n`
        : `No items in queue ${name}. Enqueue with \`vertex-launch launch --queue ${name} --image IMAGE\`.\n`,
    );
    return ExitCode.OK;
  }
  const table = [
    ['ITEM', 'RUN', 'STATE', 'ATTEMPT', 'PHASE', 'JOB STATUS', 'JOB', 'ERROR'],
    ...rows.map((item) => [
      item.id,
      item.runId,
      stateText(io, item),
      `${item.retries + 1}${item.rung > 0 ? ` (rung ${item.rung})` : ''}`,
      submitUnknown(item) ? yellow(io, 'submit unknown') : (item.phase ?? '-'),
      item.status ?? '-',
      item.jobName ? (item.jobName.split('/').pop() ?? item.jobName) : '-',
      item.failure
        ? `${item.failure.class ?? item.failure.phase}: ${item.failure.message}${item.failure.fix ? ` — fix: ${item.failure.fix}` : ''}`
        : submitUnknown(item) || waiting(item)
          ? (item.events.at(-1)?.message ?? '')
          : '',
    ]),
  ];
  io.stdout(formatTable(table));
  return ExitCode.OK;
}

/** `queue cancel ITEM`. */
export async function cancel(options: QueueAdminOptions, io: Io, env = process.env): Promise<number> {
  const id = options.item;
  if (!id) throw new UsageError('Missing the ITEM argument (an id from `vertex-launch queue items NAME`).');
  const item = await withQueueStore(options, env, (store) => store.requestCancel(id));
  if (options.json) printJson(io, itemJson(item));
  else if (item.state === 'finished') io.stdout(`Item ${id} is ${item.outcome}.\n`);
  else io.stdout(`Cancel requested for item ${id}; the agent holding it cancels ${item.jobName ?? 'its job'}.\n`);
  return ExitCode.OK;
}

/**
 * A create of the item was sent and its answer lost: the agent looks its launch id up (phase `submitting`, status
 * `unknown`) before any second create; the last event says until when, or "may exist: <filter>".
 */
function submitUnknown(item: QueueItem): boolean {
  return item.state !== 'finished' && item.phase === 'submitting' && item.status === 'unknown';
}

/** A queued item that was resubmitted or deferred and waits for its backoff: its last event says why. */
function waiting(item: QueueItem): boolean {
  const last = item.events.at(-1)?.type;
  return item.state === 'queued' && (last === 'retried' || last === 'deferred');
}

function stateText(io: Io, item: QueueItem): string {
  const state = itemState(item);
  if (state === 'queued' || state === 'claimed') return item.cancelRequested ? `${state} (cancelling)` : state;
  return state === 'succeeded' ? green(io, state) : red(io, state);
}

function notFound(name: string): ConfigError {
  return new ConfigError(`Queue \`${name}\` does not exist.`, [], {
    hint: `List queues with \`vertex-launch queue list\`, or create it with \`vertex-launch queue create ${name} --queue-config FILE\`. (Check --db / VERTEX_LAUNCH_QUEUE_DB if you use another database.)`,
  });
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI colours to measure widths
const ANSI = /\u001b\[[0-9;]*m/g;

function formatTable(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.replace(ANSI, '').length);
    });
  }
  return rows
    .map((row) =>
      row
        .map((cell, i) =>
          i === row.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - cell.replace(ANSI, '').length),
        )
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
    .concat('\n');
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => (line ? `  ${line}` : line))
    .join('\n');
}
