/**
 * Pure checks shared by every queue store: queue definitions (name, config, project, region) and launch requests.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { checkOverrides, mergeOverrides } from '../config/overrides.js';
import { DEFAULT_QUEUE_CONFIG } from '../config/schema.js';
import { error, isPlainObject } from '../config/util.js';
import { formatConfigIssues, unwrapQueueConfig, validateQueueConfig } from '../config/validate.js';
import { launchValues, readDeclarations } from '../config/variables.js';
import { ConfigError, type ConfigIssue } from '../errors.js';
import { checkRegion } from '../regions.js';
import { QueueError } from './errors.js';
import {
  type CreateQueueInput,
  DEFAULT_LIST_LIMIT,
  type LaunchRequest,
  QUEUE_NAME_PATTERN,
  QUEUE_RESOURCES,
  type QueueDefinition,
  type UpdateQueueInput,
} from './store.js';

/** Run ids: what a Vertex label value accepts, starting with a letter or digit. */
export const RUN_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

const PROJECT_PATTERN = /^(?:[a-z0-9.-]+:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$/;

/**
 * The seed queue config (`DEFAULT_QUEUE_CONFIG`) with `patch` deep-merged into it (objects merge, arrays replace,
 * `null` removes), e.g. `seedQueueConfig({ spec: { staging_bucket: 'gs://my-bucket' } })`.
 */
export function seedQueueConfig(patch?: unknown): Record<string, unknown> {
  const merged =
    patch === undefined ? structuredClone(DEFAULT_QUEUE_CONFIG) : mergeOverrides(DEFAULT_QUEUE_CONFIG, patch);
  return merged as Record<string, unknown>;
}

/** Problems with a queue name (empty when it is valid). */
export function checkQueueName(name: unknown): ConfigIssue[] {
  if (typeof name !== 'string' || !QUEUE_NAME_PATTERN.test(name)) {
    const shown = typeof name === 'string' ? ` \`${name.slice(0, 80)}\`` : '';
    return [
      error(
        'name',
        `invalid queue name${shown}: use lowercase letters, digits, \`-\` and \`_\`, starting with a letter or digit, at most 63 characters (e.g. \`gpu-t4\`)`,
      ),
    ];
  }
  return [];
}

function checkOptionalText(
  value: unknown,
  key: string,
  pattern: RegExp | undefined,
  example: string,
  issues: ConfigIssue[],
): void {
  if (value === undefined || value === null) return;
  if (typeof value !== 'string' || (pattern !== undefined && !pattern.test(value))) {
    issues.push(
      error(key, `invalid ${key}${typeof value === 'string' ? ` \`${value}\`` : ''}: expected e.g. \`${example}\``),
    );
  }
}

/** The queue's region: a malformed one is refused with a did-you-mean (see `checkRegion`). */
function checkQueueRegion(region: unknown, issues: ConfigIssue[]): void {
  if (region === undefined || region === null || region === '') return;
  if (typeof region !== 'string') {
    issues.push(error('region', 'invalid region: expected e.g. `us-central1`'));
    return;
  }
  const check = checkRegion(region, "the queue's region");
  if (check.severity === 'error') issues.push(error('region', check.message ?? 'invalid region'));
}

function configIssues(config: unknown): ConfigIssue[] {
  const result = validateQueueConfig(config);
  return result.issues.map((issue) => ({ ...issue, path: issue.path ? `config.${issue.path}` : 'config' }));
}

function throwIfErrors(queue: string, action: string, issues: ConfigIssue[]): void {
  const errors = issues.filter((issue) => issue.severity === 'error');
  if (errors.length === 0) return;
  throw new ConfigError(
    `Cannot ${action} queue \`${queue}\` (${errors.length} problem${errors.length === 1 ? '' : 's'}):\n${formatConfigIssues(errors)}`,
    issues,
    { hint: 'Fix the keys named above; `vertex-launch queue validate <file>` checks a config file on its own.' },
  );
}

function jsonCopy(config: unknown): Record<string, unknown> {
  return JSON.parse(JSON.stringify(config)) as Record<string, unknown>;
}

/**
 * Check a new queue and build its definition. The config defaults to `DEFAULT_QUEUE_CONFIG`.
 * @throws ConfigError listing every problem (name, config, project, region).
 */
export function prepareQueue(input: CreateQueueInput, now: number): QueueDefinition {
  const config = input.config === undefined ? seedQueueConfig() : input.config;
  const issues = [...checkQueueName(input.name)];
  const resource = input.resource ?? 'gcp-vertex';
  if (!QUEUE_RESOURCES.includes(resource)) {
    issues.push(
      error('resource', `unknown resource \`${String(resource)}\`; supported: ${QUEUE_RESOURCES.join(', ')}`),
    );
  }
  checkOptionalText(input.project, 'project', PROJECT_PATTERN, 'my-project-123', issues);
  checkQueueRegion(input.region, issues);
  checkOptionalText(input.description, 'description', undefined, 'T4 GPUs for team A', issues);
  issues.push(...configIssues(config));
  throwIfErrors(String(input.name), 'create', issues);
  const at = new Date(now).toISOString();
  return {
    name: input.name,
    resource,
    config: jsonCopy(config),
    ...(input.project ? { project: input.project } : {}),
    ...(input.region ? { region: input.region } : {}),
    ...(input.description ? { description: input.description } : {}),
    createdAt: at,
    updatedAt: at,
  };
}

/**
 * Apply a patch to a queue definition.
 * @throws ConfigError listing every problem.
 */
