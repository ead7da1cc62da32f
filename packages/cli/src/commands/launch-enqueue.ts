/**
 * `vertex-launch launch --queue NAME (--image URI | --source DIR)`: check the launch against the queue's config (its
 * variables, overrides and the config itself resolved with placeholder values, so every error shows before
 * anything is enqueued), then enqueue it for an agent. Prints the item id (`--json`: the item).
 */
import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { ConfigError, type LaunchRequest, planLaunch } from '@vertex-launch/core';
import { RUN_ID_PATTERN } from '@vertex-launch/core/queue';
import { ExitCode, UsageError } from '../exit-codes.js';
import { dim, green, type Io, printJson } from '../output.js';
import { checkImageFlag, type LaunchOptions, launchOverrides, parseSetVars, readOverride } from './launch.js';
import { itemJson } from './queue-admin.js';
import type { QueueDbFlags } from './queue-db.js';
import { withQueueStore } from './queue-db.js';

/** Flags of `launch --queue`. */
export interface LaunchEnqueueOptions extends Omit<LaunchOptions, 'queueConfig'>, QueueDbFlags {
  queue: string;
  queueConfig?: string;
}

/** Placeholders for what only the agent knows, so the queue config can be resolved (and checked) now. */
const PLACEHOLDER_PROJECT = 'placeholder-project';
const PLACEHOLDER_REGION = 'us-central1';
const PLACEHOLDER_IMAGE = 'placeholder.invalid/built-by-the-agent:ctx-000000000000';

function submitter(): string | undefined {
  try {
    return userInfo().username || undefined;
  } catch {
    return undefined;
  }
}

/** `launch --queue NAME`: validate and enqueue. */
export default async function launchEnqueue(options: LaunchEnqueueOptions, io: Io, env = process.env): Promise<number> {
  if (options.queueConfig !== undefined) {
    throw new UsageError(
      'launch: --queue and --queue-config are exclusive: --queue NAME enqueues for an agent, --queue-config FILE submits directly.',
    );
  }
  const misplaced = (
    [
      ['--project', options.project],
      ['--region', options.region],
      ['--dry-run', options.dryRun],
      ['--wait', options.wait],
      ['--follow', options.follow],
      ['--run-name', options.runName],
    ] as const
  ).filter(([, value]) => value !== undefined && value !== false);
  if (misplaced.length > 0) {
    throw new UsageError(
      `launch --queue: ${misplaced.map(([flag]) => flag).join(', ')} cannot be used with --queue (the project and region come from the queue or the agent's environment; follow the item with \`vertex-launch queue items ${options.queue}\`).`,
    );
  }
  if ((options.image === undefined) === (options.source === undefined)) {
    throw new UsageError(
      options.image === undefined
        ? `launch --queue ${options.queue}: give --image URI (a ready image) or --source DIR (the agent builds it).`
        : `launch --queue ${options.queue}: give either --image or --source, not both.`,
    );
  }
  checkImageFlag(options.image);
  if (options.runId !== undefined && !RUN_ID_PATTERN.test(options.runId)) {
    throw new UsageError(
      `--run-id ${options.runId}: use lowercase letters, digits, \`-\` and \`_\` (at most 63), e.g. exp-42.`,
    );
  }
  let source: string | undefined;
  if (options.source !== undefined) {
    source = resolve(options.source);
    const info = await stat(source).catch(() => undefined);
    if (!info?.isDirectory()) throw new UsageError(`--source ${options.source}: not a directory.`);
  }
  const variables = parseSetVars(options.setVar ?? []);
  const override = options.override === undefined ? undefined : await readOverride(options.override);
  // The flags' own checks (labels, display name) before the store is opened; --args needs the queue's pools.
  launchOverrides({ ...options, args: undefined }, override, undefined);
  const request: LaunchRequest = {
    ...(options.image === undefined ? {} : { image: options.image }),
    ...(source === undefined ? {} : { source }),
    ...(Object.keys(variables).length > 0 ? { variables } : {}),
    ...(options.runId === undefined ? {} : { runId: options.runId }),
    ...(submitter() ? { submitter: submitter() as string } : {}),
  };

  const item = await withQueueStore(options, env, async (store) => {
    const queue = await store.getQueue(options.queue);
    if (!queue) {
      throw new ConfigError(`Queue \`${options.queue}\` does not exist; nothing was enqueued.`, [], {
        hint: `List queues with \`vertex-launch queue list\`, or create it with \`vertex-launch queue create ${options.queue} --queue-config FILE\`.`,
      });
    }
    const overrides = launchOverrides(options, override, queue.config);
    // Resolve now with placeholders for what the agent fills in, so config, variable and override errors show here.
    try {
      planLaunch({
        config: queue.config,
        variables,
        overrides,
        env,
        projectId: queue.project ?? PLACEHOLDER_PROJECT,
        region: queue.region ?? PLACEHOLDER_REGION,
        runId: options.runId ?? 'placeholder',
        launchId: randomUUID(),
        queueName: queue.name,
        image: options.image ?? PLACEHOLDER_IMAGE,
      });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      throw new ConfigError(
        `Cannot enqueue to queue \`${queue.name}\`: the launch does not resolve (${error.issues.length || 1} problem${error.issues.length === 1 ? '' : 's'}); nothing was enqueued.`,
        error.issues,
        {
          hint: `Check --set-var and --override against \`vertex-launch queue show ${queue.name}\` (its variables and allowed overrides).`,
          cause: error,
        },
      );
    }
    return store.enqueue(queue.name, overrides === undefined ? request : { ...request, overrides });
  });
  if (options.json) printJson(io, itemJson(item));
  else {
    io.stderr(
      `${green(io, '✓')} Enqueued run ${item.runId} to queue ${item.queue}\n  ${dim(io, `follow it: vertex-launch queue items ${item.queue}`)}\n`,
    );
    io.stdout(`${item.id}\n`);
  }
  return ExitCode.OK;
}
