/**
 * The launch agent config, `~/.config/vertex-launch/launch-config.yaml`: which queues an agent drains, how many jobs
 * it runs at once, where its queue database lives and how it builds, authenticates and polls. A zod schema with every
 * key described; unknown keys are errors with a "did you mean" suggestion; errors name the file, the key and the fix.
 * Loading (YAML/JSON) is separate from validating.
 */
import { homedir } from 'node:os';
import { z } from 'zod';
import { builderTypeProblem, builtinBuilders } from '../build/registry.js';
import { DURATION_FORMS, durationOutOfRange, parseDuration } from '../config/durations.js';
import { loadConfigFile } from '../config/load.js';
import { formatPath } from '../config/schema-paths.js';
import { closestKey } from '../config/suggest.js';
import { tooDeepAt, tooDeepIssue } from '../config/util.js';
import { ConfigError, type ConfigIssue } from '../errors.js';
import { DEFAULT_MAX_ATTEMPTS, QUEUE_NAME_PATTERN } from '../queue/store.js';
import { checkRegion } from '../regions.js';
import { xdgFile } from '../runtime/env.js';

/** File name of the agent config. */
export const AGENT_CONFIG_FILE = 'launch-config.yaml';

/**
 * The default agent config path: `$XDG_CONFIG_HOME/vertex-launch/launch-config.yaml`, or
 * `~/.config/vertex-launch/launch-config.yaml` when `XDG_CONFIG_HOME` is unset or not absolute.
 */
export function defaultAgentConfigPath(
  env: Readonly<Record<string, string | undefined>> = process.env,
  home: string = homedir(),
): string {
  return xdgFile(env, home, 'XDG_CONFIG_HOME', '.config', AGENT_CONFIG_FILE);
}

/** The default agent config path for this process's environment (see {@link defaultAgentConfigPath}). */
export const DEFAULT_AGENT_CONFIG_PATH: string = defaultAgentConfigPath();

/** Default `max_jobs`. */
export const DEFAULT_MAX_JOBS = 1;
/** Default `start_timeout`, seconds (30 minutes). */
export const DEFAULT_START_TIMEOUT_S = 1800;
/** Default `poll_interval`, seconds. */
export const DEFAULT_POLL_INTERVAL_S = 5;
/** Default `lease_duration`, seconds. */
export const DEFAULT_LEASE_DURATION_S = 60;
/** Default `create_lookup_window`, seconds (5 minutes). */
export const DEFAULT_CREATE_LOOKUP_WINDOW_S = 300;
/** Default `create_lookup_interval`, seconds. */
export const DEFAULT_CREATE_LOOKUP_INTERVAL_S = 5;

/** Most `start_timeout`, seconds (7 days: Vertex AI's longest default run). */
export const MAX_START_TIMEOUT_S = 7 * 86_400;
/** Most `poll_interval`, seconds (1 hour: longer and the agent would seem dead). */
export const MAX_POLL_INTERVAL_S = 3600;
/** Most `lease_duration`, seconds (24 hours: a crashed agent's items wait that long at most). */
export const MAX_LEASE_DURATION_S = 86_400;
/** Most `create_lookup_window`, seconds (1 hour: far above any server-side commit window seen). */
export const MAX_CREATE_LOOKUP_WINDOW_S = 3600;
/** Most `create_lookup_interval`, seconds (5 minutes: the default window; longer and one lookup is all it makes). */
export const MAX_CREATE_LOOKUP_INTERVAL_S = 300;
/** Most `max_attempts` (1000: a launch that took down that many agents will take down the next one too). */
export const MAX_MAX_ATTEMPTS = 1000;