export function prepareQueueUpdate(queue: QueueDefinition, patch: UpdateQueueInput, now: number): QueueDefinition {
  const issues: ConfigIssue[] = [];
  checkOptionalText(patch.project, 'project', PROJECT_PATTERN, 'my-project-123', issues);
  checkQueueRegion(patch.region, issues);
  checkOptionalText(patch.description, 'description', undefined, 'T4 GPUs for team A', issues);
  if (patch.config !== undefined) issues.push(...configIssues(patch.config));
  throwIfErrors(queue.name, 'update', issues);
  const next: Record<string, unknown> = { ...queue, updatedAt: new Date(now).toISOString() };
  if (patch.config !== undefined) next.config = jsonCopy(patch.config);
  for (const key of ['project', 'region', 'description'] as const) {
    const value = patch[key];
    if (value === null || value === '') delete next[key];
    else if (value !== undefined) next[key] = value;
  }
  return next as unknown as QueueDefinition;
}

/** A new run id: 8 random lowercase letters and digits, starting with a letter (like W&B run ids). */
export function generateRunId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(8);
  let id = alphabet[bytes[0]! % 26]!;
  for (let i = 1; i < 8; i++) id += alphabet[bytes[i]! % alphabet.length]!;
  return id;
}

/**
 * Problems with a launch request for `queue`: image and source together, a bad run id, variables the queue does not
 * declare (or that break their rules, or required ones missing), overrides outside `allowed_overrides`.
 */
export function checkLaunchRequest(queue: QueueDefinition, request: LaunchRequest): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (!isPlainObject(request)) return [error('', 'a launch request must be an object like { image: "..." }')];
  if (request.image !== undefined && request.source !== undefined) {
    issues.push(error('image', 'set either `image` (a ready image) or `source` (to build one), not both'));
  }
  for (const key of ['image', 'source', 'submitter'] as const) {
    const value = request[key];
    if (value !== undefined && (typeof value !== 'string' || value.trim() === '')) {
      issues.push(error(key, 'must be a non-empty string'));
    }
  }
  if (request.runId !== undefined && (typeof request.runId !== 'string' || !RUN_ID_PATTERN.test(request.runId))) {
    issues.push(
      error(
        'runId',
        'must be lowercase letters, digits, `-` and `_` (at most 63, a Vertex label value), e.g. `exp-42`',
      ),
    );
  }
  if (request.variables !== undefined && !isPlainObject(request.variables)) {
    issues.push(error('variables', 'must be a mapping of variable name to string value'));
  }
  const config = unwrapQueueConfig(queue.config);
  if (isPlainObject(config)) {
    const { declarations } = readDeclarations(config.template_variables);
    const variables = isPlainObject(request.variables) ? (request.variables as Record<string, string>) : undefined;
    issues.push(...launchValues(declarations, variables).issues);
    const allowed = Array.isArray(config.allowed_overrides)
      ? config.allowed_overrides.filter((path): path is string => typeof path === 'string')
      : undefined;
    issues.push(...checkOverrides(request.overrides, allowed));
  }
  return issues;
}

/** The ids and stored request of a new item. @throws ConfigError listing every problem of the request. */
export function prepareLaunchRequest(
  queue: QueueDefinition,
  request: LaunchRequest,
): { launchId: string; runId: string; request: LaunchRequest } {
  const issues = checkLaunchRequest(queue, request);
  const errors = issues.filter((issue) => issue.severity === 'error');
  if (errors.length > 0) {
    throw new ConfigError(
      `Cannot enqueue to queue \`${queue.name}\` (${errors.length} problem${errors.length === 1 ? '' : 's'}):\n${formatConfigIssues(errors)}`,
      issues,
      {
        hint: `Fix the launch request; \`vertex-launch queue show ${queue.name}\` lists its variables and allowed overrides.`,
      },
    );
  }
  const stored = JSON.parse(JSON.stringify(request)) as LaunchRequest;
  return { launchId: randomUUID(), runId: request.runId ?? generateRunId(), request: stored };
}

/** A `QueueError` for a missing queue, with the fix. */
export function queueNotFound(name: string): QueueError {
  return new QueueError(
    'queue_not_found',
    `Queue \`${name}\` does not exist. Create it with \`vertex-launch queue create ${name}\`, or check the name in \`queues\` of launch-config.yaml.`,
    { queue: name },
  );
}

/** A `QueueError` for a missing item. */
export function itemNotFound(itemId: string): QueueError {
  return new QueueError(
    'item_not_found',
    `Queue item \`${itemId}\` does not exist. List items with \`vertex-launch queue items\`.`,
    { itemId },
  );
}

/** A `QueueError` for a queue name already taken. */
export function queueExists(name: string): QueueError {
  return new QueueError(
    'queue_exists',
    `Queue \`${name}\` already exists. Change it with \`vertex-launch queue update ${name}\` or pick another name.`,
    { queue: name },
  );
}

/** A `QueueError` for deleting a queue that still has work, with the fix. */
export function queueNotEmpty(name: string, unfinished: number): QueueError {
  return new QueueError(
    'queue_not_empty',
    `Queue \`${name}\` has ${unfinished} unfinished item${unfinished === 1 ? '' : 's'} (queued or running). Wait for them, cancel them, or delete with \`force\` (\`--force\`) to mark them failed.`,
    { queue: name },
  );
}

/** The page size of `list`. @throws QueueError `invalid_argument` for a bad limit. */
export function checkListLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_LIST_LIMIT;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new QueueError('invalid_argument', `Invalid list limit ${limit}: use a whole number of at least 1.`);
  }
  return limit;
}