const PROJECT_PATTERN = /^(?:[a-z0-9.-]+:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const IMAGE_REPO_PATTERN = /^[a-z0-9.-]+(?::\d+)?(?:\/[a-z0-9._-]+)+$/;

/** A duration key: seconds or a string like `"30m"`, resolved to seconds, between `min` and `max` seconds. */
function duration(min: number, max: number, description: string) {
  return z
    .union([z.number(), z.string()])
    .transform((value, ctx) => {
      const seconds = parseDuration(value);
      if (seconds === undefined) {
        ctx.addIssue({ code: 'custom', message: `\`${String(value)}\` is not a duration: use ${DURATION_FORMS}` });
        return z.NEVER;
      }
      if (seconds < min || seconds > max) {
        ctx.addIssue({ code: 'custom', message: durationOutOfRange(value, min, max) });
        return z.NEVER;
      }
      return seconds;
    })
    .describe(description);
}

/** The launch agent config schema (snake_case keys; durations resolve to seconds). */
export const agentConfigSchema = z
  .object({
    max_jobs: z
      .number()
      .int('must be a whole number')
      .refine((n) => n === -1 || n >= 1, 'must be at least 1, or -1 for no limit')
      .default(DEFAULT_MAX_JOBS)
      .describe(
        'How many launches the agent works on at once (building, submitting or running); -1: no limit. Default 1.',
      ),
    queues: z
      .array(
        z
          .string()
          .regex(
            QUEUE_NAME_PATTERN,
            'not a queue name: lowercase letters, digits, `-` and `_`, starting with a letter or digit',
          ),
      )
      .min(1, 'list at least one queue, e.g. `queues: [default]`')
      .describe(
        'Queues to take work from, served round-robin (the least recently served first). Create them with `vertex-launch queue create`.',
      ),
    environment: z
      .object({
        project: z
          .string()
          .regex(PROJECT_PATTERN, 'not a GCP project id, e.g. `my-project-123`')
          .optional()
          .describe(
            "GCP project of launches whose queue sets none. GOOGLE_CLOUD_PROJECT (GCLOUD_PROJECT, CLOUDSDK_CORE_PROJECT) wins over it; without either: gcloud config's core/project, then the credentials' project.",
          ),
        region: z
          .string()
          .superRefine((region, ctx) => {
            // A malformed region (`US-CENTRAL1`) fails every call; an unknown one may be newer than the list.
            const check = checkRegion(region);
            if (check.severity === 'error') ctx.addIssue({ code: 'custom', message: check.message ?? 'not a region' });
          })
          .optional()
          .describe(
            "Vertex AI region of launches whose queue sets none. GOOGLE_CLOUD_REGION (CLOUDSDK_AI_REGION, CLOUDSDK_COMPUTE_REGION) wins over it; without either: gcloud config's ai/region or compute/region.",
          ),
      })
      .strict()
      .default({})
      .describe('Where jobs run when the queue does not say.'),
    builder: z
      .object({
        type: z
          .string()
          .min(1)
          .superRefine((type, ctx) => {
            if (type === 'noop' || builderTypeProblem(type, 'builder.type') === undefined) return;
            const names = [...builtinBuilders(), 'noop'];
            const suggestion = closestKey(type, names);
            ctx.addIssue({
              code: 'custom',
              message: `expected one of ${names.map((n) => `\`${n}\``).join(', ')} or a builder package (\`@scope/name\`, \`vertex-launch-builder-<name>\`)${suggestion ? `; did you mean \`${suggestion}\`?` : ''}`,
            });
          })
          .describe(
            '`docker`: build `--source` launches with the local Docker daemon; `cloudbuild`: on Google Cloud Build; a package name (`@scope/name`, `vertex-launch-builder-<name>`): a third-party builder; `noop`: never build (source launches fail with a message). Built images are pushed to `registry.uri`.',
          ),
        options: z
          .record(z.string(), z.unknown())
          .optional()
          .describe(
            "Options of the builder's factory (e.g. `{ machineType: E2_HIGHCPU_8 }` for cloudbuild); the project, region, credentials and endpoints come from the runtime.",
          ),
      })
      .strict()
      .default({ type: 'noop' })
      .describe('How the agent builds images for launches enqueued with `--source`. Default `{ type: noop }`.'),
    registry: z
      .object({
        uri: z
          .string()
          .regex(IMAGE_REPO_PATTERN, 'not an image repository, e.g. `us-docker.pkg.dev/my-project/train/trainer`')
          .describe('Image repository without a tag; the agent tags each build with its content hash (`:ctx-<hash>`).'),
      })
      .strict()
      .optional()
      .describe('Where built images are pushed. Required with a `builder.type` other than `noop`.'),
    auth: z
      .object({
        key_file: z
          .string()
          .min(1)
          .optional()
          .describe('A service-account key file to use instead of the default chain (environment, gcloud ADC, ...).'),
        impersonate_service_account: z
          .string()
          .regex(/^[^@\s]+@[^@\s]+$/, 'not a service account email')
          .optional()
          .describe('Act as this service account (needs iam.serviceAccounts.getAccessToken on it).'),
      })
      .strict()
      .default({})
      .describe(
        'Credentials. Default: the auto chain (explicit key, environment, gcloud ADC, workload identity). Never put a key itself here.',
      ),
    quotas: z
      .object({
        creates_per_minute: z
          .number()
          .int('must be a whole number')
          .min(0)
          .default(60)
          .describe('CreateCustomJob calls per minute, per project and region. 0: no client-side limit. Default 60.'),
        reads_per_minute: z
          .number()
          .int('must be a whole number')
          .min(0)
          .default(600)
          .describe('Get/List/Cancel calls per minute, per project and region. 0: no client-side limit. Default 600.'),
      })
      .strict()
      .default({ creates_per_minute: 60, reads_per_minute: 600 })
      .describe(
        "Client-side limits that keep this agent under Vertex AI's API quotas (raise them when your project's quotas are higher).",
      ),
    allowed_env: z
      .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'not an environment variable name ([A-Za-z_][A-Za-z0-9_]*)'))
      .default([])
      .describe(
        "Environment variables of the agent that queue configs may read with `${env:NAME}`. Default none: queue configs are data from whoever may write the queue, not agent configuration. Credential variables (`*_TOKEN`, `*_KEY`, `GOOGLE_APPLICATION_CREDENTIALS`, ...) too are read only when listed; give jobs their secrets through Secret Manager or the job's service account instead.",
      ),
    queue_db: z
      .string()
      .min(1)
      .optional()
      .describe(
        'The queue store: a SQLite file path or `sqlite:` URL (agents on one machine share it), or a `postgres://` URL (`@vertex-launch/queue-postgres`). `$VERTEX_LAUNCH_QUEUE_DB` wins over it. Default: `$XDG_DATA_HOME/vertex-launch/queues.db` (`~/.local/share/...`).',
      ),
    start_timeout: duration(
      1,
      MAX_START_TIMEOUT_S,
      'Cancel a job (and fail its item) that is still QUEUED or PENDING this long after it was created. Default 30m; 1s to 7d.',
    ).default(DEFAULT_START_TIMEOUT_S),
    poll_interval: duration(
      0.05,
      MAX_POLL_INTERVAL_S,
      'How often the agent looks for work and polls its jobs. Default 5s; 0.05s to 1h.',
    ).default(DEFAULT_POLL_INTERVAL_S),
    create_lookup_window: duration(
      0,
      MAX_CREATE_LOOKUP_WINDOW_S,
      "After a create whose answer was lost, how long the agent looks the launch id up before any second create (a server may commit a create after the client's deadline); counted from that create. Default 5m; 0 to 1h.",
    ).default(DEFAULT_CREATE_LOOKUP_WINDOW_S),
    create_lookup_interval: duration(
      0.05,
      MAX_CREATE_LOOKUP_INTERVAL_S,
      'How often the agent looks the launch id up during `create_lookup_window` (ListCustomJobs calls, counted in `quotas.reads_per_minute`). Default 5s; 0.05s to 5m.',
    ).default(DEFAULT_CREATE_LOOKUP_INTERVAL_S),
    lease_duration: duration(
      1,
      MAX_LEASE_DURATION_S,
      'How long a claimed item stays with this agent without a heartbeat (it heartbeats every third of it). After a crash, another agent resumes the item once the lease ran out. Default 60s; 1s to 24h.',
    ).default(DEFAULT_LEASE_DURATION_S),
    max_attempts: z
      .number()
      .int('must be a whole number')
      .min(1, 'must be at least 1')
      .max(MAX_MAX_ATTEMPTS, `must be at most ${MAX_MAX_ATTEMPTS}`)
      .default(DEFAULT_MAX_ATTEMPTS)
      .describe(
        `How many times an item may be claimed: once its lease ran out this many times (its agents died or hung each time), it is failed (phase \`agent\`) rather than handed out again, so one poisonous launch cannot take down agent after agent. Default ${DEFAULT_MAX_ATTEMPTS}; 1 to ${MAX_MAX_ATTEMPTS}.`,
      ),
  })
  .strict()
  .describe('The launch agent config (launch-config.yaml).');

/** An agent config as written (durations as strings or seconds, defaults optional). */
export type UserAgentConfig = z.input<typeof agentConfigSchema>;
/** A validated agent config: defaults applied, durations in seconds. */
export type ResolvedAgentConfig = Readonly<z.output<typeof agentConfigSchema>>;

/** `environment.project`, `queues[0]`; keys that are not plain names are quoted (`[""]`), never an empty path. */
function pathOf(path: readonly PropertyKey[]): string {
  return formatPath(path);
}

/** The schema of the object at `path` (to suggest its keys), when there is one. */
function keysAt(path: readonly PropertyKey[]): string[] {
  let schema: z.ZodType = agentConfigSchema;
  for (const key of path) {
    const shape = objectShape(schema);
    if (!shape || typeof key !== 'string' || !(key in shape)) return [];
    schema = shape[key] as z.ZodType;
  }
  return Object.keys(objectShape(schema) ?? {});
}

function objectShape(schema: z.ZodType): Record<string, unknown> | undefined {
  let current: unknown = schema;
  for (let i = 0; i < 5; i++) {
    const def = (current as { def?: { type?: string; innerType?: unknown; in?: unknown; shape?: unknown } }).def;
    if (!def) return undefined;
    if (def.type === 'object') return def.shape as Record<string, unknown>;
    current = def.innerType ?? def.in;
    if (current === undefined) return undefined;
  }
  return undefined;
}

const KEY_HINTS: Record<string, string> = {
  project: 'put the project under `environment: { project: ... }`',
  region: 'put the region under `environment: { region: ... }`',
  credentials: 'credentials never go in the agent config: use `auth.key_file` or the default chain',
  queue: 'use `queues: [name]` (a list)',
};

/** Every problem of a raw agent config (path: message), in order. Pure. */
export function agentConfigIssues(raw: unknown): ConfigIssue[] {
  const deep = tooDeepAt(raw);
  if (deep !== undefined) return [tooDeepIssue(deep)];
  const result = agentConfigSchema.safeParse(raw ?? {});
  const issues: ConfigIssue[] = [];
  // Cross-key rules, checked on the raw value so they are reported together with every other problem.
  const builder = valueAt(raw, ['builder', 'type']);
  if (typeof builder === 'string' && builder !== 'noop' && valueAt(raw, ['registry']) === undefined) {
    issues.push({
      path: 'registry',
      message: `required with \`builder.type: ${builder}\`: add \`registry: { uri: us-docker.pkg.dev/<project>/<repo>/<image> }\``,
      severity: 'error',
    });
  }
  if (result.success) return issues;
  for (const issue of result.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      const allowed = keysAt(issue.path);
      for (const key of issue.keys) {
        const hint = issue.path.length === 0 ? KEY_HINTS[key] : undefined;
        const suggestion = closestKey(key, allowed);
        const fix = hint ?? (suggestion ? `did you mean \`${suggestion}\`?` : `known keys: ${allowed.join(', ')}`);
        issues.push({ path: pathOf([...issue.path, key]), message: `unknown key; ${fix}`, severity: 'error' });
      }
      continue;
    }
    const path = pathOf(issue.path);
    let message = issue.message;
    if (issue.code === 'invalid_type') {
      const value = valueAt(raw, issue.path);
      message =
        value === undefined
          ? 'is required'
          : issue.expected === 'int'
            ? 'must be a whole number'
            : `expected ${issue.expected}, got ${typeOf(value)}`;
      if (path === 'queues' && value === undefined) message += ': list the queues to drain, e.g. `queues: [default]`';
      if (path === '') message = 'the agent config must be a mapping of keys (max_jobs, queues, ...)';
    } else if (issue.code === 'invalid_union') {
      message = `expected ${DURATION_FORMS}`;
    } else if (issue.code === 'invalid_value' && 'values' in issue) {
      message = `expected one of ${(issue.values as unknown[]).map((v) => `\`${String(v)}\``).join(', ')}`;
    }
    issues.push({ path, message, severity: 'error' });
  }
  return issues;
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = raw;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value;
}

/**
 * Validate a raw agent config (as parsed from YAML/JSON).
 * @throws ConfigError listing every problem, each with its key, naming `file` when given.
 */
export function parseAgentConfig(raw: unknown, file?: string): ResolvedAgentConfig {
  const issues = agentConfigIssues(raw);
  if (issues.length > 0) {
    const where = file ?? 'the agent config';
    // The message counts the problems; `issues` lists them (the CLI prints them under the message).
    throw new ConfigError(
      `Invalid agent config ${where} (${issues.length} problem${issues.length === 1 ? '' : 's'}).`,
      issues,
      {
        ...(file === undefined ? {} : { file }),
        hint: `Fix the keys named above in ${where}; docs/agent.md lists every key with its default.`,
      },
    );
  }
  return agentConfigSchema.parse(raw ?? {});
}

/**
 * Read, parse and validate an agent config file (YAML or JSON).
 * @throws ConfigError naming the file: missing or unreadable, invalid YAML, or every invalid key.
 */
export async function loadAgentConfig(path: string = DEFAULT_AGENT_CONFIG_PATH): Promise<ResolvedAgentConfig> {
  let raw: unknown;
  try {
    raw = await loadConfigFile(path);
  } catch (error) {
    if (error instanceof ConfigError && error.issues.length === 0) {
      throw new ConfigError(error.message.replace(/^Queue config file/, 'Agent config file'), [], {
        file: path,
        cause: error,
        hint: `Create it with at least \`queues: [<queue>]\` (see docs/agent.md), or pass another file with --config.`,
      });
    }
    throw error;
  }
  return parseAgentConfig(raw, path);
}
